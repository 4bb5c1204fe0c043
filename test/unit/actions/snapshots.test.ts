import { CreateSnapshotCommand, CreateSnapshotsCommand, DescribeSnapshotsCommand, EC2Client, type Snapshot } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  describeIncidentSnapshots,
  findIncidentSnapshots,
  findSnapshotCopies,
  snapshotInstanceVolumes,
  snapshotProgress,
} from '../../../shared/actions/snapshots.ts';
import { StepFailedError } from '../../../shared/errors/index.ts';
import { anIncident, awsError, INSTANCE_ID, someClients } from '../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const incident = anIncident();
const ec2 = () => someClients().ec2;
const ROOT = { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda' };
const DATA = { volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb' };
const copyOf = (source: string): Snapshot['Tags'] => [
  { Key: 'firebreak:incident-id', Value: incident.incidentId },
  { Key: 'firebreak:source-snapshot', Value: source },
];

describe('Function: findIncidentSnapshots', () => {
  it("reads every page of the incident's snapshots, keeping one usable snapshot per volume", async () => {
    // Prepare
    ec2Mock
      .on(DescribeSnapshotsCommand)
      .resolvesOnce({
        Snapshots: [
          { SnapshotId: 'snap-1', VolumeId: ROOT.volumeId, State: 'completed' },
          { SnapshotId: 'snap-failed', VolumeId: DATA.volumeId, State: 'error' },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        Snapshots: [
          { SnapshotId: 'snap-copy', VolumeId: DATA.volumeId, State: 'completed', Tags: copyOf('snap-0') },
          { SnapshotId: 'snap-2', VolumeId: DATA.volumeId, State: 'pending' },
          { SnapshotId: 'snap-no-volume', State: 'completed' },
        ],
      });

    // Act
    const found = await findIncidentSnapshots(ec2(), incident.incidentId);

    // Assess
    const calls = ec2Mock.commandCalls(DescribeSnapshotsCommand).map((c) => c.args[0].input);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ OwnerIds: ['self'], Filters: [{ Name: 'tag:firebreak:incident-id', Values: [incident.incidentId] }] });
    expect([...found]).toEqual([
      [ROOT.volumeId, 'snap-1'],
      [DATA.volumeId, 'snap-2'],
    ]);
  });
});

describe('Function: snapshotInstanceVolumes', () => {
  it('snapshots nothing again when every volume has its snapshot', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-1', VolumeId: ROOT.volumeId },
        { SnapshotId: 'snap-2', VolumeId: DATA.volumeId },
      ],
    });

    // Act
    const taken = await snapshotInstanceVolumes(ec2(), incident, INSTANCE_ID, [ROOT, DATA]);

    // Assess
    expect(taken).toEqual({
      snapshots: [
        { ...ROOT, snapshotId: 'snap-1' },
        { ...DATA, snapshotId: 'snap-2' },
      ],
      existed: 2,
    });
    expect(ec2Mock.commandCalls(CreateSnapshotsCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateSnapshotCommand)).toHaveLength(0);
  });

  it('leaves the id out for a volume CreateSnapshot returned no snapshot of', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-1', VolumeId: ROOT.volumeId }] });
    ec2Mock.on(CreateSnapshotCommand).resolves({});

    // Act
    const taken = await snapshotInstanceVolumes(ec2(), incident, INSTANCE_ID, [ROOT, DATA]);

    // Assess
    expect(taken).toEqual({ snapshots: [{ ...ROOT, snapshotId: 'snap-1' }, DATA], existed: 1 });
  });

  it('calls nothing but the lookup for an instance without volumes', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({});

    // Act
    const taken = await snapshotInstanceVolumes(ec2(), incident, INSTANCE_ID, []);

    // Assess
    expect(taken).toEqual({ snapshots: [], existed: 0 });
    expect(ec2Mock.calls()).toHaveLength(1);
  });
});

