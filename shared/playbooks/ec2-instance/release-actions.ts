import { CreateTagsCommand } from '@aws-sdk/client-ec2';
import { tagList } from '../../actions/tagging.ts';
import { snapshotVolumes } from './evidence.ts';
import { copySnapshotsToForensicAccount, createForensicVolumes } from './forensics.ts';
import { enableStopProtection, enableTerminationProtection, preserveVolumesOnTermination, setShutdownBehaviourToStop } from './protection.ts';
import { ec2ReleaseAction } from './types.ts';

// Release never undoes these: protections that keep evidence safe stay as containment left
// them, and evidence (snapshots, forensic volumes and copies, evidence-bucket objects) is
// never touched. The first action says so; the last tags the instance released.

export const keepProtectionsAndEvidence = ec2ReleaseAction({
  name: 'keepProtectionsAndEvidence',
  description: 'Leave termination and stop protection, shutdown behaviour, DeleteOnTermination, a stopped instance and all evidence as containment left them',
  iamActions: [],
  async run(ctx) {
    const id = ctx.incident.resource.id;
    const done = (step: Parameters<typeof ctx.outcomeOf>[0]) => ctx.outcomeOf(step)?.status === 'done';
    const kept: string[] = [];
    // Said as "left as it is", not "on": a responder (or a later step) may have lifted one already.
    if (done(enableTerminationProtection)) kept.push(`termination protection, enabled by containment, is left as it is (lift it: aws ec2 modify-instance-attribute --instance-id ${id} --no-disable-api-termination)`);
    if (done(enableStopProtection)) kept.push(`stop protection, enabled by containment, is left as it is (lift it: aws ec2 modify-instance-attribute --instance-id ${id} --no-disable-api-stop)`);
    if (done(setShutdownBehaviourToStop)) kept.push('instance-initiated shutdown behaviour, set to "stop" by containment, is left as it is');
    const volumes = (ctx.outputOf(preserveVolumesOnTermination)?.volumes ?? []).map((v) => v.volumeId);
    if (volumes.length) kept.push(`DeleteOnTermination, turned off by containment, is left off for ${volumes.join(', ')}`);
    const instance = await ctx.resource();
    if (!instance) kept.push(`${id} no longer exists`);
    else if (instance.state !== 'running') kept.push(`${id} stays ${instance.state}: release never starts an instance (start it yourself when ready)`);
    const present = (ids: Array<string | undefined>) => ids.filter((i): i is string => Boolean(i));
    const snapshots = present((ctx.outputOf(snapshotVolumes)?.snapshots ?? []).map((s) => s.snapshotId));
    const forensicVolumes = present((ctx.outputOf(createForensicVolumes)?.volumes ?? []).map((v) => v.volumeId));
    const copies = present((ctx.outputOf(copySnapshotsToForensicAccount)?.copies ?? []).map((c) => c.copySnapshotId));
    const named = [
      snapshots.length ? `snapshots ${snapshots.join(', ')}` : '',
      forensicVolumes.length ? `forensic volumes ${forensicVolumes.join(', ')}` : '',
      copies.length ? `forensic-account copies ${copies.join(', ')}` : '',
    ].filter(Boolean);
    kept.push(`evidence is kept: ${named.length ? `${named.join(', ')} and ` : ''}the evidence bucket's objects for ${ctx.incident.incidentId} are not touched`);
    return { status: 'done', summary: `kept as containment left them: ${kept.join('; ')}`, keptProtections: kept };
  },
});

export const tagReleased = ec2ReleaseAction({
  name: 'tagReleased',
  description: 'Tag the instance as released, with when and by whom',
  iamActions: ['ec2:CreateTags'],
  async run(ctx) {
    const failed = Object.entries(ctx.released)
      .filter(([name, o]) => name !== 'tagReleased' && o.status === 'failed')
      .map(([name]) => name);
    if (failed.length) {
      return { status: 'skipped', summary: `not tagged released while the release is incomplete (${failed.join(', ')} failed); the retry that completes it tags it` };
    }
    const instance = await ctx.resource();
    if (!instance) return { status: 'skipped', summary: `${ctx.incident.resource.id} no longer exists: nothing to restore`, data: { instanceGone: true } };
    const written = tagList({
      'firebreak:status': 'released',
      'firebreak:released-at': ctx.now().toISOString(),
      'firebreak:released-by': ctx.request.requestedBy,
    });
    await ctx.clients.ec2.send(new CreateTagsCommand({ Resources: [instance.instanceId], Tags: written }));
    return { status: 'done', summary: `tagged ${instance.instanceId} ${written.map((t) => t.Key).join(', ')}`, data: { tags: Object.fromEntries(written.map((t) => [t.Key, t.Value])) } };
  },
});
