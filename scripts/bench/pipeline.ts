// How fast the deployed pipeline contains a compromised instance on the emulator, one finding at a time.
import { incidentIdFor } from '../../shared/findings/index.ts';
import { drain } from '../lib/drain.ts';
import { loadFixture, retargetInstanceFinding } from '../lib/findings.ts';
import { buildWebAppScenario } from '../lib/scenario.ts';
import { stats, type BenchSection } from './context.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

export const section: BenchSection = {
  title: `EC2 containment through the local pipeline (${rounds} rounds, 2-ENI instance, each round a cold start: the drain starts a new worker)`,
  async run({ endpoint, region, world, outputs, print }) {
    const table: string = (await outputs()).firebreak.ledger_table_name;
    const accountId = await world.accountId();
    const toIsolation: number[] = [];
    const firstCallToIsolation: number[] = [];
    const containment: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const scenario = await buildWebAppScenario({ ec2: world.ec2, autoscaling: world.autoscaling, elbv2: world.elbv2, elb: world.elb }, { secondEni: true });
      const event = retargetInstanceFinding(loadFixture('ec2-c-cactivity-b'), { accountId, region, instanceId: scenario.victim.instanceId, vpcId: scenario.vpcId });
      const putAt = Date.now();
      await world.putFinding(event);
      await drain({ endpoint, region, functionFilter: 'firebreak-ec2-instance', log: () => undefined });
      const record = await world.ledger(table).get(incidentIdFor(accountId, event.detail.id, scenario.victim.instanceId));
      if (!record?.isolatedAt) throw new Error(`round ${round}: not isolated (${record?.status})`);
      const steps = Object.values(record.steps).filter((s) => s.startedAt);
      const first = Math.min(...steps.map((s) => Date.parse(s.startedAt!)));
      const lastContain = Math.max(...steps.filter((s) => s.stage === 'contain').map((s) => Date.parse(s.finishedAt!)));
      toIsolation.push(Date.parse(record.isolatedAt) - putAt);
      firstCallToIsolation.push(Date.parse(record.isolatedAt) - first);
      containment.push(lastContain - first);
    }
    print(`  PutEvents → isolated (includes local drain polling and cold start): ${stats(toIsolation)}`);
    print(`  first containment call → isolated:                                 ${stats(firstCallToIsolation)}`);
    print(`  first containment call → every containment step finished:          ${stats(containment)}`);
  },
};
