import type { Clients } from '../../aws/index.ts';
import type { Config } from '../../config/index.ts';
import { matchesPattern } from '../../engine/gates.ts';
import type { Incident } from '../../findings/index.ts';
import type { IamUserState } from './describe.ts';

/** Decides, per IAM user, whether the sweep must leave it alone, and says why. */
export type ProtectionCheck = (user: Pick<IamUserState, 'userName' | 'arn' | 'accessKeys'>) => string | undefined;

/**
 * The users the credential sweep never touches, or the responders lock themselves out:
 *
 * - protected principals (`protected_principals`, ARN patterns; the Terraform module also denies
 *   the functions' roles every credential write on them, so this is checked twice);
 * - the user whose access key the function itself is calling with (Firebreak run with a user's
 *   keys, as the CLI or a test may be): deactivating it would stop the sweep half way;
 * - the responder who asked for this containment (a manual finding's `requestedBy`, when it is an
 *   IAM user of the account): only responders may put manual findings on the responders' bus.
 *
 * Firebreak's own roles are never at risk: the sweep acts on IAM users only.
 */
export async function protectionFor(config: Pick<Config, 'protectedPrincipals'>, incident: Pick<Incident, 'requestedBy'>, clients: Pick<Clients, 'iam'>): Promise<ProtectionCheck> {
  const ownKeyId = await callerAccessKeyId(clients);
  return (user) => {
    const pattern = config.protectedPrincipals.find((p) => matchesPattern(p, user.arn) || matchesPattern(p, user.userName));
    if (pattern) return `protected principal (matches ${pattern})`;
    if (ownKeyId && user.accessKeys.some((k) => k.accessKeyId === ownKeyId)) return `Firebreak itself calls AWS with this user's access key ${ownKeyId}`;
    if (incident.requestedBy && incident.requestedBy === user.arn) return 'the responder who asked for this containment';
    return undefined;
  };
}

/** The access key id of the credentials the clients sign with (a role session's ASIA… id matches no user's key). */
async function callerAccessKeyId(clients: Pick<Clients, 'iam'>): Promise<string | undefined> {
  const provider = clients.iam.config.credentials;
  try {
    return (await provider()).accessKeyId;
  } catch {
    return undefined;
  }
}
