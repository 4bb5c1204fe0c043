import { DescribeInstancesCommand, EC2Client, ModifyInstanceAttributeCommand, StopInstancesCommand, type InstanceStateName } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { StepResult } from '../../../../shared/engine/index.ts';
import { stopForOfflineInvestigation } from '../../../../shared/playbooks/ec2-instance/offline.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { aStepContext, awsError, FIXED_NOW, INSTANCE_ID } from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const inState = (Name: InstanceStateName) => ({ Reservations: [{ Instances: [{ InstanceId: INSTANCE_ID, State: { Name } }] }] });
const callNames = () => ec2Mock.calls().map((c) => (c.args[0] as object).constructor.name);

type Recorded = NonNullable<Parameters<typeof stopForOfflineInvestigation.run>[0]['previous']>;

/** This step's outcome as the engine hands it back on the next delivery: recorded, then its data read through the step's schema. */
const previousOf = (outcome: StepOutcome): Recorded => ({ ...outcome, data: stopForOfflineInvestigation.data.safeParse(JSON.parse(JSON.stringify(outcome.data ?? null))).data });
const pendingOutcome = (result: StepResult<unknown>): StepOutcome => ({ stage: 'investigate', status: result.status, summary: result.summary, attempts: 1, data: result.data });

describe('Step: stopForOfflineInvestigation', () => {
  it('lifts stop protection, then stops the instance (no force, no hibernation) and records when', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolvesOnce(inState('running')).resolvesOnce(inState('stopped'));
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    ec2Mock.on(StopInstancesCommand).resolves({});

    // Act
    const result = await stopForOfflineInvestigation.run(aStepContext());

    // Assess
    expect(callNames()).toEqual(['DescribeInstancesCommand', 'ModifyInstanceAttributeCommand', 'StopInstancesCommand', 'DescribeInstancesCommand']);
    expect(ec2Mock.commandCalls(ModifyInstanceAttributeCommand)[0]!.args[0].input).toEqual({ InstanceId: INSTANCE_ID, DisableApiStop: { Value: false } });
    expect(ec2Mock.commandCalls(StopInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: [INSTANCE_ID] });
    expect(result).toEqual({
      status: 'done',
      summary: `${INSTANCE_ID} stopped for offline investigation (stop protection was lifted first; termination protection stays on)`,
      data: { stateBefore: 'running', finalState: 'stopped', stopRequestedAt: FIXED_NOW.toISOString() },
    });
  });

  it('looks again while the requested stop is still under way', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolvesOnce(inState('running')).resolvesOnce(inState('stopping'));
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    ec2Mock.on(StopInstancesCommand).resolves({});

    // Act
    const result = await stopForOfflineInvestigation.run(aStepContext());

    // Assess
    expect(result).toMatchObject({
      status: 'pending',
      retryAfterSeconds: 15,
      data: { stateBefore: 'running', finalState: 'stopping', stopRequestedAt: FIXED_NOW.toISOString() },
    });
  });

  it('finishes on a later delivery, keeping the state before and the time of the stop request', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolvesOnce(inState('running')).resolvesOnce(inState('stopping'));
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    ec2Mock.on(StopInstancesCommand).resolves({});
    const firstDelivery = await stopForOfflineInvestigation.run(aStepContext({ now: () => new Date('2025-06-19T14:59:00.000Z') }));
    ec2Mock.reset();
    ec2Mock.on(DescribeInstancesCommand).resolves(inState('stopped'));

    // Act
    const result = await stopForOfflineInvestigation.run(aStepContext({ previous: previousOf(pendingOutcome(firstDelivery)) }));

    // Assess
    expect(firstDelivery.status).toBe('pending');
    expect(callNames()).toEqual(['DescribeInstancesCommand']);
    expect(result).toEqual({
      status: 'done',
      summary: `${INSTANCE_ID} stopped for offline investigation (stop protection was lifted first; termination protection stays on)`,
      data: { stateBefore: 'running', finalState: 'stopped', stopRequestedAt: '2025-06-19T14:59:00.000Z' },
    });
  });

  it("acts as on a first delivery when its earlier outcome was only the engine's wait for other steps", async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(inState('stopped'));
    const waiting: StepOutcome = { stage: 'investigate', status: 'pending', summary: 'waiting for snapshotVolumes', attempts: 0, data: { waitingOn: ['snapshotVolumes'] } };

    // Act
    const result = await stopForOfflineInvestigation.run(aStepContext({ previous: previousOf(waiting) }));

    // Assess
    expect(previousOf(waiting).data).toBeUndefined();
    expect(result).toEqual({
      status: 'done',
      summary: `${INSTANCE_ID} was already stopped; nothing to do`,
      data: { stateBefore: 'stopped', finalState: 'stopped', stopRequestedAt: null },
    });
  });

  it('does nothing to an instance that is already stopped', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(inState('stopped'));

    // Act
    const result = await stopForOfflineInvestigation.run(aStepContext());

    // Assess
    expect(callNames()).toEqual(['DescribeInstancesCommand']);
    expect(result).toEqual({
      status: 'done',
      summary: `${INSTANCE_ID} was already stopped; nothing to do`,
      data: { stateBefore: 'stopped', finalState: 'stopped', stopRequestedAt: null },
    });
  });

  it('waits for an instance that is already stopping', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(inState('stopping'));

    // Act
    const result = await stopForOfflineInvestigation.run(aStepContext());

    // Assess
    expect(callNames()).toEqual(['DescribeInstancesCommand']);
    expect(result).toMatchObject({ status: 'pending', retryAfterSeconds: 15, summary: `waiting for ${INSTANCE_ID} to finish stopping` });
  });

  it('waits when the instance is still starting and EC2 cannot stop it yet', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(inState('pending'));
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    ec2Mock.on(StopInstancesCommand).rejects(awsError('IncorrectInstanceState'));

    // Act
    const result = await stopForOfflineInvestigation.run(aStepContext());

    // Assess
    expect(result).toMatchObject({ status: 'pending', retryAfterSeconds: 15, data: { stopRequestedAt: null } });
  });

  it('fails for good when EC2 no longer knows the instance', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'));

    // Act
    const run = stopForOfflineInvestigation.run(aStepContext());

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'StepFailedError', code: 'InstanceGone', retryable: false, message: expect.stringContaining('no longer described by EC2') });
    expect(callNames()).toEqual(['DescribeInstancesCommand']);
  });

  it('lets any other error of the stop request through', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(inState('running'));
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    ec2Mock.on(StopInstancesCommand).rejects(awsError('UnauthorizedOperation'));

    // Act
    const run = stopForOfflineInvestigation.run(aStepContext());

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });

  it('says what it saw when the instance vanished right after the stop request', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolvesOnce(inState('running')).resolvesOnce({ Reservations: [] });
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    ec2Mock.on(StopInstancesCommand).resolves({});

    // Act
    const result = await stopForOfflineInvestigation.run(aStepContext());

    // Assess
    expect(result).toMatchObject({ status: 'pending', summary: expect.stringContaining('now unknown'), data: { finalState: 'unknown' } });
  });

  it.each(['terminated', 'shutting-down'] as const)('fails for good when the instance is %s', async (state) => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves(inState(state));

    // Act
    const run = stopForOfflineInvestigation.run(aStepContext());

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'StepFailedError', code: 'InstanceGone', retryable: false });
    expect(callNames()).toEqual(['DescribeInstancesCommand']);
  });

  it('fails for good on an instance-store-backed instance, which EC2 can only terminate', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: INSTANCE_ID, State: { Name: 'running' }, RootDeviceType: 'instance-store' }] }] });

    // Act
    const run = stopForOfflineInvestigation.run(aStepContext());

    // Assess
    await expect(run).rejects.toMatchObject({ code: 'CannotStopInstanceStoreBacked', retryable: false });
    expect(callNames()).toEqual(['DescribeInstancesCommand']);
  });

  it('runs only in full mode, after the evidence is safe and every live capture has finished, and can never terminate', () => {
    // Assess
    expect(stopForOfflineInvestigation).toMatchObject({ stage: 'investigate', minimumMode: 'full' });
    expect(stopForOfflineInvestigation.requires.map((s) => s.name)).toEqual(['snapshotVolumes', 'preserveInstanceMetadata']);
    expect(stopForOfflineInvestigation.after.map((s) => s.name)).toEqual(['captureVolatileData', 'captureMemory', 'captureConsoleOutput', 'captureConsoleScreenshot']);
    expect(stopForOfflineInvestigation.iamActions).toEqual(['ec2:DescribeInstances', 'ec2:ModifyInstanceAttribute', 'ec2:StopInstances']);
    expect(stopForOfflineInvestigation.iamActions.filter((a) => /terminate/i.test(a))).toEqual([]);
  });
});
