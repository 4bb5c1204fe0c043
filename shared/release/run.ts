import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import { z } from 'zod';
import type { ClientFactory } from '../aws/index.ts';
import type { Playbook } from '../engine/types.ts';
import { executeStep } from '../engine/execute.ts';
import { classifyError, hasErrorCode, ReleaseRefusedError, ResourceNotFoundError } from '../errors/index.ts';
import { IncidentIdSchema, PrincipalSchema, type Incident, type PlaybookName } from '../findings/index.ts';
import { RELEASE_STALE_AFTER_SECONDS, type IncidentRecord, type Ledger, type ReleaseRecord, type ReleaseStepOutcome } from '../ledger/index.ts';
import type { ReleaseRequest, ReleaseResult, ReleaseStepContext, ReleaseStepDefinition } from './types.ts';

/** The ledger methods a release needs (the real {@link Ledger}, or a fake in tests). */
export type ReleaseLedger = Pick<Ledger, 'get' | 'beginRelease' | 'recordReleaseStep' | 'finishRelease'>;

/** What a release needs from the outside world; injected, never global. */
export interface ReleaseDeps {
  ledger: ReleaseLedger;
  clientsFor: ClientFactory;
  logger: Logger;
  now?: () => Date;
  /** The playbooks by name; each incident is released with its own playbook's `release` steps. */
  playbooks: Partial<Record<PlaybookName, Playbook<any>>>;
}

export const MAX_REASON_LENGTH = 512;

const ReleaseRequestSchema = z.object({
  incidentId: IncidentIdSchema,
  reason: z
    .string({ message: 'reason is required' })
    .transform((s) => s.replace(/[\u0000-\u001f\u007f]/g, ' ').trim())
    .pipe(z.string().min(1, 'reason must not be empty').max(MAX_REASON_LENGTH, `reason must be at most ${MAX_REASON_LENGTH} characters`)),
  reattach: z.boolean(),
  requestedBy: PrincipalSchema,
  via: z.enum(['cli', 'event']),
  expect: z
    .object({ resourceId: z.string().optional(), resourceType: z.string().optional(), accountId: z.string().optional(), playbook: z.string().optional() })
    .optional(),
});

/**
 * Releases a contained incident: restores what containment changed, from what the
 * ledger recorded, with the playbook's release steps run in order. The release is
 * claimed with a conditional write, so two releases never run at once; each step's
 * outcome is recorded; steps done in an earlier, incomplete release are not repeated.
 * An incident already released is left as it is (nothing is written). Evidence is never
 * touched. Throws {@link ReleaseRefusedError} when nothing may be done (unknown incident,
 * another resource than expected, no release steps, another release in flight).
 *
 * @example
 * ```ts
 * const result = await releaseIncident(
 *   { ledger, clientsFor, logger, playbooks: PLAYBOOKS },
 *   { incidentId: 'inc-0123456789abcdef', reason: 'false positive: pen test SEC-42', reattach: false, requestedBy: callerArn, via: 'cli' },
 * );
 * result.outcome // 'released'
 * ```
 */
