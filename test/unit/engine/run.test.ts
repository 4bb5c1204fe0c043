import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { MemberRoleUnavailableError, type ClientFactory } from '../../../shared/aws/index.ts';
import type { Config } from '../../../shared/config/index.ts';
import { definePlaybook, defineStep, runPlaybook, type AnyStep, type EngineDeps, type Playbook, type StepContext, type StepResult } from '../../../shared/engine/index.ts';
import { ContainmentIncompleteError, InvalidFindingError, ResourceNotFoundError, StepFailedError } from '../../../shared/errors/index.ts';
import { EvidenceStore } from '../../../shared/evidence/index.ts';
import type { Incident } from '../../../shared/findings/index.ts';
import type { IncidentStatus, StepOutcome } from '../../../shared/vocabulary/index.ts';
import type { IncidentRecord, LoadedState } from '../../../shared/ledger/index.ts';
import { isNotifiedChange } from '../../../shared/notifications/index.ts';
import {
  aConfig,
  anIncident,
  anS3Client,
  awsError,
  EVIDENCE_BUCKET,
  FakeLedger,
  FIXED_NOW,
  INSTANCE_ID,
  motoNotImplemented,
  RESPONDER,
  silentLogger,
  someClients,
} from '../helpers/factories.ts';

interface FakeResource {
  id: string;
  tags: Record<string, string>;
  owner?: string;
}

const FakeCaptureSchema = z.object({ id: z.string(), before: z.string() });

/** The types of the fake playbook: its steps are typed by them, as the EC2 steps are by `Ec2`. */
interface Fake {
  resource: FakeResource;
  capture: z.infer<typeof FakeCaptureSchema>;
  options: { label: string };
}

const step = defineStep<Fake>();
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Behaviour = (ctx: StepContext<Fake, any>) => Promise<StepResult<any>>;
type BaseSteps = Record<'isolate' | 'protect' | 'snapshot' | 'screenshot', AnyStep<Fake>>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A playbook of two containment and two evidence steps that log when they start and
 * finish and behave as each test says; `extraSteps` may require or come after them.
 */
function fakePlaybook(
  behaviour: Record<string, Behaviour> = {},
  options: { describe?: () => Promise<FakeResource>; extraSteps?: (base: BaseSteps) => AnyStep<Fake>[]; split?: boolean } = {},
) {
  const events: string[] = [];
  const make = (name: string, stage: 'contain' | 'evidence') =>
    step({
      name,
      stage,
      description: `Do ${name}`,
      iamActions: [`ec2:${name}`],
      run: vi.fn(async (ctx: StepContext<Fake, undefined>) => {
        events.push(`start:${name}`);
        // Let the other steps of the stage start before this one finishes.
        await sleep(5);
        try {
          return await (behaviour[name]?.(ctx) ?? Promise.resolve({ status: 'done' as const, summary: `${name} done` }));
        } finally {
          events.push(`end:${name}`);
        }
      }),
    });
  const base: BaseSteps = { isolate: make('isolate', 'contain'), protect: make('protect', 'contain'), snapshot: make('snapshot', 'evidence'), screenshot: make('screenshot', 'evidence') };
  const steps = [...Object.values(base), ...(options.extraSteps?.(base) ?? [])];
  const describeResource = vi.fn<Playbook<Fake>['describe']>(options.describe ?? (async () => ({ id: INSTANCE_ID, tags: {} })));
  const playbook = definePlaybook<Fake>({
    name: 'ec2-instance',
    options: z.object({ label: z.string() }),
    describe: describeResource,
    capture: { schema: FakeCaptureSchema, of: (r) => ({ id: r.id, before: 'state' }) },
    tags: (r) => r.tags,
    identifiers: (_i, r) => [r.id],
    principals: (_i, r) => (r.owner ? [r.owner] : []),
    describeIamActions: ['ec2:DescribeInstances'],
    isolationStep: base.isolate,
    // Split: the containment steps given at once, the later stages from a loader (as the real playbooks).
    ...(options.split
      ? {
          steps: steps.filter((s) => s.stage === 'contain'),
          later: async () => {
            events.push('load:later');
            return { steps: steps.filter((s) => s.stage !== 'contain'), release: [] };
          },
        }
      : { steps, release: [] }),
  });
  const ran = () => steps.filter((s) => vi.mocked(s.run).mock.calls.length > 0).map((s) => s.name);
  return { playbook, base, events, ran, describeResource };
}

