import { AddTagsToResourceCommand } from '@aws-sdk/client-rds';
import { tagList } from '../../actions/tagging.ts';
import { targetName } from './modify.ts';
import { rdsReleaseAction } from './types.ts';
import type { Step } from '../../engine/index.ts';
import type { Rds } from './types.ts';

/** Says what release keeps: rotated passwords, IAM authentication, and the evidence. */
export const keepHardeningAndEvidence = (steps: { rotateUserPassword: Step<Rds, unknown>; enableIamAuthentication: Step<Rds, unknown> }) =>
  rdsReleaseAction({
    name: 'keepHardeningAndEvidence',
    description: 'Leave rotated passwords, IAM database authentication and all evidence as containment left them',
    iamActions: [],
    async run(ctx) {
      const kept: string[] = [];
      const rotated = ctx.outputOf(steps.rotateUserPassword) as { user?: string; method?: string; secretName?: string; secretArn?: string } | undefined;
      if (rotated?.method) kept.push(`the password of ${JSON.stringify(rotated.user)} rotated by containment (${rotated.method}${rotated.secretName ? `, kept in ${rotated.secretName}` : rotated.secretArn ? `, ${rotated.secretArn}` : ''}) is not changed back: hand the new one to its owner`);
      const iam = ctx.outputOf(steps.enableIamAuthentication) as { target: { kind: 'instance' | 'cluster'; id: string; arn: string }; wasEnabled: boolean } | undefined;
      if (iam && !iam.wasEnabled) {
        const flag = iam.target.kind === 'cluster' ? `aws rds modify-db-cluster --db-cluster-identifier ${iam.target.id}` : `aws rds modify-db-instance --db-instance-identifier ${iam.target.id}`;
        kept.push(`IAM database authentication, enabled by containment on ${targetName(iam.target)}, stays on (turn it off: ${flag} --no-enable-iam-database-authentication --apply-immediately)`);
      }
      kept.push(`evidence is kept: the evidence bucket's objects for ${ctx.incident.incidentId} (configuration, logs, hardening report) are not touched`);
      return { status: 'done', summary: `kept as containment left them: ${kept.join('; ')}`, keptProtections: kept };
    },
  });

export const tagReleased = rdsReleaseAction({
  name: 'tagReleased',
  description: 'Tag the DB instance (and its cluster) as released, with when and by whom',
  iamActions: ['rds:AddTagsToResource'],
  async run(ctx) {
    const failed = Object.entries(ctx.released)
      .filter(([name, o]) => name !== 'tagReleased' && o.status === 'failed')
      .map(([name]) => name);
    if (failed.length) return { status: 'skipped', summary: `not tagged released while the release is incomplete (${failed.join(', ')} failed); the retry that completes it tags it` };
    const db = await ctx.resource();
    if (!db) return { status: 'skipped', summary: `${ctx.incident.resource.id} no longer exists: nothing to tag` };
    const tags = tagList({ 'firebreak:status': 'released', 'firebreak:released-at': ctx.now().toISOString(), 'firebreak:released-by': ctx.request.requestedBy });
    const arns = [db.arn, ...(db.cluster?.arn ? [db.cluster.arn] : [])].filter(Boolean);
    for (const arn of arns) await ctx.clients.rds.send(new AddTagsToResourceCommand({ ResourceName: arn, Tags: tags }));
    return { status: 'done', summary: `tagged ${arns.join(' and ')} ${tags.map((t) => t.Key).join(', ')}` };
  },
});
