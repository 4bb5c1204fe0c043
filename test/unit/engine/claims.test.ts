import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_CLAIM_SECONDS, stepRunner, THROTTLING_CODES, yieldsToContainment, type ClaimingLedger } from '../../../shared/engine/claims.ts';
import { aStepOutcome, FIXED_NOW, silentLogger } from '../helpers/factories.ts';

const step = { name: 'isolate', stage: 'contain' as const, description: 'Isolate the instance' };
const now = () => FIXED_NOW;

function claimingLedger(claim: Awaited<ReturnType<NonNullable<ClaimingLedger['claimStep']>>> = { claimed: true }) {
  return {
    recordStep: vi.fn(async () => undefined),
    finish: vi.fn(async () => undefined),
    claimStep: vi.fn(async (_id: string, _step: string, _holder: string, _nowMs: number, _untilMs: number) => claim),
    recordClaimedStep: vi.fn(async () => undefined),
    finishDeferring: vi.fn(async () => undefined),
  } satisfies ClaimingLedger;
}

describe('Function: stepRunner', () => {
  it('without claims in the ledger, decides and records as before', async () => {
    // Prepare
    const ledger = { recordStep: vi.fn(async () => undefined), finish: vi.fn(async () => undefined) };
    const runner = stepRunner(ledger, { now, logger: silentLogger() });

    // Act
    const outcome = await runner.run('inc-1', step, async () => aStepOutcome());
    await runner.finish('inc-1', 'contained', 'contained', FIXED_NOW);

    // Assess
    expect(outcome).toEqual(aStepOutcome());
    expect(ledger.recordStep).toHaveBeenCalledWith('inc-1', 'isolate', aStepOutcome());
    expect(ledger.finish).toHaveBeenCalledWith('inc-1', 'contained', 'contained', FIXED_NOW);
  });

  it('claims for Lambda\'s longest timeout when the invocation deadline is unknown, as the holder it is given', async () => {
    // Prepare
    const ledger = claimingLedger();
    const runner = stepRunner(ledger, { now, logger: silentLogger(), holder: 'delivery-a' });

    // Act
    await runner.run('inc-1', step, async () => aStepOutcome());

    // Assess
    expect(ledger.claimStep).toHaveBeenCalledWith('inc-1', 'isolate', 'delivery-a', FIXED_NOW.getTime(), FIXED_NOW.getTime() + DEFAULT_CLAIM_SECONDS * 1000);
    expect(ledger.recordClaimedStep).toHaveBeenCalledWith('inc-1', 'isolate', 'delivery-a', aStepOutcome());
    expect(ledger.recordStep).not.toHaveBeenCalled();
  });

  it('still claims for a moment when the deadline it is given has passed (a clock skew)', async () => {
    // Prepare
    const ledger = claimingLedger();
    const runner = stepRunner(ledger, { now, logger: silentLogger(), claimUntil: new Date(FIXED_NOW.getTime() - 5000) });

    // Act
    await runner.run('inc-1', step, async () => aStepOutcome());

    // Assess
    expect(ledger.claimStep.mock.calls[0]![4]).toBe(FIXED_NOW.getTime() + 1000);
    // A random holder per delivery: two deliveries of one message never share it.
    expect(ledger.claimStep.mock.calls[0]![2]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('uses the outcome of a step another delivery finished, without running or recording it', async () => {
    // Prepare
    const done = aStepOutcome({ summary: 'isolated by another delivery' });
    const ledger = claimingLedger({ claimed: false, done });
    const runner = stepRunner(ledger, { now, logger: silentLogger() });
    const decide = vi.fn(async () => aStepOutcome());

    // Act
    const outcome = await runner.run('inc-1', step, decide);
    await runner.finish('inc-1', 'contained', 'contained', FIXED_NOW);

    // Assess
    expect(outcome).toBe(done);
    expect(decide).not.toHaveBeenCalled();
    expect(runner.deferred).toEqual([]);
    expect(ledger.finish).toHaveBeenCalled();
    expect(ledger.finishDeferring).not.toHaveBeenCalled();
  });

  it('leaves a step another live delivery holds to it: pending here, looked at again when its claim ends at the latest', async () => {
    // Prepare
    const until = FIXED_NOW.getTime() + 42_500;
    const ledger = claimingLedger({ claimed: false, heldBy: { holder: 'delivery-a', until, at: FIXED_NOW.toISOString() } });
    const runner = stepRunner(ledger, { now, logger: silentLogger() });

    // Act
    const outcome = await runner.run('inc-1', step, async () => aStepOutcome());
    await runner.finish('inc-1', 'containing', 'containing', FIXED_NOW, 'at');

    // Assess
    expect(outcome).toEqual({
      stage: 'contain',
      status: 'pending',
      summary: `Isolate the instance: left to another delivery of this incident, working on it until ${new Date(until).toISOString()} at the latest`,
      attempts: 0,
      retryAfterSeconds: 43,
      data: { claimedBy: 'delivery-a', claimedUntil: new Date(until).toISOString() },
    });
    expect(runner.deferred).toEqual(['isolate']);
    expect(ledger.recordClaimedStep).not.toHaveBeenCalled();

    // The steps after it are left to that delivery without asking the ledger.
    const next = await runner.run('inc-1', { name: 'snapshot', stage: 'evidence', description: 'Snapshot' }, async () => aStepOutcome());
    expect(next).toMatchObject({ status: 'pending', data: { claimedBy: 'delivery-a' } });
    expect(ledger.claimStep).toHaveBeenCalledTimes(1);
    expect(runner.deferred).toEqual(['isolate', 'snapshot']);
    expect(ledger.finishDeferring).toHaveBeenCalledWith('inc-1', 'containing', 'containing', FIXED_NOW, 'at');
  });
});

describe('Function: yieldsToContainment', () => {
  const throttled = aStepOutcome({ status: 'failed', error: { code: 'RequestLimitExceeded', message: 'Request limit exceeded.', retryable: true, unsupported: false } });

  it('lets evidence wait when a containment step was throttled', () => {
    expect(yieldsToContainment('evidence', { isolate: throttled }, silentLogger())).toBe(true);
    expect(yieldsToContainment('investigate', { isolate: throttled }, silentLogger())).toBe(true);
  });

  it('never holds containment itself, nor evidence after other failures', () => {
    const serverError = aStepOutcome({ status: 'failed', error: { code: 'InternalError', message: 'boom', retryable: true, unsupported: false } });
    expect(yieldsToContainment('contain', { isolate: throttled }, silentLogger())).toBe(false);
    expect(yieldsToContainment('evidence', { isolate: serverError, tag: aStepOutcome({ stage: 'evidence', status: 'failed' }) }, silentLogger())).toBe(false);
    expect(yieldsToContainment('evidence', { snapshot: { ...throttled, stage: 'evidence' } }, silentLogger())).toBe(false);
    expect(yieldsToContainment('evidence', { protect: aStepOutcome({ status: 'failed' }) }, silentLogger())).toBe(false);
  });

  it('knows every service\'s throttling answer Firebreak meets', () => {
    for (const code of ['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException']) expect(THROTTLING_CODES.has(code)).toBe(true);
  });
});
