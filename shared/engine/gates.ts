import { memberSessionArn } from '../aws/index.ts';
import { actsIn, type Config } from '../config/index.ts';
import type { Incident } from '../findings/index.ts';
import type { GateResult } from '../vocabulary/index.ts';

export type { GateResult };


export interface GateSubject {
  tags: Record<string, string>;
  identifiers: string[];
  principals: string[];
}

/**
 * Matches `value` against a pattern where `*` stands for any run of characters.
 * Everything else is literal, so a pattern taken from configuration can never
 * act as a regular expression.
 */
export function matchesPattern(pattern: string, value: string): boolean {
  const parts = pattern.split('*').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${parts.join('.*')}$`).test(value);
}

const anyMatch = (patterns: string[], values: string[]) =>
  patterns.find((p) => values.some((v) => matchesPattern(p, v)));

/**
 * The finding's account must be one this deployment acts in: its own, or (a GuardDuty finding,
 * in the delegated administrator's bus) one of its `member_account_ids`. A manual finding acts
 * only where it was put on the bus (the parser takes its account from the event), so only in
 * the deployment's own account. Decided before anything else: nothing is read anywhere else.
 *
 * @example
 * ```ts
 * evaluateAccountGate(config, { ...incident, accountId: '999988887777' }).passed // false
 * ```
 */
export function evaluateAccountGate(config: Pick<Config, 'accountId' | 'members' | 'partition'>, incident: Pick<Incident, 'accountId' | 'origin' | 'incidentId'>): GateResult {
  const { accountId } = incident;
  if (accountId === config.accountId) return { gate: 'account-in-scope', passed: true, reason: `the finding is for this deployment's account ${accountId}` };
  if (incident.origin !== 'guardduty') {
    return { gate: 'account-in-scope', passed: false, reason: `a ${incident.origin} finding acts only in this deployment's account ${config.accountId}, not in ${accountId}` };
  }
  if (actsIn(config, accountId)) {
    // The session every call there is made with: what CloudTrail in the member account shows.
    const session = memberSessionArn(config.partition, accountId, config.members.roleName, incident.incidentId);
    return { gate: 'account-in-scope', passed: true, reason: `the finding is for member account ${accountId} (member_account_ids): acting there as ${session}` };
  }
  const members = config.members.accountIds.length ? ` and its member accounts ${config.members.accountIds.join(', ')}` : '';
  return {
    gate: 'account-in-scope',
    passed: false,
    reason: `the finding is for account ${accountId}; this deployment acts only in account ${config.accountId}${members} (add ${accountId} to member_account_ids, or deploy Firebreak in that account)`,
  };
}

/**
 * The gates decided by the finding alone, evaluated before Firebreak reads anything from
 * AWS: a sample, an archived or low-severity finding, or a denied type never reaches a
 * playbook's describe. All are evaluated (not just the first failing one) so the ledger
 * shows the whole picture.
 *
 * @example
 * ```ts
 * evaluateFindingGates(config, { ...incident, sample: true }).find((g) => !g.passed)?.gate // 'not-sample'
 * ```
 */
export function evaluateFindingGates(config: Config, incident: Incident): GateResult[] {
  const results: GateResult[] = [];
  const gate = (name: string, passed: boolean, reason: string) => results.push({ gate: name, passed, reason });
  gate('not-archived', !incident.archived, incident.archived ? 'the finding is archived' : 'the finding is active');
  gate('not-sample', !incident.sample, incident.sample ? 'the finding is a GuardDuty sample finding' : 'the finding is not a sample');
  gate(
    'minimum-severity',
    incident.severity >= config.minSeverity,
    `severity ${incident.severity} ${incident.severity >= config.minSeverity ? '>=' : '<'} minimum ${config.minSeverity}`,
  );
  const denied = anyMatch(config.findingTypesDeny, [incident.findingType]);
  gate('finding-type-not-denied', !denied, denied ? `finding type matches deny pattern ${denied}` : 'finding type is not on the deny list');
  if (config.findingTypesAllow.length > 0) {
    const allowed = anyMatch(config.findingTypesAllow, [incident.findingType]);
    gate('finding-type-allowed', Boolean(allowed), allowed ? `finding type matches allow pattern ${allowed}` : 'finding type is not on the allow list');
  }
  return results;
}

/**
 * The gates decided by the resource as described: the exemption tag, protected resources
 * and principals.
 *
 * @example
 * ```ts
 * const results = evaluateResourceGates(config, { tags: { 'firebreak:exempt': '' }, identifiers: ['i-0abc'], principals: [] });
 * results.every((g) => g.passed) // false: the instance is exempt
 * ```
 */
export function evaluateResourceGates(config: Config, subject: GateSubject): GateResult[] {
  const results: GateResult[] = [];
  const gate = (name: string, passed: boolean, reason: string) => results.push({ gate: name, passed, reason });
  const exempt = Object.prototype.hasOwnProperty.call(subject.tags, config.exemptTagKey);
  gate('not-exempt', !exempt, exempt ? `the resource carries the exemption tag ${config.exemptTagKey}` : 'the resource has no exemption tag');
  const protectedResource = anyMatch(config.protectedResources, subject.identifiers);
  gate('not-protected-resource', !protectedResource, protectedResource ? `the resource matches protected pattern ${protectedResource}` : 'the resource is not protected');
  const protectedPrincipal = anyMatch(config.protectedPrincipals, subject.principals);
  gate('not-protected-principal', !protectedPrincipal, protectedPrincipal ? `the principal matches protected pattern ${protectedPrincipal}` : 'no protected principal involved');
  return results;
}
