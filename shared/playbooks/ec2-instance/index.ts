import { definePlaybook, type Playbook } from '../../engine/index.ts';
import { replaceInstanceProfile, revokeInstanceRoleSessions } from './credentials.ts';
import { captureInstance, DESCRIBE_IAM_ACTIONS, describeInstance, Ec2CaptureSchema } from './describe.ts';
import { captureConsoleOutput, captureConsoleScreenshot, preserveInstanceMetadata, snapshotVolumes, tagInstance } from './evidence.ts';
import { copySnapshotsToForensicAccount, createForensicVolumes } from './forensics.ts';
import { isolateNetworkInterfaces } from './isolation.ts';
import { recordKeyPair } from './keypair.ts';
import { startMalwareScan } from './malware.ts';
import { deregisterFromClassicLoadBalancers, deregisterFromTargetGroups, detachFromAutoScalingGroup, disassociateElasticIps } from './membership.ts';
import { stopForOfflineInvestigation } from './offline.ts';
import { captureMemory, captureVolatileData } from './online.ts';
import { keepProtectionsAndEvidence, tagReleased } from './release-actions.ts';
import { Ec2OptionsSchema } from './options.ts';
import { enableStopProtection, enableTerminationProtection, preserveVolumesOnTermination, setShutdownBehaviourToStop } from './protection.ts';
import type { Ec2 } from './types.ts';

/**
 * Compromised EC2 instance, as the seeds order it: capture the metadata; then, all at
 * once, protect it from termination, isolate it, take it out of its Auto Scaling group
 * and load balancers, and cut off its role's credentials; then preserve evidence (online
 * capture, snapshots, console, metadata) and tag it; then investigate (forensic volumes
 * and copies; in full mode, stop it).
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
    // Preserve evidence (online investigation included: memory, then volatile state, while
    // the instance still runs; snapshots and the rest alongside).
    captureMemory,
    captureVolatileData,
    snapshotVolumes,
    captureConsoleOutput,
    captureConsoleScreenshot,
    preserveInstanceMetadata,
    tagInstance,
    startMalwareScan,
    recordKeyPair,
    // Investigate, once evidence is safe: disks for the forensic instance and account, then
    // (full mode) stop the instance for offline investigation. Never terminate.
    createForensicVolumes,
    copySnapshotsToForensicAccount,
    stopForOfflineInvestigation,
  ],
  // Release, one step after another: the instance profile and role first, then the security
  // groups — back before load balancers and the Auto Scaling group send traffic again (health
  // checks would kill an instance still isolated); protections and evidence stay.
  release: [
    replaceInstanceProfile, // restoreInstanceProfile
    revokeInstanceRoleSessions, // removeRevocationPolicy
    isolateNetworkInterfaces, // restoreSecurityGroups
    disassociateElasticIps, // reassociateElasticIps
    deregisterFromTargetGroups, // reregisterTargets
    deregisterFromClassicLoadBalancers, // reregisterClassicLoadBalancers
    detachFromAutoScalingGroup, // reattachToAutoScalingGroup
    keepProtectionsAndEvidence,
    tagReleased,
  ],
});

export type { Ec2 } from './types.ts';
export type { Ec2Instance } from './describe.ts';
export { Ec2OptionsSchema, type Ec2Options } from './options.ts';

/** What the registry and the generated function entry point look for in every playbook folder. */
export const playbook = ec2InstancePlaybook;
export { EC2_TERRAFORM_VALIDATIONS as terraformValidations } from './options.ts';
export { EC2_COMMAND_DOCUMENTS as commandDocuments } from './online.ts';
