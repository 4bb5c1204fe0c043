import { createHash } from 'node:crypto';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { Ledger, MAX_REASON_CHARS, MAX_REJECTION_REASONS, type IgnoredMessage, type RejectedMessage, type RejectedRecord } from '../../../shared/ledger/index.ts';
import { ACCOUNT_ID, aDocumentClient, expressionProblems, FINDING_ID, fixtureEvent, FIXED_NOW, LEDGER_TABLE, REGION } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);

const RECEIVED_AT = FIXED_NOW.toISOString();
const FOUR_HUNDRED_DAYS = 400 * 24 * 3600;

const aRejectedMessage = (overrides: Partial<RejectedMessage> = {}): RejectedMessage => ({
  messageId: 'msg-bad',
  playbook: 'ec2-instance',
  reasons: ['message body is not JSON'],
  body: '{',
  receivedAt: RECEIVED_AT,
  ...overrides,
});

/** The item the ledger put for a rejected message. */
const putItem = () => dbMock.commandCalls(PutCommand)[0]!.args[0].input.Item as RejectedRecord;

/** A GuardDuty finding whose instance lists `count` network interfaces with ids that are not ENI ids, and a reason for each. */
function aFindingWithBogusEnis(count: number): { body: string; reasons: string[] } {
  const event = fixtureEvent('ec2-c-cactivity-b.json');
  const [eni] = event.detail.resource.instanceDetails.networkInterfaces;
  event.detail.resource.instanceDetails.networkInterfaces = Array.from({ length: count }, (_, n) => ({ ...eni, networkInterfaceId: `eni-bogus-${n}` }));
  const reasons = Array.from({ length: count }, (_, n) => `detail.resource.instanceDetails.networkInterfaces.${n}.networkInterfaceId: "eni-bogus-${n}" is not an ENI id`);
  return { body: JSON.stringify(event), reasons };
}

/** The attributes an update sets plainly (`#a_x = :a_x`), by name, with their values. */
const plainlySet = (input: UpdateCommandInput): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(input.ExpressionAttributeNames!).flatMap(([k, v]) => (k.startsWith('#a_') ? [[v, input.ExpressionAttributeValues![`:${k.slice(1)}`]]] : [])),
  );