function engine(config: Partial<Config> = {}, ledger = new FakeLedger()) {
  const clientsFor = vi.fn<ClientFactory>(() => someClients());
  let tick = 0;
  const deps: EngineDeps<Fake['options']> = {
    config: aConfig(config),
    options: { label: 'from terraform' },
    clientsFor,
    ledger: ledger.asLedger(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    logger: silentLogger(),
    // Each call a second later, so step timings are visible.
    now: () => new Date(FIXED_NOW.getTime() + 1000 * tick++),
  };
  return { deps, ledger, clientsFor };
}

const delivery = { messageId: 'msg-1' };
const done = (stage: StepOutcome['stage'], extra: Partial<StepOutcome> = {}): StepOutcome => ({ stage, status: 'done', summary: 'done before', attempts: 1, ...extra });

describe('Function: runPlaybook', () => {
  it('contains: every containment step starts before any evidence step, and all are recorded', async () => {
    // Prepare
    const { playbook, events } = fakePlaybook();
    const { deps, ledger } = engine();
    const incident = anIncident();

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result.status).toBe('contained');
    expect(result.reason).toBe('contained; evidence complete');
    expect(result.followUpSeconds).toBeUndefined();
    const firstEvidence = Math.min(events.indexOf('start:snapshot'), events.indexOf('start:screenshot'));
    expect(events.indexOf('start:isolate')).toBeLessThan(firstEvidence);
    expect(events.indexOf('start:protect')).toBeLessThan(firstEvidence);
    // Isolation first: the other containment step started once the isolation step had finished.
    expect(events.slice(0, 3)).toEqual(['start:isolate', 'end:isolate', 'start:protect']);
    expect(events.indexOf('end:isolate')).toBeLessThan(firstEvidence);
    expect(events.indexOf('end:protect')).toBeLessThan(firstEvidence);
    expect(ledger.recorded.map((r) => r.name).sort()).toEqual(['isolate', 'protect', 'screenshot', 'snapshot']);
    expect(ledger.outcome('isolate')).toMatchObject({ stage: 'contain', status: 'done', summary: 'isolate done', attempts: 1 });
    expect(ledger.outcome('isolate')!.durationMs).toBeGreaterThan(0);
    expect(ledger.begins).toHaveLength(1);
    // The capture is stamped by the injected clock (its first tick), not the wall clock.
    expect(ledger.begins[0]!.capture!.capturedAt).toBe(FIXED_NOW.toISOString());
    expect(ledger.begins[0]).toMatchObject({
      mode: 'contain',
      messageId: 'msg-1',
      capture: { id: INSTANCE_ID, before: 'state' },
      blastRadius: { limit: 10, windowSeconds: 3600, window: { version: 0, entries: [] } },
    });
    expect(ledger.begins[0]!.gates.map((g) => [g.gate, g.passed])).toEqual([
      ['not-archived', true],
      ['not-sample', true],
      ['minimum-severity', true],
      ['finding-type-not-denied', true],
      ['not-exempt', true],
      ['not-protected-resource', true],
      ['not-protected-principal', true],
    ]);
    expect(ledger.finished).toEqual([
      { incidentId: incident.incidentId, status: 'contained', reason: 'contained; evidence complete', isolatedAt: ledger.outcome('isolate')!.finishedAt },
    ]);
  });

  it("gives describe and every step the playbook's options, the resource and the capture read through the playbook's schema", async () => {
    // Prepare
    const seen: unknown[] = [];
    const look: Behaviour = async (ctx) => {
      seen.push({ options: ctx.options, resource: ctx.resource, capture: ctx.capture, incident: ctx.incident.incidentId, previous: ctx.previous });
      return { status: 'done', summary: 'looked' };
    };
    const { playbook, describeResource } = fakePlaybook({ isolate: look, snapshot: look });
    const { deps, clientsFor } = engine();
    const incident = anIncident();

    // Act
    await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(clientsFor).toHaveBeenCalledWith({ accountId: '111122223333', region: 'us-east-1', incidentId: incident.incidentId });
    expect(describeResource).toHaveBeenCalledOnce();
    expect(describeResource.mock.calls[0]![0]).toMatchObject({ incident, options: { label: 'from terraform' } });
    // The capture's schema does not declare capturedAt: the steps see what it declares.
    const expected = { options: { label: 'from terraform' }, resource: { id: INSTANCE_ID, tags: {} }, capture: { id: INSTANCE_ID, before: 'state' }, incident: incident.incidentId, previous: undefined };
    expect(seen).toEqual([expected, expected]);
  });

  it('loads the later stages of a split playbook once, after the isolation step finished, and runs them', async () => {
    // Prepare
    const { playbook, events } = fakePlaybook({}, { split: true });
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(result.status).toBe('contained');
    expect(events.filter((e) => e === 'load:later')).toHaveLength(1);
    expect(events.indexOf('end:isolate')).toBeLessThan(events.indexOf('load:later'));
    expect(events.indexOf('load:later')).toBeLessThan(Math.min(events.indexOf('start:snapshot'), events.indexOf('start:screenshot')));
    expect(ledger.recorded.map((r) => r.name).sort()).toEqual(['isolate', 'protect', 'screenshot', 'snapshot']);
  });

  it('plans the later stages of a split playbook in observe mode too', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook({}, { split: true });
    const { deps, ledger } = engine({ mode: 'observe' });

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result.status).toBe('planned');
    expect(ledger.recorded.map((r) => r.name).sort()).toEqual(['isolate', 'protect', 'screenshot', 'snapshot']);
  });

  it('plans every step in observe mode and changes nothing', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const { deps, ledger } = engine({ mode: 'observe' });

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result.status).toBe('planned');
    expect(result.reason).toBe('observe mode: every step was planned and recorded; nothing was changed');
    expect(ledger.recorded.map((r) => [r.name, r.outcome.status])).toEqual([
      ['isolate', 'planned'],
      ['protect', 'planned'],
      ['snapshot', 'planned'],
      ['screenshot', 'planned'],
    ]);
    expect(ledger.outcome('isolate')).toEqual({
      stage: 'contain',
      status: 'planned',
      summary: 'Do isolate (planned in observe mode)',
      attempts: 0,
      data: { iamActions: ['ec2:isolate'] },
    });
    // No blast-radius slot is taken for a plan, but the "before" is captured.
    expect(ledger.begins[0]!.blastRadius).toBeUndefined();
    expect(ledger.begins[0]!.capture).toMatchObject({ id: INSTANCE_ID, before: 'state' });
    expect(ledger.finished[0]!.status).toBe('planned');
  });

  it('does not re-plan a step an earlier delivery finished, and says when a step needs full mode', async () => {
    // Prepare
    const stop = step({ name: 'stop', stage: 'evidence', description: 'Stop it', iamActions: [], minimumMode: 'full', run: vi.fn() });
    const { playbook } = fakePlaybook({}, { extraSteps: () => [stop] });
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { steps: { isolate: done('contain') } });
    const { deps } = engine({ mode: 'observe' }, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ledger.recorded.map((r) => r.name)).toEqual(['protect', 'snapshot', 'screenshot', 'stop']);
    expect(ledger.outcome('stop')!.summary).toBe('Stop it (planned in observe mode; runs only in full mode)');
    expect(result.steps.isolate!.summary).toBe('done before');
    expect(stop.run).not.toHaveBeenCalled();
  });

  it.each<[string, Partial<Incident>, Partial<Config>, string, string]>([
    ['a sample finding', { sample: true }, {}, 'not-sample', 'the finding is a GuardDuty sample finding'],
    ['an archived finding', { archived: true }, {}, 'not-archived', 'the finding is archived'],
    ['a finding below the minimum severity', { severity: 2 }, { minSeverity: 4 }, 'minimum-severity', 'severity 2 < minimum 4'],
    ['a finding of a denied type', {}, { findingTypesDeny: ['Backdoor:*'] }, 'finding-type-not-denied', 'finding type matches deny pattern Backdoor:*'],
    ['a finding type missing from the allow list', {}, { findingTypesAllow: ['Recon:*'] }, 'finding-type-allowed', 'finding type is not on the allow list'],
  ])('never describes the resource of %s, and records why it did nothing', async (_what, finding, config, gate, reason) => {
    // Prepare
    const { playbook, ran, describeResource } = fakePlaybook();
    const { deps, ledger, clientsFor } = engine(config);

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(finding), delivery);

    // Assess
    expect(describeResource).not.toHaveBeenCalled();
    expect(clientsFor).not.toHaveBeenCalled();
    expect(ran()).toEqual([]);
    expect(result).toEqual({ incidentId: anIncident(finding).incidentId, incident: anIncident(finding), status: 'skipped', reason: `no action: ${reason}`, steps: {} });
    // Only the finding's gates: nothing about the resource was read.
    const gates = ledger.begins[0]!.gates;
    expect(gates.find((g) => g.gate === gate)).toEqual({ gate, passed: false, reason });
    expect(gates.map((g) => g.gate)).not.toContain('not-exempt');
    expect(ledger.begins[0]!.capture).toBeUndefined();
    expect(ledger.begins[0]!.blastRadius).toBeUndefined();
    expect(ledger.recorded).toEqual([]);
    expect(ledger.finished).toEqual([{ incidentId: anIncident(finding).incidentId, status: 'skipped', reason: `no action: ${reason}` }]);
  });

  it('names every failing gate of the finding in its reason', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const { deps } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident({ sample: true, archived: true }), delivery);

    // Assess
    expect(result.reason).toBe('no action: the finding is archived; the finding is a GuardDuty sample finding');
  });

  it.each<[string, FakeResource, Partial<Config>, string]>([
    ['an instance carrying the exemption tag', { id: INSTANCE_ID, tags: { 'firebreak:exempt': 'true' } }, {}, 'the resource carries the exemption tag firebreak:exempt'],
    ['a protected instance', { id: INSTANCE_ID, tags: {} }, { protectedResources: ['i-0a1b*'] }, 'the resource matches protected pattern i-0a1b*'],
    [
      'an instance of a protected principal',
      { id: INSTANCE_ID, tags: {}, owner: 'arn:aws:iam::111122223333:role/break-glass' },
      { protectedPrincipals: ['*:role/break-glass'] },
      'the principal matches protected pattern *:role/break-glass',
    ],
  ])('skips %s once described, keeping its capture', async (_what, resource, config, reason) => {
    // Prepare
    const { playbook, ran, describeResource } = fakePlaybook({}, { describe: async () => resource });
    const { deps, ledger } = engine(config);

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(describeResource).toHaveBeenCalledOnce();
    expect(ran()).toEqual([]);
    expect(result).toMatchObject({ status: 'skipped', reason: `no action: ${reason}` });
    expect(ledger.begins[0]!.gates.filter((g) => !g.passed).map((g) => g.reason)).toEqual([reason]);
    expect(ledger.begins[0]!.capture).toMatchObject({ id: INSTANCE_ID, before: 'state' });
    expect(ledger.begins[0]!.blastRadius).toBeUndefined();
    expect(ledger.recorded).toEqual([]);
  });

  it('never undoes a containment when the finding is later archived, and does not even describe the resource', async () => {
    // Prepare
    const { playbook, ran, describeResource } = fakePlaybook();
    const incident = anIncident({ archived: true });
    const steps = { isolate: done('contain'), protect: done('contain') };
    const ledger = new FakeLedger().withRecord(incident, { status: 'contained', steps });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(describeResource).not.toHaveBeenCalled();
    expect(ran()).toEqual([]);
    expect(result).toEqual({ incidentId: incident.incidentId, incident, status: 'contained', previousStatus: 'contained', reason: 'no action: the finding is archived', steps });
    expect(ledger.finished).toEqual([{ incidentId: incident.incidentId, status: 'contained', reason: 'no action: the finding is archived' }]);
  });

  it('keeps a contained incident contained while automation is paused, and describes nothing', async () => {
    // Prepare
    const { playbook, ran, describeResource } = fakePlaybook();
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'contained', steps: { isolate: done('contain') } });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook({ ...deps, paused: { paused: true, reason: 'drill' } }, playbook, incident, delivery);

    // Assess
    expect(describeResource).not.toHaveBeenCalled();
    expect(ran()).toEqual([]);
    expect(result.status).toBe('contained');
    expect(result.reason).toMatch(/^Firebreak is paused \(drill\): nothing was changed/);
    expect(ledger.begins.at(-1)!.gates.at(-1)).toMatchObject({ gate: 'not-paused', passed: false });
  });

  it('keeps a released incident released while automation is paused', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'released', steps: {} });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook({ ...deps, paused: { paused: true } }, playbook, incident, delivery);

    // Assess
    expect(result.status).toBe('released');
  });

  it('keeps an incident whose containment failed failed when the finding is later archived, so it never drops out of sight', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident({ archived: true });
    const ledger = new FakeLedger().withRecord(incident, { status: 'failed', steps: { isolate: done('contain') } });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result.status).toBe('failed');
    expect(ledger.finished).toEqual([{ incidentId: incident.incidentId, status: 'failed', reason: 'no action: the finding is archived' }]);
  });

  it('fails, changing nothing and taking no blast-radius slot, when the ledger holds a capture the playbook cannot read', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'retrying', capture: { id: INSTANCE_ID } });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result.status).toBe('failed');
    expect(result.reason).toMatch(/capture of .* does not match the .* playbook's schema \(before: .*\): nothing was changed/);
    expect(ledger.begins.every((b) => b.blastRadius === undefined)).toBe(true);
    expect(ledger.begins.at(-1)!.gates.at(-1)).toMatchObject({ gate: 'capture-readable', passed: false });
  });

  it('keeps a contained incident contained when the resource is exempted afterwards', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook({}, { describe: async () => ({ id: INSTANCE_ID, tags: { 'firebreak:exempt': '' } }) });
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'contained', capture: { id: INSTANCE_ID, before: 'first' }, steps: { isolate: done('contain') } });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result).toMatchObject({ status: 'contained', reason: 'no action: the resource carries the exemption tag firebreak:exempt', steps: { isolate: done('contain') } });
    expect(ledger.begins[0]!.capture).toEqual({ id: INSTANCE_ID, before: 'first' });
  });

  it('holds the incident when the blast-radius limit is reached, running no step', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const ledger = new FakeLedger();
    ledger.slot = 'limit-reached';
    const { deps } = engine({ blastRadius: { limit: 2, windowSeconds: 600 } }, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result.status).toBe('held');
    expect(result.reason).toMatch(/^blast-radius limit reached: 2 containments in 600s of guardduty incidents in account 111122223333/);
    expect(ledger.recorded).toEqual([]);
    expect(ledger.finished[0]!.status).toBe('held');
  });

  it('runs the steps again when this incident already holds its slot', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const ledger = new FakeLedger();
    ledger.slot = 'already-held';
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(ran()).toHaveLength(4);
    expect(result.status).toBe('contained');
  });

  it('throws ContainmentIncompleteError on a retryable containment failure, after the evidence steps still ran and were recorded', async () => {
    // Prepare (a server error: a throttled containment is the next test)
    const { playbook, ran } = fakePlaybook({ isolate: () => Promise.reject(awsError('InternalError', { httpStatusCode: 500 })) });
    const { deps, ledger } = engine();
    const incident = anIncident();

    // Act
    const run = runPlaybook(deps, playbook, incident, delivery);

    // Assess
    await expect(run).rejects.toBeInstanceOf(ContainmentIncompleteError);
    await expect(run).rejects.toMatchObject({ incidentId: incident.incidentId, failedSteps: ['isolate'], retryable: true });
    expect(ran()).toEqual(['isolate', 'protect', 'snapshot', 'screenshot']);
    expect(ledger.outcome('snapshot')!.status).toBe('done');
    expect(ledger.outcome('isolate')).toMatchObject({
      status: 'failed',
      summary: 'Do isolate: failed with InternalError',
      error: { code: 'InternalError', retryable: true, unsupported: false },
    });
    // Isolation failed: no time of isolation.
    expect(ledger.finished).toEqual([{ incidentId: incident.incidentId, status: 'retrying', reason: 'containment steps failed with retryable errors: isolate' }]);
  });

  it('records a permanent containment failure as failed for a responder, without throwing', async () => {
    // Prepare
    const { playbook } = fakePlaybook({ protect: () => Promise.reject(awsError('UnauthorizedOperation', { httpStatusCode: 403 })) });
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(result.status).toBe('failed');
    expect(result.reason).toBe('containment steps failed permanently (a responder must act): protect');
    expect(ledger.outcome('protect')!.error).toMatchObject({ code: 'UnauthorizedOperation', retryable: false });
    // Isolation itself succeeded, so the time of isolation is still recorded.
    expect(ledger.finished[0]!.isolatedAt).toBe(ledger.outcome('isolate')!.finishedAt);
  });

  it("records a step's own failure under its code, not the error's class", async () => {
    // Prepare
    const { playbook } = fakePlaybook({
      protect: () => Promise.reject(new StepFailedError('protect', 'GroupAtMaximum', 'the Auto Scaling group cannot shrink')),
      isolate: () => Promise.reject(new StepFailedError('isolate', 'QuarantineBusy', 'try later', { retryable: true })),
    });
    const { deps, ledger } = engine();

    // Act
    const run = runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    await expect(run).rejects.toMatchObject({ failedSteps: ['isolate'] });
    expect(ledger.outcome('protect')).toMatchObject({ summary: 'Do protect: failed with GroupAtMaximum', error: { code: 'GroupAtMaximum', retryable: false } });
    expect(ledger.outcome('isolate')!.error).toMatchObject({ code: 'QuarantineBusy', retryable: true });
    expect(ledger.finished[0]!.reason).toBe('containment steps failed with retryable errors: isolate');
  });

  it('does not throw for a failed evidence step, even a retryable one, and records an unsupported API as such', async () => {
    // Prepare
    const { playbook } = fakePlaybook({
      screenshot: () => Promise.reject(motoNotImplemented('GetConsoleScreenshot')),
      snapshot: () => Promise.reject(awsError('SnapshotCreationPerVolumeRateExceeded', { httpStatusCode: 503 })),
    });
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(result.status).toBe('contained');
    expect(result.reason).toBe('contained; evidence steps failed: snapshot, screenshot');
    expect(ledger.outcome('screenshot')).toMatchObject({
      status: 'failed',
      summary: 'Do screenshot: the API is not supported by this endpoint',
      error: { code: 'InternalFailure', retryable: false, unsupported: true },
    });
  });

  it('records the evidence a step kept and the data it returned', async () => {
    // Prepare
    const evidence = [{ bucket: EVIDENCE_BUCKET, key: 'incident/console.txt', sha256: 'ab'.repeat(32), bytes: 12 }];
    const { playbook } = fakePlaybook({ snapshot: async () => ({ status: 'done', summary: 'console kept', evidence }) });
    const { deps, ledger } = engine();

    // Act
    await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(ledger.outcome('snapshot')).toMatchObject({ status: 'done', summary: 'console kept', evidence });
    expect(ledger.outcome('isolate')).not.toHaveProperty('evidence');
    expect(ledger.outcome('isolate')).not.toHaveProperty('data');
  });

  it('on redelivery skips steps already done and reruns the failed ones, counting attempts and keeping the first capture', async () => {
    // Prepare
    const captures: unknown[] = [];
    const { playbook, ran } = fakePlaybook({
      isolate: async (ctx) => {
        captures.push(ctx.capture);
        return { status: 'done', summary: 'isolate done' };
      },
    });
    const incident = anIncident({ count: 2 });
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'retrying',
      capture: { id: INSTANCE_ID, before: 'first delivery', capturedAt: '2025-06-19T14:00:00.000Z' },
      steps: {
        isolate: { stage: 'contain', status: 'failed', summary: 'throttled', attempts: 2, error: { code: 'Throttling', message: '', retryable: true, unsupported: false } },
        protect: done('contain', { summary: 'protected', finishedAt: '2025-06-19T14:00:00.000Z' }),
        snapshot: done('evidence', { summary: 'snapshotted' }),
      },
    });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual(['isolate', 'screenshot']);
    expect(ledger.outcome('isolate')).toMatchObject({ status: 'done', attempts: 3 });
    expect(ledger.recorded.map((r) => r.name).sort()).toEqual(['isolate', 'screenshot']);
    expect(result.status).toBe('contained');
    expect(result.steps.protect!.summary).toBe('protected');
    // The first delivery's capture is kept as the "before" state, and is what the steps see.
    expect(ledger.begins[0]!.capture).toEqual({ id: INSTANCE_ID, before: 'first delivery', capturedAt: '2025-06-19T14:00:00.000Z' });
    expect(captures).toEqual([{ id: INSTANCE_ID, before: 'first delivery' }]);
  });

  it('counts a redelivery of a contained incident whose every step is final, and changes nothing: nothing described, no step run or recorded', async () => {
    // Prepare: contained; one step ran and found nothing to do (skipped, with an attempt)
    const { playbook, ran, describeResource } = fakePlaybook();
    const incident = { ...anIncident(), origin: 'redrive' as const, redelivery: { origin: 'redrive' as const, of: 'guardduty' as const, requestedBy: RESPONDER } };
    const steps = { isolate: done('contain'), protect: { ...done('contain'), status: 'skipped' as const }, snapshot: done('evidence'), screenshot: done('evidence') };
    const gates = [{ gate: 'not-exempt', passed: true, reason: 'no exemption tag' }];
    const ledger = new FakeLedger().withRecord(incident, { status: 'contained', statusReason: 'contained; evidence complete', steps, gates });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(describeResource).not.toHaveBeenCalled();
    expect(ran()).toEqual([]);
    expect(ledger.recorded).toEqual([]);
    expect(ledger.finished).toEqual([]);
    // The delivery is counted (and the redrive recorded) by opening the record, with the gates it had
    expect(ledger.begins).toHaveLength(1);
    expect(ledger.begins[0]).toMatchObject({ incident: { redelivery: { origin: 'redrive' } }, gates });
    expect(ledger.begins[0]!.blastRadius).toBeUndefined();
    expect(result).toEqual({ incidentId: incident.incidentId, incident, status: 'contained', previousStatus: 'contained', reason: 'contained; evidence complete', steps });
  });

  it("records the finding's gates and says contained when a settled record has neither (an older record)", async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident();
    const steps = { isolate: done('contain'), protect: done('contain'), snapshot: done('evidence'), screenshot: done('evidence') };
    const ledger = new FakeLedger().withRecord(incident, { status: 'contained', steps });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result.reason).toBe('contained');
    expect(ledger.begins[0]!.gates.map((g) => g.gate)).toContain('minimum-severity');
  });

  it('runs again a contained incident whose step was skipped without running (another mode may run it)', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident();
    const steps = { isolate: done('contain'), protect: { ...done('contain'), status: 'skipped' as const, attempts: 0 }, snapshot: done('evidence'), screenshot: done('evidence') };
    const ledger = new FakeLedger().withRecord(incident, { status: 'contained', steps });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual(['protect']);
    expect(result.status).toBe('contained');
  });

  it('records the time of isolation from the delivery that isolated the resource', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'retrying',
      steps: { isolate: done('contain', { finishedAt: '2025-06-19T14:00:00.000Z' }) },
    });
    const { deps } = engine({}, ledger);

    // Act
    await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual(['protect', 'snapshot', 'screenshot']);
    expect(ledger.finished[0]).toMatchObject({ status: 'contained', isolatedAt: '2025-06-19T14:00:00.000Z' });
  });

  it('skips a step that needs a higher mode, and runs it in that mode', async () => {
    // Prepare
    const stopIn = (mode: Config['mode']) => {
      const stop = step({ name: 'stop', stage: 'evidence', description: 'Stop the instance', iamActions: ['ec2:StopInstances'], minimumMode: 'full', run: vi.fn(async () => ({ status: 'done' as const, summary: 'stopped' })) });
      const { playbook } = fakePlaybook({}, { extraSteps: () => [stop] });
      return { stop, playbook, ...engine({ mode }) };
    };
    const inContain = stopIn('contain');
    const inFull = stopIn('full');

    // Act
    await runPlaybook(inContain.deps, inContain.playbook, anIncident(), delivery);
    await runPlaybook(inFull.deps, inFull.playbook, anIncident(), delivery);

    // Assess
    expect(inContain.stop.run).not.toHaveBeenCalled();
    expect(inContain.ledger.outcome('stop')).toEqual({ stage: 'evidence', status: 'skipped', summary: 'Stop the instance: runs only in full mode (current mode: contain)', attempts: 0 });
    expect(inFull.stop.run).toHaveBeenCalledOnce();
    expect(inFull.ledger.outcome('stop')!.status).toBe('done');
  });

  it('skips a finding for another account without describing anything', async () => {
    // Prepare
    const { playbook, ran, describeResource } = fakePlaybook();
    const { deps, ledger, clientsFor } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident({ accountId: '444455556666' }), delivery);

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.reason).toBe('the finding is for account 444455556666; this deployment acts only in account 111122223333 (add 444455556666 to member_account_ids, or deploy Firebreak in that account)');
    expect(ledger.begins[0]!.gates).toEqual([{ gate: 'account-in-scope', passed: false, reason: result.reason }]);
    expect(describeResource).not.toHaveBeenCalled();
    expect(clientsFor).not.toHaveBeenCalled();
    expect(ran()).toEqual([]);
  });

  it("acts on a member account's finding with clients for that account and the incident (organization)", async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const { deps, ledger, clientsFor } = engine({ members: { accountIds: ['444455556666'], roleName: 'firebreak-responder', externalId: 'ext-1' } });
    const incident = anIncident({ accountId: '444455556666' });

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result.status).toBe('contained');
    expect(clientsFor).toHaveBeenCalledWith({ accountId: '444455556666', region: 'us-east-1', incidentId: incident.incidentId });
    expect(ran().length).toBeGreaterThan(0);
    expect(ledger.begins[0]!.gates).not.toContainEqual(expect.objectContaining({ passed: false }));
    expect(ledger.begins[0]!.gates[0]).toEqual({
      gate: 'account-in-scope',
      passed: true,
      reason: `the finding is for member account 444455556666 (member_account_ids): acting there as arn:aws:sts::444455556666:assumed-role/firebreak-responder/firebreak-${incident.incidentId}`,
    });
  });

  it("refuses a manual finding for another account, even a member: a manual finding acts only in the bus's own account", async () => {
    // Prepare
    const { playbook, describeResource } = fakePlaybook();
    const { deps, ledger, clientsFor } = engine({ members: { accountIds: ['444455556666'], roleName: 'firebreak-responder', externalId: 'ext-1' } });

    // Act
    const result = await runPlaybook(deps, playbook, anIncident({ accountId: '444455556666', origin: 'manual' }), delivery);

    // Assess
    expect(result).toMatchObject({ status: 'skipped', reason: "a manual finding acts only in this deployment's account 111122223333, not in 444455556666" });
    expect(ledger.begins[0]!.gates).toEqual([{ gate: 'account-in-scope', passed: false, reason: result.reason }]);
    expect(clientsFor).not.toHaveBeenCalled();
    expect(describeResource).not.toHaveBeenCalled();
  });

  it('records a failed incident, with the reason, when the member role cannot be assumed, and does not ask for redelivery', async () => {
    // Prepare
    const refused = new MemberRoleUnavailableError(
      'arn:aws:iam::444455556666:role/firebreak-responder',
      '444455556666',
      awsError('AccessDenied', { httpStatusCode: 403, message: 'not authorized to perform sts:AssumeRole' }),
    );
    const { playbook, ran } = fakePlaybook({}, { describe: () => Promise.reject(refused) });
    const { deps, ledger } = engine({ members: { accountIds: ['444455556666'], roleName: 'firebreak-responder', externalId: 'ext-1' } });

    // Act
    const result = await runPlaybook(deps, playbook, anIncident({ accountId: '444455556666' }), delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result.status).toBe('failed');
    expect(result.reason).toBe(
      'nothing was read or changed: cannot assume arn:aws:iam::444455556666:role/firebreak-responder to act in member account 444455556666 (AccessDenied: not authorized to perform sts:AssumeRole): ' +
        "deploy the member-role module in 444455556666 trusting this function's role with the deployment's external id (output member_external_id)",
    );
    expect(ledger.begins[0]!.gates.at(-1)).toEqual({ gate: 'member-role', passed: false, reason: result.reason });
  });

  it('skips, with the reason, when the resource no longer exists', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook({}, { describe: () => Promise.reject(new ResourceNotFoundError(INSTANCE_ID)) });
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result).toMatchObject({ status: 'skipped', reason: `${INSTANCE_ID} was not found in 111122223333/us-east-1: nothing to contain` });
    expect(ledger.begins[0]!.gates.at(-1)).toEqual({ gate: 'resource-exists', passed: false, reason: result.reason });
    expect(ledger.begins[0]!.gates.slice(0, -1).every((g) => g.passed)).toBe(true);
    expect(ledger.begins[0]!.capture).toBeUndefined();
  });

  it('throws for redelivery when describing the resource fails with a retryable error', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook({}, { describe: () => Promise.reject(awsError('RequestLimitExceeded', { httpStatusCode: 503, message: 'slow down' })) });
    const { deps, ledger } = engine();

    // Act
    const run = runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'ContainmentIncompleteError', failedSteps: ['describe'] });
    expect(ran()).toEqual([]);
    expect(ledger.finished[0]).toMatchObject({ status: 'retrying', reason: `could not describe ${INSTANCE_ID}: RequestLimitExceeded: slow down` });
  });

  it('fails without retrying when describing the resource is denied, keeping what earlier deliveries did', async () => {
    // Prepare
    const { playbook } = fakePlaybook({}, { describe: () => Promise.reject(awsError('UnauthorizedOperation', { httpStatusCode: 403, message: 'no' })) });
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'contained', steps: { isolate: done('contain') } });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ status: 'failed', reason: `could not describe ${INSTANCE_ID}: UnauthorizedOperation: no`, steps: { isolate: done('contain') } });
    expect(ledger.recorded).toEqual([]);
  });

  it('stamps the capture and the steps with the wall clock when no clock is injected', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const { deps, ledger } = engine();
    const { now: _injected, ...withoutClock } = deps;
    const before = Date.now();

    // Act
    await runPlaybook(withoutClock, playbook, anIncident(), delivery);

    // Assess
    const capturedAt = Date.parse(String(ledger.begins[0]!.capture!.capturedAt));
    expect(capturedAt).toBeGreaterThanOrEqual(before);
    expect(capturedAt).toBeLessThanOrEqual(Date.now());
    expect(Date.parse(ledger.outcome('isolate')!.finishedAt!)).toBeGreaterThanOrEqual(capturedAt);
  });

  it('refuses an incident meant for another playbook', async () => {
    // Prepare
    const { playbook, describeResource } = fakePlaybook();
    const { deps, ledger } = engine();
    const incident: Incident = anIncident({ playbook: 's3-bucket' });

    // Act
    const run = runPlaybook(deps, playbook, incident, delivery);

    // Assess
    await expect(run).rejects.toBeInstanceOf(InvalidFindingError);
    await expect(run).rejects.toThrow('finding is for the s3-bucket playbook, but this function runs ec2-instance: check the EventBridge rule');
    expect(ledger.begins).toEqual([]);
    expect(describeResource).not.toHaveBeenCalled();
  });
});

