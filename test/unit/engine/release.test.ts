import { describe, expect, it, vi } from 'vitest';
import type { ClientFactory } from '../../../shared/aws/index.ts';
import type { Playbook } from '../../../shared/engine/index.ts';
import { ReleaseRefusedError, ResourceNotFoundError } from '../../../shared/errors/index.ts';
import type { Incident } from '../../../shared/findings/index.ts';
import { releaseIncident, type ReleaseDeps, type ReleaseStepDefinition, type ReleaseStepResult } from '../../../shared/release/index.ts';
import { awsError, FIXED_NOW, INSTANCE_ID, silentLogger, someClients } from '../helpers/factories.ts';
import { aRecord, aReleaseRequest, contained, FakeReleaseLedger, INCIDENT_ID, released, RESPONDER } from './helpers.ts';

interface FakeResource {
  id: string;
}

/** A playbook whose release steps record their order and behave as each test says. */
function fakePlaybook(behaviour: Record<string, (ctx: Parameters<ReleaseStepDefinition<FakeResource>['run']>[0]) => Promise<ReleaseStepResult>> = {}, names = ['restoreGroups', 'reregister', 'tag']) {
  const order: string[] = [];
  const release = names.map(
    (name): ReleaseStepDefinition<FakeResource> => ({
      name,
      description: `Restore ${name}`,
      iamActions: [`ec2:${name}`],
      run: vi.fn(async (ctx) => {
        order.push(name);
        return (await behaviour[name]?.(ctx)) ?? { status: 'done' as const, summary: `${name} restored` };
      }),
    }),
  );
  const describeResource = vi.fn(async ({ incident }: { incident: Incident }) => ({ id: incident.resource.id }));
  const playbook: Playbook<FakeResource> = {
    name: 'ec2-instance',
    describe: describeResource,
    capture: (r) => ({ ...r }),
    tags: () => ({}),
    identifiers: (_i, r) => [r.id],
    principals: () => [],
    describeIamActions: [],
    isolationStep: 'isolate',
    steps: [],
    release,
  };
  const ran = () => release.filter((s) => vi.mocked(s.run).mock.calls.length > 0).map((s) => s.name);
  return { playbook, order, ran, release, describeResource };
}

function deps(playbook: Playbook<FakeResource>, ledger: FakeReleaseLedger, at = FIXED_NOW) {
  const clientsFor = vi.fn<ClientFactory>(() => someClients());
  let tick = 0;
  const d: ReleaseDeps = { ledger, clientsFor, logger: silentLogger(), playbooks: { 'ec2-instance': playbook }, now: () => new Date(at.getTime() + 1000 * tick++) };
  return { deps: d, clientsFor };
}

const containedRecord = () =>
  aRecord({ steps: { isolateNetworkInterfaces: contained('done', { interfaces: [] }), tagInstance: contained('done') }, capture: { instanceId: INSTANCE_ID, state: 'running' } });

const refusal = async (p: Promise<unknown>): Promise<ReleaseRefusedError> => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReleaseRefusedError);
  return error as ReleaseRefusedError;
};

