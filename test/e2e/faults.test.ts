// Faults injected between the functions and AWS (the emulator): every service Firebreak calls
// throttled in its own words, 500s and 503s, slow answers, and connections dropped before the
// request reached AWS and after AWS acted on it (the answer lost). The drain itself talks to the
// emulator directly: only the functions' calls go through the fault proxy.
import { DescribeSecurityGroupsCommand, DescribeVolumesCommand } from '@aws-sdk/client-ec2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME } from '../../shared/actions/vpc-isolation.ts';
import { drain } from '../../scripts/lib/drain.ts';
import { startFaultProxy, type FaultProxy, type FaultRule } from '../../scripts/lib/fault-proxy.ts';
import { asgState, buildScenario, endpoint, eniGroups, findingFor, incidentRecord, pipeline, queueCounts, snapshotsOf, targetIds, world } from './support.ts';

const main = pipeline('firebreak');

/** Every service the EC2 playbook's function calls, by SigV4 signing name. */
const SERVICES = ['ec2', 'autoscaling', 'elasticloadbalancing', 'iam', 'sts', 'ssm', 'dynamodb', 'sqs', 's3', 'sns', 'events', 'guardduty', 'cloudtrail', 'kms'];

/** The creates that have no idempotency token or rely on a name: their first answers are lost. */
const CREATES = ['CreateSecurityGroup', 'CreateSnapshots', 'CreateSnapshot', 'CopySnapshot', 'CreateVolume', 'RunInstances', 'CreateTags'];

const RULES: FaultRule[] = [
  { kind: 'drop-after', rate: 1, service: 'ec2', action: CREATES, limit: 4 },
  { kind: 'throttle', rate: 0.2, service: SERVICES },
  { kind: 'http500', rate: 0.03 },
  { kind: 'http503', rate: 0.03 },
  { kind: 'delay', rate: 0.05, delayMs: 300 },
  { kind: 'drop-before', rate: 0.03 },
  { kind: 'drop-after', rate: 0.03 },
];

let proxy: FaultProxy;
beforeAll(async () => {
  proxy = await startFaultProxy({ target: endpoint, rules: RULES, seed: 16 });
});
afterAll(async () => {
  await proxy?.close();
});

/** The Firebreak groups of a VPC, by name. */
async function firebreakGroups(vpcId: string) {
  const out = await world.ec2.send(
    new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'group-name', Values: [ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME] }] }),
  );
  return out.SecurityGroups ?? [];
}

/** The forensic volumes made for an incident. */
async function forensicVolumes(incidentId: string) {
  const out = await world.ec2.send(new DescribeVolumesCommand({ Filters: [{ Name: 'tag:firebreak:incident-id', Values: [incidentId] }] }));
  return out.Volumes ?? [];
}

describe('Faults injected: throttling, 5xx, slow answers and dropped connections between the functions and AWS', () => {
  it('contains every finding, patiently, and creates nothing twice', async () => {
    // Prepare: three Auto Scaling groups behind target groups, each in its own VPC, one member of
    // each compromised. (Two members of one group are not contained at once here: moto re-registers
    // every member of a group in its target groups whenever the group launches a replacement, which
    // AWS does not do — the first detach would put the second victim back behind the load balancer.)
    const scenarios = await Promise.all([buildScenario(), buildScenario(), buildScenario()]);
    const findings = await Promise.all(scenarios.map(async (scenario) => ({ scenario, instanceId: scenario.victim.instanceId, event: await findingFor(scenario) })));
    const dlqBefore = (await queueCounts(main.dlqName)).visible;

    // Act
    for (const f of findings) await world.putFinding(f.event);
    await drain({ endpoint, functionEndpoint: proxy.url, region: 'us-east-1', functionFilter: main.functionName, timeoutSeconds: 75, log: () => undefined });

    // Assess: faults of every kind were injected, into the services on the isolation path above all
    const stats = proxy.stats();
    for (const kind of ['throttle', 'drop-after'] as const) expect(Object.values(stats.byService).some((s) => (s.faults[kind] ?? 0) > 0), kind).toBe(true);
    for (const service of ['ec2', 'dynamodb']) expect(stats.byService[service]?.faults.throttle ?? 0, service).toBeGreaterThan(0);
    expect(stats.byService.ec2?.actions.CreateSecurityGroup?.faults['drop-after'] ?? 0).toBeGreaterThan(0);
    expect(stats.faults).toBeGreaterThan(10);

    // Assess: every finding contained, nothing in the DLQ
    for (const f of findings) {
      const record = await incidentRecord(main, f.event);
      expect(record?.status, `${f.instanceId}: ${record?.statusReason}`).toBe('contained');
      expect(record?.isolatedAt).toBeTruthy();
    }
    expect((await queueCounts(main.dlqName)).visible).toBe(dlqBefore);

    // Assess: one isolation group and one untracking group per VPC, every interface in it
    for (const scenario of scenarios) {
      const groups = await firebreakGroups(scenario.vpcId);
      expect(groups.map((g) => g.GroupName).sort(), scenario.vpcId).toEqual([ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME]);
      const iso = groups.find((g) => g.GroupName === ISOLATION_GROUP_NAME)!;
      expect(iso.IpPermissions).toEqual([]);
      expect(iso.IpPermissionsEgress).toEqual([]);
      for (const f of findings.filter((x) => x.scenario === scenario)) {
        expect(Object.values(await eniGroups(f.instanceId)).every((ids) => ids.length === 1 && ids[0] === iso.GroupId)).toBe(true);
      }
    }

    // Assess: out of their Auto Scaling groups (which kept their capacity) and target groups
    for (const f of findings) {
      const asg = await asgState(f.scenario.asgName);
      expect(asg.members).not.toContain(f.instanceId);
      expect(asg.desired).toBe(2);
      expect(await targetIds(f.scenario.targetGroupArn)).not.toContain(f.instanceId);
    }

    // Assess: one snapshot per volume, one forensic volume per snapshot — none twice
    for (const f of findings) {
      const record = (await incidentRecord(main, f.event))!;
      const snapshots = await snapshotsOf(record.incidentId);
      const volumes = snapshots.map((s) => s.VolumeId);
      expect(new Set(volumes).size, `${f.instanceId}: ${volumes.join(', ')}`).toBe(volumes.length);
      expect(volumes.sort()).toEqual([...f.scenario.victim.volumeIds].sort());
      const forensic = (await forensicVolumes(record.incidentId)).filter((v) => v.Tags?.some((t) => t.Key === 'firebreak:source-snapshot'));
      const sources = forensic.map((v) => v.Tags!.find((t) => t.Key === 'firebreak:source-snapshot')!.Value);
      expect(new Set(sources).size, `${f.instanceId}: forensic volumes of ${sources.join(', ')}`).toBe(sources.length);
    }
  });
});
