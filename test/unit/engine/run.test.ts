import { describe, expect, it, vi } from 'vitest';
import type { ClientFactory } from '../../../shared/aws/index.ts';
import type { Config } from '../../../shared/config/index.ts';
import { iamActionsOf, runPlaybook, type Playbook, type StepDefinition, type StepResult } from '../../../shared/engine/index.ts';
import { ContainmentIncompleteError, InvalidFindingError, ResourceNotFoundError } from '../../../shared/errors/index.ts';
import { EvidenceStore } from '../../../shared/evidence/index.ts';
import type { Incident } from '../../../shared/findings/index.ts';
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
  silentLogger,
  someClients,
} from '../helpers/factories.ts';

interface FakeResource {
  id: string;
  tags: Record<string, string>;
}

/** A playbook whose steps log when they start and finish, and behave as each test says. */
function fakePlaybook(
  behaviour: Record<string, () => Promise<StepResult>> = {},
  options: { describe?: () => Promise<FakeResource>; extraSteps?: StepDefinition<FakeResource>[] } = {},
) {
  const events: string[] = [];
  const step = (name: string, stage: 'contain' | 'evidence'): StepDefinition<FakeResource> => ({
    name,
    stage,
    description: `Do ${name}`,
    iamActions: [`ec2:${name}`],
    run: vi.fn(async () => {
      events.push(`start:${name}`);
      // Let the other steps of the stage start before this one finishes.
      await new Promise((r) => setTimeout(r, 5));
      try {
        return await (behaviour[name]?.() ?? Promise.resolve({ status: 'done' as const, summary: `${name} done` }));
      } finally {
        events.push(`end:${name}`);
      }
    }),
  });
  const steps = [step('isolate', 'contain'), step('protect', 'contain'), step('snapshot', 'evidence'), step('screenshot', 'evidence'), ...(options.extraSteps ?? [])];
  const describeResource = vi.fn(options.describe ?? (async () => ({ id: INSTANCE_ID, tags: {} })));
  const playbook: Playbook<FakeResource> = {
    name: 'ec2-instance',
    describe: describeResource,
    capture: (r) => ({ id: r.id, before: 'state' }),
    tags: (r) => r.tags,
    identifiers: (_i, r) => [r.id],
    principals: () => [],
    describeIamActions: ['ec2:DescribeInstances'],
    isolationStep: 'isolate',
    steps,
  };
  const ran = () => steps.filter((s) => vi.mocked(s.run).mock.calls.length > 0).map((s) => s.name);
  return { playbook, events, ran, describeResource };
}

