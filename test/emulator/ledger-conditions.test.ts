import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../shared/ledger/index.ts';
import { emulatorClientConfig, uniqueSuffix } from './helpers.ts';

/**
 * The ledger's conditional writes, evaluated by DynamoDB (the emulator) rather than read as
 * strings: a write the SDK retries after its answer was lost (the first attempt took effect)
 * must read as this delivery's own, not as another delivery's.
 */
describe('Ledger conditions, on the emulator', () => {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient(emulatorClientConfig));
  const table = `ledger-conditions-${uniqueSuffix()}`;
  const ledger = new Ledger(db, table);
  const now = new Date('2026-11-26T12:00:00Z');
  const due = new Date(now.getTime() + 300_000);
  const incident = (n: string) => `inc-${n}-${uniqueSuffix()}`;
  const open = (incidentId: string) => db.send(new PutCommand({ TableName: table, Item: { pk: `incident#${incidentId}`, sk: 'incident', incidentId, steps: {} } }));

  beforeAll(async () => {
    await db.send(
      new CreateTableCommand({
        TableName: table,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      }),
    );
  });

  it('reserves one follow-up per incident; the same reservation written again (a lost answer retried) is still this delivery\'s', async () => {
    // Prepare
    const id = incident('follow-up');
    await open(id);

    // Act
    const first = await ledger.reserveFollowUp(id, { id: 'fu-1', dueAt: due, now });
    const retried = await ledger.reserveFollowUp(id, { id: 'fu-1', dueAt: due, now });
    const another = await ledger.reserveFollowUp(id, { id: 'fu-2', dueAt: due, now });
    const successor = await ledger.reserveFollowUp(id, { id: 'fu-3', dueAt: due, now, replacing: 'fu-1' });
    const afterSuccessor = await ledger.reserveFollowUp(id, { id: 'fu-4', dueAt: due, now, replacing: 'fu-1' });

    // Assess
    expect([first, retried, another, successor, afterSuccessor]).toEqual([true, true, false, true, false]);
  });

  it('claims a step for one delivery; the same holder claiming again (a lost answer retried) still holds it, another does not', async () => {
    // Prepare
    const id = incident('claim');
    await open(id);
    const until = now.getTime() + 60_000;

    // Act
    const first = await ledger.claimStep(id, 'isolate', 'delivery-a', now.getTime(), until);
    const retried = await ledger.claimStep(id, 'isolate', 'delivery-a', now.getTime(), until);
    const other = await ledger.claimStep(id, 'isolate', 'delivery-b', now.getTime(), until);

    // Assess
    expect(first).toMatchObject({ claimed: true });
    expect(retried).toMatchObject({ claimed: true });
    expect(other).toMatchObject({ claimed: false, heldBy: { holder: 'delivery-a', until } });
  });
});
