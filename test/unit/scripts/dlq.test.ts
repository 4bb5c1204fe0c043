import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ChangeMessageVisibilityBatchCommand, DeleteMessageCommand, GetQueueUrlCommand, QueueDoesNotExist, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dlqList, dlqRedrive, isAbout, readDlqMessage, type DlqReport } from '../../../scripts/lib/dlq.ts';
import { generationId, incidentIdFor } from '../../../shared/findings/index.ts';
import { Ledger } from '../../../shared/ledger/index.ts';
import { ACCOUNT_ID, aDocumentClient, FINDING_ID, fixtureBody, INSTANCE_ID, LEDGER_TABLE, manualEvent, RESPONDER } from '../helpers/factories.ts';

const sqsMock = mockClient(SQSClient);
const eventsMock = mockClient(EventBridgeClient);
const dbMock = mockClient(DynamoDBDocumentClient);
beforeEach(() => dbMock.on(GetCommand).resolves({}));
afterEach(() => {
  sqsMock.reset();
  eventsMock.reset();
  dbMock.reset();
});

/** The incident the EC2 fixture's finding is about. */
const INCIDENT_ID = incidentIdFor(ACCOUNT_ID, FINDING_ID, INSTANCE_ID);
const ledger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);
/** What the ledger table holds, by key. */
const inLedger = (...items: Array<Record<string, unknown> & { pk: string; sk: string }>) => {
  for (const item of items) dbMock.on(GetCommand, { Key: { pk: item.pk, sk: item.sk } }).resolves({ Item: item });
};
const incidentItem = (incidentId: string, extra: Record<string, unknown>) => ({ pk: `incident#${incidentId}`, sk: 'incident', kind: 'incident', schemaVersion: 2, incidentId, playbook: 'ec2-instance', ...extra });

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
    expect(counts).toEqual([{ playbook: 'ec2-instance', queueUrl: DLQ, republished: 1, unparseable: 1, refused: 0, notSelected: 0 }]);
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
    const code = await dlqList({ dlqs: { 'ec2-instance': DLQ }, ledger: ledger(), sqs: new SQSClient({ region: 'us-east-1' }), log: (l) => lines.push(l) });

    // Assess
    expect(code).toBe(0);
    expect(lines[0]).toBe(`ec2-instance: 2 message(s) in ${DLQ}`);
    expect(lines.find((l) => l.startsWith('  m-garbage'))).toContain('UNPARSEABLE (stays): message body is not JSON');
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)[0]!.args[0].input.Entries).toHaveLength(2);
  });

  it('prints JSON without the events themselves', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [finding] }).resolves({});
    sqsMock.on(GetQueueUrlCommand, { QueueName: 'firebreak-ec2-instance-dlq' }).resolves({ QueueUrl: DLQ });
    const lines: string[] = [];

    // Act: the DLQ named, its URL looked up
    await dlqList({ dlqs: { 'ec2-instance': 'firebreak-ec2-instance-dlq' }, json: true, ledger: ledger(), sqs: new SQSClient({ region: 'us-east-1' }), log: (l) => lines.push(l) });

    // Assess
    const report = JSON.parse(lines[0]!) as { ledgerTable: string; dlqs: DlqReport[] };
    expect(report.ledgerTable).toBe(LEDGER_TABLE);
    expect(report.dlqs[0]!.messages[0]).toMatchObject({ ok: true, messageId: 'm-finding' });
    expect(report.dlqs[0]!.messages[0]).not.toHaveProperty('event');
  });
});

