/**
 * Records written by v1 (commit 57b6851, the incident flattened into top-level attributes),
 * captured from a real deployment in test/fixtures/ledger/v1 (see its README), read and
 * rewritten by today's ledger. The release of a v1 record is tested with the EC2 playbook.
 */
import { BatchGetCommand, DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { incidentRecordOf, Ledger, type IncidentRecord } from '../../../shared/ledger/index.ts';
import { aDocumentClient, expressionProblems, LEDGER_TABLE, ledgerFixture, ledgerFixtureNames } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);

/** Every v1 item captured, by file name, as the document client returns it (dynamodb-items.json holds the same items in AttributeValue form). */
const v1Items = Object.fromEntries(ledgerFixtureNames('v1').flatMap((name) => (name === 'dynamodb-items.json' ? [] : [[name, ledgerFixture(`v1/${name}`)]])));
const incidentFixtures = Object.keys(v1Items).filter((name) => v1Items[name]!.kind === 'incident');

/** The attributes v1 kept at the top level that v2 keeps inside `incident`. */
const FLATTENED = ['origin', 'findingId', 'findingArn', 'findingType', 'title', 'severity', 'accountId', 'region', 'resourceType', 'resourceId', 'ticket', 'requestedBy', 'remoteIps', 'eventTime', 'findingUpdatedAt', 'findingCount'];

/** What a v1 item said about its incident, in the v2 `incident`'s words. */
function incidentSaidBy(v1: Record<string, any>) {
  return {
    incidentId: v1.incidentId,
    playbook: v1.playbook,
    origin: v1.origin,
    findingId: v1.findingId,
    ...(v1.findingArn ? { findingArn: v1.findingArn } : {}),
    findingType: v1.findingType,
    title: v1.title,
    severity: v1.severity,
    accountId: v1.accountId,
    region: v1.region,
    resource: { type: v1.resourceType, id: v1.resourceId },
    count: v1.findingCount,
    updatedAt: v1.findingUpdatedAt,
    eventTime: v1.eventTime,
    ...(v1.ticket ? { ticket: v1.ticket } : {}),
    ...(v1.requestedBy ? { requestedBy: v1.requestedBy } : {}),
    remoteIps: v1.remoteIps,
  };
}

/**
 * The item after DynamoDB applied `input` to it, for the update `begin` writes: SET of
 * `:v`, `if_not_exists(p, :v)` and `if_not_exists(p, :v) + :w` on top-level attributes, and
 * REMOVE. Anything else throws, so the helper never guesses.
 */
