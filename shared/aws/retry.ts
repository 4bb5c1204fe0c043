import type { RetryErrorInfo, RetryStrategyV2, StandardRetryToken } from '@smithy/types';
import { ResponseLostError } from './errors.ts';

/** How the SDK retries Firebreak's calls: more attempts than the default, shorter waits, no retry quota. */
export interface PatientRetrySettings {
  /** Attempts per call, the first included (default 5). */
  maxAttempts?: number;
  /** Backoff base after a throttling error, in ms (default 100: EC2's mutating buckets refill a token every 200 ms). */
  throttlingBaseMs?: number;
  /** Backoff base after a transient error (5xx, dropped connection, timeout), in ms (default 50, the SDK's own). */
  transientBaseMs?: number;
  /** No wait is longer than this, in ms (default 5000). */
  capMs?: number;
  /** For tests: a generator in [0, 1). */
  random?: () => number;
}

export const PATIENT_RETRY_DEFAULTS = { maxAttempts: 5, throttlingBaseMs: 100, transientBaseMs: 50, capMs: 5000 } as const;

/**
 * The SDK retry strategy of the clients Firebreak acts with. The SDK's standard strategy waits
 * a random 0–1 s, then 0–2 s… after a throttling error (retries-2026: a base of 1 s), tries 3
 * times, and draws every retry from a quota of 500 tokens per client (5 per throttled retry,
 * 14 per other retry, given back only by successes): in a storm one warm function's shared EC2
 * client can run it dry, and then every call fails at its first error — isolation included.
 * This one retries throttling and transient errors (as the SDK classifies them) up to
 * `maxAttempts` times with full jitter from a shorter base, and keeps no quota: the functions'
 * concurrency bounds the load, and the engine bounds patience by the Lambda's remaining time.
 *
 * @example
 * ```ts
 * new EC2Client({ region, retryStrategy: patientRetryStrategy() });
 * ```
 */
export function patientRetryStrategy(settings: PatientRetrySettings = {}): RetryStrategyV2 & { mode: string } {
  const s = { ...PATIENT_RETRY_DEFAULTS, ...settings };
  const random = settings.random ?? Math.random;
  const token = (retries: number, delay: number): StandardRetryToken => ({ getRetryCount: () => retries, getRetryDelay: () => delay, getRetryCost: () => undefined });
  return {
    mode: 'standard',
    acquireInitialRetryToken: async () => token(0, 0),
    refreshRetryTokenForRetry: async (previous, info: RetryErrorInfo) => {
      const retries = previous.getRetryCount();
      const retryable = info.errorType === 'THROTTLING' || info.errorType === 'TRANSIENT';
      if (!retryable || retries + 1 >= s.maxAttempts) throw new Error('No retry token available');
      const base = info.errorType === 'THROTTLING' ? s.throttlingBaseMs : s.transientBaseMs;
      return token(retries + 1, Math.floor(random() * Math.min(s.capMs, base * 2 ** retries)));
    },
    recordSuccess: () => undefined,
  };
}

/** A command whose middleware stack can take one more middleware (every SDK v3 command). */
interface Command {
  middlewareStack: { add(middleware: (next: (args: unknown) => Promise<unknown>) => (args: unknown) => Promise<unknown>, options: { step: 'finalizeRequest'; name: string; priority: 'low' }): void };
}

/** Throttling errors say the request was refused before it was acted on: safe to send again. */
const THROTTLING = /Throttl|RequestLimitExceeded|SlowDown|TooManyRequests|ProvisionedThroughputExceeded|RequestThrottled|LimitExceededException/;

/**
 * Marks a create that has no idempotency token (EC2 CreateSnapshot(s) and CopySnapshot, SSM
 * SendCommand…) so that the SDK never sends it again after an answer that leaves unknown
 * whether it was acted on — a dropped connection, a timeout, a 5xx: that failure becomes a
 * {@link ResponseLostError} (retryable), and the step, run again, first looks for what the
 * first attempt created (by the incident's tag) before creating anything. A throttling error
 * is an explicit refusal and is still retried by the SDK.
 *
 * @example
 * ```ts
 * await ec2.send(once(new CreateSnapshotsCommand({ … }), 'CreateSnapshots'));
 * ```
 */
export function once<C>(command: C, operation: string): C {
  (command as unknown as Command).middlewareStack.add(
    (next) => async (args) => {
      try {
        return await next(args);
      } catch (error) {
        const e = error as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        if (THROTTLING.test(String(e.name ?? '')) || (status !== undefined && status < 500)) throw error;
        throw new ResponseLostError(operation, error);
      }
    },
    // Below the retry middleware (finalizeRequest, high): it sees each attempt's parsed error.
    { step: 'finalizeRequest', name: 'firebreakOnce', priority: 'low' },
  );
  return command;
}
