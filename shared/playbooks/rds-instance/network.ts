import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { DenyEntrySchema, denyAddressesInNetworkAcl, denyOutcome, NETWORK_ACL_DENY_ACTIONS, NETWORK_ACL_REMOVE_ACTIONS, networkAclOfSubnet, releaseDenyEntries, UndeniedSchema, type DenyEntry, type Undenied } from '../../actions/network-acl.ts';
import { FirebreakError, hasErrorCode } from '../../errors/index.ts';
import { readDbCluster, readDbInstance, type ModifyTarget } from './describe.ts';
import { assessLogin, legitimateSummary } from './legitimate.ts';
import { isBusy, modifyTarget, MODIFY_ACTIONS, targetName } from './modify.ts';
import { rdsStep } from './types.ts';

/** The RDS isolation group's purpose tag: its own, never the EC2 isolation group (which admits nothing). */
export const RDS_ISOLATION_PURPOSE = 'rds-isolation';

/** One RDS isolation group per VPC and database port (security group names are unique per VPC). */
export const rdsIsolationGroupName = (port: number): string => `firebreak-rds-isolation-${port}`;

const BUSY_RETRY_SECONDS = 60;

/**
 * The only ingress the RDS isolation group has: the database port from Firebreak's RDS function's
 * own security groups (so it can still end sessions and lock the user); none when there are none.
 */
export function isolationIngress(port: number, functionGroupIds: readonly string[]): IpPermission[] {
  if (functionGroupIds.length === 0) return [];
  return [{ IpProtocol: 'tcp', FromPort: port, ToPort: port, UserIdGroupPairs: functionGroupIds.map((GroupId) => ({ GroupId, Description: 'Firebreak RDS function: ends sessions and restricts the suspected user' })) }];
}

async function findGroup(ec2: EC2Client, vpcId: string, name: string): Promise<SecurityGroup | undefined> {
  const out = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'group-name', Values: [name] }] }));
  return out.SecurityGroups?.find((g) => g.GroupName === name);
}

const sourceKeys = (p: IpPermission): string[] => {
  const head = `${p.IpProtocol}|${p.FromPort ?? ''}-${p.ToPort ?? ''}`;
  return [
    ...(p.IpRanges ?? []).map((r) => `${head}|cidr:${r.CidrIp}`),
    ...(p.Ipv6Ranges ?? []).map((r) => `${head}|cidr6:${r.CidrIpv6}`),
    ...(p.PrefixListIds ?? []).map((r) => `${head}|pl:${r.PrefixListId}`),
    ...(p.UserIdGroupPairs ?? []).map((r) => `${head}|sg:${r.GroupId}`),
  ];
};

/**
 * Finds or creates the VPC's RDS isolation group for `port` and makes it exactly what it must be:
 * ingress on the port from `functionGroupIds` only, no egress (a new group's default allow-all
 * egress revoked). Safe under concurrency (a duplicate name means another invocation created it).
 */
export async function ensureRdsIsolationGroup(ec2: EC2Client, vpcId: string, port: number, functionGroupIds: readonly string[]): Promise<string> {
  const name = rdsIsolationGroupName(port);
  let group = await findGroup(ec2, vpcId, name);
  if (!group) {
    try {
      await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          VpcId: vpcId,
          Description: `Firebreak RDS isolation: port ${port} from the Firebreak RDS function only; no egress`,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'firebreak:purpose', Value: RDS_ISOLATION_PURPOSE }, { Key: 'Name', Value: name }, { Key: 'firebreak:port', Value: String(port) }] }],
        }),
      );
    } catch (error) {
      if (!hasErrorCode(error, 'InvalidGroup.Duplicate')) throw error;
    }
    // Read back what AWS gave it (the default egress rule) or what the other invocation made.
    group = await findGroup(ec2, vpcId, name);
  }
  if (!group?.GroupId) throw new FirebreakError(`could not create or find ${name} in ${vpcId}`, { code: 'IsolationGroupMissing', retryable: true });
  const desiredKeys = new Set(isolationIngress(port, functionGroupIds).flatMap(sourceKeys));
  const haveKeys = new Set((group.IpPermissions ?? []).flatMap(sourceKeys));
  // Each stray source alone (a permission may fold a wanted source with unwanted ones).
  const stray = (group.IpPermissions ?? []).flatMap((p) => strayPart(p, desiredKeys));
  const missing = functionGroupIds.filter((g) => !haveKeys.has(`tcp|${port}-${port}|sg:${g}`));
  const groupId = group.GroupId;
  if (stray.length) await ignoring('InvalidPermission.NotFound', () => ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: stray })));
  if (missing.length) await ignoring('InvalidPermission.Duplicate', () => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: isolationIngress(port, missing) })));
  if (group.IpPermissionsEgress?.length) await ignoring('InvalidPermission.NotFound', () => ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions: group.IpPermissionsEgress })));
  return groupId;
}

