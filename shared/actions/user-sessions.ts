/**
 * Revoking an IAM user's temporary credentials. Deactivating an access key stops new requests
 * signed with it, but credentials already minted from it (GetSessionToken, GetFederationToken)
 * stay valid until they expire. The same inline deny the role revocation uses
 * (shared/actions/role-sessions.ts: every action denied to credentials whose
 * `aws:TokenIssueTime` is before a cut-off), put on the user, makes them useless; the user's
 * long-term keys carry no token issue time and are not affected. One policy per incident, so two
 * incidents on one user each keep (and release) their own.
 */
import { DeleteUserPolicyCommand, GetUserPolicyCommand, PutUserPolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { hasErrorCode } from '../errors/index.ts';
import { revocationCutOff, revocationPolicy, revocationPolicyName, type Revocation } from './role-sessions.ts';

/** The inline policy that revokes a user's older temporary credentials for one incident (the same name as a role's). */
export const userRevocationPolicyName = revocationPolicyName;

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'] as const;

/**
 * Reads the incident's revocation policy back from the user, so a redelivery keeps the first
 * cut-off instead of moving it. Undefined when the user has no such policy (or no longer exists).
 *
 * @example
 * ```ts
 * await findUserRevocation(clients.iam, 'alice', userRevocationPolicyName(incident.incidentId))
 * // { policyName: 'FirebreakRevokeOlderSessions-inc-…', revokedBefore: '2025-06-19T15:00:00.000Z' }
 * ```
 */
export async function findUserRevocation(iam: IAMClient, userName: string, policyName: string): Promise<Revocation | undefined> {
  try {
    const out = await iam.send(new GetUserPolicyCommand({ UserName: userName, PolicyName: policyName }));
    return { policyName, revokedBefore: revocationCutOff(out.PolicyDocument) };
  } catch (error) {
    if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return undefined;
    throw error;
  }
}

/** Puts the revocation policy on the user: credentials issued before `before` are denied everything. Returns the cut-off as written (ISO 8601). */
export async function revokeUserCredentialsIssuedBefore(iam: IAMClient, userName: string, policyName: string, before: Date): Promise<string> {
  const revokedBefore = before.toISOString();
  await iam.send(new PutUserPolicyCommand({ UserName: userName, PolicyName: policyName, PolicyDocument: revocationPolicy(revokedBefore) }));
  return revokedBefore;
}

/**
 * Removes the revocation policy from the user (release): every unexpired temporary credential it
 * denied is valid again. `already-removed` when the policy (or the user) is gone.
 */
export async function removeUserRevocation(iam: IAMClient, userName: string, policyName: string): Promise<'removed' | 'already-removed'> {
  try {
    await iam.send(new DeleteUserPolicyCommand({ UserName: userName, PolicyName: policyName }));
    return 'removed';
  } catch (error) {
    if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return 'already-removed';
    throw error;
  }
}
