/**
 * Denying addresses in a subnet's network ACL: for resources whose own security groups cannot be
 * changed or emptied (a task ENI ECS manages, a group others share), the subnet's ACL is the
 * control left. Network ACLs are stateless, so a deny ends the flows to and from the address at
 * once, tracked or not (AWS, "Control subnet traffic with network access control lists"). Rules
 * are evaluated lowest number first: a deny is numbered below the ACL's lowest rule so no allow
 * can come before it. Every entry made is saved for release, which deletes only an entry that is
 * still the one made (same number, direction, deny, address).
 *
 * The ACL applies to the whole subnet: traffic of every resource in it to or from the address is
 * cut too (an address named as malicious), and traffic inside the subnet never crosses it.
 */
import { CreateNetworkAclEntryCommand, DeleteNetworkAclEntryCommand, DescribeNetworkAclsCommand, type EC2Client, type NetworkAcl, type NetworkAclEntry } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { hasErrorCode } from '../errors/index.ts';

export const NETWORK_ACL_DENY_ACTIONS = ['ec2:DescribeNetworkAcls', 'ec2:CreateNetworkAclEntry'] as const;
export const NETWORK_ACL_REMOVE_ACTIONS = ['ec2:DescribeNetworkAcls', 'ec2:DeleteNetworkAclEntry'] as const;

/**
 * Rules per network ACL and direction, AWS's default quota ("Amazon VPC quotas": 20, adjustable up
 * to 40); the quota counts every rule of the direction, the default deny (`*`, 32767) included.
 */
export const DEFAULT_NETWORK_ACL_RULES_PER_DIRECTION = 20;

/** The number of the default rule (`*`) of each direction for IPv4, which every ACL has and nobody can delete. */
const DEFAULT_RULE_NUMBER = 32767;

/** A deny entry made (or found) for an address in one direction. */
export const DenyEntrySchema = z.object({
  networkAclId: z.string(),
  ruleNumber: z.number(),
  egress: z.boolean(),
  cidrBlock: z.string(),
  /** `created`: made by this call (release deletes it); `already-denied`: an entry denying the address was there before (release leaves it). */
  origin: z.enum(['created', 'already-denied']),
});

export type DenyEntry = z.infer<typeof DenyEntrySchema>;

/** An address Firebreak could not deny in one direction, and why. */
export const UndeniedSchema = z.object({ cidrBlock: z.string(), egress: z.boolean(), reason: z.string() });

export type Undenied = z.infer<typeof UndeniedSchema>;

/** The network ACL associated with a subnet (every subnet has exactly one); undefined when none is found. */
export async function networkAclOfSubnet(ec2: EC2Client, subnetId: string): Promise<NetworkAcl | undefined> {
  const out = await ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }));
  return out.NetworkAcls?.[0];
}

const isDenyOf = (e: NetworkAclEntry, cidr: string, egress: boolean) => Boolean(e.Egress) === egress && e.RuleAction === 'deny' && e.CidrBlock === cidr;

/**
 * Denies each address (as a /32) inbound by source and outbound by destination in `acl`, all
 * protocols, each numbered just below the lowest rule of its direction. An address already denied
 * in a direction is recorded as such (not made again). When the direction holds `ruleLimit` rules,
 * or no number below its lowest rule is left, the address is recorded as not denied, with why.
 */
export async function denyAddressesInNetworkAcl(
  ec2: EC2Client,
  acl: NetworkAcl,
  addresses: readonly string[],
  options: { ruleLimit?: number; previous?: readonly DenyEntry[] } = {},
): Promise<{ entries: DenyEntry[]; undenied: Undenied[] }> {
  const networkAclId = acl.NetworkAclId ?? '';
  const limit = options.ruleLimit ?? DEFAULT_NETWORK_ACL_RULES_PER_DIRECTION;
  const ours = new Set((options.previous ?? []).filter((e) => e.origin === 'created' && e.networkAclId === networkAclId).map((e) => `${e.egress}|${e.ruleNumber}|${e.cidrBlock}`));
  const entries: DenyEntry[] = [];
  const undenied: Undenied[] = [];
  for (const egress of [false, true]) {
    const existing = (acl.Entries ?? []).filter((e) => Boolean(e.Egress) === egress);
    let count = existing.length;
    let lowest = Math.min(DEFAULT_RULE_NUMBER, ...existing.map((e) => e.RuleNumber ?? DEFAULT_RULE_NUMBER));
    for (const address of addresses) {
      const cidrBlock = `${address}/32`;
      const already = existing.find((e) => isDenyOf(e, cidrBlock, egress));
      if (already) {
        const origin = ours.has(`${egress}|${already.RuleNumber}|${cidrBlock}`) ? 'created' : 'already-denied';
        entries.push({ networkAclId, ruleNumber: already.RuleNumber ?? 0, egress, cidrBlock, origin });
        continue;
      }
      if (count >= limit) {
        undenied.push({ cidrBlock, egress, reason: `network ACL ${networkAclId} already holds ${count} ${egress ? 'outbound' : 'inbound'} rules, its quota of ${limit} per direction` });
        continue;
      }
      const ruleNumber = lowest - 1;
      if (ruleNumber < 1) {
        undenied.push({ cidrBlock, egress, reason: `network ACL ${networkAclId} has no rule number left below its lowest ${egress ? 'outbound' : 'inbound'} rule (${lowest})` });
        continue;
      }
      try {
        await ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: networkAclId, RuleNumber: ruleNumber, Protocol: '-1', RuleAction: 'deny', Egress: egress, CidrBlock: cidrBlock }));
      } catch (error) {
        if (!hasErrorCode(error, 'NetworkAclEntryLimitExceeded')) throw error;
        undenied.push({ cidrBlock, egress, reason: `network ACL ${networkAclId} is full (NetworkAclEntryLimitExceeded): the account's quota of rules per direction is reached` });
        count = Number.POSITIVE_INFINITY;
        continue;
      }
      entries.push({ networkAclId, ruleNumber, egress, cidrBlock, origin: 'created' });
      count += 1;
      lowest = ruleNumber;
    }
  }
  return { entries, undenied };
}

