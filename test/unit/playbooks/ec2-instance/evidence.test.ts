import {
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  CreateTagsCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  GetConsoleOutputCommand,
  GetConsoleScreenshotCommand,
} from '@aws-sdk/client-ec2';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { RecordedDataError } from '../../../../shared/errors/index.ts';
import { parseRecorded } from '../../../../shared/engine/index.ts';
import { captureInstance } from '../../../../shared/playbooks/ec2-instance/describe.ts';
import {
  captureConsoleOutput,
  captureConsoleScreenshot,
  preserveInstanceMetadata,
  snapshotVolumes,
  tagInstance,
} from '../../../../shared/playbooks/ec2-instance/evidence.ts';
import { anIncident, anInstance, aStepContext, EVIDENCE_BUCKET, FIXED_NOW, INSTANCE_ID, motoNotImplemented, recordedBy } from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
const s3Mock = mockClient(S3Client);
afterEach(() => {
  ec2Mock.reset();
  s3Mock.reset();
});

const incident = anIncident({ ticket: 'SEC-1234' });
const twoVolumes = [
  { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', deleteOnTermination: true },
  { volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb', deleteOnTermination: false },
];
const expectedSnapshotTags = [
  { Key: 'firebreak:incident-id', Value: incident.incidentId },
  { Key: 'firebreak:finding-id', Value: incident.findingId },
  { Key: 'firebreak:finding-type', Value: 'Backdoor:EC2/C&CActivity.B' },
  { Key: 'firebreak:ticket', Value: 'SEC-1234' },
  { Key: 'firebreak:instance-id', Value: INSTANCE_ID },
];

describe('Step: snapshotVolumes', () => {
  it('snapshots every volume crash-consistently in one call, tagged with the incident', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2Mock.on(CreateSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-1', VolumeId: 'vol-0aaaaaaaaaaaaaaa1' },
        { SnapshotId: 'snap-2', VolumeId: 'vol-0aaaaaaaaaaaaaaa2' },
      ],
    });

    // Act
    const result = await snapshotVolumes.run(aStepContext({ incident, resource: anInstance({ volumes: twoVolumes }) }));

    // Assess
    expect(ec2Mock.commandCalls(DescribeSnapshotsCommand)[0]!.args[0].input).toEqual({
      OwnerIds: ['self'],
      Filters: [{ Name: 'tag:firebreak:incident-id', Values: [incident.incidentId] }],
    });
    expect(ec2Mock.commandCalls(CreateSnapshotsCommand).map((c) => c.args[0].input)).toEqual([
      {
        InstanceSpecification: { InstanceId: INSTANCE_ID, ExcludeBootVolume: false },
        Description: `Firebreak ${incident.incidentId}: ${INSTANCE_ID}`,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: expectedSnapshotTags }],
        CopyTagsFromSource: 'volume',
      },
    ]);
    expect(ec2Mock.commandCalls(CreateSnapshotCommand)).toHaveLength(0);
    expect(result).toEqual({
      status: 'done',
      summary: 'snapshots snap-1 (vol-0aaaaaaaaaaaaaaa1), snap-2 (vol-0aaaaaaaaaaaaaaa2)',
      data: {
        snapshots: [
          { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', snapshotId: 'snap-1' },
          { volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb', snapshotId: 'snap-2' },
        ],
      },
    });
  });

  it('takes no new snapshot when the incident already has one of every volume', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-1', VolumeId: 'vol-0aaaaaaaaaaaaaaa1' },
        { SnapshotId: 'snap-2', VolumeId: 'vol-0aaaaaaaaaaaaaaa2' },
      ],
    });

    // Act
    const result = await snapshotVolumes.run(aStepContext({ incident, resource: anInstance({ volumes: twoVolumes }) }));

    // Assess
    expect(ec2Mock.commandCalls(CreateSnapshotsCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateSnapshotCommand)).toHaveLength(0);
    expect(result.status).toBe('done');
    expect(result.summary).toBe('snapshots snap-1 (vol-0aaaaaaaaaaaaaaa1), snap-2 (vol-0aaaaaaaaaaaaaaa2) (2 existed already)');
  });

  it('snapshots again a volume whose incident snapshot failed, and never mistakes a forensic-account copy for a snapshot', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-failed', VolumeId: 'vol-0aaaaaaaaaaaaaaa1', State: 'error' },
        { SnapshotId: 'snap-copy', VolumeId: 'vol-0aaaaaaaaaaaaaaa2', State: 'completed', Tags: [{ Key: 'firebreak:source-snapshot', Value: 'snap-0' }] },
      ],
    });
    ec2Mock.on(CreateSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-1', VolumeId: 'vol-0aaaaaaaaaaaaaaa1' },
        { SnapshotId: 'snap-2', VolumeId: 'vol-0aaaaaaaaaaaaaaa2' },
      ],
    });

    // Act
    const result = await snapshotVolumes.run(aStepContext({ incident, resource: anInstance({ volumes: twoVolumes }) }));

    // Assess
    expect(ec2Mock.commandCalls(CreateSnapshotsCommand)).toHaveLength(1);
    expect(result.data).toEqual({
      snapshots: [
        { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', snapshotId: 'snap-1' },
        { volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb', snapshotId: 'snap-2' },
      ],
    });
  });

  it('snapshots only the volumes still missing after a partial earlier attempt', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-1', VolumeId: 'vol-0aaaaaaaaaaaaaaa1' }] });
    ec2Mock.on(CreateSnapshotCommand).resolves({ SnapshotId: 'snap-2' });

    // Act
    const result = await snapshotVolumes.run(aStepContext({ incident, resource: anInstance({ volumes: twoVolumes }) }));

    // Assess
    expect(ec2Mock.commandCalls(CreateSnapshotsCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(CreateSnapshotCommand).map((c) => c.args[0].input)).toEqual([
      {
        VolumeId: 'vol-0aaaaaaaaaaaaaaa2',
        Description: `Firebreak ${incident.incidentId}: ${INSTANCE_ID}`,
        TagSpecifications: [{ ResourceType: 'snapshot', Tags: expectedSnapshotTags }],
      },
    ]);
    expect(result.data).toEqual({
      snapshots: [
        { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', snapshotId: 'snap-1' },
        { volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb', snapshotId: 'snap-2' },
      ],
    });
    expect(result.summary).toContain('(1 existed already)');
  });

  it('skips an instance without EBS volumes', async () => {
    // Act
    const result = await snapshotVolumes.run(aStepContext({ resource: anInstance({ volumes: [] }) }));

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} has no EBS volume` });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('records a volume EC2 returned no snapshot of without an id, and says so', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2Mock.on(CreateSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: 'snap-1', VolumeId: 'vol-0aaaaaaaaaaaaaaa1' }] });

    // Act
    const result = await snapshotVolumes.run(aStepContext({ incident, resource: anInstance({ volumes: twoVolumes }) }));

    // Assess
    expect(result).toEqual({
      status: 'done',
      summary: 'snapshots snap-1 (vol-0aaaaaaaaaaaaaaa1), none (vol-0aaaaaaaaaaaaaaa2)',
      data: {
        snapshots: [
          { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', snapshotId: 'snap-1' },
          { volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb' },
        ],
      },
    });
    expect(recordedBy(snapshotVolumes, result)).toEqual(result.data);
  });

  it('reads back what it recorded, and what the ledger holds from before, through its schema', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2Mock.on(CreateSnapshotsCommand).resolves({
      Snapshots: [
        { SnapshotId: 'snap-1', VolumeId: 'vol-0aaaaaaaaaaaaaaa1' },
        { SnapshotId: 'snap-2', VolumeId: 'vol-0aaaaaaaaaaaaaaa2' },
      ],
    });
    const result = await snapshotVolumes.run(aStepContext({ incident, resource: anInstance({ volumes: twoVolumes }) }));
    const fromTheLedger = { snapshots: [{ volumeId: 'vol-1', deviceName: '/dev/xvda', snapshotId: 'snap-1', progress: 'ignored' }] };

    // Act
    const recorded = recordedBy(snapshotVolumes, result);
    const older = parseRecorded(snapshotVolumes, fromTheLedger);

    // Assess
    expect(recorded).toEqual(result.data);
    expect(older).toEqual({ snapshots: [{ volumeId: 'vol-1', deviceName: '/dev/xvda', snapshotId: 'snap-1' }] });
    expect(() => parseRecorded(snapshotVolumes, { snapshots: [{ snapshotId: 'snap-1' }] })).toThrow(RecordedDataError);
  });
});

describe('Step: captureConsoleOutput', () => {
  it('saves the decoded console output to the evidence bucket', async () => {
    // Prepare
    ec2Mock.on(GetConsoleOutputCommand).resolves({ Output: Buffer.from('kernel: evil module loaded').toString('base64') });
    s3Mock.on(PutObjectCommand).resolves({});

    // Act
    const result = await captureConsoleOutput.run(aStepContext({ incident }));

    // Assess
    expect(ec2Mock.commandCalls(GetConsoleOutputCommand)[0]!.args[0].input).toEqual({ InstanceId: INSTANCE_ID, Latest: true });
    const put = s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put).toMatchObject({ Bucket: EVIDENCE_BUCKET, Key: `incidents/${incident.incidentId}/console-output.txt` });
    expect(Buffer.from(put.Body as Buffer).toString('utf8')).toBe('kernel: evil module loaded');
    expect(result.status).toBe('done');
    expect(result.evidence).toEqual([expect.objectContaining({ key: `incidents/${incident.incidentId}/console-output.txt`, bytes: 26 })]);
  });

  it('saves an empty file when the instance has no console output yet', async () => {
    // Prepare
    ec2Mock.on(GetConsoleOutputCommand).resolves({});
    s3Mock.on(PutObjectCommand).resolves({});

    // Act
    const result = await captureConsoleOutput.run(aStepContext());

    // Assess
    expect(result.evidence![0]!.bytes).toBe(0);
  });
});

describe('Step: captureConsoleScreenshot', () => {
  it('saves the screenshot as a JPEG', async () => {
    // Prepare
    ec2Mock.on(GetConsoleScreenshotCommand).resolves({ ImageData: Buffer.from([0xff, 0xd8, 0xff, 0xe0]).toString('base64') });
    s3Mock.on(PutObjectCommand).resolves({});

    // Act
    const result = await captureConsoleScreenshot.run(aStepContext({ incident }));

    // Assess
    expect(ec2Mock.commandCalls(GetConsoleScreenshotCommand)[0]!.args[0].input).toEqual({ InstanceId: INSTANCE_ID, WakeUp: true });
    expect(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input).toMatchObject({
      Key: `incidents/${incident.incidentId}/console-screenshot.jpg`,
      ContentType: 'image/jpeg',
    });
    expect(result.status).toBe('done');
  });

  it('skips when the instance returns no image', async () => {
    // Prepare
    ec2Mock.on(GetConsoleScreenshotCommand).resolves({});

    // Act
    const result = await captureConsoleScreenshot.run(aStepContext());

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: 'the instance returned no console screenshot' });
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('throws the endpoint error when the API is not implemented (moto answers 500)', async () => {
    // Prepare
    ec2Mock.on(GetConsoleScreenshotCommand).rejects(motoNotImplemented('GetConsoleScreenshot'));

    // Act
    const run = captureConsoleScreenshot.run(aStepContext());

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'InternalFailure', $metadata: { httpStatusCode: 500 } });
    expect(s3Mock.calls()).toHaveLength(0);
  });
});

describe('Step: preserveInstanceMetadata', () => {
  it('saves the incident, the capture before containment and the DescribeInstances answer', async () => {
    // Prepare
    s3Mock.on(PutObjectCommand).resolves({});
    const resource = anInstance({ raw: { InstanceId: INSTANCE_ID, InstanceType: 't3.medium' } });
    const capture = { ...captureInstance(resource), capturedAt: '2025-06-19T14:40:10.000Z' };

    // Act
    const result = await preserveInstanceMetadata.run(aStepContext({ incident, capture, resource }));

    // Assess
    const put = s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put.Key).toBe(`incidents/${incident.incidentId}/instance-metadata.json`);
    expect(JSON.parse(Buffer.from(put.Body as Buffer).toString('utf8'))).toEqual({
      incident,
      captureBeforeContainment: capture,
      describeInstances: { InstanceId: INSTANCE_ID, InstanceType: 't3.medium' },
    });
    expect(result.status).toBe('done');
    expect(result.evidence).toHaveLength(1);
  });
});

describe('Step: tagInstance', () => {
  it('tags the instance with the incident id, ticket, status and containment time', async () => {
    // Prepare
    ec2Mock.on(CreateTagsCommand).resolves({});

    // Act
    const result = await tagInstance.run(aStepContext({ incident }));

    // Assess
    expect(ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([
      {
        Resources: [INSTANCE_ID],
        Tags: [
          { Key: 'firebreak:incident-id', Value: incident.incidentId },
          { Key: 'firebreak:finding-id', Value: incident.findingId },
          { Key: 'firebreak:finding-type', Value: 'Backdoor:EC2/C&CActivity.B' },
          { Key: 'firebreak:ticket', Value: 'SEC-1234' },
          { Key: 'firebreak:status', Value: 'contained' },
          { Key: 'firebreak:contained-at', Value: FIXED_NOW.toISOString() },
        ],
      },
    ]);
    expect(result.status).toBe('done');
  });

  it('records the tags it wrote, which its schema reads back', async () => {
    // Prepare
    ec2Mock.on(CreateTagsCommand).resolves({});

    // Act
    const result = await tagInstance.run(aStepContext({ incident: anIncident() }));

    // Assess
    expect(result.summary).toBe(`tagged ${INSTANCE_ID} with firebreak:incident-id, firebreak:finding-id, firebreak:finding-type, firebreak:status, firebreak:contained-at`);
    expect(recordedBy(tagInstance, result)).toEqual({
      tags: {
        'firebreak:incident-id': anIncident().incidentId,
        'firebreak:finding-id': anIncident().findingId,
        'firebreak:finding-type': 'Backdoor:EC2/C&CActivity.B',
        'firebreak:status': 'contained',
        'firebreak:contained-at': FIXED_NOW.toISOString(),
      },
    });
  });
});
