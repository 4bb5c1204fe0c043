// The DLQ is operable: what failed into it is listed with the ledger's account of it (status, why,
// the failed steps and their error codes); once the cause is fixed, a redrive of one incident puts
// back only its messages and contains it, the others staying; and a redrive of an incident that is
// already contained changes nothing. On the retry pipeline, whose Auto Scaling endpoint is a closed
// port: the cause is real, and fixing it is what a responder would do (the function's configuration).
import { DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeSecurityGroupsCommand, DescribeTagsCommand } from '@aws-sdk/client-ec2';
import { GetFunctionConfigurationCommand, LambdaClient, UpdateFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import type { DlqReport, IncidentJoin, ListedMessage } from '../../scripts/lib/dlq.ts';
import { incidentIdFor } from '../../shared/findings/index.ts';
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
  queueCounts,
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

describe('firebreak dlq: list with the ledger, fix, redrive one incident', () => {
  it('lists what failed and why, redrives only the incident asked for once the cause is fixed, and a redrive of a contained incident changes nothing', async () => {
    // Prepare: a fresh blast-radius window (the suite may run again on a running emulator), and two
    // members of an Auto Scaling group compromised; Auto Scaling is unreachable, so both fail into the DLQ
    await world.dynamo.send(new DeleteCommand({ TableName: retry.ledgerTable, Key: { pk: `blast-radius#${await world.accountId()}`, sk: 'window' } }));
    const scenario = await buildScenario();
    const [a, b] = [await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 0 }), await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 1 })];
    const [idA, idB] = [idOf(a), idOf(b)];
    await world.putFinding(a, retry.bus);
    await world.putFinding(b, retry.bus);
    await drainAll(retry.functionName);
    const failed = (await incidentRecord(retry, a))!;
    console.log(JSON.stringify(failed, null, 1).slice(0, 6000));

    // Act: list
    const listed = cli('dlq', 'list', '--json');
    const text = cli('dlq', 'list');
    console.log(listed.stderr, text.stdout, text.stderr);

    // Assess
    expect(listed.code, listed.stderr).toBe(0);
    const aboutA = listedAbout(listed.stdout, idA);
    expect(aboutA).toHaveLength(1);

    // Act: fix the cause, redrive A only
    unfix = await fixAutoScalingEndpoint();
    const redriven = cli('dlq', 'redrive', '--incident', idA);
    console.log(redriven.stdout, redriven.stderr);
    const afterRedrive = cli('dlq', 'list', '--json');
    await drainAll(retry.functionName);
    const contained = (await incidentRecord(retry, a))!;
    console.log(JSON.stringify(contained, null, 1).slice(0, 8000));
    expect(listedAbout(afterRedrive.stdout, idB)).toHaveLength(1);
    expect(listedAbout(afterRedrive.stdout, idA)).toHaveLength(0);

    // Act: GuardDuty publishes B again: contained the usual way, while its failed copy is in the DLQ
    const bAgain = await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 1, findingId: b.detail.id, count: 2 });
    await world.putFinding(bAgain, retry.bus);
    await drainAll(retry.functionName);
    const before = (await incidentRecord(retry, b))!;
    console.log(JSON.stringify(before, null, 1).slice(0, 8000));
    const awsBefore = await awsStateOf(scenario, scenario.instanceIds[1], idB);
    const listedContained = cli('dlq', 'list', '--incident', idB);
    console.log(listedContained.stdout);
    const again = cli('dlq', 'redrive', '--incident', idB);
    console.log(again.stdout);
    await drainAll(retry.functionName);
    const after = (await incidentRecord(retry, b))!;
    console.log(JSON.stringify(after, null, 1).slice(0, 8000));
    expect(after.steps).toEqual(before.steps);
    expect(await awsStateOf(scenario, scenario.instanceIds[1], idB)).toEqual(awsBefore);
    expect((await queueCounts(retry.dlqName)).visible).toBeGreaterThanOrEqual(0);
  });
});
