import type { Logger } from '@aws-lambda-powertools/logger';
import type { ClientFactory } from '../aws/index.ts';
import type { Config } from '../config/index.ts';
import { classifyError, ContainmentIncompleteError, InvalidFindingError, ResourceNotFoundError } from '../errors/index.ts';
import type { EvidenceStore } from '../evidence/index.ts';
import type { Incident } from '../findings/index.ts';
import type { IncidentRecord, Ledger } from '../ledger/index.ts';
import { executeStep } from './execute.ts';
import { evaluateGates, type GateResult } from './gates.ts';
import type { IncidentStatus, Playbook, StepContext, StepDefinition, StepOutcome } from './types.ts';

/** What the engine needs from the outside world; injected, never global. */
export interface EngineDeps {
  config: Config;
  clientsFor: ClientFactory;
  ledger: Ledger;
  evidence: EvidenceStore;
  logger: Logger;
  now?: () => Date;
}

/** The result of one delivery of one incident. */
export interface DeliveryResult {
  incidentId: string;
  status: IncidentStatus;
  reason: string;
  steps: Record<string, StepOutcome>;
  /** Steps are pending: deliver the message again after this many seconds. */
  followUpSeconds?: number;
}

const MODE_RANK = { observe: 0, contain: 1, full: 2 } as const;

/**
 * Runs one incident through a playbook: describe → safety gates → ledger claim
 * (with the blast-radius slot) → containment steps concurrently → evidence steps
 * concurrently, recording every outcome. Finished steps of earlier deliveries are
 * not repeated. Throws {@link ContainmentIncompleteError} when a containment step
 * failed with a retryable error, so the SQS message is redelivered.
 *
 * @example
 * ```ts
 * const result = await runPlaybook(deps, ec2InstancePlaybook, incident, { messageId });
 * result.status // 'contained'
 * ```
 */
