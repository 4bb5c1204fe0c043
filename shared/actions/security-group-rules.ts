/**
 * Emptying security groups of their rules, and putting back exactly what was there: for
 * resources whose network interfaces nobody may move to another group (ECS task ENIs, which are
 * requester-managed), the groups themselves are what containment can change. Each rule is saved
 * as DescribeSecurityGroupRules gives it, revoked by its id, and restored on release from the
 * saved copy (protocol, ports, peer, description) unless an identical rule is already there.
 *
 * What revoking rules does to traffic (AWS, "Security group connection tracking"): new flows stop
 * at once; flows the revoked rules left untracked (a rule allowing all traffic from 0.0.0.0/0
 * and its reverse) end at once; flows a rule was tracking may live on until they go idle.
 */
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  DescribeNetworkInterfacesCommand,
  paginateDescribeSecurityGroupRules,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type IpPermission,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { hasErrorCode } from '../errors/index.ts';

/**
 * The tag a group carries while Firebreak holds its rules (value: the incident id). The release
 * function may authorise rules only on Firebreak's own groups and on groups with this tag
 * (shared/iam), so it can put back the rules of a group it emptied and of no other.
 */
export const EMPTIED_BY_TAG = 'firebreak:emptied-by';

/** Tags the groups as emptied by the incident, before their rules are revoked. */
export async function markEmptied(ec2: EC2Client, groupIds: readonly string[], incidentId: string): Promise<void> {
  if (groupIds.length) await ec2.send(new CreateTagsCommand({ Resources: [...groupIds], Tags: [{ Key: EMPTIED_BY_TAG, Value: incidentId }] }));
}

/** Removes the incident's mark from the groups once their rules are back (only where it is still this incident's). */
export async function unmarkEmptied(ec2: EC2Client, groupIds: readonly string[], incidentId: string): Promise<void> {
  if (groupIds.length) await ec2.send(new DeleteTagsCommand({ Resources: [...groupIds], Tags: [{ Key: EMPTIED_BY_TAG, Value: incidentId }] }));
}

/** IAM actions of {@link groupsUsedOnlyBy}, {@link revokeGroupRules} and {@link restoreGroupRules}. */
export const GROUP_RULES_READ_ACTIONS = ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSecurityGroupRules'] as const;
export const GROUP_RULES_REVOKE_ACTIONS = ['ec2:CreateTags', 'ec2:RevokeSecurityGroupIngress', 'ec2:RevokeSecurityGroupEgress'] as const;
export const GROUP_RULES_RESTORE_ACTIONS = ['ec2:DescribeSecurityGroupRules', 'ec2:AuthorizeSecurityGroupIngress', 'ec2:AuthorizeSecurityGroupEgress', 'ec2:DeleteTags'] as const;

/** One rule of a group, as saved for release: everything AuthorizeSecurityGroup* needs to create it again. */
export const SavedRuleSchema = z.object({
  groupId: z.string(),
  ruleId: z.string(),
  egress: z.boolean(),
  ipProtocol: z.string(),
  fromPort: z.number().optional(),
  toPort: z.number().optional(),
  cidrIpv4: z.string().optional(),
  cidrIpv6: z.string().optional(),
  prefixListId: z.string().optional(),
  referencedGroupId: z.string().optional(),
  referencedUserId: z.string().optional(),
  description: z.string().optional(),
});

export type SavedRule = z.infer<typeof SavedRuleSchema>;

/** A rule as DescribeSecurityGroupRules gives it, in the saved shape. */
export function savedRuleOf(r: SecurityGroupRule): SavedRule {
  return {
    groupId: r.GroupId ?? '',
    ruleId: r.SecurityGroupRuleId ?? '',
    egress: Boolean(r.IsEgress),
    ipProtocol: r.IpProtocol ?? '-1',
    ...(r.FromPort !== undefined ? { fromPort: r.FromPort } : {}),
    ...(r.ToPort !== undefined ? { toPort: r.ToPort } : {}),
    ...(r.CidrIpv4 ? { cidrIpv4: r.CidrIpv4 } : {}),
    ...(r.CidrIpv6 ? { cidrIpv6: r.CidrIpv6 } : {}),
    ...(r.PrefixListId ? { prefixListId: r.PrefixListId } : {}),
    ...(r.ReferencedGroupInfo?.GroupId ? { referencedGroupId: r.ReferencedGroupInfo.GroupId } : {}),
    ...(r.ReferencedGroupInfo?.UserId ? { referencedUserId: r.ReferencedGroupInfo.UserId } : {}),
    ...(r.Description ? { description: r.Description } : {}),
  };
}