describe('Function: runPlaybook — steps that read what other steps recorded', () => {
  const quarantineData = z.object({ groupId: z.string(), previousGroups: z.array(z.string()).default([]) });
  /** A containment step that records, in its schema's shape, what it changed. */
  const quarantine = (run: () => Promise<StepResult<z.infer<typeof quarantineData>>> = async () => ({ status: 'done', summary: 'moved', data: { groupId: 'sg-q', previousGroups: ['sg-web'] } })) =>
    step({ name: 'quarantine', stage: 'contain', description: 'Move to the quarantine group', iamActions: [], data: quarantineData, run: vi.fn(run) });

  it("gives a step the data an earlier step recorded, typed by that step's schema", async () => {
    // Prepare
    const seen: string[] = [];
    const q = quarantine();
    const tag = step({
      name: 'tagQuarantine',
      stage: 'evidence',
      description: 'Tag with the quarantine group',
      iamActions: [],
      requires: [q],
      run: async (ctx) => {
        const recorded = ctx.outputOf(q);
        // Typed: groupId is a string, previousGroups an array.
        seen.push(recorded!.groupId, ...recorded!.previousGroups, ctx.outcomeOf(q)!.summary);
        return { status: 'done', summary: `tagged with ${recorded!.groupId}` };
      },
    });
    const { playbook } = fakePlaybook({}, { extraSteps: () => [q, tag] });
    const { deps, ledger } = engine();

    // Act
    await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(seen).toEqual(['sg-q', 'sg-web', 'moved']);
    expect(ledger.outcome('quarantine')!.data).toEqual({ groupId: 'sg-q', previousGroups: ['sg-web'] });
    expect(ledger.outcome('tagQuarantine')).toMatchObject({ status: 'done', summary: 'tagged with sg-q' });
  });

  it("reads an earlier delivery's data through the schema (its defaults applied), and nothing for a step that was not done", async () => {
    // Prepare
    const seen: unknown[] = [];
    const q = quarantine();
    const skippedOne = step({ name: 'skippedOne', stage: 'contain', description: 'Skip', iamActions: [], data: z.object({ x: z.number() }), run: vi.fn(async () => ({ status: 'skipped' as const, summary: 'still nothing to do', data: { x: 2 } })) });
    const read = step({
      name: 'read',
      stage: 'evidence',
      description: 'Read',
      iamActions: [],
      run: async (ctx) => {
        seen.push(ctx.outputOf(q), ctx.outputOf(skippedOne), ctx.outcomeOf(skippedOne)?.status);
        return { status: 'done', summary: 'read' };
      },
    });
    const { playbook } = fakePlaybook({}, { extraSteps: () => [q, skippedOne, read] });
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'retrying',
      steps: { quarantine: done('contain', { data: { groupId: 'sg-q' } }), skippedOne: { stage: 'contain', status: 'skipped', summary: 'nothing to do', attempts: 1, data: { x: 1 } } },
    });
    const { deps } = engine({}, ledger);

    // Act
    await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(q.run).not.toHaveBeenCalled();
    expect(seen).toEqual([{ groupId: 'sg-q', previousGroups: [] }, undefined, 'skipped']);
  });

  it('fails the step that reads recorded data not matching its schema, with RecordedDataInvalid, and carries on', async () => {
    // Prepare
    const q = quarantine();
    const tag = step({
      name: 'tagQuarantine',
      stage: 'evidence',
      description: 'Tag with the quarantine group',
      iamActions: [],
      run: vi.fn(async (ctx: StepContext<Fake, undefined>) => ({ status: 'done' as const, summary: `tagged with ${ctx.outputOf(q)?.groupId}` })),
    });
    const { playbook, ran } = fakePlaybook({}, { extraSteps: () => [q, tag] });
    const incident = anIncident();
    // A record edited by hand, or written by a version that recorded something else.
    const ledger = new FakeLedger().withRecord(incident, { status: 'contained', steps: { quarantine: done('contain', { data: { groupId: 42 } }) } });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ledger.outcome('tagQuarantine')).toMatchObject({
      status: 'failed',
      summary: 'Tag with the quarantine group: failed with RecordedDataInvalid',
      error: { code: 'RecordedDataInvalid', retryable: false, unsupported: false },
    });
    expect(ledger.outcome('tagQuarantine')!.error!.message).toContain('groupId:');
    expect(ran()).toEqual(['isolate', 'protect', 'snapshot', 'screenshot', 'tagQuarantine']);
    expect(result).toMatchObject({ status: 'contained', reason: 'contained; evidence steps failed: tagQuarantine' });
  });

  it('fails containment permanently when a containment step cannot read what it depends on', async () => {
    // Prepare
    const q = quarantine();
    const narrow = step({
      name: 'narrow',
      stage: 'contain',
      description: 'Narrow the quarantine group',
      iamActions: [],
      after: [q],
      run: async (ctx) => ({ status: 'done', summary: `narrowed ${ctx.outputOf(q)?.groupId}` }),
    });
    const { playbook } = fakePlaybook({}, { extraSteps: () => [q, narrow] });
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'retrying', steps: { quarantine: done('contain', { data: 'sg-q' }) } });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ status: 'failed', reason: 'containment steps failed permanently (a responder must act): narrow' });
    expect(ledger.outcome('narrow')!.error).toMatchObject({ code: 'RecordedDataInvalid', retryable: false });
  });
});

