import type { Logger } from '@aws-lambda-powertools/logger';
import { classifyError } from '../errors/index.ts';
import type { EvidenceRef, OutcomeStage, StepOutcome } from '../vocabulary/index.ts';

/** What running one step (containment or release) needs: what to call it, and when it is. */
export interface Execution {
  name: string;
  description: string;
  stage: OutcomeStage;
  now: () => Date;
  logger: Logger;
  /** The step's earlier outcome: attempts are counted across deliveries. */
  before?: { attempts: number };
  /** How failures read: the code alone (containment) or the code and AWS's message (release, read by a person at a terminal). */
  detailedFailure?: boolean;
}

/** What a step or release action reported. */
export interface Reported {
  status: 'done' | 'skipped' | 'pending';
  summary: string;
  retryAfterSeconds?: number;
  data?: unknown;
  evidence?: EvidenceRef[];
}

/**
 * Runs one step, timing it and turning whatever happens — a result or an error —
 * into the outcome the ledger records. Never throws for the step's own failure.
 */
export async function executeStep(e: Execution, run: () => Promise<Reported>): Promise<StepOutcome> {
  const started = e.now();
  const attempts = (e.before?.attempts ?? 0) + 1;
  const timing = () => {
    const finished = e.now();
    return { startedAt: started.toISOString(), finishedAt: finished.toISOString(), durationMs: finished.getTime() - started.getTime() };
  };
  try {
    const result = await run();
    e.logger.info(`Step ${e.name} ${result.status}`, { step: e.name, stage: e.stage, status: result.status, summary: result.summary });
    return {
      stage: e.stage,
      status: result.status,
      summary: result.summary,
      attempts,
      ...timing(),
      ...(result.retryAfterSeconds !== undefined ? { retryAfterSeconds: result.retryAfterSeconds } : {}),
      ...(result.data !== undefined ? { data: result.data } : {}),
      ...(result.evidence ? { evidence: result.evidence } : {}),
    };
  } catch (error) {
    const c = classifyError(error);
    e.logger.error(`Step ${e.name} failed`, { step: e.name, stage: e.stage, errorCode: c.code, retryable: c.retryable, error: error as Error });
    const failure = e.detailedFailure ? `${c.code}: ${c.message.slice(0, 300)}` : c.code;
    return {
      stage: e.stage,
      status: 'failed',
      summary: c.unsupported ? `${e.description}: the API is not supported by this endpoint` : `${e.description}: failed with ${failure}`,
      attempts,
      ...timing(),
      error: { code: c.code, message: c.message.slice(0, 1000), retryable: c.retryable, unsupported: c.unsupported },
    };
  }
}
