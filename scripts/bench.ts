// `make bench`: how fast the deployed pipeline contains compromised instances on the emulator.
// Prints figures; asserts nothing (performance targets live here, never in timed tests).
import { incidentIdFor } from '../shared/findings/index.ts';
import { drain } from './lib/drain.ts';
import { loadFixture, retargetInstanceFinding } from './lib/findings.ts';
import { deployLocal } from './lib/local.ts';
import { buildWebAppScenario } from './lib/scenario.ts';
import { emulatorWorld } from './lib/world.ts';

const endpoint = process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';
const region = 'us-east-1';
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const world = emulatorWorld(endpoint, region);
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0]} ms  median ${s[Math.floor(s.length / 2)]} ms  max ${s[s.length - 1]} ms  (n=${s.length})`;
};

const outputs = await deployLocal({ endpoint, region, quiet: true, log: () => undefined });
const table: string = outputs.firebreak.ledger_table_name;
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
console.log(`Firebreak EC2 containment on the emulator (${rounds} rounds, 2-ENI instance, each round a cold start: the drain starts a new worker)`);
console.log(`  PutEvents → isolated (includes local drain polling and cold start): ${stats(toIsolation)}`);
console.log(`  first containment call → isolated:                                 ${stats(firstCallToIsolation)}`);
console.log(`  first containment call → every containment step finished:          ${stats(containment)}`);
