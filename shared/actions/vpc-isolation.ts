/**
 * VPC isolation, for every playbook that may change an ENI's security groups (EC2
 * instances, container hosts, RDS): one isolation group and one untracking group per VPC,
 * found again and never duplicated, kept exactly as they must be, and the two-step swap
 * that cuts tracked connections.
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  ModifyNetworkInterfaceAttributeCommand,
  paginateDescribeVpcEndpoints,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroup,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2';
import { FirebreakError, hasErrorCode } from '../errors/index.ts';


/** Names of the per-VPC groups Firebreak creates (security group names are unique per VPC). */
export const ISOLATION_GROUP_NAME = 'firebreak-isolation';
export const UNTRACKING_GROUP_NAME = 'firebreak-untracking';

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
    // EC2's API is eventually consistent: a group another invocation has just created may not
    // be listed yet. Look again briefly; then the delivery is retried, never failed for good.
    for (const wait of DUPLICATE_LOOKUP_WAITS_MS) {
      if (wait) await new Promise((r) => setTimeout(r, wait));
      const found = (await findFirebreakGroups(ec2, vpcId)).find((g) => g.GroupName === name);
      if (found?.GroupId) return found.GroupId;
    }
    throw new FirebreakError(`${name} exists in ${vpcId} (created concurrently) but is not listed yet: the delivery is retried`, {
      code: 'IsolationGroupNotVisibleYet',
      retryable: true,
      cause: error,
    });
  }
}

/** Looks for a group another invocation created (EC2 lists new resources after a short delay). */
const DUPLICATE_LOOKUP_WAITS_MS = [0, 200, 800];

const hasAllTraffic = (perms: IpPermission[] | undefined) =>
  (perms ?? []).some((p) => p.IpProtocol === '-1' && (p.IpRanges ?? []).some((r) => r.CidrIp === '0.0.0.0/0'));

/**
 * Makes sure the VPC has the two groups isolation needs, configured as they must
 * be: the isolation group with no ingress and no egress but `allowedEgress` (by
 * default none: its default allow-all egress revoked), and the untracking group
 * allowing all traffic. `allowedEgress` may be a promise, so that a lookup runs
 * while the groups are found or created. Safe under concurrency and self-healing:
 * whoever uses a group first removes rules someone added.
 */
export async function ensureFirebreakGroups(
  ec2: EC2Client,
  vpcId: string,
  known: SecurityGroup[],
  allowedEgress: IpPermission[] | Promise<IpPermission[]> = [],
): Promise<FirebreakGroups> {
  const [groups, desiredEgress] = await Promise.all([findOrCreateGroups(ec2, vpcId, known), allowedEgress]);
  const iso = groups.find((g) => g.GroupName === ISOLATION_GROUP_NAME);
  const open = groups.find((g) => g.GroupName === UNTRACKING_GROUP_NAME);
  if (!iso?.GroupId || !open?.GroupId) throw new FirebreakError(`could not create or find the Firebreak groups in ${vpcId}`, { code: 'IsolationGroupMissing', retryable: true });

  // Rules are compared one source at a time: AWS folds every source of a protocol and port
  // range into one IpPermission, and the group is shared by every isolated instance of the VPC.
  const strayEgress = subtractRules(iso.IpPermissionsEgress ?? [], desiredEgress);
  const missingEgress = subtractRules(desiredEgress, iso.IpPermissionsEgress ?? []);
  await Promise.all([
    iso.IpPermissions?.length ? revokeIgnoringMissing(() => ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: iso.GroupId, IpPermissions: iso.IpPermissions }))) : undefined,
    strayEgress.length ? revokeIgnoringMissing(() => ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: iso.GroupId, IpPermissions: strayEgress }))) : undefined,
    missingEgress.length ? authorizeIgnoringDuplicate(() => ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: iso.GroupId, IpPermissions: missingEgress }))) : undefined,
    hasAllTraffic(open.IpPermissions) ? undefined : authorizeIgnoringDuplicate(() => ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: open.GroupId, IpPermissions: ALL_TRAFFIC }))),
    hasAllTraffic(open.IpPermissionsEgress) ? undefined : authorizeIgnoringDuplicate(() => ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: open.GroupId, IpPermissions: ALL_TRAFFIC }))),
  ]);
  return { isolationGroupId: iso.GroupId, untrackingGroupId: open.GroupId };
}