describe('Function: describeIncidentSnapshots', () => {
  const snapshots = [
    { ...ROOT, snapshotId: 'snap-1' },
    { ...DATA, snapshotId: 'snap-2' },
  ];

  it('returns the snapshots by id', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-1', State: 'completed' }, { SnapshotId: 'snap-2', State: 'pending', Progress: '42%' }] });

    // Act
    const states = await describeIncidentSnapshots(ec2(), 'createForensicVolumes', snapshots);

    // Assess
    expect(ec2Mock.commandCalls(DescribeSnapshotsCommand)[0]!.args[0].input).toEqual({ SnapshotIds: ['snap-1', 'snap-2'] });
    expect([...states.keys()]).toEqual(['snap-1', 'snap-2']);
    expect(snapshotProgress(snapshots, states)).toBe('snap-1 (completed), snap-2 (42%)');
  });

  it('fails the step for good when a snapshot was deleted, or ended in error', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).rejectsOnce(awsError('InvalidSnapshot.NotFound', { message: "The snapshot 'snap-2' does not exist." })).resolves({ Snapshots: [{ SnapshotId: 'snap-1', State: 'completed' }, { SnapshotId: 'snap-2', State: 'error' }] });

    // Act
    const deleted = await describeIncidentSnapshots(ec2(), 'copySnapshotsToForensicAccount', snapshots).catch((e: unknown) => e);
    const failed = await describeIncidentSnapshots(ec2(), 'copySnapshotsToForensicAccount', snapshots).catch((e: unknown) => e);

    // Assess
    expect(deleted).toBeInstanceOf(StepFailedError);
    expect(deleted).toMatchObject({ step: 'copySnapshotsToForensicAccount', code: 'SnapshotNotFound', retryable: false, cause: expect.objectContaining({ name: 'InvalidSnapshot.NotFound' }) });
    expect(failed).toMatchObject({ code: 'SnapshotFailed', retryable: false, message: expect.stringContaining('snap-2 are in state error') });
  });

  it('lets any other error through, for the engine to classify', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).rejects(awsError('RequestLimitExceeded', { httpStatusCode: 503 }));

    // Act
    const run = describeIncidentSnapshots(ec2(), 'createForensicVolumes', snapshots);

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'RequestLimitExceeded' });
  });
});

describe('Function: snapshotProgress', () => {
  it('says missing for a snapshot EC2 did not return', () => {
    // Act
    const progress = snapshotProgress([{ ...ROOT, snapshotId: 'snap-9' }], new Map());

    // Assess
    expect(progress).toBe('snap-9 (missing)');
  });
});

describe('Function: findSnapshotCopies', () => {
  it('finds the oldest usable copy of each source on any page, ignoring failed copies and untagged snapshots', async () => {
    // Prepare
    ec2Mock
      .on(DescribeSnapshotsCommand)
      .resolvesOnce({
        Snapshots: [
          { SnapshotId: 'snap-c3', State: 'completed', StartTime: new Date('2025-06-19T14:53:00Z'), Tags: copyOf('snap-1') },
          { SnapshotId: 'snap-c2', State: 'error', StartTime: new Date('2025-06-19T14:50:00Z'), Tags: copyOf('snap-2') },
        ],
        NextToken: 'page-2',
      })
      .resolvesOnce({
        Snapshots: [
          { SnapshotId: 'snap-c1', State: 'pending', StartTime: new Date('2025-06-19T14:51:00Z'), Tags: copyOf('snap-1') },
          { SnapshotId: 'snap-c4', State: 'completed', StartTime: new Date('2025-06-19T14:52:00Z'), Tags: copyOf('snap-2') },
          { SnapshotId: 'snap-untagged', State: 'completed' },
        ],
      });

    // Act
    const copies = await findSnapshotCopies(ec2(), incident.incidentId, ['snap-1', 'snap-2']);

    // Assess
    expect(ec2Mock.commandCalls(DescribeSnapshotsCommand)[0]!.args[0].input).toMatchObject({
      OwnerIds: ['self'],
      Filters: [
        { Name: 'tag:firebreak:incident-id', Values: [incident.incidentId] },
        { Name: 'tag:firebreak:source-snapshot', Values: ['snap-1', 'snap-2'] },
      ],
    });
    expect([...copies].map(([source, s]) => [source, s.SnapshotId])).toEqual([
      ['snap-1', 'snap-c1'],
      ['snap-2', 'snap-c4'],
    ]);
  });
});
