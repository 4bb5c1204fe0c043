// The peer in the same run: Cloud Custodian (c7n, from PyPI, in .venv-bench) against Firebreak on
// the same world — an Auto Scaling group member behind a target group, two ENIs — built fresh
// for each of them in every round. Both times run from the trigger to done; both leftovers are
// read back from the emulator. The policy and what is fair to the peer: docs/decisions.md.
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import { CreateSecurityGroupCommand, RevokeSecurityGroupEgressCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { join } from 'node:path';
import { incidentIdFor } from '../../shared/findings/index.ts';
import { custodianIsolationPolicy, ensureCustodian, runCustodian, type CustodianRun } from '../lib/custodian.ts';
import { drain } from '../lib/drain.ts';
import { loadFixture, retargetInstanceFinding } from '../lib/findings.ts';
import { LEFT_BEHIND_QUESTIONS, leftBehindCells, readLeftBehind, type LeftBehindTarget } from '../lib/left-behind.ts';
import { buildWebAppScenario, type WebAppScenario } from '../lib/scenario.ts';
import { formatTable, ratio, spread, summariseRounds } from '../lib/side-by-side.ts';
import type { World } from '../lib/world.ts';
import type { BenchSection } from './context.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const OUTPUT_DIR = join(new URL('../..', import.meta.url).pathname, '.firebreak/bench/custodian');
const ISOLATE_ACTION = 'ec2modifyvpcsecuritygroups';

/** The world one tool gets in a round, and the victim as it was before that tool acted. */
interface OneToolsWorld {
  scenario: WebAppScenario;
  target: LeftBehindTarget;
}

/** A fresh copy of the world, and what the victim looked like before anyone acted. */
async function buildWorld(world: World): Promise<OneToolsWorld> {
  const scenario = await buildWebAppScenario({ ec2: world.ec2, autoscaling: world.autoscaling, elbv2: world.elbv2, elb: world.elb }, { secondEni: true });
  const { Reservations } = await world.ec2.send(new DescribeInstancesCommand({ InstanceIds: [scenario.victim.instanceId] }));
  const tagKeysBefore = (Reservations?.[0]?.Instances?.[0]?.Tags ?? []).map((t) => t.Key!);
  const { AutoScalingGroups } = await world.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [scenario.asgName] }));
  const desiredCapacityBefore = AutoScalingGroups?.[0]?.DesiredCapacity ?? Number.NaN;
  return {
    scenario,
    target: { instanceId: scenario.victim.instanceId, asgName: scenario.asgName, targetGroupArn: scenario.targetGroupArn, desiredCapacityBefore, tagKeysBefore },
  };
}

/** The isolation group Custodian is given: no ingress, its default allow-all egress revoked (what Firebreak makes). */
async function isolationGroupFor(world: World, scenario: WebAppScenario): Promise<string> {
  const { GroupId } = await world.ec2.send(
    new CreateSecurityGroupCommand({ VpcId: scenario.vpcId, GroupName: `incident-isolation-${scenario.suffix}`, Description: 'Incident response: no traffic in or out' }),
  );
  await world.ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  return GroupId!;
}

