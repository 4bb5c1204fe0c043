/**
 * EBS snapshots as evidence, for every playbook whose resource has EBS volumes (EC2
 * instances, container hosts): one snapshot of each volume per incident, found again by
 * the incident's tag so a redelivery never snapshots twice; the incident's snapshots read
 * back and checked before anything is made from them; and their copies for a forensic
 * account, found again the same way.
 */
import {
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  DescribeSnapshotsCommand,
  paginateDescribeSnapshots,
  type EC2Client,
  type Filter,
  type Snapshot,
} from '@aws-sdk/client-ec2';
import { once } from '../aws/retry.ts';
import { hasErrorCode, StepFailedError } from '../errors/index.ts';
import type { Incident } from '../findings/index.ts';
import { INCIDENT_ID_TAG, incidentTags, SOURCE_SNAPSHOT_TAG } from './tagging.ts';

/** The IAM actions {@link snapshotInstanceVolumes} calls. */
export const SNAPSHOT_IAM_ACTIONS = ['ec2:DescribeSnapshots', 'ec2:CreateSnapshots', 'ec2:CreateSnapshot', 'ec2:CreateTags'] as const;

/** One evidence snapshot of one volume. */
export interface IncidentSnapshot {
  volumeId: string;
  deviceName: string;
  snapshotId: string;
}

/** A volume to snapshot, with the device name it is attached as. */
export interface VolumeToSnapshot {
  volumeId: string;
  deviceName: string;
}

/** What {@link snapshotInstanceVolumes} took or found. */
export interface InstanceSnapshots {
  /** One entry per volume, in the order given; `snapshotId` is absent only when EC2 returned no snapshot of the volume. */
  snapshots: Array<VolumeToSnapshot & { snapshotId?: string }>;
  /** How many of the volumes had a snapshot for this incident already (an earlier delivery took it). */
  existed: number;
}

/** Every snapshot this account owns that matches the filters (all pages). */
async function ownedSnapshots(ec2: EC2Client, filters: Filter[]): Promise<Snapshot[]> {
  const found: Snapshot[] = [];
  for await (const page of paginateDescribeSnapshots({ client: ec2 }, { OwnerIds: ['self'], Filters: filters })) found.push(...(page.Snapshots ?? []));
  return found;
}

const sourceOf = (s: Snapshot) => s.Tags?.find((t) => t.Key === SOURCE_SNAPSHOT_TAG)?.Value;

/**
 * The incident's usable evidence snapshots, by volume id. A snapshot that failed (`error`)
 * is no evidence, and the copies made for a forensic account carry the incident's tag too:
 * neither counts as a volume's snapshot.
 */
export async function findIncidentSnapshots(ec2: EC2Client, incidentId: string): Promise<Map<string, string>> {
  const snapshots = await ownedSnapshots(ec2, [{ Name: `tag:${INCIDENT_ID_TAG}`, Values: [incidentId] }]);
  const usable = snapshots.filter((s) => s.State !== 'error' && !sourceOf(s) && s.VolumeId && s.SnapshotId);
  return new Map(usable.map((s) => [s.VolumeId!, s.SnapshotId!]));
}

/**
 * Snapshots every volume of an instance for an incident, tagged with the incident (and the
 * instance id). What an earlier delivery took is found by the incident's tag and not taken
 * again; when none exists, all volumes are snapshotted in one crash-consistent call,
 * otherwise only the missing ones, one by one.
 *
 * @example
 * ```ts
 * const { snapshots, existed } = await snapshotInstanceVolumes(clients.ec2, incident, 'i-0abc…', [{ volumeId: 'vol-1', deviceName: '/dev/xvda' }]);
 * snapshots // [{ volumeId: 'vol-1', deviceName: '/dev/xvda', snapshotId: 'snap-…' }]
 * ```
 */
