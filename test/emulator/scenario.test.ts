import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DetachInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVolumesCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand as DescribeClassicLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import {
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildWebAppScenario, type WebAppScenario } from '../../scripts/lib/scenario.ts';
import { emulatorClientConfig } from './helpers.ts';

describe('Emulator: seed scenario builder', () => {
  const clients = {
    ec2: new EC2Client(emulatorClientConfig),
    autoscaling: new AutoScalingClient(emulatorClientConfig),
    elbv2: new ElasticLoadBalancingV2Client(emulatorClientConfig),
    elb: new ElasticLoadBalancingClient(emulatorClientConfig),
  };
  const { ec2, autoscaling, elbv2, elb } = clients;

  const registeredTargets = async (targetGroupArn: string): Promise<string[]> => {
    const { TargetHealthDescriptions } = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
    return (TargetHealthDescriptions ?? []).map((d) => d.Target!.Id!).sort();
  };

  describe('with default options', () => {
    let scenario: WebAppScenario;

    beforeAll(async () => {
      scenario = await buildWebAppScenario(clients);
    });

    it('runs 2 InService instances in the Auto Scaling group (min 2, max 4)', async () => {
      // Act
      const { AutoScalingGroups } = await autoscaling.send(
        new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [scenario.asgName] }),
      );

      // Assess
      const group = AutoScalingGroups![0]!;
      expect(group).toMatchObject({ MinSize: 2, MaxSize: 4, DesiredCapacity: 2, TargetGroupARNs: [scenario.targetGroupArn] });
      expect(group.Instances!.filter((i) => i.LifecycleState === 'InService').map((i) => i.InstanceId).sort()).toEqual(
        [...scenario.instanceIds].sort(),
      );
      expect(scenario.instanceIds[0]).toBe(scenario.victim.instanceId);
    });

    it('registers both instances in the target group', async () => {
      expect(await registeredTargets(scenario.targetGroupArn)).toEqual([...scenario.instanceIds].sort());
    });

    it('spans two subnets in two Availability Zones behind an internet-facing ALB', async () => {
      // Act
      const { Subnets } = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...scenario.subnetIds] }));
      const { LoadBalancers } = await elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [scenario.albArn] }));

      // Assess
      expect(Subnets!.map((s) => s.AvailabilityZone).sort()).toEqual(['us-east-1a', 'us-east-1b']);
      expect(LoadBalancers![0]).toMatchObject({ Scheme: 'internet-facing', Type: 'application', VpcId: scenario.vpcId });
      expect(LoadBalancers![0]!.AvailabilityZones!.map((z) => z.SubnetId).sort()).toEqual([...scenario.subnetIds].sort());
    });

    it('puts the instances in the WebApp security group, which takes HTTP only from the ALB', async () => {
      // Act
      const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [...scenario.instanceIds] }));
      const { SecurityGroups } = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [scenario.webAppSecurityGroupId] }));

      // Assess
      const instances = Reservations!.flatMap((r) => r.Instances!);
      for (const instance of instances) {
        expect(instance.SecurityGroups!.map((g) => g.GroupId)).toEqual([scenario.webAppSecurityGroupId]);
      }
      expect(SecurityGroups![0]!.Tags).toContainEqual({ Key: 'Name', Value: 'WebApp' });
      expect(SecurityGroups![0]!.IpPermissions).toEqual([
        expect.objectContaining({ FromPort: 80, ToPort: 80, UserIdGroupPairs: [expect.objectContaining({ GroupId: scenario.albSecurityGroupId })] }),
      ]);
    });

    it('describes the victim with one ENI and its root EBS volume', async () => {
      // Act
      const { Volumes } = await ec2.send(new DescribeVolumesCommand({ VolumeIds: scenario.victim.volumeIds }));

      // Assess
      expect(scenario.victim.eniIds).toHaveLength(1);
      expect(scenario.victim.volumeIds).toHaveLength(1);
      expect(Volumes![0]!.Attachments![0]).toMatchObject({ InstanceId: scenario.victim.instanceId, State: 'attached' });
      expect(scenario.victim.allocationId).toBeUndefined();
      expect(scenario.ipTargetGroupArn).toBeUndefined();
      expect(scenario.classicElbName).toBeUndefined();
    });
  });

  describe('with every option', () => {
    let scenario: WebAppScenario;

    beforeAll(async () => {
      scenario = await buildWebAppScenario(clients, {
        secondEni: true,
        elasticIp: true,
        ipTargetGroup: true,
        classicElb: true,
        tags: { 'firebreak:exempt': 'true' },
      });
    });

    it('attaches a second ENI in the WebApp security group to the victim', async () => {
      // Act
      const { NetworkInterfaces } = await ec2.send(
        new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: scenario.victim.eniIds }),
      );

      // Assess
      expect(scenario.victim.eniIds).toHaveLength(2);
      for (const eni of NetworkInterfaces!) {
        expect(eni.Attachment!.InstanceId).toBe(scenario.victim.instanceId);
        expect(eni.Groups!.map((g) => g.GroupId)).toEqual([scenario.webAppSecurityGroupId]);
      }
    });

    it('associates an Elastic IP with the victim', async () => {
      // Act
      const { Addresses } = await ec2.send(new DescribeAddressesCommand({ AllocationIds: [scenario.victim.allocationId!] }));
      const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [scenario.victim.instanceId] }));

      // Assess
      expect(Addresses![0]).toMatchObject({
        InstanceId: scenario.victim.instanceId,
        PublicIp: scenario.victim.publicIp,
        NetworkInterfaceId: scenario.victim.eniIds[0],
      });
      expect(Reservations![0]!.Instances![0]!.PublicIpAddress).toBe(scenario.victim.publicIp);
    });

    it("registers the victim's private IP in an IP target group", async () => {
      expect(await registeredTargets(scenario.ipTargetGroupArn!)).toEqual([scenario.victim.privateIp]);
    });

    it('registers both instances in a classic ELB', async () => {
      // Act
      const { LoadBalancerDescriptions } = await elb.send(
        new DescribeClassicLoadBalancersCommand({ LoadBalancerNames: [scenario.classicElbName!] }),
      );

      // Assess
      expect(LoadBalancerDescriptions![0]!.Instances!.map((i) => i.InstanceId).sort()).toEqual([...scenario.instanceIds].sort());
    });

    it('tags the victim with the extra tags', async () => {
      // Act
      const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [scenario.victim.instanceId] }));

      // Assess
      expect(Reservations![0]!.Instances![0]!.Tags).toContainEqual({ Key: 'firebreak:exempt', Value: 'true' });
    });
  });

  describe('when its Auto Scaling group launches a replacement', () => {
    it('leaves a member deregistered by hand out of the target group, and registers the new instance (as AWS does)', async () => {
      // Prepare: one member taken out of the target group (as containment does), still in the group.
      const scenario = await buildWebAppScenario(clients);
      const [deregistered, kept] = scenario.instanceIds;
      await elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: scenario.targetGroupArn, Targets: [{ Id: deregistered!, Port: 80 }] }));

      // Act: another member detached with its capacity kept: the group launches a replacement.
      await autoscaling.send(new DetachInstancesCommand({ AutoScalingGroupName: scenario.asgName, InstanceIds: [kept!], ShouldDecrementDesiredCapacity: false }));

      // Assess: the deregistered member stayed out; the replacement came in.
      const { AutoScalingGroups } = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [scenario.asgName] }));
      const members = AutoScalingGroups![0]!.Instances!.map((i) => i.InstanceId!);
      const replacement = members.find((id) => !scenario.instanceIds.includes(id));
      expect(replacement).toBeDefined();
      const targets = await registeredTargets(scenario.targetGroupArn);
      expect(targets).not.toContain(deregistered);
      expect(targets).toContain(replacement);
    });
  });
});