/**
 * The permission that creates `rule` again. All-protocol rules (`-1`) carry no ports: AWS
 * reports them as -1 and ignores them on authorisation.
 */
export function permissionOf(rule: SavedRule): IpPermission {
  const ports = rule.ipProtocol === '-1' ? {} : { ...(rule.fromPort !== undefined ? { FromPort: rule.fromPort } : {}), ...(rule.toPort !== undefined ? { ToPort: rule.toPort } : {}) };
  const description = rule.description ? { Description: rule.description } : {};
  return {
    IpProtocol: rule.ipProtocol,
    ...ports,
    ...(rule.cidrIpv4 ? { IpRanges: [{ CidrIp: rule.cidrIpv4, ...description }] } : {}),
    ...(rule.cidrIpv6 ? { Ipv6Ranges: [{ CidrIpv6: rule.cidrIpv6, ...description }] } : {}),
    ...(rule.prefixListId ? { PrefixListIds: [{ PrefixListId: rule.prefixListId, ...description }] } : {}),
    ...(rule.referencedGroupId ? { UserIdGroupPairs: [{ GroupId: rule.referencedGroupId, ...(rule.referencedUserId ? { UserId: rule.referencedUserId } : {}), ...description }] } : {}),
  };
}

/** What makes two rules the same rule (their ids and descriptions aside). */
const sameRule = (a: SavedRule, b: SavedRule): boolean => {
  const ports = (r: SavedRule) => (r.ipProtocol === '-1' ? '' : `${r.fromPort ?? -1}:${r.toPort ?? -1}`);
  const peer = (r: SavedRule) => [r.cidrIpv4, r.cidrIpv6, r.prefixListId, r.referencedGroupId].find(Boolean) ?? '';
  return a.groupId === b.groupId && a.egress === b.egress && a.ipProtocol === b.ipProtocol && ports(a) === ports(b) && peer(a) === peer(b);
};

/** Every rule of the groups, ingress and egress. */
export async function rulesOf(ec2: EC2Client, groupIds: readonly string[]): Promise<SavedRule[]> {
  if (groupIds.length === 0) return [];
  const rules: SavedRule[] = [];
  for await (const page of paginateDescribeSecurityGroupRules({ client: ec2 }, { Filters: [{ Name: 'group-id', Values: [...groupIds] }], MaxResults: 1000 })) {
    rules.push(...(page.SecurityGroupRules ?? []).map(savedRuleOf));
  }
  return rules;
}

/**
 * Which of `groupIds` no network interface but `ownInterfaceIds` uses (safe to empty), and which
 * others use (with the first few of those interfaces). Bounded: one DescribeNetworkInterfaces per
 * group, looking at the first page only — a group with more interfaces than a page is shared.
 */
export async function groupsUsedOnlyBy(ec2: EC2Client, groupIds: readonly string[], ownInterfaceIds: readonly string[]): Promise<{ own: string[]; shared: Array<{ groupId: string; interfaceIds: string[] }> }> {
  const mine = new Set(ownInterfaceIds);
  const own: string[] = [];
  const shared: Array<{ groupId: string; interfaceIds: string[] }> = [];
  for (const groupId of groupIds) {
    const out = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }], MaxResults: 1000 }));
    const others = (out.NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId ?? '').filter((id) => id && !mine.has(id));
    if (others.length > 0 || out.NextToken) shared.push({ groupId, interfaceIds: others.slice(0, 10) });
    else own.push(groupId);
  }
  return { own, shared };
}

