// The DLQ is operable: what failed into it is listed with the ledger's account of it (status, why,
// the failed steps and their error codes); once the cause is fixed, a redrive of one incident puts
// back only its messages and contains it, the others staying; and a redrive of an incident that is
// already contained changes nothing: no step that was done runs again, nothing changes in AWS. (On
// the emulator a contained EC2 incident keeps two failed evidence steps — GetConsoleScreenshot
// answers HTTP 500, GuardDuty's malware scan has no route — which a redelivery tries again, as it
// should, looking at the skipped ones again with them; an incident whose every step is final runs
// nothing at all, not even a describe: test/unit/engine/run.test.ts.) On the
// retry pipeline, whose Auto Scaling endpoint is a closed port: the cause is real, and fixing it is
// what a responder would do (the function's configuration).
import { DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeSecurityGroupsCommand, DescribeTagsCommand } from '@aws-sdk/client-ec2';
import { GetFunctionConfigurationCommand, LambdaClient, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { DlqReport, IncidentJoin, ListedMessage } from '../../scripts/lib/dlq.ts';
import { incidentIdFor } from '../../shared/findings/index.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import {
  asgState,
  buildScenario,
  drainAll,
  endpoint,
  eniGroups,
  findingFor,
  firebreakAs,
  incidentRecord,
  instance,
  pipeline,
  responderCredentials,
  snapshotsOf,
  targetIds,
  world,
} from './support.ts';
import type { FindingEvent } from '../../scripts/lib/findings.ts';
import type { WebAppScenario } from '../../scripts/lib/scenario.ts';

const retry = pipeline('retry');
/** The CLI as a responder runs it, naming the deployment by its prefix: its DLQs and its ledger. */
const prefix = retry.ledgerTable.replace(/-ledger$/, '');
const cli = (...args: string[]) => firebreakAs(responderCredentials, ...args, '--prefix', prefix);
const lambda = new LambdaClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const BROKEN_ENDPOINT = 'AWS_ENDPOINT_URL_AUTO_SCALING';

const idOf = (event: FindingEvent) => incidentIdFor(event.detail.accountId, event.detail.id, event.detail.resource.instanceDetails!.instanceId!);

/** The messages `firebreak dlq list --json` shows about an incident, with the ledger's join. */
function listedAbout(stdout: string, incidentId: string): Array<ListedMessage & { incidents: IncidentJoin[] }> {
  const report = JSON.parse(stdout) as { ledgerTable: string; dlqs: DlqReport[] };
  return report.dlqs.flatMap((d) => d.messages).filter((m) => m.incidents.some((j) => j.incidentId === incidentId));
}

/** What AWS says of the instance and everything containment touched: equal before and after means nothing changed. */
async function awsStateOf(scenario: WebAppScenario, instanceId: string, incidentId: string) {
  const i = await instance(instanceId);
  const groups = await world.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [scenario.vpcId] }] }));
  const tags = await world.ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [instanceId] }] }));
  const asgMembership = await world.autoscaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }));
  return {
    state: i.State?.Name,
    instanceProfile: i.IamInstanceProfile?.Arn ?? null,
    eniGroups: await eniGroups(instanceId),
    securityGroups: (groups.SecurityGroups ?? []).map((g) => ({ id: g.GroupId, name: g.GroupName, in: g.IpPermissions, out: g.IpPermissionsEgress })).sort((x, y) => x.id!.localeCompare(y.id!)),
    tags: (tags.Tags ?? []).map((t) => `${t.Key}=${t.Value}`).sort(),
    asg: await asgState(scenario.asgName),
    inAsg: (asgMembership.AutoScalingInstances ?? []).map((a) => a.AutoScalingGroupName),
    targets: (await targetIds(scenario.targetGroupArn)).sort(),
    snapshots: (await snapshotsOf(incidentId)).map((s) => s.SnapshotId).sort(),
  };
}

/** The function's environment without the closed port for Auto Scaling: the cause, fixed. */
async function fixAutoScalingEndpoint(): Promise<() => Promise<void>> {
  const config = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: retry.functionName }));
  const variables = config.Environment?.Variables ?? {};
  expect(variables[BROKEN_ENDPOINT]).toBeDefined();
  const { [BROKEN_ENDPOINT]: _broken, ...fixed } = variables;
  await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: retry.functionName, Environment: { Variables: fixed } }));
  return async () => {
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: retry.functionName, Environment: { Variables: variables } }));
  };
}

let unfix: (() => Promise<void>) | undefined;
// The other tests of the retry pipeline need Auto Scaling unreachable again.
afterAll(async () => unfix?.());

/** The steps a further delivery never runs again: every one done. */
const doneSteps = (record: IncidentRecord) => Object.fromEntries(Object.entries(record.steps).filter(([, o]) => o.status === 'done'));
/** Each step's status (and error code): what a delivery that looks at the others again must leave as it was. */
const outcomes = (record: IncidentRecord) => Object.fromEntries(Object.entries(record.steps).map(([name, o]) => [name, `${o.status}${o.error ? ` ${o.error.code}` : ''}`]));
const failedEvidence = (record: IncidentRecord) => Object.entries(record.steps).flatMap(([name, o]) => (o.stage !== 'contain' && o.status === 'failed' ? [name] : [])).sort();

