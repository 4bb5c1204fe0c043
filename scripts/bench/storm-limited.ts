// The storm under EC2's documented API rate limits: the functions' calls go through the fault
// proxy in `ec2-rate-limit` mode (scripts/lib/fault-proxy.ts enforces EC2's request token buckets,
// cited in docs/decisions.md, and answers RequestLimitExceeded when one is empty), while the drain
// talks to the emulator. Prints what the unlimited storm prints, plus how AWS's pushback fell on
// containment and on evidence: the isolation calls that were refused, and how many evidence calls
// (snapshots, console, tags) EC2 received before the last isolation call.
import { startFaultProxy } from '../lib/fault-proxy.ts';
import { runStorm } from './storm.ts';
import type { BenchSection } from './context.ts';

// Smaller than the unlimited storm by default: under the real buckets a storm is paced by AWS, and
// the emulator on a small machine adds its own pace (BENCH_LIMITED_INSTANCES=200 for the full one).
const instances = Number(process.env.BENCH_LIMITED_INSTANCES ?? 60);
const vpcs = Number(process.env.BENCH_LIMITED_VPCS ?? 6);
const scale = Number(process.env.BENCH_LIMITED_SCALE ?? 1);

/** EC2 actions of the isolation step (the network change itself), and of evidence. */
const ISOLATION_ACTIONS = new Set(['ModifyNetworkInterfaceAttribute']);
const EVIDENCE_ACTIONS = new Set(['CreateSnapshots', 'CreateSnapshot', 'GetConsoleOutput', 'GetConsoleScreenshot', 'CreateTags']);

export const section: BenchSection = {
  title: `A storm under EC2's documented API rate limits: ${instances} findings for ${instances} instances in ${vpcs} VPCs (token buckets × ${scale})`,
  async run(ctx) {
    const proxy = await startFaultProxy({ target: ctx.endpoint, rules: [{ kind: 'ec2-rate-limit', scale }] });
    try {
      await runStorm(ctx, { label: `the functions' calls through the rate-limiting proxy ${proxy.url}`, instances, vpcs, drainOptions: { functionEndpoint: proxy.url } });
      const log = proxy.stats().log.filter((r) => r.service === 'ec2');
      const isolation = log.filter((r) => ISOLATION_ACTIONS.has(r.action));
      const refused = isolation.filter((r) => r.fault === 'rate-limited').length;
      const lastIsolation = Math.max(...isolation.filter((r) => !r.fault).map((r) => r.at));
      const evidence = log.filter((r) => EVIDENCE_ACTIONS.has(r.action));
      const evidenceBefore = evidence.filter((r) => r.at < lastIsolation).length;
      const limited = log.filter((r) => r.fault === 'rate-limited').length;
      ctx.print(`  EC2 calls ${log.length}, of which refused with RequestLimitExceeded ${limited}; isolation calls ${isolation.length}, refused ${refused}`);
      ctx.print(`  evidence calls reaching EC2 before the last isolation call: ${evidenceBefore} of ${evidence.length} (containment first: evidence waits while AWS pushes back)`);
    } finally {
      await proxy.close();
    }
  },
};
