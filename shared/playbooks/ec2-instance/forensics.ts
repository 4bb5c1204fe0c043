import {
  AttachVolumeCommand,
  CopySnapshotCommand,
  CreateVolumeCommand,
  ModifySnapshotAttributeCommand,
  paginateDescribeVolumes,
  RunInstancesCommand,
  type _InstanceType,
  type EC2Client,
  type Instance,
  type Snapshot,
  type Volume,
} from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { clientToken } from '../../actions/client-token.ts';
import { once } from '../../aws/retry.ts';
import { describeInstanceById, instancesWhere } from '../../actions/instances.ts';
import { describeIncidentSnapshots, findSnapshotCopies, snapshotProgress, snapshotState, type IncidentSnapshot } from '../../actions/snapshots.ts';
import { INCIDENT_ID_TAG, incidentTags, SOURCE_SNAPSHOT_TAG } from '../../actions/tagging.ts';
import type { StepContext, StepOutputs } from '../../engine/index.ts';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import type { Incident } from '../../findings/index.ts';
import { snapshotVolumes } from './evidence.ts';
import type { Ec2Options } from './options.ts';
import { ec2Step, type Ec2 } from './types.ts';

/** What investigators must do with a forensic volume; also written on the volume as a tag. */
export const FORENSIC_MOUNT_RULE = 'read-only: mount -o ro,noload; never write';

/** Device names AWS recommends for EBS data volumes on Linux instances. */
export const FORENSIC_DEVICE_NAMES = ['f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p'].map((l) => `/dev/sd${l}`);

/**
 * The KMS actions EBS needs from the caller when it reads or writes a volume or
 * snapshot encrypted with a customer-managed key (Amazon EBS User Guide,
 * "Requirements for Amazon EBS encryption"). `ReEncrypt` there is both halves.
 */
export const EBS_KMS_IAM_ACTIONS = [
  'kms:CreateGrant',
  'kms:Decrypt',
  'kms:DescribeKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
] as const;

/** The snapshots snapshotVolumes took for this incident (none when it did not finish `done`). */
function incidentSnapshots(ctx: StepOutputs<Ec2>): IncidentSnapshot[] {
  return (ctx.outputOf(snapshotVolumes)?.snapshots ?? []).flatMap((s) => (s.snapshotId ? [{ volumeId: s.volumeId, deviceName: s.deviceName, snapshotId: s.snapshotId }] : []));
}

// ---------------------------------------------------------------------------
// createForensicVolumes
// ---------------------------------------------------------------------------

/** One forensic volume as createForensicVolumes records it. */
const ForensicVolumeSchema = z.object({
  snapshotId: z.string(),
  sourceVolumeId: z.string(),
  sourceDevice: z.string(),
  volumeId: z.string(),
  /** The device name on the forensic instance, once attached. */
  device: z.string().optional(),
  /** `creating`, `available`, `attaching`, `attached`, or `attached-elsewhere` (a responder moved it). */
  state: z.string(),
});
export type ForensicVolume = z.infer<typeof ForensicVolumeSchema>;

/** What createForensicVolumes records (pending or done): the forensic instance and one volume per evidence snapshot. */
export const ForensicVolumesDataSchema = z.object({
  forensicInstanceId: z.string(),
  /** Launched for this incident (forensics.launch), not configured (forensics.instance_id). */
  launched: z.boolean(),
  availabilityZone: z.string(),
  volumes: z.array(ForensicVolumeSchema),
});

interface ForensicHost {
  instance: Instance;
  launched: boolean;
  launchedNow: boolean;
}

const GONE = ['terminated', 'shutting-down'];
const ATTACHABLE = ['running', 'stopped'];
const STEP_VOLUMES = 'createForensicVolumes';

type Ctx = StepContext<Ec2, unknown>;
type LaunchOptions = NonNullable<NonNullable<Ec2Options['forensics']>['launch']>;

