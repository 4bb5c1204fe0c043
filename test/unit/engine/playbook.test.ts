import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  defineReleaseAction,
  definePlaybook,
  defineStep,
  iamActionsOf,
  outputsReader,
  parseRecorded,
  releaseNameOf,
  type AnyStep,
  type WholePlaybookSpec,
  type ReleaseEntry,
} from '../../../shared/engine/index.ts';
import { RecordedDataError } from '../../../shared/errors/index.ts';
import type { StepOutcome } from '../../../shared/vocabulary/index.ts';

interface Fake {
  resource: { id: string };
  capture: { id: string };
  options: Record<string, never>;
}

const step = defineStep<Fake>();
const releaseAction = defineReleaseAction<Fake>();
const ok = async () => ({ status: 'done' as const, summary: 'ok' });
const undo = (name: string, iamActions: string[] = []) => ({ name, description: `Undo ${name}`, iamActions, run: ok });

/** A well-formed playbook of the given steps; each test breaks one rule. */
function aPlaybook(overrides: Partial<WholePlaybookSpec<Fake>> = {}): WholePlaybookSpec<Fake> {
  const isolate = step({ name: 'isolate', stage: 'contain', description: 'Isolate', iamActions: ['ec2:ModifyNetworkInterfaceAttribute'], run: ok, undo: undo('restoreGroups', ['ec2:ModifyNetworkInterfaceAttribute']) });
  const snapshot = step({ name: 'snapshot', stage: 'evidence', description: 'Snapshot', iamActions: ['ec2:CreateSnapshot'], requires: [isolate], run: ok });
  return {
    name: 'ec2-instance',
    options: z.object({}),
    describe: async ({ incident }) => ({ id: incident.resource.id }),
    capture: { schema: z.object({ id: z.string() }), of: (r) => ({ id: r.id }) },
    tags: () => ({}),
    identifiers: (_i, r) => [r.id],
    principals: () => [],
    describeIamActions: ['ec2:DescribeInstances'],
    isolationStep: isolate,
    steps: [isolate, snapshot],
    release: [isolate],
    ...overrides,
  };
}

const problemsOf = (playbook: WholePlaybookSpec<Fake>): string[] => {
  try {
    definePlaybook(playbook);
    return [];
  } catch (error) {
    return (error as Error).message.replace(/^playbook ec2-instance is not well formed: /, '').split('; ');
  }
};

describe('Function: defineStep', () => {
  it('defaults a step to contain mode, no prerequisites and no data', () => {
    // Act
    const s = step({ name: 'tag', stage: 'evidence', description: 'Tag', iamActions: ['ec2:CreateTags'], run: ok });

    // Assess
    expect(s).toMatchObject({ kind: 'step', name: 'tag', stage: 'evidence', minimumMode: 'contain', requires: [], after: [], iamActions: ['ec2:CreateTags'] });
    expect(s.undo).toBeUndefined();
    // A step that records nothing accepts only nothing.
    expect(s.data.safeParse(undefined).success).toBe(true);
    expect(s.data.safeParse({ any: 'thing' }).success).toBe(false);
  });

  it('keeps what the step declares', () => {
    // Prepare
    const first = step({ name: 'first', stage: 'contain', description: 'First', iamActions: [], run: ok });
    const data = z.object({ groupId: z.string() });

    // Act
    const s = step({ name: 'stop', stage: 'investigate', description: 'Stop', iamActions: [], minimumMode: 'full', requires: [first], after: [first], data, run: ok, undo: undo('start') });

    // Assess
    expect(s).toMatchObject({ minimumMode: 'full', requires: [first], after: [first], undo: { name: 'start' } });
    expect(s.data).toBe(data);
  });
});

describe('Function: defineReleaseAction', () => {
  it('marks a release step that undoes no single containment step', () => {
    // Act
    const action = releaseAction({ name: 'tagReleased', description: 'Tag released', iamActions: ['ec2:CreateTags'], run: ok });

    // Assess
    expect(action).toEqual({ kind: 'release-action', name: 'tagReleased', description: 'Tag released', iamActions: ['ec2:CreateTags'], run: ok });
  });
});

