import {
  CreateSnapshotCommand,
  CreateSnapshotsCommand,
  CreateTagsCommand,
  DescribeSnapshotsCommand,
  GetConsoleOutputCommand,
  GetConsoleScreenshotCommand,
  type Tag,
} from '@aws-sdk/client-ec2';
import type { StepContext, StepDefinition } from '../../engine/index.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import type { Incident } from '../../findings/index.ts';
import type { Ec2Instance } from './describe.ts';

/** EC2 tag values: at most 256 characters; control characters never come from us. */
const tagValue = (v: string) => v.replace(/[\u0000-\u001f\u007f]/g, ' ').slice(0, 256);

export function incidentTags(incident: Incident, extra: Record<string, string> = {}): Tag[] {
  const tags: Record<string, string> = {
    'firebreak:incident-id': incident.incidentId,
    'firebreak:finding-id': incident.findingId,
    'firebreak:finding-type': incident.findingType,
    ...(incident.ticket ? { 'firebreak:ticket': incident.ticket } : {}),
    ...extra,
  };
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value: tagValue(Value) }));
}

export const snapshotVolumes: StepDefinition<Ec2Instance> = {
  name: 'snapshotVolumes',
  stage: 'evidence',
  description: 'Snapshot every EBS volume (crash-consistent, tagged with the incident) for offline analysis',
  iamActions: ['ec2:DescribeSnapshots', 'ec2:CreateSnapshots', 'ec2:CreateSnapshot', 'ec2:CreateTags'],
  async run({ clients, resource, incident }) {
    if (resource.volumes.length === 0) return { status: 'skipped', summary: `${resource.instanceId} has no EBS volume` };
    // A redelivery after a partial failure must not snapshot twice: find what exists for this incident.
    const existing = await clients.ec2.send(
      new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'tag:firebreak:incident-id', Values: [incident.incidentId] }] }),
    );
    // A snapshot that failed (`error`) is no evidence, and the copies made for a forensic
    // account carry the incident's tag too: neither counts as this volume's snapshot.
    const usable = (existing.Snapshots ?? []).filter((s) => s.State !== 'error' && !s.Tags?.some((t) => t.Key === 'firebreak:source-snapshot'));
    const have = new Map(usable.map((s) => [s.VolumeId!, s.SnapshotId!]));
    const missing = resource.volumes.filter((v) => !have.has(v.volumeId));
    const tagSpec = [{ ResourceType: 'snapshot' as const, Tags: incidentTags(incident, { 'firebreak:instance-id': resource.instanceId }) }];
    const description = `Firebreak ${incident.incidentId}: ${resource.instanceId}`;
    if (missing.length === resource.volumes.length) {
      const out = await clients.ec2.send(
        new CreateSnapshotsCommand({
          InstanceSpecification: { InstanceId: resource.instanceId, ExcludeBootVolume: false },
          Description: description,
          TagSpecifications: tagSpec,
          CopyTagsFromSource: 'volume',
        }),
      );
      for (const s of out.Snapshots ?? []) if (s.VolumeId && s.SnapshotId) have.set(s.VolumeId, s.SnapshotId);
    } else {
      await Promise.all(
        missing.map(async (v) => {
          const s = await clients.ec2.send(new CreateSnapshotCommand({ VolumeId: v.volumeId, Description: description, TagSpecifications: tagSpec }));
          have.set(v.volumeId, s.SnapshotId!);
        }),
      );
    }
    const snapshots = resource.volumes.map((v) => ({ volumeId: v.volumeId, deviceName: v.deviceName, snapshotId: have.get(v.volumeId) }));
    return {
      status: 'done',
      summary: `snapshots ${snapshots.map((s) => `${s.snapshotId} (${s.volumeId})`).join(', ')}${missing.length < resource.volumes.length ? ` (${resource.volumes.length - missing.length} existed already)` : ''}`,
      data: { snapshots },
    };
  },
};

export const captureConsoleOutput: StepDefinition<Ec2Instance> = {
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
};

export const captureConsoleScreenshot: StepDefinition<Ec2Instance> = {
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
};

export const preserveInstanceMetadata: StepDefinition<Ec2Instance> = {
  name: 'preserveInstanceMetadata',
  stage: 'evidence',
  description: "Save the instance's metadata as captured before containment to the evidence bucket",
  iamActions: [...EVIDENCE_IAM_ACTIONS],
  async run(ctx: StepContext<Ec2Instance>) {
    const ref = await ctx.evidence.putJson(ctx.incident.incidentId, 'instance-metadata.json', {
      incident: ctx.incident,
      captureBeforeContainment: ctx.capture,
      describeInstances: ctx.resource.raw,
    });
    return { status: 'done', summary: `instance metadata saved (sha256 ${ref.sha256.slice(0, 12)}…)`, evidence: [ref] };
  },
};

export const tagInstance: StepDefinition<Ec2Instance> = {
  name: 'tagInstance',
  stage: 'evidence',
  description: 'Tag the instance with the incident id, ticket, status and containment time',
  iamActions: ['ec2:CreateTags'],
  async run({ clients, resource, incident, now }) {
    const tags = incidentTags(incident, { 'firebreak:status': 'contained', 'firebreak:contained-at': now().toISOString() });
    await clients.ec2.send(new CreateTagsCommand({ Resources: [resource.instanceId], Tags: tags }));
    return { status: 'done', summary: `tagged ${resource.instanceId} with ${tags.map((t) => t.Key).join(', ')}`, data: { tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])) } };
  },
};