export async function snapshotInstanceVolumes(
  ec2: EC2Client,
  incident: Incident,
  instanceId: string,
  volumes: readonly VolumeToSnapshot[],
): Promise<InstanceSnapshots> {
  const have = await findIncidentSnapshots(ec2, incident.incidentId);
  const missing = volumes.filter((v) => !have.has(v.volumeId));
  const tagSpec = [{ ResourceType: 'snapshot' as const, Tags: incidentTags(incident, { 'firebreak:instance-id': instanceId }) }];
  const description = `Firebreak ${incident.incidentId}: ${instanceId}`;
  if (missing.length > 0 && missing.length === volumes.length) {
    // No idempotency token: never re-sent by the SDK after a lost answer (the next attempt finds it by tag).
    const out = await ec2.send(
      once(
        new CreateSnapshotsCommand({
          InstanceSpecification: { InstanceId: instanceId, ExcludeBootVolume: false },
          Description: description,
          TagSpecifications: tagSpec,
          CopyTagsFromSource: 'volume',
        }),
        'CreateSnapshots',
      ),
    );
    for (const s of out.Snapshots ?? []) if (s.VolumeId && s.SnapshotId) have.set(s.VolumeId, s.SnapshotId);
  } else {
    await Promise.all(
      missing.map(async (v) => {
        const s = await ec2.send(once(new CreateSnapshotCommand({ VolumeId: v.volumeId, Description: description, TagSpecifications: tagSpec }), 'CreateSnapshot'));
        if (s.SnapshotId) have.set(v.volumeId, s.SnapshotId);
      }),
    );
  }
  return {
    snapshots: volumes.map((v) => ({ volumeId: v.volumeId, deviceName: v.deviceName, ...(have.has(v.volumeId) ? { snapshotId: have.get(v.volumeId)! } : {}) })),
    existed: volumes.length - missing.length,
  };
}

/** A snapshot's state, `missing` when EC2 did not return it. */
export const snapshotState = (s: Snapshot | undefined): string => s?.State ?? 'missing';

/**
 * Reads the incident's snapshots by id before anything is made from them. A deleted
 * snapshot (`SnapshotNotFound`) or one in state `error` (`SnapshotFailed`) fails `step` for
 * good: there is nothing to make anything from, and a retry cannot help.
 */
export async function describeIncidentSnapshots(ec2: EC2Client, step: string, snapshots: readonly IncidentSnapshot[]): Promise<Map<string, Snapshot>> {
  const ids = snapshots.map((s) => s.snapshotId);
  let found: Snapshot[];
  try {
    found = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: ids }))).Snapshots ?? [];
  } catch (error) {
    if (!hasErrorCode(error, 'InvalidSnapshot.NotFound')) throw error;
    throw new StepFailedError(step, 'SnapshotNotFound', `an evidence snapshot of this incident no longer exists (${ids.join(', ')}): ${(error as Error).message}`, { cause: error });
  }
  const byId = new Map(found.map((s) => [s.SnapshotId!, s]));
  const failed = ids.filter((id) => byId.get(id)?.State === 'error');
  if (failed.length) {
    throw new StepFailedError(step, 'SnapshotFailed', `evidence snapshot(s) ${failed.join(', ')} are in state error: take new snapshots by hand`);
  }
  return byId;
}

/** `snap-1 (42%), snap-2 (pending)`: each snapshot with its progress, or its state when EC2 gives none. */
export function snapshotProgress(snapshots: readonly IncidentSnapshot[], states: ReadonlyMap<string, Snapshot>): string {
  return snapshots.map((s) => `${s.snapshotId} (${states.get(s.snapshotId)?.Progress || snapshotState(states.get(s.snapshotId))})`).join(', ');
}

/**
 * The copies of the incident's snapshots this account made (tagged with the incident and
 * their source), by source snapshot id: the oldest usable one of each, so two racing
 * deliveries settle on the same copy; a copy in state `error` does not count.
 */
export async function findSnapshotCopies(ec2: EC2Client, incidentId: string, sourceSnapshotIds: readonly string[]): Promise<Map<string, Snapshot>> {
  const copies = await ownedSnapshots(ec2, [
    { Name: `tag:${INCIDENT_ID_TAG}`, Values: [incidentId] },
    { Name: `tag:${SOURCE_SNAPSHOT_TAG}`, Values: [...sourceSnapshotIds] },
  ]);
  const copyOf = new Map<string, Snapshot>();
  for (const s of copies.sort((a, b) => (a.StartTime?.getTime() ?? 0) - (b.StartTime?.getTime() ?? 0))) {
    const source = sourceOf(s);
    if (source && !copyOf.has(source) && s.State !== 'error') copyOf.set(source, s);
  }
  return copyOf;
}
