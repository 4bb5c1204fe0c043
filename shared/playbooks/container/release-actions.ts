import { handOffHost } from './host.ts';
import { captureContainerInspect } from './suspend.ts';
import { containerReleaseAction } from './types.ts';

/**
 * Release never touches the evidence, and the host is not this incident's to release: the EC2
 * playbook contains it under its own incident, released on its own (release that one first when
 * the container is to be unpaused: its isolation and credential revocation keep the SSM agent out).
 */
export const keepHostAndEvidence = containerReleaseAction({
  name: 'keepHostAndEvidence',
  description: "Leave the host's own incident and the evidence as they are, saying how to release the host",
  iamActions: [],
  async run(ctx) {
    const kept: string[] = [];
    const host = ctx.outputOf(handOffHost);
    if (host?.eventId) {
      kept.push(`host ${host.instanceId} stays contained by its own incident ${host.hostIncidentId} (the EC2 playbook's): release it with firebreak release ${host.hostIncidentId} --reason … [--reattach] once the host is clean`);
    }
    if (ctx.outcomeOf(captureContainerInspect)?.status === 'done') kept.push(`the container's docker inspect in the evidence bucket for ${ctx.incident.incidentId} is kept`);
    kept.push(`nothing in the evidence bucket for ${ctx.incident.incidentId} is touched`);
    return { status: 'done', summary: `kept: ${kept.join('; ')}`, keptProtections: kept };
  },
});