describe('Function: runPlaybook — hand-offs', () => {
  const handingOver = () =>
    step({
      name: 'handOverHost',
      stage: 'contain',
      description: 'Hand the host to the EC2 playbook',
      iamActions: [],
      data: z.object({ eventId: z.string() }),
      run: async (ctx) => ({ status: 'done' as const, summary: 'handed over', data: await ctx.handOff({ resourceType: 'Instance', id: 'i-0123456789abcdef0' }, 'host of a compromised container') }),
    });

  it('puts a hand-off on the bus when the receiving playbook is deployed', async () => {
    // Prepare
    const { playbook } = fakePlaybook({}, { extraSteps: () => [handingOver()] });
    const { deps, ledger } = engine({ deployedPlaybooks: ['container', 'ec2-instance'] });
    const sent = vi.fn(async () => ({ eventId: 'evt-1' }));

    // Act
    const result = await runPlaybook({ ...deps, handOff: sent }, playbook, anIncident(), delivery);

    // Assess
    expect(sent).toHaveBeenCalledWith(expect.objectContaining({ target: { resourceType: 'Instance', id: 'i-0123456789abcdef0' }, reason: 'host of a compromised container' }));
    expect(ledger.outcome('handOverHost')).toMatchObject({ status: 'done', data: { eventId: 'evt-1' } });
    expect(result.status).toBe('contained');
  });

  it('fails the step, for a responder, when the receiving playbook is not deployed: nothing would contain what it hands over', async () => {
    // Prepare
    const { playbook } = fakePlaybook({}, { extraSteps: () => [handingOver()] });
    const { deps, ledger } = engine({ deployedPlaybooks: ['container'] });
    const sent = vi.fn(async () => ({ eventId: 'evt-1' }));

    // Act
    const result = await runPlaybook({ ...deps, handOff: sent }, playbook, anIncident(), delivery);

    // Assess
    expect(sent).not.toHaveBeenCalled();
    expect(ledger.outcome('handOverHost')!.error).toMatchObject({ code: 'HandOffUndeliverable', retryable: false });
    expect(ledger.outcome('handOverHost')!.error!.message).toMatch(/the ec2-instance playbook is not deployed here/);
    expect(result.status).toBe('failed');
  });
});

