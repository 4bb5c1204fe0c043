import { describe, expect, it } from 'vitest';
import { headStart, isolationPath } from '../../../shared/engine/head-start.ts';
import { fakeStep as step, succeeds as ok } from '../helpers/fake-steps.ts';

const make = (name: string, deps: { requires?: ReturnType<typeof step>[]; after?: ReturnType<typeof step>[] } = {}) =>
  step({ name, stage: 'contain', description: name, iamActions: [], run: ok, ...deps });

describe('Function: isolationPath', () => {
  it('holds the isolation step and what it requires or comes after, transitively, within the stage', () => {
    const identify = make('identify');
    const lookup = make('lookup', { requires: [identify] });
    const protect = make('protect');
    const isolate = make('isolate', { requires: [lookup], after: [protect] });
    const detach = make('detach');
    const elsewhere = make('elsewhere');
    const isolateAfterElsewhere = make('isolate2', { after: [elsewhere] });

    expect([...isolationPath(isolate, [detach, protect, lookup, identify, isolate])].map((s) => s.name).sort()).toEqual(['identify', 'isolate', 'lookup', 'protect']);
    // A step of another stage (not among the stage's steps) is not on the path.
    expect([...isolationPath(isolateAfterElsewhere, [isolateAfterElsewhere, detach])].map((s) => s.name)).toEqual(['isolate2']);
  });
});

describe('Function: headStart', () => {
  it('resolves when the isolation settles, before the head start is over', async () => {
    const started = Date.now();
    await headStart(new Promise((r) => setTimeout(r, 10)), 60_000);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('resolves, never rejects, when the isolation fails', async () => {
    await expect(headStart(Promise.reject(new Error('throttled')), 60_000)).resolves.toBeUndefined();
  });

  it('resolves after the head start when the isolation is still running', async () => {
    const started = Date.now();
    await headStart(new Promise(() => undefined), 30);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
