import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import { loadClientsFor, type ClientFactory } from '../aws/index.ts';
import { classifyError, hasErrorCode, ReleaseRefusedError, ResourceNotFoundError } from '../errors/index.ts';
import { cleanText, IncidentIdSchema, PrincipalSchema, type Incident, type PlaybookName } from '../findings/index.ts';
import { RELEASE_STALE_AFTER_SECONDS, type IncidentRecord, type Ledger, type ReleaseRecord } from '../ledger/index.ts';
import type { IncidentStatus, ReleaseOutcome, ReleaseVia, StepOutcome } from '../vocabulary/index.ts';
import { executeStep } from './execute.ts';
import { relianceCounter } from './reliance.ts';
import { outputsReader, parseRecorded, releaseNameOf, type AnyPlaybook } from './playbook.ts';
import type { PlaybookTypes, ReleaseContext, ReleaseEntry, ReleaseResult } from './step.ts';

/** The ledger methods a release needs (the real {@link Ledger}, or a fake in tests). */
export type ReleaseLedger = Pick<Ledger, 'get' | 'beginRelease' | 'recordReleaseStep' | 'finishRelease'> & Partial<Pick<Ledger, 'rely' | 'letGo' | 'restored'>>;

/** What a release needs from the outside world; injected, never global. */
export interface ReleaseDeps {
  ledger: ReleaseLedger;
  clientsFor: ClientFactory;
  logger: Logger;
  now?: () => Date;
  /** Finds the playbook an incident is released with (its own). */
  playbookFor(name: PlaybookName): AnyPlaybook | undefined | Promise<AnyPlaybook | undefined>;
}

/** A responder's request to undo the containment of one incident. */
export interface ReleaseRequest {
  incidentId: string;
  /** Why: required, 1-512 characters (control characters become spaces). */
  reason: string;
  /** Put the resource back where containment took it out of (e.g. its Auto Scaling group). */
  reattach: boolean;
  /** Who asked: the caller's ARN (CLI) or the event's `requestedBy`. */
  requestedBy: string;
  via: ReleaseVia;
  /**
   * What the caller believes the incident is about. Any mismatch with the ledger refuses
   * the release before anything changes (a bus event names the resource it means).
   */
  expect?: {
    resourceId?: string;
    resourceType?: string;
    /** The account, or the accounts (a deployment's own and its members), the incident must be in. */
    accountId?: string | readonly string[];
    playbook?: PlaybookName;
  };
}

/** How a release call went. */
export interface ReleaseSummary {
  incidentId: string;
  outcome: ReleaseOutcome;
  /** One sentence for the responder. */
  summary: string;
  /** Every release step's latest outcome (earlier attempts' included). */
  steps: Record<string, StepOutcome>;
  /** The steps this call ran, in order (done steps of earlier attempts are not repeated). */
  ran: string[];
  /** Steps whose latest outcome is failed. */
  failures: string[];
  /** The failed steps a retry may fix (throttling, 5xx). */
  retryableFailures: string[];
  keptProtections: string[];
  releasedBy?: string;
  releasedAt?: string;
  /**
   * The incident's status before this call, and the incident itself: set when this call ran
   * the release (absent when it was already released, and nothing changed). People are told
   * when the outcome is `released`.
   */
  previousStatus?: IncidentStatus;
  incident?: Incident;
}

export const MAX_REASON_LENGTH = 512;

const ReleaseRequestSchema = z.object({
  incidentId: IncidentIdSchema,
  reason: z
    .string({ message: 'reason is required' })
    .transform((s) => cleanText(s, Number.MAX_SAFE_INTEGER).trim())
    .pipe(z.string().min(1, 'reason must not be empty').max(MAX_REASON_LENGTH, `reason must be at most ${MAX_REASON_LENGTH} characters`)),
  reattach: z.boolean(),
  requestedBy: PrincipalSchema,
  via: z.enum(['cli', 'event']),
  expect: z
    .object({ resourceId: z.string().optional(), resourceType: z.string().optional(), accountId: z.union([z.string(), z.array(z.string())]).optional(), playbook: z.string().optional() })
    .optional(),
});

