import { GetRolePolicyCommand, PutRolePolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import * as z from 'zod';
import { findRevocation, releaseRevocation, removeRevocation, revocationPolicyName, revokeSessionsIssuedBefore, sessionDenyPolicy } from '../../actions/role-sessions.ts';
import { hasErrorCode } from '../../errors/index.ts';
import { federationKind, refusalOf, sessionOf, type IamRole } from './describe.ts';
import { roleStep } from './types.ts';

/** IAM's answer to any change of a role only AWS may modify (Identity Center's, service-linked ones). */
const UNMODIFIABLE = ['UnmodifiableEntity', 'UnmodifiableEntityException'];
const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];

/** Role sessions last at most 12 hours (36 for some chained or federated cases): the caveat of every release. */
const STILL_VALID = 'that have not expired yet (role sessions last up to the role\'s maximum session duration, at most 12 hours) are valid again, copied credentials included, until they expire';

/**
 * The role an Identity Center permission set created cannot be changed by anyone but AWS, so
 * its sessions are revoked in Identity Center, in the account that holds its instance (the
 * management account or the delegated administrator): IAM Identity Center User Guide, "Use a
 * Deny policy to revoke active user permissions" and "Revoke active IAM role sessions created by
 * permission sets".
 */
export function identityCenterRecommendation(role: Pick<IamRole, 'roleName' | 'roleId'>, permissionSet: string, sessionName: string | undefined): string {
  const user = sessionName ? `user ${sessionName} (the session name Identity Center gives a user's role session is their user name)` : 'the user behind the finding (the finding named no session: find it in CloudTrail, userIdentity.principalId of the calls)';
  const userCondition = sessionName ? `"StringLike": {"aws:userid": "*:${sessionName}"}` : '"StringEquals": {"identitystore:userId": "<the user\'s Identity Store user id>"}';
  return (
    `Role ${role.roleName} was created by IAM Identity Center for permission set ${permissionSet}: IAM refuses every change to it (UnmodifiableEntity, only AWS may modify it), so Firebreak can neither revoke its sessions nor deny one here. ` +
    `In the account that holds the Identity Center instance (the management account or the delegated administrator), for ${user}: ` +
    `1) add to permission set ${permissionSet}'s inline policy a statement {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {${userCondition}}} ` +
    `(identitystore:userId is the stable choice; aws sso-admin put-inline-policy-to-permission-set replaces the whole inline policy, so merge it with the current one) and provision it ` +
    `(aws sso-admin provision-permission-set --target-type ALL_PROVISIONED_ACCOUNTS): this denies the user's active sessions of the set in every account; ` +
    `2) remove the user's account assignments (aws sso-admin delete-account-assignment) so they cannot sign in to the set again; ` +
    `3) end the user's active AWS access portal sessions (IAM Identity Center console, Users, the user, Active sessions: no public API); ` +
    `4) disable the user or reset their password and MFA at the identity source. Or, across the organization, an SCP with the same Deny.`
  );
}

/** For a SAML role: the identity provider is the one place the person behind the session is stopped everywhere. */
export function samlRecommendation(role: Pick<IamRole, 'roleName'>, providers: string[], sessionName: string | undefined): string {
  const who = sessionName ? `identity ${sessionName} (the RoleSessionName the identity provider asserted)` : 'the identity behind the finding (the finding named no session: find it in CloudTrail, userIdentity.principalId)';
  return (
    `Role ${role.roleName} is assumed through SAML (${providers.join(', ')}): disable or reset ${who} at that identity provider and end its sessions there (AWS has no API into the provider), ` +
    `and check the other roles the provider grants it: a deny on this role does not cover them.`
  );
}

/** For an OIDC role: the session name is the caller's choice, so the provider and the trust policy's conditions are where an identity is stopped. */
export function oidcRecommendation(role: Pick<IamRole, 'roleName'>, providers: string[], sessionName: string | undefined): string {
  const hosts = providers.map((p) => p.split('oidc-provider/').pop()!);
  return (
    `Role ${role.roleName} is assumed with web identity tokens (${providers.join(', ')}). The session name${sessionName ? ` ${sessionName}` : ''} is chosen by whoever calls AssumeRoleWithWebIdentity, so it names no identity and Firebreak denies nothing by it. ` +
    `Revoke the token's source at the provider (the workload, client or repository that obtained it), and narrow the trust policy's conditions on ${hosts.map((h) => `${h}:sub`).join(', ')} (and :aud) to the subjects that should assume the role.`
  );
}

/** What revokeOlderRoleSessions records: the role, and the cut-off (done) or why not (skipped). */
const RevocationSchema = z.object({
  roleName: z.string(),
  roleArn: z.string(),
  roleId: z.string(),
  policyName: z.string().optional(),
  /** The cut-off; `null` when a policy found on a redelivery names none (someone edited it). */
  revokedBefore: z.string().nullable().optional(),
  refusedBecause: z.string().optional(),
  recommendation: z.string().optional(),
});

