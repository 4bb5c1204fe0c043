export { captureInstance, describeInstance, DESCRIBE_IAM_ACTIONS, ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME } from './describe.ts';
export type { Ec2Instance, NetworkInterfaceState, VolumeState } from './describe.ts';
export { enableStopProtection, enableTerminationProtection, preserveVolumesOnTermination, setShutdownBehaviourToStop } from './protection.ts';
export { egressPermissions, ensureFirebreakGroups, findSsmEgress, isolateNetworkInterfaces } from './isolation.ts';
export type { IsolationEgress } from './isolation.ts';
export { deregisterFromClassicLoadBalancers, deregisterFromTargetGroups, detachFromAutoScalingGroup, disassociateElasticIps } from './membership.ts';
export { captureConsoleOutput, captureConsoleScreenshot, incidentTags, preserveInstanceMetadata, snapshotVolumes, tagInstance } from './evidence.ts';
export { replaceInstanceProfile, revokeInstanceRoleSessions } from './credentials.ts';
export { clientToken, copySnapshotsToForensicAccount, createForensicVolumes, EBS_KMS_IAM_ACTIONS, FORENSIC_DEVICE_NAMES, FORENSIC_MOUNT_RULE, incidentSnapshots } from './forensics.ts';
export type { ForensicCopy, ForensicVolume, IncidentSnapshot } from './forensics.ts';
export { stopForOfflineInvestigation } from './offline.ts';
export { startMalwareScan } from './malware.ts';
export { recordKeyPair } from './keypair.ts';
export { captureMemory, captureVolatileData, decodeCaptureOutput, LINUX_VOLATILE_SCRIPT, RUN_COMMAND_STDOUT_LIMIT, WINDOWS_VOLATILE_SCRIPT } from './online.ts';
export type { DecodedOutput } from './online.ts';
export {
  keepProtectionsAndEvidence,
  reassociateElasticIps,
  reattachToAutoScalingGroup,
  removeRevocationPolicy,
  reregisterClassicLoadBalancers,
  reregisterTargets,
  restoreInstanceProfile,
  restoreSecurityGroups,
  tagReleased,
} from './release.ts';