describe('Function: runPlaybook — steps that wait on AWS', () => {
  it('runs investigation steps after evidence, and asks for a follow-up while a step is pending', async () => {
    // Prepare
    const { playbook, events, base } = fakePlaybook(
      {},
      {
        extraSteps: (b) => [
          step({
            name: 'forensicVolumes',
            stage: 'investigate',
            description: 'Make forensic volumes',
            iamActions: [],
            requires: [b.snapshot],
            run: vi.fn(async () => ({ status: 'pending' as const, summary: 'snapshot 40% done', retryAfterSeconds: 60 })),
          }),
        ],
      },
    );
    const forensic = (await playbook.load()).steps.at(-1)!;
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(events.at(-1)).toMatch(/^end:/);
    const firstCall = (s: { run: unknown }) => vi.mocked(s.run as () => void).mock.invocationCallOrder[0]!;
    expect(firstCall(forensic)).toBeGreaterThan(Math.max(...Object.values(base).map(firstCall)));
    expect(ledger.outcome('forensicVolumes')).toMatchObject({ status: 'pending', attempts: 1, retryAfterSeconds: 60 });
    expect(result.status).toBe('contained');
    expect(result.reason).toBe('contained; waiting on: forensicVolumes (looked at again in 60s)');
    expect(result.followUpSeconds).toBe(60);
  });

  it('does not call an incident contained while one of its containment steps is still waiting on AWS', async () => {
    // Prepare
    const { playbook } = fakePlaybook({ protect: async () => ({ status: 'pending', summary: 'waiting for a LookupEvents token', retryAfterSeconds: 5 }) });
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(result.status).toBe('containing');
    expect(result.reason).toBe('containing: protect not finished yet; waiting on: protect (looked at again in 5s)');
    expect(result.followUpSeconds).toBe(5);
    expect(ledger.finished.at(-1)!.status).toBe('containing');
  });

  it('calls the incident contained on the follow-up that finishes its last containment step', async () => {
    // Prepare
    const incident = anIncident();
    const pending: StepOutcome = { stage: 'contain', status: 'pending', summary: 'waiting', attempts: 1 };
    const ledger = new FakeLedger().withRecord(incident, { status: 'containing', steps: { isolate: done('contain'), protect: pending } });
    const { playbook } = fakePlaybook();
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ status: 'contained', previousStatus: 'containing' });
    expect(isNotifiedChange(result.status, result.previousStatus)).toBe(true);
  });

  it('asks for a follow-up no later than the configured delay', async () => {
    // Prepare
    const { playbook } = fakePlaybook({ snapshot: async () => ({ status: 'pending', summary: 'snapshot 1% done', retryAfterSeconds: 3600 }) });
    const { deps } = engine({ followUp: { delaySeconds: 120, maxAttempts: 72 } });

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(result.followUpSeconds).toBe(120);
  });

  it('gives a step its earlier outcome, its data read through its schema, on the follow-up', async () => {
    // Prepare
    const seen: unknown[] = [];
    const capture = step({
      name: 'captureVolatile',
      stage: 'investigate',
      description: 'Capture volatile data',
      iamActions: [],
      data: z.object({ commandId: z.string(), polls: z.number().default(0) }),
      run: vi.fn(async (ctx) => {
        seen.push(ctx.previous, ctx.outcomeOf(capture)?.status);
        const polls = (ctx.previous?.data?.polls ?? 0) + 1;
        return { status: 'done' as const, summary: 'captured', data: { commandId: ctx.previous?.data?.commandId ?? 'new', polls } };
      }),
    });
    const { playbook, ran } = fakePlaybook({}, { extraSteps: () => [capture] });
    const incident = anIncident();
    const pending: StepOutcome = { stage: 'investigate', status: 'pending', summary: 'running', attempts: 1, data: { commandId: 'cmd-1' } };
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'contained',
      blastRadiusSlotAt: '2025-06-19T14:00:00.000Z',
      steps: { isolate: done('contain'), protect: done('contain'), snapshot: done('evidence'), screenshot: done('evidence'), captureVolatile: pending },
    });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual(['captureVolatile']);
    expect(seen).toEqual([{ ...pending, data: { commandId: 'cmd-1', polls: 0 } }, 'pending']);
    expect(ledger.outcome('captureVolatile')).toMatchObject({ status: 'done', attempts: 2, data: { commandId: 'cmd-1', polls: 1 } });
    expect(result.followUpSeconds).toBeUndefined();
    expect(result.reason).toBe('contained; evidence complete');
    // A follow-up of a contained incident never takes a second blast-radius slot.
    expect(ledger.begins[0]!.blastRadius).toBeUndefined();
  });

  it("gives a step its earlier outcome without data when that data does not match the step's schema", async () => {
    // Prepare
    const seen: unknown[] = [];
    const poll = step({
      name: 'poll',
      stage: 'evidence',
      description: 'Poll',
      iamActions: [],
      data: z.object({ commandId: z.string() }),
      run: async (ctx) => {
        seen.push(ctx.previous);
        return { status: 'done', summary: 'polled', data: { commandId: 'cmd-2' } };
      },
    });
    const { playbook } = fakePlaybook({}, { extraSteps: () => [poll] });
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'contained',
      steps: { poll: { stage: 'evidence', status: 'pending', summary: 'sent', attempts: 1, data: { command: 'cmd-1' } } },
    });
    const { deps } = engine({}, ledger);

    // Act
    await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(seen).toEqual([{ stage: 'evidence', status: 'pending', summary: 'sent', attempts: 1, data: undefined }]);
    expect(ledger.outcome('poll')).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('waits while a required step is pending and skips when it failed, without running', async () => {
    // Prepare
    const requiring = (name: string, required: AnyStep<Fake>) =>
      step({ name, stage: 'investigate', description: `Do ${name}`, iamActions: [], requires: [required], run: vi.fn(async () => ({ status: 'done' as const, summary: 'stopped' })) });
    const { playbook } = fakePlaybook(
      {
        snapshot: async () => ({ status: 'pending', summary: 'snapshot pending' }),
        screenshot: async () => {
          throw awsError('UnsupportedOperation', { httpStatusCode: 400 });
        },
      },
      { extraSteps: (b) => [requiring('stopWaits', b.snapshot), requiring('stopSkips', b.screenshot)] },
    );
    const [stopWaits, stopSkips] = (await playbook.load()).steps.slice(-2);
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(stopWaits!.run).not.toHaveBeenCalled();
    expect(stopSkips!.run).not.toHaveBeenCalled();
    expect(ledger.outcome('stopWaits')).toEqual({ stage: 'investigate', status: 'pending', summary: 'Do stopWaits: waiting for snapshot', attempts: 0, data: { waitingOn: ['snapshot'] } });
    expect(ledger.outcome('stopSkips')).toEqual({ stage: 'investigate', status: 'skipped', summary: 'Do stopSkips: not run because screenshot failed', attempts: 0, data: { waitingOn: ['screenshot'] } });
    expect(result.followUpSeconds).toBe(300);
    expect(result.reason).toBe('contained; evidence steps failed: screenshot; waiting on: snapshot, stopWaits (looked at again in 300s)');
  });

  it("runs a step 'after' others once they finished, even when one of them failed", async () => {
    // Prepare
    const { playbook } = fakePlaybook(
      { screenshot: async () => Promise.reject(motoNotImplemented('GetConsoleScreenshot')) },
      { extraSteps: (b) => [step({ name: 'stop', stage: 'investigate', description: 'Stop', iamActions: [], after: [b.screenshot], run: vi.fn(async () => ({ status: 'done' as const, summary: 'stopped' })) })] },
    );
    const stop = (await playbook.load()).steps.at(-1)!;
    const { deps, ledger } = engine();

    // Act
    await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(stop.run).toHaveBeenCalledOnce();
    expect(ledger.outcome('stop')).toMatchObject({ status: 'done' });
  });

  it("waits for a step it comes 'after' while that step is pending", async () => {
    // Prepare
    const { playbook } = fakePlaybook(
      { snapshot: async () => ({ status: 'pending', summary: 'snapshot pending', retryAfterSeconds: 30 }) },
      { extraSteps: (b) => [step({ name: 'stop', stage: 'investigate', description: 'Stop', iamActions: [], after: [b.snapshot], run: vi.fn() })] },
    );
    const stop = (await playbook.load()).steps.at(-1)!;
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(stop.run).not.toHaveBeenCalled();
    expect(ledger.outcome('stop')).toMatchObject({ status: 'pending', summary: 'Stop: waiting for snapshot' });
    expect(result.followUpSeconds).toBe(30);
  });

  it('starts a step after a step of the same stage it names, and the others at once', async () => {
    // Prepare
    const order: string[] = [];
    const memory = step({
      name: 'memory',
      stage: 'evidence',
      description: 'Capture memory',
      iamActions: [],
      run: vi.fn(async () => {
        order.push('start:memory');
        await sleep(20);
        order.push('end:memory');
        return { status: 'done' as const, summary: 'dumped' };
      }),
    });
    const volatile = step({
      name: 'volatile',
      stage: 'evidence',
      description: 'Capture volatile data',
      iamActions: [],
      after: [memory],
      run: vi.fn(async () => {
        order.push('start:volatile');
        return { status: 'done' as const, summary: 'collected' };
      }),
    });
    const { playbook, base } = fakePlaybook({}, { extraSteps: () => [memory, volatile] });
    const { deps, ledger } = engine();

    // Act
    await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(order).toEqual(['start:memory', 'end:memory', 'start:volatile']);
    // The stage's other steps did not wait for memory.
    expect(vi.mocked(base.snapshot.run).mock.invocationCallOrder[0]).toBeLessThan(vi.mocked(volatile.run).mock.invocationCallOrder[0]!);
    expect(ledger.outcome('volatile')).toMatchObject({ status: 'done' });
  });

  it('gives the isolation step a head start: the other containment steps wait for it, at most the head start', async () => {
    // Prepare: an isolation that takes far longer than the head start.
    const { playbook, events } = fakePlaybook({ isolate: async () => (await sleep(300), { status: 'done', summary: 'isolated' }) });
    const { deps } = engine();
    const started = Date.now();
    let protectStartedAfter = -1;
    vi.mocked(playbook.containmentSteps.find((s) => s.name === 'protect')!.run).mockImplementationOnce(async () => {
      protectStartedAfter = Date.now() - started;
      events.push('start:protect');
      return { status: 'done', summary: 'protected' };
    });

    // Act
    const result = await runPlaybook({ ...deps, isolationHeadStartMs: 50 }, playbook, anIncident(), delivery);

    // Assess: protect did not wait for the slow isolation to end, but did not start with it either.
    expect(result.status).toBe('contained');
    expect(events.indexOf('start:protect')).toBeLessThan(events.indexOf('end:isolate'));
    expect(events.indexOf('start:isolate')).toBeLessThan(events.indexOf('start:protect'));
    expect(protectStartedAfter).toBeGreaterThanOrEqual(45);
  });

  it('starts what the isolation step requires at once, and the rest of the stage after it', async () => {
    // Prepare: isolation needs a lookup of the same stage first.
    const order: string[] = [];
    const lookup = step({
      name: 'lookup',
      stage: 'contain',
      description: 'Look up what isolation needs',
      iamActions: [],
      run: vi.fn(async () => (order.push('lookup'), { status: 'done' as const, summary: 'found' })),
    });
    const isolate = step({
      name: 'isolate',
      stage: 'contain',
      description: 'Isolate',
      iamActions: [],
      requires: [lookup],
      run: vi.fn(async () => (order.push('start:isolate'), await sleep(20), order.push('end:isolate'), { status: 'done' as const, summary: 'isolated' })),
    });
    const protect = step({ name: 'protect', stage: 'contain', description: 'Protect', iamActions: [], run: vi.fn(async () => (order.push('protect'), { status: 'done' as const, summary: 'protected' })) });
    const playbook = definePlaybook<Fake>({
      name: 'ec2-instance',
      options: z.object({ label: z.string() }),
      describe: async () => ({ id: INSTANCE_ID, tags: {} }),
      capture: { schema: FakeCaptureSchema, of: (r) => ({ id: r.id, before: 'state' }) },
      tags: (r) => r.tags,
      identifiers: (_i, r) => [r.id],
      principals: () => [],
      describeIamActions: [],
      isolationStep: isolate,
      // Listed first, protect still waits for the isolation path.
      steps: [protect, lookup, isolate],
      release: [],
    });
    const { deps } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(result.status).toBe('contained');
    expect(order).toEqual(['lookup', 'start:isolate', 'end:isolate', 'protect']);
  });

  it('gives no head start when an earlier delivery already isolated the resource', async () => {
    // Prepare: isolation done; protect failed last time and runs again, at once.
    const { playbook } = fakePlaybook();
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'retrying', steps: { isolate: done('contain') } });
    const { deps } = engine({}, ledger);
    const started = Date.now();

    // Act
    const result = await runPlaybook({ ...deps, isolationHeadStartMs: 60_000 }, playbook, incident, delivery);

    // Assess: a minute's head start would have timed the test out.
    expect(result.status).toBe('contained');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('gives up on a step pending for too many deliveries, with a failure a responder sees', async () => {
    // Prepare
    const { playbook } = fakePlaybook(
      {},
      { extraSteps: () => [step({ name: 'forensicVolumes', stage: 'investigate', description: 'Make volumes', iamActions: [], run: async () => ({ status: 'pending', summary: 'snapshot 10% done' }) })] },
    );
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'contained',
      steps: { forensicVolumes: { stage: 'investigate', status: 'pending', summary: 'snapshot 9% done', attempts: 2 } },
    });
    const { deps } = engine({ followUp: { delaySeconds: 300, maxAttempts: 3 } }, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ledger.outcome('forensicVolumes')).toMatchObject({
      status: 'failed',
      attempts: 3,
      summary: 'snapshot 10% done — gave up after 3 attempts',
      error: { code: 'PendingTooLong', message: 'still pending after 3 attempts', retryable: false, unsupported: false },
    });
    expect(result.followUpSeconds).toBeUndefined();
    expect(result.reason).toBe('contained; evidence steps failed: forensicVolumes');
  });

  it('changes nothing for a released incident, whatever GuardDuty re-publishes', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident({ count: 9 });
    const steps = { isolate: done('contain') };
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'released',
      steps,
      release: { requestedBy: RESPONDER, releasedBy: RESPONDER, releasedAt: '2025-06-19T16:00:00.000Z', reason: 'false positive', reattach: false, requestedAt: '2025-06-19T16:00:00.000Z', via: 'cli', status: 'released', steps: {} },
    });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result).toMatchObject({ status: 'released', steps });
    expect(result.reason).toBe(
      `released by ${RESPONDER} at 2025-06-19T16:00:00.000Z; this delivery changed nothing (GuardDuty reports no activity after the release: activity after it opens a new containment generation; or send a new manual finding to contain again)`,
    );
    expect(ledger.recorded).toEqual([]);
    expect(ledger.begins[0]!.gates.filter((g) => !g.passed)).toEqual([{ gate: 'not-released', passed: false, reason: 'the incident was released' }]);
    expect(ledger.begins[0]!.blastRadius).toBeUndefined();
  });

  it('says who released an incident even when the ledger lost the details', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'released' });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result.reason).toMatch(/^released by a responder at \?; this delivery changed nothing/);
  });

  it.each<[string, Partial<Incident>]>([
    ['archived', { archived: true }],
    ['as a sample', { sample: true }],
  ])('keeps a released incident released when its finding is re-published %s, describing nothing', async (_how, finding) => {
    // Prepare
    const { playbook, ran, describeResource } = fakePlaybook();
    const incident = anIncident(finding);
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'released',
      release: { requestedBy: RESPONDER, releasedBy: RESPONDER, releasedAt: '2025-06-19T16:00:00.000Z', reason: 'false positive', reattach: false, requestedAt: '2025-06-19T16:00:00.000Z', via: 'cli', status: 'released', steps: {} },
    });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(describeResource).not.toHaveBeenCalled();
    expect(ran()).toEqual([]);
    expect(result.status).toBe('released');
    expect(result.reason).toMatch(new RegExp(`^released by ${RESPONDER.replace(/[/]/g, '\\/')} at 2025-06-19T16:00:00.000Z; this delivery changed nothing`));
    expect(ledger.finished[0]!.status).toBe('released');
  });
});