function engine(config: Partial<Config> = {}, ledger = new FakeLedger()) {
  const clientsFor = vi.fn<ClientFactory>(() => someClients());
  let tick = 0;
  const deps = {
    config: aConfig(config),
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
    const firstEvidence = Math.min(events.indexOf('start:snapshot'), events.indexOf('start:screenshot'));
    expect(events.indexOf('start:isolate')).toBeLessThan(firstEvidence);
    expect(events.indexOf('start:protect')).toBeLessThan(firstEvidence);
    // The two containment steps ran concurrently.
    expect(events.slice(0, 2).sort()).toEqual(['start:isolate', 'start:protect']);
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
    expect(ledger.finished).toEqual([
      { incidentId: incident.incidentId, status: 'contained', reason: 'contained; evidence complete', isolatedAt: ledger.outcome('isolate')!.finishedAt },
    ]);
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
    // No blast-radius slot is taken for a plan.
    expect(ledger.begins[0]!.blastRadius).toBeUndefined();
    expect(ledger.finished[0]!.status).toBe('planned');
  });

  it('does not re-plan a step an earlier delivery finished, and says when a step needs full mode', async () => {
    // Prepare
    const fullOnly: StepDefinition<FakeResource> = { name: 'stop', stage: 'evidence', description: 'Stop it', iamActions: [], minimumMode: 'full', run: vi.fn() };
    const { playbook } = fakePlaybook({}, { extraSteps: [fullOnly] });
    const incident = anIncident();
    const ledger = new FakeLedger().withRecord(incident, { steps: { isolate: { stage: 'contain', status: 'done', summary: 'done before', attempts: 1 } } });
    const { deps } = engine({ mode: 'observe' }, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ledger.recorded.map((r) => r.name)).toEqual(['protect', 'snapshot', 'screenshot', 'stop']);
    expect(ledger.outcome('stop')!.summary).toBe('Stop it (planned in observe mode; runs only in full mode)');
    expect(result.steps.isolate!.summary).toBe('done before');
  });

  it('skips when a safety gate fails, runs no step, and records the gates', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident({ archived: true }), delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result).toMatchObject({ status: 'skipped', reason: 'no action: the finding is archived' });
    expect(ledger.begins[0]!.gates.find((g) => g.gate === 'not-archived')).toEqual({ gate: 'not-archived', passed: false, reason: 'the finding is archived' });
    expect(ledger.begins[0]!.blastRadius).toBeUndefined();
    expect(ledger.recorded).toEqual([]);
  });

  it('skips an instance carrying the exemption tag', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook({}, { describe: async () => ({ id: INSTANCE_ID, tags: { 'firebreak:exempt': 'true' } }) });
    const { deps } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result.reason).toBe('no action: the resource carries the exemption tag firebreak:exempt');
  });

  it('never undoes a containment when the finding is later archived', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident({ archived: true });
    const { deps } = engine({}, new FakeLedger().withRecord(incident, { status: 'contained' }));

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result.status).toBe('contained');
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
    expect(result.reason).toMatch(/^blast-radius limit reached: 2 containments in 600s in account 111122223333/);
    expect(ledger.recorded).toEqual([]);
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
    // Prepare
    const { playbook, ran } = fakePlaybook({ isolate: () => Promise.reject(awsError('RequestLimitExceeded', { httpStatusCode: 503 })) });
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
      summary: 'Do isolate: failed with RequestLimitExceeded',
      error: { code: 'RequestLimitExceeded', retryable: true, unsupported: false },
    });
    expect(ledger.finished).toEqual([
      { incidentId: incident.incidentId, status: 'retrying', reason: 'containment steps failed with retryable errors: isolate' },
    ]);
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

  it('on redelivery skips steps already done and reruns the failed ones, counting attempts', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident({ count: 2 });
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'retrying',
      capture: { id: INSTANCE_ID, before: 'first delivery' },
      steps: {
        isolate: { stage: 'contain', status: 'failed', summary: 'throttled', attempts: 2, error: { code: 'Throttling', message: '', retryable: true, unsupported: false } },
        protect: { stage: 'contain', status: 'done', summary: 'protected', attempts: 1, finishedAt: '2025-06-19T14:00:00.000Z' },
        snapshot: { stage: 'evidence', status: 'done', summary: 'snapshotted', attempts: 1 },
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
    // The first delivery's capture is kept as the "before" state.
    expect(ledger.begins[0]!.capture).toEqual({ id: INSTANCE_ID, before: 'first delivery' });
  });

  it('skips a step that needs a higher mode, and runs it in that mode', async () => {
    // Prepare
    const stop: StepDefinition<FakeResource> = {
      name: 'stop',
      stage: 'evidence',
      description: 'Stop the instance',
      iamActions: ['ec2:StopInstances'],
      minimumMode: 'full',
      run: vi.fn(async () => ({ status: 'done' as const, summary: 'stopped' })),
    };
    const contain = fakePlaybook({}, { extraSteps: [stop] });
    const full = fakePlaybook({}, { extraSteps: [stop] });
    const inContain = engine({ mode: 'contain' });
    const inFull = engine({ mode: 'full' });

    // Act
    await runPlaybook(inContain.deps, contain.playbook, anIncident(), delivery);
    const callsInContain = vi.mocked(stop.run).mock.calls.length;
    await runPlaybook(inFull.deps, full.playbook, anIncident(), delivery);

    // Assess
    expect(callsInContain).toBe(0);
    expect(inContain.ledger.outcome('stop')).toEqual({ stage: 'evidence', status: 'skipped', summary: 'Stop the instance: runs only in full mode (current mode: contain)', attempts: 0 });
    expect(vi.mocked(stop.run)).toHaveBeenCalledTimes(1);
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
    expect(result.reason).toBe('the finding is for account 444455556666; this deployment acts only in account 111122223333 (deploy Firebreak in that account)');
    expect(ledger.begins[0]!.gates).toEqual([{ gate: 'same-account', passed: false, reason: result.reason }]);
    expect(describeResource).not.toHaveBeenCalled();
    expect(clientsFor).not.toHaveBeenCalled();
    expect(ran()).toEqual([]);
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
    expect(ledger.begins[0]!.gates).toEqual([{ gate: 'resource-exists', passed: false, reason: result.reason }]);
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

  it('fails without retrying when describing the resource is denied', async () => {
    // Prepare
    const { playbook } = fakePlaybook({}, { describe: () => Promise.reject(awsError('UnauthorizedOperation', { httpStatusCode: 403, message: 'no' })) });
    const { deps } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(result).toMatchObject({ status: 'failed', reason: `could not describe ${INSTANCE_ID}: UnauthorizedOperation: no` });
  });

  it('refuses an incident meant for another playbook', async () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const { deps, ledger } = engine();
    const incident: Incident = anIncident({ playbook: 's3-bucket' });

    // Act
    const run = runPlaybook(deps, playbook, incident, delivery);

    // Assess
    await expect(run).rejects.toBeInstanceOf(InvalidFindingError);
    expect(ledger.begins).toEqual([]);
  });
});

