/**
 * Pacing calls to APIs AWS limits per account and region (CloudTrail `LookupEvents`: 2 requests
 * a second): every function of the deployment takes its tokens from one bucket per API, account
 * and region, kept in the ledger table, so a storm of incidents never exceeds the limit together.
 */
import type { BucketRate } from '../ledger/token-bucket.ts';

export type { BucketRate };

/** Takes one token from the named bucket: 0 when taken, otherwise the milliseconds to wait for the next. */
export type TokenSource = (bucket: string, rate: BucketRate, nowMs: number) => Promise<number>;

/** What steps pace their calls with. */
export interface Pacer {
  /**
   * Waits for a token of `bucket` for at most `maxWaitMs`: true when one was taken, false when
   * none came in time (the step records where it is and goes `pending`, never blocking containment).
   */
  acquire(bucket: string, rate: BucketRate, maxWaitMs: number): Promise<boolean>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A pacer over a shared token source (the ledger's buckets).
 *
 * @example
 * ```ts
 * const pacer = new SharedPacer((b, r, now) => ledger.takeToken(b, r, now));
 * if (!(await pacer.acquire('cloudtrail-lookup#111122223333#us-east-1', { ratePerSecond: 2, burst: 2 }, 5_000))) return pending;
 * ```
 */
export class SharedPacer implements Pacer {
  readonly #take: TokenSource;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(take: TokenSource, clock: { now?: () => number; sleep?: (ms: number) => Promise<void> } = {}) {
    this.#take = take;
    this.#now = clock.now ?? Date.now;
    this.#sleep = clock.sleep ?? sleep;
  }

  async acquire(bucket: string, rate: BucketRate, maxWaitMs: number): Promise<boolean> {
    const deadline = this.#now() + maxWaitMs;
    for (;;) {
      const wait = await this.#take(bucket, rate, this.#now());
      if (wait === 0) return true;
      if (this.#now() + wait > deadline) return false;
      await this.#sleep(wait);
    }
  }
}

/**
 * A pacer local to one process (tests, the CLI): the same rate, without the shared bucket.
 */
export function localPacer(clock: { now?: () => number; sleep?: (ms: number) => Promise<void> } = {}): Pacer {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return new SharedPacer(async (bucket, rate, nowMs) => {
    const b = buckets.get(bucket) ?? { tokens: rate.burst, at: nowMs };
    const tokens = Math.min(rate.burst, b.tokens + (Math.max(0, nowMs - b.at) / 1000) * rate.ratePerSecond);
    if (tokens < 1) {
      buckets.set(bucket, { tokens, at: nowMs });
      return Math.ceil(((1 - tokens) / rate.ratePerSecond) * 1000);
    }
    buckets.set(bucket, { tokens: tokens - 1, at: nowMs });
    return 0;
  }, clock);
}
