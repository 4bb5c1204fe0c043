import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { ClientFactory } from '../../../shared/aws/index.ts';
import type { Config } from '../../../shared/config/index.ts';
import {
  defineReleaseAction,
  definePlaybook,
  defineStep,
  releaseIncident,
  runPlaybook,
  type AnyPlaybook,
  type AnyStep,
  type Playbook,
  type ReleaseContext,
  type ReleaseDeps,
  type ReleaseEntry,
  type ReleaseRequest,
  type ReleaseResult,
  type StepContext,
  type StepResult,
  type UndoContext,
} from '../../../shared/engine/index.ts';
import { ReleaseRefusedError, ResourceNotFoundError } from '../../../shared/errors/index.ts';
import { EvidenceStore } from '../../../shared/evidence/index.ts';
import type { Incident } from '../../../shared/findings/index.ts';
import {
  aConfig,
  anIncident,
  anS3Client,
  awsError,
  EVIDENCE_BUCKET,
  FIXED_NOW,
  InMemoryLedger,
  INSTANCE_ID,
  motoNotImplemented,
  RESPONDER,
  silentLogger,
  someClients,
} from '../helpers/factories.ts';

interface FakeResource {
  id: string;
  groups: string[];
  /** The group (think Auto Scaling group) the resource is in, if any. */
  group?: string;
}

const FakeCaptureSchema = z.object({ id: z.string(), groups: z.array(z.string()) });

interface Fake {
  resource: FakeResource;
  capture: z.infer<typeof FakeCaptureSchema>;
  options: Record<string, never>;
}

const step = defineStep<Fake>();
const releaseAction = defineReleaseAction<Fake>();

const INCIDENT_ID = anIncident().incidentId;
const BOB = 'arn:aws:iam::111122223333:user/bob';
const CONTAINED_AT = new Date(FIXED_NOW.getTime() - 3600_000);
const minutes = (n: number) => new Date(FIXED_NOW.getTime() + n * 60_000);

/** How an undo (or the release action) behaves in a test; `undefined` does what the fake does by default. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Undoing = (ctx: UndoContext<Fake, any>) => Promise<ReleaseResult | undefined>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Containing = (ctx: StepContext<Fake, any>) => Promise<StepResult<any>>;

const IsolationData = z.object({ previousGroups: z.array(z.string()), quarantineGroup: z.string() });
/** What an earlier version of the isolation step recorded. */
const OldIsolationData = z.object({ groups: z.string() });

/**
 * A playbook that contains for real what the fake resource describes: isolate (records the
 * groups it replaced), detach from the resource's group (records which), protect (records
 * nothing), snapshot (no undo); released in the order restoreGroups, reattach, unprotect,
 * then the tagReleased action. `contain` and `undo` change how a step or an undo behaves.
 */
function fakePlaybook(
  options: {
    contain?: Record<string, Containing>;
    undo?: Record<string, Undoing>;
    resource?: FakeResource;
    /** The steps this version has (an older version lacks protect). */
    steps?: Array<'isolate' | 'detach' | 'protect' | 'snapshot'>;
    /** An older version recorded the isolation in another shape. */
    oldIsolationData?: boolean;
  } = {},
) {
  const order: string[] = [];
  const undoOf = <D>(name: string, fallback: (ctx: UndoContext<Fake, D>) => Promise<ReleaseResult>) => ({
    name,
    description: `Undo: ${name}`,
    iamActions: [`ec2:${name}`],
    run: vi.fn(async (ctx: UndoContext<Fake, D>) => {
      order.push(name);
      return (await options.undo?.[name]?.(ctx)) ?? fallback(ctx);
    }),
  });
  const containWith = <D>(name: string, fallback: (ctx: StepContext<Fake, D>) => Promise<StepResult<D>>) =>
    vi.fn(async (ctx: StepContext<Fake, D>) => (await options.contain?.[name]?.(ctx)) ?? fallback(ctx));

  const isolate = options.oldIsolationData
    ? step({
        name: 'isolate',
        stage: 'contain',
        description: 'Isolate',
        iamActions: ['ec2:ModifyNetworkInterfaceAttribute'],
        data: OldIsolationData,
        run: containWith('isolate', async (ctx) => ({ status: 'done', summary: 'isolated', data: { groups: ctx.resource.groups.join(',') } })),
        undo: undoOf('restoreGroups', async () => ({ status: 'done', summary: 'restored' })),
      })
    : step({
        name: 'isolate',
        stage: 'contain',
        description: 'Isolate',
        iamActions: ['ec2:ModifyNetworkInterfaceAttribute'],
        data: IsolationData,
        run: containWith('isolate', async (ctx) => ({ status: 'done', summary: 'isolated', data: { previousGroups: ctx.resource.groups, quarantineGroup: 'sg-quarantine' } })),
        undo: undoOf<z.infer<typeof IsolationData>>('restoreGroups', async (ctx) => ({ status: 'done', summary: `restored ${ctx.recorded.previousGroups.join(', ')}` })),
      });
  const detach = step({
    name: 'detach',
    stage: 'contain',
    description: 'Detach from its group',
    iamActions: ['autoscaling:DetachInstances'],
    data: z.object({ group: z.string() }),
    run: containWith('detach', async (ctx) =>
      ctx.resource.group ? { status: 'done', summary: `detached from ${ctx.resource.group}`, data: { group: ctx.resource.group } } : { status: 'skipped', summary: 'in no group' },
    ),
    undo: undoOf<{ group: string }>('reattach', async (ctx) =>
      ctx.request.reattach ? { status: 'done', summary: `reattached to ${ctx.recorded.group}` } : { status: 'skipped', summary: `left out of ${ctx.recorded.group} (reattach was not asked for)` },
    ),
  });
  const protect = step({
    name: 'protect',
    stage: 'contain',
    description: 'Protect',
    iamActions: ['ec2:ModifyInstanceAttribute'],
    run: containWith('protect', async () => ({ status: 'done', summary: 'protected' })),
    undo: undoOf('unprotect', async () => ({ status: 'done', summary: 'stop protection removed', keptProtections: ['termination protection'] })),
  });
  const snapshot = step({ name: 'snapshot', stage: 'evidence', description: 'Snapshot', iamActions: ['ec2:CreateSnapshot'], run: containWith('snapshot', async () => ({ status: 'done', summary: 'snapshotted' })) });
  const tagReleased = releaseAction({
    name: 'tagReleased',
    description: 'Tag the resource released',
    iamActions: ['ec2:CreateTags'],
    run: vi.fn(async (ctx: ReleaseContext<Fake>): Promise<ReleaseResult> => {
      order.push('tagReleased');
      return (await options.undo?.tagReleased?.(ctx as UndoContext<Fake, never>)) ?? { status: 'done', summary: 'tagged released' };
    }),
  });
  const all = { isolate, detach, protect, snapshot };
  const steps = (options.steps ?? ['isolate', 'detach', 'protect', 'snapshot']).map((n) => all[n] as AnyStep<Fake>);
  const release: ReleaseEntry<Fake>[] = [...[isolate, detach, protect].filter((s) => steps.includes(s)), tagReleased];
  const describeResource = vi.fn<Playbook<Fake>['describe']>(async () => options.resource ?? { id: INSTANCE_ID, groups: ['sg-web'], group: 'asg-web' });
  const playbook = definePlaybook<Fake>({
    name: 'ec2-instance',
    options: z.object({}),
    describe: describeResource,
    capture: { schema: FakeCaptureSchema, of: (r) => ({ id: r.id, groups: r.groups }) },
    tags: () => ({}),
    identifiers: (_i, r) => [r.id],
    principals: () => [],
    describeIamActions: ['ec2:DescribeInstances'],
    isolationStep: isolate,
    steps,
    release,
  });
  const undos = { restoreGroups: isolate.undo!.run, reattach: detach.undo!.run, unprotect: protect.undo!.run, tagReleased: tagReleased.run };
  return { playbook, order, undos, describeResource, steps: all };
}

