import type { Logger } from '@aws-lambda-powertools/logger';
import { loadClientsFor, MemberRoleUnavailableError, type ClientFactory } from '../aws/index.ts';
import type { Config } from '../config/index.ts';
import { classifyError, ContainmentIncompleteError, InvalidFindingError, ResourceNotFoundError, StepFailedError } from '../errors/index.ts';
import type { EvidenceStore } from '../evidence/index.ts';
import { budgetOrigin, generationId, generationOf, MANUAL_RESOURCE_TYPES, type HandOffTarget, type Incident } from '../findings/index.ts';
import type { BeginParams, IncidentRecord, Ledger } from '../ledger/index.ts';
import { localPacer, type Pacer } from '../pacing/index.ts';
import type { PauseState } from '../pause/index.ts';
import { modeRank, type GateResult, type IncidentStatus, type StepOutcome } from '../vocabulary/index.ts';
import { executeStep } from './execute.ts';
import { evaluateAccountGate, evaluateFindingGates, evaluateResourceGates } from './gates.ts';
import { outputsReader, type LoadedPlaybook, type Playbook } from './playbook.ts';
import { loadAfterIsolation } from './stages.ts';
import { STAGES } from '../vocabulary/index.ts';
import { relianceCounter } from './reliance.ts';
import { settled } from './settled.ts';
import { patienceFor, retryInPlace, type Patience } from './patience.ts';
import { containmentFirst, leftToFollowUp, stepRunner, yieldsToContainment } from './claims.ts';
import { headStart, ISOLATION_HEAD_START_MS, isolationPath } from './head-start.ts';
import type { AnyStep, PlaybookTypes, StepContext } from './step.ts';

/** The ledger methods containment needs (the real {@link Ledger}, or a fake in tests). */
export type EngineLedger = Pick<Ledger, 'load' | 'begin' | 'recordStep' | 'finish' | 'linkDerived'> &
  Partial<Pick<Ledger, 'relate' | 'rely' | 'letGo' | 'restored' | 'claimStep' | 'recordClaimedStep' | 'finishDeferring'>>;

/** A hand-off as the engine sends it: the step's target and reason, from the incident. */
export type HandOffSender = (request: { target: HandOffTarget; source: Incident; reason: string }) => Promise<{ eventId: string }>;

/** What the engine needs from the outside world; injected, never global. */
export interface EngineDeps<O = unknown> {
  config: Config;
  /** The playbook's options, validated at cold start. */
  options: O;
  clientsFor: ClientFactory;
  ledger: EngineLedger;
  evidence: EvidenceStore;
  logger: Logger;
  now?: () => Date;
  /** Paces rate-limited APIs (default: a pacer local to this process). */
  pacer?: Pacer;
  /** Sends hand-offs on the responders' bus (absent: the deployment has none, and a hand-off step fails saying so). */
  handOff?: HandOffSender;
  /** Set when a responder paused automation (`firebreak pause`): nothing is changed, new incidents are held. */
  paused?: PauseState;
  /** How long describe and containment steps are retried in place (the Lambda's remaining time); shared/engine/patience.ts. */
  patience?: Patience;
  /** When this invocation ends for certain (Lambda's deadline): the steps it claims are its own until then (shared/engine/claims.ts). */
  claimUntil?: Date;
  /** How long the other containment steps wait for the isolation step at most (default {@link ISOLATION_HEAD_START_MS}). */
  isolationHeadStartMs?: number;
}

/** The result of one delivery of one incident. */
export interface DeliveryResult {
  incidentId: string;
  /** The incident acted on: the delivered one, or the containment generation it belongs to (another id). */
  incident: Incident;
  status: IncidentStatus;
  reason: string;
  steps: Record<string, StepOutcome>;
  /**
   * The incident's status before this delivery, as the ledger had it (absent: a new incident,
   * or a finding for another account, whose record is not read). People are told only when
   * `status` differs from it: a redelivery or a follow-up that changes nothing says nothing.
   */
  previousStatus?: IncidentStatus;
  /** Steps are pending: deliver the message again after this many seconds. */
  followUpSeconds?: number;
}

/**
 * Runs one incident through a playbook: the finding's gates (before anything is read
 * from AWS) → describe → the resource's gates → ledger claim (with the blast-radius slot)
 * → containment steps concurrently → evidence → investigation, recording every outcome.
 * Finished steps of earlier deliveries are not repeated. Throws
 * {@link ContainmentIncompleteError} when a containment step failed with a retryable
 * error, so the SQS message is redelivered.
 *
 * @example
 * ```ts
 * const result = await runPlaybook(deps, ec2InstancePlaybook, incident, { messageId });
 * result.status // 'contained'
 * ```
 */