describe('Function: definePlaybook', () => {
  it('returns a well-formed playbook given whole with every step loaded with it', async () => {
    // Prepare
    const playbook = aPlaybook();

    // Act
    const defined = definePlaybook(playbook);

    // Assess
    expect(defined).toMatchObject({ name: 'ec2-instance', isolationStep: playbook.isolationStep, containmentSteps: playbook.steps });
    expect(await defined.load()).toMatchObject({ steps: playbook.steps, release: playbook.release });
  });

  it('accepts a step that waits for a step of its own stage or an earlier one', () => {
    // Prepare
    const base = aPlaybook();
    const [isolate, snapshot] = base.steps as [AnyStep<Fake>, AnyStep<Fake>];
    const memory = step({ name: 'memory', stage: 'evidence', description: 'Memory', iamActions: [], after: [snapshot, isolate], run: ok });

    // Act
    const problems = problemsOf({ ...base, steps: [isolate, snapshot, memory] });

    // Assess
    expect(problems).toEqual([]);
  });

  it('refuses a step name used twice', () => {
    // Prepare
    const base = aPlaybook();
    const twin = step({ name: 'snapshot', stage: 'evidence', description: 'Again', iamActions: [], run: ok });

    // Act
    const problems = problemsOf({ ...base, steps: [...base.steps, twin] });

    // Assess
    expect(problems).toEqual(['step snapshot is defined twice']);
  });

  it('refuses a step that requires or comes after a step the playbook does not have', () => {
    // Prepare
    const base = aPlaybook();
    const stranger = step({ name: 'stranger', stage: 'contain', description: 'Elsewhere', iamActions: [], run: ok });
    const waits = step({ name: 'waits', stage: 'evidence', description: 'Waits', iamActions: [], requires: [stranger], after: [stranger], run: ok });

    // Act
    const problems = problemsOf({ ...base, steps: [...base.steps, waits] });

    // Assess
    expect(problems).toEqual(['waits waits for stranger, which is not a step of ec2-instance', 'waits waits for stranger, which is not a step of ec2-instance']);
  });

  it('refuses a step that waits for a step of a later stage', () => {
    // Prepare
    const base = aPlaybook();
    const late = step({ name: 'late', stage: 'investigate', description: 'Late', iamActions: [], run: ok });
    const early = step({ name: 'early', stage: 'contain', description: 'Early', iamActions: [], after: [late], run: ok });

    // Act
    const problems = problemsOf({ ...base, steps: [...base.steps, late, early] });

    // Assess
    expect(problems).toEqual(['early (contain) waits for late of the later stage investigate']);
  });

  it('refuses a step that waits for a step listed after it in the same stage', () => {
    // Prepare
    const base = aPlaybook();
    const memory = step({ name: 'memory', stage: 'evidence', description: 'Memory', iamActions: [], run: ok });
    const volatile = step({ name: 'volatile', stage: 'evidence', description: 'Volatile', iamActions: [], after: [memory], run: ok });

    // Act
    const problems = problemsOf({ ...base, steps: [...base.steps, volatile, memory] });

    // Assess
    expect(problems).toEqual(['volatile waits for memory, listed after it in the same stage']);
  });

  it('refuses an isolation step the playbook does not run', () => {
    // Prepare
    const elsewhere = step({ name: 'isolateElsewhere', stage: 'contain', description: 'Isolate', iamActions: [], run: ok });

    // Act
    const problems = problemsOf(aPlaybook({ isolationStep: elsewhere }));

    // Assess
    expect(problems).toEqual(['the isolation step isolateElsewhere is not a step of ec2-instance']);
  });

  it('refuses a release entry that is a step without an undo', () => {
    // Prepare
    const base = aPlaybook();
    const [isolate, snapshot] = base.steps as [AnyStep<Fake>, AnyStep<Fake>];

    // Act
    const problems = problemsOf({ ...base, release: [isolate, snapshot] });

    // Assess
    expect(problems).toEqual(['release lists snapshot, which has no undo']);
  });

  it('refuses a release entry that is a step of another playbook', () => {
    // Prepare
    const base = aPlaybook();
    const foreign = step({ name: 'foreign', stage: 'contain', description: 'Foreign', iamActions: [], run: ok, undo: undo('undoForeign') });

    // Act
    const problems = problemsOf({ ...base, release: [...base.release, foreign] });

    // Assess
    expect(problems).toEqual(['release lists foreign, which is not a step of ec2-instance']);
  });

  it('refuses a release name listed twice, whether an undo or a release action', () => {
    // Prepare
    const base = aPlaybook();
    const clash = releaseAction({ name: 'restoreGroups', description: 'Also restore', iamActions: [], run: ok });
    const tag = releaseAction({ name: 'tagReleased', description: 'Tag', iamActions: [], run: ok });

    // Act
    const problems = problemsOf({ ...base, release: [...base.release, clash, tag, tag] });

    // Assess
    expect(problems).toEqual(['release step restoreGroups is listed twice', 'release step tagReleased is listed twice']);
  });

  it('refuses an undo the release order does not list', () => {
    // Act
    const problems = problemsOf(aPlaybook({ release: [] }));

    // Assess
    expect(problems).toEqual(['isolate has an undo (restoreGroups) that the release order does not list']);
  });

  it('names every problem at once', () => {
    // Prepare
    const base = aPlaybook();
    const [isolate, snapshot] = base.steps as [AnyStep<Fake>, AnyStep<Fake>];
    const twin = step({ name: 'isolate', stage: 'contain', description: 'Twin', iamActions: [], run: ok });

    // Act
    const define = () => definePlaybook({ ...base, steps: [snapshot, twin, isolate], release: [snapshot] });

    // Assess
    expect(define).toThrow(
      'playbook ec2-instance is not well formed: step isolate is defined twice; release lists snapshot, which has no undo; isolate has an undo (restoreGroups) that the release order does not list',
    );
  });
});