/** Contains `incident` with `playbook` as a delivery would: what it records is what release reads. */
async function contain(playbook: AnyPlaybook, ledger: InMemoryLedger, incident: Incident = anIncident(), config: Partial<Config> = {}): Promise<void> {
  await runPlaybook(
    {
      config: aConfig(config),
      options: {},
      clientsFor: () => someClients(),
      ledger: ledger.asLedger(),
      evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
      logger: silentLogger(),
      now: () => CONTAINED_AT,
    },
    playbook,
    incident,
    { messageId: 'msg-1' },
  );
}

/** A contained incident's ledger, and the playbook that contained it. */
async function containedWith(options: Parameters<typeof fakePlaybook>[0] = {}, config: Partial<Config> = {}) {
  const fake = fakePlaybook(options);
  const ledger = new InMemoryLedger();
  await contain(fake.playbook, ledger, anIncident(), config);
  fake.describeResource.mockClear();
  return { ...fake, ledger };
}

function deps(playbook: AnyPlaybook | undefined, ledger: InMemoryLedger, at = FIXED_NOW, playbookFor?: ReleaseDeps['playbookFor']) {
  const clientsFor = vi.fn<ClientFactory>(() => someClients());
  let tick = 0;
  const d: ReleaseDeps = {
    ledger: ledger.asLedger(),
    clientsFor,
    logger: silentLogger(),
    playbookFor: playbookFor ?? ((name) => (name === playbook?.name ? playbook : undefined)),
    now: () => new Date(at.getTime() + 1000 * tick++),
  };
  return { deps: d, clientsFor };
}

function aReleaseRequest(overrides: Partial<ReleaseRequest> = {}): ReleaseRequest {
  return { incidentId: INCIDENT_ID, reason: 'false positive: scheduled pen test SEC-42', reattach: false, requestedBy: RESPONDER, via: 'cli', ...overrides };
}

const refusal = async (p: Promise<unknown>): Promise<ReleaseRefusedError> => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReleaseRefusedError);
  return error as ReleaseRefusedError;
};

const deferred = () => {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
};

