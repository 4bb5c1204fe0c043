import type { Logger } from '@aws-lambda-powertools/logger';
import * as z from 'zod';
import type { Clients } from '../aws/index.ts';
import { RecordedDataError } from '../errors/index.ts';
import { grantsFor, OWN_STORE_ACTION, type Grant } from '../iam/index.ts';
import type { Incident, PlaybookName } from '../findings/index.ts';
import type { Mode, StepOutcome } from '../vocabulary/index.ts';
import type { AnyStep, PlaybookTypes, ReleaseAction, ReleaseContext, ReleaseEntry, Step, StepOutputs, StepSpec } from './step.ts';

/** Context for describing the resource (read-only). */
export interface DescribeContext<O = unknown> {
  incident: Incident;
  clients: Clients;
  logger: Logger;
  /** The playbook's options; absent when a release (e.g. from the CLI) describes the resource. */
  options?: O;
}

/** What every form of a playbook has: how to read the resource, its isolation step, its options. */
interface PlaybookBase<T extends PlaybookTypes> {
  name: PlaybookName;
  /** The schema of the playbook's options (Terraform's `playbooks.<name>.options`, the function's FIREBREAK_OPTIONS). */
  options: z.ZodType<T['options']>;
  /** Reads the resource (and anything the first containment calls need). Read-only. */
  describe(ctx: DescribeContext<T['options']>): Promise<T['resource']>;
  /** The "before" of containment kept in the ledger at the first delivery, and its schema for reading it back. */
  capture: { schema: z.ZodType<T['capture']>; of(resource: T['resource']): T['capture'] };
  /** The resource's tags (for the exemption tag). */
  tags(resource: T['resource']): Record<string, string>;
  /** Identifiers the protected-resource list is matched against (id, ARN). */
  identifiers(incident: Incident, resource: T['resource']): string[];
  /** Principals the protected-principal list is matched against (e.g. an IAM user ARN). */
  principals(incident: Incident, resource: T['resource']): string[];
  /** IAM actions `describe` needs. */
  describeIamActions: readonly string[];
  /** The step whose completion means the resource is isolated (for time-to-isolation). */
  isolationStep: AnyStep<T>;
}

/** A playbook's steps in the order of the seeds, and how release undoes them. */
export interface PlaybookStages<T extends PlaybookTypes> {
  steps: readonly AnyStep<T>[];
  /**
   * The release order: each step's undo, or a release action, one after another. Reverse
   * containment order is only a default a playbook may not want (EC2 restores security
   * groups before load balancers and the Auto Scaling group send traffic again).
   */
  release: readonly ReleaseEntry<T>[];
}

/**
 * How a playbook is written (`definePlaybook`). Either every step and the release order at once
 * (`steps`, `release`), or, to keep a cold start short, the containment steps (`steps`, all of
 * the contain stage) with the rest behind a loader: `later: () => import('./later.ts')`, a module
 * exporting the evidence and investigation `steps` and the `release` order. A function's bundle
 * splits at that import: the code and SDK clients of the later stages load only once containment
 * has started.
 */
export type PlaybookSpec<T extends PlaybookTypes> = WholePlaybookSpec<T> | SplitPlaybookSpec<T>;
/** A playbook given whole: every step and the release order. */
export type WholePlaybookSpec<T extends PlaybookTypes> = PlaybookBase<T> & PlaybookStages<T> & { later?: never };
/** A playbook whose later stages load on first use. */
export type SplitPlaybookSpec<T extends PlaybookTypes> = PlaybookBase<T> & { steps: readonly AnyStep<T>[]; later: () => Promise<PlaybookStages<T>>; release?: never };

/** A playbook as the engine runs it. */
export interface Playbook<T extends PlaybookTypes> extends PlaybookBase<T> {
  /** The steps loaded with the function: the containment steps (every step, for a playbook with no `later`). */
  containmentSteps: readonly AnyStep<T>[];
  /**
   * Every step (containment first, then the later stages) and the release order, loaded on first
   * call (once) and checked as {@link definePlaybook} says: the one way to get them all (the
   * engine's later stages, release, observe mode, the IAM manifests, the docs and the tests).
   */
  load(): Promise<LoadedPlaybook<T>>;
}

/** A playbook with every step loaded. */
export interface LoadedPlaybook<T extends PlaybookTypes> extends Playbook<T>, PlaybookStages<T> {}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyPlaybook = Playbook<any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLoadedPlaybook = LoadedPlaybook<any>;

const NO_DATA = z.undefined();

/**
 * Defines the steps of one playbook: fixes the playbook's types, infers each step's
 * data type from its schema.
 *
 * @example
 * ```ts
 * const step = defineStep<Ec2>();
 * export const enableTerminationProtection = step({ name: 'enableTerminationProtection', stage: 'contain', … async run(ctx) { … } });
 * ```
 */
