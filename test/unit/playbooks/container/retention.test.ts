import { EC2Client } from '@aws-sdk/client-ec2';
import { GetMalwareScanSettingsCommand, GuardDutyClient, ListDetectorsCommand, StartMalwareScanCommand, UpdateMalwareScanSettingsCommand } from '@aws-sdk/client-guardduty';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { retainMalwareScanSnapshots, retentionKey } from '../../../../shared/playbooks/container/retention.ts';
import { awsError } from '../../helpers/factories.ts';
import { aContainerIncident, aContainerStepContext, anUndoContext, containerOptions, described, InMemoryReliance } from './support.ts';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const guardDutyMock = mockClient(GuardDutyClient);
const DETECTOR = '6cc4a1f0e3b2d5a7c9e8f1b0a2d4c6e8';

/** GuardDuty as it stands: one detector, whose EbsSnapshotPreservation changes as UpdateMalwareScanSettings sets it. */
let preservation: string;
beforeEach(() => {
  preservation = 'NO_RETENTION';
  guardDutyMock.on(ListDetectorsCommand).resolves({ DetectorIds: [DETECTOR] });
  guardDutyMock.on(GetMalwareScanSettingsCommand).callsFake(async () => ({ EbsSnapshotPreservation: preservation, ScanResourceCriteria: { Include: {} } }));
  guardDutyMock.on(UpdateMalwareScanSettingsCommand).callsFake(async (input: { EbsSnapshotPreservation: string }) => {
    preservation = input.EbsSnapshotPreservation;
    return {};
  });
});
afterEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  guardDutyMock.reset();
});

/** Two incidents about containers of the same account and region (the same detector). */
const incidents = () => {
  const first = aContainerIncident();
  return [first, { ...first, incidentId: 'inc-00000000000000b2' }] as const;
};
const updates = () => guardDutyMock.commandCalls(UpdateMalwareScanSettingsCommand).map((c) => c.args[0].input);

