/**
 * Revoking a role's sessions, for every playbook whose incident leaves a role's temporary
 * credentials in an attacker's hands (EC2 instance roles, IAM roles, …). Temporary credentials
 * cannot be deleted; an inline policy denying everything to sessions issued before a cut-off
 * (`aws:TokenIssueTime`) makes the copies useless while new sessions keep working. One policy per
 * incident, so two incidents on one role each keep (and release) their own.
 */
import { DeleteRolePolicyCommand, GetRoleCommand, GetRolePolicyCommand, PutRolePolicyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { hasErrorCode } from '../errors/index.ts';

/** The inline policy that revokes a role's older sessions for one incident. */
export const revocationPolicyName = (incidentId: string): string => `FirebreakRevokeOlderSessions-${incidentId}`;

const REVOCATION_SID = 'FirebreakRevokeOlderSessions';

/** The policy document denying every action to the role's sessions issued before `revokedBefore` (ISO 8601). */
export function revocationPolicy(revokedBefore: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: REVOCATION_SID, Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': revokedBefore } } }],
  });
}

/** A revocation policy found on a role. */
export interface Revocation {
  policyName: string;
  /** Its cut-off; undefined when the document (edited by someone) names none. */
  revokedBefore: string | undefined;
}

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'] as const;

/**
 * Reads a revocation policy back from the role, so a redelivery keeps the first cut-off
 * instead of moving it (and revoking the sessions issued since). Undefined when the role has
 * no such policy (or no longer exists).
 *
 * @example
 * ```ts
 * await findRevocation(clients.iam, 'web-app', revocationPolicyName(incident.incidentId))
 * // { policyName: 'FirebreakRevokeOlderSessions-inc-…', revokedBefore: '2025-06-19T14:41:00.000Z' }
 * ```
 */
export async function findRevocation(iam: IAMClient, roleName: string, policyName: string): Promise<Revocation | undefined> {
  let document: string | undefined;
  try {
    document = (await iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }))).PolicyDocument;
  } catch (error) {
    if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return undefined;
    throw error;
  }
  return { policyName, revokedBefore: revocationCutOff(document) };
}

/**
 * The cut-off a revocation policy document names (its first `DateLessThan` on
 * `aws:TokenIssueTime`), as IAM returns it (URL-encoded) or as JSON; undefined when it names none
 * (edited by someone). Shared by the role and user revocations, which write the same document.
 */
export function revocationCutOff(document: string | undefined): string | undefined {
  const statements = asList((parsePolicyDocument(document) as { Statement?: unknown } | undefined)?.Statement);
  return statements
    .map((s) => (s as { Condition?: { DateLessThan?: Record<string, unknown> } } | null)?.Condition?.DateLessThan?.['aws:TokenIssueTime'])
    .find((t): t is string => typeof t === 'string');
}

/**
 * Attaches the revocation policy: every session of the role issued before `before` is denied
 * everything; sessions issued later (the legitimate workload's next refresh) are not. Returns
 * the cut-off as written (ISO 8601).
 */
export async function revokeSessionsIssuedBefore(iam: IAMClient, roleName: string, policyName: string, before: Date): Promise<string> {
  const revokedBefore = before.toISOString();
  await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: policyName, PolicyDocument: revocationPolicy(revokedBefore) }));
  return revokedBefore;
}

/**
 * Removes a revocation policy (release). Every unexpired session it denied is valid again,
 * the copied credentials included: say so to whoever asked. `already-removed` when the policy
 * (or the role) is gone.
 */
export async function removeRevocation(iam: IAMClient, roleName: string, policyName: string): Promise<'removed' | 'already-removed'> {
  try {
    await iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
    return 'removed';
  } catch (error) {
    if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return 'already-removed';
    throw error;
  }
}

/**
 * Release of a revocation: removes the policy and says what that revives (`caveat`: every
 * unexpired session it denied is valid again, the copied credentials included), or that the
 * policy was already gone.
 */