describe('Function: runPlaybook — the status before the delivery', () => {
  it('reports no previous status for a new incident, so its first status is a change', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const { deps } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(result.status).toBe('contained');
    expect(result.previousStatus).toBeUndefined();
  });

  it('reports the status the ledger had before a redelivery of a contained incident', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'contained', steps: { isolate: done('contain'), protect: done('contain'), snapshot: done('evidence'), screenshot: done('evidence') } });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ status: 'contained', previousStatus: 'contained' });
  });

  it('reports a held incident that is contained once the limit allows it as a change from held', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'held' });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ status: 'contained', previousStatus: 'held' });
  });

  it('reports the previous status when the finding alone decides that nothing is done', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident({ archived: true });
    const ledger = new FakeLedger().withRecord(incident, { status: 'failed' });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ status: 'failed', previousStatus: 'failed' });
  });

  it('reports released before and after for a re-published finding of a released incident', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'released' });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ status: 'released', previousStatus: 'released' });
  });

  it('reports the previous status of an incident held by the blast-radius limit again', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { status: 'held' });
    ledger.slot = 'limit-reached';
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ status: 'held', previousStatus: 'held' });
  });
});

describe('Function: runPlaybook — containment generations and origins', () => {
  const released = (releasedAt = '2025-06-19T16:00:00.000Z') => ({
    status: 'released' as const,
    steps: { isolate: done('contain') },
    release: { requestedBy: RESPONDER, releasedBy: RESPONDER, releasedAt, reason: 'false positive', reattach: false, requestedAt: releasedAt, via: 'cli' as const, status: 'released' as const, steps: {} },
  });

  it('opens the next generation when GuardDuty saw the activity after the release: a new incident, linked both ways, contained', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident({ activityLastSeenAt: '2025-06-19T16:05:00.000Z' });
    const ledger = new FakeLedger().withRecord(incident, released());
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    const next = `${incident.incidentId}-g2`;
    expect(result).toMatchObject({ incidentId: next, status: 'contained', incident: { incidentId: next, generation: 2, derivedFrom: { kind: 'generation', incidentId: incident.incidentId } } });
    expect(ran()).toEqual(['isolate', 'protect', 'snapshot', 'screenshot']);
    expect(ledger.links).toEqual([{ source: incident.incidentId, derived: next, link: { kind: 'generation', at: expect.any(String) } }]);
    expect(ledger.begins.every((b) => b.incident.incidentId === next)).toBe(true);
    expect(ledger.finished.map((f) => f.incidentId)).toEqual([next]);
  });

  it('leaves a released incident released when the activity was last seen before the release', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident({ activityLastSeenAt: '2025-06-19T15:55:00.000Z' });
    const ledger = new FakeLedger().withRecord(incident, released());
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ incidentId: incident.incidentId, status: 'released' });
    expect(ran()).toEqual([]);
    expect(ledger.links).toEqual([]);
  });

  it('opens no generation for a release the ledger has no time for', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident({ activityLastSeenAt: '2025-06-19T16:05:00.000Z' });
    const ledger = new FakeLedger().withRecord(incident, { status: 'released', steps: {} });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result.status).toBe('released');
    expect(ledger.links).toEqual([]);
  });

  it('delivers a re-published finding to its latest generation, and opens nothing new', async () => {
    // Prepare: generation 1 released, generation 2 contained
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident({ activityLastSeenAt: '2025-06-19T16:05:00.000Z' });
    const gen2 = { ...incident, incidentId: `${incident.incidentId}-g2`, generation: 2 };
    const steps = Object.fromEntries(['isolate', 'protect', 'snapshot', 'screenshot'].map((n) => [n, done(n === 'isolate' || n === 'protect' ? 'contain' : 'evidence')]));
    const ledger = new FakeLedger().withRecord(incident, { ...released(), nextGeneration: gen2.incidentId }).withRecord(gen2, { status: 'contained', steps, blastRadiusSlotAt: '2025-06-19T16:06:00.000Z' });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ incidentId: gen2.incidentId, status: 'contained', previousStatus: 'contained' });
    expect(ran()).toEqual([]);
    expect(ledger.links).toEqual([]);
    expect(ledger.begins[0]!.incident).toMatchObject({ incidentId: gen2.incidentId, generation: 2, derivedFrom: { kind: 'generation', incidentId: incident.incidentId } });
  });

  it('opens generation 3 when the activity is seen after generation 2 was released too', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident({ activityLastSeenAt: '2025-06-19T18:00:00.000Z' });
    const gen2 = { ...incident, incidentId: `${incident.incidentId}-g2`, generation: 2 };
    const ledger = new FakeLedger().withRecord(incident, { ...released(), nextGeneration: gen2.incidentId }).withRecord(gen2, released('2025-06-19T17:00:00.000Z'));
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ incidentId: `${incident.incidentId}-g3`, status: 'contained', incident: { generation: 3, derivedFrom: { kind: 'generation', incidentId: gen2.incidentId } } });
  });

  it('holds a new generation while automation is paused, so that firebreak resume acts on it', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident({ activityLastSeenAt: '2025-06-19T16:05:00.000Z' });
    const ledger = new FakeLedger().withRecord(incident, released());
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook({ ...deps, paused: { paused: true } }, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ incidentId: `${incident.incidentId}-g2`, status: 'held' });
    expect(ran()).toEqual([]);
  });

  it('opens no generation for an archived finding, whatever it says of the activity', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident({ archived: true, activityLastSeenAt: '2025-06-19T16:05:00.000Z' });
    const ledger = new FakeLedger().withRecord(incident, released());
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result).toMatchObject({ incidentId: incident.incidentId, status: 'released' });
    expect(ledger.links).toEqual([]);
  });

  it('counts a redrive against the budget of the finding it re-delivers, and says whose budget is full', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const incident = anIncident({ origin: 'redrive', redelivery: { origin: 'redrive', of: 'manual', requestedBy: RESPONDER } });
    const ledger = new FakeLedger();
    ledger.slot = 'limit-reached';
    const loads = vi.spyOn(ledger, 'load');
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(result.status).toBe('held');
    expect(result.reason).toContain('of manual incidents');
    expect(loads.mock.calls.every(([, , origin]) => origin === 'manual')).toBe(true);
  });
});