/** The sources of `p` that are not wanted, as one permission (or none). */
function strayPart(p: IpPermission, wanted: Set<string>): IpPermission[] {
  const head = `${p.IpProtocol}|${p.FromPort ?? ''}-${p.ToPort ?? ''}`;
  const ranges = (p.IpRanges ?? []).filter((r) => !wanted.has(`${head}|cidr:${r.CidrIp}`));
  const ranges6 = (p.Ipv6Ranges ?? []).filter((r) => !wanted.has(`${head}|cidr6:${r.CidrIpv6}`));
  const lists = (p.PrefixListIds ?? []).filter((r) => !wanted.has(`${head}|pl:${r.PrefixListId}`));
  const pairs = (p.UserIdGroupPairs ?? []).filter((r) => !wanted.has(`${head}|sg:${r.GroupId}`));
  if (ranges.length + ranges6.length + lists.length + pairs.length === 0) return [];
  return [
    {
      IpProtocol: p.IpProtocol,
      ...(p.FromPort !== undefined ? { FromPort: p.FromPort } : {}),
      ...(p.ToPort !== undefined ? { ToPort: p.ToPort } : {}),
      ...(ranges.length ? { IpRanges: ranges } : {}),
      ...(ranges6.length ? { Ipv6Ranges: ranges6 } : {}),
      ...(lists.length ? { PrefixListIds: lists } : {}),
      ...(pairs.length ? { UserIdGroupPairs: pairs } : {}),
    },
  ];
}

async function ignoring(code: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!hasErrorCode(error, code)) throw error;
  }
}

const RestrictedNetworkSchema = z.object({
  target: z.object({ kind: z.enum(['instance', 'cluster']), id: z.string(), arn: z.string() }),
  vpcId: z.string(),
  port: z.number(),
  isolationGroupId: z.string(),
  groupsBefore: z.array(z.string()),
  admitted: z.array(z.string()),
  siblings: z.array(z.string()),
  result: z.enum(['isolated', 'already-isolated']),
});

type RestoreResult = 'restored' | 'already-restored' | 'changed-since' | 'gone';