export async function runPlaybook<T extends PlaybookTypes>(
  deps: EngineDeps<T['options']>,
  playbook: Playbook<T>,
  delivered: Incident,
  delivery: { messageId: string; senderId?: string },
): Promise<DeliveryResult> {
  // Reassigned once the containment generation is known: every write below is about it.
  let incident = delivered;
  const { config, ledger, logger } = deps;
  const now = deps.now ?? (() => new Date());
  if (incident.playbook !== playbook.name) {
    throw new InvalidFindingError([`finding is for the ${incident.playbook} playbook, but this function runs ${playbook.name}: check the EventBridge rule`]);
  }

  // Set once the ledger's record has been read: every result reports it as the status before.
  let previousStatus: IncidentStatus | undefined;
  // Concurrent deliveries of this incident: each step runs in one of them at a time.
  const stepsRun = stepRunner(ledger, { now, logger, ...(deps.claimUntil ? { claimUntil: deps.claimUntil } : {}) });
  const finish = async (status: IncidentStatus, reason: string, steps: Record<string, StepOutcome>, isolatedAt?: string): Promise<DeliveryResult> => {
    await stepsRun.finish(incident.incidentId, status, reason, now(), isolatedAt);
    logger[status === 'failed' || status === 'retrying' ? 'error' : 'info']('Incident delivery finished', { status, reason });
    return { incidentId: incident.incidentId, incident, status, reason, steps, ...(previousStatus ? { previousStatus } : {}) };
  };
  const open = (gates: GateResult[], capture?: Record<string, unknown>, blastRadius?: BeginParams['blastRadius']) =>
    ledger.begin({ incident, mode: config.mode, messageId: delivery.messageId, ...(delivery.senderId ? { senderId: delivery.senderId } : {}), now: now(), gates, ...(capture ? { capture } : {}), ...(blastRadius ? { blastRadius } : {}) });
  /**
   * A finding archived or re-published after containment (finished or under way) never undoes it, and an incident whose
   * containment failed stays failed (a responder must act): only what never acted is skipped.
   */
  const notActing = (record: IncidentRecord | undefined, reason: string, steps: Record<string, StepOutcome>, otherwise: IncidentStatus = 'skipped') =>
    finish(record?.status === 'contained' || record?.status === 'containing' || record?.status === 'failed' ? record.status : otherwise, reason, steps);
  /** A delivery decided before anything is read from AWS (the finding's gates, the kill switch): it only records. */
  const beforeReading = async (gates: GateResult[], reason: string, otherwise: IncidentStatus) => {
    const { record } = await ledger.load(incident.incidentId, incident.accountId, budgetOrigin(incident));
    previousStatus = record?.status;
    if (record?.status === 'released') return stillReleased(record, findingGates);
    await open(gates);
    return notActing(record, reason, record?.steps ?? {}, otherwise);
  };
  // A released incident stays released: GuardDuty keeps re-publishing an active finding (and
  // publishes it archived or updated), and re-containing what a responder deliberately
  // released would undo their decision.
  const stillReleased = async (record: IncidentRecord, gates: GateResult[]) => {
    const r = record.release;
    await open([...gates, { gate: 'not-released', passed: false, reason: 'the incident was released' }]);
    return finish(
      'released',
      `released by ${r?.releasedBy ?? 'a responder'} at ${r?.releasedAt ?? '?'}; this delivery changed nothing (GuardDuty reports no activity after the release: activity after it opens a new containment generation; or send a new manual finding to contain again)`,
      record.steps,
    );
  };

  // An account this deployment does not act in: recorded, nothing read or changed anywhere.
  const accountGate = evaluateAccountGate(config, incident);
  if (!accountGate.passed) {
    await open([accountGate]);
    return finish('skipped', accountGate.reason, {});
  }

  // Every delivery of a finding is about its latest containment generation.
  const latest = await latestGeneration(ledger, incident);
  incident = latest.incident;

  // Decided by the finding alone: nothing is read from AWS for a sample or a denied type.
  // In a member account the record says so (which authority acted); in its own it says nothing new.
  const findingGates = [...(incident.accountId !== config.accountId ? [accountGate] : []), ...evaluateFindingGates(config, incident)];
  if (findingGates.some((g) => !g.passed)) return beforeReading(findingGates, `no action: ${failedReasons(findingGates)}`, 'skipped');

  // Released, and GuardDuty has seen the activity again since: a new incident (the next
  // generation), linked both ways to the released one. A re-publication without new activity
  // leaves the released incident released.
  if (latest.record?.status === 'released' && activityAfterRelease(incident, latest.record)) {
    const next = nextGeneration(incident, latest.record);
    await ledger.linkDerived(latest.record.incidentId, next.incidentId, { kind: 'generation', at: now().toISOString() });
    logger.info('Activity after the release: a new containment generation', { releasedIncidentId: latest.record.incidentId, incidentId: next.incidentId, activityLastSeenAt: incident.activityLastSeenAt });
    incident = next;
  }

  // The kill switch: a paused deployment reads nothing from AWS and changes nothing. What was
  // contained stays contained (pausing never undoes); anything else is held until automation
  // resumes and GuardDuty publishes the finding again.
  if (deps.paused?.paused) {
    const p = deps.paused;
    const reason = `Firebreak is paused${p.by ? ` by ${p.by}` : ''}${p.at ? ` since ${p.at}` : ''}${p.reason ? ` (${p.reason})` : ''}: nothing was changed; after \`firebreak resume\` the finding is acted on when it is published again`;
    return beforeReading([...findingGates, { gate: 'not-paused', passed: false, reason }], reason, 'held');
  }

  // Contained, every step final: a redrive, a re-publication or a duplicate only counts the delivery.
  // (Only a contained record loads the later stages here: a new incident's isolation waits for nothing.)
  if (latest.record?.status === 'contained' && settled((await playbook.load()).steps, latest.record)) {
    previousStatus = latest.record!.status;
    await open(latest.record!.gates ?? findingGates);
    logger.info('Incident already contained and every step final: this delivery changed nothing', { incidentId: incident.incidentId });
    return { incidentId: incident.incidentId, incident, status: 'contained', reason: latest.record!.statusReason ?? 'contained', steps: latest.record!.steps, previousStatus };
  }

  // In a member account the clients act through its member role, the incident id in the session name.
  const clients = deps.clientsFor({ accountId: incident.accountId, region: incident.region, incidentId: incident.incidentId });
  const [loaded, described] = await Promise.all([
    ledger.load(incident.incidentId, incident.accountId, budgetOrigin(incident)),
    retryInPlace(
      deps.patience,
      logger,
      'describe',
      () =>
        loadClientsFor(playbook.describeIamActions).then(() => playbook.describe({ incident, clients, logger, options: deps.options })).then(
          (resource) => ({ ok: true as const, resource }),
          (error: unknown) => ({ ok: false as const, error }),
        ),
      (r) => !r.ok && !(r.error instanceof ResourceNotFoundError) && classifyError(r.error).retryable,
    ),
  ]);
  const previous: Record<string, StepOutcome> = loaded.record?.steps ?? {};
  previousStatus = loaded.record?.status;

  if (loaded.record?.status === 'released') return stillReleased(loaded.record, findingGates);

  if (!described.ok) {
    const c = classifyError(described.error);
    const notFound = described.error instanceof ResourceNotFoundError;
    // A member role that cannot be assumed is said as such: nothing could be read in that account.
    const noRole = described.error instanceof MemberRoleUnavailableError;
    const reason = notFound
      ? `${incident.resource.id} was not found in ${incident.accountId}/${incident.region}: nothing to contain`
      : noRole
        ? `nothing was read or changed: ${c.message}`
        : `could not describe ${incident.resource.id}: ${c.code}: ${c.message}`;
    await open([...findingGates, { gate: noRole ? 'member-role' : 'resource-exists', passed: false, reason }]);
    if (!notFound && c.retryable) {
      await finish('retrying', reason, previous);
      throw new ContainmentIncompleteError(incident.incidentId, ['describe']);
    }
    return finish(notFound ? 'skipped' : 'failed', reason, previous);
  }

  const resource = described.resource;
  const capture = loaded.record?.capture ?? { ...playbook.capture.of(resource), capturedAt: now().toISOString() };
  // The capture is what release restores from: one the playbook cannot read is a record a
  // person must look at, before anything is changed (and before a blast-radius slot is taken).
  const typedCapture = playbook.capture.schema.safeParse(capture);
  if (!typedCapture.success) {
    const reason = `the ledger's capture of ${incident.resource.id} does not match the ${playbook.name} playbook's schema (${typedCapture.error.issues
      .slice(0, 3)
      .map((i) => `${i.path.join('.') || '(capture)'}: ${i.message}`)
      .join('; ')}): nothing was changed; a responder must look at the record`;
    await open([...findingGates, { gate: 'capture-readable', passed: false, reason }]);
    return finish('failed', reason, previous);
  }
  const gates = [
    ...findingGates,
    ...evaluateResourceGates(config, {
      tags: playbook.tags(resource),
      identifiers: playbook.identifiers(incident, resource),
      principals: playbook.principals(incident, resource),
    }),
  ];
  if (gates.some((g) => !g.passed)) {
    await open(gates, capture);
    return notActing(loaded.record, `no action: ${failedReasons(gates)}`, previous);
  }

  if (config.mode === 'observe') {
    await open(gates, capture);
    const planned: Record<string, StepOutcome> = {};
    await Promise.all(
      (await playbook.load()).steps.map(async (step) => {
        if (previous[step.name]?.status === 'done') return;
        planned[step.name] = plannedOutcome(step, config.mode);
        await ledger.recordStep(incident.incidentId, step.name, planned[step.name]!);
      }),
    );
    return finish('planned', 'observe mode: every step was planned and recorded; nothing was changed', { ...previous, ...planned });
  }

  // An incident that took a slot once never needs another: follow-ups and re-publications
  // of a contained finding must not be held by the limit they already count towards.
  const slot = loaded.record?.blastRadiusSlotAt ? await open(gates, capture) : await open(gates, capture, { ...config.blastRadius, window: loaded.window });
  const storm = containmentFirst(loaded.window, now().getTime(), slot === 'taken');
  if (slot === 'limit-reached') {
    return finish(
      'held',
      `blast-radius limit reached: ${config.blastRadius.limit} containments in ${config.blastRadius.windowSeconds}s of ${budgetOrigin(incident)} incidents in account ${incident.accountId}; nothing was changed (the finding is re-evaluated when it is published again)`,
      previous,
    );
  }

  const outcomes: Record<string, StepOutcome> = { ...previous };
  const pacer = deps.pacer ?? localPacer();
  const outputs = outputsReader<T>(() => outcomes);
  const reliance = relianceCounter(deps.ledger, incident.incidentId);
  const ctxFor = (step: AnyStep<T>): StepContext<T, unknown> => {
    const before = previous[step.name];
    return {
      ...outputs,
      incident,
      resource,
      capture: typedCapture.data,
      options: deps.options,
      clients,
      clientsIn: (region) => (region === incident.region ? clients : deps.clientsFor({ accountId: incident.accountId, region, incidentId: incident.incidentId })),
      evidence: deps.evidence,
      config,
      logger,
      now,
      pacer,
      handOff: (target, reason) => {
        if (!deps.handOff) {
          return Promise.reject(
            new StepFailedError(step.name, 'NoRespondersBus', `cannot hand ${target.resourceType} ${target.id} over: this deployment has no responders' bus (FIREBREAK_RESPONDERS_BUS)`, { retryable: false }),
          );
        }
        const receiver = handOffPlaybook(target);
        if (config.deployedPlaybooks && (!receiver || !config.deployedPlaybooks.includes(receiver))) {
          return Promise.reject(
            new StepFailedError(
              step.name,
              'HandOffUndeliverable',
              `cannot hand ${target.resourceType} ${target.id} over: the ${receiver ?? 'receiving'} playbook is not deployed here (playbooks["${receiver ?? '?'}"].enabled = false), so nothing would contain it — a responder must`,
              { retryable: false },
            ),
          );
        }
        return deps.handOff({ target, source: incident, reason });
      },
      relate: async (key) => (deps.ledger.relate ? deps.ledger.relate(key, incident.incidentId) : []),
      ...(reliance ? { reliance } : {}),
      ...(before ? { previous: { ...before, data: step.data.safeParse(before.data).data } } : {}),
    };
  };
  let later: Promise<LoadedPlaybook<T>> | undefined;
  for (const stage of STAGES) {
    if (yieldsToContainment(stage, outcomes, logger)) break;
    const steps = (stage === 'contain' ? playbook.containmentSteps : (await later!).steps).filter((s) => s.stage === stage);
    // Steps of a stage run concurrently, except that a step that requires or comes after
    // another step of the same stage starts when that one has finished (memory before the
    // volatile-data commands that would disturb it).
    const finished = new Map<AnyStep<T>, Promise<void>>();
    // Isolation first (shared/engine/head-start.ts): the other containment steps give it a head start.
    const onIsolationPath = stage === 'contain' && steps.includes(playbook.isolationStep) ? isolationPath(playbook.isolationStep, steps) : undefined;
    let isolationSettled: () => void = () => undefined;
    const isolationFinished = new Promise<void>((resolve) => (isolationSettled = resolve));
    const gate = onIsolationPath && previous[playbook.isolationStep.name]?.status !== 'done' ? headStart(isolationFinished, deps.isolationHeadStartMs ?? ISOLATION_HEAD_START_MS) : undefined;
    for (const step of steps) {
      const sameStage = [...step.requires, ...step.after].flatMap((s) => (finished.has(s) ? [finished.get(s)!] : []));
      if (gate && !onIsolationPath!.has(step)) sameStage.push(gate);
      finished.set(
        step,
        Promise.all(sameStage).then(async () => {
          if (previous[step.name]?.status === 'done') return;
          if (storm && stage !== 'contain') return void (outcomes[step.name] = leftToFollowUp(step, config.followUp.delaySeconds));
          outcomes[step.name] = await stepsRun.run(incident.incidentId, step, async (current) => {
            // What another delivery recorded since this one read the record (a pending snapshot's ids).
            if (current) previous[step.name] = current;
            const before = previous[step.name];
            return modeRank(config.mode) < modeRank(step.minimumMode)
              ? skippedForMode(step, config.mode)
              : (waitingOn(step, outcomes) ??
                  boundPending(
                    // Retried in place while time allows: containment first (evidence runs after it, never ahead).
                    await retryInPlace(
                      patienceFor(step.stage, deps.patience).patience,
                      logger,
                      step.name,
                      // `attempts` counts deliveries (what boundPending bounds); tries in place are logged.
                      () => executeStep({ name: step.name, description: step.description, stage: step.stage, now, logger, ...(before ? { before } : {}) }, () => loadClientsFor(step.iamActions).then(() => step.run(ctxFor(step)))),
                      patienceFor(step.stage, deps.patience).shouldRetry,
                    ),
                    config.followUp.maxAttempts,
                  ));
          });
        }),
      );
    }
    finished.get(playbook.isolationStep)?.then(isolationSettled, isolationSettled);
    later ??= loadAfterIsolation(playbook, finished);
    await Promise.all(finished.values());
  }

  const { steps: allSteps } = await later!;
  const named = (filter: (s: AnyStep<T>) => boolean) => allSteps.filter(filter).map((s) => s.name);
  const statusOf = (s: AnyStep<T>) => outcomes[s.name]?.status;
  const containFailures = named((s) => s.stage === 'contain' && statusOf(s) === 'failed');
  const isolation = outcomes[playbook.isolationStep.name];
  const isolatedAt = isolation?.status === 'done' ? isolation.finishedAt : undefined;
  const laterFailures = named((s) => s.stage !== 'contain' && statusOf(s) === 'failed');
  const pending = named((s) => statusOf(s) === 'pending');
  const followUpSeconds = pending.length
    ? Math.min(...pending.map((name) => outcomes[name]?.retryAfterSeconds ?? config.followUp.delaySeconds), config.followUp.delaySeconds)
    : undefined;
  const evidenceNote =
    (laterFailures.length ? `; evidence steps failed: ${laterFailures.join(', ')}` : '') +
    (pending.length ? `; waiting on: ${pending.join(', ')} (looked at again in ${followUpSeconds}s)` : '');
  const retryable = containFailures.filter((name) => outcomes[name]?.error?.retryable);
  if (retryable.length > 0) {
    await finish('retrying', `containment steps failed with retryable errors: ${retryable.join(', ')}${evidenceNote}`, outcomes, isolatedAt);
    throw new ContainmentIncompleteError(incident.incidentId, retryable);
  }
  const containPending = named((s) => s.stage === 'contain' && statusOf(s) === 'pending');
  const result =
    containFailures.length > 0
      ? await finish('failed', `containment steps failed permanently (a responder must act): ${containFailures.join(', ')}${evidenceNote}`, outcomes, isolatedAt)
      : containPending.length > 0
        ? await finish('containing', `containing: ${containPending.join(', ')} not finished yet${evidenceNote}`, outcomes, isolatedAt)
        : await finish('contained', `contained${evidenceNote || '; evidence complete'}`, outcomes, isolatedAt);
  return followUpSeconds === undefined ? result : { ...result, followUpSeconds };
}