function applyUpdate(item: Record<string, unknown>, input: UpdateCommandInput): Record<string, unknown> {
  const names = input.ExpressionAttributeNames ?? {};
  const values = input.ExpressionAttributeValues ?? {};
  const name = (n: string) => {
    if (n.includes('.')) throw new Error(`nested path ${n}: not supported here`);
    return names[n] ?? n;
  };
  const value = (v: string) => {
    if (!(v in values)) throw new Error(`undefined value ${v}`);
    return values[v];
  };
  const [setPart, removePart] = input.UpdateExpression!.replace(/^SET /, '').split(' REMOVE ');
  const after = structuredClone(item);
  const updates = setPart!.split(/, (?=[#\w]+ = )/).map((clause) => {
    const [, path, rhs] = /^([#\w.]+) = (.+)$/.exec(clause) ?? [];
    const ifNotExists = /^if_not_exists\(([#\w]+), (:\w+)\)(?: \+ (:\w+))?$/.exec(rhs ?? '');
    if (ifNotExists) {
      const current = item[name(ifNotExists[1]!)] ?? value(ifNotExists[2]!);
      return [name(path!), ifNotExists[3] ? (current as number) + (value(ifNotExists[3]) as number) : current] as const;
    }
    if (rhs && /^:\w+$/.test(rhs)) return [name(path!), value(rhs)] as const;
    throw new Error(`not supported here: ${clause}`);
  });
  for (const [path, v] of updates) after[path] = v;
  for (const n of removePart?.split(', ') ?? []) delete after[name(n.trim())];
  return after;
}

describe('Ledger: v1 records (written by commit 57b6851)', () => {
  it('has the captured v1 records the tests below read', () => {
    // Prepare
    const expected = ['ec2-contained.json', 'ec2-released.json', 'rejected.json'];

    // Act
    const names = Object.keys(v1Items);

    // Assess
    expect(names).toEqual(expect.arrayContaining(expected));
    expect(incidentFixtures).toEqual(expect.arrayContaining(['ec2-contained.json', 'ec2-released.json']));
    expect(v1Items['ec2-released.json']).toMatchObject({ status: 'released', release: { status: 'released' } });
    expect(v1Items['ec2-contained.json']).toMatchObject({ status: 'contained', origin: 'manual' });
    expect(incidentFixtures.every((name) => !('schemaVersion' in v1Items[name]!) && !('incident' in v1Items[name]!))).toBe(true);
  });

  describe.each(incidentFixtures)('%s', (name) => {
    const v1 = () => ledgerFixture(`v1/${name}`);
    const incidentKey = () => ({ pk: v1().pk, sk: 'incident' });

    /** The record as `Ledger.get` reads it. */
    const got = async (): Promise<IncidentRecord> => {
      dbMock.on(GetCommand, { Key: incidentKey() }).resolves({ Item: v1() });
      return (await newLedger().get(v1().incidentId))!;
    };

    it('gets as a v2 record whose incident carries what the v1 record said', async () => {
      // Prepare
      dbMock.on(GetCommand, { Key: incidentKey() }).resolves({ Item: v1() });

      // Act
      const record = await newLedger().get(v1().incidentId);

      // Assess
      expect(record).toBeDefined();
      expect(record!.schemaVersion).toBe(2);
      expect(record!.incident).toMatchObject(incidentSaidBy(v1()));
      expect(record!.incident.partition).toBe('aws');
      if (!v1().ticket) expect(record!.incident).not.toHaveProperty('ticket');
      if (!v1().requestedBy) expect(record!.incident).not.toHaveProperty('requestedBy');
    });

    it('keeps the steps, capture, release and every other attribute as they were, without the flattened ones', async () => {
      // Prepare
      const item = v1();

      // Act
      const record = await got();

      // Assess
      expect(record.steps).toEqual(item.steps);
      expect(record.capture).toEqual(item.capture);
      expect(record.release).toEqual(item.release);
      const { schemaVersion: _version, incident: _incident, ...rest } = record;
      expect(rest).toEqual(Object.fromEntries(Object.entries(item).filter(([k]) => !FLATTENED.includes(k))));
    });

    it('loads with its blast-radius window as the same v2 record', async () => {
      // Prepare
      const item = v1();
      const window = v1Items['blast-radius-window.json']!;
      dbMock.on(BatchGetCommand).resolves({ Responses: { [LEDGER_TABLE]: [window, item] } });
      const expected = await got();

      // Act
      const state = await newLedger().load(item.incidentId, item.accountId);

      // Assess
      expect(state.record).toEqual(expected);
      expect(state.window).toEqual({ version: window.version, entries: window.entries });
      expect(dbMock.commandCalls(BatchGetCommand)[0]!.args[0].input.RequestItems![LEDGER_TABLE]!.Keys).toEqual([incidentKey(), { pk: `blast-radius#${item.accountId}`, sk: 'window' }]);
    });

    it('is rewritten by a begin as a v2 item: schemaVersion 2, the incident nested, every flattened attribute removed', async () => {
      // Prepare
      const item = v1();
      const record = await got();
      dbMock.on(UpdateCommand).resolves({});
      const now = new Date(Date.parse(item.lastSeenAt) + 60_000);

      // Act
      await newLedger().begin({ incident: record.incident, mode: 'contain', messageId: 'msg-redelivered', now, gates: record.gates ?? [], capture: { instanceId: 'later' } });

      // Assess
      const input = dbMock.commandCalls(UpdateCommand)[0]!.args[0].input;
      expect(expressionProblems(input)).toEqual([]);
      const after = applyUpdate(item, input);
      expect(after.schemaVersion).toBe(2);
      expect(after.incident).toEqual(record.incident);
      expect(Object.keys(after).filter((k) => FLATTENED.includes(k))).toEqual([]);
      // …and a v2 write adds what opened the incident (its budget's origin).
      expect(Object.keys(after).sort()).toEqual([...Object.keys(record), 'openedBy'].sort());
      expect(after.openedBy).toBe(record.incident.origin);
      // What containment and release recorded stays; the first capture is kept.
      expect(after).toMatchObject({ steps: item.steps, capture: item.capture, status: item.status, firstSeenAt: item.firstSeenAt, deliveries: item.deliveries + 1 });
      expect(after.release).toEqual(item.release);
      expect(incidentRecordOf(after)).toBe(after);
    });
  });

  it('lists the v1 incidents upgraded and the rejected message as it is', async () => {
    // Prepare
    const items = Object.values(v1Items);
    dbMock.on(ScanCommand).resolves({ Items: items });

    // Act
    const records = await newLedger().list();

    // Assess
    expect(records.map((r) => r.pk).sort()).toEqual(items.filter((i) => i.kind !== 'blast-radius-window').map((i) => i.pk).sort());
    const incidents = records.filter((r) => r.kind === 'incident');
    expect(incidents).toHaveLength(incidentFixtures.length);
    for (const r of incidents) {
      const v1 = items.find((i) => i.pk === r.pk)!;
      expect(r).toMatchObject({ schemaVersion: 2, status: v1.status, incident: incidentSaidBy(v1) });
      expect(Object.keys(r).filter((k) => FLATTENED.includes(k))).toEqual([]);
    }
    expect(records.find((r) => r.kind === 'rejected')).toEqual(v1Items['rejected.json']);
  });
});
