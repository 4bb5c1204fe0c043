import {
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { beforeAll, describe, expect, it } from 'vitest';
import { emulatorClientConfig, emulatorEndpoint, uniqueSuffix } from './helpers.ts';

const IMAGE_ID = 'ami-12c6146b';

describe('Emulator: moto patches', () => {
  const ec2 = new EC2Client(emulatorClientConfig);
  let subnetId: string;
  let webGroupId: string;
  let secondGroupId: string;
  let isolationGroupId: string;

  const createGroup = async (vpcId: string, name: string): Promise<string> => {
    const { GroupId } = await ec2.send(
      new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `${name}-${uniqueSuffix()}`, Description: name }),
    );
    return GroupId!;
  };

  const runInstance = async (): Promise<string> => {
    const { Instances } = await ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGE_ID,
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnetId,
        SecurityGroupIds: [webGroupId],
      }),
    );
    return Instances![0]!.InstanceId!;
  };

  const runInstanceWithTwoEnis = async (): Promise<string> => {
    const instanceId = await runInstance();
    const { NetworkInterface } = await ec2.send(
      new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: [secondGroupId] }),
    );
    await ec2.send(
      new AttachNetworkInterfaceCommand({
        InstanceId: instanceId,
        NetworkInterfaceId: NetworkInterface!.NetworkInterfaceId!,
        DeviceIndex: 1,
      }),
    );
    return instanceId;
  };

  const describeInstance = async (instanceId: string) => {
    const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return Reservations![0]!.Instances![0]!;
  };

  /** Group ids per ENI of the instance, as DescribeNetworkInterfaces reports them. */
  const eniGroupsFromDescribeNetworkInterfaces = async (instanceId: string) => {
    const { NetworkInterfaces } = await ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }),
    );
    return Object.fromEntries(
      NetworkInterfaces!.map((eni) => [eni.NetworkInterfaceId!, eni.Groups!.map((g) => g.GroupId!).sort()]),
    );
  };

  /** Group ids per ENI of the instance, as DescribeInstances reports them. */
  const eniGroupsFromDescribeInstances = async (instanceId: string) => {
    const instance = await describeInstance(instanceId);
    return Object.fromEntries(
      instance.NetworkInterfaces!.map((eni) => [eni.NetworkInterfaceId!, eni.Groups!.map((g) => g.GroupId!).sort()]),
    );
  };

  beforeAll(async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const vpcId = Vpc!.VpcId!;
    const { Subnet } = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a' }),
    );
    subnetId = Subnet!.SubnetId!;
    webGroupId = await createGroup(vpcId, 'web');
    secondGroupId = await createGroup(vpcId, 'second-eni');
    isolationGroupId = await createGroup(vpcId, 'isolation');
  });

  it('reports an attached ENI with only its own security groups after ModifyNetworkInterfaceAttribute', async () => {
    // Prepare
    const instanceId = await runInstanceWithTwoEnis();
    const eniIds = Object.keys(await eniGroupsFromDescribeNetworkInterfaces(instanceId));
    expect(eniIds).toHaveLength(2);

    // Act
    for (const eniId of eniIds) {
      await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Groups: [isolationGroupId] }));
    }

    // Assess
    const expected = Object.fromEntries(eniIds.map((id) => [id, [isolationGroupId]]));
    expect(await eniGroupsFromDescribeNetworkInterfaces(instanceId)).toEqual(expected);
    expect(await eniGroupsFromDescribeInstances(instanceId)).toEqual(expected);
    const instance = await describeInstance(instanceId);
    expect(instance.SecurityGroups!.map((g) => g.GroupId)).toEqual([isolationGroupId]);
  });

  it('reports an ENI attached later with its own groups, not the instance groups', async () => {
    // Prepare
    const instanceId = await runInstanceWithTwoEnis();

    // Act
    const groups = Object.values(await eniGroupsFromDescribeNetworkInterfaces(instanceId));

    // Assess
    expect(groups.sort()).toEqual([[secondGroupId], [webGroupId]].sort());
  });

  it('refuses ModifyInstanceAttribute(Groups) on an instance with two ENIs, as AWS does', async () => {
    // Prepare
    const instanceId = await runInstanceWithTwoEnis();

    // Act
    const modify = ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, Groups: [isolationGroupId] }));

    // Assess
    await expect(modify).rejects.toMatchObject({
      name: 'InvalidInstanceID',
      message: `There are multiple interfaces attached to instance '${instanceId}'. Please specify an interface ID for the operation instead.`,
    });
    const groups = Object.values(await eniGroupsFromDescribeNetworkInterfaces(instanceId));
    expect(groups.sort()).toEqual([[secondGroupId], [webGroupId]].sort());
  });

  it('applies ModifyInstanceAttribute(Groups) to the only ENI of a one-ENI instance', async () => {
    // Prepare
    const instanceId = await runInstance();

    // Act
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, Groups: [isolationGroupId] }));

    // Assess
    expect(Object.values(await eniGroupsFromDescribeNetworkInterfaces(instanceId))).toEqual([[isolationGroupId]]);
    expect(Object.values(await eniGroupsFromDescribeInstances(instanceId))).toEqual([[isolationGroupId]]);
    const instance = await describeInstance(instanceId);
    expect(instance.SecurityGroups!.map((g) => g.GroupId)).toEqual([isolationGroupId]);
  });

  it('identifies itself as the patched Firebreak emulator on GET /firebreak/emulator', async () => {
    // Act
    const response = await fetch(new URL('/firebreak/emulator', emulatorEndpoint));

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      firebreak: true,
      moto: '5.2.5',
      patches: [
        'eni_security_groups_are_the_enis_own',
        'instance_security_groups_are_the_primary_enis',
        'instance_level_group_change_needs_a_single_interface',
      ],
    });
  });
});
