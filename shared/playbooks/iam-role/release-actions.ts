import { TagRoleCommand } from '@aws-sdk/client-iam';
import { iamTags } from '../../actions/iam-tags.ts';
import { tagList } from '../../actions/tagging.ts';
import { preserveRoleConfiguration, tagRole } from './evidence.ts';
import { roleReleaseAction } from './types.ts';

// Release never touches evidence: the evidence bucket's objects and the incident's tags on the
// role stay. The first action says so; the last tags the role released.

export const keepEvidence = roleReleaseAction({
  name: 'keepEvidence',
  description: "Leave the evidence and the role's incident tags as containment left them",
  iamActions: [],
  async run(ctx) {
    const kept: string[] = [];
    if (ctx.outcomeOf(preserveRoleConfiguration)?.status === 'done') kept.push(`the role's configuration saved in the evidence bucket for ${ctx.incident.incidentId} is kept`);
    if (ctx.outputOf(tagRole)) kept.push("the role keeps its firebreak:incident-id, finding and ticket tags (firebreak:status becomes released)");
    kept.push(`nothing in the evidence bucket for ${ctx.incident.incidentId} is touched`);
    return { status: 'done', summary: `kept: ${kept.join('; ')}`, keptProtections: kept };
  },
});

export const tagReleased = roleReleaseAction({
  name: 'tagReleased',
  description: 'Tag the role as released, with when and by whom',
  iamActions: ['iam:TagRole'],
  async run(ctx) {
    const failed = Object.entries(ctx.released)
      .filter(([name, o]) => name !== 'tagReleased' && o.status === 'failed')
      .map(([name]) => name);
    if (failed.length) return { status: 'skipped', summary: `not tagged released while the release is incomplete (${failed.join(', ')} failed); the retry that completes it tags it` };
    // Only a role containment tagged: a protected, own, service-linked or Identity Center role was never tagged and is left alone.
    if (!ctx.outputOf(tagRole)) return { status: 'skipped', summary: `role ${ctx.incident.resource.id} was not tagged by containment, so it is not tagged released either` };
    const role = await ctx.resource();
    if (!role) return { status: 'skipped', summary: `role ${ctx.incident.resource.id} no longer exists: nothing to tag`, data: { roleGone: true } };
    const written = iamTags(tagList({ 'firebreak:status': 'released', 'firebreak:released-at': ctx.now().toISOString(), 'firebreak:released-by': ctx.request.requestedBy }));
    await ctx.clients.iam.send(new TagRoleCommand({ RoleName: role.roleName, Tags: written }));
    return { status: 'done', summary: `tagged role ${role.roleName} ${written.map((t) => t.Key).join(', ')}`, data: { tags: Object.fromEntries(written.map((t) => [t.Key, t.Value])) } };
  },
});
