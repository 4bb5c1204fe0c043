import { definePlaybook, type Playbook } from '../../engine/index.ts';
import { captureRole, DESCRIBE_IAM_ACTIONS, describeRole, IamRoleCaptureSchema, rolePrincipals } from './describe.ts';
import { IamRoleOptionsSchema } from './options.ts';
import { revokeFederatedIdentity, revokeOlderRoleSessions } from './sessions.ts';
import { handOffSourceInstance } from './source-instance.ts';
import type { Role } from './types.ts';

/**
 * Compromised IAM role, as the seeds order it: identify the role; invalidate its temporary
 * credentials (a deny on sessions issued before now); revoke the identity behind the session
 * where it is federated (SAML, OIDC, IAM Identity Center), or say where to; for credentials
 * taken from an instance, hand the instance to the EC2 playbook; then preserve the role's
 * configuration and tag it. Never a protected principal, Firebreak's own role or a
 * service-linked role. Then the identity reviews: the CloudTrail activity of its sessions, the
 * account's contact information, and what the sessions created or changed (tagged; in full mode
 * neutralised reversibly).
 */
export const iamRolePlaybook: Playbook<Role> = definePlaybook<Role>({
  name: 'iam-role',
  options: IamRoleOptionsSchema,
  describe: describeRole,
  capture: { schema: IamRoleCaptureSchema, of: captureRole },
  tags: (r) => r.tags,
  identifiers: (_incident, r) => [r.roleName, r.arn],
  principals: (incident, r) => rolePrincipals(incident, r),
  describeIamActions: DESCRIBE_IAM_ACTIONS,
  isolationStep: revokeOlderRoleSessions,
  steps: [
    // Contain: the stolen sessions first, then the identity behind them, then where they came from.
    revokeOlderRoleSessions,
    revokeFederatedIdentity,
    handOffSourceInstance,
  ],
  // Evidence, investigation and the release order (./later.ts) load once the resource is isolated.
  later: () => import('./later.ts'),
});

export type { Role } from './types.ts';
export type { IamRole } from './describe.ts';
export { IamRoleOptionsSchema, type IamRoleOptions } from './options.ts';

/** What the registry and the generated function entry point look for in every playbook folder. */
export const playbook = iamRolePlaybook;
