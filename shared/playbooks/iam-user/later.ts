// The iam-user playbook's later stages, loaded once its isolation step has finished
// (definePlaybook's `later`): evidence and investigation steps, and the release order.
import type { PlaybookStages } from '../../engine/index.ts';
import { removeConsoleAccess } from './console.ts';
import { preserveUserState, recordQuarantinePolicy, tagUser } from './evidence.ts';
import { deactivateExposedKeys, decideOtherKeys, deleteExposedKeys } from './keys.ts';
import { keepQuarantineReplacementAndEvidence, tagReleased } from './release-actions.ts';
import { linkUserIncidents, neutraliseUserSuspects, reviewUserActivity, reviewUserResources, verifyUserAccountInformation } from './review.ts';
import { revokeUserSessions } from './sessions.ts';
import type { IamUserTypes } from './types.ts';

export const steps: PlaybookStages<IamUserTypes>['steps'] = [
  // Preserve evidence.
  preserveUserState,
  recordQuarantinePolicy,
  tagUser,
  linkUserIncidents,
  // Investigate: what the key and the user did (CloudTrail), whether the account was changed,
  // what they created or changed (tagged; in full mode neutralised reversibly).
  reviewUserActivity,
  verifyUserAccountInformation,
  reviewUserResources,
  neutraliseUserSuspects,
  // Full mode only: the exposed key is deleted once the evidence is saved.
  deleteExposedKeys,
];

// Release: the user's own access first (console password, then keys), the revocation last —
// removing it revives every unexpired temporary credential minted before the cut-off, the
// attacker's copies included, so it happens only once everything else is back. AWS's
// quarantine policy, the replacement key and the evidence stay.
export const release: PlaybookStages<IamUserTypes>['release'] = [
  neutraliseUserSuspects, // restoreSuspects: what the review neutralised comes back first
  removeConsoleAccess, // restoreConsoleAccess
  decideOtherKeys, // reactivateOtherKeys
  deactivateExposedKeys, // reactivateExposedKeys
  revokeUserSessions, // removeUserRevocationPolicy
  keepQuarantineReplacementAndEvidence,
  tagReleased,
];