/**
 * Releases a contained incident: restores what containment changed, from what the
 * ledger recorded, with the playbook's release order — each step's undo receives the
 * data that step recorded, typed by its schema. The release is claimed with a conditional
 * write, so two releases never run at once; each step's outcome is recorded; steps done in
 * an earlier, incomplete release are not repeated. An incident already released is left
 * as it is. Evidence is never touched. Throws {@link ReleaseRefusedError} when nothing may
 * be done (unknown incident, another resource than expected, no release steps, another
 * release in flight).
 *
 * @example
 * ```ts
 * const result = await releaseIncident(
 *   { ledger, clientsFor, logger, playbookFor: () => ec2InstancePlaybook },
 *   { incidentId: 'inc-0123456789abcdef', reason: 'false positive: pen test SEC-42', reattach: false, requestedBy: callerArn, via: 'cli' },
 * );
 * result.outcome // 'released'
 * ```
 */
export async function releaseIncident(deps: ReleaseDeps, request: ReleaseRequest): Promise<ReleaseSummary> {
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

  const playbook = await deps.playbookFor(record.playbook);
  const entries = ((playbook ? (await playbook.load()).release : undefined) ?? []) as ReleaseEntry<PlaybookTypes>[];
  if (!playbook || entries.length === 0) {
    throw new ReleaseRefusedError(incidentId, 'not-supported', `the ${record.playbook} playbook has no release steps here: undo its containment by hand`);
  }
  // Read before claiming, so an unreadable capture leaves no claim behind. It is written before
  // any step runs: an incident without one was never changed.
  const capture = playbook.capture.schema.safeParse(record.capture ?? {});
  if (!capture.success) {
    const id = record.incident.resource.id;
    const issues = capture.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ReleaseRefusedError(
      incidentId,
      'not-supported',
      record.capture
        ? `the ledger's capture of ${id} does not match the ${record.playbook} playbook's schema (${issues.join(', ')}): undo its containment by hand`
        : `containment stopped before it captured ${id}, so it changed nothing: there is nothing to release`,
    );
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
  const incident = claimed.incident;
  const logger = deps.logger.createChild({ persistentKeys: { incidentId, resourceId: incident.resource.id, accountId: incident.accountId, release: true } });
  const clients = deps.clientsFor({ accountId: incident.accountId, region: incident.region, incidentId });
  let described: Promise<unknown> | undefined;
  const resource = (): Promise<unknown> =>
    (described ??= loadClientsFor(playbook.describeIamActions).then(() => playbook.describe({ incident, clients, logger })).catch((error: unknown) => {
      if (error instanceof ResourceNotFoundError) return undefined;
      described = undefined;
      throw error;
    }));

  const contained: Record<string, StepOutcome> = claimed.steps ?? {};
  const earlier: Record<string, StepOutcome> = claimed.release?.steps ?? {};
  const outcomes: Record<string, StepOutcome> = { ...earlier };
  const ran: string[] = [];
  const reliance = relianceCounter(ledger, incidentId);
  const base: Omit<ReleaseContext<PlaybookTypes>, 'previous'> = {
    ...outputsReader<PlaybookTypes>(() => contained),
    incident,
    capture: capture.data,
    request: { requestedBy: req.requestedBy, reason: req.reason, reattach: req.reattach, via: req.via },
    resource,
    clients,
    clientsIn: (region) => (region === incident.region ? clients : deps.clientsFor({ accountId: incident.accountId, region, incidentId })),
    logger,
    now,
    released: outcomes,
    ...(reliance ? { reliance } : {}),
  };
  const names = entries.map(releaseNameOf);
  logger.info('Release started', { requestedBy: req.requestedBy, via: req.via, reattach: req.reattach });
  try {
    for (const entry of entries) {
      const name = releaseNameOf(entry);
      const before = earlier[name];
      if (before?.status === 'done') continue;
      const ctx: ReleaseContext<PlaybookTypes> = { ...base, ...(before ? { previous: before } : {}) };
      const description = entry.kind === 'step' ? entry.undo!.description : entry.description;
      const outcome = await executeStep({ name, description, stage: 'release', now, logger, detailedFailure: true, ...(before ? { before } : {}) }, () =>
        runEntry(entry, ctx, contained).then(toReported),
      );
      outcomes[name] = outcome;
      ran.push(name);
      await ledger.recordReleaseStep(incidentId, claimId, name, outcome);
    }
    const failures = names.filter((name) => outcomes[name]?.status === 'failed');
    const retryableFailures = failures.filter((name) => outcomes[name]?.error?.retryable);
    const keptProtections = [...new Set(names.flatMap((name) => keptBy(outcomes[name])))];
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
      steps: Object.fromEntries(names.flatMap((name) => (outcomes[name] ? [[name, outcomes[name]!]] : []))),
      ran,
      failures,
      retryableFailures,
      keptProtections,
      ...(done ? { releasedBy: req.requestedBy, releasedAt: at.toISOString() } : {}),
      previousStatus: claimed.status,
      incident,
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
        failures: names.filter((name) => outcomes[name]?.status !== 'done'),
        keptProtections: [],
      })
      .catch((e: unknown) => logger.error('Could not mark the interrupted release incomplete', { error: e as Error }));
    throw error;
  }
}

