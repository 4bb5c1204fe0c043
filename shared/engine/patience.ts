import type { Logger } from '@aws-lambda-powertools/logger';
import type { StepOutcome } from '../vocabulary/index.ts';

/**
 * How long a delivery may keep retrying containment in place. A containment step that failed
 * with a retryable error (throttling that outlasted the SDK's own retries, a 5xx, a lost answer)
 * is run again in the same invocation, with exponential backoff and full jitter, instead of
 * handing the whole message back to SQS for a visibility timeout (30 s to minutes) and re-running
 * the delivery from the top. Bounded by the Lambda's remaining time, less a reserve for the
 * evidence steps and the ledger, and by a number of tries.
 */
export interface Patience {
  /** Milliseconds left in this invocation (the Lambda context's `getRemainingTimeInMillis`). */
  remainingMs?: () => number;
  /** For tests: waits (default: a timer). */
  sleep?: (ms: number) => Promise<void>;
  /** For tests: a generator in [0, 1) (default: Math.random). */
  random?: () => number;
  /** Backoff base in ms (default 250): the n-th wait is random × min(cap, base × 2ⁿ). */
  baseMs?: number;
  /** No wait longer than this (default 4000 ms). */
  capMs?: number;
  /** At most this many tries in place after the first (default 6). */
  maxRetries?: number;
  /** Never start a wait that would leave less than this of the invocation (default 8000 ms). */
  reserveMs?: number;
  /** Without a Lambda context (the CLI, tests): the whole patience of one delivery, per step (default 20 000 ms). */
  budgetMs?: number;
}

export const PATIENCE_DEFAULTS = { baseMs: 250, capMs: 4000, maxRetries: 6, reserveMs: 8000, budgetMs: 20_000 } as const;

/** A failed outcome that may succeed if tried again (not a permanent refusal, not an unsupported API). */
export const retryableFailure = (outcome: StepOutcome): boolean => outcome.status === 'failed' && outcome.error?.retryable === true && !outcome.error.unsupported;

/**
 * Runs `attempt`, and again in place while `shouldRetry` says so and patience allows: each
 * try gets the previous result (a step counts its attempts from it). Returns the last result.
 * Without `patience` (an engine that was given none) it runs `attempt` once.
 *
 * @example
 * ```ts
 * const outcome = await retryInPlace(patience, logger, 'isolateNetworkInterfaces', (before) => executeStep(…), retryableFailure);
 * ```
 */
export async function retryInPlace<R>(patience: Patience | undefined, logger: Logger, what: string, attempt: (previous?: R) => Promise<R>, shouldRetry: (result: R) => boolean): Promise<R> {
  if (!patience) return attempt();
  const p = { ...PATIENCE_DEFAULTS, ...patience };
  const sleep = patience.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = patience.random ?? Math.random;
  let waited = 0;
  let result = await attempt();
  for (let retry = 0; retry < p.maxRetries && shouldRetry(result); retry++) {
    const delay = Math.floor(random() * Math.min(p.capMs, p.baseMs * 2 ** retry));
    const left = patience.remainingMs ? patience.remainingMs() - p.reserveMs : p.budgetMs - waited;
    if (delay > left) {
      logger.warn(`${what}: no time left to retry in place; the message goes back to the queue`, { step: what, retriesInPlace: retry, leftMs: left });
      break;
    }
    logger.warn(`${what} failed with a retryable error: retrying in place`, { step: what, retryInPlace: retry + 1, delayMs: delay });
    await sleep(delay);
    waited += delay;
    result = await attempt(result);
  }
  return result;
}

/** Failures that say nothing was wrong with the request: throttled, or the answer lost (5xx other than these are not). */
const TRANSIENT_CODES = /Throttl|RequestLimitExceeded|SlowDown|TooManyRequests|ProvisionedThroughputExceeded|RequestThrottled|ResponseLost|ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|TimeoutError/;

/** A retryable failure whose code says throttling or a lost answer (what evidence steps are retried in place for). */
export const transientFailure = (outcome: StepOutcome): boolean => retryableFailure(outcome) && TRANSIENT_CODES.test((outcome.error as { code: string }).code);

/** Evidence and investigation steps get a few tries in place, fewer than containment. */
export const EVIDENCE_RETRIES = 3;

/**
 * The patience a step of `stage` gets. Containment: every retryable failure, as long as time
 * allows. Evidence and investigation run only once every containment step has finished (the
 * engine runs the stages in order), so they never delay isolation: they get a few tries in
 * place for throttling and lost answers only — an API that answers 500 every time (an emulator
 * without it) is not waited on.
 */
export function patienceFor(stage: string, patience: Patience | undefined): { patience: Patience | undefined; shouldRetry: (outcome: StepOutcome) => boolean } {
  if (stage === 'contain' || !patience) return { patience, shouldRetry: retryableFailure };
  return { patience: { ...patience, maxRetries: Math.min(patience.maxRetries ?? EVIDENCE_RETRIES, EVIDENCE_RETRIES) }, shouldRetry: transientFailure };
}
