import { describe, expect, it } from 'vitest';
import type { Incident } from '../../../shared/findings/index.ts';
import { boundedReasons, INCIDENT_RECORD_VERSION, incidentRecordOf, MAX_REASON_CHARS } from '../../../shared/ledger/index.ts';
import { anIncident, aStepOutcome, FIXED_NOW } from '../helpers/factories.ts';

/**
 * An incident item as v1 (commit 57b6851, `#openIncidentUpdate` then `finish`) wrote it:
 * the incident flattened into top-level attributes.
 */
function aV1Item(i: Incident, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    pk: `incident#${i.incidentId}`,
    sk: 'incident',
    kind: 'incident',
    incidentId: i.incidentId,
    playbook: i.playbook,
    origin: i.origin,
    findingId: i.findingId,
    findingType: i.findingType,
    title: i.title,
    severity: i.severity,
    accountId: i.accountId,
    region: i.region,
    resourceType: i.resource.type,
    resourceId: i.resource.id,
    remoteIps: i.remoteIps,
    mode: 'contain',
    gates: [{ gate: 'not-archived', passed: true, reason: 'the finding is active' }],
    lastSeenAt: FIXED_NOW.toISOString(),
    eventTime: i.eventTime,
    findingUpdatedAt: i.updatedAt,
    findingCount: i.count,
    lastMessageId: 'msg-2',
    ...(i.findingArn ? { findingArn: i.findingArn } : {}),
    ...(i.ticket ? { ticket: i.ticket } : {}),
    ...(i.requestedBy ? { requestedBy: i.requestedBy } : {}),
    firstSeenAt: '2025-06-19T14:41:00.000Z',
    steps: { isolateNetworkInterfaces: aStepOutcome({ data: { interfaces: [{ networkInterfaceId: 'eni-0b7c1d2e3f4a5b6c7', groupsBefore: ['sg-0123456789abcdef0'] }] } }) },
    status: 'contained',
    statusReason: 'contained; evidence complete',
    deliveries: 2,
    capture: { instanceId: i.resource.id, state: 'running' },
    blastRadiusSlotAt: '2025-06-19T14:41:00.000Z',
    isolatedAt: '2025-06-19T14:41:01.000Z',
    finishedAt: '2025-06-19T14:42:00.000Z',
    ...overrides,
  };
}

const FLATTENED = ['origin', 'findingId', 'findingArn', 'findingType', 'title', 'severity', 'accountId', 'region', 'resourceType', 'resourceId', 'ticket', 'requestedBy', 'remoteIps', 'eventTime', 'findingUpdatedAt', 'findingCount'];