/** The playbook a hand-off's target reaches (as the responders' rules route it), or undefined. */
const handOffPlaybook = (target: HandOffTarget): string | undefined =>
  Object.prototype.hasOwnProperty.call(MANUAL_RESOURCE_TYPES, target.resourceType) ? MANUAL_RESOURCE_TYPES[target.resourceType] : undefined;

/** Generations a finding may open before the engine stops following the chain (a loop guard, far above any real case). */
const MAX_GENERATIONS = 1000;

/**
 * The latest containment generation of a delivered incident: follows `nextGeneration` from the
 * id the finding maps to. Returns the incident re-keyed to that generation, with its record.
 */
async function latestGeneration(ledger: EngineLedger, incident: Incident): Promise<{ incident: Incident; record?: IncidentRecord }> {
  let current = incident;
  let { record } = await ledger.load(current.incidentId, current.accountId, budgetOrigin(current));
  for (let hops = 0; record?.nextGeneration && hops < MAX_GENERATIONS; hops++) {
    const id = record.nextGeneration;
    current = { ...incident, incidentId: id, generation: generationOf(id), derivedFrom: { kind: 'generation', incidentId: record.incidentId } };
    record = (await ledger.load(id, current.accountId, budgetOrigin(current))).record;
  }
  return { incident: current, ...(record ? { record } : {}) };
}

