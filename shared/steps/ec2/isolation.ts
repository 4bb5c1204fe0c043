import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  ModifyNetworkInterfaceAttributeCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import type { StepDefinition } from '../../engine/index.ts';
import { findFirebreakGroups, ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME, type Ec2Instance, type NetworkInterfaceState } from './describe.ts';

const ALL_TRAFFIC: IpPermission[] = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }], Ipv6Ranges: [{ CidrIpv6: '::/0' }] }];

export interface FirebreakGroups {
  isolationGroupId: string;
  untrackingGroupId: string;
}

async function createOrFind(ec2: EC2Client, vpcId: string, name: string, purpose: string, description: string): Promise<string> {
  try {
    const out = await ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: name,
        Description: description,
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'firebreak:purpose', Value: purpose }, { Key: 'Name', Value: name }] }],
      }),
    );
    return out.GroupId!;
  } catch (error) {
    // Group names are unique per VPC: a concurrent invocation created it first, so use that one.
    if (!hasErrorCode(error, 'InvalidGroup.Duplicate')) throw error;
    const found = (await findFirebreakGroups(ec2, vpcId)).find((g) => g.GroupName === name);
    if (!found?.GroupId) throw error;
    return found.GroupId;
  }
}

const hasAllTraffic = (perms: IpPermission[] | undefined) =>
  (perms ?? []).some((p) => p.IpProtocol === '-1' && (p.IpRanges ?? []).some((r) => r.CidrIp === '0.0.0.0/0'));

/**
 * Makes sure the VPC has the two groups isolation needs, configured as they must
 * be: the isolation group with no rules at all (its default allow-all egress
 * revoked) and the untracking group allowing all traffic. Safe under concurrency
 * and self-healing: whoever uses a group first removes rules someone added.
 */
export async function ensureFirebreakGroups(ec2: EC2Client, vpcId: string, known: SecurityGroup[]): Promise<FirebreakGroups> {
  let groups = known.filter((g) => g.VpcId === undefined || g.VpcId === vpcId);
  const isolation = groups.find((g) => g.GroupName === ISOLATION_GROUP_NAME);
  const untracking = groups.find((g) => g.GroupName === UNTRACKING_GROUP_NAME);
  if (!isolation || !untracking) {
    await Promise.all([
      isolation ? undefined : createOrFind(ec2, vpcId, ISOLATION_GROUP_NAME, 'isolation', 'Firebreak isolation: no inbound or outbound traffic'),
      untracking ? undefined : createOrFind(ec2, vpcId, UNTRACKING_GROUP_NAME, 'untracking', 'Firebreak: all traffic, applied for an instant so tracked connections become untracked'),
    ]);
    // Read back the rules AWS gave the new groups (default egress, IPv6 egress in dual-stack VPCs).
    groups = await findFirebreakGroups(ec2, vpcId);
  }
  const iso = groups.find((g) => g.GroupName === ISOLATION_GROUP_NAME);
  const open = groups.find((g) => g.GroupName === UNTRACKING_GROUP_NAME);
  if (!iso?.GroupId || !open?.GroupId) throw new StepFailedError('isolateNetworkInterfaces', 'IsolationGroupMissing', `could not create or find the Firebreak groups in ${vpcId}`, true);

  await Promise.all([
    iso.IpPermissions?.length ? revokeIgnoringMissing(() => ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: iso.GroupId, IpPermissions: iso.IpPermissions }))) : undefined,
    iso.IpPermissionsEgress?.length ? revokeIgnoringMissing(() => ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: iso.GroupId, IpPermissions: iso.IpPermissionsEgress }))) : undefined,
    hasAllTraffic(open.IpPermissions) ? undefined : authorizeIgnoringDuplicate(() => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: open.GroupId, IpPermissions: ALL_TRAFFIC }))),
    hasAllTraffic(open.IpPermissionsEgress) ? undefined : authorizeIgnoringDuplicate(() => ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: open.GroupId, IpPermissions: ALL_TRAFFIC }))),
  ]);
  return { isolationGroupId: iso.GroupId, untrackingGroupId: open.GroupId };
}

async function revokeIgnoringMissing(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!hasErrorCode(error, 'InvalidPermission.NotFound')) throw error;
  }
}

async function authorizeIgnoringDuplicate(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!hasErrorCode(error, 'InvalidPermission.Duplicate')) throw error;
  }
}

async function isolateInterface(ec2: EC2Client, eni: NetworkInterfaceState, groups: FirebreakGroups): Promise<'isolated' | 'already-isolated'> {
  if (eni.groupIds.length === 1 && eni.groupIds[0] === groups.isolationGroupId) return 'already-isolated';
  // Changing groups does not cut connections the old rules were tracking. Swapping to
  // an allow-all group first makes every flow untracked; the rule-less group then drops them.
  await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.networkInterfaceId, Groups: [groups.untrackingGroupId] }));
  await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.networkInterfaceId, Groups: [groups.isolationGroupId] }));
  return 'isolated';
}

export const isolateNetworkInterfaces: StepDefinition<Ec2Instance> = {
  name: 'isolateNetworkInterfaces',
  stage: 'contain',
  description: "Isolate every network interface with the VPC's rule-less isolation group, cutting tracked connections",
  iamActions: [
    'ec2:DescribeSecurityGroups',
    'ec2:CreateSecurityGroup',
    'ec2:CreateTags',
    'ec2:RevokeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupEgress',
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:AuthorizeSecurityGroupEgress',
    'ec2:ModifyNetworkInterfaceAttribute',
  ],
  async run({ clients, resource, capture }) {
    if (resource.networkInterfaces.length === 0) {
      return { status: 'skipped', summary: `${resource.instanceId} has no network interface attached` };
    }
    const groups = await ensureFirebreakGroups(clients.ec2, resource.vpcId, resource.firebreakGroups);
    const before = new Map(
      ((capture.networkInterfaces as NetworkInterfaceState[] | undefined) ?? resource.networkInterfaces).map((n) => [n.networkInterfaceId, n.groupIds]),
    );
    const results = await Promise.allSettled(resource.networkInterfaces.map((eni) => isolateInterface(clients.ec2, eni, groups)));
    const interfaces = resource.networkInterfaces.map((eni, n) => {
      const r = results[n]!;
      return {
        networkInterfaceId: eni.networkInterfaceId,
        groupsBefore: before.get(eni.networkInterfaceId) ?? eni.groupIds,
        requesterManaged: eni.requesterManaged,
        result: r.status === 'fulfilled' ? r.value : `failed: ${String((r.reason as Error)?.name ?? r.reason)}`,
      };
    });
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    const changed = interfaces.filter((i) => i.result === 'isolated').length;
    return {
      // Already isolated is still isolated: the goal of the step holds.
      status: 'done',
      summary:
        changed === 0
          ? `every interface of ${resource.instanceId} already carries only ${groups.isolationGroupId}`
          : `${changed} interface(s) of ${resource.instanceId} moved to ${groups.untrackingGroupId} then isolated in ${groups.isolationGroupId}`,
      data: { ...groups, vpcId: resource.vpcId, interfaces },
    };
  },
};
