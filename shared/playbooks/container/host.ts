import * as z from 'zod';
import { incidentIdFor } from '../../findings/index.ts';
import { hostInstanceIdOf } from './describe.ts';
import { suspendContainer, wasSent } from './suspend.ts';
import { containerStep } from './types.ts';

/** What handOffHost records: the host, the incident the EC2 playbook opens for it, and how far the suspension had got when it was handed over. */
const HostHandOffSchema = z.object({
  instanceId: z.string(),
  /** The EC2 playbook's incident for the host (derived from this incident and the host, as every hand-off's). */
  hostIncidentId: z.string(),
  /** paused / stopped: confirmed; sent: the command had not finished; not-suspended: no command reached the container (see suspendContainer). */
  suspension: z.enum(['paused', 'stopped', 'sent', 'not-suspended']),
  eventId: z.string().optional(),
  recommendation: z.string().optional(),
});

/**
 * "Isolate the malicious container using a new security group": a container on an EC2 host shares
 * the host's network interfaces, so the host is what is isolated — handed to the EC2 playbook,
 * which contains it as any compromised instance (the untracking-then-isolation group swap on every
 * ENI, Auto Scaling detach, termination and stop protection, its role's sessions revoked,
 * snapshots and a GuardDuty malware scan of its volumes). After the suspension, whatever its
 * outcome: the pause needs the agent's path that isolation cuts; an unreachable agent never holds
 * isolation back.
 */
export const handOffHost = containerStep({
  name: 'handOffHost',
  stage: 'contain',
  after: [suspendContainer],
  description: "Hand the container's host to the EC2 playbook (isolation, Auto Scaling detach, protections, snapshots, malware scan) once the container is suspended or could not be",
  // events:PutEvents on the responders' bus is granted to every function by the module (the hand-off channel).
  iamActions: [],
  data: HostHandOffSchema,
  async run({ incident, resource: container, options, outputOf, outcomeOf, handOff }) {
    const instanceId = container.host?.instanceId ?? hostInstanceIdOf(incident);
    if (!instanceId) {
      return { status: 'skipped', summary: `the finding names no host instance for container ${container.containerId}: find the host (GuardDuty's instanceDetails, or docker ps on your hosts) and contain it with firebreak contain Instance <id> --ticket <ticket>` };
    }
    const hostIncidentId = incidentIdFor(incident.accountId, `handoff-${incident.incidentId}`, instanceId);
    const sent = outputOf(suspendContainer);
    const suspension: z.infer<typeof HostHandOffSchema>['suspension'] = !wasSent(sent) ? 'not-suspended' : !sent.confirmed ? 'sent' : sent.after === 'paused' ? 'paused' : sent.after === 'exited' ? 'stopped' : 'not-suspended';
    const suspended = suspension === 'not-suspended' ? `the container could not be suspended (${outcomeOf(suspendContainer)?.summary ?? 'no suspension ran'})` : `the container ${suspension === 'sent' ? 'suspension was sent' : `is ${suspension}`}`;
    if (!options.hand_off_host) {
      const recommendation = `Container ${container.containerId} runs on ${instanceId}, which shares its network: isolate the host — firebreak contain Instance ${instanceId} --ticket <ticket>`;
      return { status: 'skipped', summary: `hand_off_host is off: host ${instanceId} was not handed to the EC2 playbook and is not isolated; ${suspended} (see the recommendation)`, data: { instanceId, hostIncidentId, suspension, recommendation } };
    }
    const { eventId } = await handOff({ resourceType: 'Instance', id: instanceId }, `host of compromised container ${container.containerName ?? container.containerId.slice(0, 12)} (${incident.findingType}, incident ${incident.incidentId})`);
    return {
      status: 'done',
      summary: `host ${instanceId} handed to the EC2 playbook (event ${eventId}; its incident ${hostIncidentId}) to be isolated, protected, snapshotted and scanned; ${suspended}`,
      data: { instanceId, hostIncidentId, suspension, eventId },
    };
  },
});
