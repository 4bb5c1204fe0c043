import { describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { definePlaybook, type AnyStep } from '../../../shared/engine/index.ts';
import { loadAfterIsolation } from '../../../shared/engine/stages.ts';
import { fakeStep as step, succeeds as ok, type FakeTypes as Fake } from '../helpers/fake-steps.ts';

const isolate = step({ name: 'isolate', stage: 'contain', description: 'Isolate', iamActions: [], run: ok });
const protect = step({ name: 'protect', stage: 'contain', description: 'Protect', iamActions: [], run: ok });
const snapshot = step({ name: 'snapshot', stage: 'evidence', description: 'Snapshot', iamActions: [], run: ok });

function aSplitPlaybook(later: () => Promise<{ steps: AnyStep<Fake>[]; release: [] }>) {
  return definePlaybook<Fake>({
    name: 'ec2-instance',
    options: z.object({}),
    describe: async ({ incident }) => ({ id: incident.resource.id }),
    capture: { schema: z.object({ id: z.string() }), of: (r) => ({ id: r.id }) },
    tags: () => ({}),
    identifiers: (_i, r) => [r.id],
    principals: () => [],
    describeIamActions: [],
    isolationStep: isolate,
    steps: [isolate, protect],
    later,
  });
}

/** A promise and its resolve/reject, for a step still running. */
function running() {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('Function: loadAfterIsolation', () => {
  it('loads the later stages once the isolation step has finished, not before', async () => {
    // Prepare
    const later = vi.fn(async () => ({ steps: [snapshot], release: [] as [] }));
    const playbook = aSplitPlaybook(later);
    const isolation = running();
    const protection = running();

    // Act
    const loading = loadAfterIsolation(
      playbook,
      new Map([
        [isolate, isolation.promise],
        [protect, protection.promise],
      ]),
    );
    await new Promise((r) => setTimeout(r, 5));
    const calledBeforeIsolation = later.mock.calls.length;
    isolation.resolve();
    const loaded = await loading;

    // Assess
    expect(calledBeforeIsolation).toBe(0);
    expect(later).toHaveBeenCalledTimes(1);
    expect(loaded.steps).toEqual([isolate, protect, snapshot]);
  });

  it('loads them too when the isolation step failed', async () => {
    // Prepare
    const playbook = aSplitPlaybook(async () => ({ steps: [snapshot], release: [] }));
    const isolation = running();

    // Act
    const loading = loadAfterIsolation(playbook, new Map([[isolate, isolation.promise]]));
    isolation.reject(new Error('ledger unavailable'));

    // Assess
    expect((await loading).steps.map((s) => s.name)).toEqual(['isolate', 'protect', 'snapshot']);
  });

  it('waits for the whole contain stage when the isolation step is not in it', async () => {
    // Prepare
    const later = vi.fn(async () => ({ steps: [snapshot], release: [] as [] }));
    const playbook = aSplitPlaybook(later);
    const protection = running();

    // Act
    const loading = loadAfterIsolation(playbook, new Map([[protect, protection.promise]]));
    await new Promise((r) => setTimeout(r, 5));
    const calledEarly = later.mock.calls.length;
    protection.resolve();
    await loading;

    // Assess
    expect(calledEarly).toBe(0);
    expect(later).toHaveBeenCalledTimes(1);
  });

  it('leaves a failed load to whoever awaits it (no unhandled rejection)', async () => {
    // Prepare
    const playbook = aSplitPlaybook(() => Promise.reject(new Error('chunk missing')));
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);

    // Act
    const loading = loadAfterIsolation(playbook, new Map([[isolate, Promise.resolve()]]));
    await new Promise((r) => setTimeout(r, 20));

    // Assess
    expect(unhandled).not.toHaveBeenCalled();
    await expect(loading).rejects.toThrow('chunk missing');
    process.off('unhandledRejection', unhandled);
  });
});