async function findOrCreateGroups(ec2: EC2Client, vpcId: string, known: SecurityGroup[]): Promise<SecurityGroup[]> {
  const groups = known.filter((g) => g.VpcId === undefined || g.VpcId === vpcId);
  const isolation = groups.find((g) => g.GroupName === ISOLATION_GROUP_NAME);
  const untracking = groups.find((g) => g.GroupName === UNTRACKING_GROUP_NAME);
  if (isolation && untracking) return groups;
  await Promise.all([
    isolation
      ? undefined
      : createOrFind(ec2, vpcId, ISOLATION_GROUP_NAME, 'isolation', 'Firebreak isolation: no inbound traffic; no outbound but, with online capture, HTTPS to the SSM endpoints'),
    untracking ? undefined : createOrFind(ec2, vpcId, UNTRACKING_GROUP_NAME, 'untracking', 'Firebreak: all traffic, applied for an instant so tracked connections become untracked'),
  ]);
  // Read back the rules AWS gave the new groups (default egress, IPv6 egress in dual-stack VPCs).
  return findFirebreakGroups(ec2, vpcId);
}

type RuleSources = Pick<IpPermission, 'IpRanges' | 'Ipv6Ranges' | 'PrefixListIds' | 'UserIdGroupPairs'>;
const SOURCE_LISTS = ['IpRanges', 'Ipv6Ranges', 'PrefixListIds', 'UserIdGroupPairs'] as const;
const PROTOCOL_NUMBERS: Record<string, string> = { '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6' };

function sourceId(list: (typeof SOURCE_LISTS)[number], entry: object): string {
  const e = entry as { CidrIp?: string; CidrIpv6?: string; PrefixListId?: string; GroupId?: string };
  return `${list}:${e.CidrIp ?? e.CidrIpv6 ?? e.PrefixListId ?? e.GroupId ?? ''}`;
}

function protocolAndPorts(p: IpPermission): string {
  const protocol = PROTOCOL_NUMBERS[p.IpProtocol ?? ''] ?? (p.IpProtocol ?? '').toLowerCase();
  return protocol === '-1' ? '-1|' : `${protocol}|${p.FromPort ?? ''}-${p.ToPort ?? ''}`;
}

/** One key per (protocol, ports, source): descriptions and grouping do not make a rule different. */
function ruleKeys(p: IpPermission): string[] {
  const head = protocolAndPorts(p);
  return SOURCE_LISTS.flatMap((list) => ((p[list] ?? []) as object[]).map((entry) => `${head}|${sourceId(list, entry)}`));
}

/**
 * The rules of `rules` that `minus` does not hold. A permission none of whose sources is in
 * `minus` comes back verbatim (as read, so a revoke names exactly what exists); a permission
 * with some of its sources in `minus` comes back with only the others.
 */