export async function runPlaybook<R>(
  deps: EngineDeps,
  playbook: Playbook<R>,
  incident: Incident,
  delivery: { messageId: string },
): Promise<DeliveryResult> {
  const { config, ledger, logger } = deps;
  const now = deps.now ?? (() => new Date());
  if (incident.playbook !== playbook.name) {
    throw new InvalidFindingError([`finding is for the ${incident.playbook} playbook, but this function runs ${playbook.name}: check the EventBridge rule`]);
  }

  const finish = async (status: IncidentStatus, reason: string, steps: Record<string, StepOutcome>, isolatedAt?: string): Promise<DeliveryResult> => {
    await ledger.finish(incident.incidentId, status, reason, now(), isolatedAt);
    logger[status === 'failed' || status === 'retrying' ? 'error' : 'info']('Incident delivery finished', { status, reason });
    return { incidentId: incident.incidentId, status, reason, steps };
  };
  const open = (gates: GateResult[], capture?: Record<string, unknown>, blastRadius?: Parameters<Ledger['begin']>[0]['blastRadius']) =>
    ledger.begin({ incident, mode: config.mode, messageId: delivery.messageId, now: now(), gates, ...(capture ? { capture } : {}), ...(blastRadius ? { blastRadius } : {}) });

  if (incident.accountId !== config.accountId) {
    const reason = `the finding is for account ${incident.accountId}; this deployment acts only in account ${config.accountId} (deploy Firebreak in that account)`;
    await open([{ gate: 'same-account', passed: false, reason }]);
    return finish('skipped', reason, {});
  }

  const clients = deps.clientsFor({ accountId: incident.accountId, region: incident.region });
  const [loaded, described] = await Promise.all([
    ledger.load(incident.incidentId, incident.accountId),
    playbook.describe({ incident, clients, logger }).then(
      (resource) => ({ ok: true as const, resource }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
  ]);
  const previous: Record<string, StepOutcome> = loaded.record?.steps ?? {};

  // A released incident stays released: GuardDuty keeps re-publishing an active finding,
  // and re-containing what a responder deliberately released would undo their decision.
  if (loaded.record?.status === 'released') {
    const r = loaded.record.release;
    await open([{ gate: 'not-released', passed: false, reason: 'the incident was released' }]);
    return finish(
      'released',
      `released by ${r?.releasedBy ?? 'a responder'} at ${r?.releasedAt ?? '?'}; this delivery changed nothing (archive the finding, or send a new manual finding to contain again)`,
      previous,
    );
  }

  if (!described.ok) {
    const c = classifyError(described.error);
    const notFound = described.error instanceof ResourceNotFoundError;
    const reason = notFound ? `${incident.resource.id} was not found in ${incident.accountId}/${incident.region}: nothing to contain` : `could not describe ${incident.resource.id}: ${c.code}: ${c.message}`;
    await open([{ gate: 'resource-exists', passed: false, reason }]);
    if (!notFound && c.retryable) {
      await finish('retrying', reason, previous);
      throw new ContainmentIncompleteError(incident.incidentId, ['describe']);
    }
    return finish(notFound ? 'skipped' : 'failed', reason, previous);
  }

  const resource = described.resource;
  const capture = loaded.record?.capture ?? { ...playbook.capture(resource), capturedAt: now().toISOString() };
  const gates = evaluateGates(config, incident, {
    tags: playbook.tags(resource),
    identifiers: playbook.identifiers(incident, resource),
    principals: playbook.principals(incident, resource),
  });
  const failedGates = gates.filter((g) => !g.passed);
  if (failedGates.length > 0) {
    await open(gates, capture);
    const reason = failedGates.map((g) => g.reason).join('; ');
    // A finding archived or re-published after containment never undoes it.
    const status = loaded.record?.status === 'contained' ? 'contained' : 'skipped';
    return finish(status, `no action: ${reason}`, previous);
  }

  const ctx: StepContext<R> = { incident, resource, capture, clients, evidence: deps.evidence, config, logger, now, outcomes: previous };

  if (config.mode === 'observe') {
    await open(gates, capture);
    const planned: Record<string, StepOutcome> = {};
    await Promise.all(
      playbook.steps.map(async (step) => {
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
  if (slot === 'limit-reached') {
    return finish(
      'held',
      `blast-radius limit reached: ${config.blastRadius.limit} containments in ${config.blastRadius.windowSeconds}s in account ${incident.accountId}; nothing was changed (the finding is re-evaluated when it is published again)`,
      previous,
    );
  }

  const outcomes: Record<string, StepOutcome> = { ...previous };
  const ctxFor = (step: StepDefinition<R>): StepContext<R> => ({ ...ctx, outcomes, ...(previous[step.name] ? { previous: previous[step.name] } : {}) });
  for (const stage of ['contain', 'evidence', 'investigate'] as const) {
    const steps = playbook.steps.filter((s) => s.stage === stage);
    // Steps of a stage run concurrently, except that a step whose `requires`/`after` names
    // another step of the same stage starts when that one has finished (memory before the
    // volatile-data commands that would disturb it).
    const finished = new Map<string, Promise<void>>();
    for (const step of steps) {
      const sameStage = [...(step.requires ?? []), ...(step.after ?? [])].flatMap((name) => (finished.has(name) ? [finished.get(name)!] : []));
      finished.set(
        step.name,
        Promise.all(sameStage).then(async () => {
          const before = previous[step.name];
          if (before?.status === 'done') return;
          const outcome = MODE_RANK[config.mode] < MODE_RANK[step.minimumMode ?? 'contain']
            ? skippedForMode(step, config.mode)
            : (waitingOn(step, outcomes) ?? boundPending(await runStep(step, ctxFor(step), before), config.followUp.maxAttempts));
          outcomes[step.name] = outcome;
          await ledger.recordStep(incident.incidentId, step.name, outcome);
        }),
      );
    }
    await Promise.all(finished.values());
  }

  const containFailures = playbook.steps.filter((s) => s.stage === 'contain' && outcomes[s.name]?.status === 'failed');
  const isolatedAt = outcomes[playbook.isolationStep]?.status === 'done' ? outcomes[playbook.isolationStep]?.finishedAt : undefined;
  const laterFailures = playbook.steps.filter((s) => s.stage !== 'contain' && outcomes[s.name]?.status === 'failed').map((s) => s.name);
  const pending = playbook.steps.filter((s) => outcomes[s.name]?.status === 'pending');
  const followUpSeconds = pending.length
    ? Math.min(...pending.map((s) => outcomes[s.name]?.retryAfterSeconds ?? config.followUp.delaySeconds), config.followUp.delaySeconds)
    : undefined;
  const evidenceNote =
    (laterFailures.length ? `; evidence steps failed: ${laterFailures.join(', ')}` : '') +
    (pending.length ? `; waiting on: ${pending.map((s) => s.name).join(', ')} (looked at again in ${followUpSeconds}s)` : '');
  const retryable = containFailures.filter((s) => outcomes[s.name]?.error?.retryable).map((s) => s.name);
  if (retryable.length > 0) {
    await finish('retrying', `containment steps failed with retryable errors: ${retryable.join(', ')}${evidenceNote}`, outcomes, isolatedAt);
    throw new ContainmentIncompleteError(incident.incidentId, retryable);
  }
  const withFollowUp = (r: DeliveryResult): DeliveryResult => (followUpSeconds === undefined ? r : { ...r, followUpSeconds });
  if (containFailures.length > 0) {
    return withFollowUp(
      await finish('failed', `containment steps failed permanently (a responder must act): ${containFailures.map((s) => s.name).join(', ')}${evidenceNote}`, outcomes, isolatedAt),
    );
  }
  return withFollowUp(await finish('contained', `contained${evidenceNote || '; evidence complete'}`, outcomes, isolatedAt));
}

/** A step whose prerequisites have not finished waits (pending) or, if one failed, is skipped. */
function waitingOn<R>(step: StepDefinition<R>, outcomes: Record<string, StepOutcome>): StepOutcome | undefined {
  const required = step.requires ?? [];
  const failed = required.filter((name) => outcomes[name]?.status === 'failed');
  if (failed.length) {
    return { stage: step.stage, status: 'skipped', summary: `${step.description}: not run because ${failed.join(', ')} failed`, attempts: 0, data: { waitingOn: failed } };
  }
  const unfinished = [
    ...required.filter((name) => !['done', 'skipped'].includes(outcomes[name]?.status ?? '')),
    ...(step.after ?? []).filter((name) => !['done', 'skipped', 'failed'].includes(outcomes[name]?.status ?? '')),
  ];
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

function runStep<R>(step: StepDefinition<R>, ctx: StepContext<R>, before: StepOutcome | undefined): Promise<StepOutcome> {
  return executeStep({ name: step.name, description: step.description, stage: step.stage, now: ctx.now, logger: ctx.logger, ...(before ? { before } : {}) }, () => step.run(ctx));
}

function plannedOutcome<R>(step: StepDefinition<R>, mode: string): StepOutcome {
  return {
    stage: step.stage,
    status: 'planned',
    summary: `${step.description} (planned in ${mode} mode${step.minimumMode === 'full' ? '; runs only in full mode' : ''})`,
    attempts: 0,
    data: { iamActions: [...step.iamActions] },
  };
}

function skippedForMode<R>(step: StepDefinition<R>, mode: string): StepOutcome {
  return { stage: step.stage, status: 'skipped', summary: `${step.description}: runs only in ${step.minimumMode} mode (current mode: ${mode})`, attempts: 0 };
}

/** Every IAM action a playbook may call (containment and release), for the generated Lambda role policy. */
export function iamActionsOf<R>(playbook: Playbook<R>, platform: readonly string[]): string[] {
  return [...new Set([...platform, ...playbook.describeIamActions, ...[...playbook.steps, ...(playbook.release ?? [])].flatMap((s) => s.iamActions)])].sort();
}

export type { IncidentRecord };