describe('Ledger: rejections', () => {
  describe('recordRejected', () => {
    it('keeps a rejected message under its message id for 400 days, with the digest and a preview of its body', async () => {
      // Prepare
      dbMock.on(PutCommand).resolves({});

      // Act
      await newLedger().recordRejected(aRejectedMessage());

      // Assess
      expect(dbMock.commandCalls(PutCommand)[0]!.args[0].input).toEqual({
        TableName: LEDGER_TABLE,
        Item: {
          pk: 'rejected#msg-bad',
          sk: 'rejected',
          kind: 'rejected',
          messageId: 'msg-bad',
          playbook: 'ec2-instance',
          reasons: ['message body is not JSON'],
          reasonCount: 1,
          bodySha256: createHash('sha256').update('{').digest('hex'),
          bodyPreview: '{',
          receivedAt: RECEIVED_AT,
          expiresAt: FIXED_NOW.getTime() / 1000 + FOUR_HUNDRED_DAYS,
        },
      });
    });

    it('keeps the first ten reasons of a rejection and counts the rest', async () => {
      // Prepare
      dbMock.on(PutCommand).resolves({});
      const { body, reasons } = aFindingWithBogusEnis(2000);

      // Act
      await newLedger().recordRejected(aRejectedMessage({ body, reasons }));

      // Assess
      const item = putItem();
      expect(item.reasons).toEqual([...reasons.slice(0, 10), '… and 1990 more']);
      expect(item.reasonCount).toBe(2000);
      expect(body.length).toBeGreaterThan(400 * 1024);
      // DynamoDB refuses items over 400 KB; this one stays far below.
      expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(16 * 1024);
      expect(item.bodyPreview).toBe(body.slice(0, 2048));
      expect(item.bodySha256).toBe(createHash('sha256').update(body).digest('hex'));
    });

    it('keeps exactly ten reasons without a count line', async () => {
      // Prepare
      dbMock.on(PutCommand).resolves({});
      const reasons = Array.from({ length: MAX_REJECTION_REASONS }, (_, n) => `reason ${n}`);

      // Act
      await newLedger().recordRejected(aRejectedMessage({ reasons }));

      // Assess
      expect(putItem()).toMatchObject({ reasons, reasonCount: 10 });
    });

    it('cuts each reason to MAX_REASON_CHARS and replaces its control characters', async () => {
      // Prepare
      dbMock.on(PutCommand).resolves({});
      const long = `detail.title: ${'x'.repeat(1000)}`;

      // Act
      await newLedger().recordRejected(aRejectedMessage({ reasons: [long, 'detail.id:\u0000bad\nid\u001b[31m'] }));

      // Assess
      expect(putItem().reasons).toEqual([long.slice(0, MAX_REASON_CHARS), 'detail.id: bad id [31m']);
    });

    it('keeps a 2048-character preview of a 5 MB body, cleaned of control characters, and the digest of the whole body', async () => {
      // Prepare
      dbMock.on(PutCommand).resolves({});
      const line = 'GET /index.html HTTP/1.1\r\n\tHost: example.com\u0000\n';
      const body = line.repeat(Math.ceil((5 * 1024 * 1024) / line.length)).slice(0, 5 * 1024 * 1024);

      // Act
      await newLedger().recordRejected(aRejectedMessage({ body }));

      // Assess
      const item = putItem();
      expect(body).toHaveLength(5 * 1024 * 1024);
      expect(item.bodyPreview).toHaveLength(2048);
      expect(item.bodyPreview).toMatch(/^GET \/index\.html HTTP\/1\.1 {3}Host: example\.com {2}GET \/index\.html/);
      expect(item.bodyPreview).not.toMatch(/[\u0000-\u001f\u007f]/);
      // sha256 of the 5 MB body, computed independently (node:crypto, once).
      expect(item.bodySha256).toBe('57b2da4c96b37f543afde2c6ca57771709a58e19eebde772574bd21cfe7e6652');
      expect(Buffer.byteLength(JSON.stringify(item))).toBeLessThan(4 * 1024);
    });

    it('lets a failed write through', async () => {
      // Prepare
      dbMock.on(PutCommand).rejects(new Error('network down'));

      // Act
      const record = newLedger().recordRejected(aRejectedMessage());

      // Assess
      await expect(record).rejects.toThrow('network down');
    });
  });

  describe('recordIgnored', () => {
    const ignored = (overrides: Partial<IgnoredMessage> = {}): IgnoredMessage => ({
      why: 'sample',
      reason: 'a GuardDuty sample finding (CreateSampleFindings): never acted on',
      findingId: FINDING_ID,
      findingType: 'Backdoor:EC2/C&CActivity.B',
      resourceType: 'Instance',
      accountId: ACCOUNT_ID,
      region: REGION,
      title: '[SAMPLE] EC2 instance i-99999999 is communicating with a known command and control server.',
      playbook: 'ec2-instance',
      messageId: 'msg-sample',
      receivedAt: RECEIVED_AT,
      ...overrides,
    });

    it('records a sample finding once per finding as ignored and skipped, counting its deliveries', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});

      // Act
      await newLedger().recordIgnored(ignored());

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.TableName).toBe(LEDGER_TABLE);
      expect(input.Key).toEqual({ pk: `ignored#${ACCOUNT_ID}#${FINDING_ID}`, sk: 'ignored' });
      expect(plainlySet(input)).toEqual({ ...ignored(), kind: 'ignored', status: 'skipped', expiresAt: FIXED_NOW.getTime() / 1000 + FOUR_HUNDRED_DAYS });
      expect(input.UpdateExpression).toContain('deliveries = if_not_exists(deliveries, :zero) + :one');
      expect(input.UpdateExpression).not.toContain('CreateSampleFindings');
      expect(expressionProblems(input)).toEqual([]);
    });

    it('records a finding about a resource type no playbook handles the same way, with why', async () => {
      // Prepare
      dbMock.on(UpdateCommand).resolves({});
      const unhandled = ignored({ why: 'unhandled', reason: 'no playbook handles resource type Lambda', resourceType: 'Lambda', findingId: 'f-lambda', title: 'Lambda' });

      // Act
      await newLedger().recordIgnored(unhandled);

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(input.Key).toEqual({ pk: `ignored#${ACCOUNT_ID}#f-lambda`, sk: 'ignored' });
      expect(plainlySet(input)).toMatchObject({ kind: 'ignored', status: 'skipped', why: 'unhandled', resourceType: 'Lambda' });
    });
  });

  describe('rejected and ignored (the reads `firebreak dlq list` joins a DLQ message to)', () => {
    it('reads a rejected message by its message id, consistently, and nothing else under that key', async () => {
      // Prepare
      dbMock.on(GetCommand).resolves({});
      const item = { pk: 'rejected#msg-bad', sk: 'rejected', kind: 'rejected', messageId: 'msg-bad', reasons: ['message body is not JSON'], reasonCount: 1 };
      dbMock.on(GetCommand, { Key: { pk: 'rejected#msg-bad', sk: 'rejected' } }).resolves({ Item: item });
      dbMock.on(GetCommand, { Key: { pk: 'rejected#msg-odd', sk: 'rejected' } }).resolves({ Item: { ...item, kind: 'incident' } });

      // Act + Assess
      expect(await newLedger().rejected('msg-bad')).toEqual(item);
      expect(await newLedger().rejected('msg-odd')).toBeUndefined();
      expect(await newLedger().rejected('msg-none')).toBeUndefined();
      expect(dbMock.commandCalls(GetCommand)[0]!.args[0].input).toEqual({ TableName: LEDGER_TABLE, Key: { pk: 'rejected#msg-bad', sk: 'rejected' }, ConsistentRead: true });
    });

    it('reads an ignored finding by account and finding id', async () => {
      // Prepare
      dbMock.on(GetCommand).resolves({});
      const item = { pk: `ignored#${ACCOUNT_ID}#${FINDING_ID}`, sk: 'ignored', kind: 'ignored', status: 'skipped', why: 'sample', deliveries: 2 };
      dbMock.on(GetCommand, { Key: { pk: `ignored#${ACCOUNT_ID}#${FINDING_ID}`, sk: 'ignored' } }).resolves({ Item: item });

      // Act + Assess
      expect(await newLedger().ignored(ACCOUNT_ID, FINDING_ID)).toEqual(item);
      expect(await newLedger().ignored(ACCOUNT_ID, 'f-other')).toBeUndefined();
    });
  });
});
