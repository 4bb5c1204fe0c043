import {
  AttachVolumeCommand,
  CopySnapshotCommand,
  CreateSnapshotsCommand,
  CreateVolumeCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  ModifySnapshotAttributeCommand,
  RunInstancesCommand,
  type Instance,
  type Volume,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { clientToken } from '../../../../shared/actions/client-token.ts';
import { incidentTags } from '../../../../shared/actions/tagging.ts';
import type { AnyStep, StepResult } from '../../../../shared/engine/index.ts';
import { StepFailedError } from '../../../../shared/errors/index.ts';
import { snapshotVolumes } from '../../../../shared/playbooks/ec2-instance/evidence.ts';
import { copySnapshotsToForensicAccount, createForensicVolumes, EBS_KMS_IAM_ACTIONS } from '../../../../shared/playbooks/ec2-instance/forensics.ts';
import type { Ec2Options } from '../../../../shared/playbooks/ec2-instance/options.ts';
import type { Ec2 } from '../../../../shared/playbooks/ec2-instance/types.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { anEc2Options, anIncident, anInstance, awsError, aStepContext, INSTANCE_ID, recordedBy } from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const incident = anIncident({ ticket: 'SEC-1234' });
const FORENSIC_ID = 'i-0f0f0f0f0f0f0f0f0';
const FORENSIC_AZ = 'us-east-1b'; // the suspect (anInstance) is in us-east-1a
const FORENSIC_ACCOUNT = '999988887777';
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SNAP_ROOT = 'snap-0aaaaaaaaaaaaaaa1';
const SNAP_DATA = 'snap-0aaaaaaaaaaaaaaa2';
const suspect = anInstance({
  volumes: [
    { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', deleteOnTermination: true },
    { volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb', deleteOnTermination: false },
  ],
});

/** The outcome the engine records for a step's result (its data through DynamoDB's JSON round trip). */
const outcomeOf = (step: AnyStep<Ec2>, result: StepResult<unknown>): StepOutcome => ({
  stage: step.stage,
  status: result.status,
  summary: result.summary,
  attempts: 1,
  ...(result.data !== undefined ? { data: JSON.parse(JSON.stringify(result.data)) } : {}),
});

/**
 * snapshotVolumes as it ran for this incident against mocked EC2: its outcome, to put in the
 * outcomes the investigation steps read. `taken` is what CreateSnapshots answered.
 */
async function snapshotted(
  taken = [
    { SnapshotId: SNAP_ROOT, VolumeId: 'vol-0aaaaaaaaaaaaaaa1' },
    { SnapshotId: SNAP_DATA, VolumeId: 'vol-0aaaaaaaaaaaaaaa2' },
  ],
  resource = suspect,
): Promise<Record<string, StepOutcome>> {
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
  ec2Mock.on(CreateSnapshotsCommand).resolves({ Snapshots: taken });
  const result = await snapshotVolumes.run(aStepContext({ incident, resource }));
  ec2Mock.reset();
  return { snapshotVolumes: outcomeOf(snapshotVolumes, result) };
}

const withForensics = (forensics: NonNullable<Ec2Options['forensics']>) => anEc2Options({ forensics });
const existingInstanceOptions = withForensics({ instance_id: FORENSIC_ID });
const launchOptions = withForensics({
  launch: { ami_id: 'ami-0123456789abcdef0', subnet_id: 'subnet-0b0b0b0b0b0b0b0b0', instance_type: 'm5.large', security_group_ids: ['sg-0c0c0c0c0c0c0c0c0'] },
});
const copyOptions = withForensics({ copy: { account_id: FORENSIC_ACCOUNT, kms_key_arn: KEY_ARN } });

/** What snapshotVolumes recorded for this incident (both volumes), taken once before any test prepares its own mocks. */
const SNAPSHOTTED = await snapshotted();

/** A context for an investigation step of this incident, after snapshotVolumes took both snapshots. */
const context = (options: Ec2Options) => aStepContext({ incident, resource: suspect, options, outcomes: SNAPSHOTTED });

const forensicInstance = (overrides: Partial<Instance> = {}): Instance => ({
  InstanceId: FORENSIC_ID,
  State: { Name: 'running', Code: 16 },
  Placement: { AvailabilityZone: FORENSIC_AZ },
  BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-0f0f0f0f0f0f0f0f1' } }],
  ...overrides,
});

const snapshotsIn = (root: string, data: string, progress = '100%') => ({
  Snapshots: [
    { SnapshotId: SNAP_ROOT, State: root as never, Progress: root === 'completed' ? '100%' : progress },
    { SnapshotId: SNAP_DATA, State: data as never, Progress: data === 'completed' ? '100%' : progress },
  ],
});

const forensicVolume = (snapshotId: string, volumeId: string, overrides: Partial<Volume> = {}): Volume => ({
  VolumeId: volumeId,
  State: 'available',
  AvailabilityZone: FORENSIC_AZ,
  SnapshotId: snapshotId,
  Tags: [
    { Key: 'firebreak:incident-id', Value: incident.incidentId },
    { Key: 'firebreak:source-snapshot', Value: snapshotId },
  ],
  ...overrides,
});

const volumeTags = (snapshotId: string, volumeId: string, device: string) =>
  incidentTags(incident, {
    Name: `firebreak-forensic-${incident.incidentId}-${device.replace('/dev/', '')}`,
    'firebreak:purpose': 'forensic-copy',
    'firebreak:source-snapshot': snapshotId,
    'firebreak:source-volume': volumeId,
    'firebreak:source-device': device,
    'firebreak:mount': 'read-only: mount -o ro,noload; never write',
  });

describe('Step: createForensicVolumes', () => {
  it("creates one volume from each of the incident's snapshots in the forensic instance's Availability Zone, not the suspect's", async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [forensicInstance()] }] });
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    ec2Mock
      .on(CreateVolumeCommand, { SnapshotId: SNAP_ROOT })
      .resolves({ VolumeId: 'vol-0ccccccccccccccc1', State: 'creating', AvailabilityZone: FORENSIC_AZ })
      .on(CreateVolumeCommand, { SnapshotId: SNAP_DATA })
      .resolves({ VolumeId: 'vol-0ccccccccccccccc2', State: 'creating', AvailabilityZone: FORENSIC_AZ });

    // Act
    const result = await createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    expect(ec2Mock.commandCalls(DescribeSnapshotsCommand)[0]!.args[0].input).toEqual({ SnapshotIds: [SNAP_ROOT, SNAP_DATA] });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: [FORENSIC_ID] });
    expect(ec2Mock.commandCalls(DescribeVolumesCommand)[0]!.args[0].input).toEqual({
      Filters: [
        { Name: 'tag:firebreak:incident-id', Values: [incident.incidentId] },
        { Name: 'tag:firebreak:source-snapshot', Values: [SNAP_ROOT, SNAP_DATA] },
      ],
    });
    expect(ec2Mock.commandCalls(CreateVolumeCommand).map((c) => c.args[0].input)).toEqual([
      {
        SnapshotId: SNAP_ROOT,
        AvailabilityZone: FORENSIC_AZ,
        VolumeType: 'gp3',
        ClientToken: clientToken(incident.incidentId, SNAP_ROOT, FORENSIC_AZ),
        TagSpecifications: [{ ResourceType: 'volume', Tags: volumeTags(SNAP_ROOT, 'vol-0aaaaaaaaaaaaaaa1', '/dev/xvda') }],
      },
      {
        SnapshotId: SNAP_DATA,
        AvailabilityZone: FORENSIC_AZ,
        VolumeType: 'gp3',
        ClientToken: clientToken(incident.incidentId, SNAP_DATA, FORENSIC_AZ),
        TagSpecifications: [{ ResourceType: 'volume', Tags: volumeTags(SNAP_DATA, 'vol-0aaaaaaaaaaaaaaa2', '/dev/xvdb') }],
      },
    ]);
    expect(ec2Mock.commandCalls(AttachVolumeCommand)).toHaveLength(0);
    expect(result.status).toBe('pending');
    expect(result.summary).toContain('waiting for vol-0ccccccccccccccc1 to be created, vol-0ccccccccccccccc2 to be created');
    expect(result.data).toMatchObject({ forensicInstanceId: FORENSIC_ID, launched: false, availabilityZone: FORENSIC_AZ });
  });

  it('attaches each available volume to the forensic instance on a free device name, skipping the names it already uses, and mounts nothing', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            forensicInstance({
              BlockDeviceMappings: [
                { DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-0f0f0f0f0f0f0f0f1' } },
                { DeviceName: '/dev/sdf', Ebs: { VolumeId: 'vol-0f0f0f0f0f0f0f0f2' } },
                { DeviceName: '/dev/xvdg', Ebs: { VolumeId: 'vol-0f0f0f0f0f0f0f0f3' } },
              ],
            }),
          ],
        },
      ],
    });
    ec2Mock.on(DescribeVolumesCommand).resolves({
      Volumes: [forensicVolume(SNAP_ROOT, 'vol-0ccccccccccccccc1'), forensicVolume(SNAP_DATA, 'vol-0ccccccccccccccc2')],
    });
    ec2Mock.on(AttachVolumeCommand).resolves({ State: 'attaching' });

    // Act
    const result = await createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    expect(ec2Mock.commandCalls(CreateVolumeCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(AttachVolumeCommand).map((c) => c.args[0].input)).toEqual([
      { VolumeId: 'vol-0ccccccccccccccc1', InstanceId: FORENSIC_ID, Device: '/dev/sdh' },
      { VolumeId: 'vol-0ccccccccccccccc2', InstanceId: FORENSIC_ID, Device: '/dev/sdi' },
    ]);
    expect(result.status).toBe('done');
    expect(result.data).toEqual({
      forensicInstanceId: FORENSIC_ID,
      launched: false,
      availabilityZone: FORENSIC_AZ,
      volumes: [
        { snapshotId: SNAP_ROOT, sourceVolumeId: 'vol-0aaaaaaaaaaaaaaa1', sourceDevice: '/dev/xvda', volumeId: 'vol-0ccccccccccccccc1', device: '/dev/sdh', state: 'attaching' },
        { snapshotId: SNAP_DATA, sourceVolumeId: 'vol-0aaaaaaaaaaaaaaa2', sourceDevice: '/dev/xvdb', volumeId: 'vol-0ccccccccccccccc2', device: '/dev/sdi', state: 'attaching' },
      ],
    });
    expect(result.summary).toMatch(/^2 forensic volume\(s\) attached to i-0f0f0f0f0f0f0f0f0 in us-east-1b, not mounted: /);
    expect(result.summary).toContain('mount them read-only (ext4: mount -o ro,noload');
  });

  it('waits while a snapshot is still pending, and creates nothing', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'pending', '42%'));

    // Act
    const result = await createForensicVolumes.run(context(launchOptions));

    // Assess
    expect(result).toEqual({ status: 'pending', retryAfterSeconds: 60, summary: `waiting for the snapshots to complete: ${SNAP_DATA} (42%)` });
    expect(ec2Mock.calls()).toHaveLength(1);
  });

  it('fails for good when a snapshot ended in error', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'error'));

    // Act
    const run = createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    await expect(run).rejects.toBeInstanceOf(StepFailedError);
    await expect(run).rejects.toMatchObject({ code: 'SnapshotFailed', retryable: false });
    expect(ec2Mock.commandCalls(CreateVolumeCommand)).toHaveLength(0);
  });

  it('launches one forensic instance for the incident (idempotency token, IMDSv2, tags) and waits for it to run before attaching', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [forensicInstance({ State: { Name: 'pending', Code: 0 }, Placement: { AvailabilityZone: 'us-east-1c' } })] });
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    ec2Mock.on(CreateVolumeCommand).callsFake((input: { SnapshotId: string }) => ({ VolumeId: `vol-for-${input.SnapshotId}`, State: 'available', AvailabilityZone: 'us-east-1c' }));

    // Act
    const result = await createForensicVolumes.run(context(launchOptions));

    // Assess
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]!.args[0].input).toEqual({
      Filters: [
        { Name: 'tag:firebreak:incident-id', Values: [incident.incidentId] },
        { Name: 'tag:firebreak:purpose', Values: ['forensic'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    });
    expect(ec2Mock.commandCalls(RunInstancesCommand).map((c) => c.args[0].input)).toEqual([
      {
        ImageId: 'ami-0123456789abcdef0',
        InstanceType: 'm5.large',
        SubnetId: 'subnet-0b0b0b0b0b0b0b0b0',
        SecurityGroupIds: ['sg-0c0c0c0c0c0c0c0c0'],
        MinCount: 1,
        MaxCount: 1,
        ClientToken: `firebreak-forensic-${incident.incidentId}`,
        MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
        TagSpecifications: [
          { ResourceType: 'instance', Tags: incidentTags(incident, { Name: `firebreak-forensic-${incident.incidentId}`, 'firebreak:purpose': 'forensic' }) },
        ],
      },
    ]);
    expect(ec2Mock.commandCalls(CreateVolumeCommand).map((c) => c.args[0].input.AvailabilityZone)).toEqual(['us-east-1c', 'us-east-1c']);
    expect(ec2Mock.commandCalls(AttachVolumeCommand)).toHaveLength(0);
    expect(result.status).toBe('pending');
    expect(result.summary).toContain(`waiting for forensic instance ${FORENSIC_ID} to be running or stopped (it is pending)`);
    expect(result.data).toMatchObject({ forensicInstanceId: FORENSIC_ID, launched: true, availabilityZone: 'us-east-1c' });
  });

  it('finds the forensic instance and volumes of an earlier delivery again, launching and creating nothing twice', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [forensicInstance()] }] });
    const attachedAs = (device: string) => ({ Attachments: [{ InstanceId: FORENSIC_ID, Device: device, State: 'attached' as const }], State: 'in-use' as const });
    ec2Mock.on(DescribeVolumesCommand).resolves({
      Volumes: [forensicVolume(SNAP_ROOT, 'vol-0ccccccccccccccc1', attachedAs('/dev/sdf')), forensicVolume(SNAP_DATA, 'vol-0ccccccccccccccc2', attachedAs('/dev/sdg'))],
    });

    // Act
    const result = await createForensicVolumes.run(context(launchOptions));

    // Assess
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateVolumeCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(AttachVolumeCommand)).toHaveLength(0);
    expect(result.status).toBe('done');
    expect((result.data as { launched: boolean; volumes: unknown[] }).launched).toBe(true);
    expect((result.data as { volumes: unknown[] }).volumes).toEqual([
      expect.objectContaining({ volumeId: 'vol-0ccccccccccccccc1', device: '/dev/sdf', state: 'attached' }),
      expect.objectContaining({ volumeId: 'vol-0ccccccccccccccc2', device: '/dev/sdg', state: 'attached' }),
    ]);
  });

  it('looks again shortly when a concurrent delivery attached the volume first', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [forensicInstance()] }] });
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [forensicVolume(SNAP_ROOT, 'vol-0ccccccccccccccc1'), forensicVolume(SNAP_DATA, 'vol-0ccccccccccccccc2')] });
    ec2Mock.on(AttachVolumeCommand).rejects(awsError('VolumeInUse', { message: 'vol-0ccccccccccccccc1 is already attached to an instance' }));

    // Act
    const result = await createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    expect(result.status).toBe('pending');
    expect(result.retryAfterSeconds).toBe(15);
  });

  it.each([
    ['does not exist', () => ec2Mock.on(DescribeInstancesCommand).rejects(awsError('InvalidInstanceID.NotFound'))],
    ['is terminated', () => ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [forensicInstance({ State: { Name: 'terminated', Code: 48 } })] }] })],
  ])('tells the deployer to fix forensics.instance_id when that instance %s', async (_, prepareInstance) => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    prepareInstance();

    // Act
    const run = createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'StepFailedError', code: 'ForensicInstanceNotFound', retryable: false });
    await expect(run).rejects.toThrow(/fix forensics\.instance_id/);
    expect(ec2Mock.commandCalls(CreateVolumeCommand)).toHaveLength(0);
  });

  it('refuses to use the instance under investigation as the forensic instance', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));

    // Act
    const run = createForensicVolumes.run(context(withForensics({ instance_id: INSTANCE_ID })));

    // Assess
    await expect(run).rejects.toMatchObject({ code: 'ForensicInstanceIsTheSuspect', retryable: false });
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
  });

  it('leaves a volume a responder attached elsewhere as it is, and says so when no device name is free', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    const everyName = ['f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p'].map((l, n) => ({ DeviceName: `/dev/xvd${l}`, Ebs: { VolumeId: `vol-0e0e0e0e0e0e0e0${n}` } }));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [forensicInstance({ State: { Name: 'stopped', Code: 80 }, BlockDeviceMappings: everyName })] }] });
    ec2Mock.on(DescribeVolumesCommand).resolves({
      Volumes: [
        forensicVolume(SNAP_ROOT, 'vol-0ccccccccccccccc1'),
        forensicVolume(SNAP_DATA, 'vol-0ccccccccccccccc2', { State: 'in-use', Attachments: [{ InstanceId: 'i-0123456789abcdef0', Device: '/dev/sdf', State: 'attached' }] }),
      ],
    });

    // Act
    const result = await createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    expect(ec2Mock.commandCalls(AttachVolumeCommand)).toHaveLength(0);
    expect(result.status).toBe('done');
    expect(result.summary).toContain('no free device name for vol-0ccccccccccccccc1 (attach by hand)');
    expect(result.summary).toContain('vol-0ccccccccccccccc2 attached to another instance (left as is)');
  });

  it('ignores forensic volumes of the incident in another zone or being deleted, and fails for good on a volume in error', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [forensicInstance()] }] });
    ec2Mock.on(DescribeVolumesCommand).resolves({
      Volumes: [
        forensicVolume(SNAP_ROOT, 'vol-0ccccccccccccccc7', { AvailabilityZone: 'us-east-1a' }),
        forensicVolume(SNAP_ROOT, 'vol-0ccccccccccccccc8', { State: 'deleting' }),
        forensicVolume(SNAP_DATA, 'vol-0ccccccccccccccc9', { State: 'error' }),
      ],
    });

    // Act
    const run = createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    await expect(run).rejects.toMatchObject({ code: 'VolumeFailed', retryable: false });
    await expect(run).rejects.toThrow(/vol-0ccccccccccccccc9/);
    expect(ec2Mock.commandCalls(CreateVolumeCommand)).toHaveLength(0);
  });

  it('fails for good when an evidence snapshot was deleted', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).rejects(awsError('InvalidSnapshot.NotFound', { message: `The snapshot '${SNAP_DATA}' does not exist.` }));

    // Act
    const run = createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    await expect(run).rejects.toMatchObject({ code: 'SnapshotNotFound', retryable: false });
  });

  it('fails for good when the instance launched for the incident was terminated (its token cannot launch another)', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [forensicInstance({ State: { Name: 'terminated', Code: 48 } })] });

    // Act
    const run = createForensicVolumes.run(context(launchOptions));

    // Assess
    await expect(run).rejects.toMatchObject({ code: 'ForensicInstanceTerminated', retryable: false });
    expect(ec2Mock.commandCalls(CreateVolumeCommand)).toHaveLength(0);
  });

  it('is skipped when no forensic instance is configured', async () => {
    // Act
    const result = await createForensicVolumes.run(context(copyOptions));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toContain('forensics.instance_id or forensics.launch');
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('is skipped when snapshotVolumes recorded no snapshot', async () => {
    // Prepare
    const outcomes = await snapshotted([], anInstance({ volumes: [] }));

    // Act
    const result = await createForensicVolumes.run(aStepContext({ incident, options: existingInstanceOptions, outcomes }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('uses the oldest forensic instance launched for the incident, whatever page DescribeInstances returns it on', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    const older = forensicInstance({ InstanceId: 'i-0f0f0f0f0f0f0f0f1', LaunchTime: new Date('2025-06-19T14:41:00Z') });
    const newer = forensicInstance({ LaunchTime: new Date('2025-06-19T14:42:00Z') });
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [newer] }], NextToken: 'page-2' })
      .resolvesOnce({ Reservations: [{ Instances: [older] }] });
    ec2Mock
      .on(DescribeVolumesCommand)
      .resolvesOnce({ Volumes: [forensicVolume(SNAP_ROOT, 'vol-0ccccccccccccccc1')], NextToken: 'page-2' })
      .resolvesOnce({ Volumes: [forensicVolume(SNAP_DATA, 'vol-0ccccccccccccccc2')] });
    ec2Mock.on(AttachVolumeCommand).resolves({});

    // Act
    const result = await createForensicVolumes.run(context(launchOptions));

    // Assess
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(2);
    expect(ec2Mock.commandCalls(DescribeVolumesCommand)).toHaveLength(2);
    expect(ec2Mock.commandCalls(RunInstancesCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateVolumeCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(AttachVolumeCommand).map((c) => c.args[0].input.InstanceId)).toEqual(['i-0f0f0f0f0f0f0f0f1', 'i-0f0f0f0f0f0f0f0f1']);
    expect(result.status).toBe('done');
    expect(result.summary).toContain('i-0f0f0f0f0f0f0f0f1 (launched for this incident) in us-east-1b');
  });

  it('launches without security groups when none is configured', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [forensicInstance({ State: { Name: 'pending', Code: 0 } })] });
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    ec2Mock.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-0ccccccccccccccc1', State: 'creating' });
    const options = withForensics({ launch: { ami_id: 'ami-0123456789abcdef0', subnet_id: 'subnet-0b0b0b0b0b0b0b0b0', instance_type: 'm5.large', security_group_ids: [] } });

    // Act
    const result = await createForensicVolumes.run(context(options));

    // Assess
    expect(ec2Mock.commandCalls(RunInstancesCommand)[0]!.args[0].input).not.toHaveProperty('SecurityGroupIds');
    expect(result.summary).toContain(`${FORENSIC_ID} (launched now) in ${FORENSIC_AZ}`);
  });

  it('fails for a retry when RunInstances returns no instance', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    ec2Mock.on(RunInstancesCommand).resolves({ Instances: [] });

    // Act
    const run = createForensicVolumes.run(context(launchOptions));

    // Assess
    await expect(run).rejects.toMatchObject({ code: 'ForensicInstanceNotLaunched', retryable: true });
  });

  it('fails for a retry when EC2 gives the forensic instance no Availability Zone', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [forensicInstance({ Placement: {} })] }] });

    // Act
    const run = createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    await expect(run).rejects.toMatchObject({ code: 'NoAvailabilityZone', retryable: true });
    expect(ec2Mock.commandCalls(DescribeVolumesCommand)).toHaveLength(0);
  });

  it('treats an attachment refused because the volume is in use as a race, and lets any other refusal through', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [forensicInstance()] }] });
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [forensicVolume(SNAP_ROOT, 'vol-0ccccccccccccccc1'), forensicVolume(SNAP_DATA, 'vol-0ccccccccccccccc2')] });
    ec2Mock.on(AttachVolumeCommand).rejects(awsError('InvalidParameterValue', { message: 'vol-0ccccccccccccccc1 is in use' }));

    // Act
    const raced = await createForensicVolumes.run(context(existingInstanceOptions));
    ec2Mock.on(AttachVolumeCommand).rejects(awsError('InvalidParameterValue', { message: 'Invalid value for parameter device' }));
    const refused = createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    expect(raced).toMatchObject({ status: 'pending', retryAfterSeconds: 15, summary: expect.stringContaining('an attachment another delivery started at the same time') });
    await expect(refused).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  it('makes volumes only from the snapshots snapshotVolumes took', async () => {
    // Prepare
    const outcomes = await snapshotted([{ SnapshotId: SNAP_ROOT, VolumeId: 'vol-0aaaaaaaaaaaaaaa1' }]);
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: SNAP_ROOT, State: 'completed' }] });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [forensicInstance()] }] });
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    ec2Mock.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-0ccccccccccccccc1', State: 'creating' });

    // Act
    const result = await createForensicVolumes.run(aStepContext({ incident, resource: suspect, options: existingInstanceOptions, outcomes }));

    // Assess
    expect(outcomes.snapshotVolumes!.summary).toContain('none (vol-0aaaaaaaaaaaaaaa2)');
    expect(ec2Mock.commandCalls(DescribeSnapshotsCommand)[0]!.args[0].input).toEqual({ SnapshotIds: [SNAP_ROOT] });
    expect(ec2Mock.commandCalls(CreateVolumeCommand).map((c) => c.args[0].input.SnapshotId)).toEqual([SNAP_ROOT]);
    expect(result.status).toBe('pending');
  });

  it('reads sparse EC2 answers with safe defaults, and waits for an instance whose state it cannot tell', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: FORENSIC_ID, Placement: { AvailabilityZone: FORENSIC_AZ } }] }] });
    ec2Mock
      .on(DescribeVolumesCommand)
      .resolvesOnce({ NextToken: 'page-2' })
      .resolvesOnce({
        Volumes: [
          forensicVolume(SNAP_ROOT, 'vol-0ccccccccccccccc1', { State: undefined }),
          forensicVolume(SNAP_DATA, 'vol-0ccccccccccccccc2', { Attachments: [{ InstanceId: FORENSIC_ID, Device: '/dev/sdf' }] }),
          forensicVolume(SNAP_DATA, 'vol-0ccccccccccccccc3', { Tags: [] }),
        ],
      });

    // Act
    const result = await createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    expect(ec2Mock.commandCalls(AttachVolumeCommand)).toHaveLength(0);
    expect(result.status).toBe('pending');
    expect(result.summary).toContain(`waiting for forensic instance ${FORENSIC_ID} to be running or stopped (it is unknown)`);
    expect((result.data as { volumes: unknown[] }).volumes).toEqual([
      expect.objectContaining({ volumeId: 'vol-0ccccccccccccccc1', state: 'unknown' }),
      expect.objectContaining({ volumeId: 'vol-0ccccccccccccccc2', device: '/dev/sdf', state: 'attaching' }),
    ]);
  });

  it('records what its schema reads back, pending or done', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [forensicInstance()] }] });
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [] });
    ec2Mock.on(CreateVolumeCommand).resolves({ VolumeId: 'vol-0ccccccccccccccc1', State: 'creating' });
    const pending = await createForensicVolumes.run(context(existingInstanceOptions));
    ec2Mock.on(DescribeVolumesCommand).resolves({ Volumes: [forensicVolume(SNAP_ROOT, 'vol-0ccccccccccccccc1'), forensicVolume(SNAP_DATA, 'vol-0ccccccccccccccc2')] });
    ec2Mock.on(AttachVolumeCommand).resolves({});

    // Act
    const done = await createForensicVolumes.run(context(existingInstanceOptions));

    // Assess
    expect(pending.status).toBe('pending');
    expect(createForensicVolumes.data.parse(JSON.parse(JSON.stringify(pending.data)))).toEqual(pending.data);
    expect(recordedBy(createForensicVolumes, done)).toEqual(done.data);
  });

  it('runs after snapshotVolumes, in the investigate stage', () => {
    // Assess
    expect(createForensicVolumes.stage).toBe('investigate');
    expect(createForensicVolumes.requires).toEqual([snapshotVolumes]);
    expect(createForensicVolumes.iamActions).toEqual(expect.arrayContaining([...EBS_KMS_IAM_ACTIONS]));
    expect(createForensicVolumes.iamActions).toEqual(expect.arrayContaining(['ec2:RunInstances', 'ec2:CreateVolume', 'ec2:AttachVolume', 'ec2:CreateTags', 'kms:CreateGrant']));
  });
});