describe('Function: releaseIncident', () => {
  it('runs the undos and release actions in the release order, and records who released the incident, when and why', async () => {
    // Prepare
    const { playbook, order, ledger } = await containedWith();
    const containment = structuredClone(ledger.record(INCIDENT_ID).steps);
    const { deps: d, clientsFor } = deps(playbook, ledger);

    // Act
    const result = await releaseIncident(d, aReleaseRequest({ reason: 'false\npositive: pen test SEC-42 ' }));

    // Assess
    expect(order).toEqual(['restoreGroups', 'reattach', 'unprotect', 'tagReleased']);
    expect(clientsFor).toHaveBeenCalledWith({ accountId: '111122223333', region: 'us-east-1', incidentId: INCIDENT_ID });
    expect(result).toMatchObject({
      incidentId: INCIDENT_ID,
      outcome: 'released',
      ran: ['restoreGroups', 'reattach', 'unprotect', 'tagReleased'],
      failures: [],
      retryableFailures: [],
      releasedBy: RESPONDER,
    });
    expect(Object.keys(result.steps)).toEqual(['restoreGroups', 'reattach', 'unprotect', 'tagReleased']);
    const record = ledger.record(INCIDENT_ID);
    expect(record.status).toBe('released');
    expect(record.release).toMatchObject({
      status: 'released',
      requestedBy: RESPONDER,
      releasedBy: RESPONDER,
      reason: 'false positive: pen test SEC-42',
      via: 'cli',
      reattach: false,
      requestedAt: FIXED_NOW.toISOString(),
      releasedAt: result.releasedAt,
      failures: [],
      attempts: [{ requestedBy: RESPONDER, reason: 'false positive: pen test SEC-42', via: 'cli', reattach: false, requestedAt: FIXED_NOW.toISOString() }],
    });
    expect(record.statusReason).toBe(`released by ${RESPONDER} at ${result.releasedAt} (cli): false positive: pen test SEC-42`);
    expect(result.summary).toBe(record.statusReason);
    expect(record.release!.steps.restoreGroups).toMatchObject({ stage: 'release', status: 'done', summary: 'restored sg-web', attempts: 1 });
    expect(record.release!.steps.reattach).toMatchObject({ status: 'skipped', summary: 'left out of asg-web (reattach was not asked for)' });
    // Containment's record is untouched: the evidence of what was done stays.
    expect(record.steps).toEqual(containment);
  });

  it('gives each undo the data its step recorded, typed by its schema, with the request, the capture and the resource described once', async () => {
    // Prepare
    const seen: Record<string, unknown> = {};
    const look = (name: string) => async (ctx: UndoContext<Fake, unknown>) => {
      seen[name] = { recorded: ctx.recorded, capture: ctx.capture, resource: await ctx.resource(), reattach: ctx.request.reattach, released: Object.keys(ctx.released), previous: ctx.previous };
      return undefined;
    };
    let fromAction: unknown;
    const tagReleased = async (ctx: ReleaseContext<Fake>) => {
      fromAction = { isolation: ctx.outputOf(steps.isolate), detach: ctx.outcomeOf(steps.detach)?.status, released: Object.keys(ctx.released) };
      return undefined;
    };
    const resource = { id: INSTANCE_ID, groups: ['sg-web', 'sg-admin'], group: 'asg-web' };
    const { playbook, ledger, describeResource, steps } = await containedWith({ resource, undo: { restoreGroups: look('restoreGroups'), reattach: look('reattach'), tagReleased } });
    const incident = ledger.record(INCIDENT_ID).incident;

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ reattach: true }));

    // Assess
    expect(result.outcome).toBe('released');
    expect(seen.restoreGroups).toEqual({
      recorded: { previousGroups: ['sg-web', 'sg-admin'], quarantineGroup: 'sg-quarantine' },
      capture: { id: INSTANCE_ID, groups: ['sg-web', 'sg-admin'] },
      resource,
      reattach: true,
      released: [],
      previous: undefined,
    });
    expect(seen.reattach).toMatchObject({ recorded: { group: 'asg-web' }, released: ['restoreGroups'] });
    expect(result.steps.reattach).toMatchObject({ status: 'done', summary: 'reattached to asg-web' });
    expect(fromAction).toEqual({ isolation: { previousGroups: ['sg-web', 'sg-admin'], quarantineGroup: 'sg-quarantine' }, detach: 'done', released: ['restoreGroups', 'reattach', 'unprotect'] });
    // Described once, with the incident as containment recorded it, and no playbook options.
    expect(describeResource).toHaveBeenCalledOnce();
    expect(describeResource.mock.calls[0]![0].incident).toEqual(incident);
    expect(describeResource.mock.calls[0]![0]).not.toHaveProperty('options');
  });

  it('skips the undo of a step that changed nothing, saying so, without running it', async () => {
    // Prepare
    const { playbook, ledger, undos } = await containedWith({
      resource: { id: INSTANCE_ID, groups: ['sg-web'] },
      contain: { protect: () => Promise.reject(awsError('UnauthorizedOperation', { httpStatusCode: 403 })) },
    });

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ reattach: true }));

    // Assess
    expect(ledger.record(INCIDENT_ID).steps.detach!.status).toBe('skipped');
    expect(ledger.record(INCIDENT_ID).steps.protect!.status).toBe('failed');
    expect(undos.reattach).not.toHaveBeenCalled();
    expect(undos.unprotect).not.toHaveBeenCalled();
    expect(result.steps.reattach).toMatchObject({ stage: 'release', status: 'skipped', summary: `detach did not change ${INSTANCE_ID} (skipped): nothing to restore`, attempts: 1 });
    expect(result.steps.unprotect).toMatchObject({ status: 'skipped', summary: `protect did not change ${INSTANCE_ID} (failed): nothing to restore` });
    expect(result).toMatchObject({ outcome: 'released', ran: ['restoreGroups', 'reattach', 'unprotect', 'tagReleased'], keptProtections: [] });
  });

  it('skips every undo of an incident containment only planned, and still runs the release actions', async () => {
    // Prepare
    const { playbook, ledger, undos } = await containedWith({}, { mode: 'observe' });

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(undos.restoreGroups).not.toHaveBeenCalled();
    expect(result.steps.restoreGroups!.summary).toBe(`isolate did not change ${INSTANCE_ID} (planned): nothing to restore`);
    expect(undos.tagReleased).toHaveBeenCalledOnce();
    expect(result.outcome).toBe('released');
  });

  it('skips the undo of a step that a later version added and containment never ran', async () => {
    // Prepare
    const older = fakePlaybook({ steps: ['isolate', 'detach', 'snapshot'] });
    const ledger = new InMemoryLedger();
    await contain(older.playbook, ledger);
    const { playbook, undos } = fakePlaybook();

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(undos.unprotect).not.toHaveBeenCalled();
    expect(result.steps.unprotect!.summary).toBe(`protect did not change ${INSTANCE_ID} (never ran): nothing to restore`);
    expect(result.outcome).toBe('released');
  });

  it('fails, with RecordedDataInvalid, the undo of a step whose recorded data does not match its schema, and releases the rest', async () => {
    // Prepare
    const older = fakePlaybook({ oldIsolationData: true });
    const ledger = new InMemoryLedger();
    await contain(older.playbook, ledger);
    const { playbook, undos } = fakePlaybook();

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(undos.restoreGroups).not.toHaveBeenCalled();
    expect(result.steps.restoreGroups).toMatchObject({ status: 'failed', error: { code: 'RecordedDataInvalid', retryable: false } });
    expect(result.steps.restoreGroups!.summary).toMatch(/^Undo: restoreGroups: failed with RecordedDataInvalid: The ledger's data of step isolate does not match its schema: previousGroups: /);
    expect(result).toMatchObject({ outcome: 'incomplete', failures: ['restoreGroups'], retryableFailures: [], ran: ['restoreGroups', 'reattach', 'unprotect', 'tagReleased'] });
    expect(ledger.record(INCIDENT_ID).status).toBe('contained');
  });

  it('collects what the undos and release actions deliberately kept, once each, and keeps it with their data', async () => {
    // Prepare
    const { playbook, ledger } = await containedWith({
      undo: {
        tagReleased: async () => ({ status: 'done', summary: 'tagged', data: { tag: 'firebreak:released' }, keptProtections: ['termination protection', 'evidence snapshots'] }),
      },
    });

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result.keptProtections).toEqual(['termination protection', 'evidence snapshots']);
    const release = ledger.record(INCIDENT_ID).release!;
    expect(release.keptProtections).toEqual(['termination protection', 'evidence snapshots']);
    expect(release.steps.unprotect!.data).toEqual({ keptProtections: ['termination protection'] });
    expect(release.steps.tagReleased!.data).toEqual({ tag: 'firebreak:released', keptProtections: ['termination protection', 'evidence snapshots'] });
    expect(release.steps.restoreGroups).not.toHaveProperty('data');
  });

  it('records the data of an undo that kept nothing', async () => {
    // Prepare
    const { playbook, ledger } = await containedWith({ undo: { restoreGroups: async () => ({ status: 'done', summary: 'restored', data: { groups: ['sg-web'] } }) } });

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result.steps.restoreGroups!.data).toEqual({ groups: ['sg-web'] });
    expect(result.keptProtections).toEqual(['termination protection']);
  });

  it('hands undos no resource when it no longer exists, and describes again after a failed describe', async () => {
    // Prepare
    const resources: unknown[] = [];
    const look = async (ctx: UndoContext<Fake, unknown>) => {
      resources.push(await ctx.resource());
      return { status: 'done' as const, summary: 'looked' };
    };
    const { playbook, ledger, describeResource } = await containedWith({ undo: { restoreGroups: look, reattach: look, unprotect: look } });
    describeResource.mockRejectedValueOnce(awsError('RequestLimitExceeded', { httpStatusCode: 503 })).mockRejectedValueOnce(new ResourceNotFoundError(INSTANCE_ID));

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ reattach: true }));

    // Assess
    expect(result.steps.restoreGroups).toMatchObject({ status: 'failed', error: { code: 'RequestLimitExceeded', retryable: true } });
    expect(resources).toEqual([undefined, undefined]);
    expect(describeResource).toHaveBeenCalledTimes(2);
    expect(result).toMatchObject({ outcome: 'incomplete', failures: ['restoreGroups'], retryableFailures: ['restoreGroups'] });
  });

  it('changes nothing, not even the ledger, when the incident is already released', async () => {
    // Prepare
    const { playbook, ledger, undos } = await containedWith();
    await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());
    const before = structuredClone(ledger.record(INCIDENT_ID));
    const writes = ledger.writes.length;
    Object.values(undos).forEach((u) => vi.mocked(u).mockClear());

    // Act
    const second = await releaseIncident(deps(playbook, ledger, minutes(60)).deps, aReleaseRequest({ requestedBy: BOB }));

    // Assess
    expect(second).toEqual({
      incidentId: INCIDENT_ID,
      outcome: 'already-released',
      summary: `already released by ${RESPONDER} at ${before.release!.releasedAt}; nothing was changed`,
      steps: before.release!.steps,
      ran: [],
      failures: [],
      retryableFailures: [],
      keptProtections: ['termination protection'],
      releasedBy: RESPONDER,
      releasedAt: before.release!.releasedAt,
    });
    expect(ledger.writes).toHaveLength(writes);
    expect(ledger.record(INCIDENT_ID)).toEqual(before);
    Object.values(undos).forEach((u) => expect(u).not.toHaveBeenCalled());
  });

  it('says the incident is already released even when the ledger lost who released it', async () => {
    // Prepare
    const { playbook, ledger, undos } = await containedWith();
    // A record edited by hand: released, without the release's details.
    ledger.record(INCIDENT_ID).status = 'released';

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result).toEqual({
      incidentId: INCIDENT_ID,
      outcome: 'already-released',
      summary: 'already released by a responder at ?; nothing was changed',
      steps: {},
      ran: [],
      failures: [],
      retryableFailures: [],
      keptProtections: [],
    });
    Object.values(undos).forEach((u) => expect(u).not.toHaveBeenCalled());
  });

  it('stamps the release with the wall clock when no clock is injected', async () => {
    // Prepare
    const { playbook, ledger } = await containedWith();
    const { now: _injected, ...withoutClock } = deps(playbook, ledger).deps;
    const before = Date.now();

    // Act
    const result = await releaseIncident(withoutClock, aReleaseRequest());

    // Assess
    expect(Date.parse(result.releasedAt!)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(result.releasedAt!)).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(ledger.record(INCIDENT_ID).release!.requestedAt)).toBeGreaterThanOrEqual(before);
  });

  it('keeps a failed release incomplete, and a second release retries only what did not finish', async () => {
    // Prepare
    let throttled = true;
    const previous: unknown[] = [];
    const { playbook, ledger, undos } = await containedWith({
      undo: {
        reattach: async (ctx) => {
          previous.push(ctx.previous?.status);
          if (throttled) throw awsError('Throttling', { httpStatusCode: 400 });
          return { status: 'done', summary: 'reattached' };
        },
        tagReleased: async (ctx) => (ctx.released.reattach?.status === 'done' ? { status: 'done', summary: 'tagged' } : { status: 'skipped', summary: 'not tagged while incomplete' }),
      },
    });

    // Act
    const first = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ reattach: true }));
    const afterFirst = structuredClone(ledger.record(INCIDENT_ID));
    throttled = false;
    Object.values(undos).forEach((u) => vi.mocked(u).mockClear());
    const second = await releaseIncident(deps(playbook, ledger, minutes(1)).deps, aReleaseRequest({ requestedBy: BOB, reason: 'retry', reattach: true }));

    // Assess
    expect(first).toMatchObject({ outcome: 'incomplete', failures: ['reattach'], retryableFailures: ['reattach'], ran: ['restoreGroups', 'reattach', 'unprotect', 'tagReleased'] });
    expect(first).not.toHaveProperty('releasedBy');
    expect(first.summary).toBe('release incomplete: reattach (Throttling) failed; release again to retry only these');
    expect(afterFirst.status).toBe('contained');
    expect(afterFirst.release).toMatchObject({ status: 'incomplete', failures: ['reattach'], summary: first.summary });
    expect(afterFirst.release!.steps.reattach).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'Throttling', retryable: true } });
    // The done steps are not repeated; the failed one is, with its earlier outcome, and the skipped one is looked at again.
    expect(undos.restoreGroups).not.toHaveBeenCalled();
    expect(undos.unprotect).not.toHaveBeenCalled();
    expect(previous).toEqual([undefined, 'failed']);
    expect(second).toMatchObject({ outcome: 'released', ran: ['reattach', 'tagReleased'], releasedBy: BOB });
    expect(Object.keys(second.steps)).toEqual(['restoreGroups', 'reattach', 'unprotect', 'tagReleased']);
    const record = ledger.record(INCIDENT_ID);
    expect(record.status).toBe('released');
    expect(record.release!.steps.restoreGroups).toEqual(afterFirst.release!.steps.restoreGroups);
    expect(record.release!.steps.reattach).toMatchObject({ status: 'done', attempts: 2 });
    expect(record.release!.failures).toEqual([]);
    expect(record.release!.attempts!.map((a) => [a.requestedBy, a.reason])).toEqual([
      [RESPONDER, 'false positive: scheduled pen test SEC-42'],
      [BOB, 'retry'],
    ]);
  });

  it('reports a permanent failure as not retryable, with what AWS said', async () => {
    // Prepare
    const { playbook, ledger } = await containedWith({ undo: { reattach: () => Promise.reject(awsError('AccessDenied', { httpStatusCode: 403, message: 'not allowed' })) } });

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ reattach: true }));

    // Assess
    expect(result).toMatchObject({ outcome: 'incomplete', failures: ['reattach'], retryableFailures: [] });
    expect(result.steps.reattach!.summary).toBe('Undo: reattach: failed with AccessDenied: not allowed');
    expect(result.summary).toBe('release incomplete: reattach (AccessDenied) failed; release again to retry only these');
  });

  it('records an API the endpoint lacks as unsupported', async () => {
    // Prepare
    const { playbook, ledger } = await containedWith({ undo: { unprotect: () => Promise.reject(motoNotImplemented('ModifyInstanceAttribute')) } });

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result.steps.unprotect).toMatchObject({ status: 'failed', summary: 'Undo: unprotect: the API is not supported by this endpoint', error: { unsupported: true, retryable: false } });
  });

  it('finds the playbook asynchronously (a registry loading it on demand)', async () => {
    // Prepare
    const { playbook, ledger } = await containedWith();
    const playbookFor = vi.fn(async () => playbook);

    // Act
    const result = await releaseIncident(deps(undefined, ledger, FIXED_NOW, playbookFor).deps, aReleaseRequest());

    // Assess
    expect(playbookFor).toHaveBeenCalledWith('ec2-instance');
    expect(result.outcome).toBe('released');
  });

  describe('claims (one release at a time)', () => {
    it('lets only one of two concurrent releases run; the other is refused as in progress', async () => {
      // Prepare
      const { playbook, ledger, undos } = await containedWith();

      // Act
      const [a, b] = await Promise.allSettled([
        releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()),
        releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ requestedBy: BOB })),
      ]);

      // Assess
      expect(a).toMatchObject({ status: 'fulfilled', value: { outcome: 'released' } });
      expect(b.status).toBe('rejected');
      const error = (b as PromiseRejectedResult).reason as ReleaseRefusedError;
      expect(error).toBeInstanceOf(ReleaseRefusedError);
      expect(error).toMatchObject({ refusal: 'in-progress', retryable: true });
      expect(error.message).toContain(`a release requested by ${RESPONDER} at ${FIXED_NOW.toISOString()} is running`);
      Object.values(undos).forEach((u) => expect(u).toHaveBeenCalledOnce());
    });

    it('refuses, writing nothing, while another release holds the incident', async () => {
      // Prepare
      const gate = deferred();
      const started = deferred();
      const { playbook, ledger, undos } = await containedWith({
        undo: {
          restoreGroups: async () => {
            started.resolve();
            await gate.promise;
            return undefined;
          },
        },
      });
      const holding = releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ requestedBy: BOB }));
      await started.promise;
      const writes = ledger.writes.length;

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger, minutes(5)).deps, aReleaseRequest()));

      // Assess
      expect(error.refusal).toBe('in-progress');
      expect(error.message).toBe(
        `Release of ${INCIDENT_ID} refused: a release requested by ${BOB} at ${FIXED_NOW.toISOString()} is running; try again when it has finished (a release idle for 15 min may be taken over)`,
      );
      expect(ledger.writes).toHaveLength(writes);
      expect(undos.restoreGroups).toHaveBeenCalledOnce();
      gate.resolve();
      await expect(holding).resolves.toMatchObject({ outcome: 'released', releasedBy: BOB });
    });

    it('takes over a release idle for more than 15 minutes, without repeating its done steps', async () => {
      // Prepare: the first run dies after restoring the groups, leaving its claim behind.
      const { playbook, ledger, undos } = await containedWith();
      const recordReleaseStep = ledger.recordReleaseStep.bind(ledger);
      const dead = vi.spyOn(ledger, 'recordReleaseStep').mockImplementation(async (id, claim, name, outcome) => {
        if (name === 'reattach') throw awsError('InternalServerError', { httpStatusCode: 500 });
        return recordReleaseStep(id, claim, name, outcome);
      });
      vi.spyOn(ledger, 'finishRelease').mockRejectedValueOnce(awsError('InternalServerError', { httpStatusCode: 500 }));
      await expect(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ requestedBy: BOB }))).rejects.toMatchObject({ name: 'InternalServerError' });
      dead.mockRestore();
      Object.values(undos).forEach((u) => vi.mocked(u).mockClear());
      const stillHeld = await refusal(releaseIncident(deps(playbook, ledger, minutes(14)).deps, aReleaseRequest()));

      // Act
      const result = await releaseIncident(deps(playbook, ledger, minutes(16)).deps, aReleaseRequest());

      // Assess
      expect(stillHeld.refusal).toBe('in-progress');
      expect(result).toMatchObject({ outcome: 'released', ran: ['reattach', 'unprotect', 'tagReleased'], releasedBy: RESPONDER });
      expect(undos.restoreGroups).not.toHaveBeenCalled();
      expect(ledger.record(INCIDENT_ID).release!.attempts!.map((a) => a.requestedBy)).toEqual([BOB, RESPONDER]);
    });

    it('stops, refusing to go on, when another run took the release over mid-way', async () => {
      // Prepare: while this run restores the groups, it stalls for 16 minutes and another run takes over.
      let takeover: Promise<unknown> | undefined;
      const fake = await containedWith({
        undo: {
          restoreGroups: async () => {
            if (takeover) return undefined; // the other run restores the groups at once
            takeover = releaseIncident(deps(fake.playbook, fake.ledger, minutes(16)).deps, aReleaseRequest({ requestedBy: BOB }));
            await takeover;
            return undefined;
          },
        },
      });
      const { playbook, ledger, undos } = fake;

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()));

      // Assess
      expect(error).toMatchObject({ refusal: 'claim-lost', retryable: false });
      expect(error.cause).toMatchObject({ name: 'ConditionalCheckFailedException' });
      await expect(takeover).resolves.toMatchObject({ outcome: 'released', releasedBy: BOB });
      expect(undos.tagReleased).toHaveBeenCalledOnce();
      expect(ledger.record(INCIDENT_ID)).toMatchObject({ status: 'released', release: { releasedBy: BOB } });
      // The run that lost its claim wrote nothing more (not even "incomplete").
      const finishes = ledger.writes.filter((w) => w.method === 'finishRelease');
      expect(finishes).toHaveLength(1);
    });

    it('marks the release incomplete, not in flight, when the ledger fails mid-way, and a retry need not wait', async () => {
      // Prepare
      const { playbook, ledger, undos } = await containedWith();
      const recordReleaseStep = ledger.recordReleaseStep.bind(ledger);
      const failing = vi.spyOn(ledger, 'recordReleaseStep').mockImplementation(async (id, claim, name, outcome) => {
        if (name === 'reattach') throw awsError('ProvisionedThroughputExceededException', { message: 'slow down' });
        return recordReleaseStep(id, claim, name, outcome);
      });

      // Act
      const run = releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

      // Assess
      await expect(run).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
      expect(ledger.record(INCIDENT_ID).status).toBe('contained');
      expect(ledger.record(INCIDENT_ID).release).toMatchObject({
        status: 'incomplete',
        // Every step not done: the one whose outcome could not be recorded, and those that never ran.
        failures: ['reattach', 'unprotect', 'tagReleased'],
        keptProtections: [],
        summary: 'release interrupted: ProvisionedThroughputExceededException: slow down',
      });
      failing.mockRestore();
      Object.values(undos).forEach((u) => vi.mocked(u).mockClear());
      const retry = await releaseIncident(deps(playbook, ledger, minutes(1)).deps, aReleaseRequest());
      // reattach ran, but its outcome was never recorded: it runs again (undos are idempotent).
      expect(retry).toMatchObject({ outcome: 'released', ran: ['reattach', 'unprotect', 'tagReleased'] });
      expect(undos.restoreGroups).not.toHaveBeenCalled();
    });

    it('still throws the ledger error when even marking the release incomplete fails', async () => {
      // Prepare
      const { playbook, ledger } = await containedWith();
      vi.spyOn(ledger, 'recordReleaseStep').mockRejectedValue(awsError('InternalServerError', { httpStatusCode: 500 }));
      vi.spyOn(ledger, 'finishRelease').mockRejectedValue(awsError('InternalServerError', { httpStatusCode: 500 }));

      // Act
      const run = releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

      // Assess
      await expect(run).rejects.toMatchObject({ name: 'InternalServerError' });
      expect(ledger.record(INCIDENT_ID).release!.status).toBe('releasing');
    });

    it('says the incident is already released when another run released it between reading and claiming', async () => {
      // Prepare
      const { playbook, ledger, undos } = await containedWith();
      const beginRelease = ledger.beginRelease.bind(ledger);
      vi.spyOn(ledger, 'beginRelease').mockImplementationOnce(async (p) => {
        vi.mocked(ledger.beginRelease).mockImplementation(beginRelease);
        await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ requestedBy: BOB }));
        return beginRelease(p);
      });
      Object.values(undos).forEach((u) => vi.mocked(u).mockClear());

      // Act
      const result = await releaseIncident(deps(playbook, ledger, minutes(1)).deps, aReleaseRequest());

      // Assess
      expect(result).toMatchObject({ outcome: 'already-released', releasedBy: BOB, ran: [] });
      expect(result.summary).toMatch(new RegExp(`^already released by ${BOB.replace(/\//g, '\\/')} at .*; nothing was changed$`));
      // Only the other run's undos ran.
      Object.values(undos).forEach((u) => expect(u).toHaveBeenCalledOnce());
    });

    it('says who holds the release when another run claimed it between reading and claiming', async () => {
      // Prepare
      const { playbook, ledger } = await containedWith();
      const beginRelease = ledger.beginRelease.bind(ledger);
      vi.spyOn(ledger, 'beginRelease').mockImplementationOnce(async (p) => {
        await beginRelease({ ...p, requestedBy: BOB, claimId: 'other-run' });
        return beginRelease(p);
      });

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()));

      // Assess
      expect(error.refusal).toBe('in-progress');
      expect(error.message).toContain(`a release requested by ${BOB}`);
      expect(ledger.record(INCIDENT_ID).release!.claimId).toBe('other-run');
    });
  });

  describe('refusals (nothing is changed)', () => {
    it('refuses an unknown incident, saying how to find the right one', async () => {
      // Prepare
      const { playbook } = fakePlaybook();
      const ledger = new InMemoryLedger();

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()));

      // Assess
      expect(error).toMatchObject({ refusal: 'not-found', retryable: false, incidentId: INCIDENT_ID });
      expect(error.message).toContain('`firebreak incidents` lists them');
      expect(ledger.writes).toEqual([]);
    });

    it.each([
      ['an empty reason', { reason: '' }, /^reason: reason must not be empty$/],
      ['a reason of control characters and spaces', { reason: ' \n\t\u0007 ' }, /^reason: reason must not be empty$/],
      ['a reason over 512 characters', { reason: 'x'.repeat(513) }, /^reason: reason must be at most 512 characters$/],
      ['a malformed incident id', { incidentId: 'inc-../../etc' }, /^incidentId: incident id must be inc- followed by 16 hex digits \(and -g<n> for a later generation\)$/],
      ['a requester that is not an IAM-style name', { requestedBy: 'alice <script>' }, /^requestedBy:/],
      ['an unknown way of asking', { via: 'email' as never }, /^via:/],
    ])('refuses %s before reading the ledger', async (_what, overrides, message) => {
      // Prepare
      const { playbook, ledger } = await containedWith();
      const get = vi.spyOn(ledger, 'get');

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest(overrides)));

      // Assess
      expect(error.refusal).toBe('invalid-request');
      expect(error.message.replace(/^Release of \S+ refused: /, '')).toMatch(message);
      expect(get).not.toHaveBeenCalled();
    });

    it('refuses a request without a reason at all', async () => {
      // Prepare
      const { playbook } = fakePlaybook();
      const { reason: _reason, ...noReason } = aReleaseRequest();

      // Act
      const error = await refusal(releaseIncident(deps(playbook, new InMemoryLedger()).deps, noReason as never));

      // Assess
      expect(error).toMatchObject({ refusal: 'invalid-request', incidentId: INCIDENT_ID });
      expect(error.message).toContain('reason is required');
    });

    it('refuses a request that is no request at all', async () => {
      // Prepare
      const { playbook } = fakePlaybook();

      // Act
      const error = await refusal(releaseIncident(deps(playbook, new InMemoryLedger()).deps, { incidentId: 42 } as never));

      // Assess
      expect(error).toMatchObject({ refusal: 'invalid-request', incidentId: '?' });
    });

    it('refuses when the incident is about another resource than the request names', async () => {
      // Prepare
      const { playbook, ledger, order } = await containedWith();
      const writes = ledger.writes.length;

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ expect: { resourceId: 'i-0fffffffffffffff0', accountId: '111122223333' } })));

      // Assess
      expect(error).toMatchObject({ refusal: 'resource-mismatch', retryable: false });
      expect(error.message).toBe(`Release of ${INCIDENT_ID} refused: the request names resource "i-0fffffffffffffff0" but ${INCIDENT_ID} is about ${INSTANCE_ID}; nothing was changed`);
      expect(ledger.writes).toHaveLength(writes);
      expect(order).toEqual([]);
    });

    it('names every mismatch: account, resource type and playbook', async () => {
      // Prepare
      const { playbook, ledger } = await containedWith();

      // Act
      const error = await refusal(
        releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ expect: { accountId: '444455556666', resourceId: INSTANCE_ID, resourceType: 'AccessKey', playbook: 's3-bucket' } })),
      );

      // Assess
      expect(error.refusal).toBe('resource-mismatch');
      expect(error.message).toBe(
        `Release of ${INCIDENT_ID} refused: the request names resource type "AccessKey" but ${INCIDENT_ID} is about Instance; ` +
          `the request names account "444455556666" but ${INCIDENT_ID} is about 111122223333; ` +
          `the request names playbook "s3-bucket" but ${INCIDENT_ID} is about ec2-instance; nothing was changed`,
      );
    });

    it("accepts a list of accounts (the deployment's own and its members) and refuses an incident in none of them", async () => {
      // Prepare
      const { playbook, ledger } = await containedWith();

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ expect: { accountId: ['444455556666', '555566667777'] } })));
      const released = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ expect: { accountId: ['444455556666', '111122223333'] } }));

      // Assess
      expect(error.message).toBe(`Release of ${INCIDENT_ID} refused: the request names account "444455556666 or 555566667777" but ${INCIDENT_ID} is about 111122223333; nothing was changed`);
      expect(released.outcome).toBe('released');
    });

    it('releases when everything the request names matches', async () => {
      // Prepare
      const { playbook, ledger } = await containedWith();

      // Act
      const result = await releaseIncident(
        deps(playbook, ledger).deps,
        aReleaseRequest({ via: 'event', expect: { accountId: '111122223333', resourceId: INSTANCE_ID, resourceType: 'Instance', playbook: 'ec2-instance' } }),
      );

      // Assess
      expect(result.outcome).toBe('released');
      expect(ledger.record(INCIDENT_ID).release!.via).toBe('event');
    });

    it('refuses an incident whose playbook has no release steps', async () => {
      // Prepare
      const { playbook } = fakePlaybook();
      const ledger = new InMemoryLedger();
      await contain(playbook, ledger);
      const isolate = step({ name: 'isolate', stage: 'contain', description: 'Isolate', iamActions: [], run: async () => ({ status: 'done', summary: 'isolated' }) });
      const noRelease = definePlaybook<Fake>({ ...playbook, isolationStep: isolate, steps: [isolate], release: [] });
      const writes = ledger.writes.length;

      // Act
      const error = await refusal(releaseIncident(deps(noRelease, ledger).deps, aReleaseRequest()));

      // Assess
      expect(error).toMatchObject({ refusal: 'not-supported', retryable: false });
      expect(error.message).toContain('the ec2-instance playbook has no release steps here: undo its containment by hand');
      expect(ledger.writes).toHaveLength(writes);
    });

    it.each<[string, ReleaseDeps['playbookFor']]>([
      ['synchronously', () => undefined],
      ['asynchronously', async () => undefined],
    ])('refuses an incident of a playbook this deployment does not run (found %s)', async (_how, playbookFor) => {
      // Prepare
      const { ledger } = await containedWith();
      const writes = ledger.writes.length;

      // Act
      const error = await refusal(releaseIncident(deps(undefined, ledger, FIXED_NOW, playbookFor).deps, aReleaseRequest()));

      // Assess
      expect(error.refusal).toBe('not-supported');
      expect(ledger.writes).toHaveLength(writes);
    });

    it('refuses, claiming nothing, an incident whose containment stopped before it captured the resource', async () => {
      // Prepare
      const { playbook, undos } = fakePlaybook();
      vi.mocked(playbook.describe).mockRejectedValue(new ResourceNotFoundError(INSTANCE_ID));
      const ledger = new InMemoryLedger();
      await contain(playbook, ledger);
      const writes = ledger.writes.length;

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()));

      // Assess
      expect(ledger.record(INCIDENT_ID).status).toBe('skipped');
      expect(error).toMatchObject({ refusal: 'not-supported', retryable: false });
      expect(error.message).toBe(`Release of ${INCIDENT_ID} refused: containment stopped before it captured ${INSTANCE_ID}, so it changed nothing: there is nothing to release`);
      expect(ledger.writes).toHaveLength(writes);
      expect(ledger.record(INCIDENT_ID).release).toBeUndefined();
      Object.values(undos).forEach((u) => expect(u).not.toHaveBeenCalled());
    });

    it("refuses, claiming nothing, an incident whose capture the playbook's schema cannot read", async () => {
      // Prepare
      const { playbook, ledger } = await containedWith();
      // A record written by a version that captured something else.
      ledger.record(INCIDENT_ID).capture = { instanceId: INSTANCE_ID };
      const writes = ledger.writes.length;

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()));

      // Assess
      expect(error.refusal).toBe('not-supported');
      expect(error.message).toMatch(new RegExp(`^Release of ${INCIDENT_ID} refused: the ledger's capture of ${INSTANCE_ID} does not match the ec2-instance playbook's schema \\(id: .*, groups: .*\\): undo its containment by hand$`));
      expect(ledger.writes).toHaveLength(writes);
    });
  });
});

describe('Function: releaseIncident — the status before the release', () => {
  it('reports the status the incident had and the incident itself when it releases it', async () => {
    // Prepare
    const { playbook, ledger } = await containedWith();
    const incident = ledger.record(INCIDENT_ID).incident;

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result).toMatchObject({ outcome: 'released', previousStatus: 'contained', incident });
  });

  it('reports the status before an incomplete release, which leaves it as it was', async () => {
    // Prepare
    const { playbook, ledger } = await containedWith({ undo: { restoreGroups: async () => Promise.reject(awsError('AccessDenied', { httpStatusCode: 403 })) } });

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result).toMatchObject({ outcome: 'incomplete', previousStatus: 'contained' });
    expect(ledger.record(INCIDENT_ID).status).toBe('contained');
  });

  it('reports no previous status for an incident already released: nothing changed, nothing to tell', async () => {
    // Prepare
    const { playbook, ledger } = await containedWith();
    await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Act
    const second = await releaseIncident(deps(playbook, ledger, minutes(5)).deps, aReleaseRequest());

    // Assess
    expect(second.outcome).toBe('already-released');
    expect(second.previousStatus).toBeUndefined();
    expect(second.incident).toBeUndefined();
  });
});
