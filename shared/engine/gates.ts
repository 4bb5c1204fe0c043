import type { Config } from '../config/index.ts';
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
