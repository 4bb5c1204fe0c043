import { tagList } from '../../actions/tagging.ts';
import { mergeBucketTags } from './evidence.ts';
import { preserveBucketConfiguration } from './evidence.ts';
import { reviewBucketDataEvents, reviewBucketManagementEvents } from './investigation.ts';
import { reportBucketRecommendations } from './report.ts';
import { s3ReleaseAction } from './types.ts';

export const keepEvidence = s3ReleaseAction({
  name: 'keepEvidence',
  description: "Leave the bucket's data and every piece of evidence as they are",
  iamActions: [],
  async run(ctx) {
    const saved = [preserveBucketConfiguration, reviewBucketManagementEvents, reviewBucketDataEvents, reportBucketRecommendations].filter((s) => ctx.outcomeOf(s)?.status === 'done').map((s) => s.name);
    const kept = [
      `the data of ${ctx.incident.resource.id} was never touched by containment and is not touched by release`,
      `evidence is kept: the evidence bucket's objects for ${ctx.incident.incidentId}${saved.length ? ` (from ${saved.join(', ')})` : ''} are not touched`,
    ];
    return { status: 'done', summary: `kept: ${kept.join('; ')}`, keptProtections: kept };
  },
});

export const tagReleased = s3ReleaseAction({
  name: 'tagReleased',
  description: 'Tag the bucket as released, with when and by whom, keeping every other tag',
  iamActions: ['s3:GetBucketTagging', 's3:PutBucketTagging'],
  async run(ctx) {
    const failed = Object.entries(ctx.released)
      .filter(([name, o]) => name !== 'tagReleased' && o.status === 'failed')
      .map(([name]) => name);
    if (failed.length) return { status: 'skipped', summary: `not tagged released while the release is incomplete (${failed.join(', ')} failed); the retry that completes it tags it` };
    const bucket = await ctx.resource();
    if (!bucket) return { status: 'skipped', summary: `${ctx.incident.resource.id} no longer exists: nothing to tag`, data: { bucketGone: true } };
    const tags = tagList({ 'firebreak:status': 'released', 'firebreak:released-at': ctx.now().toISOString(), 'firebreak:released-by': ctx.request.requestedBy });
    const out = await mergeBucketTags(ctx.clients.s3, bucket.name, tags);
    if ('refused' in out) return { status: 'skipped', summary: `not tagged released: ${out.refused}` };
    return { status: 'done', summary: `tagged ${bucket.name} ${Object.keys(out.written).join(', ')} (its other tags kept)`, data: { tags: out.written } };
  },
});
