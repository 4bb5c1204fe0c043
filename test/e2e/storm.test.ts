// Issue 16, end to end: a small storm of findings through the deployed local pipeline, drained
// by concurrent workers (as Lambda scales an SQS event source): every instance isolated, no
// finding lost, one isolation group per VPC, no duplicate snapshots. `make bench` runs the big
// one (200 instances in 20 VPCs) and prints the times; this test asserts no timing.
import { describe, expect, it } from 'vitest';
import { drain } from '../../scripts/lib/drain.ts';
import { buildStormWorld, putAllAtOnce, stormFindings, stormOutcome } from '../../scripts/lib/storm.ts';
import { endpoint, pipeline, queueCounts, world } from './support.ts';

const main = pipeline('storm');

describe('Storm: 20 findings for 20 instances in 4 VPCs at once', () => {
  it('isolates every instance, loses no finding, creates one isolation group per VPC and no duplicate snapshot', async () => {
    // Prepare
    const instances = await buildStormWorld(world, { vpcs: 4, instances: 20 });
    const events = await stormFindings(world, instances);
    const dlqBefore = (await queueCounts(main.dlqName)).visible;

    // Act
    const start = await putAllAtOnce(world, events, main.bus);
    const summaries = await drain({ endpoint, region: 'us-east-1', log: () => undefined, timeoutSeconds: 80, functionFilter: main.functionName, concurrency: 4 });

    // Assess
    const outcome = await stormOutcome(world, main.ledgerTable, instances, events, start);
    expect(outcome.recorded).toBe(20);
    expect(outcome.statuses).toEqual({ contained: 20 });
    expect(outcome.isolated).toBe(20);
    expect(Object.values(outcome.isolationGroupsPerVpc)).toEqual([1, 1, 1, 1]);
    expect(outcome.duplicateSnapshots).toBe(0);
    expect(outcome.isolationMs).toHaveLength(20);
    // Every delivery the workers made is counted in the ledger; nothing waits or failed over.
    expect(outcome.deliveries).toBe(summaries.reduce((n, s) => n + s.received, 0));
    expect(await queueCounts(main.queueName)).toMatchObject({ visible: 0, inFlight: 0 });
    expect((await queueCounts(main.dlqName)).visible).toBe(dlqBefore);
  });
});