export const defineStep =
  <T extends PlaybookTypes>() =>
  <D = undefined>(spec: StepSpec<T, D>): Step<T, D> => ({
    kind: 'step',
    minimumMode: 'contain',
    enabledBy: [],
    requires: [],
    after: [],
    ...spec,
    data: spec.data ?? (NO_DATA as unknown as z.ZodType<D>),
  });

/** Defines a release step that undoes no single containment step. */
export const defineReleaseAction =
  <T extends PlaybookTypes>() =>
  (spec: Omit<ReleaseAction<T>, 'kind'>): ReleaseAction<T> => ({ kind: 'release-action', ...spec });

/** The name a release entry is recorded under. */
export const releaseNameOf = <T extends PlaybookTypes>(entry: ReleaseEntry<T>): string => (entry.kind === 'step' ? entry.undo!.name : entry.name);

/**
 * Defines a playbook and checks its structure: step and release names are unique, every step a
 * step requires or comes after belongs to the playbook and runs in an earlier stage or before it
 * in its own, every release entry that is a step has an undo, and every undo is in the release
 * order; with a `later` loader, the steps given at once are the contain stage and the later ones
 * none of it. A playbook given whole is checked here; one with a `later` loader when it is first
 * loaded (every playbook's tests load it). Throws with every problem at once.
 */
export function definePlaybook<T extends PlaybookTypes>(spec: PlaybookSpec<T>): Playbook<T> {
  const { steps: first, later, release: given, ...base } = spec;
  let loading: Promise<LoadedPlaybook<T>> | undefined;
  const playbook: Playbook<T> = {
    ...base,
    containmentSteps: first,
    load: () => (loading ??= stagesOf().then((stages) => checked({ ...playbook, ...stages }))),
  };
  const stagesOf = async (): Promise<PlaybookStages<T>> => {
    if (!later) return { steps: first, release: given! };
    const rest = await later();
    return { steps: [...first, ...rest.steps], release: rest.release };
  };
  const checked = (loaded: LoadedPlaybook<T>): LoadedPlaybook<T> => {
    const problems = problemsOf(loaded);
    if (later) {
      for (const step of first) if (step.stage !== 'contain') problems.push(`${step.name} (${step.stage}) is loaded with the function: only containment steps are, the rest come from the later stages' loader`);
      for (const step of loaded.steps.slice(first.length)) if (step.stage === 'contain') problems.push(`${step.name} is a containment step loaded later: list it with the playbook's steps`);
      if (!first.includes(loaded.isolationStep)) problems.push(`the isolation step ${loaded.isolationStep.name} must be loaded with the function`);
    }
    if (problems.length) throw new Error(`playbook ${loaded.name} is not well formed: ${problems.join('; ')}`);
    return loaded;
  };
  // Given whole, a playbook is checked as it is defined (its load() is then immediate).
  if (!later) checked({ ...playbook, steps: first, release: given! });
  return playbook;
}

/** What is wrong with a playbook's structure (see {@link definePlaybook}). */
function problemsOf<T extends PlaybookTypes>(playbook: LoadedPlaybook<T>): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  const stageIndex = (s: AnyStep<T>) => ['contain', 'evidence', 'investigate'].indexOf(s.stage);
  for (const step of playbook.steps) {
    if (names.has(step.name)) problems.push(`step ${step.name} is defined twice`);
    names.add(step.name);
    for (const other of [...step.requires, ...step.after]) {
      if (!playbook.steps.includes(other)) problems.push(`${step.name} waits for ${other.name}, which is not a step of ${playbook.name}`);
      else if (stageIndex(other) > stageIndex(step)) problems.push(`${step.name} (${step.stage}) waits for ${other.name} of the later stage ${other.stage}`);
      // Steps of a stage start in order: one waiting for a step listed after it would wait for ever.
      else if (other.stage === step.stage && playbook.steps.indexOf(other) > playbook.steps.indexOf(step)) problems.push(`${step.name} waits for ${other.name}, listed after it in the same stage`);
    }
  }
  if (!playbook.steps.includes(playbook.isolationStep)) problems.push(`the isolation step ${playbook.isolationStep.name} is not a step of ${playbook.name}`);
  const releaseNames = new Set<string>();
  for (const entry of playbook.release) {
    if (entry.kind === 'step' && !entry.undo) problems.push(`release lists ${entry.name}, which has no undo`);
    if (entry.kind === 'step' && !playbook.steps.includes(entry)) problems.push(`release lists ${entry.name}, which is not a step of ${playbook.name}`);
    const name = entry.kind === 'step' ? (entry.undo?.name ?? entry.name) : entry.name;
    if (releaseNames.has(name)) problems.push(`release step ${name} is listed twice`);
    releaseNames.add(name);
  }
  for (const step of playbook.steps) {
    if (step.undo && !playbook.release.includes(step)) problems.push(`${step.name} has an undo (${step.undo.name}) that the release order does not list`);
  }
  return problems;
}

