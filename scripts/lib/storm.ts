// A storm of findings on the emulator, shared by `make bench` (200 instances in 20 VPCs) and
// the end-to-end tests (a small one): instances spread over VPCs, one GuardDuty finding per
// instance put on the bus at once, and what the pipeline left behind, read from AWS and the
// ledger (isolation, isolation groups per VPC, snapshots, deliveries).
import { CreateSecurityGroupCommand, CreateSubnetCommand, CreateVpcCommand, DescribeNetworkInterfacesCommand, DescribeSecurityGroupsCommand, DescribeSnapshotsCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ISOLATION_GROUP_NAME } from '../../shared/actions/vpc-isolation.ts';
import { INCIDENT_ID_TAG } from '../../shared/actions/tagging.ts';
import { incidentIdFor } from '../../shared/findings/index.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import { loadFixture, retargetInstanceFinding, type FindingEvent } from './findings.ts';
import type { World } from './world.ts';

const IMAGE_ID = 'ami-12c6146b';

export interface StormInstance {
  instanceId: string;
  vpcId: string;
  subnetId: string;
  eniIds: string[];
  securityGroupId: string;
}

/** `instances` instances spread evenly over `vpcs` new VPCs (one subnet and one web group each). */
export async function buildStormWorld(world: World, opts: { vpcs: number; instances: number }): Promise<StormInstance[]> {
  const perVpc = Math.ceil(opts.instances / opts.vpcs);
  const batches = await Promise.all(
    Array.from({ length: opts.vpcs }, async (_, v) => {
      const count = Math.min(perVpc, opts.instances - v * perVpc);
      if (count <= 0) return [];
      const { Vpc } = await world.ec2.send(new CreateVpcCommand({ CidrBlock: '10.60.0.0/16', TagSpecifications: [{ ResourceType: 'vpc', Tags: [{ Key: 'Name', Value: `storm-${v}` }] }] }));
      const vpcId = Vpc!.VpcId!;
      const [{ Subnet }, { GroupId }] = await Promise.all([
        world.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.60.1.0/24', AvailabilityZone: `${world.region}a` })),
        world.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `storm-web-${v}`, Description: 'a web tier under attack' })),
      ]);
      const { Instances } = await world.ec2.send(
        new RunInstancesCommand({ ImageId: IMAGE_ID, InstanceType: 't3.micro', MinCount: count, MaxCount: count, SubnetId: Subnet!.SubnetId!, SecurityGroupIds: [GroupId!] }),
      );
      return Instances!.map((i) => ({
        instanceId: i.InstanceId!,
        vpcId,
        subnetId: Subnet!.SubnetId!,
        eniIds: (i.NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId!),
        securityGroupId: GroupId!,
      }));
    }),
  );
  return batches.flat();
}

/** One GuardDuty finding per instance (a fresh finding id each). */
export async function stormFindings(world: World, instances: StormInstance[], fixture = 'ec2-c-cactivity-b'): Promise<FindingEvent[]> {
  const accountId = await world.accountId();
  const base = loadFixture(fixture);
  return instances.map((i) =>
    retargetInstanceFinding(base, { accountId, region: world.region, instanceId: i.instanceId, vpcId: i.vpcId, subnetId: i.subnetId, eniIds: i.eniIds, securityGroupIds: [i.securityGroupId] }),
  );
}