async function groupsNow(rds: Parameters<typeof readDbInstance>[0], target: ModifyTarget): Promise<string[] | undefined> {
  if (target.kind === 'cluster') {
    const c = await readDbCluster(rds, target.id);
    return c ? (c.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? '') : undefined;
  }
  const i = await readDbInstance(rds, target.id);
  return i ? (i.VpcSecurityGroups ?? []).map((g) => g.VpcSecurityGroupId ?? '') : undefined;
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && a.every((x) => b.includes(x));

/**
 * "Restrict network access (SGs & NACLs)": the instance (Aurora: its cluster, which carries every
 * member's groups) gets only the RDS isolation group of its VPC and port, applied immediately.
 */
export const restrictNetworkAccess = rdsStep({
  name: 'restrictNetworkAccess',
  stage: 'contain',
  description:
    "Restrict network access: replace the instance's (Aurora: the cluster's) security groups with the RDS isolation group, which admits only Firebreak's RDS function on the database port, applied immediately (the network ACL deny of the finding's addresses is denyRemoteAddressesInNetworkAcls)",
  iamActions: [
    'ec2:DescribeSecurityGroups',
    'ec2:CreateSecurityGroup',
    'ec2:CreateTags',
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupEgress',
    ...MODIFY_ACTIONS,
  ],
  data: RestrictedNetworkSchema,
  async run({ clients, resource, capture, options, incident }) {
    const login = assessLogin(incident, options);
    if (login.legitimate) return { status: 'skipped', summary: legitimateSummary(login) };
    if (!resource.vpcId) return { status: 'skipped', summary: `${resource.dbInstanceIdentifier} is in no VPC: no security group can isolate it` };
    const isolationGroupId = await ensureRdsIsolationGroup(clients.ec2, resource.vpcId, resource.port, options.function_security_group_ids);
    const siblings = capture.siblings;
    // The groups of the first delivery: on a redelivery the target may already carry the isolation group.
    const groupsBefore = capture.securityGroupIds.length && !sameSet(capture.securityGroupIds, [isolationGroupId]) ? capture.securityGroupIds : resource.securityGroupIds;
    const base = { target: resource.target, vpcId: resource.vpcId, port: resource.port, isolationGroupId, groupsBefore, admitted: options.function_security_group_ids, siblings };
    const admits = options.function_security_group_ids.length ? `admits only ${options.function_security_group_ids.join(', ')} on port ${resource.port}` : 'admits nothing (no RDS function security group is configured)';
    const also = siblings.length ? `; the cluster's other members ${siblings.join(', ')} are isolated with it` : '';
    if (sameSet(resource.securityGroupIds, [isolationGroupId])) {
      return { status: 'done', summary: `${targetName(resource.target)} already carries only ${isolationGroupId}, which ${admits}${also}`, data: { ...base, result: 'already-isolated' as const } };
    }
    try {
      await modifyTarget(clients.rds, resource.target, { VpcSecurityGroupIds: [isolationGroupId] });
    } catch (error) {
      if (!isBusy(error)) throw error;
      return { status: 'pending', retryAfterSeconds: BUSY_RETRY_SECONDS, summary: `${targetName(resource.target)} is busy with another modification: isolation is tried again shortly` };
    }
    return {
      status: 'done',
      summary: `${targetName(resource.target)} moved from ${groupsBefore.join(', ') || 'no group'} to only ${isolationGroupId} (applied immediately), which ${admits}; tracked connections stay open until their sessions are ended${also}`,
      data: { ...base, result: 'isolated' as const },
    };
  },
  undo: {
    name: 'restoreSecurityGroups',
    description: 'Put back the security groups the instance (Aurora: the cluster) had before isolation, where it still carries only the RDS isolation group',
    iamActions: ['rds:DescribeDBInstances', 'rds:DescribeDBClusters', ...MODIFY_ACTIONS],
    async run({ recorded, clients }) {
      const now = await groupsNow(clients.rds, recorded.target);
      const done = (result: RestoreResult, summary: string) => ({ status: result === 'restored' || result === 'already-restored' ? ('done' as const) : ('skipped' as const), summary, data: { result, groupsNow: now ?? [] } });
      if (!now) return done('gone', `${targetName(recorded.target)} no longer exists`);
      if (sameSet(now, recorded.groupsBefore)) return done('already-restored', `${targetName(recorded.target)} already has its groups back (${now.join(', ')})`);
      if (!sameSet(now, [recorded.isolationGroupId]) || recorded.groupsBefore.length === 0) {
        return done('changed-since', `${targetName(recorded.target)} was left alone: it now carries ${now.join(', ') || 'no group'}, changed since containment`);
      }
      await modifyTarget(clients.rds, recorded.target, { VpcSecurityGroupIds: recorded.groupsBefore });
      return done('restored', `${targetName(recorded.target)} has its groups back: ${recorded.groupsBefore.join(', ')} (applied immediately)`);
    },
  },
});

/** What denyRemoteAddressesInNetworkAcls records. */
const AclDenySchema = z.object({
  addresses: z.array(z.string()),
  subnetIds: z.array(z.string()),
  networkAclIds: z.array(z.string()),
  entries: z.array(DenyEntrySchema),
  undenied: z.array(UndeniedSchema),
  limits: z.array(z.string()),
});

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** What a responder does by hand when the option is off: the deny this step would make. */
const manualDeny = (addresses: readonly string[], subnetIds: readonly string[]) =>
  `deny ${addresses.map((a) => `${a}/32`).join(', ')} inbound (source) and outbound (destination) in the network ACLs of subnets ${subnetIds.join(', ')}, numbered below each ACL's lowest rule`;

/**
 * "Restrict network access (SGs & NACLs)", the ACL half: the isolation group leaves tracked
 * connections open, a network ACL is stateless. The finding's remote addresses are denied in the
 * network ACL of every subnet of the DB subnet group — an Aurora member's subnet group is its
 * cluster's, shared by every member — each distinct ACL once: a Multi-AZ standby or a failover
 * may bring the database up in any of them.
 */
export const denyRemoteAddressesInNetworkAcls = rdsStep({
  name: 'denyRemoteAddressesInNetworkAcls',
  stage: 'contain',
  description:
    "Deny the finding's remote addresses in the network ACL of every subnet of the DB subnet group (inbound by source, outbound by destination, numbered below each ACL's lowest rule): stateless, so those flows end at once, tracked or not",
  iamActions: [...NETWORK_ACL_DENY_ACTIONS],
  enabledBy: ['network_acl_deny'],
  data: AclDenySchema,
  async run({ clients, resource, incident, options, previous }) {
    const login = assessLogin(incident, options);
    if (login.legitimate) return { status: 'skipped', summary: legitimateSummary(login) };
    const addresses = [...new Set(incident.remoteIps.filter((ip) => IPV4.test(ip)))];
    if (addresses.length === 0) return { status: 'skipped', summary: 'the finding names no remote IPv4 address to deny' };
    const subnetIds = [...new Set(resource.subnetIds)];
    if (!resource.vpcId || subnetIds.length === 0) return { status: 'skipped', summary: `${resource.dbInstanceIdentifier} is in no VPC subnet: no network ACL applies to it` };
    if (!options.network_acl_deny) {
      return { status: 'skipped', summary: `network ACL denies are turned off (option network_acl_deny = false); recommended: ${manualDeny(addresses, subnetIds)}` };
    }
    const networkAclIds: string[] = [];
    const entries: DenyEntry[] = [];
    const undenied: Undenied[] = [];
    for (const subnetId of subnetIds) {
      const acl = await networkAclOfSubnet(clients.ec2, subnetId);
      if (!acl?.NetworkAclId) {
        undenied.push(...addresses.flatMap((a) => [false, true].map((egress) => ({ cidrBlock: `${a}/32`, egress, reason: `no network ACL is associated with ${subnetId}` }))));
        continue;
      }
      if (networkAclIds.includes(acl.NetworkAclId)) continue;
      networkAclIds.push(acl.NetworkAclId);
      const made = await denyAddressesInNetworkAcl(clients.ec2, acl, addresses, { ruleLimit: options.network_acl_rules_per_direction, previous: previous?.data?.entries ?? [] });
      entries.push(...made.entries);
      undenied.push(...made.undenied);
    }
    const limits = [
      `traffic between the database and other resources of its subnets (${subnetIds.join(', ')}) never crosses a network ACL: the isolation group and the in-database steps are what cut it`,
      `addresses the finding does not name are not denied (${addresses.length} named)`,
      'the deny applies to every resource in those subnets, not only the database',
    ];
    const data = { addresses, subnetIds, networkAclIds, entries, undenied, limits };
    return { ...denyOutcome(entries, undenied, limits[0]!), data };
  },
  undo: {
    name: 'removeNetworkAclDenies',
    description: 'Delete the network ACL entries containment made, where each is still the deny it made; entries that were there before are left',
    iamActions: [...NETWORK_ACL_REMOVE_ACTIONS],
    run: ({ recorded, clients }) => releaseDenyEntries(clients.ec2, recorded.entries),
  },
});
