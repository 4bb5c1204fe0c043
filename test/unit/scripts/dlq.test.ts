import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { dlqList, dlqRedrive, readDlqMessage } from '../../../scripts/lib/dlq.ts';
import { fixtureBody, manualEvent, RESPONDER } from '../helpers/factories.ts';

const sqsMock = mockClient(SQSClient);
const eventsMock = mockClient(EventBridgeClient);
afterEach(() => {
  sqsMock.reset();
  eventsMock.reset();
});

const DLQ = 'https://sqs.us-east-1.amazonaws.com/111122223333/firebreak-ec2-instance-dlq';
const message = (id: string, body: string): Message => ({ MessageId: id, ReceiptHandle: `rh-${id}`, Body: body, Attributes: { ApproximateReceiveCount: '3', SentTimestamp: '1750344000000' } });
const finding = message('m-finding', fixtureBody('ec2-c-cactivity-b.json'));
const garbage = message('m-garbage', 'not json {');
const options = (lines: string[]) => ({
  dlqs: { 'ec2-instance': DLQ },
  bus: 'firebreak-responders',
  requestedBy: RESPONDER,
  sqs: new SQSClient({ region: 'us-east-1' }),
  events: new EventBridgeClient({ region: 'us-east-1' }),
  log: (l: string) => lines.push(l),
});

describe('Function: readDlqMessage', () => {
  it('reads what a DLQ message asks for, and why one cannot be redriven', () => {
    expect(readDlqMessage(finding)).toMatchObject({ ok: true, messageId: 'm-finding', receiveCount: 3, sentAt: '2025-06-19T14:40:00.000Z', summary: expect.stringMatching(/^guardduty Backdoor:EC2\/C&CActivity.B on Instance i-/) });
    expect(readDlqMessage(garbage)).toEqual({ ok: false, messageId: 'm-garbage', receiveCount: 3, sentAt: '2025-06-19T14:40:00.000Z', reason: 'message body is not JSON' });
  });

  it('unwraps a redrive, so a message redriven twice is not wrapped twice', () => {
    // Prepare
    const inner = JSON.parse(fixtureBody('ec2-c-cactivity-b.json'));
    const redrive = manualEvent({ resource: { resourceType: 'Instance' }, event: inner, requestedBy: RESPONDER }, { source: 'firebreak.redrive', 'detail-type': 'Firebreak Redrive', account: inner.account });

    // Act
    const read = readDlqMessage(message('m-redrive', JSON.stringify(redrive)));

    // Assess
    expect(read).toMatchObject({ ok: true, event: inner, summary: expect.stringMatching(/^redrive /) });
  });

  it('summarises a release and a resume, and refuses what names no resource type', () => {
    const release = manualEvent({ incidentId: 'inc-0123456789abcdef', resource: { resourceType: 'Instance', id: 'i-0a1b2c3d4e5f67890' }, reason: 'fp', requestedBy: RESPONDER }, { 'detail-type': 'Firebreak Manual Release' });
    expect(readDlqMessage(message('r', JSON.stringify(release)))).toMatchObject({ ok: true, summary: expect.stringMatching(/^release of inc-0123456789abcdef/) });
    const resume = manualEvent({ incidentId: 'inc-0123456789abcdef', resource: { resourceType: 'Instance', id: 'i-0a1b2c3d4e5f67890' }, requestedBy: RESPONDER }, { source: 'firebreak.resume', 'detail-type': 'Firebreak Resume' });
    expect(readDlqMessage(message('s', JSON.stringify(resume)))).toMatchObject({ ok: true, summary: expect.stringMatching(/^resume of inc-0123456789abcdef/) });
    const sample = JSON.parse(fixtureBody('ec2-c-cactivity-b.json'));
    sample.detail.service.additionalInfo = { sample: true };
    expect(readDlqMessage(message('i', JSON.stringify(sample)))).toMatchObject({ ok: true, summary: expect.stringMatching(/^ignored finding/) });
  });
});

describe('Function: readDlqMessage (principals)', () => {
  it.each([
    ['iam-user-consoleloginsuccess-b.json', 'IAMUser'],
    ['iam-role-instancecredentialexfiltration-outsideaws.json', 'IAMRole'],
    ['iam-user-rootcredentialusage.json', 'Account'],
  ])('names the principal of %s as the responders\' rules route it (%s), not as GuardDuty\'s AccessKey', (fixture, resourceType) => {
    expect(readDlqMessage(message('m', fixtureBody(fixture)))).toMatchObject({ ok: true, resourceType });
  });
});