export async function releaseIncident(deps: ReleaseDeps, request: ReleaseRequest): Promise<ReleaseResult> {
  const now = deps.now ?? (() => new Date());
  const parsed = ReleaseRequestSchema.safeParse(request);
  if (!parsed.success) {
    const id = typeof request?.incidentId === 'string' ? request.incidentId.slice(0, 40) : '?';
    throw new ReleaseRefusedError(id, 'invalid-request', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  }
  const req = parsed.data as ReleaseRequest;
  const { incidentId } = req;
  const { ledger } = deps;

  const record = await ledger.get(incidentId);
  if (!record) {
    throw new ReleaseRefusedError(incidentId, 'not-found', `no incident ${incidentId} in the ledger: check the id (\`firebreak incidents\` lists them) and the ledger table`);
  }
  const mismatch = mismatchOf(record, req.expect);
  if (mismatch) throw new ReleaseRefusedError(incidentId, 'resource-mismatch', `${mismatch}; nothing was changed`);
  if (record.status === 'released') return alreadyReleased(record);

  const playbook = deps.playbooks[record.playbook as PlaybookName];
  const steps = playbook?.release ?? [];
  if (!playbook || steps.length === 0) {
    throw new ReleaseRefusedError(incidentId, 'not-supported', `the ${record.playbook} playbook has no release steps here: undo its containment by hand`);
  }
  const requestedAt = now();
  if (inFlight(record.release, requestedAt)) throw inProgress(record);

  const claimId = randomUUID();
  const claim = await ledger.beginRelease({
    incidentId,
    requestedBy: req.requestedBy,
    reason: req.reason,
    reattach: req.reattach,
    via: req.via,
    claimId,
    now: requestedAt,
    ...(record.release?.claimId ? { seen: { claimId: record.release.claimId } } : {}),
  });
  if (!claim.claimed) {
    // Someone changed the release between our read and our claim: say who.
    const current = await ledger.get(incidentId);
    if (current?.status === 'released') return alreadyReleased(current);
    throw inProgress(current ?? record);
  }

  const claimed = claim.record;
  const logger = deps.logger.createChild({ persistentKeys: { incidentId, resourceId: claimed.resourceId, accountId: claimed.accountId, release: true } });
  const clients = deps.clientsFor({ accountId: claimed.accountId, region: claimed.region });
  const incident = incidentOf(claimed);
  let described: Promise<unknown> | undefined;
  const resource = (): Promise<unknown> =>
    (described ??= playbook.describe({ incident, clients, logger }).catch((error: unknown) => {
      if (error instanceof ResourceNotFoundError) return undefined;
      described = undefined;
      throw error;
    }));

  const earlier: Record<string, ReleaseStepOutcome> = claimed.release?.steps ?? {};
  const outcomes: Record<string, ReleaseStepOutcome> = { ...earlier };
  const ran: string[] = [];
  const base: Omit<ReleaseStepContext<unknown>, 'previous'> = {
    record: claimed,
    incident,
    capture: claimed.capture ?? {},
    contained: claimed.steps ?? {},
    request: req,
    resource,
    clients,
    logger,
    now,
    outcomes,
  };
  logger.info('Release started', { requestedBy: req.requestedBy, via: req.via, reattach: req.reattach });
  try {
    for (const step of steps) {
      const before = earlier[step.name];
      if (before?.status === 'done') continue;
      const outcome = await runReleaseStep(step, { ...base, ...(before ? { previous: before } : {}) }, before);
      outcomes[step.name] = outcome;
      ran.push(step.name);
      await ledger.recordReleaseStep(incidentId, claimId, step.name, outcome);
    }
    const failures = steps.filter((s) => outcomes[s.name]?.status === 'failed').map((s) => s.name);
    const retryableFailures = failures.filter((name) => outcomes[name]?.error?.retryable);
    const keptProtections = [...new Set(steps.flatMap((s) => keptBy(outcomes[s.name])))];
    const at = now();
    const done = failures.length === 0;
    const summary = done
      ? `released by ${req.requestedBy} at ${at.toISOString()} (${req.via}): ${req.reason}`
      : `release incomplete: ${failures.map((f) => `${f} (${outcomes[f]?.error?.code ?? 'failed'})`).join(', ')} failed; release again to retry only these`;
    await ledger.finishRelease(incidentId, claimId, { status: done ? 'released' : 'incomplete', now: at, releasedBy: req.requestedBy, summary, failures, keptProtections });
    logger[done ? 'info' : 'error']('Release finished', { outcome: done ? 'released' : 'incomplete', failures });
    return {
      incidentId,
      outcome: done ? 'released' : 'incomplete',
      summary,
      steps: Object.fromEntries(steps.flatMap((s) => (outcomes[s.name] ? [[s.name, outcomes[s.name]!]] : []))),
      ran,
      failures,
      retryableFailures,
      keptProtections,
      ...(done ? { releasedBy: req.requestedBy, releasedAt: at.toISOString() } : {}),
    };
  } catch (error) {
    if (hasErrorCode(error, 'ConditionalCheckFailedException')) {
      throw new ReleaseRefusedError(incidentId, 'claim-lost', 'another release took this one over (it was idle for too long); nothing more was changed by this run', { cause: error });
    }
    // Leave the release incomplete rather than `releasing`, so a retry need not wait for the claim to go stale.
    const c = classifyError(error);
    await ledger
      .finishRelease(incidentId, claimId, {
        status: 'incomplete',
        now: now(),
        releasedBy: req.requestedBy,
        summary: `release interrupted: ${c.code}: ${c.message.slice(0, 300)}`,
        failures: steps.filter((s) => outcomes[s.name]?.status !== 'done').map((s) => s.name),
        keptProtections: [],
      })
      .catch((e: unknown) => logger.error('Could not mark the interrupted release incomplete', { error: e as Error }));
    throw error;
  }
}

function mismatchOf(record: IncidentRecord, expect: ReleaseRequest['expect']): string | undefined {
  if (!expect) return undefined;
  const checks: Array<[string, string | undefined, string]> = [
    ['resource', expect.resourceId, record.resourceId],
    ['resource type', expect.resourceType, record.resourceType],
    ['account', expect.accountId, record.accountId],
    ['playbook', expect.playbook, record.playbook],
  ];
  const wrong = checks.filter(([, wanted, actual]) => wanted !== undefined && wanted !== actual);
  if (wrong.length === 0) return undefined;
  return wrong.map(([what, wanted, actual]) => `the request names ${what} ${JSON.stringify(String(wanted).slice(0, 128))} but ${record.incidentId} is about ${actual}`).join('; ');
}

function inFlight(release: ReleaseRecord | undefined, now: Date): boolean {
  if (release?.status !== 'releasing') return false;
  return now.getTime() - Date.parse(release.requestedAt) < RELEASE_STALE_AFTER_SECONDS * 1000;
}

function inProgress(record: IncidentRecord): ReleaseRefusedError {
  const r = record.release;
  return new ReleaseRefusedError(
    record.incidentId,
    'in-progress',
    `a release requested by ${r?.requestedBy ?? 'someone'} at ${r?.requestedAt ?? '?'} is running; try again when it has finished (a release idle for ${RELEASE_STALE_AFTER_SECONDS / 60} min may be taken over)`,
  );
}

function alreadyReleased(record: IncidentRecord): ReleaseResult {
  const r = record.release;
  const steps = r?.steps ?? {};
  return {
    incidentId: record.incidentId,
    outcome: 'already-released',
    summary: `already released by ${r?.releasedBy ?? 'a responder'} at ${r?.releasedAt ?? '?'}; nothing was changed`,
    steps,
    ran: [],
    failures: [],
    retryableFailures: [],
    keptProtections: r?.keptProtections ?? [],
    ...(r?.releasedBy ? { releasedBy: r.releasedBy } : {}),
    ...(r?.releasedAt ? { releasedAt: r.releasedAt } : {}),
  };
}

function keptBy(outcome: ReleaseStepOutcome | undefined): string[] {
  const kept = outcome?.data?.keptProtections;
  return Array.isArray(kept) ? kept.filter((k): k is string => typeof k === 'string') : [];
}

/** The incident as the playbook's `describe` and the steps see it, rebuilt from the ledger. */
function incidentOf(r: IncidentRecord): Incident {
  const partition = /^arn:(aws[a-z-]*):/.exec(r.findingArn ?? '')?.[1] ?? 'aws';
  return {
    incidentId: r.incidentId,
    playbook: r.playbook as PlaybookName,
    origin: r.origin === 'manual' ? 'manual' : 'guardduty',
    findingId: r.findingId,
    ...(r.findingArn ? { findingArn: r.findingArn } : {}),
    findingType: r.findingType,
    title: r.title,
    severity: r.severity,
    accountId: r.accountId,
    region: r.region,
    partition,
    resource: { type: r.resourceType, id: r.resourceId, hints: {} },
    archived: false,
    sample: false,
    count: r.findingCount,
    createdAt: r.firstSeenAt,
    updatedAt: r.findingUpdatedAt,
    eventId: r.lastMessageId,
    eventTime: r.eventTime,
    ...(r.ticket ? { ticket: r.ticket } : {}),
    ...(r.requestedBy ? { requestedBy: r.requestedBy } : {}),
    remoteIps: r.remoteIps ?? [],
  };
}

async function runReleaseStep<R>(step: ReleaseStepDefinition<R>, ctx: ReleaseStepContext<R>, before: ReleaseStepOutcome | undefined): Promise<ReleaseStepOutcome> {
  const { retryAfterSeconds: _ignored, ...outcome } = await executeStep(
    { name: step.name, description: step.description, stage: 'release' as const, now: ctx.now, logger: ctx.logger, detailedFailure: true, ...(before ? { before } : {}) },
    () => step.run(ctx),
  );
  return outcome;
}