export const section: BenchSection = {
  title: `Peer in the same run: Cloud Custodian against Firebreak, one compromised Auto Scaling group member each (${rounds} rounds, a fresh world for each tool every round)`,
  async run({ endpoint, region, world, outputs, print }) {
    let c7nVersion: string;
    try {
      c7nVersion = await ensureCustodian();
    } catch (error) {
      // No peer without its package (PyPI unreachable, no python3-venv): say so, and let the other sections run.
      print(`  Cloud Custodian could not be installed, no peer figures: ${(error as Error).message.trim().split('\n').slice(-2).join(' | ')}`);
      return;
    }
    const table: string = (await outputs()).firebreak.ledger_table_name;
    const accountId = await world.accountId();
    const fixture = loadFixture('ec2-c-cactivity-b');

    const firebreak = { startToIsolated: [] as number[], toIsolated: [] as number[], toContained: [] as number[], toPeerWork: [] as number[], toDrained: [] as number[], cells: [] as string[][] };
    const custodian = { startToIsolated: [] as number[], toIsolated: [] as number[], toExit: [] as number[], ownRun: [] as number[], startup: [] as number[], cells: [] as string[][], apiCalls: '' };
    const failures: string[] = [];

    const runFirebreak = async (w: OneToolsWorld) => {
      const event = retargetInstanceFinding(fixture, { accountId, region, instanceId: w.target.instanceId, vpcId: w.scenario.vpcId });
      const putAt = Date.now();
      await world.putFinding(event);
      await drain({ endpoint, region, functionFilter: 'firebreak-ec2-instance', log: () => undefined });
      const drainedAt = Date.now();
      const record = await world.ledger(table).get(incidentIdFor(accountId, event.detail.id, w.target.instanceId));
      if (!record?.isolatedAt) throw new Error(`Firebreak did not isolate ${w.target.instanceId} (${record?.status})`);
      // A skipped step did nothing (no role, no Elastic IP, no classic ELB here): a follow-up
      // delivery records it again, so its finish is no time at which anything was done.
      const steps = Object.entries(record.steps).filter(([, s]) => s.status !== 'skipped');
      const finished = (pick: (name: string, stage: string) => boolean) =>
        Math.max(...steps.filter(([name, s]) => pick(name, s.stage) && s.finishedAt).map(([, s]) => Date.parse(s.finishedAt!)));
      const firstCall = Math.min(...steps.filter(([, s]) => s.startedAt).map(([, s]) => Date.parse(s.startedAt!)));
      firebreak.startToIsolated.push(Date.parse(record.isolatedAt) - firstCall);
      firebreak.toIsolated.push(Date.parse(record.isolatedAt) - putAt);
      firebreak.toContained.push(finished((_, stage) => stage === 'contain') - putAt);
      // The work the peer's policy does (isolation, snapshots, tags), for a like-for-like figure.
      firebreak.toPeerWork.push(finished((name) => ['isolateNetworkInterfaces', 'snapshotVolumes', 'tagInstance'].includes(name)) - putAt);
      firebreak.toDrained.push(drainedAt - putAt);
      firebreak.cells.push(leftBehindCells(await readLeftBehind(world, w.target)));
    };

    const runPeer = async (w: OneToolsWorld, isolationGroupId: string, round: number) => {
      const event = retargetInstanceFinding(fixture, { accountId, region, instanceId: w.target.instanceId, vpcId: w.scenario.vpcId });
      const policy = custodianIsolationPolicy({ instanceId: w.target.instanceId, isolationGroupId, findingId: event.detail.id, findingType: event.detail.type });
      const run: CustodianRun = await runCustodian({ endpoint, region, policy, outputDir: join(OUTPUT_DIR, `round-${round + 1}`) });
      if (run.exitCode !== 0) failures.push(`round ${round + 1}: custodian exited ${run.exitCode}: ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
      const isolated = run.log.actions.find((a) => a.action === ISOLATE_ACTION);
      if (isolated) custodian.toIsolated.push(isolated.at - run.spawnedAt);
      if (isolated && run.log.resources) custodian.startToIsolated.push(isolated.at - run.log.resources.at);
      custodian.toExit.push(run.wallMs);
      if (run.metadata) {
        custodian.ownRun.push(Math.round(run.metadata.execution.duration * 1000));
        custodian.startup.push(Math.round(run.metadata.execution.start * 1000) - run.spawnedAt);
        custodian.apiCalls = Object.entries(run.metadata['api-stats']).map(([call, n]) => `${call} ×${n}`).join(', ');
      }
      custodian.cells.push(leftBehindCells(await readLeftBehind(world, w.target)));
    };

    for (let round = 0; round < rounds; round++) {
      const forFirebreak = await buildWorld(world);
      const forCustodian = await buildWorld(world);
      const isolationGroupId = await isolationGroupFor(world, forCustodian.scenario);
      // Alternate who goes first, so neither always meets a warmer emulator.
      if (round % 2 === 0) {
        await runFirebreak(forFirebreak);
        await runPeer(forCustodian, isolationGroupId, round);
      } else {
        await runPeer(forCustodian, isolationGroupId, round);
        await runFirebreak(forFirebreak);
      }
    }

    const header = ['', 'Firebreak', `Cloud Custodian (c7n ${c7nVersion})`, 'Custodian ÷ Firebreak'];
    print('  Times (median of rounds, range in brackets):');
    for (const line of formatTable([
      header,
      ['trigger → isolated', spread(firebreak.toIsolated), spread(custodian.toIsolated), ratio(custodian.toIsolated, firebreak.toIsolated)],
      ['instance described → isolated', spread(firebreak.startToIsolated), spread(custodian.startToIsolated), ratio(custodian.startToIsolated, firebreak.startToIsolated)],
      ['trigger → done', spread(firebreak.toContained), spread(custodian.toExit), ratio(custodian.toExit, firebreak.toContained)],
      ['trigger → isolated, snapshots and tags done', spread(firebreak.toPeerWork), spread(custodian.toExit), ratio(custodian.toExit, firebreak.toPeerWork)],
    ])) print(`    ${line}`);
    print('    trigger:   Firebreak — PutEvents of the GuardDuty finding (then EventBridge → SQS → local drain, a cold worker);');
    print('               Custodian — `custodian run` spawned (Python start, c7n imports, policy validation included).');
    print('    described: Firebreak — its first step began; Custodian — its policy matched the instance (the `count:1` log line).');
    print('    done:      Firebreak — every containment step that acted finished (ledger); Custodian — the process exited.');
    print('    Firebreak creates the VPC\'s isolation and untracking groups (a new VPC every round) and moves each ENI twice');
    print('    (untracking, then isolation: tracked connections cut); Custodian was given its group and moves each ENI once.');
    print(`  Firebreak, everything (evidence and investigation stages too) → drain returned: ${spread(firebreak.toDrained)}`);
    print(`  Custodian, its own execution (metadata.json duration: describe + actions): ${spread(custodian.ownRun)}; spawn → policy start: ${spread(custodian.startup)}`);
    if (custodian.apiCalls) print(`  Custodian's API calls per run: ${custodian.apiCalls}`);
    print('  What each leaves behind (read from the emulator afterwards):');
    for (const line of formatTable([
      ['', 'Firebreak', 'Cloud Custodian'],
      ...LEFT_BEHIND_QUESTIONS.map((question, i) => [question, summariseRounds(firebreak.cells.map((c) => c[i]!)), summariseRounds(custodian.cells.map((c) => c[i]!))]),
    ])) print(`    ${line}`);
    for (const failure of failures) print(`  Custodian failed: ${failure}`);
    print(`  Custodian's policies and logs: ${OUTPUT_DIR}/round-*/`);
  },
};
