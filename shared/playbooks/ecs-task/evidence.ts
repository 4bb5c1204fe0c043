import { TagResourceCommand } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { incidentTags } from '../../actions/tagging.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { ecsStep } from './types.ts';

/** An image reference without its tag or digest: `registry/repo:tag@sha256:…` → `registry/repo`. */
export function repositoryOf(image: string): string {
  const name = image.split('@')[0]!;
  const colon = name.lastIndexOf(':');
  return colon > name.lastIndexOf('/') ? name.slice(0, colon) : name;
}

/** The images the task ran, by digest: what to scan (ECR image scanning, Inspector) and to pin. */
const TaskEvidenceSchema = z.object({
  images: z.array(z.object({ container: z.string(), image: z.string(), imageDigest: z.string().optional() })),
});

export const preserveTaskEvidence = ecsStep({
  name: 'preserveTaskEvidence',
  stage: 'evidence',
  description: 'Save the task, its task definition, containers, image digests and network configuration (ENIs, security group rules before containment) to the evidence bucket; record the image digests for scanning',
  iamActions: [...EVIDENCE_IAM_ACTIONS],
  data: TaskEvidenceSchema,
  async run({ evidence, incident, capture, resource: task }) {
    const images = task.containers.map((c) => ({ container: c.name, image: c.image, ...(c.imageDigest ? { imageDigest: c.imageDigest } : {}) }));
    const ref = await evidence.putJson(incident.incidentId, 'ecs-task.json', {
      incident,
      captureBeforeContainment: capture,
      task: task.raw.task ?? null,
      taskDefinition: task.raw.taskDefinition ?? null,
      containerInstance: task.raw.containerInstance ?? null,
      networkInterfaces: task.raw.networkInterfaces ?? [],
      images,
    });
    if (task.kind === 'cluster') {
      return { status: 'done', summary: `the finding names cluster ${task.clusterArn} and no task: the finding and the cluster were saved (sha256 ${ref.sha256.slice(0, 12)}…); no task was acted on`, data: { images }, evidence: [ref] };
    }
    const digests = images.map((i) => `${i.container}: ${i.imageDigest ? `${repositoryOf(i.image)}@${i.imageDigest}` : `${i.image} (no digest reported)`}`);
    return {
      status: 'done',
      summary: `task ${task.taskArn}, its task definition, ${task.containers.length} container(s) and network configuration saved (sha256 ${ref.sha256.slice(0, 12)}…); images to scan: ${digests.join('; ') || 'none'}`,
      data: { images },
      evidence: [ref],
    };
  },
});

/** What tagTask records: the tags it wrote. */
const TagTaskSchema = z.object({ tags: z.record(z.string(), z.string()) });

export const tagTask = ecsStep({
  name: 'tagTask',
  stage: 'evidence',
  description: 'Tag the task with the incident id, finding, ticket, status and containment time',
  iamActions: ['ecs:TagResource'],
  data: TagTaskSchema,
  async run({ clients, resource: task, incident, now }) {
    if (task.kind === 'cluster') return { status: 'skipped', summary: 'the finding names no task: the cluster is not tagged' };
    const tags = incidentTags(incident, { 'firebreak:status': 'contained', 'firebreak:contained-at': now().toISOString() });
    await clients.ecs.send(new TagResourceCommand({ resourceArn: task.taskArn!, tags: tags.map((t) => ({ key: t.Key, value: t.Value })) }));
    return { status: 'done', summary: `tagged task ${task.taskArn} with ${tags.map((t) => t.Key).join(', ')}`, data: { tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])) } };
  },
});
