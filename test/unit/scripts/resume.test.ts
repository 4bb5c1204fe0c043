import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { pauseCommand } from '../../../scripts/lib/pause.ts';
import type { IncidentRecord, LedgerRecord } from '../../../shared/ledger/index.ts';
import { anIncident, FIXED_NOW, INSTANCE_ID, RESPONDER } from '../helpers/factories.ts';

const ssmMock = mockClient(SSMClient);
const eventsMock = mockClient(EventBridgeClient);
afterEach(() => {
  ssmMock.reset();
  eventsMock.reset();
});

const PAUSED = [{ gate: 'not-paused', passed: false, reason: 'Firebreak is paused' }];
const record = (id: string, overrides: Partial<IncidentRecord> = {}): IncidentRecord =>
  ({ kind: 'incident', incidentId: id, playbook: 'ec2-instance', incident: anIncident({ incidentId: id }), status: 'held', gates: PAUSED, lastSeenAt: '2025-06-19T14:00:00.000Z', steps: {}, ...overrides }) as IncidentRecord;

function resume(records: LedgerRecord[], lines: string[] = []) {
  const ledger = { list: vi.fn(async () => records), recordResumeRequest: vi.fn(async () => true) };
  const run = () =>
    pauseCommand({
      paused: false,
      parameter: '/firebreak/paused',
      table: 'firebreak-ledger',
      bus: 'firebreak-responders',
      ledger,
      ssm: new SSMClient({ region: 'us-east-1' }),
      events: new EventBridgeClient({ region: 'us-east-1' }),
      caller: async () => ({ arn: RESPONDER }),
      now: () => FIXED_NOW,
      log: (l) => lines.push(l),
    });
  return { ledger, run, lines };
}

describe('Command: firebreak resume', () => {
  it('clears the kill switch first, then re-publishes each incident the pause held, on the responders\' bus with origin resume', async () => {
    // Prepare
    ssmMock.on(PutParameterCommand).resolves({});
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    const { ledger, run, lines } = resume([record('inc-000000000000000a')]);

    // Act
    const code = await run();

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(ssmMock.commandCalls(PutParameterCommand)[0]!.args[0].input.Value!)).toMatchObject({ paused: false, by: RESPONDER });
    const entry = eventsMock.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({ Source: 'firebreak.resume', DetailType: 'Firebreak Resume', EventBusName: 'firebreak-responders' });
    expect(JSON.parse(entry.Detail!)).toEqual({ incidentId: 'inc-000000000000000a', resource: { resourceType: 'Instance', id: INSTANCE_ID }, requestedBy: RESPONDER });
    expect(ledger.recordResumeRequest).toHaveBeenCalledWith('inc-000000000000000a', { at: FIXED_NOW.toISOString(), by: RESPONDER, eventId: 'evt-1' });
    expect(lines).toContain(`  re-published inc-000000000000000a (ec2-instance: Instance ${INSTANCE_ID}) as evt-1`);
  });

  it('leaves alone what an earlier resume re-published, what is contained, and what the blast-radius limit holds (saying what a responder can do)', async () => {
    // Prepare
    ssmMock.on(PutParameterCommand).resolves({});
    const { run, lines } = resume([
      record('inc-000000000000000b', { resumeRequest: { at: '2025-06-19T14:30:00.000Z', by: RESPONDER, eventId: 'e' } }),
      record('inc-000000000000000c', { status: 'contained' }),
      record('inc-000000000000000d', { gates: [] }),
      { kind: 'rejected' } as LedgerRecord,
    ]);

    // Act
    const code = await run();

    // Assess
    expect(code).toBe(0);
    expect(eventsMock.commandCalls(PutEventsCommand)).toEqual([]);
    expect(lines.join('\n')).toContain('Re-published 0 incident(s)');
    expect(lines.join('\n')).toContain('1 already re-published by an earlier resume and not yet acted on: inc-000000000000000b');
    expect(lines.join('\n')).toMatch(/1 held by the blast-radius limit, not resumed: inc-000000000000000d\. .*firebreak contain/);
  });

  it('re-publishes in batches of ten, and exits 1 naming what the bus refused', async () => {
    // Prepare
    ssmMock.on(PutParameterCommand).resolves({});
    eventsMock.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({ Entries: input.Entries.map((_, n) => (n === 0 ? { ErrorCode: 'ThrottlingException' } : { EventId: `e${n}` })) }));
    const records = Array.from({ length: 11 }, (_, n) => record(`inc-${String(n).padStart(16, '0')}`));
    const { ledger, run, lines } = resume(records);

    // Act
    const code = await run();

    // Assess
    expect(code).toBe(1);
    expect(eventsMock.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length)).toEqual([10, 1]);
    expect(ledger.recordResumeRequest).toHaveBeenCalledTimes(9);
    expect(lines.filter((l) => l.includes('the bus refused it'))).toHaveLength(2);
  });

  it('pausing re-publishes nothing', async () => {
    // Prepare
    ssmMock.on(PutParameterCommand).resolves({});
    const lines: string[] = [];

    // Act
    const code = await pauseCommand({ paused: true, parameter: '/firebreak/paused', reason: 'drill', ssm: new SSMClient({ region: 'us-east-1' }), caller: async () => ({ arn: RESPONDER }), log: (l) => lines.push(l) });

    // Assess
    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^Paused: \/firebreak\/paused says so/);
    expect(eventsMock.commandCalls(PutEventsCommand)).toEqual([]);
  });
});
