import { GetCommand, UpdateCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { Ledger } from '../../../shared/ledger/index.ts';
import { localPacer, SharedPacer } from '../../../shared/pacing/index.ts';
import { awsError, LEDGER_TABLE, REGION } from '../helpers/factories.ts';

const RATE = { ratePerSecond: 2, burst: 2 };

/** A clock the pacer sleeps on: sleeping moves it forward. */
function fakeClock(start = 1_000_000) {
  let now = start;
  const sleeps: number[] = [];
  return { now: () => now, sleep: async (ms: number) => void (sleeps.push(ms), (now += ms)), sleeps, advance: (ms: number) => void (now += ms) };
}

describe('Pacing: a rate shared by every caller', () => {
  it('lets the burst through at once, then paces calls at the rate', async () => {
    // Prepare
    const clock = fakeClock();
    const pacer = localPacer(clock);

    // Act
    for (let i = 0; i < 6; i += 1) expect(await pacer.acquire('cloudtrail-lookup#1#r', RATE, 10_000)).toBe(true);

    // Assess: 2 at once, then one every 500 ms
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(2_000);
  });

  it('gives up rather than wait past the deadline (the caller goes pending)', async () => {
    // Prepare
    const clock = fakeClock();
    const pacer = localPacer(clock);
    await pacer.acquire('b', RATE, 0);
    await pacer.acquire('b', RATE, 0);

    // Act
    const got = await pacer.acquire('b', RATE, 100);

    // Assess
    expect(got).toBe(false);
    expect(clock.sleeps).toEqual([]);
  });

  it('keeps one bucket per name: another account and region is not slowed', async () => {
    // Prepare
    const clock = fakeClock();
    const pacer = localPacer(clock);
    await pacer.acquire('cloudtrail-lookup#111122223333#us-east-1', RATE, 0);
    await pacer.acquire('cloudtrail-lookup#111122223333#us-east-1', RATE, 0);

    // Act + Assess
    expect(await pacer.acquire('cloudtrail-lookup#111122223333#eu-west-1', RATE, 0)).toBe(true);
  });
});

describe('Ledger token bucket (shared across functions)', () => {
  const db = mockClient(DynamoDBDocumentClient);
  const ledger = new Ledger(DynamoDBDocumentClient.from(new DynamoDBClient({ region: REGION, credentials: { accessKeyId: 't', secretAccessKey: 't' } })), LEDGER_TABLE);
  beforeEach(() => db.reset());

  it('creates a full bucket on first use and takes a token from it, conditionally', async () => {
    // Prepare
    db.on(GetCommand).resolves({});
    db.on(UpdateCommand).resolves({});

    // Act
    const wait = await ledger.takeToken('cloudtrail-lookup#111122223333#us-east-1', RATE, 5_000);

    // Assess
    expect(wait).toBe(0);
    const update = db.commandCalls(UpdateCommand)[0]!.args[0].input;
    expect(update.Key).toEqual({ pk: 'rate#cloudtrail-lookup#111122223333#us-east-1', sk: 'bucket' });
    expect(update.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(update.ExpressionAttributeValues![':tokens']).toBe(1);
  });

  it('says how long to wait when the bucket is empty, without writing', async () => {
    // Prepare: empty 100 ms ago at 2/s → 0.2 tokens
    db.on(GetCommand).resolves({ Item: { tokens: 0, at: 4_900 } });

    // Act
    const wait = await ledger.takeToken('b', RATE, 5_000);

    // Assess
    expect(wait).toBe(400);
    expect(db.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('reads again when another function took a token between its read and write', async () => {
    // Prepare
    db.on(GetCommand).resolvesOnce({ Item: { tokens: 1.5, at: 4_000 } }).resolves({ Item: { tokens: 1, at: 4_999 } });
    db.on(UpdateCommand).rejectsOnce(awsError('ConditionalCheckFailedException')).resolves({});

    // Act
    const wait = await ledger.takeToken('b', RATE, 5_000);

    // Assess
    expect(wait).toBe(0);
    const second = db.commandCalls(UpdateCommand)[1]!.args[0].input;
    expect(second.ConditionExpression).toBe('#at = :previous');
    expect(second.ExpressionAttributeValues![':previous']).toBe(4_999);
  });

  it('paces a SharedPacer over the ledger', async () => {
    // Prepare
    db.on(GetCommand).resolvesOnce({ Item: { tokens: 0, at: 1_000_000 } }).resolves({ Item: { tokens: 1, at: 1_000_000 } });
    db.on(UpdateCommand).resolves({});
    const clock = fakeClock();
    const pacer = new SharedPacer((b, r, n) => ledger.takeToken(b, r, n), clock);

    // Act
    const got = await pacer.acquire('b', RATE, 5_000);

    // Assess
    expect(got).toBe(true);
    expect(clock.sleeps).toEqual([500]);
  });
});