/** Puts every finding on the bus at once (PutEvents takes ten entries a call; the calls go in parallel). Returns when the last was accepted. */
export async function putAllAtOnce(world: World, events: FindingEvent[], busName = 'default'): Promise<Date> {
  const chunks = Array.from({ length: Math.ceil(events.length / 10) }, (_, n) => events.slice(n * 10, n * 10 + 10));
  await Promise.all(
    chunks.map(async (chunk) => {
      const out = await world.events.send(
        new PutEventsCommand({
          Entries: chunk.map((e) => ({ Source: e.source, DetailType: e['detail-type'], Detail: JSON.stringify(e.detail), EventBusName: busName, Time: new Date(e.time), Resources: e.resources })),
        }),
      );
      if (out.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(out.Entries)}`);
    }),
  );
  return new Date();
}

/** The incident id of a finding about an instance. */
export const stormIncidentId = (e: FindingEvent) => incidentIdFor(e.detail.accountId, e.detail.id, e.detail.resource.instanceDetails?.instanceId ?? e.detail.resource.id);

export interface StormOutcome {
  findings: number;
  /** Findings whose incident the ledger has. */
  recorded: number;
  /** Incidents contained (the others, by status). */
  contained: number;
  statuses: Record<string, number>;
  /** Instances whose every network interface carries only their VPC's isolation group. */
  isolated: number;
  /** Isolation groups per VPC (each must be 1). */
  isolationGroupsPerVpc: Record<string, number>;
  /** Snapshots beyond one per volume of an incident (must be 0). */
  duplicateSnapshots: number;
  /** Deliveries the ledger counted, over every incident. */
  deliveries: number;
  /** Milliseconds from `start` to each incident's isolation, sorted (incidents not isolated are absent). */
  isolationMs: number[];
}

/** What the storm left behind, from AWS and the ledger. */
export async function stormOutcome(world: World, ledgerTable: string, instances: StormInstance[], events: FindingEvent[], start: Date): Promise<StormOutcome> {
  const ledger = world.ledger(ledgerTable);
  const records = await mapLimited(events, 16, (e) => ledger.get(stormIncidentId(e)));
  const present = records.filter((r): r is IncidentRecord => r !== undefined);
  const statuses: Record<string, number> = {};
  for (const r of present) statuses[r.status] = (statuses[r.status] ?? 0) + 1;

  const vpcIds = [...new Set(instances.map((i) => i.vpcId))];
  const groups = await mapLimited(vpcIds, 8, async (vpcId) => {
    const out = await world.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'group-name', Values: [ISOLATION_GROUP_NAME] }] }));
    return [vpcId, (out.SecurityGroups ?? []).map((g) => g.GroupId!)] as const;
  });
  const isolationGroupOf = new Map(groups.map(([vpcId, ids]) => [vpcId, ids]));

  const enis = await mapLimited(vpcIds, 8, async (vpcId) => {
    const out = await world.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
    return out.NetworkInterfaces ?? [];
  });
  const groupsOfInstance = new Map<string, string[][]>();
  for (const eni of enis.flat()) {
    const id = eni.Attachment?.InstanceId;
    if (!id) continue;
    groupsOfInstance.set(id, [...(groupsOfInstance.get(id) ?? []), (eni.Groups ?? []).map((g) => g.GroupId!)]);
  }
  const isolated = instances.filter((i) => {
    const iso = isolationGroupOf.get(i.vpcId) ?? [];
    const sets = groupsOfInstance.get(i.instanceId) ?? [];
    return sets.length > 0 && sets.every((g) => g.length === 1 && iso.includes(g[0]!));
  }).length;

  const snapshots = await mapLimited(present, 16, async (r) => {
    const out = await world.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: `tag:${INCIDENT_ID_TAG}`, Values: [r.incidentId] }] }));
    // The incident's snapshots of its volumes, not the copies made for a forensic account.
    const own = (out.Snapshots ?? []).filter((s) => !s.Tags?.some((t) => t.Key === 'firebreak:source-snapshot'));
    return own.length - new Set(own.map((s) => s.VolumeId)).size;
  });

  return {
    findings: events.length,
    recorded: present.length,
    contained: statuses.contained ?? 0,
    statuses,
    isolated,
    isolationGroupsPerVpc: Object.fromEntries(groups.map(([vpcId, ids]) => [vpcId, ids.length])),
    duplicateSnapshots: snapshots.reduce((a, b) => a + b, 0),
    deliveries: present.reduce((a, r) => a + (r.deliveries ?? 0), 0),
    isolationMs: present
      .flatMap((r) => (r.isolatedAt ? [Date.parse(r.isolatedAt) - start.getTime()] : []))
      .sort((a, b) => a - b),
  };
}

/** Maps with at most `limit` calls in flight (the emulator is one process on a small machine). */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const n = next++;
        out[n] = await fn(items[n]!);
      }
    }),
  );
  return out;
}