export async function releaseRevocation(
  iam: IAMClient,
  roleName: string,
  policyName: string,
  caveat: string,
): Promise<{ status: 'done'; summary: string; data: { roleName: string; policyName: string; result: 'removed' | 'already-removed'; caveat?: string } }> {
  if ((await removeRevocation(iam, roleName, policyName)) === 'already-removed') {
    return { status: 'done', summary: `${policyName} was already gone from role ${roleName}`, data: { roleName, policyName, result: 'already-removed' } };
  }
  return { status: 'done', summary: `removed ${policyName} from role ${roleName}: ${caveat}`, data: { roleName, policyName, result: 'removed', caveat } };
}

/** IAM returns policy documents URL-encoded (RFC 3986); a plain JSON one is accepted too. Undefined for none. */
export function parsePolicyDocument(document: string | undefined): unknown {
  if (!document) return undefined;
  const text = document.trimStart().startsWith('{') ? document : decodeURIComponent(document);
  return JSON.parse(text);
}

const asList = (value: unknown): unknown[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/**
 * Every principal an Allow statement of a trust policy admits, but the service principals in
 * `exceptServices`: each may hold sessions of the role that a cut-off would break. AWS
 * principals are listed as they are written (ARN or account id), others as `<kind>:<value>`
 * (`Service:lambda.amazonaws.com`, `Federated:…`); `*` and `NotPrincipal` are listed as such.
 * Sorted.
 */
export function trustedPrincipals(trustPolicy: unknown, exceptServices: Iterable<string> = []): string[] {
  const except = new Set(exceptServices);
  const found = new Set<string>();
  const statements = asList((trustPolicy as { Statement?: unknown } | undefined)?.Statement);
  for (const s of statements as Array<{ Effect?: string; Principal?: unknown; NotPrincipal?: unknown } | null>) {
    if (s?.Effect !== 'Allow') continue;
    if (s.NotPrincipal !== undefined) found.add(`NotPrincipal ${JSON.stringify(s.NotPrincipal)}`);
    if (s.Principal === '*') {
      found.add('*');
      continue;
    }
    for (const [kind, values] of Object.entries((s.Principal ?? {}) as Record<string, unknown>)) {
      for (const v of asList(values).map(String)) {
        if (!(kind === 'Service' && except.has(v))) found.add(kind === 'AWS' ? v : `${kind}:${v}`);
      }
    }
  }
  return [...found].sort();
}

/** Reads the role's trust policy and lists who may assume it besides the services in `exceptServices` ({@link trustedPrincipals}). */
export async function otherTrustedPrincipals(iam: IAMClient, roleName: string, exceptServices: Iterable<string>): Promise<string[]> {
  const out = await iam.send(new GetRoleCommand({ RoleName: roleName }));
  return trustedPrincipals(parsePolicyDocument(out.Role?.AssumeRolePolicyDocument), exceptServices);
}

/**
 * The ARN a session of the role carries (`arn:<partition>:sts::<account>:assumed-role/<name>/<session>`,
 * without the role's path), as protected-principal patterns and CloudTrail name it.
 */
export function assumedRoleArn(roleArn: string, sessionName: string): string {
  const [, partition, , , account, resource = ''] = roleArn.split(':');
  const roleName = resource.split('/').pop();
  return `arn:${partition}:sts::${account}:assumed-role/${roleName}/${sessionName}`;
}

/**
 * A policy denying everything to the sessions of role `roleId` named `sessionName` only (their
 * `aws:userid` is `<RoleId>:<session name>`): narrower than a cut-off, for a role others share.
 */
export function sessionDenyPolicy(roleId: string, sessionName: string, sid = 'FirebreakDenySessions'): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Sid: sid, Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringLike: { 'aws:userid': `${roleId}:${sessionName}` } } }],
  });
}

/** The service principals an instance role trusts, so that EC2 may hand its sessions to instances (`.cn` in the China partition). */
export const INSTANCE_ROLE_SERVICE_PRINCIPALS: readonly string[] = ['ec2.amazonaws.com', 'ec2.amazonaws.com.cn'];

/**
 * {@link sessionDenyPolicy} for the sessions EC2 serves one instance: instance-role sessions are
 * named after the instance id, so this denies the credentials taken from that instance only.
 */
export const instanceSessionDenyPolicy = (roleId: string, instanceId: string): string => sessionDenyPolicy(roleId, instanceId, 'FirebreakDenyInstanceSessions');
