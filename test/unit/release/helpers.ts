/** Factories and fakes for the release tests: ledger records, release contexts, an in-memory release ledger. */
import type { StepOutcome } from '../../../shared/engine/index.ts';
import type { BeginReleaseOutcome, BeginReleaseParams, FinishReleaseParams, IncidentRecord, ReleaseStepOutcome } from '../../../shared/ledger/index.ts';
import type { ReleaseLedger, ReleaseRequest, ReleaseStepContext } from '../../../shared/release/index.ts';
import type { Ec2Instance } from '../../../shared/steps/ec2/index.ts';
import { ACCOUNT_ID, anIncident, anInstance, awsError, FIXED_NOW, INSTANCE_ID, REGION, silentLogger, someClients } from '../helpers/factories.ts';

export const RESPONDER = 'arn:aws:sts::111122223333:assumed-role/Responder/alice';
export const INCIDENT_ID = anIncident().incidentId;

/** A contained EC2 incident as the ledger holds it. */
export function aRecord(overrides: Partial<IncidentRecord> = {}): IncidentRecord {
  const incident = anIncident();
  return {
    pk: `incident#${incident.incidentId}`,
    sk: 'incident',
    kind: 'incident',
    incidentId: incident.incidentId,
    playbook: 'ec2-instance',
    origin: 'guardduty',
    findingId: incident.findingId,
    findingArn: `arn:aws:guardduty:${REGION}:${ACCOUNT_ID}:detector/d/finding/${incident.findingId}`,
    findingType: incident.findingType,
    title: incident.title,
    severity: incident.severity,
    accountId: ACCOUNT_ID,
    region: REGION,
    resourceType: 'Instance',
    resourceId: INSTANCE_ID,
    remoteIps: incident.remoteIps,
    mode: 'contain',
    status: 'contained',
    firstSeenAt: '2025-06-19T14:40:10.000Z',
    lastSeenAt: '2025-06-19T14:40:10.000Z',
    eventTime: incident.eventTime,
    findingUpdatedAt: incident.updatedAt,
    findingCount: 1,
    deliveries: 1,
    lastMessageId: 'msg-1',
    capture: { instanceId: INSTANCE_ID },
    steps: {},
    ...overrides,
  };
}

/** A containment step's outcome. */
export const contained = (status: StepOutcome['status'], data?: Record<string, unknown>): StepOutcome => ({
  stage: 'contain',
  status,
  summary: `containment ${status}`,
  attempts: 1,
  finishedAt: '2025-06-19T14:40:12.000Z',
  ...(data ? { data } : {}),
});

/** A release step's outcome from an earlier attempt. */
export const released = (status: ReleaseStepOutcome['status'], extra: Partial<ReleaseStepOutcome> = {}): ReleaseStepOutcome => ({
  stage: 'release',
  status,
  summary: `release ${status}`,
  attempts: 1,
  ...extra,
});

export function aReleaseRequest(overrides: Partial<ReleaseRequest> = {}): ReleaseRequest {
  return { incidentId: INCIDENT_ID, reason: 'false positive: scheduled pen test SEC-42', reattach: false, requestedBy: RESPONDER, via: 'cli', ...overrides };
}

/** A release step context over a contained instance; `steps` are the containment outcomes. */
export function aReleaseContext(
  steps: Record<string, StepOutcome> = {},
  overrides: Partial<ReleaseStepContext<Ec2Instance>> & { instance?: Ec2Instance | null } = {},
): ReleaseStepContext<Ec2Instance> {
  const { instance, ...rest } = overrides;
  const record = aRecord({ steps });
  return {
    record,
    incident: anIncident(),
    capture: record.capture ?? {},
    contained: steps,
    request: aReleaseRequest(),
    resource: async () => (instance === null ? undefined : (instance ?? anInstance())),
    clients: someClients(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    outcomes: {},
    ...rest,
  };
}

const conflict = () => awsError('ConditionalCheckFailedException', { message: 'The conditional request failed' });

/**
 * An in-memory ledger with the release surface of the real one, including its
 * conditions (the real expressions are tested against the DynamoDB mock). It keeps
 * every write so tests can prove that a no-op wrote nothing.
 */
export class FakeReleaseLedger implements ReleaseLedger {
  records = new Map<string, IncidentRecord>();
  writes: Array<{ method: string; args: unknown[] }> = [];

  with(record: IncidentRecord): this {
    this.records.set(record.incidentId, structuredClone(record));
    return this;
  }

  record(incidentId = INCIDENT_ID): IncidentRecord {
    return this.records.get(incidentId)!;
  }

  async get(incidentId: string): Promise<IncidentRecord | undefined> {
    const r = this.records.get(incidentId);
    return r ? structuredClone(r) : undefined;
  }

  async beginRelease(p: BeginReleaseParams): Promise<BeginReleaseOutcome> {
    this.writes.push({ method: 'beginRelease', args: [p] });
    const r = this.records.get(p.incidentId);
    if (!r || r.status === 'released') return { claimed: false };
    const now = p.now.toISOString();
    const attempt = { requestedBy: p.requestedBy, reason: p.reason, reattach: p.reattach, requestedAt: now, via: p.via };
    if (!p.seen) {
      if (r.release) return { claimed: false };
      r.release = { ...attempt, status: 'releasing', claimId: p.claimId, attempts: [attempt], steps: {} };
    } else {
      const rel = r.release;
      const stale = rel?.status === 'releasing' && Date.parse(rel.requestedAt) < p.now.getTime() - (p.staleAfterSeconds ?? 900) * 1000;
      if (!rel || rel.claimId !== p.seen.claimId || !(rel.status === 'incomplete' || stale)) return { claimed: false };
      const { failures: _failures, ...kept } = rel;
      r.release = { ...kept, ...attempt, status: 'releasing', claimId: p.claimId, attempts: [...(rel.attempts ?? []), attempt] };
    }
    return { claimed: true, record: structuredClone(r) };
  }

  async recordReleaseStep(incidentId: string, claimId: string, name: string, outcome: ReleaseStepOutcome): Promise<void> {
    this.writes.push({ method: 'recordReleaseStep', args: [incidentId, claimId, name, outcome] });
    const r = this.records.get(incidentId);
    if (r?.release?.claimId !== claimId) throw conflict();
    r.release.steps[name] = structuredClone(outcome);
  }

  async finishRelease(incidentId: string, claimId: string, p: FinishReleaseParams): Promise<void> {
    this.writes.push({ method: 'finishRelease', args: [incidentId, claimId, p] });
    const r = this.records.get(incidentId);
    if (r?.release?.claimId !== claimId) throw conflict();
    const now = p.now.toISOString();
    Object.assign(r.release, { status: p.status, finishedAt: now, summary: p.summary, keptProtections: p.keptProtections, failures: p.failures });
    if (p.status === 'released') {
      Object.assign(r.release, { releasedBy: p.releasedBy, releasedAt: now });
      r.status = 'released';
      r.statusReason = p.summary;
    }
  }
}

export { FIXED_NOW };
