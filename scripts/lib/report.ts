// Renders ledger records for people: `firebreak incidents` and the demo.
import type { IgnoredFindingRecord, IncidentRecord, LedgerRecord, RejectedRecord } from '../../shared/ledger/index.ts';
import type { StepOutcome } from '../../shared/vocabulary/index.ts';

const ICON: Record<string, string> = { done: '✔', skipped: '–', failed: '✘', planned: '○', pending: '…' };
const STAGE_ORDER = { contain: 0, evidence: 1, investigate: 2, release: 3 } as Record<string, number>;

type ShownOutcome = Pick<StepOutcome, 'status' | 'summary' | 'startedAt' | 'durationMs' | 'error'> & { stage: string };

export function formatSteps(steps: Record<string, ShownOutcome>): string[] {
  return Object.entries(steps)
    .sort(([, a], [, b]) => (STAGE_ORDER[a.stage] ?? 9) - (STAGE_ORDER[b.stage] ?? 9) || (a.startedAt ?? '').localeCompare(b.startedAt ?? ''))
    .map(([name, o]) => {
      const ms = o.durationMs !== undefined ? ` ${o.durationMs} ms` : '';
      const err = o.error ? ` [${o.error.code}${o.error.retryable ? ', retryable' : ''}${o.error.unsupported ? ', unsupported here' : ''}]` : '';
      return `    ${ICON[o.status] ?? '?'} ${o.stage.padEnd(11)} ${name.padEnd(36)} ${o.status.padEnd(7)}${ms}  ${o.summary}${err}`;
    });
}

export function formatIncident(r: IncidentRecord): string[] {
  const lines = [
    `${r.incidentId}  ${r.incident.resource.type} ${r.incident.resource.id}  ${r.status.toUpperCase()}  (${r.incident.findingType}, severity ${r.incident.severity}, mode ${r.mode}, ${r.deliveries} deliver${r.deliveries === 1 ? 'y' : 'ies'})`,
    `    ${r.statusReason ?? ''}`,
  ];
  const failedGates = (r.gates ?? []).filter((g) => !g.passed);
  if (failedGates.length) lines.push(...failedGates.map((g) => `    gate ${g.gate}: ${g.reason}`));
  lines.push(...formatSteps(r.steps ?? {}));
  const release = r.release;
  if (release) {
    lines.push(
      `    RELEASE ${release.status.toUpperCase()} — requested by ${release.requestedBy} via ${release.via} at ${release.requestedAt}${release.reattach ? ' (--reattach)' : ''}: ${release.reason}`,
    );
    if (release.releasedBy) lines.push(`    released by ${release.releasedBy} at ${release.releasedAt}`);
    lines.push(...formatSteps(release.steps ?? {}));
  }
  return lines;
}

export function formatRejected(r: RejectedRecord): string[] {
  const more = (r.reasonCount ?? r.reasons.length) > r.reasons.length ? ` (${r.reasonCount} reasons in all)` : '';
  return [`rejected message ${r.messageId} (${r.playbook})  ${r.reasons.join('; ')}${more}`];
}

export function formatIgnored(r: IgnoredFindingRecord): string[] {
  return [`finding ${r.findingId}  ${r.resourceType}  SKIPPED (${r.why}: ${r.reason}; ${r.findingType}, ${r.deliveries} deliver${r.deliveries === 1 ? 'y' : 'ies'})`];
}

const seenAt = (r: LedgerRecord) => (r.kind === 'incident' ? r.firstSeenAt : r.receivedAt);

export function formatLedger(items: LedgerRecord[]): string {
  if (items.length === 0) return 'The ledger is empty.';
  const sorted = [...items].sort((a, b) => seenAt(a).localeCompare(seenAt(b)));
  return sorted.flatMap((r) => (r.kind === 'incident' ? formatIncident(r) : r.kind === 'rejected' ? formatRejected(r) : formatIgnored(r))).join('\n');
}