describe('Function: dlqList (joined with the ledger)', () => {
  const otherFinding = (() => {
    const e = JSON.parse(fixtureBody('ec2-c-cactivity-b.json'));
    e.detail.id = 'f0e0d0c0b0a090807060504030201000';
    return message('m-unknown', JSON.stringify(e));
  })();
  const sample = (() => {
    const e = JSON.parse(fixtureBody('ec2-c-cactivity-b.json'));
    e.detail.service.additionalInfo = { sample: true };
    return message('m-sample', JSON.stringify(e));
  })();
  const releaseOf = message(
    'm-release',
    JSON.stringify(manualEvent({ incidentId: 'inc-0123456789abcdef', resource: { resourceType: 'Instance', id: INSTANCE_ID }, reason: 'fp', requestedBy: RESPONDER }, { 'detail-type': 'Firebreak Manual Release' })),
  );
  const list = async (extra: { incident?: string; json?: boolean; playbook?: string; dlqs?: Record<string, string> } = {}) => {
    const lines: string[] = [];
    const code = await dlqList({ dlqs: { 'ec2-instance': DLQ }, ledger: ledger(), sqs: new SQSClient({ region: 'us-east-1' }), log: (l) => lines.push(l), ...extra });
    return { code, lines, text: lines.join('\n') };
  };

  it('says for each message the incident it is about, its status and why, deliveries, last update and each failed step with its error code', async () => {
    // Prepare: a finding whose containment keeps failing, a finding the ledger never saw, a message
    // the function rejected, a sample it ignored, and a release of an incident whose release is incomplete
    const all = { Messages: [finding, otherFinding, garbage, sample, releaseOf] };
    sqsMock.on(ReceiveMessageCommand).resolvesOnce(all).resolvesOnce({}).resolvesOnce(all).resolves({});
    inLedger(
      incidentItem(INCIDENT_ID, {
        status: 'retrying',
        statusReason: 'containment steps failed with retryable errors: detachFromAutoScalingGroup',
        deliveries: 2,
        lastSeenAt: '2025-06-19T14:41:00.000Z',
        finishedAt: '2025-06-19T14:41:02.000Z',
        steps: {
          isolateNetworkInterfaces: { stage: 'contain', status: 'done', summary: 'isolated', attempts: 1, finishedAt: '2025-06-19T14:40:30.000Z' },
          detachFromAutoScalingGroup: {
            stage: 'contain',
            status: 'failed',
            summary: 'failed with ECONNREFUSED',
            attempts: 2,
            finishedAt: '2025-06-19T14:41:03.000Z',
            error: { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9', retryable: true, unsupported: false },
          },
          snapshotVolumes: { stage: 'evidence', status: 'pending', summary: 'waiting', attempts: 1 },
        },
      }),
      { pk: 'rejected#m-garbage', sk: 'rejected', kind: 'rejected', messageId: 'm-garbage', playbook: 'ec2-instance', reasons: ['message body is not JSON'], reasonCount: 1, receivedAt: '2025-06-19T14:40:05.000Z' },
      { pk: `ignored#${ACCOUNT_ID}#${FINDING_ID}`, sk: 'ignored', kind: 'ignored', status: 'skipped', why: 'sample', reason: 'a GuardDuty sample finding', deliveries: 4 },
      incidentItem('inc-0123456789abcdef', {
        status: 'contained',
        deliveries: 1,
        lastSeenAt: '2025-06-19T13:00:00.000Z',
        steps: {},
        release: { status: 'incomplete', summary: 'restoreSecurityGroups failed', requestedAt: '2025-06-19T14:00:00.000Z', steps: {} },
      }),
    );

    // Act
    const text = await list();
    const json = await list({ json: true });

    // Assess: the text says it all, under each message
    expect(text.code).toBe(0);
    expect(text.lines).toEqual([
      `ec2-instance: 5 message(s) in ${DLQ}`,
      expect.stringMatching(/^ {2}m-finding .* guardduty Backdoor:EC2\/C&CActivity\.B on Instance i-0a1b2c3d4e5f67890/),
      `    incident ${INCIDENT_ID}: retrying, 2 deliveries, last update 2025-06-19T14:41:03.000Z: containment steps failed with retryable errors: detachFromAutoScalingGroup`,
      '      failed detachFromAutoScalingGroup: ECONNREFUSED (retryable, 2 attempts): connect ECONNREFUSED 127.0.0.1:9',
      '      pending: snapshotVolumes',
      expect.stringMatching(/^ {2}m-unknown /),
      expect.stringMatching(/^ {4}incident inc-[0-9a-f]{16}: not in the ledger firebreak-ledger-test \(/),
      expect.stringMatching(/^ {2}m-garbage .* UNPARSEABLE \(stays\): message body is not JSON$/),
      '    rejected by the ec2-instance function at 2025-06-19T14:40:05.000Z: message body is not JSON (a redrive would be rejected again)',
      expect.stringMatching(/^ {2}m-sample .* ignored finding/),
      '    ignored finding (sample), 4 deliveries: a GuardDuty sample finding',
      expect.stringMatching(/^ {2}m-release .* release of inc-0123456789abcdef/),
      '    incident inc-0123456789abcdef: contained, 1 deliveries, last update 2025-06-19T14:00:00.000Z',
      '      release incomplete: restoreSecurityGroups failed',
      '      (a release request: run `firebreak release inc-0123456789abcdef` again rather than redrive it)',
    ]);
    // …and the JSON carries the same, per message
    const report = JSON.parse(json.lines[0]!) as { dlqs: DlqReport[] };
    const [joined, unknown, garbageJoin] = report.dlqs[0]!.messages;
    expect(joined!.incidents).toEqual([
      {
        incidentId: INCIDENT_ID,
        inLedger: true,
        status: 'retrying',
        reason: 'containment steps failed with retryable errors: detachFromAutoScalingGroup',
        deliveries: 2,
        lastUpdate: '2025-06-19T14:41:03.000Z',
        failedSteps: [{ step: 'detachFromAutoScalingGroup', code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9', retryable: true, attempts: 2 }],
        pendingSteps: ['snapshotVolumes'],
        redeliveries: 0,
        settled: false,
      },
    ]);
    expect(unknown!.incidents).toEqual([{ incidentId: expect.stringMatching(/^inc-/), inLedger: false }]);
    expect(garbageJoin).toMatchObject({ ok: false, incidents: [], rejected: { playbook: 'ec2-instance', reasons: ['message body is not JSON'] } });
  });

  it('says a redrive changes nothing for a contained incident, and follows a released one to its latest generation', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [finding] }).resolves({});
    const gen2 = generationId(INCIDENT_ID, 2);
    inLedger(
      incidentItem(INCIDENT_ID, { status: 'released', deliveries: 3, lastSeenAt: '2025-06-19T14:00:00.000Z', steps: {}, nextGeneration: gen2 }),
      incidentItem(gen2, { status: 'contained', deliveries: 2, lastSeenAt: '2025-06-19T15:00:00.000Z', steps: {}, redeliveries: [{ origin: 'redrive', requestedBy: RESPONDER, at: '2025-06-19T15:00:00.000Z', messageId: 'x' }] }),
    );

    // Act
    const { lines } = await list();

    // Assess
    expect(lines.slice(2)).toEqual([`    incident ${gen2} (latest generation of ${INCIDENT_ID}): contained, 2 deliveries, last update 2025-06-19T15:00:00.000Z, 1 re-deliveries`, '      (a redrive changes nothing: the incident is contained and every step has finished)']);
  });

  it('lists only the messages about the incident asked for (any generation of it), and makes every message visible again', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [finding, otherFinding, garbage] }).resolves({});

    // Act
    const { lines } = await list({ incident: generationId(INCIDENT_ID, 3) });

    // Assess
    expect(lines[0]).toBe(`ec2-instance: 1 message(s) about ${generationId(INCIDENT_ID, 3)} in ${DLQ}`);
    expect(lines.filter((l) => /^ {2}m-/.test(l))).toEqual([expect.stringMatching(/^ {2}m-finding /)]);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)[0]!.args[0].input.Entries).toHaveLength(3);
  });

  it('says which DLQs do not exist here (playbooks not deployed), and refuses a playbook asked for by name that has none', async () => {
    // Prepare
    sqsMock.on(GetQueueUrlCommand, { QueueName: 'fb-x-ec2-instance-dlq' }).resolves({ QueueUrl: DLQ });
    sqsMock.on(GetQueueUrlCommand, { QueueName: 'fb-x-s3-bucket-dlq' }).rejects(new QueueDoesNotExist({ message: 'The specified queue does not exist.', $metadata: {} }));
    sqsMock.on(ReceiveMessageCommand).resolves({});
    const dlqs = { 'ec2-instance': 'fb-x-ec2-instance-dlq', 's3-bucket': 'fb-x-s3-bucket-dlq' };

    // Act
    const { lines } = await list({ dlqs });
    const json = await list({ dlqs, json: true });

    // Assess
    expect(lines).toEqual([`ec2-instance: 0 message(s) in ${DLQ}`, 'no DLQ here (playbook not deployed): s3-bucket (fb-x-s3-bucket-dlq)']);
    expect(JSON.parse(json.lines[0]!).notDeployed).toEqual([{ playbook: 's3-bucket', queue: 'fb-x-s3-bucket-dlq' }]);
    await expect(list({ dlqs, playbook: 's3-bucket' })).rejects.toThrow(/no queue fb-x-s3-bucket-dlq in this account and region: is the s3-bucket playbook deployed here/);
  });

  it('passes on any other error reading a queue', async () => {
    sqsMock.on(GetQueueUrlCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    await expect(list({ dlqs: { 'ec2-instance': 'fb-x-ec2-instance-dlq' } })).rejects.toThrow('denied');
  });
});

