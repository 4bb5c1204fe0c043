// The iam-role playbook's later stages, loaded once its isolation step has finished
// (definePlaybook's `later`): evidence and investigation steps, and the release order.
import type { PlaybookStages } from '../../engine/index.ts';
import { preserveRoleConfiguration, tagRole } from './evidence.ts';
import { keepEvidence, tagReleased } from './release-actions.ts';
import { revokeFederatedIdentity, revokeOlderRoleSessions } from './sessions.ts';
import { linkRoleIncidents, neutraliseRoleSuspects, reviewRoleActivity, reviewRoleResources, verifyRoleAccountInformation } from './review.ts';
import type { Role } from './types.ts';

export const steps: PlaybookStages<Role>['steps'] = [
  // Preserve evidence: the role as it was, and the incident on the role.
  preserveRoleConfiguration,
  tagRole,
  linkRoleIncidents,
  // Investigate: what the role's sessions did and changed, and whether the account was changed.
  reviewRoleActivity,
  verifyRoleAccountInformation,
  reviewRoleResources,
  neutraliseRoleSuspects,
];

// Release: what the review neutralised comes back first; then the identity may use the role
// again, then the older sessions are valid again until they expire.
export const release: PlaybookStages<Role>['release'] = [
  neutraliseRoleSuspects,
  revokeFederatedIdentity,
  revokeOlderRoleSessions,
  keepEvidence,
  tagReleased,
];
