// The ecs-task playbook's later stages, loaded once its isolation step has finished
// (definePlaybook's `later`): evidence and investigation steps, and the release order.
import type { PlaybookStages } from '../../engine/index.ts';
import { revokeTaskRoleSessions } from './credentials.ts';
import { preserveTaskEvidence, tagTask } from './evidence.ts';
import { startHostMalwareScan } from './host.ts';
import { denyRemoteAddressesInNetworkAcl, revokeTaskSecurityGroupRules } from './isolation.ts';
import { deregisterTaskFromTargetGroups, protectTaskFromScaleIn } from './membership.ts';
import { keepEvidence, tagReleased } from './release-actions.ts';
import { stopTask } from './stop.ts';
import type { Ecs } from './types.ts';

export const steps: PlaybookStages<Ecs>['steps'] = [
  // Preserve evidence, then evaluate the presence of malware (the host's volumes; the image digests).
  preserveTaskEvidence,
  tagTask,
  startHostMalwareScan,
  // Full mode: stop the task once its evidence is safe.
  stopTask,
];

// Release: the role first, then the network (rules back before the load balancers send traffic
// again), then the protection; evidence and a stopped task stay.
export const release: PlaybookStages<Ecs>['release'] = [
  revokeTaskRoleSessions,
  denyRemoteAddressesInNetworkAcl,
  revokeTaskSecurityGroupRules,
  deregisterTaskFromTargetGroups,
  protectTaskFromScaleIn,
  keepEvidence,
  tagReleased,
];
