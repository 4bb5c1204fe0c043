import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { ClientFactory } from '../../../shared/aws/index.ts';
import { definePlaybook, defineStep, EVIDENCE_RETRIES, patienceFor, retryableFailure, retryInPlace, runPlaybook, transientFailure, type EngineDeps, type Patience, type StepResult } from '../../../shared/engine/index.ts';
import { ContainmentIncompleteError, ResourceNotFoundError } from '../../../shared/errors/index.ts';
import { EvidenceStore } from '../../../shared/evidence/index.ts';
import { aConfig, anIncident, anS3Client, aStepOutcome, awsError, EVIDENCE_BUCKET, FakeLedger, FIXED_NOW, INSTANCE_ID, silentLogger, someClients } from '../helpers/factories.ts';

/** Patience that does not wait: each wait it asked for is in `waits`. */
function instant(overrides: Partial<Patience> = {}) {
  const waits: number[] = [];
  const patience: Patience = { sleep: async (ms) => void waits.push(ms), random: () => 0.5, ...overrides };
  return { patience, waits };
}

const failedThrottled = aStepOutcome({ status: 'failed', error: { code: 'RequestLimitExceeded', message: '', retryable: true, unsupported: false } });
const done = aStepOutcome({ status: 'done' });

describe('Function: retryInPlace', () => {
  it('runs once when the engine was given no patience', async () => {
    const attempt = vi.fn(async () => failedThrottled);
    expect(await retryInPlace(undefined, silentLogger(), 'isolate', attempt, retryableFailure)).toBe(failedThrottled);
    expect(attempt).toHaveBeenCalledTimes(1);
  });

  it('tries again after growing, jittered waits until the step succeeds, each try given the last result', async () => {
    // Prepare
    const { patience, waits } = instant();
    const attempt = vi.fn<(previous?: typeof done) => Promise<typeof done>>().mockResolvedValueOnce(failedThrottled).mockResolvedValueOnce(failedThrottled).mockResolvedValueOnce(done);

    // Act
    const result = await retryInPlace(patience, silentLogger(), 'isolate', attempt, retryableFailure);

    // Assess
    expect(result).toBe(done);
    expect(waits).toEqual([125, 250]);
    expect(attempt.mock.calls.map((c) => c[0])).toEqual([undefined, failedThrottled, failedThrottled]);
  });

  it('gives up after its number of tries, with waits capped', async () => {
    const { patience, waits } = instant({ random: () => 0.999, maxRetries: 5, capMs: 1000 });
    const attempt = vi.fn(async () => failedThrottled);
    expect(await retryInPlace(patience, silentLogger(), 'isolate', attempt, retryableFailure)).toBe(failedThrottled);
    expect(attempt).toHaveBeenCalledTimes(6);
    expect(waits).toEqual([249, 499, 999, 999, 999]);
  });

  it('never waits into the reserve kept at the end of the invocation', async () => {
    // Prepare: 9 s left, 8 s kept: one wait of 125 ms fits, then time runs out.
    let left = 9000;
    const { patience, waits } = instant({ remainingMs: () => left, sleep: async (ms) => void ((left -= 900), waits.push(ms)) });
    const attempt = vi.fn(async () => failedThrottled);

    // Act
    await retryInPlace(patience, silentLogger(), 'isolate', attempt, retryableFailure);

    // Assess
    expect(waits).toEqual([125]);
    expect(attempt).toHaveBeenCalledTimes(2);
  });

  it('without a Lambda context, bounds the waits of one step by its budget', async () => {
    const { patience, waits } = instant({ random: () => 0.999, budgetMs: 800 });
    await retryInPlace(patience, silentLogger(), 'isolate', async () => failedThrottled, retryableFailure);
    expect(waits).toEqual([249, 499]);
  });

  it('waits on a real timer, jittered by Math.random, by default', async () => {
    const attempt = vi.fn<() => Promise<typeof done>>().mockResolvedValueOnce(failedThrottled).mockResolvedValueOnce(done);
    expect(await retryInPlace({ baseMs: 2 }, silentLogger(), 'isolate', attempt, retryableFailure)).toBe(done);
  });

  it('gives evidence a few tries for throttling and lost answers only; containment every retryable failure', () => {
    const http500 = aStepOutcome({ stage: 'evidence', status: 'failed', error: { code: 'HTTP500', message: '', retryable: true, unsupported: false } });
    const lost = aStepOutcome({ stage: 'evidence', status: 'failed', error: { code: 'ResponseLost', message: '', retryable: true, unsupported: false } });
    const evidence = patienceFor('evidence', { maxRetries: 6 });
    expect(evidence.patience?.maxRetries).toBe(EVIDENCE_RETRIES);
    expect([evidence.shouldRetry(failedThrottled), evidence.shouldRetry(lost), evidence.shouldRetry(http500)]).toEqual([true, true, false]);
    expect(patienceFor('investigate', {}).patience?.maxRetries).toBe(EVIDENCE_RETRIES);
    const contain = patienceFor('contain', { maxRetries: 6 });
    expect(contain.patience?.maxRetries).toBe(6);
    expect(contain.shouldRetry(http500)).toBe(true);
    expect(patienceFor('evidence', undefined).patience).toBeUndefined();
    expect(transientFailure(aStepOutcome({ status: 'failed', error: { code: 'ThrottlingException', message: '', retryable: false, unsupported: false } }))).toBe(false);
  });

  it('retries only retryable failures of APIs that exist', () => {
    expect(retryableFailure(failedThrottled)).toBe(true);
    expect(retryableFailure(done)).toBe(false);
    expect(retryableFailure(aStepOutcome({ status: 'failed', error: { code: 'UnauthorizedOperation', message: '', retryable: false, unsupported: false } }))).toBe(false);
    expect(retryableFailure(aStepOutcome({ status: 'failed', error: { code: 'InternalFailure', message: '', retryable: true, unsupported: true } }))).toBe(false);
    expect(retryableFailure(aStepOutcome({ status: 'failed' }))).toBe(false);
  });
});

