import { GetObjectCommand } from '@aws-sdk/client-s3';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { ReceiveMessageCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ISOLATION_GROUP_NAME } from '../../shared/actions/vpc-isolation.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import { isolateNetworkInterfaces } from '../../shared/playbooks/ec2-instance/isolation.ts';
import { deregisterFromTargetGroups } from '../../shared/playbooks/ec2-instance/membership.ts';
import { manualFinding } from '../../scripts/lib/findings.ts';
import {
  addressOf,
  asgState,
  buildScenario,
  classicElbInstances,
  drainAll,
  eniGroups,
  findingFor,
  functionRole,
  instance,
  instanceAttribute,
  incidentRecord,
  pipeline,
  queueCounts,
  securityGroup,
  snapshotsOf,
  targetIds,
  world,
  endpoint,
  ignoredRecord,
  outputs,
  recorded,
} from './support.ts';

const main = pipeline('firebreak');

describe('Playbook: compromised EC2 instance, end to end through the Terraform-deployed pipeline', () => {
  it('contains the instance: isolated, protected, out of its Auto Scaling group and load balancers, evidence preserved', async () => {
    // Prepare
    const scenario = await buildScenario({ secondEni: true, elasticIp: true, ipTargetGroup: true, classicElb: true });
    const victim = scenario.victim.instanceId;
    const event = await findingFor(scenario);

    // Act
    await world.putFinding(event);
    await drainAll(main.functionName);

    // Assess: the ledger
    const record = await incidentRecord(main, event);
    expect(record?.status).toBe('contained');
    expect(record?.isolatedAt).toBeTruthy();

    // Assess: every interface carries only the isolation group, which has no rules
    const groups = await eniGroups(victim);
    expect(Object.keys(groups)).toHaveLength(2);
    const isolationIds = new Set(Object.values(groups).flat());
    expect(isolationIds.size).toBe(1);
    const iso = await securityGroup([...isolationIds][0]!);
    expect(iso.GroupName).toBe(ISOLATION_GROUP_NAME);
    expect(iso.VpcId).toBe(scenario.vpcId);
    expect(iso.IpPermissions).toEqual([]);
    expect(iso.IpPermissionsEgress).toEqual([]);
    expect((await instance(victim)).SecurityGroups!.map((g) => g.GroupId)).toEqual([iso.GroupId]);

    // Assess: out of the Auto Scaling group, which kept its capacity
    const asg = await asgState(scenario.asgName);
    expect(asg.members).not.toContain(victim);
    expect(asg.desired).toBe(2);

    // Assess: out of every load balancer (instance targets, IP targets, classic)
    expect(await targetIds(scenario.targetGroupArn)).not.toContain(victim);
    expect(await targetIds(scenario.ipTargetGroupArn!)).not.toContain(scenario.victim.privateIp);
    expect(await classicElbInstances(scenario.classicElbName!)).not.toContain(victim);
    expect(await classicElbInstances(scenario.classicElbName!)).toContain(scenario.instanceIds[1]);

    // Assess: Elastic IP disassociated
    expect((await addressOf(scenario.victim.allocationId!)).AssociationId).toBeUndefined();

    // Assess: it cannot disappear
    expect(await instanceAttribute(victim, 'disableApiTermination')).toBe(true);
    expect(await instanceAttribute(victim, 'disableApiStop')).toBe(true);
    expect(await instanceAttribute(victim, 'instanceInitiatedShutdownBehavior')).toBe('stop');
    const described = await instance(victim);
    expect(described.BlockDeviceMappings!.every((b) => b.Ebs!.DeleteOnTermination === false)).toBe(true);
    expect(described.State!.Name).toBe('running');

    // Assess: evidence — a snapshot per volume, tagged with the incident
    const snapshots = await snapshotsOf(record!.incidentId);
    expect(snapshots.map((s) => s.VolumeId).sort()).toEqual([...scenario.victim.volumeIds].sort());

    // Assess: the instance is tagged for the investigation
    const tags = Object.fromEntries(described.Tags!.map((t) => [t.Key, t.Value]));
    expect(tags['firebreak:incident-id']).toBe(record!.incidentId);
    expect(tags['firebreak:status']).toBe('contained');
    expect(tags['firebreak:contained-at']).toMatch(/^\d{4}-\d\d-\d\dT/);

    // Assess: the ledger's evidence keys point at objects whose SHA-256 matches
    const metadata = record!.steps.preserveInstanceMetadata!;
    expect(metadata.status).toBe('done');
    const ref = metadata.evidence![0]!;
    const object = await world.s3.send(new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key }));
    const body = Buffer.from(await object.Body!.transformToByteArray());
    expect(createHash('sha256').update(body).digest('hex')).toBe(ref.sha256);
    expect(record!.steps.captureConsoleOutput!.status).toBe('done');

    // Assess: what the emulator cannot do (GetConsoleScreenshot answers HTTP 500) is recorded, not hidden, and held nothing
    expect(record!.steps.captureConsoleScreenshot).toMatchObject({ status: 'failed', error: { code: 'HTTP500' } });
    // …and so is GuardDuty Malware Protection, which moto does not have: the scan is asked for, and its failure recorded
    expect(record!.steps.startMalwareScan).toMatchObject({ status: 'failed', error: { unsupported: true } });

    // Assess: the "before" needed for release is in the ledger
    const { interfaces } = recorded(record!, isolateNetworkInterfaces);
    expect(interfaces.every((i) => i.groupsBefore.includes(scenario.webAppSecurityGroupId))).toBe(true);
    expect(record!.steps.detachFromAutoScalingGroup!.data).toMatchObject({ autoScalingGroupName: scenario.asgName });
    expect(recorded(record!, deregisterFromTargetGroups).registrations).toHaveLength(2);
  });

  it('changes nothing when the same finding arrives again (redelivery, or re-published with a higher count)', async () => {
    // Prepare
    const scenario = await buildScenario();
    const first = await findingFor(scenario);
    await world.putFinding(first);
    await drainAll(main.functionName);
    const before = await incidentRecord(main, first);
    const snapshotsBefore = await snapshotsOf(before!.incidentId);

    // Act: GuardDuty publishes the same finding again, with a higher count
    const again = await findingFor(scenario, 'ec2-c-cactivity-b', { findingId: first.detail.id, count: 5 });
    await world.putFinding(again);
    await world.putFinding(again);
    await drainAll(main.functionName);

    // Assess
    const after = await incidentRecord(main, again);
    expect(after!.incidentId).toBe(before!.incidentId);
    // Exactly the two new deliveries: `before` already counts the follow-up the first one scheduled.
    expect(after!.deliveries).toBe(before!.deliveries + 2);
    expect(after!.incident.count).toBe(5);
    expect(after!.status).toBe('contained');
    for (const [name, outcome] of Object.entries(before!.steps)) {
      if (outcome.status === 'done') expect(after!.steps[name]).toEqual(outcome);
    }
    expect((await snapshotsOf(before!.incidentId)).length).toBe(snapshotsBefore.length);
  });

  it.each([
    ['exempt (tag firebreak:exempt)', 'ec2-c-cactivity-b', { 'firebreak:exempt': 'true' }, /exemption tag/],
    ['archived', 'edge-archived', {}, /archived/],
    ['low severity', 'edge-low-severity', {}, /severity 2 < minimum 4/],
  ] as const)('changes nothing and records why when the finding is %s', async (_label, fixture, tags, reason) => {
    // Prepare
    const scenario = await buildScenario({ tags });
    const victim = scenario.victim.instanceId;
    const groupsBefore = await eniGroups(victim);
    const event = await findingFor(scenario, fixture);

    // Act
    await world.putFinding(event);
    await drainAll(main.functionName);

    // Assess
    const record = await incidentRecord(main, event);
    expect(record!.status).toBe('skipped');
    expect(record!.statusReason).toMatch(reason);
    expect(record!.steps).toEqual({});
    expect(await eniGroups(victim)).toEqual(groupsBefore);
    expect((await asgState(scenario.asgName)).members).toContain(victim);
    expect(await instanceAttribute(victim, 'disableApiTermination')).toBe(false);
  });

  it('records a GuardDuty sample finding as skipped, never reaches the playbook, and changes nothing', async () => {
    // Prepare: a sample naming a real instance (CreateSampleFindings' own name placeholders)
    const scenario = await buildScenario();
    const victim = scenario.victim.instanceId;
    const groupsBefore = await eniGroups(victim);
    const event = await findingFor(scenario, 'edge-sample');
    event.detail.resource.instanceDetails!.networkInterfaces![0]!.vpcId = 'GeneratedFindingVPCId';

    // Act
    await world.putFinding(event);
    await drainAll(main.functionName);

    // Assess
    expect(await ignoredRecord(main, event)).toMatchObject({ status: 'skipped', why: 'sample', findingType: event.detail.type });
    expect(await incidentRecord(main, event)).toBeUndefined();
    expect(await eniGroups(victim)).toEqual(groupsBefore);
    expect((await asgState(scenario.asgName)).members).toContain(victim);
    expect(await instanceAttribute(victim, 'disableApiTermination')).toBe(false);
  });

  it('rejects a malformed message alone and contains the good ones in the same batch', async () => {
    // Prepare
    const scenario = await buildScenario();
    const good = [await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 0 }), await findingFor(scenario, 'ec2-bitcointool-b-dns', { instanceIndex: 1 })];
    const { url } = await queueCounts(main.queueName);
    const dlqBefore = (await queueCounts(main.dlqName)).visible;

    // Act: straight onto the queue, as a broken producer would (with the function role's
    // credentials: besides the rules, the only sender the queue policy admits)
    const sent = await (await functionRole(main)).sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'good0', MessageBody: JSON.stringify(good[0]) },
          { Id: 'bad', MessageBody: '{"source":"aws.guardduty","detail-type":"GuardDuty Finding","detail":{"resource":{"resourceType":"Instance","instanceDetails":{"instanceId":"i-$(reboot)"}}}}' },
          { Id: 'good1', MessageBody: JSON.stringify(good[1]) },
        ],
      }),
    );
    const badMessageId = sent.Successful!.find((s) => s.Id === 'bad')!.MessageId!;
    await drainAll(main.functionName);

    // Assess
    for (const event of good) expect((await incidentRecord(main, event))!.status).toBe('contained');
    const rejected = (await world.ledger(main.ledgerTable).list()).find((r) => r.kind === 'rejected' && r.messageId === badMessageId);
    expect(rejected).toMatchObject({ kind: 'rejected', playbook: 'ec2-instance' });
    expect((rejected as { reasons: string[] }).reasons.join(' ')).toMatch(/event\./);
    expect(await queueCounts(main.queueName)).toMatchObject({ visible: 0, inFlight: 0 });
    expect((await queueCounts(main.dlqName)).visible).toBe(dlqBefore);
  });

  it('contains an instance on an analyst\'s manual request', async () => {
    // Prepare
    const scenario = await buildScenario();
    const accountId = await world.accountId();
    const event = manualFinding({ accountId, region: 'us-east-1', resourceType: 'Instance', id: scenario.victim.instanceId }, 'SEC-1234', 'arn:aws:iam::123456789012:user/analyst');

    // Act: on the responders' bus, the only one manual findings are taken from
    await world.putFinding(event, main.respondersBus);
    await drainAll(main.functionName);

    // Assess
    const groups = Object.values(await eniGroups(scenario.victim.instanceId)).flat();
    expect((await securityGroup(groups[0]!)).GroupName).toBe(ISOLATION_GROUP_NAME);
    const tags = Object.fromEntries((await instance(scenario.victim.instanceId)).Tags!.map((t) => [t.Key, t.Value]));
    expect(tags['firebreak:ticket']).toBe('SEC-1234');
  });
});

