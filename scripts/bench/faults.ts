// How much slower isolation gets when AWS pushes back: an Auto Scaling group member behind a target
// group contained through the local pipeline, its function's calls going through the fault proxy
// (scripts/lib/fault-proxy.ts) — first with no faults, then with 30 % of the calls of every service
// (EC2, Auto Scaling, ELB, DynamoDB, SQS, S3 and the rest) answered with that service's throttling error.
import { incidentIdFor } from '../../shared/findings/index.ts';
import { drain } from '../lib/drain.ts';
import { startFaultProxy, type AnyFaultRule, type FaultProxy } from '../lib/fault-proxy.ts';
import { loadFixture, retargetInstanceFinding } from '../lib/findings.ts';
import { buildWebAppScenario } from '../lib/scenario.ts';
import { stats, type BenchContext, type BenchSection } from './context.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const THROTTLED_RATE = Number(process.env.BENCH_THROTTLED_RATE ?? 0.3);

interface Round {
  /** PutEvents → the isolation step finished (the ledger's `isolatedAt`). */
  toIsolation: number;
  /** The function's first AWS call (as the proxy saw it) → isolated. */
  firstCallToIsolation: number;
  deliveries: number;
  faults: number;
  requests: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function contain(ctx: BenchContext, proxy: FaultProxy, table: string): Promise<Round> {
  const { endpoint, region, world } = ctx;
  const accountId = await world.accountId();
  const scenario = await buildWebAppScenario({ ec2: world.ec2, autoscaling: world.autoscaling, elbv2: world.elbv2, elb: world.elb });
  const event = retargetInstanceFinding(loadFixture('ec2-c-cactivity-b'), { accountId, region, instanceId: scenario.victim.instanceId, vpcId: scenario.vpcId });
  proxy.resetStats();
  const putAt = Date.now();
  await world.putFinding(event);
  await drain({ endpoint, functionEndpoint: proxy.url, region, functionFilter: 'firebreak-ec2-instance', log: () => undefined, timeoutSeconds: 300 });
  const record = await world.ledger(table).get(incidentIdFor(accountId, event.detail.id, scenario.victim.instanceId));
  if (!record?.isolatedAt) throw new Error(`not isolated (${record?.status}: ${record?.statusReason})`);
  const s = proxy.stats();
  const firstCall = s.log.find((r) => r.at >= putAt)?.at ?? putAt;
  return {
    toIsolation: Date.parse(record.isolatedAt) - putAt,
    firstCallToIsolation: Date.parse(record.isolatedAt) - firstCall,
    deliveries: record.deliveries ?? 1,
    faults: s.faults,
    requests: s.requests,
  };
}

async function measure(ctx: BenchContext, proxy: FaultProxy, table: string, rules: AnyFaultRule[]): Promise<Round[]> {
  proxy.setRules(rules);
  const out: Round[] = [];
  for (let round = 0; round < rounds; round++) out.push(await contain(ctx, proxy, table));
  return out;
}

export const section: BenchSection = {
  title: `Isolation under throttling: an Auto Scaling group member behind a target group, unthrottled vs ${Math.round(THROTTLED_RATE * 100)} % of every service's calls throttled (${rounds} rounds each, through the fault proxy)`,
  async run(ctx) {
    const table: string = (await ctx.outputs()).firebreak.ledger_table_name;
    const proxy = await startFaultProxy({ target: ctx.endpoint, rules: [], seed: 16 });
    try {
      const clean = await measure(ctx, proxy, table, []);
      const throttled = await measure(ctx, proxy, table, [{ kind: 'throttle', rate: THROTTLED_RATE }]);
      const faultsByService = proxy.stats().byService;
      for (const [label, rs] of [
        ['unthrottled', clean],
        [`${Math.round(THROTTLED_RATE * 100)} % throttled`, throttled],
      ] as const) {
        ctx.print(`  ${label}:`);
        ctx.print(`    PutEvents → isolated:          ${stats(rs.map((r) => r.toIsolation))}`);
        ctx.print(`    first call → isolated:         ${stats(rs.map((r) => r.firstCallToIsolation))}`);
        ctx.print(`    deliveries per finding:        ${rs.map((r) => r.deliveries).join(', ')}`);
        ctx.print(`    faults injected / calls:       ${rs.map((r) => `${r.faults}/${r.requests}`).join(', ')}`);
      }
      const lastRound = Object.entries(faultsByService)
        .map(([service, s]) => `${service} ${s.faults.throttle ?? 0}/${s.requests}`)
        .join(', ');
      ctx.print(`  throttled calls by service (last round): ${lastRound}`);
      const ratio = (f: (r: Round) => number) => (median(throttled.map(f)) / Math.max(1, median(clean.map(f)))).toFixed(1);
      ctx.print(`  ratio of medians, throttled / unthrottled (target ≤ 3×): PutEvents → isolated ${ratio((r) => r.toIsolation)}×, first call → isolated ${ratio((r) => r.firstCallToIsolation)}×`);
    } finally {
      await proxy.close();
    }
  },
};
