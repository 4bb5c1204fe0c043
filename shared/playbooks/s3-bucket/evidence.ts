import { PutBucketTaggingCommand, type S3Client } from '@aws-sdk/client-s3';
import * as z from 'zod';
import { incidentTags, type ResourceTag } from '../../actions/tagging.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { readBucketTags } from './describe.ts';
import { s3Step } from './types.ts';

/** S3 keeps at most 50 tags on a bucket. */
export const S3_MAX_TAGS = 50;

export const preserveBucketConfiguration = s3Step({
  name: 'preserveBucketConfiguration',
  stage: 'evidence',
  description: "Save the bucket's policy, ACL, Block Public Access settings, ownership controls and tags, as they were before containment, to the evidence bucket",
  iamActions: [...EVIDENCE_IAM_ACTIONS],
  async run({ evidence, incident, capture, resource }) {
    const ref = await evidence.putJson(incident.incidentId, 'bucket-configuration.json', {
      incident,
      // The first delivery's reading, before any step changed the bucket.
      beforeContainment: capture,
      describedAtThisDelivery: resource,
    });
    return { status: 'done', summary: `bucket configuration before containment saved (policy, ACL, Block Public Access, ownership, tags; sha256 ${ref.sha256.slice(0, 12)}…)`, evidence: [ref] };
  },
});

/**
 * Merges `tags` into the bucket's tag set (PutBucketTagging replaces the whole set: every other
 * tag is written back as it was). Returns the set written, or why not.
 */
export async function mergeBucketTags(s3: S3Client, bucket: string, tags: readonly ResourceTag[]): Promise<{ written: Record<string, string> } | { refused: string }> {
  const current = await readBucketTags(s3, bucket);
  const merged = { ...current, ...Object.fromEntries(tags.map((t) => [t.Key, t.Value])) };
  if (Object.keys(merged).length > S3_MAX_TAGS) {
    return { refused: `${bucket} has ${Object.keys(current).length} tags; adding ${tags.length} would pass S3's limit of ${S3_MAX_TAGS}, and no tag of the owner is ever dropped` };
  }
  await s3.send(new PutBucketTaggingCommand({ Bucket: bucket, Tagging: { TagSet: Object.entries(merged).map(([Key, Value]) => ({ Key, Value })) } }));
  return { written: Object.fromEntries(tags.map((t) => [t.Key, t.Value])) };
}

export const TagBucketDataSchema = z.object({ tags: z.record(z.string(), z.string()) });

export const tagBucket = s3Step({
  name: 'tagBucket',
  stage: 'evidence',
  description: 'Tag the bucket with the incident id, ticket, status and containment time, keeping every tag it has',
  iamActions: ['s3:GetBucketTagging', 's3:PutBucketTagging'],
  data: TagBucketDataSchema,
  async run({ clients, resource, incident, now }) {
    const tags = incidentTags(incident, { 'firebreak:status': 'contained', 'firebreak:contained-at': now().toISOString() });
    const out = await mergeBucketTags(clients.s3, resource.name, tags);
    if ('refused' in out) return { status: 'skipped', summary: `not tagged: ${out.refused}` };
    return { status: 'done', summary: `tagged ${resource.name} with ${Object.keys(out.written).join(', ')} (its other tags kept)`, data: { tags: out.written } };
  },
});
