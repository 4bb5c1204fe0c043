// The ec2-instance playbook's later stages, loaded once its isolation step has finished
// (definePlaybook's `later`): evidence and investigation steps, and the release order.
import type { PlaybookStages } from '../../engine/index.ts';
import { replaceInstanceProfile, revokeInstanceRoleSessions } from './credentials.ts';
import { captureConsoleOutput, captureConsoleScreenshot, preserveInstanceMetadata, snapshotVolumes, tagInstance } from './evidence.ts';
import { copySnapshotsToForensicAccount, createForensicVolumes } from './forensics.ts';
import { isolateNetworkInterfaces } from './isolation.ts';
import { recordKeyPair } from './keypair.ts';
import { startMalwareScan } from './malware.ts';
import { deregisterFromClassicLoadBalancers, deregisterFromTargetGroups, detachFromAutoScalingGroup, disassociateElasticIps } from './membership.ts';
import { stopForOfflineInvestigation } from './offline.ts';
import { captureMemory, captureVolatileData } from './online.ts';
import { keepProtectionsAndEvidence, tagReleased } from './release-actions.ts';
import type { Ec2 } from './types.ts';

export const steps: PlaybookStages<Ec2>['steps'] = [
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
];

// Release, one step after another: the instance profile and role first, then the security
// groups — back before load balancers and the Auto Scaling group send traffic again (health
// checks would kill an instance still isolated); protections and evidence stay.
export const release: PlaybookStages<Ec2>['release'] = [
  replaceInstanceProfile, // restoreInstanceProfile
  revokeInstanceRoleSessions, // removeRevocationPolicy
  isolateNetworkInterfaces, // restoreSecurityGroups
  disassociateElasticIps, // reassociateElasticIps
  deregisterFromTargetGroups, // reregisterTargets
  deregisterFromClassicLoadBalancers, // reregisterClassicLoadBalancers
  detachFromAutoScalingGroup, // reattachToAutoScalingGroup
  keepProtectionsAndEvidence,
  tagReleased,
];