describe('Function: dlqRedrive', () => {
  it('re-publishes each finding on the responders\' bus with origin redrive, deletes it only once accepted, and leaves the unparseable one with its reason', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [finding, garbage] }).resolves({});
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    const lines: string[] = [];

    // Act
    const counts = await dlqRedrive(options(lines));

    // Assess
    expect(counts).toEqual([{ playbook: 'ec2-instance', queueUrl: DLQ, republished: 1, unparseable: 1, refused: 0 }]);
    const entry = eventsMock.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({ Source: 'firebreak.redrive', DetailType: 'Firebreak Redrive', EventBusName: 'firebreak-responders' });
    expect(JSON.parse(entry.Detail!)).toEqual({ resource: { resourceType: 'Instance' }, event: JSON.parse(finding.Body!), requestedBy: RESPONDER, queue: DLQ, messageId: 'm-finding' });
    expect(sqsMock.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual(['rh-m-finding']);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)[0]!.args[0].input.Entries).toEqual([{ Id: '0', ReceiptHandle: 'rh-m-garbage', VisibilityTimeout: 0 }]);
    expect(lines).toContain("  left m-garbage in ec2-instance's DLQ: message body is not JSON");
  });

  it('keeps a message the bus refused, saying why', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [finding] }).resolves({});
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'denied by the bus policy' }] });
    const lines: string[] = [];

    // Act
    const [counts] = await dlqRedrive(options(lines));

    // Assess
    expect(counts).toMatchObject({ republished: 0, refused: 1 });
    expect(sqsMock.commandCalls(DeleteMessageCommand)).toEqual([]);
    expect(lines.join('\n')).toContain('the bus refused it (AccessDeniedException denied by the bus policy)');
  });

  it('keeps a message whose event is too large to re-publish', async () => {
    // Prepare
    const big = JSON.parse(fixtureBody('ec2-c-cactivity-b.json'));
    big.detail.service.additionalInfo = { padding: 'x'.repeat(260 * 1024) };
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [message('m-big', JSON.stringify(big))] }).resolves({});

    // Act
    const [counts] = await dlqRedrive(options([]));

    // Assess
    expect(counts).toMatchObject({ republished: 0, refused: 1 });
    expect(eventsMock.commandCalls(PutEventsCommand)).toEqual([]);
  });

  it('reads only the DLQ of the playbook asked for, and says when it knows none', async () => {
    await expect(dlqRedrive({ ...options([]), playbook: 's3-bucket' })).rejects.toThrow(/no DLQ known for playbook s3-bucket/);
  });
});

describe('Function: dlqList', () => {
  it('lists every message, what it asks for or why it stays, and makes them visible again', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [finding, garbage] }).resolves({ Messages: [finding] });
    const lines: string[] = [];

    // Act
    const code = await dlqList({ dlqs: { 'ec2-instance': DLQ }, sqs: new SQSClient({ region: 'us-east-1' }), log: (l) => lines.push(l) });

    // Assess
    expect(code).toBe(0);
    expect(lines[0]).toBe(`ec2-instance: 2 message(s) in ${DLQ}`);
    expect(lines[2]).toContain('UNPARSEABLE (stays): message body is not JSON');
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)[0]!.args[0].input.Entries).toHaveLength(2);
  });

  it('prints JSON without the events themselves', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [finding] }).resolves({});
    sqsMock.on(GetQueueUrlCommand, { QueueName: 'firebreak-ec2-instance-dlq' }).resolves({ QueueUrl: DLQ });
    const lines: string[] = [];

    // Act: the DLQ named, its URL looked up
    await dlqList({ dlqs: { 'ec2-instance': 'firebreak-ec2-instance-dlq' }, json: true, sqs: new SQSClient({ region: 'us-east-1' }), log: (l) => lines.push(l) });

    // Assess
    const report = JSON.parse(lines[0]!);
    expect(report[0].messages[0]).toMatchObject({ ok: true, messageId: 'm-finding' });
    expect(report[0].messages[0].event).toBeUndefined();
  });
});
