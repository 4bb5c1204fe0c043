import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { INCIDENT_RECORD_VERSION, Ledger } from '../../../shared/ledger/index.ts';
import { ACCOUNT_ID, aDocumentClient, anIncident, FIXED_NOW, LEDGER_TABLE } from '../helpers/factories.ts';

const dbMock = mockClient(DynamoDBDocumentClient);
afterEach(() => dbMock.reset());

const newLedger = () => new Ledger(aDocumentClient(), LEDGER_TABLE);

const incident = anIncident();
const v2Incident = { pk: `incident#${incident.incidentId}`, sk: 'incident', kind: 'incident', schemaVersion: INCIDENT_RECORD_VERSION, incident, steps: {}, status: 'contained' };
const v1Incident = {
  pk: 'incident#inc-v1',
  sk: 'incident',
  kind: 'incident',
  incidentId: 'inc-v1',
  playbook: 'ec2-instance',
  findingId: 'f-v1',
  accountId: ACCOUNT_ID,
  resourceType: 'Instance',
  resourceId: 'i-0123456789abcdef0',
  steps: {},
  status: 'contained',
};
const rejected = { pk: 'rejected#msg-bad', sk: 'rejected', kind: 'rejected', messageId: 'msg-bad', reasons: ['message body is not JSON'], reasonCount: 1 };
const ignored = { pk: `ignored#${ACCOUNT_ID}#f-sample`, sk: 'ignored', kind: 'ignored', status: 'skipped', why: 'sample', deliveries: 3 };
const window = { pk: `blast-radius#${ACCOUNT_ID}`, sk: 'window', kind: 'blast-radius-window', version: 1, entries: [{ incidentId: incident.incidentId, at: FIXED_NOW.getTime() }] };

describe('Ledger: listing', () => {
  it('lists incidents, rejected and ignored messages across pages, read consistently', async () => {
    // Prepare
    const pages = [
      { Items: [v2Incident, window], LastEvaluatedKey: { pk: v2Incident.pk, sk: 'incident' } },
      { LastEvaluatedKey: { pk: window.pk, sk: 'window' } },
      { Items: [rejected, ignored, { pk: 'other', sk: 'other', kind: 'something-else' }] },
    ];
    // The paginator reuses one input object: keep each request as it was sent.
    const scans: Array<{ TableName?: string; ConsistentRead?: boolean; ExclusiveStartKey?: Record<string, unknown> }> = [];
    dbMock.on(ScanCommand).callsFake((input) => {
      scans.push({ ...input });
      return pages[scans.length - 1];
    });

    // Act
    const records = await newLedger().list();

    // Assess
    expect(records.map((r) => r.pk)).toEqual([v2Incident.pk, rejected.pk, ignored.pk]);
    expect(records).toEqual([v2Incident, rejected, ignored]);
    expect(scans.map((s) => s.ExclusiveStartKey)).toEqual([undefined, { pk: v2Incident.pk, sk: 'incident' }, { pk: window.pk, sk: 'window' }]);
    expect(scans.every((s) => s.TableName === LEDGER_TABLE && s.ConsistentRead === true)).toBe(true);
  });

  it('lists a v1 incident upgraded to the current record version', async () => {
    // Prepare
    dbMock.on(ScanCommand).resolves({ Items: [v1Incident] });

    // Act
    const [record] = await newLedger().list();

    // Assess
    expect(record).toMatchObject({
      pk: 'incident#inc-v1',
      kind: 'incident',
      schemaVersion: 2,
      status: 'contained',
      incident: { incidentId: 'inc-v1', findingId: 'f-v1', accountId: ACCOUNT_ID, resource: { type: 'Instance', id: 'i-0123456789abcdef0' } },
    });
    expect(record).not.toHaveProperty('resourceId');
  });

  it('lists nothing from an empty table', async () => {
    // Prepare
    dbMock.on(ScanCommand).resolves({ Items: [] });

    // Act
    const records = await newLedger().list();

    // Assess
    expect(records).toEqual([]);
  });
});