describe('Snapshots retained by GuardDuty (retainMalwareScanSnapshots)', () => {
  it('turns snapshot retention on, recording the prior value, and counts the incident in the ledger; starts no scan of its own', async () => {
    // Prepare
    const [incident] = incidents();
    const reliance = new InMemoryReliance();
    const container = await described(ec2Mock, ssmMock, incident);

    // Act
    const result = await retainMalwareScanSnapshots.run(aContainerStepContext(container, incident, { reliance: reliance.for(incident.incidentId) }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { detectorId: DETECTOR, prior: 'NO_RETENTION', changed: true, reliedOnBy: [] } });
    expect(updates()).toEqual([{ DetectorId: DETECTOR, EbsSnapshotPreservation: 'RETENTION_WITH_FINDING' }]);
    expect(reliance.state(retentionKey(incident, DETECTOR))).toEqual({ incidents: [incident.incidentId], restoreTo: 'NO_RETENTION' });
    expect(guardDutyMock.commandCalls(StartMalwareScanCommand)).toHaveLength(0);
  });

  it('changes nothing when retention is already on, and release leaves it on (it was not Firebreak\'s)', async () => {
    // Prepare
    preservation = 'RETENTION_WITH_FINDING';
    const [incident] = incidents();
    const reliance = new InMemoryReliance();
    const container = await described(ec2Mock, ssmMock, incident);

    // Act
    const result = await retainMalwareScanSnapshots.run(aContainerStepContext(container, incident, { reliance: reliance.for(incident.incidentId) }));
    const released = await retainMalwareScanSnapshots.undo!.run(anUndoContext(retainMalwareScanSnapshots, result, container, incident, { reliance: reliance.for(incident.incidentId) }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { prior: 'RETENTION_WITH_FINDING', changed: false } });
    expect(released).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/was on before Firebreak/) });
    expect(updates()).toEqual([]);
    expect(preservation).toBe('RETENTION_WITH_FINDING');
  });

  it('restores the prior value on release when no other open incident relies on it', async () => {
    // Prepare
    const [incident] = incidents();
    const reliance = new InMemoryReliance();
    const container = await described(ec2Mock, ssmMock, incident);
    const result = await retainMalwareScanSnapshots.run(aContainerStepContext(container, incident, { reliance: reliance.for(incident.incidentId) }));

    // Act
    const released = await retainMalwareScanSnapshots.undo!.run(anUndoContext(retainMalwareScanSnapshots, result, container, incident, { reliance: reliance.for(incident.incidentId) }));

    // Assess
    expect(released).toMatchObject({ status: 'done', data: { restoredTo: 'NO_RETENTION' } });
    expect(preservation).toBe('NO_RETENTION');
    expect(reliance.state(retentionKey(incident, DETECTOR))).toEqual({ incidents: [] });
  });

  it('refuses to restore while another open incident relies on it; the last release restores the value from before Firebreak', async () => {
    // Prepare: the first incident turns retention on, the second finds it on
    const [first, second] = incidents();
    const reliance = new InMemoryReliance();
    const container = await described(ec2Mock, ssmMock, first);
    const one = await retainMalwareScanSnapshots.run(aContainerStepContext(container, first, { reliance: reliance.for(first.incidentId) }));
    const two = await retainMalwareScanSnapshots.run(aContainerStepContext(container, second, { reliance: reliance.for(second.incidentId) }));

    // Act: the incident that turned it on is released first
    const firstReleased = await retainMalwareScanSnapshots.undo!.run(anUndoContext(retainMalwareScanSnapshots, one, container, first, { reliance: reliance.for(first.incidentId) }));
    const stillOn = preservation;
    const secondReleased = await retainMalwareScanSnapshots.undo!.run(anUndoContext(retainMalwareScanSnapshots, two, container, second, { reliance: reliance.for(second.incidentId) }));

    // Assess
    expect(two).toMatchObject({ status: 'done', data: { changed: false, reliedOnBy: [first.incidentId] } });
    expect(firstReleased).toMatchObject({ status: 'skipped', summary: expect.stringMatching(`still rely on it`), data: { reliedOnBy: [second.incidentId] } });
    expect(stillOn).toBe('RETENTION_WITH_FINDING');
    expect(secondReleased).toMatchObject({ status: 'done', data: { restoredTo: 'NO_RETENTION' } });
    expect(preservation).toBe('NO_RETENTION');
  });

  it('turns retention back on when an incident came to rely on it while the release restored it', async () => {
    // Prepare
    const [first, second] = incidents();
    const reliance = new InMemoryReliance();
    const container = await described(ec2Mock, ssmMock, first);
    const one = await retainMalwareScanSnapshots.run(aContainerStepContext(container, first, { reliance: reliance.for(first.incidentId) }));
    // The second incident comes to rely on it between the release's claim and its restore.
    const counter = reliance.for(first.incidentId);
    const racing = { ...counter, letGo: async (key: string) => {
      const left = await counter.letGo(key);
      await reliance.for(second.incidentId).rely(key);
      return left;
    } };

    // Act
    const released = await retainMalwareScanSnapshots.undo!.run(anUndoContext(retainMalwareScanSnapshots, one, container, first, { reliance: racing }));

    // Assess
    expect(released).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/came to rely on it/) });
    expect(updates().map((u) => u.EbsSnapshotPreservation)).toEqual(['RETENTION_WITH_FINDING', 'NO_RETENTION', 'RETENTION_WITH_FINDING']);
    expect(preservation).toBe('RETENTION_WITH_FINDING');
    expect(reliance.state(retentionKey(first, DETECTOR))).toEqual({ incidents: [second.incidentId], restoreTo: 'NO_RETENTION' });
  });

  it('leaves a setting someone changed since containment alone', async () => {
    // Prepare
    const [incident] = incidents();
    const reliance = new InMemoryReliance();
    const container = await described(ec2Mock, ssmMock, incident);
    const result = await retainMalwareScanSnapshots.run(aContainerStepContext(container, incident, { reliance: reliance.for(incident.incidentId) }));
    preservation = 'NO_RETENTION';
    guardDutyMock.resetHistory();

    // Act
    const released = await retainMalwareScanSnapshots.undo!.run(anUndoContext(retainMalwareScanSnapshots, result, container, incident, { reliance: reliance.for(incident.incidentId) }));

    // Assess
    expect(released).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/someone changed it since/) });
    expect(updates()).toEqual([]);
  });

  it('records GuardDuty\'s refusal (the emulator has no such API) and counts no reliance on a setting it could not read', async () => {
    // Prepare
    const [incident] = incidents();
    const reliance = new InMemoryReliance();
    const container = await described(ec2Mock, ssmMock, incident);
    guardDutyMock.on(GetMalwareScanSettingsCommand).rejects(awsError('NotImplemented', { httpStatusCode: 501, fault: 'server' }));

    // Act / Assess
    await expect(retainMalwareScanSnapshots.run(aContainerStepContext(container, incident, { reliance: reliance.for(incident.incidentId) }))).rejects.toMatchObject({ name: 'NotImplemented' });
    expect(reliance.state(retentionKey(incident, DETECTOR)).incidents).toEqual([]);
  });

  it('is skipped where GuardDuty has no detector, or with snapshot_retention off', async () => {
    // Prepare
    const [incident] = incidents();
    const container = await described(ec2Mock, ssmMock, incident);
    const reliance = new InMemoryReliance().for(incident.incidentId);
    const off = aContainerStepContext(container, incident, { reliance, options: containerOptions({ snapshot_retention: false }) });

    // Act
    const disabled = await retainMalwareScanSnapshots.run(off);
    guardDutyMock.on(ListDetectorsCommand).resolves({ DetectorIds: [] });
    const noDetector = await retainMalwareScanSnapshots.run(aContainerStepContext(container, incident, { reliance }));

    // Assess
    expect(disabled.status).toBe('skipped');
    expect(noDetector).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/no detector/) });
    expect(updates()).toEqual([]);
  });
});