/** GuardDuty saw the activity after the incident was released (`service.eventLastSeen` later than `releasedAt`). */
export function activityAfterRelease(incident: Pick<Incident, 'activityLastSeenAt'>, record: Pick<IncidentRecord, 'release'>): boolean {
  const seen = Date.parse(incident.activityLastSeenAt ?? '');
  const released = Date.parse(record.release?.releasedAt ?? '');
  return Number.isFinite(seen) && Number.isFinite(released) && seen > released;
}

/** The generation after a released one: its own id (`…-g<n>`), derived from it. */
function nextGeneration(incident: Incident, released: IncidentRecord): Incident {
  const generation = generationOf(released.incidentId) + 1;
  return { ...incident, incidentId: generationId(released.incidentId, generation), generation, derivedFrom: { kind: 'generation', incidentId: released.incidentId } };
}

const failedReasons = (gates: GateResult[]) =>
  gates
    .filter((g) => !g.passed)
    .map((g) => g.reason)
    .join('; ');

/** A step whose prerequisites have not finished waits (pending) or, if one failed, is skipped. */
function waitingOn<T extends PlaybookTypes>(step: AnyStep<T>, outcomes: Record<string, StepOutcome>): StepOutcome | undefined {
  const status = (s: AnyStep<T>) => outcomes[s.name]?.status ?? '';
  const failed = step.requires.filter((s) => status(s) === 'failed').map((s) => s.name);
  if (failed.length) {
    return { stage: step.stage, status: 'skipped', summary: `${step.description}: not run because ${failed.join(', ')} failed`, attempts: 0, data: { waitingOn: failed } };
  }
  const unfinished = [
    ...step.requires.filter((s) => !['done', 'skipped'].includes(status(s))),
    ...step.after.filter((s) => !['done', 'skipped', 'failed'].includes(status(s))),
  ].map((s) => s.name);
  if (unfinished.length) {
    return { stage: step.stage, status: 'pending', summary: `${step.description}: waiting for ${unfinished.join(', ')}`, attempts: 0, data: { waitingOn: unfinished } };
  }
  return undefined;
}

/** A step pending for more than `maxAttempts` deliveries gives up, with a failure a responder sees. */
function boundPending(outcome: StepOutcome, maxAttempts: number): StepOutcome {
  if (outcome.status !== 'pending' || outcome.attempts < maxAttempts) return outcome;
  return {
    ...outcome,
    status: 'failed',
    summary: `${outcome.summary} — gave up after ${outcome.attempts} attempts`,
    error: { code: 'PendingTooLong', message: `still pending after ${outcome.attempts} attempts`, retryable: false, unsupported: false },
  };
}

function plannedOutcome<T extends PlaybookTypes>(step: AnyStep<T>, mode: string): StepOutcome {
  return {
    stage: step.stage,
    status: 'planned',
    summary: `${step.description} (planned in ${mode} mode${step.minimumMode === 'full' ? '; runs only in full mode' : ''})`,
    attempts: 0,
    data: { iamActions: [...step.iamActions] },
  };
}

function skippedForMode<T extends PlaybookTypes>(step: AnyStep<T>, mode: string): StepOutcome {
  return { stage: step.stage, status: 'skipped', summary: `${step.description}: runs only in ${step.minimumMode} mode (current mode: ${mode})`, attempts: 0 };
}
