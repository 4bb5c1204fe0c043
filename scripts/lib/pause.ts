// `firebreak pause` / `firebreak resume`: the kill switch, without a terraform apply. Every function
// reads the parameter before acting (cached 30 s): paused, it changes nothing and holds new incidents.
// `resume` clears it and then re-publishes, on the responders' bus with origin `resume`, every
// incident held because the deployment was paused, so each is acted on now.
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { RESUME_DETAIL_TYPE, RESUME_SOURCE } from '../../shared/findings/index.ts';
import { alreadyResumed, heldByPause, type IncidentRecord, type Ledger } from '../../shared/ledger/index.ts';
import { pauseValue } from '../../shared/pause/index.ts';
import { ledgerAt, whoIsCalling } from './aws-cli.ts';

export interface PauseCommandOptions {
  paused: boolean;
  parameter: string;
  reason?: string;
  /** For resume: the ledger table and the responders' bus, to re-publish what the pause held. */
  table?: string;
  bus?: string;
  log?: (line: string) => void;
  now?: () => Date;
  ssm?: SSMClient;
  events?: EventBridgeClient;
  ledger?: Pick<Ledger, 'list' | 'recordResumeRequest'>;
  caller?: () => Promise<{ arn: string }>;
}

/** What `firebreak resume` did with the held incidents. */
export interface ResumeReport {
  republished: string[];
  /** Held by a pause, but already re-published by an earlier resume (not yet acted on). */
  alreadyResumed: string[];
  /** Held by the blast-radius limit: not resumed. */
  heldByLimit: string[];
  /** The bus refused these (run resume again). */
  refused: string[];
}

/** Sets the pause parameter, recording who, when and why; a resume then re-publishes what the pause held. Returns the exit code. */
export async function pauseCommand(opts: PauseCommandOptions): Promise<number> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const caller = await (opts.caller ?? whoIsCalling)();
  const at = (opts.now ?? (() => new Date()))().toISOString();
  const value = pauseValue({ paused: opts.paused, by: caller.arn, at, ...(opts.reason ? { reason: opts.reason } : {}) });
  await (opts.ssm ?? new SSMClient({})).send(new PutParameterCommand({ Name: opts.parameter, Value: value, Type: 'String', Overwrite: true }));
  if (opts.paused) {
    log(`Paused: ${opts.parameter} says so (by ${caller.arn} at ${at}). Within 30 s every Firebreak function of this deployment changes nothing; new incidents are recorded as held.`);
    return 0;
  }
  log(`Resumed: ${opts.parameter} cleared (by ${caller.arn} at ${at}).`);
  if (!opts.table || !opts.bus) return 0;
  const report = await resumeHeldIncidents({
    ledger: opts.ledger ?? ledgerAt(opts.table),
    events: opts.events ?? new EventBridgeClient({}),
    bus: opts.bus,
    requestedBy: caller.arn,
    at,
    log,
  });
  return report.refused.length > 0 ? 1 : 0;
}

/**
 * Re-publishes, on the responders' bus with origin `resume`, every incident held because the
 * deployment was paused and not yet re-published since it was held; records each re-publication
 * on the incident, so a second resume re-publishes nothing already resumed. Incidents held by the
 * blast-radius limit, and incidents since contained or released, are left alone.
 */
export async function resumeHeldIncidents(p: {
  ledger: Pick<Ledger, 'list' | 'recordResumeRequest'>;
  events: EventBridgeClient;
  bus: string;
  requestedBy: string;
  at: string;
  log: (line: string) => void;
}): Promise<ResumeReport> {
  const incidents = (await p.ledger.list()).filter((r): r is IncidentRecord => r.kind === 'incident' && r.status === 'held');
  const report: ResumeReport = { republished: [], alreadyResumed: [], heldByLimit: [], refused: [] };
  const toPublish: IncidentRecord[] = [];
  for (const r of incidents) {
    if (!heldByPause(r)) report.heldByLimit.push(r.incidentId);
    else if (alreadyResumed(r)) report.alreadyResumed.push(r.incidentId);
    else toPublish.push(r);
  }
  // PutEvents takes at most 10 entries a call.
  for (let i = 0; i < toPublish.length; i += 10) {
    const batch = toPublish.slice(i, i + 10);
    const out = await p.events.send(
      new PutEventsCommand({
        Entries: batch.map((r) => ({
          Source: RESUME_SOURCE,
          DetailType: RESUME_DETAIL_TYPE,
          EventBusName: p.bus,
          Detail: JSON.stringify({ incidentId: r.incidentId, resource: { resourceType: r.incident.resource.type, id: r.incident.resource.id }, requestedBy: p.requestedBy }),
        })),
      }),
    );
    for (const [n, r] of batch.entries()) {
      const entry = out.Entries?.[n];
      if (!entry?.EventId || entry.ErrorCode) {
        report.refused.push(r.incidentId);
        p.log(`  not re-published ${r.incidentId}: the bus refused it (${entry?.ErrorCode ?? 'no answer'}); run firebreak resume again`);
        continue;
      }
      // After the bus accepted it: a failed write here means at worst one more (idempotent) delivery.
      await p.ledger.recordResumeRequest(r.incidentId, { at: p.at, by: p.requestedBy, eventId: entry.EventId });
      report.republished.push(r.incidentId);
      p.log(`  re-published ${r.incidentId} (${r.playbook}: ${r.incident.resource.type} ${r.incident.resource.id}) as ${entry.EventId}`);
    }
  }
  p.log(`Re-published ${report.republished.length} incident(s) held by the pause on ${p.bus} (origin resume): their functions act on them now.`);
  if (report.alreadyResumed.length) p.log(`${report.alreadyResumed.length} already re-published by an earlier resume and not yet acted on: ${report.alreadyResumed.join(', ')}`);
  if (report.heldByLimit.length) {
    p.log(
      `${report.heldByLimit.length} held by the blast-radius limit, not resumed: ${report.heldByLimit.join(', ')}. Their findings are acted on when GuardDuty publishes them again and the window has room; to contain one now, \`firebreak contain <type> <id> --ticket T\` (a manual finding, on the manual budget).`,
    );
  }
  return report;
}
