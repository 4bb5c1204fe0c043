import { definePlaybook, type Playbook } from '../../engine/index.ts';
import { removeConsoleAccess } from './console.ts';
import { captureIamUser, DESCRIBE_IAM_ACTIONS, describeIamUser, IamUserCaptureSchema, userArns } from './describe.ts';
import { identifyUser } from './identify.ts';
import { createReplacementKey, deactivateExposedKeys, decideOtherKeys } from './keys.ts';
import { IamUserOptionsSchema } from './options.ts';
import { revokeUserSessions } from './sessions.ts';
import type { IamUserTypes } from './types.ts';

/**
 * Compromised IAM user credentials, as the seeds order it: identify the user (for a federated
 * user, the IAM user who minted the session); then, all at once, deactivate the exposed key,
 * decide on the user's other keys, deny the temporary credentials minted before now, remove the
 * console password for a console finding, and (when configured) create a replacement key; then
 * preserve the user's state, record AWS's quarantine policy and tag the user; review what the
 * key and the user did (CloudTrail), the account's contact information and what they created or
 * changed (tagged; in full mode neutralised reversibly); in full mode, delete the exposed key
 * once the evidence is saved.
 */
export const iamUserPlaybook: Playbook<IamUserTypes> = definePlaybook<IamUserTypes>({
  name: 'iam-user',
  options: IamUserOptionsSchema,
  describe: describeIamUser,
  capture: { schema: IamUserCaptureSchema, of: captureIamUser },
  tags: (r) => (r.kind === 'user' ? r.user.tags : {}),
  identifiers: (_incident, r) => (r.kind === 'user' ? [r.user.userName, r.user.userArn] : [r.sessionName, r.federatedUserArn]),
  // The protected-principal gate; a federated session's issuer is checked by identifyUser once found.
  principals: (_incident, r) => (r.kind === 'user' ? userArns(r.user.userArn, r.user.userName) : [r.federatedUserArn]),
  describeIamActions: DESCRIBE_IAM_ACTIONS,
  // The one containment that applies to every finding (key, console, manual): the minted credentials are dead.
  isolationStep: revokeUserSessions,
  steps: [
    // Contain — concurrently, once the user is known, before any evidence work.
    identifyUser,
    deactivateExposedKeys,
    decideOtherKeys,
    revokeUserSessions,
    removeConsoleAccess,
    createReplacementKey,
  ],
  // Evidence, investigation and the release order (./later.ts) load once the resource is isolated.
  later: () => import('./later.ts'),
});

export type { IamUserTypes } from './types.ts';
export { IamUserOptionsSchema, type IamUserOptions } from './options.ts';

/** What the registry and the generated function entry point look for in every playbook folder. */
export const playbook = iamUserPlaybook;
