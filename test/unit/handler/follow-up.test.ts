import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FOLLOW_UP_ATTRIBUTE, followUp, followUpIdOf, type FollowUpDeps } from '../../../shared/handler/follow-up.ts';
import { anSqsRecord, awsError, FIXED_NOW, silentLogger } from '../helpers/factories.ts';

const sqsMock = mockClient(SQSClient);
afterEach(() => sqsMock.reset());

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/111122223333/firebreak-ec2-instance';

function deps(reserve: (incidentId: string) => boolean = () => true, overrides: Partial<FollowUpDeps> = {}) {
  const ledger = {
    reserveFollowUp: vi.fn(async (incidentId: string, _request: { id: string; dueAt: Date; now: Date; replacing?: string }) => reserve(incidentId)),
    releaseFollowUp: vi.fn(async (_incidentId: string, _id: string) => undefined),
  };
  return { ledger, deps: { sqs: new SQSClient({ region: 'us-east-1' }), ledger, queueUrl: QUEUE_URL, logger: silentLogger(), now: () => FIXED_NOW, ...overrides } satisfies FollowUpDeps };
}

const followUpRecord = (id: string) => ({ ...anSqsRecord('{"finding":1}', 'msg-2'), messageAttributes: { [FOLLOW_UP_ATTRIBUTE]: { stringValue: id, dataType: 'String' } } });

describe('Function: followUp', () => {
  it('sends one follow-up carrying its id, after recording it on every incident still pending', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).resolves({});
    const { deps: d, ledger } = deps();

    // Act
    await followUp(d, anSqsRecord('{"finding":1}', 'msg-1'), { delaySeconds: 12.4, incidentIds: ['inc-1', 'inc-2'] }, ['inc-1', 'inc-2']);

    // Assess
    const [sent] = sqsMock.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    const id = sent!.MessageAttributes![FOLLOW_UP_ATTRIBUTE]!.StringValue!;
    expect(sent).toEqual({ QueueUrl: QUEUE_URL, MessageBody: '{"finding":1}', DelaySeconds: 12, MessageAttributes: { [FOLLOW_UP_ATTRIBUTE]: { DataType: 'String', StringValue: id } } });
    expect(ledger.reserveFollowUp.mock.calls.map(([incidentId, r]) => [incidentId, r])).toEqual([
      ['inc-1', { id, dueAt: new Date(FIXED_NOW.getTime() + 12_000), now: FIXED_NOW }],
      ['inc-2', { id, dueAt: new Date(FIXED_NOW.getTime() + 12_000), now: FIXED_NOW }],
    ]);
  });

  it('sends none when the incident already has a follow-up on its way (another copy of the finding scheduled it)', async () => {
    // Prepare
    const { deps: d } = deps(() => false);

    // Act
    await followUp(d, anSqsRecord('{}', 'msg-1'), { delaySeconds: 1, incidentIds: ['inc-1'] }, ['inc-1']);

    // Assess
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('a follow-up still pending replaces itself with the next one, within SQS\'s longest delay', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).resolves({});
    const { deps: d, ledger } = deps();

    // Act
    await followUp(d, followUpRecord('fu-1'), { delaySeconds: 5000, incidentIds: ['inc-1'] }, ['inc-1']);

    // Assess
    expect(ledger.reserveFollowUp.mock.calls[0]![1]).toMatchObject({ replacing: 'fu-1' });
    expect(sqsMock.commandCalls(SendMessageCommand)[0]!.args[0].input.DelaySeconds).toBe(900);
  });

  it('a follow-up that found nothing pending forgets itself on each incident', async () => {
    // Prepare
    const { deps: d, ledger } = deps();

    // Act
    await followUp(d, followUpRecord('fu-1'), undefined, ['inc-1', 'inc-2']);
    await followUp(d, anSqsRecord('{}', 'msg-3'), undefined, ['inc-1']);

    // Assess
    expect(ledger.releaseFollowUp.mock.calls).toEqual([
      ['inc-1', 'fu-1'],
      ['inc-2', 'fu-1'],
    ]);
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it('forgets a follow-up it could not send, and never throws', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).rejects(awsError('AWS.SimpleQueueService.NonExistentQueue'));
    const { deps: d, ledger } = deps((incidentId) => incidentId === 'inc-1');

    // Act
    const run = followUp(d, anSqsRecord('{}', 'msg-1'), { delaySeconds: 1, incidentIds: ['inc-1', 'inc-2'] }, ['inc-1', 'inc-2']);

    // Assess
    await expect(run).resolves.toBeUndefined();
    const id = ledger.reserveFollowUp.mock.calls[0]![1].id;
    expect(ledger.releaseFollowUp.mock.calls).toEqual([['inc-1', id]]);
  });

  it('without a queue URL, only says the steps resume when the finding is published again', async () => {
    // Prepare
    const logger = silentLogger();
    const warn = vi.spyOn(logger, 'warn');
    const { deps: d, ledger } = deps(() => true, { queueUrl: undefined, logger });

    // Act
    await followUp(d, anSqsRecord('{}', 'msg-1'), { delaySeconds: 1, incidentIds: ['inc-1'] }, ['inc-1']);

    // Assess
    expect(ledger.reserveFollowUp).not.toHaveBeenCalled();
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('FIREBREAK_QUEUE_URL is not set'), expect.anything());
  });

  it('reads the follow-up id of a record, as Lambda passes message attributes', () => {
    expect(followUpIdOf(followUpRecord('fu-9'))).toBe('fu-9');
    expect(followUpIdOf(anSqsRecord('{}', 'msg-1'))).toBeUndefined();
  });
});