describe('firebreak dlq: list with the ledger, fix the cause, redrive one incident', () => {
  it('lists what failed and why; once the cause is fixed, redrives only the incident asked for, which ends contained; a redrive of a contained incident changes nothing', async () => {
    // Prepare: a fresh blast-radius window (the suite may run again on a running emulator), and two
    // members of an Auto Scaling group compromised. Auto Scaling is unreachable: both fail into the DLQ.
    await world.dynamo.send(new DeleteCommand({ TableName: retry.ledgerTable, Key: { pk: `blast-radius#${await world.accountId()}`, sk: 'window' } }));
    const scenario = await buildScenario();
    const [a, b] = [await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 0 }), await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 1 })];
    const [idA, idB] = [idOf(a), idOf(b)];
    await world.putFinding(a, retry.bus);
    await world.putFinding(b, retry.bus);
    await drainAll(retry.functionName);

    // Act
    const listed = cli('dlq', 'list', '--json');
    const text = cli('dlq', 'list', '--incident', idA);

    // Assess: each message says which incident it is about, and the ledger says why it failed
    expect(listed.code, listed.stderr).toBe(0);
    for (const id of [idA, idB]) {
      const [message, ...more] = listedAbout(listed.stdout, id);
      expect(more).toEqual([]);
      expect(message!.incidents).toEqual([
        expect.objectContaining({
          incidentId: id,
          inLedger: true,
          status: 'retrying',
          deliveries: 2,
          reason: expect.stringMatching(/^containment steps failed with retryable errors: detachFromAutoScalingGroup/),
          failedSteps: expect.arrayContaining([expect.objectContaining({ step: 'detachFromAutoScalingGroup', code: 'ECONNREFUSED', retryable: true })]),
        }),
      ]);
    }
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`incident ${idA}: retrying, 2 deliveries, last update `);
    expect(text.stdout).toMatch(/failed detachFromAutoScalingGroup: ECONNREFUSED \(retryable, \d+ attempts\): connect ECONNREFUSED 127\.0\.0\.1:9/);
    expect(text.stdout).not.toContain(idB);
    // …the pipelines this deployment does not run are said as such
    expect(text.stdout).toMatch(/no DLQ here \(playbook not deployed\): s3-bucket \(fb-retry-s3-bucket-dlq\)/);

    // Act: the cause fixed; A redriven, alone. (GuardDuty publishes B again meanwhile.)
    unfix = await fixAutoScalingEndpoint();
    const redriven = cli('dlq', 'redrive', '--incident', idA);
    const rightAfter = cli('dlq', 'list', '--json');
    const bAgain = await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 1, findingId: b.detail.id, count: 2 });
    await world.putFinding(bAgain, retry.bus);
    await drainAll(retry.functionName);

    // Assess: only A's message went back; B's stayed, visible at once
    expect(redriven.code, redriven.stderr + redriven.stdout).toBe(0);
    expect(redriven.stdout).toMatch(new RegExp(`ec2-instance: re-published 1 about ${idA} on fb-retry-responders \\(origin redrive\\), left 0 \\(0 unparseable, 0 refused\\) in \\S+; [1-9]\\d* about other incidents stay as they were`));
    expect(listedAbout(rightAfter.stdout, idA)).toEqual([]);
    expect(listedAbout(rightAfter.stdout, idB)).toHaveLength(1);
    // …and A is contained, through the redrive, taking no second blast-radius slot
    const containedA = (await incidentRecord(retry, a))!;
    expect(containedA).toMatchObject({ status: 'contained', deliveries: 3, incident: { origin: 'redrive' }, redeliveries: [{ origin: 'redrive', requestedBy: await world.callerArn() }] });
    expect(containedA.steps.detachFromAutoScalingGroup).toMatchObject({ status: 'done' });
    expect((await asgState(scenario.asgName)).members).not.toContain(scenario.instanceIds[0]);
    // …B by GuardDuty's re-publication, while its old copy waits in the DLQ
    const before = (await incidentRecord(retry, b))!;
    expect(before.status).toBe('contained');
    const listedB = cli('dlq', 'list', '--incident', idB, '--json');
    const joinedB = listedAbout(listedB.stdout, idB)[0]!.incidents[0]!;
    expect(joinedB).toMatchObject({ status: 'contained', inLedger: true });
    expect(joinedB.inLedger && joinedB.failedSteps.map((f) => f.step).sort()).toEqual(failedEvidence(before));
    const awsBefore = await awsStateOf(scenario, scenario.instanceIds[1], idB);

    // Act: redrive the contained one
    const again = cli('dlq', 'redrive', '--incident', idB);
    await drainAll(retry.functionName);

    // Assess: the delivery is counted and the redrive recorded; no step that was done ran again,
    // and every other step ended as before (the evidence the emulator cannot serve failed again)
    expect(again.code, again.stderr + again.stdout).toBe(0);
    const after = (await incidentRecord(retry, b))!;
    expect(after).toMatchObject({ status: 'contained', deliveries: before.deliveries + 1, redeliveries: [...(before.redeliveries ?? []), expect.objectContaining({ origin: 'redrive' })] });
    expect(doneSteps(after)).toEqual(doneSteps(before));
    expect(Object.values(doneSteps(before)).filter((o) => o.stage === 'contain').length).toBeGreaterThan(0);
    expect(outcomes(after)).toEqual(outcomes(before));
    // …and nothing changed in AWS
    expect(await awsStateOf(scenario, scenario.instanceIds[1], idB)).toEqual(awsBefore);
    expect(listedAbout(cli('dlq', 'list', '--json').stdout, idB)).toEqual([]);
  });
});
