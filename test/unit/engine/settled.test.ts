import { describe, expect, it } from 'vitest';
import { isFinalOutcome, settled } from '../../../shared/engine/settled.ts';
import type { StepOutcome } from '../../../shared/vocabulary/index.ts';

const outcome = (status: StepOutcome['status'], attempts = 1): StepOutcome => ({ stage: 'contain', status, summary: status, attempts });
const steps = [{ name: 'isolate' }, { name: 'detach' }];

describe('Function: isFinalOutcome', () => {
  it('takes a done step, and a step that ran and found nothing to do, as final; nothing else', () => {
    expect(isFinalOutcome(outcome('done'))).toBe(true);
    expect(isFinalOutcome(outcome('skipped'))).toBe(true);
    // Skipped without running: for the mode, or because a step it requires failed
    expect(isFinalOutcome(outcome('skipped', 0))).toBe(false);
    expect(isFinalOutcome(outcome('failed'))).toBe(false);
    expect(isFinalOutcome(outcome('pending'))).toBe(false);
    expect(isFinalOutcome(outcome('planned', 0))).toBe(false);
    expect(isFinalOutcome(undefined)).toBe(false);
  });
});

describe('Function: settled', () => {
  it('is true only for a contained incident whose every step of the playbook is final', () => {
    expect(settled(steps, { status: 'contained', steps: { isolate: outcome('done'), detach: outcome('skipped') } })).toBe(true);
    expect(settled(steps, { status: 'contained', steps: { isolate: outcome('done'), detach: outcome('failed') } })).toBe(false);
    // A step this version added, which the record does not have yet
    expect(settled(steps, { status: 'contained', steps: { isolate: outcome('done') } })).toBe(false);
    expect(settled(steps, { status: 'retrying', steps: { isolate: outcome('done'), detach: outcome('done') } })).toBe(false);
    expect(settled(steps, { status: 'released', steps: { isolate: outcome('done'), detach: outcome('done') } })).toBe(false);
    expect(settled(steps, undefined)).toBe(false);
  });

  it('keeps an incident unsettled while a step that asks to be revisited is skipped', () => {
    const revisited = [{ name: 'isolate' }, { name: 'detach', revisitWhenSkipped: true }];
    expect(settled(revisited, { status: 'contained', steps: { isolate: outcome('done'), detach: outcome('skipped') } })).toBe(false);
    expect(settled(revisited, { status: 'contained', steps: { isolate: outcome('done'), detach: outcome('done') } })).toBe(true);
  });
});
