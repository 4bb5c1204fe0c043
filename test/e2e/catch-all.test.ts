// No finding vanishes: every GuardDuty fixture (the vendored ones, the published corpus, and
// synthetic findings of types no playbook takes) is put on the findings bus of the
// Terraform-deployed pipeline; before anything drains, every playbook queue and the catch-all
// queue are read, and each event must be in exactly one of them — its playbook's, or the
// catch-all's. Then the catch-all is drained: the ledger records each finding no playbook took
// and people are told about each unhandled one, once.
//
// Putting `aws.guardduty` events on the bus is an emulator convenience: in AWS only GuardDuty can.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { SNSClient, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import { ChangeMessageVisibilityBatchCommand, CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catchAllRouting, patternsOf, root, routingTakes } from '../../scripts/lib/generate.ts';
import { InvalidFindingError } from '../../shared/errors/index.ts';
import { parseMessage } from '../../shared/findings/index.ts';
import type { IgnoredFindingRecord } from '../../shared/ledger/index.ts';
import { PLAYBOOK_REGISTRY } from '../../shared/playbooks/registry.ts';
import { drainAll, endpoint, outputs, world } from './support.ts';

const main = outputs.firebreak;
const catchAll = main.catch_all as { queue_url: string; function_name: string; dlq_url: string };
const playbookQueues: Record<string, string> = Object.fromEntries(Object.entries(main.playbooks as Record<string, { queue_url: string }>).map(([name, p]) => [name, p.queue_url]));
const CATCH_ALL = 'catch-all';
const sns = new SNSClient({ region: world.region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

/** What each playbook's rule takes, from its event-pattern.json (the source Terraform's catalog is generated from). */
const ROUTING = catchAllRouting(await Promise.all(PLAYBOOK_REGISTRY.map(async (e) => ({ name: e.name, ...(await patternsOf(e.name)) }))));

const FIXTURE_ROOT = join(root, 'test/fixtures/guardduty');
const fixtureFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? fixtureFiles(join(dir, d.name)) : d.name.endsWith('.json') && d.name !== 'expected.json' ? [join(dir, d.name)] : []));

interface Case {
  name: string;
  source: string;
  detailType: string;
  detail: Record<string, any>;
  resources: string[];
}

/** A run tag appended to every finding id: this run's records never meet an earlier run's. */
const TAG = `e2e${Date.now().toString(36)}`;

function caseOf(name: string, raw: Record<string, any>): Case {
  const detail = structuredClone(raw.detail ?? {});
  if (typeof detail.id === 'string') detail.id = `${detail.id}${TAG}`;
  return {
    name,
    // A published finding without its envelope (only {region, detail}) is still a GuardDuty finding.
    source: typeof raw.source === 'string' ? raw.source : 'aws.guardduty',
    detailType: typeof raw['detail-type'] === 'string' ? raw['detail-type'] : 'GuardDuty Finding',
    detail,
    resources: Array.isArray(raw.resources) ? raw.resources.filter((r: unknown) => typeof r === 'string') : [],
  };
}

/** GuardDuty findings of types no playbook takes yet, built from a vendored EC2 finding. */
function synthetic(resourceType: string, extra: Record<string, unknown>): Case {
  const raw = JSON.parse(readFileSync(join(FIXTURE_ROOT, 'ec2-c-cactivity-b.json'), 'utf8'));
  delete raw.detail.resource.instanceDetails;
  raw.detail.resource = { resourceType, ...extra };
  raw.detail.id = `${resourceType.toLowerCase()}0000000000000000000000`;
  raw.detail.type = `Execution:${resourceType}/Synthetic`;
  return caseOf(`synthetic: ${resourceType}`, raw);
}