describe('Function: releaseIncident', () => {
  it('runs the release steps in order and records who released the incident, when and why', async () => {
    // Prepare
    const { playbook, order } = fakePlaybook();
    const ledger = new FakeReleaseLedger().with(containedRecord());
    const { deps: d, clientsFor } = deps(playbook, ledger);

    // Act
    const result = await releaseIncident(d, aReleaseRequest({ reason: 'false\npositive: pen test SEC-42 ' }));

    // Assess
    expect(order).toEqual(['restoreGroups', 'reregister', 'tag']);
    expect(clientsFor).toHaveBeenCalledWith({ accountId: '111122223333', region: 'us-east-1' });
    expect(result).toMatchObject({ incidentId: INCIDENT_ID, outcome: 'released', ran: ['restoreGroups', 'reregister', 'tag'], failures: [], releasedBy: RESPONDER });
    const record = ledger.record();
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
      attempts: [{ requestedBy: RESPONDER, reason: 'false positive: pen test SEC-42', via: 'cli', reattach: false, requestedAt: FIXED_NOW.toISOString() }],
    });
    expect(record.statusReason).toBe(`released by ${RESPONDER} at ${result.releasedAt} (cli): false positive: pen test SEC-42`);
    expect(Object.keys(record.release!.steps)).toEqual(['restoreGroups', 'reregister', 'tag']);
    expect(record.release!.steps.restoreGroups).toMatchObject({ stage: 'release', status: 'done', summary: 'restoreGroups restored', attempts: 1 });
    // Containment's record is untouched: the evidence of what was done stays.
    expect(record.steps).toEqual(containedRecord().steps);
  });

  it('gives each step what containment recorded, the request and the resource described once', async () => {
    // Prepare
    const seen: unknown[] = [];
    const look = async (ctx: Parameters<ReleaseStepDefinition<FakeResource>['run']>[0]): Promise<ReleaseStepResult> => {
      seen.push({ contained: Object.keys(ctx.contained), capture: ctx.capture, resource: await ctx.resource(), reattach: ctx.request.reattach, incident: ctx.incident.resource.id });
      return { status: 'done', summary: 'looked' };
    };
    const { playbook, describeResource } = fakePlaybook({ restoreGroups: look, reregister: look });
    const ledger = new FakeReleaseLedger().with(aRecord({ ...containedRecord(), findingArn: 'arn:aws-us-gov:guardduty:us-gov-west-1:111122223333:detector/d/finding/f' }));

    // Act
    await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ reattach: true }));

    // Assess
    expect(seen).toEqual([
      { contained: ['isolateNetworkInterfaces', 'tagInstance'], capture: { instanceId: INSTANCE_ID, state: 'running' }, resource: { id: INSTANCE_ID }, reattach: true, incident: INSTANCE_ID },
      { contained: ['isolateNetworkInterfaces', 'tagInstance'], capture: { instanceId: INSTANCE_ID, state: 'running' }, resource: { id: INSTANCE_ID }, reattach: true, incident: INSTANCE_ID },
    ]);
    expect(describeResource).toHaveBeenCalledTimes(1);
    expect(describeResource.mock.calls[0]![0].incident).toMatchObject({ incidentId: INCIDENT_ID, partition: 'aws-us-gov', accountId: '111122223333', resource: { type: 'Instance', id: INSTANCE_ID } });
  });

  it('hands steps no resource when it no longer exists, and describes again after a failed describe', async () => {
    // Prepare
    const resources: unknown[] = [];
    const look = async (ctx: Parameters<ReleaseStepDefinition<FakeResource>['run']>[0]): Promise<ReleaseStepResult> => {
      resources.push(await ctx.resource());
      return { status: 'done', summary: 'looked' };
    };
    const { playbook, describeResource } = fakePlaybook({ restoreGroups: look, reregister: look, tag: look });
    describeResource
      .mockRejectedValueOnce(awsError('RequestLimitExceeded', { httpStatusCode: 503 }))
      .mockRejectedValueOnce(new ResourceNotFoundError(INSTANCE_ID));
    const ledger = new FakeReleaseLedger().with(containedRecord());

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result.steps.restoreGroups).toMatchObject({ status: 'failed', error: { code: 'RequestLimitExceeded', retryable: true } });
    expect(resources).toEqual([undefined, undefined]);
    expect(describeResource).toHaveBeenCalledTimes(2);
  });

  it('changes nothing, not even the ledger, when the incident is already released', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const ledger = new FakeReleaseLedger().with(containedRecord());
    await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());
    const before = structuredClone(ledger.record());
    const writes = ledger.writes.length;
    vi.mocked(playbook.release![0]!.run).mockClear();

    // Act
    const second = await releaseIncident(deps(playbook, ledger, new Date(FIXED_NOW.getTime() + 3600_000)).deps, aReleaseRequest({ requestedBy: 'arn:aws:iam::111122223333:user/bob' }));

    // Assess
    expect(second).toMatchObject({
      outcome: 'already-released',
      summary: `already released by ${RESPONDER} at ${before.release!.releasedAt}; nothing was changed`,
      ran: [],
      releasedBy: RESPONDER,
    });
    expect(ledger.writes).toHaveLength(writes);
    expect(ledger.record()).toEqual(before);
    expect(vi.mocked(playbook.release![0]!.run)).not.toHaveBeenCalled();
    expect(ran()).toEqual(['reregister', 'tag']);
  });

  it('keeps a failed release incomplete, and a second release retries only what failed', async () => {
    // Prepare
    let throttled = true;
    const { playbook, release } = fakePlaybook({
      reregister: async () => {
        if (throttled) throw awsError('Throttling', { httpStatusCode: 400 });
        return { status: 'done', summary: 'registered' };
      },
      tag: async () => ({ status: 'skipped', summary: 'not tagged while incomplete' }),
    });
    const ledger = new FakeReleaseLedger().with(containedRecord());

    // Act
    const first = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());
    const afterFirst = structuredClone(ledger.record());
    throttled = false;
    release.forEach((s) => vi.mocked(s.run).mockClear());
    const second = await releaseIncident(deps(playbook, ledger, new Date(FIXED_NOW.getTime() + 60_000)).deps, aReleaseRequest({ requestedBy: 'arn:aws:iam::111122223333:user/bob', reason: 'retry' }));

    // Assess
    expect(first).toMatchObject({ outcome: 'incomplete', failures: ['reregister'], retryableFailures: ['reregister'] });
    expect(first.summary).toBe('release incomplete: reregister (Throttling) failed; release again to retry only these');
    expect(afterFirst.status).toBe('contained');
    expect(afterFirst.release).toMatchObject({ status: 'incomplete', failures: ['reregister'] });
    expect(afterFirst.release!.steps.reregister).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'Throttling', retryable: true } });
    // The done step is not repeated; the failed one is, and the skipped one is looked at again.
    expect(release.filter((s) => vi.mocked(s.run).mock.calls.length > 0).map((s) => s.name)).toEqual(['reregister', 'tag']);
    expect(second).toMatchObject({ outcome: 'released', ran: ['reregister', 'tag'], releasedBy: 'arn:aws:iam::111122223333:user/bob' });
    const record = ledger.record();
    expect(record.status).toBe('released');
    expect(record.release!.steps.restoreGroups).toEqual(afterFirst.release!.steps.restoreGroups);
    expect(record.release!.steps.reregister).toMatchObject({ status: 'done', attempts: 2 });
    expect(record.release!.failures).toEqual([]);
    expect(record.release!.attempts!.map((a) => [a.requestedBy, a.reason])).toEqual([
      [RESPONDER, 'false positive: scheduled pen test SEC-42'],
      ['arn:aws:iam::111122223333:user/bob', 'retry'],
    ]);
  });

  it('reports a permanent failure as not retryable', async () => {
    // Prepare
    const { playbook } = fakePlaybook({ reregister: async () => Promise.reject(awsError('AccessDenied', { httpStatusCode: 403 })) });
    const ledger = new FakeReleaseLedger().with(containedRecord());

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result).toMatchObject({ outcome: 'incomplete', failures: ['reregister'], retryableFailures: [] });
    expect(result.steps.reregister!.summary).toMatch(/^Restore reregister: failed with AccessDenied/);
  });

  it('lets only one of two concurrent releases run; the other is refused as in progress', async () => {
    // Prepare
    const { playbook, release } = fakePlaybook();
    const ledger = new FakeReleaseLedger().with(containedRecord());

    // Act
    const [a, b] = await Promise.allSettled([
      releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()),
      releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ requestedBy: 'arn:aws:iam::111122223333:user/bob' })),
    ]);

    // Assess
    expect(a).toMatchObject({ status: 'fulfilled', value: { outcome: 'released' } });
    expect(b.status).toBe('rejected');
    const error = (b as PromiseRejectedResult).reason as ReleaseRefusedError;
    expect(error).toBeInstanceOf(ReleaseRefusedError);
    expect(error).toMatchObject({ refusal: 'in-progress', retryable: true });
    expect(error.message).toContain(`a release requested by ${RESPONDER}`);
    expect(release.map((s) => vi.mocked(s.run).mock.calls.length)).toEqual([1, 1, 1]);
  });

  it('refuses, writing nothing, while another release holds the incident', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const holding = { requestedBy: 'arn:aws:iam::111122223333:user/bob', reason: 'r', reattach: false, via: 'event', requestedAt: new Date(FIXED_NOW.getTime() - 5 * 60_000).toISOString() };
    const ledger = new FakeReleaseLedger().with(aRecord({ ...containedRecord(), release: { ...holding, status: 'releasing', claimId: 'other', attempts: [holding], steps: {} } }));

    // Act
    const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()));

    // Assess
    expect(error.refusal).toBe('in-progress');
    expect(error.message).toBe(
      `Release of ${INCIDENT_ID} refused: a release requested by arn:aws:iam::111122223333:user/bob at ${holding.requestedAt} is running; try again when it has finished (a release idle for 15 min may be taken over)`,
    );
    expect(ledger.writes).toEqual([]);
    expect(ran()).toEqual([]);
  });

  it('takes over a release idle for more than 15 minutes, without repeating its done steps', async () => {
    // Prepare
    const { playbook, ran } = fakePlaybook();
    const holding = { requestedBy: 'arn:aws:iam::111122223333:user/bob', reason: 'r', reattach: false, via: 'event', requestedAt: new Date(FIXED_NOW.getTime() - 16 * 60_000).toISOString() };
    const ledger = new FakeReleaseLedger().with(
      aRecord({ ...containedRecord(), release: { ...holding, status: 'releasing', claimId: 'dead', attempts: [holding], steps: { restoreGroups: released('done') } } }),
    );

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result.outcome).toBe('released');
    expect(ran()).toEqual(['reregister', 'tag']);
    expect(ledger.record().release!.attempts).toHaveLength(2);
  });

  it('stops, refusing to go on, when another run took the release over mid-way', async () => {
    // Prepare
    const ledger = new FakeReleaseLedger().with(containedRecord());
    const { playbook, ran } = fakePlaybook({
      restoreGroups: async () => {
        ledger.record().release!.claimId = 'taken-over';
        return { status: 'done', summary: 'restored' };
      },
    });

    // Act
    const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()));

    // Assess
    expect(error).toMatchObject({ refusal: 'claim-lost', retryable: false });
    expect(ran()).toEqual(['restoreGroups']);
    expect(ledger.record().status).toBe('contained');
  });

  it('marks the release incomplete, not in flight, when the ledger fails mid-way', async () => {
    // Prepare
    const ledger = new FakeReleaseLedger().with(containedRecord());
    const recordStep = ledger.recordReleaseStep.bind(ledger);
    vi.spyOn(ledger, 'recordReleaseStep').mockImplementation(async (id, claim, name, outcome) => {
      if (name === 'reregister') throw awsError('ProvisionedThroughputExceededException');
      return recordStep(id, claim, name, outcome);
    });
    const { playbook } = fakePlaybook();

    // Act
    const run = releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'ProvisionedThroughputExceededException' });
    expect(ledger.record().release).toMatchObject({ status: 'incomplete', failures: ['tag'] });
    expect(ledger.record().release!.summary).toMatch(/^release interrupted: ProvisionedThroughputExceededException/);
  });

  it('still throws the ledger error when even marking the release incomplete fails', async () => {
    // Prepare
    const ledger = new FakeReleaseLedger().with(containedRecord());
    vi.spyOn(ledger, 'recordReleaseStep').mockRejectedValue(awsError('InternalServerError', { httpStatusCode: 500 }));
    vi.spyOn(ledger, 'finishRelease').mockRejectedValue(awsError('InternalServerError', { httpStatusCode: 500 }));
    const { playbook } = fakePlaybook();

    // Act
    const run = releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'InternalServerError' });
    expect(ledger.record().release!.status).toBe('releasing');
  });

  it('says the incident is already released when it was released between reading and claiming', async () => {
    // Prepare
    const ledger = new FakeReleaseLedger().with(containedRecord());
    vi.spyOn(ledger, 'beginRelease').mockImplementation(async () => {
      Object.assign(ledger.record(), { status: 'released', release: { requestedBy: 'x', reason: 'r', reattach: false, via: 'cli', requestedAt: 't', status: 'released', releasedBy: 'bob', releasedAt: 'T', steps: {} } });
      return { claimed: false };
    });
    const { playbook, ran } = fakePlaybook();

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result).toMatchObject({ outcome: 'already-released', summary: 'already released by bob at T; nothing was changed' });
    expect(ran()).toEqual([]);
  });

  it('collects what the steps deliberately kept as containment left it', async () => {
    // Prepare
    const { playbook } = fakePlaybook({
      restoreGroups: async () => ({ status: 'done', summary: 'kept', data: { keptProtections: ['termination protection', 'evidence'] } }),
      tag: async () => ({ status: 'done', summary: 'kept', data: { keptProtections: ['evidence', 42] } }),
    });
    const ledger = new FakeReleaseLedger().with(containedRecord());

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(result.keptProtections).toEqual(['termination protection', 'evidence']);
    expect(ledger.record().release!.keptProtections).toEqual(['termination protection', 'evidence']);
  });

  it('describes a manual incident as it was recorded, and records an API the endpoint lacks as unsupported', async () => {
    // Prepare
    const { playbook, describeResource } = fakePlaybook({
      restoreGroups: async (ctx) => {
        await ctx.resource();
        return { status: 'done', summary: 'restored', evidence: [{ key: 'k', sha256: 'h', bytes: 1, contentType: 'text/plain' } as never] };
      },
      reregister: async () => Promise.reject(awsError('InternalFailure', { httpStatusCode: 500, message: 'The RegisterTargets action has not been implemented' })),
    });
    const { findingArn: _arn, ...withoutArn } = containedRecord();
    const ledger = new FakeReleaseLedger().with({ ...withoutArn, origin: 'manual', ticket: 'SEC-1', requestedBy: 'alice', remoteIps: undefined as never });

    // Act
    const result = await releaseIncident(deps(playbook, ledger).deps, aReleaseRequest());

    // Assess
    expect(describeResource.mock.calls[0]![0].incident).toMatchObject({ origin: 'manual', partition: 'aws', ticket: 'SEC-1', requestedBy: 'alice', remoteIps: [] });
    expect(result.steps.restoreGroups!.evidence).toHaveLength(1);
    expect(result.steps.reregister).toMatchObject({ status: 'failed', summary: 'Restore reregister: the API is not supported by this endpoint', error: { unsupported: true, retryable: false } });
  });

  describe('refusals (nothing is changed)', () => {
    it('refuses an unknown incident, saying how to find the right one', async () => {
      // Prepare
      const { playbook } = fakePlaybook();
      const ledger = new FakeReleaseLedger();

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
      ['a malformed incident id', { incidentId: 'inc-../../etc' }, /^incidentId: incident id must be inc- followed by 16 hex digits$/],
      ['a requester that is not an IAM-style name', { requestedBy: 'alice <script>' }, /^requestedBy:/],
    ])('refuses %s before reading the ledger', async (_what, overrides, message) => {
      // Prepare
      const { playbook } = fakePlaybook();
      const ledger = new FakeReleaseLedger().with(containedRecord());
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
      const error = await refusal(releaseIncident(deps(playbook, new FakeReleaseLedger()).deps, noReason as never));

      // Assess
      expect(error.refusal).toBe('invalid-request');
      expect(error.message).toContain('reason is required');
    });

    it('refuses when the incident is about another resource than the request names', async () => {
      // Prepare
      const { playbook, ran } = fakePlaybook();
      const ledger = new FakeReleaseLedger().with(containedRecord());

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ expect: { resourceId: 'i-0fffffffffffffff0', accountId: '111122223333' } })));

      // Assess
      expect(error).toMatchObject({ refusal: 'resource-mismatch', retryable: false });
      expect(error.message).toBe(`Release of ${INCIDENT_ID} refused: the request names resource "i-0fffffffffffffff0" but ${INCIDENT_ID} is about ${INSTANCE_ID}; nothing was changed`);
      expect(ledger.writes).toEqual([]);
      expect(ran()).toEqual([]);
    });

    it('refuses when the incident is in another account than the caller', async () => {
      // Prepare
      const { playbook } = fakePlaybook();
      const ledger = new FakeReleaseLedger().with(containedRecord());

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest({ expect: { accountId: '444455556666', resourceId: INSTANCE_ID } })));

      // Assess
      expect(error.refusal).toBe('resource-mismatch');
      expect(error.message).toContain('the request names account "444455556666"');
    });

    it('refuses an incident whose playbook has no release steps', async () => {
      // Prepare
      const { playbook } = fakePlaybook({}, []);
      const ledger = new FakeReleaseLedger().with(containedRecord());

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()));

      // Assess
      expect(error).toMatchObject({ refusal: 'not-supported', retryable: false });
      expect(error.message).toContain('the ec2-instance playbook has no release steps here');
      expect(ledger.writes).toEqual([]);
    });

    it('refuses an incident of a playbook this deployment does not run', async () => {
      // Prepare
      const { playbook } = fakePlaybook();
      const ledger = new FakeReleaseLedger().with(aRecord({ playbook: 's3-bucket' }));

      // Act
      const error = await refusal(releaseIncident(deps(playbook, ledger).deps, aReleaseRequest()));

      // Assess
      expect(error.refusal).toBe('not-supported');
    });
  });
});
