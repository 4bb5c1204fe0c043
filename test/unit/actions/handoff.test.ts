import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { handOff, HANDOFF_IAM_ACTIONS } from '../../../shared/actions/handoff.ts';
import { StepFailedError } from '../../../shared/errors/index.ts';
import { parseMessage } from '../../../shared/findings/index.ts';
import { ACCOUNT_ID, anIncident, INSTANCE_ID, REGION } from '../helpers/factories.ts';

const eventsMock = mockClient(EventBridgeClient);
afterEach(() => eventsMock.reset());

const source = anIncident({ incidentId: 'inc-0123456789abcdef', playbook: 'container', severity: 7 });
const request = { target: { resourceType: 'Instance', id: INSTANCE_ID }, source, reason: 'host of compromised container c-1', requestedBy: 'firebreak-container' };

describe('Action: handOff', () => {
  it('puts a Firebreak Hand-off on the responders\' bus that the receiving playbook parses into its incident, linked to the source', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });

    // Act
    const out = await handOff(new EventBridgeClient({ region: REGION }), 'firebreak-responders', request);

    // Assess
    expect(out).toEqual({ eventId: 'evt-1' });
    const entry = eventsMock.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    expect(entry).toMatchObject({ Source: 'firebreak.handoff', DetailType: 'Firebreak Hand-off', EventBusName: 'firebreak-responders' });
    // …as EventBridge would deliver it
    const delivered = { version: '0', id: 'evt-1', source: entry.Source, 'detail-type': entry.DetailType, account: ACCOUNT_ID, time: '2025-06-19T15:00:00Z', region: REGION, resources: [], detail: JSON.parse(entry.Detail!) };
    const parsed = parseMessage(JSON.stringify(delivered));
    expect(parsed).toMatchObject({ kind: 'findings', incidents: [{ playbook: 'ec2-instance', origin: 'handoff', severity: 7, derivedFrom: { kind: 'handoff', incidentId: source.incidentId, playbook: 'container' } }] });
    expect(HANDOFF_IAM_ACTIONS).toEqual(['events:PutEvents']);
  });

  it("hands over a principal named as the IAM playbooks' rules route it, with the finding's accessKeyDetails as its hints", async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-2' }] });
    const accessKeyDetails = { userType: 'AssumedRole' as const, userName: 'etl-export-role', accessKeyId: 'ASIA4EXAMPLEETLROLE5' };

    // Act
    await handOff(new EventBridgeClient({ region: REGION }), 'firebreak-responders', {
      ...request,
      source: anIncident({ incidentId: 'inc-0123456789abcdef', playbook: 's3-bucket' }),
      target: { resourceType: 'IAMRole', id: 'etl-export-role', accessKeyDetails },
    });

    // Assess
    const entry = eventsMock.commandCalls(PutEventsCommand)[0]!.args[0].input.Entries![0]!;
    const detail = JSON.parse(entry.Detail!);
    expect(detail.resource).toEqual({ resourceType: 'IAMRole', id: 'etl-export-role', accessKeyDetails });
    const delivered = { version: '0', id: 'evt-2', source: entry.Source, 'detail-type': entry.DetailType, account: ACCOUNT_ID, time: '2025-06-19T15:00:00Z', region: REGION, resources: [], detail };
    expect(parseMessage(JSON.stringify(delivered))).toMatchObject({ kind: 'findings', incidents: [{ playbook: 'iam-role', resource: { type: 'IAMRole', id: 'etl-export-role', hints: { userType: 'AssumedRole', accessKeyId: 'ASIA4EXAMPLEETLROLE5' } } }] });
  });

  it('fails retryably, naming the bus and the target, when the bus does not accept it', async () => {
    // Prepare
    eventsMock.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'AccessDeniedException', ErrorMessage: 'not admitted' }] });

    // Act
    const error = await handOff(new EventBridgeClient({ region: REGION }), 'firebreak-responders', request).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StepFailedError);
    expect(error).toMatchObject({ code: 'AccessDeniedException', retryable: true });
    expect((error as Error).message).toContain(`the responders' bus firebreak-responders did not accept the hand-off of Instance ${INSTANCE_ID}: not admitted`);
  });
});