async function configuredForensicInstance(ctx: Ctx, instanceId: string): Promise<ForensicHost> {
  const where = `${ctx.incident.accountId}/${ctx.incident.region}`;
  if (instanceId === ctx.resource.instanceId) {
    throw new StepFailedError(STEP_VOLUMES, 'ForensicInstanceIsTheSuspect', `forensics.instance_id ${instanceId} is the instance under investigation: set it to a separate forensic instance`);
  }
  const instance = await describeInstanceById(ctx.clients.ec2, instanceId);
  const state = instance?.State?.Name;
  if (!instance || GONE.includes(state ?? '')) {
    throw new StepFailedError(
      STEP_VOLUMES,
      'ForensicInstanceNotFound',
      `the forensic instance ${instanceId} ${instance ? `is ${state}` : 'does not exist'} in ${where}: fix forensics.instance_id (an instance in the region Firebreak acts in) or use forensics.launch`,
    );
  }
  return { instance, launched: false, launchedNow: false };
}

async function launchedForensicInstance(ctx: Ctx, launch: LaunchOptions): Promise<ForensicHost> {
  const { clients, incident } = ctx;
  const filters = [
    { Name: `tag:${INCIDENT_ID_TAG}`, Values: [incident.incidentId] },
    { Name: 'tag:firebreak:purpose', Values: ['forensic'] },
    { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
  ];
  const existing = (await instancesWhere(clients.ec2, filters)).sort((a, b) => (a.LaunchTime?.getTime() ?? 0) - (b.LaunchTime?.getTime() ?? 0))[0];
  if (existing) return { instance: existing, launched: true, launchedNow: false };

  const tags = incidentTags(incident, { Name: `firebreak-forensic-${incident.incidentId}`, 'firebreak:purpose': 'forensic' });
  const run = await clients.ec2.send(
    new RunInstancesCommand({
      ImageId: launch.ami_id,
      InstanceType: launch.instance_type as _InstanceType,
      SubnetId: launch.subnet_id,
      ...(launch.security_group_ids.length ? { SecurityGroupIds: launch.security_group_ids } : {}),
      MinCount: 1,
      MaxCount: 1,
      // The tag lookup above cannot see an instance a concurrent delivery is launching
      // right now; the token makes EC2 return that instance instead of a second one.
      ClientToken: clientToken('forensic', incident.incidentId),
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
      TagSpecifications: [{ ResourceType: 'instance', Tags: tags }],
    }),
  );
  const instance = run.Instances?.[0];
  if (!instance?.InstanceId) throw new StepFailedError(STEP_VOLUMES, 'ForensicInstanceNotLaunched', 'RunInstances returned no instance', { retryable: true });
  if (GONE.includes(instance.State?.Name ?? '')) {
    // The token is bound to that instance for good: a new launch needs a responder.
    throw new StepFailedError(
      STEP_VOLUMES,
      'ForensicInstanceTerminated',
      `the forensic instance ${instance.InstanceId} launched for this incident is ${instance.State?.Name}: launch one by hand and set forensics.instance_id`,
    );
  }
  return { instance, launched: true, launchedNow: true };
}

const deviceLetter = (name: string | undefined) => /^(?:\/dev\/)?(?:sd|xvd|hd)([a-z])/.exec(name ?? '')?.[1];

/** Attach a volume to the forensic instance; a concurrent delivery that got there first is not an error. */
async function attach(ec2: EC2Client, volumeId: string, instanceId: string, device: string): Promise<'attaching' | 'raced'> {
  try {
    await ec2.send(new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: instanceId, Device: device }));
    return 'attaching';
  } catch (error) {
    if (hasErrorCode(error, 'VolumeInUse', 'IncorrectState') || (hasErrorCode(error, 'InvalidParameterValue') && /in use/i.test((error as Error).message))) return 'raced';
    throw error;
  }
}