const theRole = (r: IamRole) => ({ roleName: r.roleName, roleArn: r.arn, roleId: r.roleId });

export const revokeOlderRoleSessions = roleStep({
  name: 'revokeOlderRoleSessions',
  stage: 'contain',
  description: 'Invalidate the role\'s temporary credentials by attaching an explicit deny with an STS date condition (aws:TokenIssueTime earlier than now): every session issued before is denied, new sessions still work',
  iamActions: ['iam:GetRolePolicy', 'iam:PutRolePolicy'],
  data: RevocationSchema,
  async run({ clients, resource: role, incident, config, now }) {
    const refusal = refusalOf(incident, role, config);
    if (refusal) return { status: 'skipped', summary: `${refusal}; its sessions were not revoked`, data: { ...theRole(role), refusedBecause: refusal } };
    if (role.federation.identityCenter) {
      const recommendation = identityCenterRecommendation(role, role.federation.identityCenter.permissionSet, sessionOf(incident)?.sessionName);
      return {
        status: 'skipped',
        summary: `role ${role.roleName} belongs to IAM Identity Center (permission set ${role.federation.identityCenter.permissionSet}), which only AWS may change: revoke the sessions in Identity Center (see the recommendation)`,
        data: { ...theRole(role), refusedBecause: 'IAM Identity Center role (UnmodifiableEntity)', recommendation },
      };
    }

    const policyName = revocationPolicyName(incident.incidentId);
    // A redelivery keeps the first cut-off: moving it would revoke the sessions issued since, legitimate ones included.
    const existing = await findRevocation(clients.iam, role.roleName, policyName);
    if (existing) {
      return {
        status: 'done',
        summary: `sessions of role ${role.roleName} issued before ${existing.revokedBefore ?? 'the first delivery'} were already denied by ${policyName}; new sessions still work`,
        data: { ...theRole(role), policyName, revokedBefore: existing.revokedBefore ?? null },
      };
    }
    let revokedBefore: string;
    try {
      revokedBefore = await revokeSessionsIssuedBefore(clients.iam, role.roleName, policyName, now());
    } catch (error) {
      if (!hasErrorCode(error, ...UNMODIFIABLE)) throw error;
      const refusedBecause = `IAM refuses changes to role ${role.roleName} (UnmodifiableEntity: only AWS may modify it)`;
      return { status: 'skipped', summary: `${refusedBecause}; its sessions were not revoked`, data: { ...theRole(role), refusedBecause } };
    }
    return {
      status: 'done',
      summary: `sessions of role ${role.roleName} issued before ${revokedBefore} are denied (inline policy ${policyName}), so stolen copies of its credentials no longer work; new sessions still work`,
      data: { ...theRole(role), policyName, revokedBefore },
    };
  },
  undo: {
    name: 'removeRevocationPolicy',
    description: 'Remove the inline policy that revoked the role\'s older sessions',
    iamActions: ['iam:DeleteRolePolicy'],
    async run({ recorded, incident, clients }) {
      const { roleName, revokedBefore } = recorded;
      const policyName = recorded.policyName ?? revocationPolicyName(incident.incidentId);
      return releaseRevocation(clients.iam, roleName, policyName, `sessions of role ${roleName} issued before ${revokedBefore ?? 'the revocation'} ${STILL_VALID}`);
    },
  },
});

/** The inline policy that denies the federated identity behind the finding's session, one per incident. */
export const identityDenyPolicyName = (incidentId: string): string => `FirebreakDenyFederatedIdentity-${incidentId}`;

async function hasInlinePolicy(iam: IAMClient, roleName: string, policyName: string): Promise<boolean> {
  try {
    await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
    return true;
  } catch (error) {
    if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return false;
    throw error;
  }
}

/**
 * What revokeFederatedIdentity records: how the role federates, the identity behind the finding's
 * session (its session name and principal id) and either the deny it attached (done) or the
 * recommendation naming the provider where the identity must be revoked.
 */
const FederatedIdentitySchema = z.object({
  roleName: z.string(),
  federation: z.enum(['identity-center', 'saml', 'oidc']),
  providers: z.array(z.string()),
  permissionSet: z.string().optional(),
  identity: z.object({ sessionName: z.string(), principalId: z.string() }).optional(),
  policyName: z.string().optional(),
  /** The `aws:userid` the deny names: `<role id>:<session name>`. */
  deniedUserId: z.string().optional(),
  refusedBecause: z.string().optional(),
  recommendation: z.string(),
});

