// Does the emulator match event patterns as EventBridge does, for the shapes Firebreak's rules
// use? The playbooks' rules match exact strings; the catch-all's is their complement: an
// `anything-but` list, `exists: false` (anything-but never matches a missing field) and a
// top-level `$or`. Each case below is a GuardDuty finding put on a bus with both rules, and the
// test reads both queues: every finding must land in exactly one. What AWS does is documented
// in docs/emulator-patches.md ("Event patterns"): moto 5.2.5 agrees on all of these, so no patch.
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { catchAllPattern, catchAllRouting, mergeRouting, root, splitPattern } from '../../scripts/lib/generate.ts';
import { PLAYBOOK_REGISTRY } from '../../shared/playbooks/registry.ts';
import { emulatorClientConfig, uniqueSuffix } from './helpers.ts';

const events = new EventBridgeClient(emulatorClientConfig);
const sqs = new SQSClient(emulatorClientConfig);

const patternOf = (name: string): unknown => JSON.parse(readFileSync(join(root, 'shared/playbooks', name, 'event-pattern.json'), 'utf8'));
const readJson = (file: string): unknown => JSON.parse(readFileSync(join(root, 'shared/playbooks', file), 'utf8'));
const ROUTING = catchAllRouting(PLAYBOOK_REGISTRY.map((e) => ({ name: e.name, pattern: patternOf(e.name) })));

/** A rule with the pattern on the bus, delivering to a queue of its own. */
async function ruleToQueue(bus: string, name: string, pattern: unknown): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  await events.send(new PutRuleCommand({ Name: name, EventBusName: bus, EventPattern: JSON.stringify(pattern) }));
  await events.send(new PutTargetsCommand({ Rule: name, EventBusName: bus, Targets: [{ Id: 'queue', Arn: Attributes!.QueueArn! }] }));
  return QueueUrl!;
}

/** The `case` detail field of every message on the queue (read until empty, then deleted). */
async function casesOn(queueUrl: string): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) return seen.sort();
    seen.push(...messages.map((m) => String(JSON.parse(m.Body!).detail.case)));
    await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
}

/** GuardDuty-shaped details, each tagged with its case name. */
const CASES: Record<string, Record<string, unknown>> = {
  'an EC2 instance': { resource: { resourceType: 'Instance' } },
  'an EKS cluster': { resource: { resourceType: 'EKSCluster' } },
  'a Lambda function': { resource: { resourceType: 'Lambda' } },
  'a resource type GuardDuty adds later': { resource: { resourceType: 'SomethingNew' } },
  'the resource type in another case': { resource: { resourceType: 'instance' } },
  'an empty resource type': { resource: { resourceType: '' } },
  'a null resource type': { resource: { resourceType: null } },
  'a resource with no type': { resource: { instanceDetails: { instanceId: 'i-0a1b2c3d4e5f67890' } } },
  'no resource at all': { id: 'x' },
  'a resource that is not an object': { resource: 'Instance' },
  'a resource type that is an object': { resource: { resourceType: { name: 'Instance' } } },
};