/** Revokes the rules by their ids; a rule already gone (a redelivery, a human) is no error. */
export async function revokeGroupRules(ec2: EC2Client, rules: readonly SavedRule[]): Promise<void> {
  const batches = new Map<string, { groupId: string; egress: boolean; ids: string[] }>();
  for (const r of rules) {
    const key = `${r.groupId}|${r.egress}`;
    const batch = batches.get(key) ?? { groupId: r.groupId, egress: r.egress, ids: [] };
    batch.ids.push(r.ruleId);
    batches.set(key, batch);
  }
  for (const b of batches.values()) {
    const input = { GroupId: b.groupId, SecurityGroupRuleIds: b.ids };
    try {
      await (b.egress ? ec2.send(new RevokeSecurityGroupEgressCommand(input)) : ec2.send(new RevokeSecurityGroupIngressCommand(input)));
    } catch (error) {
      if (!hasErrorCode(error, 'InvalidSecurityGroupRuleId.NotFound', 'InvalidPermission.NotFound')) throw error;
      // One of the batch is gone: revoke the others one by one.
      for (const id of b.ids) {
        try {
          const one = { GroupId: b.groupId, SecurityGroupRuleIds: [id] };
          await (b.egress ? ec2.send(new RevokeSecurityGroupEgressCommand(one)) : ec2.send(new RevokeSecurityGroupIngressCommand(one)));
        } catch (inner) {
          if (!hasErrorCode(inner, 'InvalidSecurityGroupRuleId.NotFound', 'InvalidPermission.NotFound')) throw inner;
        }
      }
    }
  }
}

/** What release did with each saved rule. */
export type RuleRestoreResult = 'restored' | 'already-present' | 'group-gone';

/**
 * Puts back every saved rule that is not in its group now (compared by protocol, ports and peer),
 * with its description. A group that no longer exists is reported, not an error.
 */
export async function restoreGroupRules(ec2: EC2Client, saved: readonly SavedRule[]): Promise<Array<SavedRule & { result: RuleRestoreResult }>> {
  const groupIds = [...new Set(saved.map((r) => r.groupId))];
  const out: Array<SavedRule & { result: RuleRestoreResult }> = [];
  for (const groupId of groupIds) {
    const wanted = saved.filter((r) => r.groupId === groupId);
    let present: SavedRule[];
    try {
      present = await rulesOf(ec2, [groupId]);
    } catch (error) {
      if (!hasErrorCode(error, 'InvalidGroup.NotFound', 'InvalidGroupId.NotFound')) throw error;
      out.push(...wanted.map((r) => ({ ...r, result: 'group-gone' as const })));
      continue;
    }
    const missing = wanted.filter((r) => !present.some((p) => sameRule(p, r)));
    out.push(...wanted.filter((r) => !missing.includes(r)).map((r) => ({ ...r, result: 'already-present' as const })));
    for (const egress of [false, true]) {
      const batch = missing.filter((r) => r.egress === egress);
      if (batch.length === 0) continue;
      const authorize = (rules: SavedRule[]) => {
        const input = { GroupId: groupId, IpPermissions: rules.map(permissionOf) };
        return egress ? ec2.send(new AuthorizeSecurityGroupEgressCommand(input)) : ec2.send(new AuthorizeSecurityGroupIngressCommand(input));
      };
      try {
        await authorize(batch);
        out.push(...batch.map((r) => ({ ...r, result: 'restored' as const })));
      } catch (error) {
        // Someone (a concurrent release) put one back meanwhile: the others one by one.
        if (!hasErrorCode(error, 'InvalidPermission.Duplicate')) throw error;
        for (const r of batch) {
          try {
            await authorize([r]);
            out.push({ ...r, result: 'restored' });
          } catch (inner) {
            if (!hasErrorCode(inner, 'InvalidPermission.Duplicate')) throw inner;
            out.push({ ...r, result: 'already-present' });
          }
        }
      }
    }
  }
  return out;
}

/** A rule in a sentence: `sg-1 ingress tcp 443 from 10.0.0.0/16`. */
export function describeRule(r: SavedRule): string {
  const ports = r.ipProtocol === '-1' ? 'all traffic' : `${r.ipProtocol} ${r.fromPort === r.toPort ? r.fromPort : `${r.fromPort}-${r.toPort}`}`;
  const peer = r.cidrIpv4 ?? r.cidrIpv6 ?? r.prefixListId ?? r.referencedGroupId ?? '?';
  return `${r.groupId} ${r.egress ? 'egress' : 'ingress'} ${ports} ${r.egress ? 'to' : 'from'} ${peer}`;
}
