// A storm of findings: 200 findings for 200 instances in 20 VPCs on the bus at once, through the
// deployed local pipeline, drained by as many concurrent workers as the event source mapping's
// maximum concurrency would run. Figures, never assertions (the e2e storm test asserts the
// checks on a small storm).
import { drain, type DrainOptions } from '../lib/drain.ts';
import { buildStormWorld, putAllAtOnce, stormFindings, stormOutcome } from '../lib/storm.ts';
import { stats, type BenchContext, type BenchSection } from './context.ts';

const instances = Number(process.env.BENCH_STORM_INSTANCES ?? 200);
const vpcs = Number(process.env.BENCH_STORM_VPCS ?? 20);
// The module's default `max_concurrency` (terraform/variables.tf).
const concurrency = Number(process.env.BENCH_STORM_CONCURRENCY ?? 10);

export interface StormRun {
  /** Shown after the heading (what differs in this run: "EC2's documented rate limits"). */
  label?: string;
  instances?: number;
  vpcs?: number;
  concurrency?: number;
  /**
   * More drain options, e.g. `{ functionEndpoint: proxy.url }` to send the functions' AWS calls
   * through a rate-limiting proxy (scripts/lib/fault-proxy.ts) while the drain talks to the emulator.
   */
  drainOptions?: Partial<DrainOptions> & Record<string, unknown>;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

/** Runs one storm and prints its figures. */
export async function runStorm({ endpoint, region, world, outputs, print }: BenchContext, run: StormRun = {}): Promise<void> {
  const n = run.instances ?? instances;
  const v = run.vpcs ?? vpcs;
  const c = run.concurrency ?? concurrency;
  const o = (await outputs()).storm;
  const table: string = o.ledger_table_name;
  const functionName: string = o.playbooks['ec2-instance'].function_name;
  const dlq: string = o.playbooks['ec2-instance'].dlq_url;
  if (run.label) print(`  (${run.label})`);

  const built = Date.now();
  const fleet = await buildStormWorld(world, { vpcs: v, instances: n });
  const events = await stormFindings(world, fleet);
  print(`  world: ${fleet.length} instances in ${v} VPCs built in ${((Date.now() - built) / 1000).toFixed(1)} s`);
  const dlqDepth = async () => Number((await world.sqs.send(new (await import('@aws-sdk/client-sqs')).GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes?.ApproximateNumberOfMessages ?? 0);
  const dlqBefore = await dlqDepth();

  const start = await putAllAtOnce(world, events, o.event_bus_name);
  const summaries = await drain({ endpoint, region, functionFilter: functionName, concurrency: c, timeoutSeconds: 1800, log: () => undefined, ...run.drainOptions });
  const drainedMs = Date.now() - start.getTime();
  const outcome = await stormOutcome(world, table, fleet, events, start);

  const received = summaries.reduce((a, s) => a + s.received, 0);
  const invocations = summaries.reduce((a, s) => a + s.batches, 0);
  const t = outcome.isolationMs;
  const groups = Object.values(outcome.isolationGroupsPerVpc);
  print(`  ${n} findings on the bus at once → last isolation: ${t.length ? `${(t[t.length - 1]! / 1000).toFixed(1)} s` : 'none'}; every finding handled (queue drained): ${(drainedMs / 1000).toFixed(1)} s`);
  if (t.length) {
    print(`  PutEvents → isolated, per instance: ${stats(t)}`);
    print(`    p10 ${percentile(t, 10)} ms  p50 ${percentile(t, 50)} ms  p90 ${percentile(t, 90)} ms  p99 ${percentile(t, 99)} ms`);
  }
  print(`  deliveries: ${received} received by ${c} concurrent workers in ${invocations} invocations; ${outcome.deliveries} counted by the ledger (${n} findings + follow-ups and redeliveries)`);
  print(`  checks: isolated ${outcome.isolated}/${n}; recorded ${outcome.recorded}/${n}; statuses ${JSON.stringify(outcome.statuses)}; isolation groups per VPC min ${Math.min(...groups)} max ${Math.max(...groups)} (${groups.length} VPCs); duplicate snapshots ${outcome.duplicateSnapshots}; new in the DLQ ${(await dlqDepth()) - dlqBefore}`);
}

export const section: BenchSection = {
  title: `A storm: ${instances} findings for ${instances} instances in ${vpcs} VPCs on the bus at once (blast radius raised; ${concurrency} concurrent workers, as max_concurrency = ${concurrency})`,
  run: (ctx) => runStorm(ctx),
};