export const createForensicVolumes = ec2Step({
  name: STEP_VOLUMES,
  stage: 'investigate',
  description: "Create a volume from every evidence snapshot in the forensic instance's Availability Zone and attach it there, unmounted",
  iamActions: [
    'ec2:DescribeSnapshots',
    'ec2:DescribeInstances',
    'ec2:RunInstances',
    'ec2:DescribeVolumes',
    'ec2:CreateVolume',
    'ec2:CreateTags',
    'ec2:AttachVolume',
    ...EBS_KMS_IAM_ACTIONS,
  ],
  // Only with a forensic instance (an existing one, or launched per incident: RunInstances then).
  enabledBy: ['forensics'],
  iamWhen: { 'ec2:RunInstances': ['forensics.launch'] },
  requires: [snapshotVolumes],
  data: ForensicVolumesDataSchema,
  async run(ctx) {
    const { clients, options, incident } = ctx;
    const forensics = options.forensics;
    if (!forensics?.instance_id && !forensics?.launch) {
      return { status: 'skipped', summary: 'no forensic instance is configured (forensics.instance_id or forensics.launch): the snapshots are the evidence' };
    }
    const snapshots = incidentSnapshots(ctx);
    if (snapshots.length === 0) return { status: 'skipped', summary: 'snapshotVolumes recorded no snapshot to create forensic volumes from' };

    const states = await describeIncidentSnapshots(clients.ec2, STEP_VOLUMES, snapshots);
    const incomplete = snapshots.filter((s) => snapshotState(states.get(s.snapshotId)) !== 'completed');
    if (incomplete.length) {
      return { status: 'pending', retryAfterSeconds: 60, summary: `waiting for the snapshots to complete: ${snapshotProgress(incomplete, states)}` };
    }

    const host = forensics.instance_id ? await configuredForensicInstance(ctx, forensics.instance_id) : await launchedForensicInstance(ctx, forensics.launch!);
    const hostId = host.instance.InstanceId!;
    const hostState = host.instance.State?.Name ?? 'unknown';
    // Volumes are zonal: the forensic instance's zone decides, never the suspect's.
    const availabilityZone = host.instance.Placement?.AvailabilityZone;
    if (!availabilityZone) throw new StepFailedError(STEP_VOLUMES, 'NoAvailabilityZone', `DescribeInstances gave no Availability Zone for ${hostId}`, { retryable: true });

    const volumes = await forensicVolumesFor(clients.ec2, incident, snapshots, availabilityZone);
    const used = new Set((host.instance.BlockDeviceMappings ?? []).map((b) => deviceLetter(b.DeviceName)));
    const records: ForensicVolume[] = snapshots.map((s) => {
      const v = volumes.get(s.snapshotId)!;
      const attachment = v.Attachments?.[0];
      const base = { snapshotId: s.snapshotId, sourceVolumeId: s.volumeId, sourceDevice: s.deviceName, volumeId: v.VolumeId! };
      if (!attachment) return { ...base, state: v.State ?? 'unknown' };
      if (attachment.InstanceId !== hostId) return { ...base, device: attachment.Device!, state: 'attached-elsewhere' };
      used.add(deviceLetter(attachment.Device));
      return { ...base, device: attachment.Device!, state: attachment.State ?? 'attaching' };
    });

    let raced = false;
    if (ATTACHABLE.includes(hostState)) {
      for (const r of records.filter((x) => x.state === 'available')) {
        const device = FORENSIC_DEVICE_NAMES.find((d) => !used.has(deviceLetter(d)));
        if (!device) break;
        used.add(deviceLetter(device));
        if ((await attach(clients.ec2, r.volumeId, hostId, device)) === 'raced') raced = true;
        else Object.assign(r, { device, state: 'attaching' });
      }
    }

    const data = { forensicInstanceId: hostId, launched: host.launched, availabilityZone, volumes: records };
    const waiting = [
      ...(ATTACHABLE.includes(hostState) ? [] : [`forensic instance ${hostId} to be running or stopped (it is ${hostState})`]),
      ...records.filter((r) => r.state === 'creating').map((r) => `${r.volumeId} to be created`),
      ...(raced ? ['an attachment another delivery started at the same time'] : []),
    ];
    const hostNote = `${hostId}${host.launchedNow ? ' (launched now)' : host.launched ? ' (launched for this incident)' : ''} in ${availabilityZone}`;
    if (waiting.length) return { status: 'pending', retryAfterSeconds: raced ? 15 : 30, summary: `forensic volumes for ${hostNote}: waiting for ${waiting.join(', ')}`, data };

    const unattached = records.filter((r) => r.state === 'available');
    const elsewhere = records.filter((r) => r.state === 'attached-elsewhere');
    return {
      status: 'done',
      summary:
        `${records.length - unattached.length - elsewhere.length} forensic volume(s) attached to ${hostNote}, not mounted: ` +
        records.filter((r) => r.device && r.state !== 'attached-elsewhere').map((r) => `${r.device} ← ${r.snapshotId} (${r.sourceDevice})`).join(', ') +
        '; mount them read-only (ext4: mount -o ro,noload; xfs: mount -o ro,norecovery,nouuid) and never write to them' +
        (unattached.length ? `; no free device name for ${unattached.map((r) => r.volumeId).join(', ')} (attach by hand)` : '') +
        (elsewhere.length ? `; ${elsewhere.map((r) => r.volumeId).join(', ')} attached to another instance (left as is)` : ''),
      data,
    };
  },
});