/**
 * A fake ledger with the real step-claim conditions: a step is claimed only when it is not
 * done and no other live delivery holds it; a delivery that deferred never overwrites a
 * settled status. Every delivery run against one instance shares its state, as concurrent
 * Lambda invocations share the table.
 */
class ClaimingLedger extends FakeLedger {
  steps: Record<string, StepOutcome> = {};
  claims = new Map<string, { holder: string; until: number; at: string }>();
  status: string | undefined;

  override async load(incidentId: string): Promise<LoadedState> {
    const base = this.records.get(incidentId);
    const record = this.status || base ? ({ ...base, incidentId, steps: { ...this.steps }, status: this.status ?? base?.status } as IncidentRecord) : undefined;
    return { ...(record ? { record } : {}), window: { version: 0, entries: [] } };
  }

  async claimStep(_incidentId: string, step: string, holder: string, nowMs: number, untilMs: number) {
    const current = this.steps[step];
    if (current?.status === 'done') return { claimed: false as const, done: current };
    const held = this.claims.get(step);
    if (held && held.until >= nowMs && held.holder !== holder) return { claimed: false as const, heldBy: held };
    this.claims.set(step, { holder, until: untilMs, at: new Date(nowMs).toISOString() });
    return { claimed: true as const, ...(current ? { current } : {}) };
  }

