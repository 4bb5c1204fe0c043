import type { SSMClient } from '@aws-sdk/client-ssm';
import type { SendOnly } from '../aws/lazy-client.ts';
import * as z from 'zod';
import { hasErrorCode } from '../errors/index.ts';
import { cleanText } from '../findings/index.ts';

/** Whether automation is paused in this deployment, who paused it, when and why. */
export interface PauseState {
  paused: boolean;
  by?: string;
  at?: string;
  reason?: string;
}

const PauseValueSchema = z
  .object({
    paused: z.boolean(),
    by: z.string().max(512).optional(),
    at: z.string().max(64).optional(),
    reason: z.string().optional(),
  })
  .loose();

/** The parameter's value for a state (what `firebreak pause` and `resume` write). */
export function pauseValue(state: PauseState): string {
  return JSON.stringify({ ...state, ...(state.reason ? { reason: cleanText(state.reason, 512) } : {}) });
}

/**
 * Reads a parameter value. Anything that is not a pause record (a hand-edited parameter) reads
 * as paused: a kill switch someone touched must fail closed, never open.
 */
export function parsePauseValue(value: string | undefined): PauseState {
  if (value === undefined || value.trim() === '' || value.trim() === 'false') return { paused: false };
  try {
    const parsed = PauseValueSchema.parse(JSON.parse(value));
    return { paused: parsed.paused, ...(parsed.by ? { by: parsed.by } : {}), ...(parsed.at ? { at: parsed.at } : {}), ...(parsed.reason ? { reason: cleanText(parsed.reason, 512) } : {}) };
  } catch {
    return { paused: true, reason: `the pause parameter holds ${JSON.stringify(cleanText(value, 64))}, not a pause record: treated as paused (run firebreak resume to clear it)` };
  }
}

/**
 * The kill switch every function reads before acting: an SSM parameter that `firebreak pause`
 * and `firebreak resume` flip without a `terraform apply`. The value is cached for `ttlMs`, so a
 * storm of findings reads it at most once per ttl per warm function; a failed read keeps the
 * last value it knew, or, with none, reads as not paused (the parameter is an extra stop, and an
 * SSM outage must not stop containment).
 *
 * @example
 * ```ts
 * const pause = new PauseSwitch(ssm, '/firebreak/paused');
 * if ((await pause.state()).paused) { … record held … }
 * ```
 */
export class PauseSwitch {
  readonly #ssm: SendOnly<SSMClient>;
  readonly #name: string;
  readonly #ttlMs: number;
  readonly #now: () => number;
  #cached?: { state: PauseState; at: number };
  #reading: Promise<PauseState> | undefined;

  constructor(ssm: SendOnly<SSMClient>, parameterName: string, options: { ttlMs?: number; now?: () => number } = {}) {
    this.#ssm = ssm;
    this.#name = parameterName;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * The current state: cached for the ttl (or `maxAgeMs`, when a caller needs a fresher value),
   * and one read at a time however many records ask at once.
   */
  state(options: { maxAgeMs?: number } = {}): Promise<PauseState> {
    const now = this.#now();
    const maxAge = Math.min(options.maxAgeMs ?? this.#ttlMs, this.#ttlMs);
    if (this.#cached && now - this.#cached.at < maxAge) return Promise.resolve(this.#cached.state);
    this.#reading ??= this.#read(now).finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #read(now: number): Promise<PauseState> {
    try {
      const out = await this.#ssm.send(new (await import('../aws/sdk/client-ssm.ts')).GetParameterCommand({ Name: this.#name }));
      this.#cached = { state: parsePauseValue(out.Parameter?.Value), at: now };
    } catch (error) {
      if (hasErrorCode(error, 'ParameterNotFound')) this.#cached = { state: { paused: false }, at: now };
      else if (!this.#cached) return { paused: false };
    }
    return this.#cached.state;
  }
}

/** IAM action a function needs on its pause parameter. */
export const PAUSE_IAM_ACTIONS = ['ssm:GetParameter'] as const;
