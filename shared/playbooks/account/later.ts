// The account playbook's later stages, loaded once its isolation step has finished
// (definePlaybook's `later`): evidence and investigation steps, and the release order.
import type { PlaybookStages } from '../../engine/index.ts';
import { deactivateAccessKeys } from './access-keys.ts';
import { inventoryRecentChanges } from './inventory.ts';
import { deleteKeyPairs } from './key-pairs.ts';
import { keepWhatCannotBeRestored } from './release-actions.ts';
import { linkAccountIncidents, reviewAccountActivity, verifyAccountContacts } from './review.ts';
import { resetConsolePasswords } from './passwords.ts';
import { accountReport } from './report.ts';
import { recommendRootCredentialLockdown } from './root.ts';
import type { Account } from './types.ts';

/** The report's sections: every step before it, in the seeds' order. */
const sections = [recommendRootCredentialLockdown, deactivateAccessKeys, resetConsolePasswords, deleteKeyPairs, inventoryRecentChanges, reviewAccountActivity, verifyAccountContacts];
export const writeAccountReport = accountReport(sections);

export const steps: PlaybookStages<Account>['steps'] = [
  // Review: what was created recently, what was done (CloudTrail), whether the account's
  // contacts were changed; the incidents sharing the root user or key; one report.
  inventoryRecentChanges,
  reviewAccountActivity,
  verifyAccountContacts,
  linkAccountIncidents,
  writeAccountReport,
];

// Keys first (people get their API access back), then key pairs; passwords cannot come back.
export const release: PlaybookStages<Account>['release'] = [
  deactivateAccessKeys,
  deleteKeyPairs,
  keepWhatCannotBeRestored,
];