/** The CLI with the SDK's default endpoint and credential chain: what the test sets is what a profile would. */
function cli(...args: string[]) {
  const out = spawnSync(process.execPath, ['scripts/firebreak.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe('The CLI, as a responder runs it against the account (here the emulator, named only by AWS_ENDPOINT_URL)', () => {

  it('contains an instance an analyst names with `firebreak contain`, recording who asked (from STS), and lists it with `firebreak incidents`', async () => {
    // Prepare
    const scenario = await buildScenario();
    const victim = scenario.victim.instanceId;
    const caller = await world.callerArn();

    // Act
    const put = cli('contain', 'Instance', victim, '--ticket', 'SEC-7777', '--reason', 'analyst saw beaconing', '--bus', main.respondersBus, '--table', main.ledgerTable);
    await drainAll(main.functionName);
    const listed = cli('incidents', '--json', '--table', main.ledgerTable);

    // Assess
    expect(put.code, put.stderr + put.stdout).toBe(0);
    const record = (JSON.parse(listed.stdout) as IncidentRecord[]).find((r) => r.kind === 'incident' && r.incident.ticket === 'SEC-7777');
    expect(record).toMatchObject({ status: 'contained', incident: { origin: 'manual', requestedBy: caller, resource: { type: 'Instance', id: victim } } });
    const groups = Object.values(await eniGroups(victim)).flat();
    expect((await securityGroup(groups[0]!)).GroupName).toBe(ISOLATION_GROUP_NAME);
  });

  it('refuses a resource type no deployed playbook handles, putting nothing on the bus', () => {
    // Act
    const put = cli('contain', 'Mainframe', 'mf-01', '--ticket', 'SEC-1', '--bus', main.respondersBus);

    // Assess
    expect(put.code).toBe(1);
    expect(put.stdout).toMatch(/firebreak contain takes Instance/);
  });
});

describe('Safety: observe mode, blast radius, retries', () => {
  it('observe mode changes nothing and records the plan', async () => {
    // Prepare
    const observe = pipeline('observe');
    const scenario = await buildScenario();
    const victim = scenario.victim.instanceId;
    const groupsBefore = await eniGroups(victim);
    const event = await findingFor(scenario);

    // Act
    await world.putFinding(event, observe.bus);
    await drainAll(observe.functionName);

    // Assess
    const record = await incidentRecord(observe, event);
    expect(record!.status).toBe('planned');
    expect(Object.values(record!.steps).every((s) => s.status === 'planned')).toBe(true);
    expect(Object.keys(record!.steps)).toEqual(expect.arrayContaining(['isolateNetworkInterfaces', 'detachFromAutoScalingGroup', 'snapshotVolumes']));
    expect(await eniGroups(victim)).toEqual(groupsBefore);
    expect((await asgState(scenario.asgName)).members).toContain(victim);
    expect(await snapshotsOf(record!.incidentId)).toEqual([]);
    // …and the main pipeline never saw it: it listens on another bus.
    expect(await incidentRecord(main, event)).toBeUndefined();
  });

  it('holds every new finding while a responder has paused automation (firebreak pause), and acts again after firebreak resume', async () => {
    // Prepare: the observe pipeline, so that what it does when not paused changes nothing either
    const observe = pipeline('observe');
    const parameter: string = outputs.observe.pause_parameter_name;
    const scenario = await buildScenario();
    const [during, after] = [await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 0 }), await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 1 })];
    const caller = await world.callerArn();

    // Act
    const paused = cli('pause', '--reason', 'change freeze CHG-9', '--parameter', parameter);
    await world.putFinding(during, observe.bus);
    await drainAll(observe.functionName);
    const resumed = cli('resume', '--parameter', parameter);
    await world.putFinding(after, observe.bus);
    await drainAll(observe.functionName);

    // Assess
    expect(paused.code, paused.stderr).toBe(0);
    expect(resumed.code, resumed.stderr).toBe(0);
    const held = await incidentRecord(observe, during);
    expect(held).toMatchObject({ status: 'held', steps: {} });
    expect(held!.statusReason).toContain(`Firebreak is paused by ${caller}`);
    expect(held!.statusReason).toContain('change freeze CHG-9');
    expect((await incidentRecord(observe, after))!.status).toBe('planned');
  });

  it('holds containments past the blast-radius limit and changes nothing for them', async () => {
    // Prepare: this pipeline allows one containment per hour per account; start from an empty
    // window, so the test also holds when the suite runs again on a running emulator
    const limited = pipeline('limited');
    await world.dynamo.send(new DeleteCommand({ TableName: limited.ledgerTable, Key: { pk: `blast-radius#${await world.accountId()}`, sk: 'window' } }));
    const scenario = await buildScenario();
    const [first, second] = [await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 0 }), await findingFor(scenario, 'ec2-c-cactivity-b', { instanceIndex: 1 })];
    const secondGroups = await eniGroups(scenario.instanceIds[1]);

    // Act
    await world.putFinding(first, limited.bus);
    await drainAll(limited.functionName);
    await world.putFinding(second, limited.bus);
    await drainAll(limited.functionName);

    // Assess
    expect((await incidentRecord(limited, first))!.status).toBe('contained');
    const held = await incidentRecord(limited, second);
    expect(held!.status).toBe('held');
    expect(held!.statusReason).toMatch(/blast-radius limit reached: 1 containments/);
    expect(await eniGroups(scenario.instanceIds[1])).toEqual(secondGroups);
  });

  it('retries a containment step that fails with a retryable error, then leaves the message in the DLQ', async () => {
    // Prepare: this pipeline's Auto Scaling endpoint is a closed port
    const retry = pipeline('retry');
    const scenario = await buildScenario();
    const event = await findingFor(scenario);
    const dlqBefore = (await queueCounts(retry.dlqName)).visible;

    // Act
    await world.putFinding(event, retry.bus);
    await drainAll(retry.functionName);

    // Assess: received maxReceiveCount (2) times, then moved to the DLQ
    const record = await incidentRecord(retry, event);
    expect(record!.status).toBe('retrying');
    expect(record!.deliveries).toBe(2);
    expect(record!.steps.detachFromAutoScalingGroup).toMatchObject({ status: 'failed', attempts: 2, error: { retryable: true } });
    // Independent steps were not stopped by the failure, and did not repeat on the retry
    expect(record!.steps.isolateNetworkInterfaces).toMatchObject({ status: 'done', attempts: 1 });
    expect((await queueCounts(retry.dlqName)).visible).toBe(dlqBefore + 1);
    const { url } = await queueCounts(retry.dlqName);
    const dead = await world.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }));
    expect(dead.Messages!.some((m) => JSON.parse(m.Body!).detail.id === event.detail.id)).toBe(true);
  });
});
