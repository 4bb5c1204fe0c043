// Issue 16, end to end: SQS delivers at least once and GuardDuty re-publishes a finding, so one
// incident can run in several invocations at once. Whatever the number of deliveries: one
// isolation group, one set of snapshots, one blast-radius slot, one ledger record that counts
// every delivery, and one follow-up at a time.
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import { FOLLOW_UP_ATTRIBUTE } from '../../shared/handler/follow-up.ts';
import { windowKey } from '../../shared/ledger/index.ts';
import { drain, type FunctionDrainSummary } from '../../scripts/lib/drain.ts';
import { buildStormWorld, putAllAtOnce, stormFindings, stormIncidentId, stormOutcome } from '../../scripts/lib/storm.ts';
import { retargetInstanceFinding } from '../../scripts/lib/findings.ts';
import { endpoint, incidentRecord, pipeline, queueCounts, world } from './support.ts';
import type { Message } from '@aws-sdk/client-sqs';

const main = pipeline('storm');

/** Drains the main pipeline's queue with concurrent workers, noting every message received. */
async function drainConcurrently(opts: { concurrency: number; twice?: (m: Message) => boolean }) {
  const received: Message[] = [];
  const summaries = await drain({
    endpoint,
    region: 'us-east-1',
    log: () => undefined,
    timeoutSeconds: 75,
    functionFilter: main.functionName,
    concurrency: opts.concurrency,
    // Used as an observer too: every received message passes through it once.
    deliverTwice: (m) => {
      received.push(m);
      return opts.twice?.(m) ?? false;
    },
  });
  const total = (k: keyof FunctionDrainSummary) => summaries.reduce((n, s) => n + Number(s[k]), 0);
  const followUps = received.filter((m) => m.MessageAttributes?.[FOLLOW_UP_ATTRIBUTE]);
  return { deliveries: total('received'), deliveredTwice: total('deliveredTwice'), followUps: followUps.length };
}

async function slotsOf(incidentId: string): Promise<number> {
  const out = await world.dynamo.send(new GetCommand({ TableName: main.ledgerTable, Key: windowKey(await world.accountId()), ConsistentRead: true }));
  return ((out.Item?.entries ?? []) as Array<{ incidentId: string }>).filter((e) => e.incidentId === incidentId).length;
}

async function volumeCount(instanceId: string): Promise<number> {
  const out = await world.ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }));
  return out.Volumes!.length;
}

describe('Concurrency: one incident delivered to several invocations at once', () => {
  it('the same message handed to two workers at once: contained once, and the ledger counts both deliveries', async () => {
    // Prepare
    const instances = await buildStormWorld(world, { vpcs: 1, instances: 1 });
    const [event] = await stormFindings(world, instances);
    const dlqBefore = (await queueCounts(main.dlqName)).visible;
    const start = await putAllAtOnce(world, [event!], main.bus);

    // Act: the finding's message (not its follow-ups) goes to two workers at once
    const drained = await drainConcurrently({ concurrency: 2, twice: (m) => !m.MessageAttributes?.[FOLLOW_UP_ATTRIBUTE] });

    // Assess: contained, in one isolation group, with one snapshot per volume
    const outcome = await stormOutcome(world, main.ledgerTable, instances, [event!], start);
    expect(drained.deliveredTwice).toBe(1);
    expect(outcome).toMatchObject({ recorded: 1, contained: 1, isolated: 1, duplicateSnapshots: 0, isolationGroupsPerVpc: { [instances[0]!.vpcId]: 1 } });
    const record = await incidentRecord(main, event!);
    const snapshots = (record!.steps.snapshotVolumes?.data as { snapshots?: Array<{ snapshotId?: string }> } | undefined)?.snapshots ?? [];
    expect(snapshots.filter((s) => s.snapshotId)).toHaveLength(await volumeCount(instances[0]!.instanceId));

    // Assess: one slot, one record counting every delivery (both copies and the follow-ups), nothing lost
    expect(await slotsOf(stormIncidentId(event!))).toBe(1);
    expect(record!.deliveries).toBe(drained.deliveries);
    expect(drained.deliveries).toBe(2 + drained.followUps);
    expect(record!).not.toHaveProperty('followUp');
    expect(Object.keys(record!).filter((k) => k.startsWith('claim:'))).toEqual([]);
    expect(await queueCounts(main.queueName)).toMatchObject({ visible: 0, inFlight: 0 });
    expect((await queueCounts(main.dlqName)).visible).toBe(dlqBefore);
  });

  it('ten copies of one finding (GuardDuty re-publishing it) at once: one incident, contained once, one follow-up at a time', async () => {
    // Prepare
    const instances = await buildStormWorld(world, { vpcs: 1, instances: 1 });
    const [first] = await stormFindings(world, instances);
    const copies = Array.from({ length: 10 }, (_, n) =>
      retargetInstanceFinding(first!, { accountId: first!.detail.accountId, region: first!.detail.region, instanceId: instances[0]!.instanceId }, { findingId: first!.detail.id, count: n + 1 }),
    );
    const dlqBefore = (await queueCounts(main.dlqName)).visible;
    const start = await putAllAtOnce(world, copies, main.bus);

    // Act
    const drained = await drainConcurrently({ concurrency: 4 });

    // Assess: one incident for the ten copies, contained once
    expect(new Set(copies.map(stormIncidentId)).size).toBe(1);
    const outcome = await stormOutcome(world, main.ledgerTable, instances, [first!], start);
    expect(outcome).toMatchObject({ recorded: 1, contained: 1, isolated: 1, duplicateSnapshots: 0, isolationGroupsPerVpc: { [instances[0]!.vpcId]: 1 } });
    expect(await slotsOf(stormIncidentId(first!))).toBe(1);

    // Assess: every delivery counted; follow-ups one at a time, not one per copy (19 deliveries before)
    const record = await incidentRecord(main, first!);
    expect(record!.deliveries).toBe(drained.deliveries);
    expect(drained.deliveries).toBe(10 + drained.followUps);
    expect(drained.followUps).toBeLessThan(copies.length - 1);
    expect(record!).not.toHaveProperty('followUp');
    expect(await queueCounts(main.queueName)).toMatchObject({ visible: 0, inFlight: 0 });
    expect((await queueCounts(main.dlqName)).visible).toBe(dlqBefore);
  });
});
