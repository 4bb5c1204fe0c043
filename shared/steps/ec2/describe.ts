import {
  DescribeInstancesCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type Instance,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { hasErrorCode, ResourceNotFoundError } from '../../errors/index.ts';
import type { DescribeContext } from '../../engine/index.ts';

/** Names of the per-VPC groups Firebreak creates (security group names are unique per VPC). */
export const ISOLATION_GROUP_NAME = 'firebreak-isolation';
export const UNTRACKING_GROUP_NAME = 'firebreak-untracking';

export interface NetworkInterfaceState {
  networkInterfaceId: string;
  groupIds: string[];
  privateIps: string[];
  requesterManaged: boolean;
  deviceIndex: number;
}

export interface VolumeState {
  volumeId: string;
  deviceName: string;
  deleteOnTermination: boolean;
}

/** An EC2 instance as the playbook sees it. */
export interface Ec2Instance {
  instanceId: string;
  state: string;
  vpcId: string;
  subnetId?: string;
  availabilityZone?: string;
  instanceProfileArn?: string;
  keyName?: string;
  networkInterfaces: NetworkInterfaceState[];
  volumes: VolumeState[];
  tags: Record<string, string>;
  /** The isolation and untracking groups of the instance's VPC, if they exist already. */
  firebreakGroups: SecurityGroup[];
  /** DescribeInstances' answer, kept verbatim for the evidence bucket. */
  raw: Instance;
}

export const DESCRIBE_IAM_ACTIONS = ['ec2:DescribeInstances', 'ec2:DescribeSecurityGroups'] as const;

/** Finds Firebreak's isolation and untracking groups in a VPC (one call). */
export async function findFirebreakGroups(ec2: EC2Client, vpcId: string): Promise<SecurityGroup[]> {
  const out = await ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'group-name', Values: [ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME] },
      ],
    }),
  );
  return out.SecurityGroups ?? [];
}

/**
 * Describes the instance and, in parallel, looks up the isolation groups of the
 * VPC the finding names, so that isolation needs no further read.
 */
export async function describeInstance({ incident, clients }: DescribeContext): Promise<Ec2Instance> {
  const instanceId = incident.resource.id;
  const hintedVpc = typeof incident.resource.hints.vpcId === 'string' ? incident.resource.hints.vpcId : undefined;
  const [instance, hintedGroups] = await Promise.all([
    clients.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })).then(
      (out) => out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId),
      (error: unknown) => {
        if (hasErrorCode(error, 'InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed')) return undefined;
        throw error;
      },
    ),
    hintedVpc ? findFirebreakGroups(clients.ec2, hintedVpc) : Promise.resolve(undefined),
  ]);
  if (!instance || instance.State?.Name === 'terminated' || instance.State?.Name === 'shutting-down') {
    throw new ResourceNotFoundError(instanceId);
  }
  const vpcId = instance.VpcId ?? '';
  // The finding's VPC is a hint; when it is wrong (or absent) look again in the real one.
  const firebreakGroups = hintedVpc === vpcId && hintedGroups ? hintedGroups : vpcId ? await findFirebreakGroups(clients.ec2, vpcId) : [];
  return {
    instanceId,
    state: instance.State?.Name ?? 'unknown',
    vpcId,
    ...(instance.SubnetId ? { subnetId: instance.SubnetId } : {}),
    ...(instance.Placement?.AvailabilityZone ? { availabilityZone: instance.Placement.AvailabilityZone } : {}),
    ...(instance.IamInstanceProfile?.Arn ? { instanceProfileArn: instance.IamInstanceProfile.Arn } : {}),
    ...(instance.KeyName ? { keyName: instance.KeyName } : {}),
    networkInterfaces: (instance.NetworkInterfaces ?? []).map((n) => ({
      networkInterfaceId: n.NetworkInterfaceId ?? '',
      groupIds: (n.Groups ?? []).map((g) => g.GroupId ?? ''),
      privateIps: (n.PrivateIpAddresses ?? []).map((p) => p.PrivateIpAddress ?? '').filter(Boolean),
      requesterManaged: Boolean((n as { RequesterManaged?: boolean }).RequesterManaged),
      deviceIndex: n.Attachment?.DeviceIndex ?? 0,
    })),
    volumes: (instance.BlockDeviceMappings ?? []).flatMap((b) =>
      b.Ebs?.VolumeId ? [{ volumeId: b.Ebs.VolumeId, deviceName: b.DeviceName ?? '', deleteOnTermination: Boolean(b.Ebs.DeleteOnTermination) }] : [],
    ),
    tags: Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    firebreakGroups,
    raw: instance,
  };
}

/** The "before" state kept in the ledger: what release needs to restore (the engine adds `capturedAt`). */
export function captureInstance(i: Ec2Instance): Record<string, unknown> {
  return {
    instanceId: i.instanceId,
    state: i.state,
    vpcId: i.vpcId,
    subnetId: i.subnetId,
    availabilityZone: i.availabilityZone,
    instanceProfileArn: i.instanceProfileArn,
    keyName: i.keyName,
    networkInterfaces: i.networkInterfaces,
    volumes: i.volumes,
    tags: i.tags,
  };
}