/** What release did with each entry it made. */
export type DenyRemovalResult = 'removed' | 'already-removed' | 'changed-since' | 'acl-gone';

/**
 * Deletes the deny entries containment made (`origin: created`), each only when the entry at its
 * number and direction is still that deny; entries that were there before are left.
 */
export async function removeDenyEntries(ec2: EC2Client, entries: readonly DenyEntry[]): Promise<Array<DenyEntry & { result: DenyRemovalResult | 'left-as-found' }>> {
  const out: Array<DenyEntry & { result: DenyRemovalResult | 'left-as-found' }> = [];
  for (const networkAclId of [...new Set(entries.map((e) => e.networkAclId))]) {
    const mine = entries.filter((e) => e.networkAclId === networkAclId);
    out.push(...mine.filter((e) => e.origin !== 'created').map((e) => ({ ...e, result: 'left-as-found' as const })));
    const created = mine.filter((e) => e.origin === 'created');
    if (created.length === 0) continue;
    let acl: NetworkAcl | undefined;
    try {
      acl = (await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [networkAclId] }))).NetworkAcls?.[0];
    } catch (error) {
      if (!hasErrorCode(error, 'InvalidNetworkAclID.NotFound')) throw error;
    }
    if (!acl) {
      out.push(...created.map((e) => ({ ...e, result: 'acl-gone' as const })));
      continue;
    }
    for (const e of created) {
      const now = acl.Entries?.find((x) => Boolean(x.Egress) === e.egress && x.RuleNumber === e.ruleNumber);
      if (!now) {
        out.push({ ...e, result: 'already-removed' });
        continue;
      }
      if (!isDenyOf(now, e.cidrBlock, e.egress)) {
        out.push({ ...e, result: 'changed-since' });
        continue;
      }
      try {
        await ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: networkAclId, RuleNumber: e.ruleNumber, Egress: e.egress }));
        out.push({ ...e, result: 'removed' });
      } catch (error) {
        if (!hasErrorCode(error, 'InvalidNetworkAclEntry.NotFound')) throw error;
        out.push({ ...e, result: 'already-removed' });
      }
    }
  }
  return out;
}

/** How a containment step reports the deny entries it made (or found) and the addresses it could not deny: done when any entry stands, else skipped. */
export function denyOutcome(entries: readonly DenyEntry[], undenied: readonly Undenied[], limit: string): { status: 'done' | 'skipped'; summary: string } {
  const said = (e: DenyEntry) => `${e.egress ? 'outbound to' : 'inbound from'} ${e.cidrBlock} (${e.networkAclId} rule ${e.ruleNumber}${e.origin === 'already-denied' ? ', already there' : ''})`;
  const notSaid = undenied.length ? `; NOT denied: ${undenied.map((u) => `${u.egress ? 'outbound to' : 'inbound from'} ${u.cidrBlock}: ${u.reason}`).join('; ')}` : '';
  if (entries.length === 0) return { status: 'skipped', summary: `no address could be denied${notSaid}` };
  return { status: 'done', summary: `denied ${entries.map(said).join(', ')}${notSaid}; ${limit}` };
}

/** The release of recorded deny entries ({@link removeDenyEntries}), reported as an undo reports it. */
export async function releaseDenyEntries(ec2: EC2Client, recorded: readonly DenyEntry[]) {
  const entries = await removeDenyEntries(ec2, recorded);
  const by = (r: string) => entries.filter((e) => e.result === r);
  const label = (e: DenyEntry) => `${e.networkAclId} rule ${e.ruleNumber} ${e.egress ? 'out' : 'in'} ${e.cidrBlock}`;
  const parts = [
    by('removed').length ? `removed ${by('removed').map(label).join(', ')}` : '',
    by('already-removed').length ? `already gone: ${by('already-removed').map(label).join(', ')}` : '',
    by('changed-since').length ? `left alone (changed since containment): ${by('changed-since').map(label).join(', ')}` : '',
    by('left-as-found').length ? `left as found (denied before containment): ${by('left-as-found').map(label).join(', ')}` : '',
    by('acl-gone').length ? `network ACL gone: ${by('acl-gone').map(label).join(', ')}` : '',
  ].filter(Boolean);
  const status: 'done' | 'skipped' = by('removed').length + by('already-removed').length > 0 || entries.length === 0 ? 'done' : 'skipped';
  return { status, summary: parts.join('; ') || 'no entry to remove', data: { entries } };
}