const CASES: Case[] = [
  ...fixtureFiles(FIXTURE_ROOT)
    .sort()
    .map((file) => caseOf(relative(FIXTURE_ROOT, file), JSON.parse(readFileSync(file, 'utf8')))),
  synthetic('EKSCluster', { eksClusterDetails: { name: 'prod', arn: 'arn:aws:eks:us-east-1:111122223333:cluster/prod' } }),
  synthetic('Lambda', { lambdaDetails: { functionName: 'billing', functionArn: 'arn:aws:lambda:us-east-1:111122223333:function:billing' } }),
  synthetic('SomeFutureResource', {}),
];

/** The queue an event belongs in: the deployed playbook whose rule takes its resource type, else the catch-all. */
function expectedQueue(c: Case): string {
  const type = c.detail?.resource?.resourceType;
  const owner = Object.entries(ROUTING).find(([name, routing]) => name in playbookQueues && routingTakes(routing, c.detail?.resource))?.[0];
  return owner ?? CATCH_ALL;
}

/** Every message on a queue, received until it is empty (each stays invisible until released or deleted). */
async function receiveAll(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const out = await world.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!out.Messages?.length) return all;
    all.push(...out.Messages);
  }
}

async function inBatches(messages: Message[], send: (batch: Message[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) await send(messages.slice(i, i + 10));
}

/** Lets the messages be received again at once (by the drain). */
const release = (queueUrl: string, messages: Message[]) =>
  inBatches(messages, (batch) => world.sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) })));
const remove = (queueUrl: string, messages: Message[]) =>
  inBatches(messages, (batch) => world.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) })));

