/**
 * Concurrent deliveries of one incident (SQS delivers at least once; GuardDuty re-publishes a
 * finding): every step runs in one delivery at a time, under a claim in the ledger
 * (shared/ledger/step-claims.ts). A delivery that finds a step claimed by another live
 * delivery leaves it to that one — recording nothing about it, and looking again in a
 * follow-up — and one that finds it finished uses its outcome. And when AWS throttles
 * containment, evidence work waits for the redelivery instead of spending the same
 * account's API rate that other incidents' isolation needs.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Ledger, StepClaim } from '../ledger/index.ts';
import type { IncidentStatus, Stage, StepOutcome } from '../vocabulary/index.ts';

/** The ledger methods of step claims (the engine runs without claims on a ledger that lacks them, as test fakes do). */
export type ClaimingLedger = Pick<Ledger, 'recordStep' | 'finish'> & Partial<Pick<Ledger, 'claimStep' | 'recordClaimedStep' | 'finishDeferring'>>;

/**
 * How long a claim lasts when the invocation's deadline is not known: Lambda's longest
 * timeout, which no invocation outlives.
 */
export const DEFAULT_CLAIM_SECONDS = 900;

/** What a step is, as a claim reports it. */
export interface ClaimedStep {
  name: string;
  stage: Stage;
  description: string;
}

/** Runs a delivery's steps under claims and finishes it knowing whether its view was partial. */
export interface StepRunner {
  /**
   * Decides and records `step`'s outcome under its claim; `decide` gets the step's outcome as
   * the ledger had it when claimed (fresher than the delivery's first read). When another live delivery holds
   * the step, returns a `pending` outcome that is not recorded; when the step is finished,
   * returns the finished outcome (recorded by whoever finished it).
   */
  run(incidentId: string, step: ClaimedStep, decide: (current?: StepOutcome) => Promise<StepOutcome>): Promise<StepOutcome>;
  /** Writes the delivery's status: a delivery that left steps to others never overwrites a settled status. */
  finish(incidentId: string, status: IncidentStatus, reason: string, now: Date, isolatedAt?: string): Promise<void>;
  /** The steps this delivery left to other deliveries. */
  readonly deferred: readonly string[];
}

export interface StepRunnerOptions {
  now: () => Date;
  logger: Logger;
  /** When this invocation ends for certain (Lambda's deadline): claims last until then. */
  claimUntil?: Date;
  /** This delivery's identity in claims (default: a random one; never the message id, which two deliveries share). */
  holder?: string;
}

/**
 * The step runner of one delivery: with claims when the ledger has them.
 *
 * @example
 * ```ts
 * const steps = stepRunner(ledger, { now, logger, claimUntil });
 * const outcome = await steps.run(incident.incidentId, step, () => executeStep(...));
 * ```
 */
