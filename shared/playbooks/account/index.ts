import { definePlaybook, type Playbook } from '../../engine/index.ts';
import { deactivateAccessKeys } from './access-keys.ts';
import { AccountCaptureSchema, captureAccount, DESCRIBE_IAM_ACTIONS, describeAccount } from './describe.ts';
import { deleteKeyPairs } from './key-pairs.ts';
import { AccountOptionsSchema } from './options.ts';
import { resetConsolePasswords } from './passwords.ts';
import { recommendRootCredentialLockdown } from './root.ts';
import type { Account } from './types.ts';

/**
 * Compromised AWS account, as the seeds order it: the root user's credentials (recorded with the
 * steps only people can take); in `full` mode with the credential sweep enabled only, rotate
 * every IAM user's credentials (access keys deactivated, console passwords replaced) and delete
 * every EC2 key pair after recording it — never touching protected principals; in every mode, the
 * inventory of what was created recently, the CloudTrail review across the account, the
 * account's contact information, and one report.
 */
export const accountPlaybook: Playbook<Account> = definePlaybook<Account>({
  name: 'account',
  options: AccountOptionsSchema,
  describe: describeAccount,
  capture: { schema: AccountCaptureSchema, of: captureAccount },
  // An account has no tags Firebreak reads (they live in AWS Organizations).
  tags: () => ({}),
  identifiers: (incident, a) => [a.accountId, `arn:${incident.partition}:iam::${a.accountId}:root`],
  // Protected principals are users of the account, each skipped by the sweep, not the account itself.
  principals: () => [],
  describeIamActions: DESCRIBE_IAM_ACTIONS,
  isolationStep: deactivateAccessKeys,
  steps: [
    // Contain: root (recorded), then the sweep — concurrently.
    recommendRootCredentialLockdown,
    deactivateAccessKeys,
    resetConsolePasswords,
    deleteKeyPairs,
  ],
  // Evidence, investigation and the release order (./later.ts) load once the resource is isolated.
  later: () => import('./later.ts'),
});

export type { Account } from './types.ts';
export type { AwsAccount } from './describe.ts';
export { AccountOptionsSchema, type AccountOptions } from './options.ts';

/** What the registry and the generated function entry point look for in every playbook folder. */
export const playbook = accountPlaybook;