interface Fake {
  resource: { id: string; tags: Record<string, string> };
  capture: { id: string };
  options: Record<string, never>;
}
const step = defineStep<Fake>();

/** Isolation throttled `throttles` times, then done; an evidence step that is always throttled. */
function throttledPlaybook(throttles: number, describeFailures: unknown[] = []) {
  let left = throttles;
  const isolate = step({
    name: 'isolate',
    stage: 'contain',
    description: 'Isolate',
    iamActions: ['ec2:ModifyNetworkInterfaceAttribute'],
    run: vi.fn(async (): Promise<StepResult<undefined>> => {
      if (left-- > 0) throw awsError('RequestLimitExceeded', { httpStatusCode: 503 });
      return { status: 'done', summary: 'isolated' };
    }),
  });
  const snapshot = step({
    name: 'snapshot',
    stage: 'evidence',
    description: 'Snapshot',
    iamActions: ['ec2:CreateSnapshots'],
    run: vi.fn(async (): Promise<StepResult<undefined>> => {
      throw awsError('RequestLimitExceeded', { httpStatusCode: 503 });
    }),
  });
  const failures = [...describeFailures];
  const describeResource = vi.fn(async () => {
    if (failures.length) throw failures.shift();
    return { id: INSTANCE_ID, tags: {} };
  });
  const playbook = definePlaybook<Fake>({
    name: 'ec2-instance',
    options: z.object({}).strict() as never,
    describe: describeResource,
    capture: { schema: z.object({ id: z.string() }), of: (r) => ({ id: r.id }) },
    tags: (r) => r.tags,
    identifiers: (_i, r) => [r.id],
    principals: () => [],
    describeIamActions: ['ec2:DescribeInstances'],
    isolationStep: isolate,
    steps: [isolate, snapshot],
    release: [],
  });
  return { playbook, isolate, snapshot, describeResource };
}

function engine(patience?: Patience) {
  const ledger = new FakeLedger();
  const deps: EngineDeps<Fake['options']> = {
    config: aConfig(),
    options: {},
    clientsFor: vi.fn<ClientFactory>(() => someClients()),
    ledger: ledger.asLedger(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    ...(patience ? { patience } : {}),
  };
  return { deps, ledger };
}

describe('Function: runPlaybook — patient where it matters', () => {
  it('contains in one delivery when isolation is throttled twice; evidence is retried in place only after containment, a few times', async () => {
    // Prepare
    const { playbook, isolate, snapshot } = throttledPlaybook(2);
    const { patience, waits } = instant();
    const { deps, ledger } = engine(patience);

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), { messageId: 'm1' });

    // Assess
    expect(result.status).toBe('contained');
    expect(isolate.run).toHaveBeenCalledTimes(3);
    expect(snapshot.run).toHaveBeenCalledTimes(1 + EVIDENCE_RETRIES);
    const lastIsolation = Math.max(...vi.mocked(isolate.run).mock.invocationCallOrder);
    expect(Math.min(...vi.mocked(snapshot.run).mock.invocationCallOrder)).toBeGreaterThan(lastIsolation);
    expect(waits).toHaveLength(2 + EVIDENCE_RETRIES);
    // Attempts count deliveries (what bounds pending steps), not tries in place.
    expect(ledger.outcome('isolate')).toMatchObject({ status: 'done', attempts: 1 });
    expect(ledger.outcome('snapshot')).toMatchObject({ status: 'failed', attempts: 1, error: { retryable: true } });
  });

  it('hands the message back when isolation stays throttled past its patience', async () => {
    const { playbook, isolate } = throttledPlaybook(100);
    const { patience } = instant({ maxRetries: 3 });
    const { deps, ledger } = engine(patience);

    await expect(runPlaybook(deps, playbook, anIncident(), { messageId: 'm1' })).rejects.toBeInstanceOf(ContainmentIncompleteError);

    expect(isolate.run).toHaveBeenCalledTimes(4);
    expect(ledger.outcome('isolate')).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('describes again in place when the description is throttled, but not when the resource is gone', async () => {
    // Prepare
    const throttled = throttledPlaybook(0, [awsError('RequestLimitExceeded', { httpStatusCode: 503 })]);
    const gone = throttledPlaybook(0, [new ResourceNotFoundError(INSTANCE_ID), new ResourceNotFoundError(INSTANCE_ID)]);

    // Act
    const contained = await runPlaybook(engine(instant().patience).deps, throttled.playbook, anIncident(), { messageId: 'm1' });
    const skipped = await runPlaybook(engine(instant().patience).deps, gone.playbook, anIncident(), { messageId: 'm2' });

    // Assess
    expect(contained.status).toBe('contained');
    expect(throttled.describeResource).toHaveBeenCalledTimes(2);
    expect(skipped.status).toBe('skipped');
    expect(gone.describeResource).toHaveBeenCalledTimes(1);
  });
});