describe('No finding vanishes: every GuardDuty fixture lands exactly once, and the catch-all records and tells', () => {
  const eventIds = new Map<string, Case>();
  const landed = new Map<string, string[]>();
  const catchAllMessages = new Map<string, Message>();
  let subscriber: { url: string; remove: () => Promise<void> };

  beforeAll(async () => {
    // A queue subscribed to the notification topic, as a ticketing hook would be.
    const { QueueUrl } = await world.sqs.send(new CreateQueueCommand({ QueueName: `e2e-catch-all-notifications-${TAG}` }));
    const { Attributes } = await world.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    const { SubscriptionArn } = await sns.send(new SubscribeCommand({ TopicArn: main.notification_topic_arn, Protocol: 'sqs', Endpoint: Attributes!.QueueArn!, ReturnSubscriptionArn: true }));
    subscriber = {
      url: QueueUrl!,
      remove: async () => {
        await sns.send(new UnsubscribeCommand({ SubscriptionArn }));
        await world.sqs.send(new DeleteQueueCommand({ QueueUrl }));
      },
    };

    // Every case on the findings bus, one PutEvents entry each.
    for (const c of CASES) {
      const out = await world.events.send(
        new PutEventsCommand({ Entries: [{ Source: c.source, DetailType: c.detailType, Detail: JSON.stringify(c.detail), EventBusName: main.event_bus_name, Resources: c.resources }] }),
      );
      if (out.FailedEntryCount || !out.Entries?.[0]?.EventId) throw new Error(`PutEvents refused ${c.name}: ${JSON.stringify(out.Entries)}`);
      eventIds.set(out.Entries[0].EventId, c);
    }

    // Before any drain: where did each event land?
    for (const [queue, url] of [...Object.entries(playbookQueues), [CATCH_ALL, catchAll.queue_url] as const]) {
      const messages = await receiveAll(url);
      const ours = messages.filter((m) => eventIds.has(JSON.parse(m.Body!).id));
      for (const m of ours) {
        const id: string = JSON.parse(m.Body!).id;
        landed.set(id, [...(landed.get(id) ?? []), queue]);
        if (queue === CATCH_ALL) catchAllMessages.set(id, m);
      }
      // Others' messages go back as they were; ours leave the playbook queues (no playbook should act on a
      // corpus finding here) and stay on the catch-all's for its function.
      await release(url, messages.filter((m) => !ours.includes(m) || queue === CATCH_ALL));
      if (queue !== CATCH_ALL) await remove(url, ours);
    }
  });

  afterAll(async () => {
    await subscriber?.remove();
  });

  it('puts every fixture on the bus: the vendored ones, the published corpus and the synthetic new types', () => {
    expect(CASES.filter((c) => c.name.startsWith('published/')).length).toBeGreaterThanOrEqual(10);
    expect(CASES.filter((c) => !c.name.includes('/') && !c.name.startsWith('synthetic')).length).toBeGreaterThanOrEqual(15);
    expect(eventIds.size).toBe(CASES.length);
  });

  it('finds each event in exactly one queue, and the right one: its playbook\'s, or the catch-all\'s', () => {
    // Act
    const where = [...eventIds].map(([id, c]) => ({ name: c.name, queues: landed.get(id) ?? [] }));

    // Assess: one line per case, so a failure names the finding and where it went
    expect(where).toEqual([...eventIds.values()].map((c) => ({ name: c.name, queues: [expectedQueue(c)] })));
    // Both sides take some: the cases are not all one way (the split moves as playbooks are added).
    expect(where.filter((w) => w.queues[0] === CATCH_ALL).length).toBeGreaterThan(0);
    expect(where.filter((w) => w.queues[0] !== CATCH_ALL).length).toBeGreaterThan(0);
  });

  it('gives the catch-all nothing a deployed playbook would act on', () => {
    for (const [id, m] of catchAllMessages) {
      let routedTo: string | undefined;
      try {
        const parsed = parseMessage(m.Body!);
        if (parsed.kind === 'findings') routedTo = parsed.incidents[0]!.playbook;
      } catch (error) {
        if (!(error instanceof InvalidFindingError)) throw error;
      }
      expect({ name: eventIds.get(id)!.name, routedTo: routedTo !== undefined && routedTo in playbookQueues ? routedTo : undefined }).toEqual({ name: eventIds.get(id)!.name, routedTo: undefined });
    }
  });

  it('records every finding the catch-all took in the ledger, and tells people once about each unhandled one', async () => {
    // Act
    const summaries = await drainAll(catchAll.function_name);
    const records = await world.ledger(main.ledger_table_name).list();
    const notices: Array<{ Message: string; MessageAttributes?: Record<string, { Value: string }> }> = [];
    for (const m of await receiveAll(subscriber.url)) notices.push(JSON.parse(m.Body!));

    // Assess: the catch-all's queue is empty and nothing went to its DLQ
    expect(summaries.find((s) => s.functionName === catchAll.function_name)).toMatchObject({ invocationErrors: 0, failed: 0 });
    expect(await receiveAll(catchAll.dlq_url)).toEqual([]);

    // Assess: per finding, what the parser says it is decides the record
    for (const [id, m] of catchAllMessages) {
      const c = eventIds.get(id)!;
      let expected: 'unhandled' | 'sample' | 'rejected';
      try {
        const parsed = parseMessage(m.Body!);
        expected = parsed.kind === 'ignored' ? parsed.finding.why : 'unhandled';
      } catch (error) {
        if (!(error instanceof InvalidFindingError)) throw error;
        expected = 'rejected';
      }
      if (expected === 'rejected') {
        expect({ name: c.name, record: records.find((r) => r.kind === 'rejected' && r.messageId === m.MessageId) }).toMatchObject({ name: c.name, record: { playbook: 'unhandled' } });
        continue;
      }
      const record = records.find((r): r is IgnoredFindingRecord => r.kind === 'ignored' && r.findingId === c.detail.id && r.accountId === c.detail.accountId);
      expect({ name: c.name, record }).toMatchObject({ name: c.name, record: { status: 'skipped', why: expected, playbook: 'unhandled', deliveries: 1 } });
      const told = notices.filter((n) => n.MessageAttributes?.status?.Value === 'unhandled' && new RegExp(`^  Finding id:\\s+${c.detail.id}$`, 'm').test(n.Message));
      if (expected === 'unhandled') {
        expect({ name: c.name, told: told.length, notification: record?.notification }).toMatchObject({ name: c.name, told: 1, notification: { status: 'unhandled', published: true } });
      } else {
        expect({ name: c.name, told: told.length }).toEqual({ name: c.name, told: 0 });
      }
    }
  });
});
