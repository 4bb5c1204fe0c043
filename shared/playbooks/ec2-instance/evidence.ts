import { CreateTagsCommand, GetConsoleOutputCommand, GetConsoleScreenshotCommand } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { SNAPSHOT_IAM_ACTIONS, snapshotInstanceVolumes } from '../../actions/snapshots.ts';
import { incidentTags } from '../../actions/tagging.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { ec2Step } from './types.ts';

/**
 * What snapshotVolumes records: one entry per EBS volume of the instance. `snapshotId` is
 * absent only when EC2 returned no snapshot of the volume (a volume detached meanwhile).
 */
export const SnapshotVolumesDataSchema = z.object({
  snapshots: z.array(z.object({ volumeId: z.string(), deviceName: z.string(), snapshotId: z.string().optional() })),
});

export const snapshotVolumes = ec2Step({
  name: 'snapshotVolumes',
  stage: 'evidence',
  description: 'Snapshot every EBS volume (crash-consistent, tagged with the incident) for offline analysis',
  iamActions: [...SNAPSHOT_IAM_ACTIONS],
  data: SnapshotVolumesDataSchema,
  async run({ clients, resource, incident }) {
    if (resource.volumes.length === 0) return { status: 'skipped', summary: `${resource.instanceId} has no EBS volume` };
    // A redelivery after a partial failure must not snapshot twice: the action finds what exists for this incident.
    const { snapshots, existed } = await snapshotInstanceVolumes(clients.ec2, incident, resource.instanceId, resource.volumes);
    return {
      status: 'done',
      summary: `snapshots ${snapshots.map((s) => `${s.snapshotId ?? 'none'} (${s.volumeId})`).join(', ')}${existed ? ` (${existed} existed already)` : ''}`,
      data: { snapshots },
    };
  },
});

export const captureConsoleOutput = ec2Step({
  name: 'captureConsoleOutput',
  stage: 'evidence',
  description: "Save the instance's console output to the evidence bucket",
  iamActions: ['ec2:GetConsoleOutput', ...EVIDENCE_IAM_ACTIONS],
  async run({ clients, resource, incident, evidence }) {
    const out = await clients.ec2.send(new GetConsoleOutputCommand({ InstanceId: resource.instanceId, Latest: true }));
    const text = out.Output ? Buffer.from(out.Output, 'base64').toString('utf8') : '';
    const ref = await evidence.putText(incident.incidentId, 'console-output.txt', text);
    return { status: 'done', summary: `console output saved (${ref.bytes} bytes, sha256 ${ref.sha256.slice(0, 12)}…)`, evidence: [ref] };
  },
});

export const captureConsoleScreenshot = ec2Step({
  name: 'captureConsoleScreenshot',
  stage: 'evidence',
  description: "Save a screenshot of the instance's console to the evidence bucket",
  iamActions: ['ec2:GetConsoleScreenshot', ...EVIDENCE_IAM_ACTIONS],
  async run({ clients, resource, incident, evidence }) {
    const out = await clients.ec2.send(new GetConsoleScreenshotCommand({ InstanceId: resource.instanceId, WakeUp: true }));
    if (!out.ImageData) return { status: 'skipped', summary: 'the instance returned no console screenshot' };
    const ref = await evidence.putBytes(incident.incidentId, 'console-screenshot.jpg', Buffer.from(out.ImageData, 'base64'), 'image/jpeg');
    return { status: 'done', summary: `console screenshot saved (sha256 ${ref.sha256.slice(0, 12)}…)`, evidence: [ref] };
  },
});

export const preserveInstanceMetadata = ec2Step({
  name: 'preserveInstanceMetadata',
  stage: 'evidence',
  description: "Save the instance's metadata as captured before containment to the evidence bucket",
  iamActions: [...EVIDENCE_IAM_ACTIONS],
  async run({ evidence, incident, capture, resource }) {
    const ref = await evidence.putJson(incident.incidentId, 'instance-metadata.json', {
      incident,
      captureBeforeContainment: capture,
      describeInstances: resource.raw,
    });
    return { status: 'done', summary: `instance metadata saved (sha256 ${ref.sha256.slice(0, 12)}…)`, evidence: [ref] };
  },
});

/** What tagInstance records: the tags it wrote, as a map. */
export const TagInstanceDataSchema = z.object({ tags: z.record(z.string(), z.string()) });

export const tagInstance = ec2Step({
  name: 'tagInstance',
  stage: 'evidence',
  description: 'Tag the instance with the incident id, ticket, status and containment time',
  iamActions: ['ec2:CreateTags'],
  data: TagInstanceDataSchema,
  async run({ clients, resource, incident, now }) {
    const tags = incidentTags(incident, { 'firebreak:status': 'contained', 'firebreak:contained-at': now().toISOString() });
    await clients.ec2.send(new CreateTagsCommand({ Resources: [resource.instanceId], Tags: tags }));
    return { status: 'done', summary: `tagged ${resource.instanceId} with ${tags.map((t) => t.Key).join(', ')}`, data: { tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])) } };
  },
});