describe('Function: releaseNameOf', () => {
  it("records a step's release under its undo's name, and a release action under its own", () => {
    // Prepare
    const { release } = aPlaybook();
    const action = releaseAction({ name: 'tagReleased', description: 'Tag', iamActions: [], run: ok });

    // Act
    const names = [...release, action].map((entry: ReleaseEntry<Fake>) => releaseNameOf(entry));

    // Assess
    expect(names).toEqual(['restoreGroups', 'tagReleased']);
  });
});

describe('Function: outputsReader', () => {
  const quarantine = step({
    name: 'quarantine',
    stage: 'contain',
    description: 'Quarantine',
    iamActions: [],
    data: z.object({ groupId: z.string(), previous: z.array(z.string()).default([]) }),
    run: async () => ({ status: 'done', summary: 'moved', data: { groupId: 'sg-q', previous: [] } }),
  });
  const outcome = (status: StepOutcome['status'], data?: unknown): StepOutcome => ({ stage: 'contain', status, summary: status, attempts: 1, ...(data !== undefined ? { data } : {}) });

  it('reads what a done step recorded through its schema', () => {
    // Prepare
    const reader = outputsReader<Fake>(() => ({ quarantine: outcome('done', { groupId: 'sg-q' }) }));

    // Act
    const data = reader.outputOf(quarantine);

    // Assess
    expect(data).toEqual({ groupId: 'sg-q', previous: [] });
  });

  it.each<[string, Record<string, StepOutcome>]>([
    ['never ran', {}],
    ['was skipped', { quarantine: outcome('skipped', { groupId: 'sg-q' }) }],
    ['failed', { quarantine: outcome('failed') }],
    ['is pending', { quarantine: outcome('pending', { groupId: 'sg-q' }) }],
    ['was only planned', { quarantine: outcome('planned') }],
  ])('reads nothing from a step that %s', (_what, outcomes) => {
    // Prepare
    const reader = outputsReader<Fake>(() => outcomes);

    // Act
    const data = reader.outputOf(quarantine);

    // Assess
    expect(data).toBeUndefined();
  });

  it('throws RecordedDataError when what a done step recorded does not match its schema', () => {
    // Prepare
    const reader = outputsReader<Fake>(() => ({ quarantine: outcome('done', { groupId: 42 }) }));

    // Act
    const read = () => reader.outputOf(quarantine);

    // Assess
    expect(read).toThrow(RecordedDataError);
    expect(read).toThrow(expect.objectContaining({ code: 'RecordedDataInvalid', retryable: false, step: 'quarantine' }));
  });

  it('gives the latest outcome of a step, whatever its status, read when asked', () => {
    // Prepare
    const outcomes: Record<string, StepOutcome> = {};
    const reader = outputsReader<Fake>(() => outcomes);
    const before = reader.outcomeOf(quarantine);

    // Act
    outcomes.quarantine = outcome('failed');
    const after = reader.outcomeOf(quarantine);

    // Assess
    expect(before).toBeUndefined();
    expect(after).toEqual(outcome('failed'));
  });
});