describe('Emulator: EventBridge pattern matching for the playbooks\' rules and the catch-all', () => {
  let bus: string;
  let playbookQueue: string;
  let catchAllQueue: string;

  beforeAll(async () => {
    bus = `fb-patterns-${uniqueSuffix()}`;
    await events.send(new CreateEventBusCommand({ Name: bus }));
    playbookQueue = await ruleToQueue(bus, `${bus}-ec2`, splitPattern(patternOf('ec2-instance')).guardduty);
    catchAllQueue = await ruleToQueue(bus, `${bus}-unhandled`, catchAllPattern(ROUTING['ec2-instance']!));
  });

  it('puts each GuardDuty finding in exactly one queue: the EC2 playbook\'s for an instance, the catch-all\'s for everything else', async () => {
    // Act: one event each (PutEvents takes at most 10 entries)
    const failed: number[] = [];
    for (const [name, detail] of Object.entries(CASES)) {
      const out = await events.send(new PutEventsCommand({ Entries: [{ Source: 'aws.guardduty', DetailType: 'GuardDuty Finding', Detail: JSON.stringify({ ...detail, case: name }), EventBusName: bus }] }));
      failed.push(out.FailedEntryCount ?? 0);
    }
    const playbook = await casesOn(playbookQueue);
    const catchAll = await casesOn(catchAllQueue);

    // Assess
    expect(failed.every((n) => n === 0)).toBe(true);
    expect(playbook).toEqual(['an EC2 instance']);
    expect(catchAll).toEqual(Object.keys(CASES).filter((c) => c !== 'an EC2 instance').sort());
  });

  it('takes no other GuardDuty event type and nothing from another source', async () => {
    // Act
    await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'aws.guardduty', DetailType: 'GuardDuty Runtime Protection Unhealthy', Detail: JSON.stringify({ case: 'runtime health' }), EventBusName: bus },
          { Source: 'firebreak.manual', DetailType: 'GuardDuty Finding', Detail: JSON.stringify({ resource: { resourceType: 'EKSCluster' }, case: 'another source' }), EventBusName: bus },
        ],
      }),
    );

    // Assess
    expect(await casesOn(playbookQueue)).toEqual([]);
    expect(await casesOn(catchAllQueue)).toEqual([]);
  });

  it('with no playbook enabled, the catch-all takes every GuardDuty finding', async () => {
    // Prepare
    const everything = await ruleToQueue(bus, `${bus}-unhandled-all`, catchAllPattern([]));

    // Act
    await events.send(
      new PutEventsCommand({
        Entries: ['an EC2 instance', 'no resource at all'].map((name) => ({ Source: 'aws.guardduty', DetailType: 'GuardDuty Finding', Detail: JSON.stringify({ ...CASES[name], case: name }), EventBusName: bus })),
      }),
    );

    // Assess
    expect(await casesOn(everything)).toEqual(['an EC2 instance', 'no resource at all']);
    await casesOn(playbookQueue);
    await casesOn(catchAllQueue);
  });

  it('matches anything-but, exists and $or on their own as EventBridge documents them', async () => {
    // Prepare: one rule per operator
    const anythingBut = await ruleToQueue(bus, `${bus}-anything-but`, { source: ['test.patterns'], detail: { state: [{ 'anything-but': ['stopped', 'overloaded'] }] } });
    const absent = await ruleToQueue(bus, `${bus}-absent`, { source: ['test.patterns'], detail: { state: [{ exists: false }] } });
    const present = await ruleToQueue(bus, `${bus}-present`, { source: ['test.patterns'], detail: { state: [{ exists: true }] } });
    const either = await ruleToQueue(bus, `${bus}-or`, { source: ['test.patterns'], $or: [{ detail: { state: ['stopped'] } }, { detail: { count: [{ numeric: ['>', 5] }] } }] });
    const prefix = await ruleToQueue(bus, `${bus}-prefix`, { source: ['test.patterns'], detail: { state: [{ prefix: 'run' }] } });
    const put = (name: string, detail: Record<string, unknown>) => ({ Source: 'test.patterns', DetailType: 'Pattern test', Detail: JSON.stringify({ ...detail, case: name }), EventBusName: bus });

    // Act
    await events.send(
      new PutEventsCommand({
        Entries: [put('running', { state: 'running' }), put('stopped', { state: 'stopped' }), put('no state', { count: 9 }), put('null state', { state: null })],
      }),
    );

    // Assess: anything-but matches a present value outside the list (null included), never a missing field
    expect(await casesOn(anythingBut)).toEqual(['null state', 'running']);
    expect(await casesOn(absent)).toEqual(['no state']);
    expect(await casesOn(present)).toEqual(['null state', 'running', 'stopped']);
    expect(await casesOn(either)).toEqual(['no state', 'stopped']);
    expect(await casesOn(prefix)).toEqual(['running']);
  });

  it('splits AccessKey findings by userType: each principal to its playbook, every other userType (and none) to the catch-all', async () => {
    // Prepare: the identity playbooks' GuardDuty rules and the catch-all built from them
    const split = catchAllRouting([
      { name: 'iam-user', pattern: {}, guarddutyPattern: readJson('iam-user/guardduty-pattern.json') },
      { name: 'iam-role', pattern: {}, guarddutyPattern: readJson('iam-role/guardduty-pattern.json') },
    ]);
    const userQueue = await ruleToQueue(bus, `${bus}-iam-user`, splitPattern({}, readJson('iam-user/guardduty-pattern.json')).guardduty);
    const roleQueue = await ruleToQueue(bus, `${bus}-iam-role`, splitPattern({}, readJson('iam-role/guardduty-pattern.json')).guardduty);
    const rest = await ruleToQueue(bus, `${bus}-unhandled-keys`, catchAllPattern(mergeRouting([split['iam-user']!, split['iam-role']!])));
    const keyCases: Record<string, Record<string, unknown>> = {
      'an IAM user key': { resource: { resourceType: 'AccessKey', accessKeyDetails: { userType: 'IAMUser', userName: 'alice' } } },
      'a federated user': { resource: { resourceType: 'AccessKey', accessKeyDetails: { userType: 'FederatedUser' } } },
      'a role session': { resource: { resourceType: 'AccessKey', accessKeyDetails: { userType: 'AssumedRole' } } },
      'root (no account playbook enabled here)': { resource: { resourceType: 'AccessKey', accessKeyDetails: { userType: 'Root' } } },
      'a userType GuardDuty adds later': { resource: { resourceType: 'AccessKey', accessKeyDetails: { userType: 'AWSService' } } },
      'no userType': { resource: { resourceType: 'AccessKey', accessKeyDetails: { userName: 'x' } } },
      'no accessKeyDetails': { resource: { resourceType: 'AccessKey' } },
      'a userType on another resource type': { resource: { resourceType: 'S3Bucket', accessKeyDetails: { userType: 'IAMUser' } } },
    };

    // Act
    for (const [name, detail] of Object.entries(keyCases)) {
      await events.send(new PutEventsCommand({ Entries: [{ Source: 'aws.guardduty', DetailType: 'GuardDuty Finding', Detail: JSON.stringify({ ...detail, case: name }), EventBusName: bus }] }));
    }

    // Assess: exactly one queue each
    expect(await casesOn(userQueue)).toEqual(['a federated user', 'an IAM user key']);
    expect(await casesOn(roleQueue)).toEqual(['a role session']);
    expect(await casesOn(rest)).toEqual(['a userType GuardDuty adds later', 'a userType on another resource type', 'no accessKeyDetails', 'no userType', 'root (no account playbook enabled here)'].sort());
  });
});
