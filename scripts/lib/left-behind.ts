/**
 * What a responder (Firebreak, or a peer such as Cloud Custodian) left behind on a compromised
 * Auto Scaling group member, read back from AWS (or the emulator) afterwards: the benchmark's
 * side-by-side table. Reads only; every verdict comes from AWS state, never from the tool's logs.
 */
import { DescribeAutoScalingGroupsCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { DescribeTargetHealthCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';

/** The compromised instance and what it was part of before anyone acted. */
export interface LeftBehindTarget {
  instanceId: string;
  asgName: string;
  targetGroupArn: string;
  /** The group's desired capacity before containment. */
  desiredCapacityBefore: number;
  /** The instance's tag keys before containment (the tags added are the others). */
  tagKeysBefore: readonly string[];
}

export interface LeftBehind {
  /** Every ENI of the instance, with its security groups. */
  enis: { eniId: string; groupIds: string[] }[];
  /** Groups on those ENIs that carry no ingress and no egress rule. */
  closedGroupIds: string[];
  /** Only one group, without any rule, on every ENI. */
  isolated: boolean;
  asg: { member: boolean; desiredCapacity: number | undefined; desiredCapacityBefore: number };
  inTargetGroup: boolean;
  terminationProtection: boolean;
  volumes: { keptOnTermination: number; total: number };
  /** Snapshots of the instance's volumes, and how many of them another account may create volumes from (forensic copies). */
  snapshots: { total: number; shared: number };
  tagsAdded: string[];
}

export interface LeftBehindClients {
  ec2: EC2Client;
  autoscaling: AutoScalingClient;
  elbv2: ElasticLoadBalancingV2Client;
}

/**
 * Reads what is left of a compromised instance after a responder ran.
 *
 * @example
 * ```ts
 * const after = await readLeftBehind(world, { instanceId, asgName, targetGroupArn, desiredCapacityBefore: 2, tagKeysBefore: [] });
 * console.log(after.isolated, after.snapshots);
 * ```
 */
export async function readLeftBehind(clients: LeftBehindClients, target: LeftBehindTarget): Promise<LeftBehind> {
  const { ec2, autoscaling, elbv2 } = clients;
  const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [target.instanceId] }));
  const instance = Reservations?.[0]?.Instances?.[0];
  if (!instance) throw new Error(`instance ${target.instanceId} not found`);
  const eniIds = (instance.NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId!).filter(Boolean);
  const volumeMappings = (instance.BlockDeviceMappings ?? []).filter((m) => m.Ebs?.VolumeId);
  const volumeIds = volumeMappings.map((m) => m.Ebs!.VolumeId!);

  // The ENIs themselves, not the instance's view of them: the groups are per ENI.
  const { NetworkInterfaces } = eniIds.length
    ? await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: eniIds }))
    : { NetworkInterfaces: [] };
  const enis = (NetworkInterfaces ?? []).map((n) => ({
    eniId: n.NetworkInterfaceId!,
    groupIds: (n.Groups ?? []).map((g) => g.GroupId!).filter(Boolean),
  }));
  const groupIds = [...new Set(enis.flatMap((e) => e.groupIds))];
  const { SecurityGroups } = groupIds.length
    ? await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }))
    : { SecurityGroups: [] };
  const closedGroupIds = (SecurityGroups ?? [])
    .filter((g) => (g.IpPermissions ?? []).length === 0 && (g.IpPermissionsEgress ?? []).length === 0)
    .map((g) => g.GroupId!);

  const { AutoScalingGroups } = await autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [target.asgName] }));
  const group = AutoScalingGroups?.[0];
  const { TargetHealthDescriptions } = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: target.targetGroupArn }));
  const protection = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: target.instanceId, Attribute: 'disableApiTermination' }));
  const { Snapshots } = volumeIds.length
    ? await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'volume-id', Values: volumeIds }] }))
    : { Snapshots: [] };

  const snapshotIds = (Snapshots ?? []).map((s) => s.SnapshotId!).filter(Boolean);
  const permissions = await Promise.all(
    snapshotIds.map((SnapshotId) => ec2.send(new DescribeSnapshotAttributeCommand({ SnapshotId, Attribute: 'createVolumePermission' }))),
  );
  const shared = permissions.filter((p) => (p.CreateVolumePermissions ?? []).some((perm) => perm.UserId || perm.Group)).length;

  const before = new Set(target.tagKeysBefore);
  return {
    enis,
    closedGroupIds,
    isolated: isIsolated(enis, closedGroupIds),
    asg: {
      member: (group?.Instances ?? []).some((i) => i.InstanceId === target.instanceId),
      desiredCapacity: group?.DesiredCapacity,
      desiredCapacityBefore: target.desiredCapacityBefore,
    },
    inTargetGroup: (TargetHealthDescriptions ?? []).some((d) => d.Target?.Id === target.instanceId),
    terminationProtection: protection.DisableApiTermination?.Value === true,
    volumes: { keptOnTermination: volumeMappings.filter((m) => m.Ebs?.DeleteOnTermination === false).length, total: volumeMappings.length },
    snapshots: { total: snapshotIds.length, shared },
    tagsAdded: (instance.Tags ?? []).map((t) => t.Key!).filter((k) => k && !before.has(k)).sort(),
  };
}

/** Isolated: every ENI carries exactly one group, and that group has no rule at all. */
export function isIsolated(enis: readonly { groupIds: readonly string[] }[], closedGroupIds: readonly string[]): boolean {
  const closed = new Set(closedGroupIds);
  return enis.length > 0 && enis.every((e) => e.groupIds.length === 1 && closed.has(e.groupIds[0]!));
}

/** The questions the benchmark asks of each responder, in the order it prints them. */
export const LEFT_BEHIND_QUESTIONS = [
  'isolated (only a rule-less group on every ENI)',
  'out of the Auto Scaling group, capacity kept',
  'out of the target group',
  'termination protection',
  'volumes kept on termination',
  'snapshots of its volumes',
  'tags added',
] as const;

/** One responder's answers to {@link LEFT_BEHIND_QUESTIONS}, as the table prints them. */
export function leftBehindCells(after: LeftBehind): string[] {
  const isolatedEnis = after.enis.filter((e) => e.groupIds.length === 1 && after.closedGroupIds.includes(e.groupIds[0]!)).length;
  const { member, desiredCapacity, desiredCapacityBefore } = after.asg;
  const capacity = `desired ${desiredCapacityBefore} → ${desiredCapacity ?? '?'}`;
  const outOfAsg = member ? `no: still a member (${capacity})` : desiredCapacity === desiredCapacityBefore ? `yes (${capacity})` : `out, capacity not kept (${capacity})`;
  return [
    `${after.isolated ? 'yes' : 'no'} (${isolatedEnis}/${after.enis.length} ENIs)`,
    outOfAsg,
    after.inTargetGroup ? 'no: still registered' : 'yes',
    after.terminationProtection ? 'on' : 'off',
    `${after.volumes.keptOnTermination}/${after.volumes.total}`,
    after.snapshots.shared ? `${after.snapshots.total} (${after.snapshots.shared} of them shared with another account)` : String(after.snapshots.total),
    after.tagsAdded.length ? `${after.tagsAdded.length}: ${after.tagsAdded.join(', ')}` : 'none',
  ];
}