describe('Function: runPlaybook — steps that wait on AWS', () => {
  const investigate = (name: string, extra: Partial<StepDefinition<FakeResource>>, run: StepDefinition<FakeResource>['run']): StepDefinition<FakeResource> => ({
    name,
    stage: 'investigate',
    description: `Do ${name}`,
    iamActions: [],
    run: vi.fn(run),
    ...extra,
  });

  it('runs investigation steps after evidence, and asks for a follow-up while a step is pending', async () => {
    // Prepare
    const order: string[] = [];
    const forensic = investigate('forensicVolumes', { requires: ['snapshot'] }, async () => {
      order.push('forensicVolumes');
      return { status: 'pending', summary: 'snapshot 40% done', retryAfterSeconds: 60 };
    });
    const { playbook, events } = fakePlaybook({}, { extraSteps: [forensic] });
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(events.at(-1)).toMatch(/^end:/);
    expect(order).toEqual(['forensicVolumes']);
    expect(vi.mocked(forensic.run).mock.invocationCallOrder[0]).toBeGreaterThan(Math.max(...playbook.steps.slice(0, 4).map((s) => vi.mocked(s.run).mock.invocationCallOrder[0]!)));
    expect(ledger.outcome('forensicVolumes')).toMatchObject({ status: 'pending', attempts: 1, retryAfterSeconds: 60 });
    expect(result.status).toBe('contained');
    expect(result.reason).toBe('contained; waiting on: forensicVolumes (looked at again in 60s)');
    expect(result.followUpSeconds).toBe(60);
  });

  it('gives the step its earlier outcome and every outcome so far, on the follow-up', async () => {
    // Prepare
    const seen: unknown[] = [];
    const capture = investigate('captureVolatile', {}, async (ctx) => {
      seen.push(ctx.previous?.data, Object.keys(ctx.outcomes).sort());
      return { status: 'done', summary: 'captured' };
    });
    const { playbook, ran } = fakePlaybook({}, { extraSteps: [capture] });
    const incident = anIncident();
    const done = { stage: 'contain' as const, status: 'done' as const, summary: 'ok', attempts: 1 };
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'contained',
      blastRadiusSlotAt: '2025-06-19T14:00:00.000Z',
      steps: {
        isolate: done,
        protect: done,
        snapshot: { ...done, stage: 'evidence' },
        screenshot: { ...done, stage: 'evidence' },
        captureVolatile: { stage: 'investigate', status: 'pending', summary: 'running', attempts: 1, data: { commandId: 'cmd-1' } },
      },
    });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual(['captureVolatile']);
    expect(seen).toEqual([{ commandId: 'cmd-1' }, ['captureVolatile', 'isolate', 'protect', 'screenshot', 'snapshot']]);
    expect(ledger.outcome('captureVolatile')).toMatchObject({ status: 'done', attempts: 2 });
    expect(result.followUpSeconds).toBeUndefined();
    expect(result.reason).toBe('contained; evidence complete');
    // A follow-up of a contained incident never takes a second blast-radius slot.
    expect(ledger.begins[0]!.blastRadius).toBeUndefined();
  });

  it('waits while a required step is pending and skips when it failed, without running', async () => {
    // Prepare
    const stopWaits = investigate('stopWaits', { requires: ['snapshot'] }, async () => ({ status: 'done', summary: 'stopped' }));
    const stopSkips = investigate('stopSkips', { requires: ['screenshot'] }, async () => ({ status: 'done', summary: 'stopped' }));
    const { playbook } = fakePlaybook(
      {
        snapshot: async () => ({ status: 'pending', summary: 'snapshot pending' }),
        screenshot: async () => {
          throw awsError('UnsupportedOperation', { httpStatusCode: 400 });
        },
      },
      { extraSteps: [stopWaits, stopSkips] },
    );
    const { deps, ledger } = engine();

    // Act
    const result = await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(stopWaits.run).not.toHaveBeenCalled();
    expect(stopSkips.run).not.toHaveBeenCalled();
    expect(ledger.outcome('stopWaits')).toMatchObject({ status: 'pending', summary: 'Do stopWaits: waiting for snapshot', data: { waitingOn: ['snapshot'] } });
    expect(ledger.outcome('stopSkips')).toMatchObject({ status: 'skipped', summary: 'Do stopSkips: not run because screenshot failed' });
    expect(result.followUpSeconds).toBe(300);
  });

  it("runs a step 'after' others once they finished, even when one of them failed", async () => {
    // Prepare
    const stop = investigate('stop', { after: ['screenshot'] }, async () => ({ status: 'done', summary: 'stopped' }));
    const { playbook } = fakePlaybook({ screenshot: async () => Promise.reject(motoNotImplemented('GetConsoleScreenshot')) }, { extraSteps: [stop] });
    const { deps, ledger } = engine();

    // Act
    await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(stop.run).toHaveBeenCalledOnce();
    expect(ledger.outcome('stop')).toMatchObject({ status: 'done' });
  });

  it('starts a step after a step of the same stage it names, and the others at once', async () => {
    // Prepare
    const order: string[] = [];
    const memory: StepDefinition<FakeResource> = {
      name: 'memory',
      stage: 'evidence',
      description: 'Capture memory',
      iamActions: [],
      run: vi.fn(async () => {
        order.push('start:memory');
        await new Promise((r) => setTimeout(r, 20));
        order.push('end:memory');
        return { status: 'done' as const, summary: 'dumped' };
      }),
    };
    const volatile: StepDefinition<FakeResource> = {
      name: 'volatile',
      stage: 'evidence',
      description: 'Capture volatile data',
      iamActions: [],
      after: ['memory'],
      run: vi.fn(async () => {
        order.push('start:volatile');
        return { status: 'done' as const, summary: 'collected' };
      }),
    };
    const { playbook, events } = fakePlaybook({}, { extraSteps: [memory, volatile] });
    const { deps, ledger } = engine();

    // Act
    await runPlaybook(deps, playbook, anIncident(), delivery);

    // Assess
    expect(order).toEqual(['start:memory', 'end:memory', 'start:volatile']);
    // The stage's other steps did not wait for memory.
    expect(events.indexOf('start:snapshot')).toBeGreaterThanOrEqual(0);
    expect(vi.mocked(playbook.steps[2]!.run).mock.invocationCallOrder[0]).toBeLessThan(vi.mocked(volatile.run).mock.invocationCallOrder[0]!);
    expect(ledger.outcome('volatile')).toMatchObject({ status: 'done' });
  });

  it('gives up on a step pending for too many deliveries, with a failure a responder sees', async () => {
    // Prepare
    const waits = investigate('forensicVolumes', {}, async () => ({ status: 'pending', summary: 'snapshot 10% done' }));
    const { playbook } = fakePlaybook({}, { extraSteps: [waits] });
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
      error: { code: 'PendingTooLong', retryable: false },
    });
    expect(result.followUpSeconds).toBeUndefined();
    expect(result.reason).toBe('contained; evidence steps failed: forensicVolumes');
  });

  it('changes nothing for a released incident, whatever GuardDuty re-publishes', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const incident = anIncident({ count: 9 });
    const ledger = new FakeLedger().withRecord(incident, {
      status: 'released',
      release: { requestedBy: 'arn:aws:iam::111122223333:user/alice', releasedBy: 'arn:aws:iam::111122223333:user/alice', releasedAt: '2025-06-19T16:00:00.000Z', reason: 'false positive', reattach: false, requestedAt: '2025-06-19T16:00:00.000Z', via: 'cli', status: 'released', steps: {} },
    });
    const { deps } = engine({}, ledger);

    // Act
    const result = await runPlaybook(deps, playbook, incident, delivery);

    // Assess
    expect(ran()).toEqual([]);
    expect(result.status).toBe('released');
    expect(result.reason).toMatch(/^released by arn:aws:iam::111122223333:user\/alice at 2025-06-19T16:00:00.000Z; this delivery changed nothing/);
    expect(ledger.recorded).toEqual([]);
    expect(ledger.begins[0]!.gates).toEqual([{ gate: 'not-released', passed: false, reason: 'the incident was released' }]);
  });
});

describe('Function: iamActionsOf', () => {
  it('lists every action of the platform, the describe and the steps once, sorted', () => {
    // Prepare
    const { playbook } = fakePlaybook();

    // Act
    const actions = iamActionsOf(playbook, ['s3:PutObject', 'ec2:isolate']);

    // Assess
    expect(actions).toEqual(['ec2:DescribeInstances', 'ec2:isolate', 'ec2:protect', 'ec2:screenshot', 'ec2:snapshot', 's3:PutObject']);
  });

  it("includes the release steps' actions, so the function can run a release from the bus", () => {
    // Prepare
    const { playbook } = fakePlaybook();
    const withRelease: Playbook<FakeResource> = {
      ...playbook,
      release: [{ name: 'restore', description: 'Restore', iamActions: ['ec2:restore', 'ec2:isolate'], run: async () => ({ status: 'done', summary: 'restored' }) }],
    };

    // Act
    const actions = iamActionsOf(withRelease, []);

    // Assess
    expect(actions).toEqual(['ec2:DescribeInstances', 'ec2:isolate', 'ec2:protect', 'ec2:restore', 'ec2:screenshot', 'ec2:snapshot']);
  });
});