describe('Function: clientToken', () => {
  it('stays readable when short and within the 64 characters EC2 accepts when long', () => {
    // Act
    const short = clientToken('forensic', 'inc-0123456789abcdef');
    const long = clientToken('inc-0123456789abcdef', 'snap-0123456789abcdef0', 'ap-southeast-2a');

    // Assess
    expect(short).toBe('firebreak-forensic-inc-0123456789abcdef');
    expect(long).toHaveLength(64);
    expect(long).toBe(clientToken('inc-0123456789abcdef', 'snap-0123456789abcdef0', 'ap-southeast-2a'));
  });
});

describe('Step: copySnapshotsToForensicAccount', () => {
  const copyTags = (source: string) => incidentTags(incident, { 'firebreak:source-snapshot': source, 'firebreak:shared-with': FORENSIC_ACCOUNT });

  it('copies every completed snapshot re-encrypted with the forensic key, and waits for the copies before sharing', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand, { SnapshotIds: [SNAP_ROOT, SNAP_DATA] }).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeSnapshotsCommand, { OwnerIds: ['self'] }).resolves({ Snapshots: [] });
    ec2Mock.on(CopySnapshotCommand, { SourceSnapshotId: SNAP_ROOT }).resolves({ SnapshotId: 'snap-0ddddddddddddddd1' });
    ec2Mock.on(CopySnapshotCommand, { SourceSnapshotId: SNAP_DATA }).resolves({ SnapshotId: 'snap-0ddddddddddddddd2' });

    // Act
    const result = await copySnapshotsToForensicAccount.run(context(copyOptions));

    // Assess
    expect(ec2Mock.commandCalls(DescribeSnapshotsCommand, { OwnerIds: ['self'] })[0]!.args[0].input).toEqual({
      OwnerIds: ['self'],
      Filters: [
        { Name: 'tag:firebreak:incident-id', Values: [incident.incidentId] },
        { Name: 'tag:firebreak:source-snapshot', Values: [SNAP_ROOT, SNAP_DATA] },
      ],
    });
    expect(ec2Mock.commandCalls(CopySnapshotCommand).map((c) => c.args[0].input)).toEqual([
      {
        SourceSnapshotId: SNAP_ROOT,
        SourceRegion: 'us-east-1',
        Encrypted: true,
        KmsKeyId: KEY_ARN,
        Description: `Firebreak ${incident.incidentId}: /dev/xvda (vol-0aaaaaaaaaaaaaaa1) of ${INSTANCE_ID}, copy of ${SNAP_ROOT}`,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: copyTags(SNAP_ROOT) }],
      },
      {
        SourceSnapshotId: SNAP_DATA,
        SourceRegion: 'us-east-1',
        Encrypted: true,
        KmsKeyId: KEY_ARN,
        Description: `Firebreak ${incident.incidentId}: /dev/xvdb (vol-0aaaaaaaaaaaaaaa2) of ${INSTANCE_ID}, copy of ${SNAP_DATA}`,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: copyTags(SNAP_DATA) }],
      },
    ]);
    expect(ec2Mock.commandCalls(ModifySnapshotAttributeCommand)).toHaveLength(0);
    expect(result).toMatchObject({
      status: 'pending',
      retryAfterSeconds: 60,
      data: {
        forensicAccountId: FORENSIC_ACCOUNT,
        kmsKeyArn: KEY_ARN,
        copies: [
          { sourceSnapshotId: SNAP_ROOT, copySnapshotId: 'snap-0ddddddddddddddd1', state: 'pending', shared: false },
          { sourceSnapshotId: SNAP_DATA, copySnapshotId: 'snap-0ddddddddddddddd2', state: 'pending', shared: false },
        ],
      },
    });
  });

  it('shares the completed copies with the forensic account and copies nothing twice', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand, { SnapshotIds: [SNAP_ROOT, SNAP_DATA] }).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeSnapshotsCommand, { OwnerIds: ['self'] }).resolves({
      Snapshots: [
        { SnapshotId: 'snap-0ddddddddddddddd1', State: 'completed', Tags: copyTags(SNAP_ROOT) },
        { SnapshotId: 'snap-0ddddddddddddddd2', State: 'completed', Tags: copyTags(SNAP_DATA) },
      ],
    });
    ec2Mock.on(ModifySnapshotAttributeCommand).resolves({});

    // Act
    const result = await copySnapshotsToForensicAccount.run(context(copyOptions));

    // Assess
    expect(ec2Mock.commandCalls(CopySnapshotCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(ModifySnapshotAttributeCommand).map((c) => c.args[0].input)).toEqual([
      { SnapshotId: 'snap-0ddddddddddddddd1', Attribute: 'createVolumePermission', OperationType: 'add', UserIds: [FORENSIC_ACCOUNT] },
      { SnapshotId: 'snap-0ddddddddddddddd2', Attribute: 'createVolumePermission', OperationType: 'add', UserIds: [FORENSIC_ACCOUNT] },
    ]);
    expect(result.status).toBe('done');
    expect(result.data).toEqual({
      forensicAccountId: FORENSIC_ACCOUNT,
      kmsKeyArn: KEY_ARN,
      copies: [
        { sourceSnapshotId: SNAP_ROOT, copySnapshotId: 'snap-0ddddddddddddddd1', state: 'completed', shared: true },
        { sourceSnapshotId: SNAP_DATA, copySnapshotId: 'snap-0ddddddddddddddd2', state: 'completed', shared: true },
      ],
    });
    expect(result.summary).toContain(`re-encrypted with ${KEY_ARN} and shared with account ${FORENSIC_ACCOUNT}`);
  });

  it('copies a snapshot only once it has completed', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand, { SnapshotIds: [SNAP_ROOT, SNAP_DATA] }).resolves(snapshotsIn('completed', 'pending', '10%'));
    ec2Mock.on(DescribeSnapshotsCommand, { OwnerIds: ['self'] }).resolves({ Snapshots: [] });
    ec2Mock.on(CopySnapshotCommand).resolves({ SnapshotId: 'snap-0ddddddddddddddd1' });

    // Act
    const result = await copySnapshotsToForensicAccount.run(context(copyOptions));

    // Assess
    expect(ec2Mock.commandCalls(CopySnapshotCommand).map((c) => c.args[0].input.SourceSnapshotId)).toEqual([SNAP_ROOT]);
    expect(result.status).toBe('pending');
    expect(result.summary).toContain(`source ${SNAP_DATA} (10%)`);
  });

  it('copies again when the only copy of a snapshot ended in error', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand, { SnapshotIds: [SNAP_ROOT, SNAP_DATA] }).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeSnapshotsCommand, { OwnerIds: ['self'] }).resolves({
      Snapshots: [
        { SnapshotId: 'snap-0ddddddddddddddd1', State: 'completed', Tags: copyTags(SNAP_ROOT) },
        { SnapshotId: 'snap-0ddddddddddddddd2', State: 'error', Tags: copyTags(SNAP_DATA) },
      ],
    });
    ec2Mock.on(CopySnapshotCommand).resolves({ SnapshotId: 'snap-0ddddddddddddddd3' });
    ec2Mock.on(ModifySnapshotAttributeCommand).resolves({});

    // Act
    const result = await copySnapshotsToForensicAccount.run(context(copyOptions));

    // Assess
    expect(ec2Mock.commandCalls(CopySnapshotCommand).map((c) => c.args[0].input.SourceSnapshotId)).toEqual([SNAP_DATA]);
    expect(ec2Mock.commandCalls(ModifySnapshotAttributeCommand).map((c) => c.args[0].input.SnapshotId)).toEqual(['snap-0ddddddddddddddd1']);
    expect(result.status).toBe('pending');
  });

  it('is skipped when snapshotVolumes recorded no snapshot', async () => {
    // Prepare
    const outcomes = await snapshotted([]);

    // Act
    const result = await copySnapshotsToForensicAccount.run(aStepContext({ incident, options: copyOptions, outcomes }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('is skipped when no forensic account is configured', async () => {
    // Act
    const result = await copySnapshotsToForensicAccount.run(context(existingInstanceOptions));

    // Assess
    expect(result.status).toBe('skipped');
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('records what its schema reads back, pending or done', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand, { SnapshotIds: [SNAP_ROOT, SNAP_DATA] }).resolves(snapshotsIn('completed', 'pending', '10%'));
    ec2Mock.on(DescribeSnapshotsCommand, { OwnerIds: ['self'] }).resolves({ Snapshots: [] });
    ec2Mock.on(CopySnapshotCommand).resolves({ SnapshotId: 'snap-0ddddddddddddddd1' });
    const pending = await copySnapshotsToForensicAccount.run(context(copyOptions));
    ec2Mock.on(DescribeSnapshotsCommand, { SnapshotIds: [SNAP_ROOT, SNAP_DATA] }).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock.on(DescribeSnapshotsCommand, { OwnerIds: ['self'] }).resolves({
      Snapshots: [
        { SnapshotId: 'snap-0ddddddddddddddd1', State: 'completed', Tags: copyTags(SNAP_ROOT) },
        { SnapshotId: 'snap-0ddddddddddddddd2', State: 'completed', Tags: copyTags(SNAP_DATA) },
      ],
    });
    ec2Mock.on(ModifySnapshotAttributeCommand).resolves({});

    // Act
    const done = await copySnapshotsToForensicAccount.run(context(copyOptions));

    // Assess
    expect((pending.data as { copies: unknown[] }).copies).toEqual([
      { sourceSnapshotId: SNAP_ROOT, copySnapshotId: 'snap-0ddddddddddddddd1', state: 'pending', shared: false },
      { sourceSnapshotId: SNAP_DATA, state: 'waiting-for-source', shared: false },
    ]);
    expect(copySnapshotsToForensicAccount.data.parse(JSON.parse(JSON.stringify(pending.data)))).toEqual(pending.data);
    expect(recordedBy(copySnapshotsToForensicAccount, done)).toEqual(done.data);
  });

  it('settles on the oldest copy of a snapshot when two deliveries raced, whatever page it is on', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand, { SnapshotIds: [SNAP_ROOT, SNAP_DATA] }).resolves(snapshotsIn('completed', 'completed'));
    ec2Mock
      .on(DescribeSnapshotsCommand, { OwnerIds: ['self'] })
      .resolvesOnce({
        Snapshots: [
          { SnapshotId: 'snap-0ddddddddddddddd3', State: 'completed', StartTime: new Date('2025-06-19T14:52:00Z'), Tags: copyTags(SNAP_ROOT) },
          { SnapshotId: 'snap-0ddddddddddddddd2', State: 'completed', StartTime: new Date('2025-06-19T14:51:00Z'), Tags: copyTags(SNAP_DATA) },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({ Snapshots: [{ SnapshotId: 'snap-0ddddddddddddddd1', State: 'completed', StartTime: new Date('2025-06-19T14:50:00Z'), Tags: copyTags(SNAP_ROOT) }] });
    ec2Mock.on(ModifySnapshotAttributeCommand).resolves({});

    // Act
    const result = await copySnapshotsToForensicAccount.run(context(copyOptions));

    // Assess
    expect(ec2Mock.commandCalls(DescribeSnapshotsCommand, { OwnerIds: ['self'] })).toHaveLength(2);
    expect(ec2Mock.commandCalls(CopySnapshotCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(ModifySnapshotAttributeCommand).map((c) => c.args[0].input.SnapshotId)).toEqual(['snap-0ddddddddddddddd1', 'snap-0ddddddddddddddd2']);
    expect(result.status).toBe('done');
  });

  it('declares the KMS actions EBS needs to re-encrypt with a customer-managed key', () => {
    // Assess
    expect(copySnapshotsToForensicAccount.iamActions).toEqual([
      'ec2:DescribeSnapshots',
      'ec2:CopySnapshot',
      'ec2:CreateTags',
      'ec2:ModifySnapshotAttribute',
      'kms:CreateGrant',
      'kms:Decrypt',
      'kms:DescribeKey',
      'kms:GenerateDataKeyWithoutPlaintext',
      'kms:ReEncryptFrom',
      'kms:ReEncryptTo',
    ]);
    expect(copySnapshotsToForensicAccount.stage).toBe('investigate');
    expect(copySnapshotsToForensicAccount.requires).toEqual([snapshotVolumes]);
  });
});