/** Finds (or creates) one volume per snapshot in the zone, tagged so a redelivery finds it again. */
async function forensicVolumesFor(ec2: EC2Client, incident: Incident, snapshots: IncidentSnapshot[], availabilityZone: string): Promise<Map<string, Volume>> {
  const existing: Volume[] = [];
  const filters = [
    { Name: `tag:${INCIDENT_ID_TAG}`, Values: [incident.incidentId] },
    { Name: `tag:${SOURCE_SNAPSHOT_TAG}`, Values: snapshots.map((s) => s.snapshotId) },
  ];
  for await (const page of paginateDescribeVolumes({ client: ec2 }, { Filters: filters })) existing.push(...(page.Volumes ?? []));
  const sourceOf = (v: Volume) => v.Tags?.find((t) => t.Key === SOURCE_SNAPSHOT_TAG)?.Value;
  const usable = existing.filter((v) => v.AvailabilityZone === availabilityZone && !['deleting', 'deleted'].includes(v.State ?? ''));
  const failed = usable.filter((v) => v.State === 'error');
  if (failed.length) {
    throw new StepFailedError(STEP_VOLUMES, 'VolumeFailed', `forensic volume(s) ${failed.map((v) => v.VolumeId).join(', ')} are in state error: delete them to let Firebreak create new ones`);
  }
  const found = new Map<string, Volume>();
  for (const v of usable) {
    const source = sourceOf(v);
    if (source && !found.has(source)) found.set(source, v);
  }
  await Promise.all(
    snapshots
      .filter((s) => !found.has(s.snapshotId))
      .map(async (s) => {
        const created = await ec2.send(
          new CreateVolumeCommand({
            SnapshotId: s.snapshotId,
            AvailabilityZone: availabilityZone,
            VolumeType: 'gp3',
            ClientToken: clientToken(incident.incidentId, s.snapshotId, availabilityZone),
            TagSpecifications: [
              {
                ResourceType: 'volume',
                Tags: incidentTags(incident, {
                  Name: `firebreak-forensic-${incident.incidentId}-${s.deviceName.replace(/^\/dev\//, '')}`,
                  'firebreak:purpose': 'forensic-copy',
                  [SOURCE_SNAPSHOT_TAG]: s.snapshotId,
                  'firebreak:source-volume': s.volumeId,
                  'firebreak:source-device': s.deviceName,
                  'firebreak:mount': FORENSIC_MOUNT_RULE,
                }),
              },
            ],
          }),
        );
        found.set(s.snapshotId, created);
      }),
  );
  return found;
}

// ---------------------------------------------------------------------------
// copySnapshotsToForensicAccount
// ---------------------------------------------------------------------------

/** One copy as copySnapshotsToForensicAccount records it. */
const ForensicCopySchema = z.object({
  sourceSnapshotId: z.string(),
  copySnapshotId: z.string().optional(),
  /** The copy's state, or `waiting-for-source` while the source snapshot is still pending. */
  state: z.string(),
  shared: z.boolean(),
});
export type ForensicCopy = z.infer<typeof ForensicCopySchema>;

/** What copySnapshotsToForensicAccount records (pending or done). */
export const ForensicCopiesDataSchema = z.object({
  forensicAccountId: z.string(),
  kmsKeyArn: z.string(),
  copies: z.array(ForensicCopySchema),
});

const STEP_COPY = 'copySnapshotsToForensicAccount';

