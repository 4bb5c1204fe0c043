import * as z from 'zod';
import { InstanceIdSchema } from '../../findings/index.ts';
import { refusalOf, sessionOf } from './describe.ts';
import { roleStep } from './types.ts';

/** GuardDuty's finding types about an instance role's credentials used elsewhere (`.OutsideAWS`, `.InsideAWS`). */
const INSTANCE_CREDENTIAL_EXFILTRATION = /InstanceCredentialExfiltration/;

/**
 * The instance the credentials were taken from: the finding's `instanceDetails` (the `instanceId`
 * hint) or, failing that, the session name, which EC2 sets to the instance id for instance-role
 * sessions.
 */
export function sourceInstanceOf(hints: Record<string, string | string[]>, sessionName: string | undefined): { instanceId: string; from: 'instance-details' | 'session-name' } | undefined {
  const hinted = hints.instanceId;
  if (typeof hinted === 'string' && InstanceIdSchema.safeParse(hinted).success) return { instanceId: hinted, from: 'instance-details' };
  if (sessionName && InstanceIdSchema.safeParse(sessionName).success) return { instanceId: sessionName, from: 'session-name' };
  return undefined;
}

/** What handOffSourceInstance records: the source instance, where it was read, and the hand-off's event (done) or the recommendation (skipped). */
const SourceInstanceSchema = z.object({
  instanceId: z.string(),
  from: z.enum(['instance-details', 'session-name']),
  eventId: z.string().optional(),
  recommendation: z.string().optional(),
});

export const handOffSourceInstance = roleStep({
  name: 'handOffSourceInstance',
  stage: 'contain',
  description:
    "InstanceCredentialExfiltration: name the instance the role's credentials were taken from and, when configured (hand_off_source_instance), hand it to the EC2 playbook to be contained as a compromised instance",
  // events:PutEvents on the responders' bus is granted to every function by the module (the hand-off channel).
  iamActions: [],
  data: SourceInstanceSchema,
  async run({ incident, resource: role, config, options, handOff }) {
    if (!INSTANCE_CREDENTIAL_EXFILTRATION.test(incident.findingType)) {
      return { status: 'skipped', summary: `${incident.findingType} is not an instance credential exfiltration finding: no source instance to hand over` };
    }
    const source = sourceInstanceOf(incident.resource.hints, sessionOf(incident)?.sessionName);
    if (!source) return { status: 'skipped', summary: 'the finding names no instance the credentials were taken from (no instanceDetails, and the session name is not an instance id)' };
    const { instanceId } = source;
    const refusal = refusalOf(incident, role, config);
    if (refusal) return { status: 'skipped', summary: `${refusal}; its source instance ${instanceId} was not handed over`, data: { ...source } };
    if (!options.hand_off_source_instance) {
      const recommendation = `Credentials of role ${role.roleName} were taken from instance ${instanceId}: treat it as compromised (something on it, or a request it was tricked into making, read its instance metadata) — contain it with: firebreak contain Instance ${instanceId} --ticket <ticket>`;
      return { status: 'skipped', summary: `the credentials came from instance ${instanceId}; hand_off_source_instance is off, so it was not handed to the EC2 playbook (see the recommendation)`, data: { ...source, recommendation } };
    }
    const { eventId } = await handOff({ resourceType: 'Instance', id: instanceId }, `credentials of role ${role.roleName} were taken from this instance (${incident.findingType}, incident ${incident.incidentId})`);
    return { status: 'done', summary: `instance ${instanceId}, where the credentials of role ${role.roleName} were taken from, was handed to the EC2 playbook (event ${eventId})`, data: { ...source, eventId } };
  },
});