/** Runs one release entry: a step's undo with what the step recorded (only when it changed something), or a release action. */
async function runEntry(entry: ReleaseEntry<PlaybookTypes>, ctx: ReleaseContext<PlaybookTypes>, contained: Record<string, StepOutcome>): Promise<ReleaseResult> {
  await loadClientsFor(entry.kind === 'release-action' ? entry.iamActions : (entry.undo?.iamActions ?? []));
  if (entry.kind === 'release-action') return entry.run(ctx);
  const outcome = contained[entry.name];
  if (outcome?.status !== 'done') {
    return { status: 'skipped', summary: `${entry.name} did not change ${ctx.incident.resource.id} (${outcome?.status ?? 'never ran'}): nothing to restore` };
  }
  return entry.undo!.run({ ...ctx, recorded: parseRecorded(entry, outcome.data) });
}

/** A release result as the executor records it: what it kept goes into the data, where the ledger has always kept it. */
const toReported = (r: ReleaseResult) => ({
  status: r.status,
  summary: r.summary,
  ...(r.data || r.keptProtections ? { data: { ...r.data, ...(r.keptProtections ? { keptProtections: r.keptProtections } : {}) } } : {}),
});

function mismatchOf(record: IncidentRecord, expect: ReleaseRequest['expect']): string | undefined {
  if (!expect) return undefined;
  const i = record.incident;
  const checks: Array<[string, string | undefined, string]> = [
    ['resource', expect.resourceId, i.resource.id],
    ['resource type', expect.resourceType, i.resource.type],
    ['account', Array.isArray(expect.accountId) ? (expect.accountId.includes(i.accountId) ? i.accountId : expect.accountId.join(' or ')) : (expect.accountId as string | undefined), i.accountId],
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

function alreadyReleased(record: IncidentRecord): ReleaseSummary {
  const r = record.release;
  return {
    incidentId: record.incidentId,
    outcome: 'already-released',
    summary: `already released by ${r?.releasedBy ?? 'a responder'} at ${r?.releasedAt ?? '?'}; nothing was changed`,
    steps: r?.steps ?? {},
    ran: [],
    failures: [],
    retryableFailures: [],
    keptProtections: r?.keptProtections ?? [],
    ...(r?.releasedBy ? { releasedBy: r.releasedBy } : {}),
    ...(r?.releasedAt ? { releasedAt: r.releasedAt } : {}),
  };
}

function keptBy(outcome: StepOutcome | undefined): string[] {
  const kept = (outcome?.data as { keptProtections?: unknown } | undefined)?.keptProtections;
  return Array.isArray(kept) ? kept.filter((k): k is string => typeof k === 'string') : [];
}