  async recordClaimedStep(incidentId: string, step: string, _holder: string, outcome: StepOutcome) {
    this.steps[step] = outcome;
    this.claims.delete(step);
    await this.recordStep(incidentId, step, outcome);
  }

  override async finish(incidentId: string, status: IncidentStatus, reason: string, now: Date, isolatedAt?: string) {
    this.status = status;
    await super.finish(incidentId, status, reason, now, isolatedAt);
  }

  async finishDeferring(incidentId: string, status: IncidentStatus, reason: string, now: Date, isolatedAt?: string) {
    if (!['contained', 'failed', 'released'].includes(status) && ['contained', 'failed', 'released'].includes(this.status ?? '')) return;
    await this.finish(incidentId, status, reason, now, isolatedAt);
  }
}

describe('Function: runPlaybook — concurrent deliveries of one incident', () => {
  it('runs every step once when the same message is delivered to two invocations at once', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const ledger = new ClaimingLedger();
    const first = engine({}, ledger);
    const second = engine({}, ledger);
    const incident = anIncident();

    // Act
    const results = await Promise.all([runPlaybook(first.deps, playbook, incident, delivery), runPlaybook(second.deps, playbook, incident, delivery)]);

    // Assess
    for (const s of (await playbook.load()).steps) expect(vi.mocked(s.run).mock.calls, s.name).toHaveLength(1);
    expect(ledger.recorded.map((r) => r.name).sort()).toEqual(['isolate', 'protect', 'screenshot', 'snapshot']);
    // Whichever left steps to the other looks again later: a follow-up, not a second run.
    const deferring = results.filter((r) => Object.values(r.steps).some((o) => o.summary.includes('left to another delivery')));
    expect(deferring.length).toBeGreaterThan(0);
    for (const r of deferring) expect(r.followUpSeconds).toBeGreaterThan(0);
    expect(ledger.claims.size).toBe(0);
  });

  it('ten copies of a finding at once: each step runs once, and the follow-up finds the incident contained', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const ledger = new ClaimingLedger();
    const incident = anIncident();

    // Act
    await Promise.all(Array.from({ length: 10 }, (_, n) => runPlaybook(engine({}, ledger).deps, playbook, incident, { messageId: `copy-${n}` })));
    const followUp = await runPlaybook(engine({}, ledger).deps, playbook, incident, { messageId: 'follow-up' });

    // Assess
    for (const s of (await playbook.load()).steps) expect(vi.mocked(s.run).mock.calls, s.name).toHaveLength(1);
    expect(followUp.status).toBe('contained');
    expect(ledger.status).toBe('contained');
  });

  it('a delivery that left steps to another never turns a contained incident back into containing', async () => {
    // Prepare: another delivery holds isolation and has already written `contained`.
    const { playbook } = fakePlaybook();
    const ledger = new ClaimingLedger();
    ledger.status = 'contained';
    ledger.claims.set('isolate', { holder: 'other', until: FIXED_NOW.getTime() + 3_600_000, at: FIXED_NOW.toISOString() });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(result.status).toBe('containing');
    expect(result.steps.isolate).toMatchObject({ status: 'pending', attempts: 0, data: { claimedBy: 'other' } });
    expect(ledger.status).toBe('contained');
    expect(ledger.outcome('isolate')).toBeUndefined();
  });

  it('continues a pending step from what another delivery recorded since this one read the record', async () => {
    // Prepare: the record as this delivery read it has no snapshot; by the time it claims the
    // step, another delivery has recorded it pending with its snapshot ids.
    const seen: unknown[] = [];
    const { playbook } = fakePlaybook({
      snapshot: async (ctx) => {
        seen.push(ctx.previous?.summary);
        return { status: 'done', summary: 'snapshots completed' };
      },
    });
    const ledger = new ClaimingLedger();
    const loadAsRead = ledger.load.bind(ledger);
    ledger.load = async (id: string) => {
      const state = await loadAsRead(id);
      ledger.steps.snapshot = { stage: 'evidence', status: 'pending', summary: 'snapshots started', attempts: 1, data: { snapshotIds: ['snap-1'] } };
      return state;
    };
    const { deps } = engine({}, ledger);

    // Act
    await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(seen).toEqual(['snapshots started']);
    expect(ledger.outcome('snapshot')).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('holds its claims until the invocation deadline it is given', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const ledger = new ClaimingLedger();
    const claimed: number[] = [];
    const claim = ledger.claimStep.bind(ledger);
    ledger.claimStep = async (id, step, holder, nowMs, untilMs) => {
      claimed.push(untilMs);
      return claim(id, step, holder, nowMs, untilMs);
    };
    const deadline = new Date(FIXED_NOW.getTime() + 3_600_000);
    const { deps } = engine({}, ledger);

    // Act
    await runPlaybook({ ...deps, claimUntil: deadline }, playbook, anIncident(), delivery);

    // Assess
    expect(claimed).toEqual([deadline.getTime(), deadline.getTime(), deadline.getTime(), deadline.getTime()]);
  });

  it('when containment is throttled, evidence waits for the redelivery instead of spending the API rate isolation needs', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook({ isolate: () => Promise.reject(awsError('RequestLimitExceeded', { httpStatusCode: 503 })) });
    const { deps, ledger } = engine();
    const incident = anIncident();

    // Act
    const run = runPlaybook(deps, playbook, incident, delivery);

    // Assess
    await expect(run).rejects.toMatchObject({ failedSteps: ['isolate'], retryable: true });
    expect(ran()).toEqual(['isolate', 'protect']);
    expect(ledger.outcome('snapshot')).toBeUndefined();
    expect(ledger.finished).toEqual([{ incidentId: incident.incidentId, status: 'retrying', reason: 'containment steps failed with retryable errors: isolate' }]);
  });
});

describe('Function: runPlaybook — a storm of findings', () => {
  /** A ledger whose window shows `recent` containments in the account within the last minute. */
  const stormLedger = (recent: number, slot: 'taken' | 'already-held' = 'taken') => {
    const ledger = new FakeLedger();
    ledger.slot = slot;
    const entries = Array.from({ length: recent }, (_, n) => ({ incidentId: `inc-${n}`, at: FIXED_NOW.getTime() - 30_000 }));
    ledger.load = async () => ({ window: { version: recent, entries } });
    return ledger;
  };

  it('contains first and leaves evidence to the follow-up when ten containments began in the account within a minute', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const { deps, ledger } = engine({}, stormLedger(10));

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(ran()).toEqual(['isolate', 'protect']);
    expect(result.status).toBe('contained');
    expect(result.steps.snapshot).toMatchObject({ status: 'pending', summary: expect.stringContaining('containment first') });
    expect(result.followUpSeconds).toBe(deps.config.followUp.delaySeconds);
    // Nothing recorded for the steps left to the follow-up, which runs them.
    expect(ledger.outcome('snapshot')).toBeUndefined();
  });

  it('runs evidence as usual below the threshold, and in the follow-up of a storm (the incident already holds its slot)', async () => {
    // Prepare
    const calm = fakePlaybook();
    const followUp = fakePlaybook();

    // Act
    await runPlaybook(engine({}, stormLedger(9)).deps, calm.playbook, anIncident(), delivery);
    await runPlaybook(engine({}, stormLedger(50, 'already-held')).deps, followUp.playbook, anIncident(), delivery);

    // Assess
    expect(calm.ran()).toEqual(['isolate', 'protect', 'snapshot', 'screenshot']);
    expect(followUp.ran()).toEqual(['isolate', 'protect', 'snapshot', 'screenshot']);
  });
});