/**
 * Reads steps' recorded outcomes typed by their schemas: the engine gives this to every
 * step and undo, so no step re-validates another's data by hand.
 */
export function outputsReader<T extends PlaybookTypes>(outcomes: () => Readonly<Record<string, StepOutcome>>): StepOutputs<T> {
  return {
    outputOf<D>(step: Step<T, D>): D | undefined {
      const outcome = outcomes()[step.name];
      if (outcome?.status !== 'done') return undefined;
      return parseRecorded(step, outcome.data);
    },
    outcomeOf: (step) => outcomes()[step.name],
  };
}

/** Parses what `step` recorded with its schema; a mismatch is a {@link RecordedDataError}. */
export function parseRecorded<T extends PlaybookTypes, D>(step: Step<T, D>, data: unknown): D {
  const parsed = step.data.safeParse(data);
  if (!parsed.success) throw new RecordedDataError(step.name, parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(data)'}: ${i.message}`));
  return parsed.data;
}

/** Which function of a playbook a statement is for: containment (findings) or release (the undo steps). */
export type FunctionRole = 'contain' | 'release';

/** One statement of a function's IAM manifest: actions, how narrowly, and when the deployment needs them. */
export interface ManifestStatement {
  /** What the actions are for: `describe`, a step's name, or an undo's or release action's name. */
  sid: string;
  actions: string[];
  /** The actions on their resources and conditions (shared/iam), with placeholders Terraform renders. */
  grants: Grant[];
  /** The functions that are granted it: containment steps go to the containment function, undos to the release function. */
  roles: FunctionRole[];
  /** The modes whose functions may call them. */
  modes: Mode[];
  /** Option paths that must all be set (Terraform decides them from the deployment's options). */
  enabledBy: string[];
}

const CONTAINING: Mode[] = ['contain', 'full'];

/**
 * The IAM manifest of a playbook: every action it may call, grouped by what needs it, with the
 * narrowest resources and conditions (shared/iam), the function that calls it and the modes and
 * options that enable it. Terraform grants a function only the statements its role, mode and
 * options enable (observe: describe only; online capture's commands only with online capture;
 * undos only to the release function…). Release runs only where containment could have run, so
 * it follows the containment modes and its step's options.
 */
export function iamManifestOf(playbook: AnyLoadedPlaybook): ManifestStatement[] {
  const statements: ManifestStatement[] = [];
  const add = (sid: string, declared: readonly string[], roles: FunctionRole[], modes: Mode[], enabledBy: readonly string[], when: Readonly<Record<string, readonly string[]>> = {}) => {
    // Firebreak's own stores are granted by the module on exactly those resources.
    const actions = declared.filter((a) => !OWN_STORE_ACTION.test(a));
    const plain = actions.filter((a) => !when[a]);
    if (plain.length) statements.push({ sid, actions: [...plain], grants: grantsFor(plain), roles, modes, enabledBy: [...enabledBy] });
    const extra = new Map<string, string[]>();
    for (const action of actions.filter((a) => when[a])) {
      const key = JSON.stringify([...enabledBy, ...when[action]!]);
      extra.set(key, [...(extra.get(key) ?? []), action]);
    }
    for (const [key, extraActions] of extra) statements.push({ sid: `${sid}-when`, actions: extraActions, grants: grantsFor(extraActions), roles, modes, enabledBy: JSON.parse(key) as string[] });
  };
  add('describe', playbook.describeIamActions, ['contain', 'release'], ['observe', ...CONTAINING], []);
  for (const step of playbook.steps as AnyStep<PlaybookTypes>[]) {
    add(step.name, step.iamActions, ['contain'], step.minimumMode === 'full' ? ['full'] : CONTAINING, step.enabledBy, step.iamWhen);
  }
  for (const entry of playbook.release as ReleaseEntry<PlaybookTypes>[]) {
    if (entry.kind === 'step') add(entry.undo!.name, entry.undo!.iamActions, ['release'], CONTAINING, entry.enabledBy);
    else add(entry.name, entry.iamActions, ['release'], CONTAINING, []);
  }
  return statements;
}

/** Every IAM action a playbook may call (describe, containment and release), with the platform's. */
export function iamActionsOf(playbook: AnyLoadedPlaybook, platform: readonly string[]): string[] {
  const release = (playbook.release as ReleaseEntry<PlaybookTypes>[]).flatMap((e) => (e.kind === 'step' ? (e.undo?.iamActions ?? []) : e.iamActions));
  return [...new Set([...platform, ...playbook.describeIamActions, ...playbook.steps.flatMap((s: AnyStep<PlaybookTypes>) => s.iamActions), ...release])].sort();
}

export type { ReleaseContext };
