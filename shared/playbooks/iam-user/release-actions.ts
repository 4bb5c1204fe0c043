import { TagUserCommand } from '@aws-sdk/client-iam';
import { tagList } from '../../actions/tagging.ts';
import { hasErrorCode } from '../../errors/index.ts';
import { recordQuarantinePolicy } from './evidence.ts';
import { identifyUser } from './identify.ts';
import { createReplacementKey, deleteExposedKeys } from './keys.ts';
import { iamUserReleaseAction } from './types.ts';

// Release never undoes these: AWS's quarantine policy (AWS asks that it stays until its support
// case is closed), a replacement key the owner may already use, deleted keys (they cannot come
// back) and the evidence.

export const keepQuarantineReplacementAndEvidence = iamUserReleaseAction({
  name: 'keepQuarantineReplacementAndEvidence',
  description: "Leave AWS's quarantine policy, the replacement key and the evidence as containment left them; say which deleted keys cannot come back",
  iamActions: [],
  async run(ctx) {
    const kept: string[] = [];
    const quarantine = ctx.outputOf(recordQuarantinePolicy)?.attached ?? [];
    if (quarantine.length) kept.push(`AWS's ${quarantine.join(', ')} stays attached (Firebreak never detaches it: follow AWS's support case)`);
    const replacement = ctx.outputOf(createReplacementKey);
    if (replacement?.accessKeyId) kept.push(`the replacement key ${replacement.accessKeyId} stays, in Secrets Manager ${replacement.secretName} (delete the secret once its owner has the key)`);
    const deleted = ctx.outputOf(deleteExposedKeys)?.deleted ?? [];
    if (deleted.length) kept.push(`deleted key(s) ${deleted.join(', ')} cannot be restored`);
    kept.push(`evidence is kept: the evidence bucket's objects for ${ctx.incident.incidentId} are not touched`);
    return { status: 'done', summary: `kept as containment left them: ${kept.join('; ')}`, keptProtections: kept };
  },
});

export const tagReleased = iamUserReleaseAction({
  name: 'tagReleased',
  description: 'Tag the user as released, with when and by whom',
  iamActions: ['iam:TagUser'],
  async run(ctx) {
    const failed = Object.entries(ctx.released)
      .filter(([name, o]) => name !== 'tagReleased' && o.status === 'failed')
      .map(([name]) => name);
    if (failed.length) return { status: 'skipped', summary: `not tagged released while the release is incomplete (${failed.join(', ')} failed); the retry that completes it tags it` };
    const userName = ctx.outputOf(identifyUser)?.userName;
    if (!userName) return { status: 'skipped', summary: 'containment identified no user: nothing to tag' };
    const written = tagList({ 'firebreak:status': 'released', 'firebreak:released-at': ctx.now().toISOString(), 'firebreak:released-by': ctx.request.requestedBy });
    try {
      await ctx.clients.iam.send(new TagUserCommand({ UserName: userName, Tags: written }));
    } catch (error) {
      if (hasErrorCode(error, 'NoSuchEntity', 'NoSuchEntityException')) return { status: 'skipped', summary: `user ${userName} no longer exists: nothing to tag`, data: { userGone: true } };
      throw error;
    }
    return { status: 'done', summary: `tagged ${userName} ${written.map((t) => t.Key).join(', ')}`, data: { tags: Object.fromEntries(written.map((t) => [t.Key, t.Value])) } };
  },
});
