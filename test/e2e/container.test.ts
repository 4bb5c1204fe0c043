// A compromised standalone container through the Terraform-deployed pipeline: GuardDuty says a
// Docker container on an EC2 host opened a reverse shell; the container function tries to pause it,
// hands the host to the EC2 playbook, which isolates it; snapshot retention is asked of GuardDuty.
// Asserted on AWS state and the ledger.
//
// What the emulator can and cannot show, honestly: moto has no SSM agents — it answers
// DescribeInstanceInformation NotImplemented (missing_apis_answer_not_implemented), and its
// SendCommand "succeeds" running nothing — so here the agent's reachability is unknown and the
// pause is recorded as not possible, which is the unreachable-agent path (isolate anyway). The pause
// itself, the inspect capture and the unpause are proven by the unit tests against mocked SSM.
// moto has no GuardDuty malware-scan settings (no route: an HTML 404), so snapshot retention is
// recorded as failed, unsupported — and the ledger's reliance count is left as it was.
import { CreateDetectorCommand, GuardDutyClient, ListDetectorsCommand } from '@aws-sdk/client-guardduty';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ISOLATION_GROUP_NAME } from '../../shared/actions/vpc-isolation.ts';
import { parseRecorded } from '../../shared/engine/index.ts';
import { incidentIdFor } from '../../shared/findings/index.ts';
import { relianceKey, type IncidentRecord } from '../../shared/ledger/index.ts';
import { handOffHost } from '../../shared/playbooks/container/host.ts';
import { retentionKey } from '../../shared/playbooks/container/retention.ts';
import { suspendContainer } from '../../shared/playbooks/container/suspend.ts';
import { loadFixture, retargetInstanceFinding } from '../../scripts/lib/findings.ts';
import { buildScenario, drainAll, endpoint, eniGroups, firebreakAs, outputs, pipeline, responderCredentials, securityGroup, world } from './support.ts';

const main = pipeline('firebreak');
const containerFunction: string = outputs.firebreak.playbooks.container.function_name;
const emulator = { endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };
const guardDuty = new GuardDutyClient(emulator);
const documents = DynamoDBDocumentClient.from(new DynamoDBClient(emulator));

/** The region's detector (GuardDuty is on wherever a Container finding comes from). */
async function aDetector(): Promise<string> {
  const existing = (await guardDuty.send(new ListDetectorsCommand({}))).DetectorIds ?? [];
  return existing[0] ?? (await guardDuty.send(new CreateDetectorCommand({ Enable: true }))).DetectorId!;
}

describe('Compromised standalone container, end to end', () => {
  it('records why the container could not be paused, hands the host to the EC2 playbook which isolates it, records retention unsupported, and release works', async () => {
    // Prepare: a Docker host (the scenario's victim instance) and the fixture's container on it
    const scenario = await buildScenario();
    const host = scenario.victim.instanceId;
    const detectorId = await aDetector();
    const accountId = await world.accountId();
    const event = retargetInstanceFinding(loadFixture('container-runtime-reverseshell'), {
      accountId,
      region: 'us-east-1',
      instanceId: host,
      vpcId: scenario.vpcId,
      subnetId: scenario.victim.subnetId,
      eniIds: scenario.victim.eniIds,
      securityGroupIds: [scenario.webAppSecurityGroupId],
    });
    const containerId = event.detail.resource.containerDetails.id as string;
    const incidentId = incidentIdFor(accountId, event.detail.id, containerId);

    // Act: GuardDuty's finding reaches the container function
    await world.putFinding(event, main.bus);
    await drainAll(containerFunction);

    // Assess: each decision in the ledger
    const record = (await world.ledger(main.ledgerTable).get(incidentId)) as IncidentRecord;
    expect(record).toMatchObject({ status: 'contained', incident: { playbook: 'container', resource: { type: 'Container', id: containerId, hints: { instanceId: host } } } });
    expect(record.steps.suspendContainer).toMatchObject({ status: 'skipped' });
    expect(record.steps.suspendContainer!.summary).toMatch(/could not be paused: the SSM agent's state on .* could not be read: DescribeInstanceInformation failed with NotImplemented \(not supported by this endpoint\)/);
    expect(parseRecorded(suspendContainer, record.steps.suspendContainer!.data)).toMatchObject({ hostInstanceId: host, unsupported: true });
    const handed = parseRecorded(handOffHost, record.steps.handOffHost!.data);
    expect(record.steps.handOffHost).toMatchObject({ status: 'done' });
    expect(handed).toMatchObject({ instanceId: host, suspension: 'not-suspended', hostIncidentId: incidentIdFor(accountId, `handoff-${incidentId}`, host) });
    expect(record.steps.captureContainerInspect).toMatchObject({ status: 'skipped' });
    expect(record.steps.retainMalwareScanSnapshots).toMatchObject({ status: 'failed', error: { unsupported: true } });
    // Nothing relies on a setting the incident could not read: the count is empty again.
    const counted = await documents.send(new GetCommand({ TableName: main.ledgerTable, Key: relianceKey(retentionKey({ accountId, region: 'us-east-1' }, detectorId)) }));
    expect([...((counted.Item?.incidents as Set<string> | undefined) ?? [])]).toEqual([]);

    // …and the hand-off reaches the EC2 playbook, which isolates the host
    await drainAll(main.functionName);
    const hostRecord = (await world.ledger(main.ledgerTable).get(handed.hostIncidentId)) as IncidentRecord;
    expect(hostRecord).toMatchObject({ status: 'contained', openedBy: 'handoff', derivedFrom: { kind: 'handoff', incidentId, playbook: 'container' }, incident: { resource: { type: 'Instance', id: host } } });
    const groups = Object.values(await eniGroups(host)).flat();
    expect(groups.length).toBeGreaterThan(0);
    expect((await Promise.all(groups.map(async (g) => (await securityGroup(g)).GroupName))).every((n) => n === ISOLATION_GROUP_NAME)).toBe(true);

    // Act: a responder releases the container's incident
    const released = firebreakAs(responderCredentials, 'release', incidentId, '--reason', 'the reverse shell was a red-team exercise, SEC-90', '--table', main.ledgerTable);

    // Assess: released; the host stays contained by its own incident, which the release names
    expect(released.code, released.stderr + released.stdout).toBe(0);
    expect(released.stdout + released.stderr).toContain(handed.hostIncidentId);
    expect((await world.ledger(main.ledgerTable).get(incidentId))!.status).toBe('released');
    expect((await world.ledger(main.ledgerTable).get(handed.hostIncidentId))!.status).toBe('contained');
  });
});