function subtractRules(rules: IpPermission[], minus: IpPermission[]): IpPermission[] {
  const taken = new Set(minus.flatMap(ruleKeys));
  return rules.flatMap((p) => {
    const head = protocolAndPorts(p);
    const kept: RuleSources = {};
    let removed = false;
    for (const list of SOURCE_LISTS) {
      const entries = (p[list] ?? []) as object[];
      const left = entries.filter((entry) => !taken.has(`${head}|${sourceId(list, entry)}`));
      if (left.length < entries.length) removed = true;
      if (left.length) (kept as Record<string, object[]>)[list] = left;
    }
    if (!removed) return [p];
    if (Object.keys(kept).length === 0) return [];
    return [{ IpProtocol: p.IpProtocol, ...(p.FromPort !== undefined ? { FromPort: p.FromPort } : {}), ...(p.ToPort !== undefined ? { ToPort: p.ToPort } : {}), ...kept }];
  });
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

/** What the isolation group lets out, as recorded in the ledger (`data.egress` of the step). */
export interface IsolationEgress {
  /** The only egress rules of the isolation group: HTTPS to these groups (empty: no egress at all). */
  allowed: Array<{ protocol: 'tcp'; port: 443; groupId: string }>;
  /** The SSM interface endpoints whose groups are allowed. */
  ssmEndpointIds: string[];
  /** Why: the endpoints allowed, or why online capture has no route. */
  reason: string;
}

/** The SSM agent needs `ssm` and one of the message services (`ec2messages` for older agents). */
const SSM_SERVICES = ['ssm', 'ssmmessages', 'ec2messages'] as const;
const SSM_EGRESS_DESCRIPTION = 'Firebreak online capture: SSM agent to the SSM interface endpoints only';

function ssmServiceNames(region: string): string[] {
  // Some China-region endpoint services carry an extra "cn." prefix, some do not.
  const prefixes = region.startsWith('cn-') ? ['com.amazonaws', 'cn.com.amazonaws'] : ['com.amazonaws'];
  return prefixes.flatMap((prefix) => SSM_SERVICES.map((service) => `${prefix}.${region}.${service}`));
}

/**
 * Finds the VPC's available SSM interface endpoints and decides what the isolation
 * group may let out: HTTPS to their security groups when there is one for `ssm` and
 * one for `ssmmessages` or `ec2messages` (all with private DNS, which the agent needs
 * to reach them under the public names); otherwise nothing.
 */
export async function findSsmEgress(ec2: EC2Client, vpcId: string, region: string): Promise<IsolationEgress> {
  const endpoints: VpcEndpoint[] = [];
  const filters = [
    { Name: 'vpc-id', Values: [vpcId] },
    { Name: 'vpc-endpoint-type', Values: ['Interface'] },
    { Name: 'service-name', Values: ssmServiceNames(region) },
  ];
  for await (const page of paginateDescribeVpcEndpoints({ client: ec2 }, { Filters: filters })) endpoints.push(...(page.VpcEndpoints ?? []));

  const serviceOf = (e: VpcEndpoint) => SSM_SERVICES.find((s) => e.ServiceName === `com.amazonaws.${region}.${s}` || e.ServiceName === `cn.com.amazonaws.${region}.${s}`);
  const available = endpoints.filter((e) => e.VpcId === vpcId && (e.State ?? '').toLowerCase() === 'available' && serviceOf(e) && (e.Groups ?? []).length > 0);
  const usable = available.filter((e) => e.PrivateDnsEnabled !== false);
  const has = (service: string) => usable.some((e) => serviceOf(e) === service);
  const none = (reason: string): IsolationEgress => ({ allowed: [], ssmEndpointIds: [], reason });
  if (available.length === 0) return none(`no SSM interface endpoints in ${vpcId}`);
  if (usable.length === 0) return none(`the SSM interface endpoints in ${vpcId} have private DNS disabled, so the agent would not use them`);
  if (!has('ssm')) return none(`no ssm interface endpoint in ${vpcId} (only ${[...new Set(usable.map(serviceOf))].join(', ')})`);
  if (!has('ssmmessages') && !has('ec2messages')) return none(`no ssmmessages or ec2messages interface endpoint in ${vpcId}`);
  const groupIds = [...new Set(usable.flatMap((e) => (e.Groups ?? []).map((g) => g.GroupId!).filter(Boolean)))].sort();
  const ssmEndpointIds = usable.map((e) => e.VpcEndpointId!).sort();
  return {
    allowed: groupIds.map((groupId) => ({ protocol: 'tcp', port: 443, groupId })),
    ssmEndpointIds,
    reason: `HTTPS to the SSM interface endpoints ${ssmEndpointIds.join(', ')} so the SSM agent can run the online capture`,
  };
}

/** The isolation group's egress permissions for an {@link IsolationEgress}. */
export function egressPermissions(egress: IsolationEgress): IpPermission[] {
  if (egress.allowed.length === 0) return [];
  return [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, UserIdGroupPairs: egress.allowed.map((a) => ({ GroupId: a.groupId, Description: SSM_EGRESS_DESCRIPTION })) }];
}

/**
 * Moves one network interface into the isolation group with the two-step swap: first the
 * all-traffic untracking group, then the rule-less isolation group. Security group changes
 * do not cut connections the old rules were tracking; passing through an allow-all group
 * makes every flow untracked, and the isolation group then drops them.
 */
export async function isolateInterface(ec2: EC2Client, eni: { networkInterfaceId: string; groupIds: string[] }, groups: FirebreakGroups): Promise<'isolated' | 'already-isolated'> {
  if (eni.groupIds.length === 1 && eni.groupIds[0] === groups.isolationGroupId) return 'already-isolated';
  await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.networkInterfaceId, Groups: [groups.untrackingGroupId] }));
  await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.networkInterfaceId, Groups: [groups.isolationGroupId] }));
  return 'isolated';
}