export const revokeFederatedIdentity = roleStep({
  name: 'revokeFederatedIdentity',
  stage: 'contain',
  description:
    'Revoke access for the identity behind the session at its source where it is federated (SAML, OIDC, IAM Identity Center): record the identity and the provider; for SAML deny that identity the role (aws:userid), new sessions included, until release; otherwise recommend what to do at the provider',
  iamActions: ['iam:GetRolePolicy', 'iam:PutRolePolicy'],
  data: FederatedIdentitySchema,
  async run({ clients, resource: role, incident, config, options }) {
    const kind = federationKind(role.federation);
    if (kind === 'none') return { status: 'skipped', summary: `role ${role.roleName} is not federated (its trust policy names no SAML or OIDC provider, and it is not an IAM Identity Center role)` };
    const providers = role.federation.providers.map((p) => p.provider);
    const session = sessionOf(incident);
    const identity = session ? { sessionName: session.sessionName, principalId: session.principalId } : undefined;
    const base = { roleName: role.roleName, federation: kind, providers, ...(identity ? { identity } : {}) };
    const who = identity ? `identity ${identity.sessionName}` : 'the identity behind the finding (no session named)';

    if (kind === 'identity-center') {
      const permissionSet = role.federation.identityCenter!.permissionSet;
      const recommendation = identityCenterRecommendation(role, permissionSet, identity?.sessionName);
      return { status: 'skipped', summary: `${who} reached role ${role.roleName} through IAM Identity Center (permission set ${permissionSet}): revoke it in Identity Center (see the recommendation)`, data: { ...base, permissionSet, recommendation } };
    }
    if (kind === 'oidc') {
      const recommendation = oidcRecommendation(role, providers, identity?.sessionName);
      return { status: 'skipped', summary: `role ${role.roleName} is assumed through OIDC (${providers.join(', ')}), whose session names the caller chooses: revoke the identity at the provider (see the recommendation)`, data: { ...base, recommendation } };
    }

    const recommendation = samlRecommendation(role, providers, identity?.sessionName);
    const refusal = refusalOf(incident, role, config);
    if (refusal) return { status: 'skipped', summary: `${refusal}; ${who} was not denied`, data: { ...base, refusedBecause: refusal, recommendation } };
    if (!session) return { status: 'skipped', summary: `the finding names no session of role ${role.roleName}, so no identity can be denied: revoke it at ${providers.join(', ')} (see the recommendation)`, data: { ...base, recommendation } };
    if (!options.deny_federated_identity) return { status: 'skipped', summary: `${who} (SAML, ${providers.join(', ')}) is recorded; deny_federated_identity is off, so it was not denied the role`, data: { ...base, recommendation } };
    if (session.roleId !== role.roleId) {
      // The role was deleted and created again since: that session belonged to the old role and died with it.
      return { status: 'skipped', summary: `the finding's session ${session.principalId} belongs to an earlier role named ${role.roleName} (role id ${role.roleId} now), whose sessions ended with it`, data: { ...base, recommendation } };
    }

    const policyName = identityDenyPolicyName(incident.incidentId);
    const deniedUserId = `${role.roleId}:${session.sessionName}`;
    const denied = { ...base, policyName, deniedUserId, recommendation };
    if (await hasInlinePolicy(clients.iam, role.roleName, policyName)) {
      return { status: 'done', summary: `${who} was already denied role ${role.roleName} by ${policyName}`, data: denied };
    }
    try {
      await clients.iam.send(new PutRolePolicyCommand({ RoleName: role.roleName, PolicyName: policyName, PolicyDocument: sessionDenyPolicy(role.roleId, session.sessionName, 'FirebreakDenyFederatedIdentity') }));
    } catch (error) {
      if (!hasErrorCode(error, ...UNMODIFIABLE)) throw error;
      const refusedBecause = `IAM refuses changes to role ${role.roleName} (UnmodifiableEntity: only AWS may modify it)`;
      return { status: 'skipped', summary: `${refusedBecause}; ${who} was not denied`, data: { ...base, refusedBecause, recommendation } };
    }
    return {
      status: 'done',
      summary: `${who} (SAML, ${providers.join(', ')}) is denied role ${role.roleName}, new sessions included (inline policy ${policyName} on aws:userid ${deniedUserId}); revoke it at the identity provider too (see the recommendation)`,
      data: denied,
    };
  },
  undo: {
    name: 'removeFederatedIdentityDeny',
    description: 'Remove the inline policy that denied the federated identity the role',
    iamActions: ['iam:DeleteRolePolicy'],
    async run({ recorded, clients }) {
      const { roleName, policyName, identity } = recorded;
      if (!policyName) return { status: 'skipped', summary: `no deny was attached to role ${roleName}`, data: { roleName } };
      if ((await removeRevocation(clients.iam, roleName, policyName)) === 'already-removed') {
        return { status: 'done', summary: `${policyName} was already gone from role ${roleName}`, data: { roleName, policyName, result: 'already-removed' } };
      }
      return {
        status: 'done',
        summary: `removed ${policyName} from role ${roleName}: identity ${identity?.sessionName ?? '(unnamed)'} may assume the role again, and its unexpired sessions are valid again`,
        data: { roleName, policyName, result: 'removed' },
      };
    },
  },
});
