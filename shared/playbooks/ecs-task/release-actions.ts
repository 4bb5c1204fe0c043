import { TagResourceCommand } from '@aws-sdk/client-ecs';
import { tagList } from '../../actions/tagging.ts';
import { hasErrorCode } from '../../errors/index.ts';
import { preserveTaskEvidence, tagTask } from './evidence.ts';
import { stopTask } from './stop.ts';
import { ecsReleaseAction } from './types.ts';

// Release never touches evidence; a stopped task is not started again. The first action says
// so; the last tags the task released.

export const keepEvidence = ecsReleaseAction({
  name: 'keepEvidence',
  description: "Leave the evidence, the task's incident tags and a stopped task as containment left them",
  iamActions: [],
  async run(ctx) {
    const kept: string[] = [];
    if (ctx.outcomeOf(preserveTaskEvidence)?.status === 'done') kept.push(`the task's evidence (ecs-task.json) in the evidence bucket for ${ctx.incident.incidentId} is kept`);
    if (ctx.outcomeOf(stopTask)?.status === 'done') kept.push('the task stopped in full mode stays stopped (ECS cannot start a stopped task; its service runs a replacement)');
    kept.push(`nothing in the evidence bucket for ${ctx.incident.incidentId} is touched`);
    return { status: 'done', summary: `kept: ${kept.join('; ')}`, keptProtections: kept };
  },
});

export const tagReleased = ecsReleaseAction({
  name: 'tagReleased',
  description: 'Tag the task as released, with when and by whom',
  iamActions: ['ecs:TagResource'],
  async run(ctx) {
    const failed = Object.entries(ctx.released)
      .filter(([name, o]) => name !== 'tagReleased' && o.status === 'failed')
      .map(([name]) => name);
    if (failed.length) return { status: 'skipped', summary: `not tagged released while the release is incomplete (${failed.join(', ')} failed); the retry that completes it tags it` };
    if (!ctx.outputOf(tagTask)) return { status: 'skipped', summary: `${ctx.incident.resource.id} was not tagged by containment, so it is not tagged released either` };
    const written = tagList({ 'firebreak:status': 'released', 'firebreak:released-at': ctx.now().toISOString(), 'firebreak:released-by': ctx.request.requestedBy });
    try {
      await ctx.clients.ecs.send(new TagResourceCommand({ resourceArn: ctx.incident.resource.id, tags: written.map((t) => ({ key: t.Key, value: t.Value })) }));
    } catch (error) {
      if (hasErrorCode(error, 'ResourceNotFoundException', 'InvalidParameterException')) return { status: 'skipped', summary: `task ${ctx.incident.resource.id} no longer exists: nothing to tag`, data: { taskGone: true } };
      throw error;
    }
    return { status: 'done', summary: `tagged task ${ctx.incident.resource.id} ${written.map((t) => t.Key).join(', ')}`, data: { tags: Object.fromEntries(written.map((t) => [t.Key, t.Value])) } };
  },
});