describe('Ledger records', () => {
  describe('incidentRecordOf', () => {
    it('is nothing for a missing item or an item that is not an incident', () => {
      // Prepare
      const notIncidents = [
        undefined,
        { pk: 'rejected#m', sk: 'rejected', kind: 'rejected' },
        { pk: 'blast-radius#111122223333', sk: 'window', kind: 'blast-radius-window', version: 1, entries: [] },
        { pk: 'incident#inc-1', sk: 'incident', status: 'contained' },
      ];

      // Act
      const records = notIncidents.map(incidentRecordOf);

      // Assess
      expect(records).toEqual([undefined, undefined, undefined, undefined]);
    });

    it('returns a v2 record as it is', () => {
      // Prepare
      const incident = anIncident();
      const item = { pk: `incident#${incident.incidentId}`, sk: 'incident', kind: 'incident', schemaVersion: INCIDENT_RECORD_VERSION, incident, steps: {}, status: 'held' };

      // Act
      const record = incidentRecordOf(item);

      // Assess
      expect(record).toBe(item);
    });

    it('upgrades a v1 GuardDuty record: the incident is rebuilt from the flattened attributes, which go', () => {
      // Prepare
      const incident = anIncident({ findingArn: 'arn:aws:guardduty:us-east-1:111122223333:detector/d/finding/f', count: 3, updatedAt: '2025-06-19T14:39:00.000Z' });
      const item = aV1Item(incident);

      // Act
      const record = incidentRecordOf(item)!;

      // Assess
      expect(record.schemaVersion).toBe(2);
      expect(record.incident).toEqual({
        incidentId: incident.incidentId,
        playbook: 'ec2-instance',
        origin: 'guardduty',
        findingId: incident.findingId,
        findingArn: incident.findingArn,
        findingType: incident.findingType,
        title: incident.title,
        severity: 8,
        accountId: incident.accountId,
        region: incident.region,
        partition: 'aws',
        // v1 did not keep the hints, the archived and sample flags, the finding's creation or the event id.
        resource: { type: 'Instance', id: incident.resource.id, hints: {} },
        archived: false,
        sample: false,
        count: 3,
        createdAt: '2025-06-19T14:41:00.000Z',
        updatedAt: '2025-06-19T14:39:00.000Z',
        eventId: 'msg-2',
        eventTime: incident.eventTime,
        remoteIps: ['198.51.100.23'],
      });
      expect(Object.keys(record).filter((k) => FLATTENED.includes(k))).toEqual([]);
      const { schemaVersion: _version, incident: _nested, ...rest } = record;
      expect(rest).toEqual(Object.fromEntries(Object.entries(item).filter(([k]) => !FLATTENED.includes(k))));
      expect(item).toHaveProperty('findingId');
    });

    it('upgrades a v1 manual record with its ticket and requester', () => {
      // Prepare
      const incident = anIncident({ origin: 'manual', findingId: 'manual-SEC-4242', ticket: 'SEC-4242', requestedBy: 'arn:aws:iam::111122223333:user/analyst', remoteIps: [] });

      // Act
      const record = incidentRecordOf(aV1Item(incident))!;

      // Assess
      expect(record.incident).toMatchObject({ origin: 'manual', findingId: 'manual-SEC-4242', ticket: 'SEC-4242', requestedBy: 'arn:aws:iam::111122223333:user/analyst', partition: 'aws', remoteIps: [] });
      expect(record.incident).not.toHaveProperty('findingArn');
    });

    it("takes the partition of a v1 record from its finding's ARN", () => {
      // Prepare
      const items = ['arn:aws-cn:guardduty:cn-north-1:111122223333:detector/d/finding/f', 'arn:aws-us-gov:guardduty:us-gov-west-1:111122223333:detector/d/finding/f'].map(
        (findingArn) => aV1Item(anIncident({ findingArn })),
      );

      // Act
      const partitions = items.map((item) => incidentRecordOf(item)!.incident.partition);

      // Assess
      expect(partitions).toEqual(['aws-cn', 'aws-us-gov']);
    });

    it('upgrades a v1 record that lacks attributes to an incident with empty values, never failing', () => {
      // Prepare
      const item = { pk: 'incident#inc-1', sk: 'incident', kind: 'incident', playbook: 'ec2-instance', severity: undefined, remoteIps: 'not a list', findingArn: 'not an ARN' };

      // Act
      const record = incidentRecordOf(item)!;

      // Assess
      expect(record.incident).toEqual({
        incidentId: '',
        playbook: 'ec2-instance',
        origin: 'guardduty',
        findingId: '',
        findingArn: 'not an ARN',
        findingType: '',
        title: '',
        severity: 0,
        accountId: '',
        region: '',
        partition: 'aws',
        resource: { type: '', id: '', hints: {} },
        archived: false,
        sample: false,
        count: 1,
        createdAt: '',
        updatedAt: '',
        eventId: '',
        eventTime: '',
        remoteIps: [],
      });
      expect(record.steps).toEqual({});
    });
  });

  describe('boundedReasons', () => {
    it('keeps the first ten reasons of a rejection and counts the rest', () => {
      // Prepare
      const reasons = Array.from({ length: 11 }, (_, n) => `reason ${n}`);

      // Act
      const bounded = boundedReasons(reasons);

      // Assess
      expect(bounded).toEqual({ reasons: [...reasons.slice(0, 10), '… and 1 more'], reasonCount: 11 });
    });

    it('keeps every reason of a short list, each cut to MAX_REASON_CHARS', () => {
      // Prepare
      const reasons = ['a'.repeat(MAX_REASON_CHARS + 1), 'b'];

      // Act
      const bounded = boundedReasons(reasons);

      // Assess
      expect(bounded).toEqual({ reasons: ['a'.repeat(MAX_REASON_CHARS), 'b'], reasonCount: 2 });
    });

    it('is empty for no reasons', () => {
      // Prepare
      const reasons: string[] = [];

      // Act
      const bounded = boundedReasons(reasons);

      // Assess
      expect(bounded).toEqual({ reasons: [], reasonCount: 0 });
    });
  });
});

describe('Ledger records: versions', () => {
  it('refuses a record written by a newer Firebreak instead of upgrading it into an empty incident', () => {
    // Prepare
    const item = { kind: 'incident', incidentId: 'inc-0123456789abcdef', schemaVersion: INCIDENT_RECORD_VERSION + 1, incident: anIncident() };

    // Act + Assess
    expect(() => incidentRecordOf(item)).toThrow(/schemaVersion 3; this Firebreak reads versions 1-2/);
  });
});