export function stepRunner(ledger: ClaimingLedger, opts: StepRunnerOptions): StepRunner {
  const deferred: string[] = [];
  const { claimStep, recordClaimedStep, finishDeferring } = ledger;
  if (!claimStep || !recordClaimedStep || !finishDeferring) {
    return {
      deferred,
      run: async (incidentId, step, decide) => {
        const outcome = await decide();
        await ledger.recordStep(incidentId, step.name, outcome);
        return outcome;
      },
      finish: (...args) => ledger.finish(...args),
    };
  }
  const holder = opts.holder ?? randomUUID();
  // Another live delivery is working on the incident: the steps after the first it holds are left
  // to it without asking the ledger (ten copies of a finding would otherwise each make a claim
  // per step, for nothing).
  let workingElsewhere: StepClaim | undefined;
  const leftTo = (step: ClaimedStep, claim: StepClaim, nowMs: number): StepOutcome => {
    deferred.push(step.name);
    const until = new Date(claim.until).toISOString();
    opts.logger.info(`Step ${step.name} is left to another delivery`, { step: step.name, claimedBy: claim.holder, claimedUntil: until });
    return {
      stage: step.stage,
      status: 'pending',
      summary: `${step.description}: left to another delivery of this incident, working on it until ${until} at the latest`,
      attempts: 0,
      retryAfterSeconds: Math.max(1, Math.ceil((claim.until - nowMs) / 1000)),
      data: { claimedBy: claim.holder, claimedUntil: until },
    };
  };
  return {
    deferred,
    run: async (incidentId, step, decide) => {
      const nowMs = opts.now().getTime();
      if (workingElsewhere && workingElsewhere.until >= nowMs) return leftTo(step, workingElsewhere, nowMs);
      // A deadline already past (a clock skew) still claims for a moment: the step is about to run.
      const untilMs = opts.claimUntil ? Math.max(opts.claimUntil.getTime(), nowMs + 1000) : nowMs + DEFAULT_CLAIM_SECONDS * 1000;
      const claim = await claimStep.call(ledger, incidentId, step.name, holder, nowMs, untilMs);
      if (claim.claimed) {
        const outcome = await decide(claim.current);
        await recordClaimedStep.call(ledger, incidentId, step.name, holder, outcome);
        return outcome;
      }
      if ('done' in claim) return claim.done;
      workingElsewhere ??= claim.heldBy;
      return leftTo(step, claim.heldBy, nowMs);
    },
    finish: (incidentId, status, reason, now, isolatedAt) =>
      deferred.length > 0 ? finishDeferring.call(ledger, incidentId, status, reason, now, isolatedAt) : ledger.finish(incidentId, status, reason, now, isolatedAt),
  };
}

/** The error codes AWS services answer when they throttle (EC2 `RequestLimitExceeded`, IAM and Auto Scaling `Throttling`, …). */
export const THROTTLING_CODES: ReadonlySet<string> = new Set([
  'RequestLimitExceeded',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  'ProvisionedThroughputExceededException',
  'BandwidthLimitExceeded',
  'PriorRequestNotComplete',
  'HTTP429',
]);

/**
 * Whether the stages after containment should wait for the redelivery: a containment step of
 * this delivery was throttled, so the account's API rate is spent, and containment — this
 * incident's retry and other incidents' isolation — goes first. Evidence and investigation
 * run when containment is through (they are never lost: the message comes back).
 */
export function yieldsToContainment(stage: Stage, outcomes: Record<string, StepOutcome>, logger: Logger): boolean {
  if (stage === 'contain') return false;
  const throttled = Object.entries(outcomes).filter(([, o]) => o.stage === 'contain' && o.status === 'failed' && THROTTLING_CODES.has(o.error?.code ?? ''));
  if (throttled.length === 0) return false;
  logger.warn('Containment was throttled: evidence and investigation wait for the redelivery', { throttled: throttled.map(([name]) => name), stage });
  return true;
}

/** Containments in an account within {@link STORM_WINDOW_SECONDS} from which a delivery puts containment first. */
export const STORM_CONTAINMENTS = 10;
export const STORM_WINDOW_SECONDS = 60;

/**
 * Whether this delivery is a new containment in a storm: at least {@link STORM_CONTAINMENTS}
 * containments began in the account within the last minute (the blast-radius window the
 * delivery read says so, at no extra cost), and the incident takes its slot now. Then it
 * contains and leaves evidence and investigation to its follow-up: the function is free for
 * the next finding's isolation sooner, and evidence calls do not spend the EC2 mutating-action
 * rate that other instances' containment needs. Its follow-up runs them (once: the incident
 * then holds its slot).
 */
export function containmentFirst(window: { entries: Array<{ at: number }> }, nowMs: number, takesSlot: boolean): boolean {
  if (!takesSlot) return false;
  return window.entries.filter((e) => e.at > nowMs - STORM_WINDOW_SECONDS * 1000).length >= STORM_CONTAINMENTS;
}

/** The outcome of a step left to the follow-up in a storm (not recorded: the follow-up runs it). */
export function leftToFollowUp(step: ClaimedStep, delaySeconds: number): StepOutcome {
  return {
    stage: step.stage,
    status: 'pending',
    summary: `${step.description}: left to the follow-up delivery — a storm of findings, containment first`,
    attempts: 0,
    retryAfterSeconds: delaySeconds,
  };
}