describe('Function: dlqRedrive --incident', () => {
  const other = (() => {
    const e = JSON.parse(fixtureBody('ec2-c-cactivity-b.json'));
    e.detail.id = 'f0e0d0c0b0a090807060504030201000';
    return message('m-other', JSON.stringify(e));
  })();

  it('re-publishes only the messages about the incident; the others are visible again at once, before anything is re-published', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [finding, other, garbage] }).resolves({});
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    const lines: string[] = [];

    // Act
    const counts = await dlqRedrive({ ...options(lines), incident: INCIDENT_ID });

    // Assess
    expect(counts).toEqual([{ playbook: 'ec2-instance', queueUrl: DLQ, republished: 1, unparseable: 0, refused: 0, notSelected: 2 }]);
    const put = eventsMock.commandCalls(PutEventsCommand);
    expect(put).toHaveLength(1);
    expect(JSON.parse(put[0]!.args[0].input.Entries![0]!.Detail!)).toMatchObject({ messageId: 'm-finding' });
    expect(sqsMock.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle)).toEqual(['rh-m-finding']);
    const madeVisible = sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand);
    expect(madeVisible[0]!.args[0].input.Entries).toEqual([
      { Id: '0', ReceiptHandle: 'rh-m-other', VisibilityTimeout: 0 },
      { Id: '1', ReceiptHandle: 'rh-m-garbage', VisibilityTimeout: 0 },
    ]);
    expect(madeVisible[0]!.calledBefore(put[0]!)).toBe(true);
    expect(lines.at(-1)).toMatch(new RegExp(`^ec2-instance: re-published 1 about ${INCIDENT_ID} on firebreak-responders \\(origin redrive\\), left 0 .*; 2 about other incidents stay as they were$`));
  });

  it('says so when no message is about the incident, and re-publishes nothing', async () => {
    // Prepare
    sqsMock.on(ReceiveMessageCommand).resolvesOnce({ Messages: [other] }).resolves({});
    const lines: string[] = [];

    // Act
    const counts = await dlqRedrive({ ...options(lines), incident: 'inc-00000000000000ff' });

    // Assess
    expect(counts[0]).toMatchObject({ republished: 0, notSelected: 1 });
    expect(eventsMock.commandCalls(PutEventsCommand)).toEqual([]);
    expect(lines.at(-1)).toBe('no message about inc-00000000000000ff in ec2-instance DLQ: nothing was re-published');
  });
});

describe('Function: isAbout', () => {
  it('matches a message about any generation of the incident, never an unparseable one', () => {
    const read = readDlqMessage(finding);
    expect(isAbout(read, INCIDENT_ID)).toBe(true);
    expect(isAbout(read, generationId(INCIDENT_ID, 2))).toBe(true);
    expect(isAbout(read, 'inc-00000000000000ff')).toBe(false);
    expect(isAbout(readDlqMessage(garbage), INCIDENT_ID)).toBe(false);
  });
});
