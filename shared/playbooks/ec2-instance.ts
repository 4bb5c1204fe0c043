import type { Playbook } from '../engine/index.ts';
import {
  captureConsoleOutput,
  captureConsoleScreenshot,
  captureInstance,
  captureMemory,
  captureVolatileData,
  copySnapshotsToForensicAccount,
  createForensicVolumes,
  deregisterFromClassicLoadBalancers,
  deregisterFromTargetGroups,
  DESCRIBE_IAM_ACTIONS,
  describeInstance,
  detachFromAutoScalingGroup,
  disassociateElasticIps,
  enableStopProtection,
  enableTerminationProtection,
  isolateNetworkInterfaces,
  keepProtectionsAndEvidence,
  preserveInstanceMetadata,
  preserveVolumesOnTermination,
  reassociateElasticIps,
  reattachToAutoScalingGroup,
  recordKeyPair,
  removeRevocationPolicy,
  replaceInstanceProfile,
  reregisterClassicLoadBalancers,
  reregisterTargets,
  restoreInstanceProfile,
  restoreSecurityGroups,
  revokeInstanceRoleSessions,
  setShutdownBehaviourToStop,
  snapshotVolumes,
  startMalwareScan,
  stopForOfflineInvestigation,
  tagInstance,
  tagReleased,
  type Ec2Instance,
} from '../steps/ec2/index.ts';

/**
 * Compromised EC2 instance, as the seeds order it: capture the metadata; then,
 * all at once, protect it from termination, isolate it, take it out of its Auto
 * Scaling group and load balancers, and cut off its role's credentials; then
 * preserve evidence (online capture, snapshots, console, metadata) and tag it;
 * then investigate (forensic volumes and copies; in full mode, stop it).
 */
export const ec2InstancePlaybook: Playbook<Ec2Instance> = {
  name: 'ec2-instance',
  describe: describeInstance,
  capture: captureInstance,
  tags: (i) => i.tags,
  identifiers: (incident, i) => [i.instanceId, `arn:${incident.partition}:ec2:${incident.region}:${incident.accountId}:instance/${i.instanceId}`],
  principals: () => [],
  describeIamActions: DESCRIBE_IAM_ACTIONS,
  isolationStep: isolateNetworkInterfaces.name,
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
  // Release (`firebreak release`), one step after another: the security groups are back
  // before load balancers and the Auto Scaling group send traffic again; protections and
  // evidence stay as containment left them.
  release: [
    restoreInstanceProfile,
    removeRevocationPolicy,
    restoreSecurityGroups,
    reassociateElasticIps,
    reregisterTargets,
    reregisterClassicLoadBalancers,
    reattachToAutoScalingGroup,
    keepProtectionsAndEvidence,
    tagReleased,
  ],
};
