import { definePlaybook, type Playbook } from '../../engine/index.ts';
import { replaceInstanceProfile, revokeInstanceRoleSessions } from './credentials.ts';
import { captureInstance, DESCRIBE_IAM_ACTIONS, describeInstance, Ec2CaptureSchema } from './describe.ts';
import { isolateNetworkInterfaces } from './isolation.ts';
import { deregisterFromClassicLoadBalancers, deregisterFromTargetGroups, detachFromAutoScalingGroup, disassociateElasticIps } from './membership.ts';
import { Ec2OptionsSchema } from './options.ts';
import { enableStopProtection, enableTerminationProtection, preserveVolumesOnTermination, setShutdownBehaviourToStop } from './protection.ts';
import type { Ec2 } from './types.ts';

/**
 * Compromised EC2 instance, as the seeds order it: capture the metadata; then, all at
 * once, protect it from termination, isolate it, take it out of its Auto Scaling group
 * and load balancers, and cut off its role's credentials; then (./later.ts, loaded once it is
 * isolated) preserve evidence (online capture, snapshots, console, metadata) and tag it; then
 * investigate (forensic volumes and copies; in full mode, stop it).
 */
export const ec2InstancePlaybook: Playbook<Ec2> = definePlaybook<Ec2>({
  name: 'ec2-instance',
  options: Ec2OptionsSchema,
  describe: describeInstance,
  capture: { schema: Ec2CaptureSchema, of: captureInstance },
  tags: (i) => i.tags,
  identifiers: (incident, i) => [i.instanceId, `arn:${incident.partition}:ec2:${incident.region}:${incident.accountId}:instance/${i.instanceId}`],
  principals: () => [],
  describeIamActions: DESCRIBE_IAM_ACTIONS,
  isolationStep: isolateNetworkInterfaces,
  steps: [
    // Contain — concurrently, before any evidence work.
    isolateNetworkInterfaces,
    enableTerminationProtection,
    setShutdownBehaviourToStop,
    enableStopProtection,
    preserveVolumesOnTermination,
    detachFromAutoScalingGroup,
    deregisterFromTargetGroups,
    deregisterFromClassicLoadBalancers,
    disassociateElasticIps,
    // The instance role's credentials are on the box: kill the copies, stop serving new ones.
    revokeInstanceRoleSessions,
    replaceInstanceProfile,
  ],
  // Evidence, investigation and the release order (./later.ts) load once the instance is isolated.
  later: () => import('./later.ts'),
});

export type { Ec2 } from './types.ts';
export type { Ec2Instance } from './describe.ts';
export { Ec2OptionsSchema, type Ec2Options } from './options.ts';

/** What the registry and the generated function entry point look for in every playbook folder. */
export const playbook = ec2InstancePlaybook;
export { EC2_TERRAFORM_VALIDATIONS as terraformValidations } from './options.ts';
/** Its online capture's Command documents (the build deploys them; the steps that send them load later). */
export const commandDocuments = async () => (await import('./online.ts')).EC2_COMMAND_DOCUMENTS;