export const copySnapshotsToForensicAccount = ec2Step({
  name: STEP_COPY,
  stage: 'investigate',
  description: 'Copy every evidence snapshot, re-encrypted with the forensic KMS key, and share the copies with the forensic account',
  iamActions: ['ec2:DescribeSnapshots', 'ec2:CopySnapshot', 'ec2:CreateTags', 'ec2:ModifySnapshotAttribute', ...EBS_KMS_IAM_ACTIONS],
  enabledBy: ['forensics.copy'],
  requires: [snapshotVolumes],
  data: ForensicCopiesDataSchema,
  async run(ctx) {
    const { clients, options, incident, resource } = ctx;
    const target = options.forensics?.copy;
    if (!target) return { status: 'skipped', summary: 'no forensic account is configured (forensics.copy): the snapshots stay in this account' };
    const snapshots = incidentSnapshots(ctx);
    if (snapshots.length === 0) return { status: 'skipped', summary: 'snapshotVolumes recorded no snapshot to copy' };

    // CopySnapshot takes no client token: the tag lookup is what keeps a redelivery from copying twice.
    const [sources, copyOf] = await Promise.all([
      describeIncidentSnapshots(clients.ec2, STEP_COPY, snapshots),
      findSnapshotCopies(clients.ec2, incident.incidentId, snapshots.map((s) => s.snapshotId)),
    ]);

    const copies: ForensicCopy[] = await Promise.all(
      snapshots.map(async (s): Promise<ForensicCopy> => {
        let copy: Snapshot | undefined = copyOf.get(s.snapshotId);
        if (!copy) {
          if (snapshotState(sources.get(s.snapshotId)) !== 'completed') return { sourceSnapshotId: s.snapshotId, state: 'waiting-for-source', shared: false };
          // No idempotency token: never re-sent by the SDK after a lost answer (the next delivery finds the copy by tag).
          const out = await clients.ec2.send(
            once(new CopySnapshotCommand({
              SourceSnapshotId: s.snapshotId,
              SourceRegion: incident.region,
              // Snapshots encrypted with the AWS-managed aws/ebs key cannot be shared with
              // another account; a copy under a customer-managed key can.
              Encrypted: true,
              KmsKeyId: target.kms_key_arn,
              // Tags stay in this account; the description is what the forensic account sees.
              Description: `Firebreak ${incident.incidentId}: ${s.deviceName} (${s.volumeId}) of ${resource.instanceId}, copy of ${s.snapshotId}`.slice(0, 255),
              TagSpecifications: [
                {
                  ResourceType: 'snapshot',
                  Tags: incidentTags(incident, { [SOURCE_SNAPSHOT_TAG]: s.snapshotId, 'firebreak:shared-with': target.account_id }),
                },
              ],
            }), 'CopySnapshot'),
          );
          copy = { SnapshotId: out.SnapshotId!, State: 'pending' };
        }
        if (copy.State !== 'completed') return { sourceSnapshotId: s.snapshotId, copySnapshotId: copy.SnapshotId!, state: copy.State ?? 'pending', shared: false };
        // Adding an account that already holds the permission is a no-op in EC2, so a
        // redelivery adds it again instead of reading the attribute first.
        await clients.ec2.send(
          new ModifySnapshotAttributeCommand({
            SnapshotId: copy.SnapshotId!,
            Attribute: 'createVolumePermission',
            OperationType: 'add',
            UserIds: [target.account_id],
          }),
        );
        return { sourceSnapshotId: s.snapshotId, copySnapshotId: copy.SnapshotId!, state: 'completed', shared: true };
      }),
    );

    const data = { forensicAccountId: target.account_id, kmsKeyArn: target.kms_key_arn, copies };
    const unshared = copies.filter((c) => !c.shared);
    if (unshared.length) {
      return {
        status: 'pending',
        retryAfterSeconds: 60,
        summary: `copies for forensic account ${target.account_id}: waiting for ${unshared
          .map((c) => (c.copySnapshotId ? `copy ${c.copySnapshotId} of ${c.sourceSnapshotId} (${c.state})` : `source ${snapshotProgress([snapshots.find((s) => s.snapshotId === c.sourceSnapshotId)!], sources)}`))
          .join(', ')}`,
        data,
      };
    }
    return {
      status: 'done',
      summary:
        `${copies.length} snapshot(s) copied, re-encrypted with ${target.kms_key_arn} and shared with account ${target.account_id}: ` +
        `${copies.map((c) => `${c.copySnapshotId} (of ${c.sourceSnapshotId})`).join(', ')}; the key policy must let that account use the key`,
      data,
    };
  },
});