describe('Function: parseRecorded', () => {
  const data = z.object({ groupId: z.string(), interfaces: z.array(z.object({ id: z.string() })) });
  const s = step({ name: 'isolate', stage: 'contain', description: 'Isolate', iamActions: [], data, run: neverRun });

  it('returns the data as the schema reads it', () => {
    // Act
    const parsed = parseRecorded(s, { groupId: 'sg-q', interfaces: [{ id: 'eni-1', extra: true }] });

    // Assess
    expect(parsed).toEqual({ groupId: 'sg-q', interfaces: [{ id: 'eni-1' }] });
  });

  it('names the step and where the data is wrong, at most five issues', () => {
    // Prepare
    const interfaces = Array.from({ length: 7 }, () => ({ id: 1 }));

    // Act
    const error = (() => {
      try {
        parseRecorded(s, { groupId: 'sg-q', interfaces });
      } catch (e) {
        return e as RecordedDataError;
      }
      throw new Error('no error');
    })();

    // Assess
    expect(error).toBeInstanceOf(RecordedDataError);
    expect(error.step).toBe('isolate');
    expect(error.issues).toHaveLength(5);
    expect(error.issues[0]).toMatch(/^interfaces\.0\.id: /);
    expect(error.message).toMatch(/^The ledger's data of step isolate does not match its schema: interfaces\.0\.id: /);
  });

  it('says "(data)" when the data as a whole is wrong', () => {
    // Act
    const parse = () => parseRecorded(s, undefined);

    // Assess
    expect(parse).toThrow(/^The ledger's data of step isolate does not match its schema: \(data\): /);
  });
});

describe('Function: iamActionsOf', () => {
  it('lists every action of the platform, describe, the steps and the release once, sorted', async () => {
    // Prepare
    const base = aPlaybook();
    const tag = releaseAction({ name: 'tagReleased', description: 'Tag', iamActions: ['ec2:DeleteTags', 'ec2:CreateTags'], run: ok });
    const playbook = await definePlaybook({ ...base, release: [...base.release, tag] }).load();

    // Act
    const actions = iamActionsOf(playbook, ['s3:PutObject', 'ec2:CreateSnapshot']);

    // Assess
    expect(actions).toEqual(['ec2:CreateSnapshot', 'ec2:CreateTags', 'ec2:DeleteTags', 'ec2:DescribeInstances', 'ec2:ModifyNetworkInterfaceAttribute', 's3:PutObject']);
  });

  it('lists nothing for the release of a playbook that has none', async () => {
    // Prepare
    const base = aPlaybook();
    const isolate = step({ name: 'isolate', stage: 'contain', description: 'Isolate', iamActions: ['ec2:ModifyNetworkInterfaceAttribute'], run: ok });

    // Act
    const actions = iamActionsOf(await definePlaybook({ ...base, isolationStep: isolate, steps: [isolate], release: [] }).load(), []);

    // Assess
    expect(actions).toEqual(['ec2:DescribeInstances', 'ec2:ModifyNetworkInterfaceAttribute']);
  });
});

async function neverRun(): Promise<never> {
  throw new Error('not run in these tests');
}

describe('Function: definePlaybook, with later stages behind a loader', () => {
  const isolate = step({ name: 'isolate', stage: 'contain', description: 'Isolate', iamActions: ['ec2:ModifyNetworkInterfaceAttribute'], run: ok, undo: undo('restoreGroups') });
  const protect = step({ name: 'protect', stage: 'contain', description: 'Protect', iamActions: ['ec2:ModifyInstanceAttribute'], run: ok });
  const snapshot = step({ name: 'snapshot', stage: 'evidence', description: 'Snapshot', iamActions: ['ec2:CreateSnapshot'], requires: [isolate], run: ok });
  const stop = step({ name: 'stop', stage: 'investigate', description: 'Stop', iamActions: ['ec2:StopInstances'], after: [snapshot], run: ok });
  const tagReleased = releaseAction({ name: 'tagReleased', description: 'Tag', iamActions: ['ec2:CreateTags'], run: ok });
  const { steps: _steps, release: _release, ...base } = aPlaybook();
  const split = (steps: AnyStep<Fake>[], later: () => Promise<{ steps: AnyStep<Fake>[]; release: ReleaseEntry<Fake>[] }>) => definePlaybook<Fake>({ ...base, isolationStep: isolate, steps, later });

  it('holds only the containment steps until loaded, then every step in order and the release order', async () => {
    // Prepare
    let loads = 0;
    const playbook = split([isolate, protect], async () => {
      loads++;
      return { steps: [snapshot, stop], release: [isolate, tagReleased] };
    });

    // Act
    const before = loads;
    const [first, second] = await Promise.all([playbook.load(), playbook.load()]);

    // Assess
    expect(before).toBe(0);
    expect(playbook.containmentSteps).toEqual([isolate, protect]);
    expect(first.steps).toEqual([isolate, protect, snapshot, stop]);
    expect(first.release).toEqual([isolate, tagReleased]);
    expect(second).toBe(first);
    expect(loads).toBe(1);
    expect(iamActionsOf(first, [])).toEqual(['ec2:CreateSnapshot', 'ec2:CreateTags', 'ec2:DescribeInstances', 'ec2:ModifyInstanceAttribute', 'ec2:ModifyNetworkInterfaceAttribute', 'ec2:StopInstances']);
  });

  it('refuses, when loaded, a later step given with the function, a containment step loaded later and an isolation step loaded later', async () => {
    // Prepare
    const wrong = split([protect, snapshot], async () => ({ steps: [isolate, stop], release: [isolate] }));

    // Act
    const loading = wrong.load();

    // Assess
    await expect(loading).rejects.toThrow(
      'playbook ec2-instance is not well formed: ' +
        'snapshot (evidence) is loaded with the function: only containment steps are, the rest come from the later stages\' loader; ' +
        "isolate is a containment step loaded later: list it with the playbook's steps; the isolation step isolate must be loaded with the function",
    );
  });

  it('checks the loaded release order like a playbook given whole', async () => {
    // Prepare
    const playbook = split([isolate], async () => ({ steps: [snapshot], release: [] }));

    // Act
    const loading = playbook.load();

    // Assess
    await expect(loading).rejects.toThrow('isolate has an undo (restoreGroups) that the release order does not list');
  });

  it('passes on a loader that fails, when loaded', async () => {
    // Prepare
    const playbook = split([isolate], () => Promise.reject(new Error('chunk missing')));

    // Act
    const loading = playbook.load();

    // Assess
    await expect(loading).rejects.toThrow('chunk missing');
  });
});
