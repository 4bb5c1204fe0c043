import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { MemberRoleUnavailableError } from './errors.ts';

/** How a deployment acts in its member accounts (from shared/config; Terraform sets it). */
export interface MemberRoleSettings {
  /** The account the function runs in: its own credentials act there. */
  homeAccountId: string;
  /** The accounts whose findings this deployment acts on through their member role. */
  memberAccountIds: readonly string[];
  /** The role's name in every member account (`member_role_name`, default `firebreak-responder`). */
  roleName: string;
  /** The external id the member role's trust policy requires (`sts:ExternalId`). */
  externalId?: string;
  /** `aws`, `aws-cn`, `aws-us-gov`: the partition of the role ARNs. */
  partition: string;
}

/**
 * The member role's ARN in an account.
 *
 * @example
 * ```ts
 * memberRoleArn('aws', '222233334444', 'firebreak-responder') // 'arn:aws:iam::222233334444:role/firebreak-responder'
 * ```
 */
export function memberRoleArn(partition: string, accountId: string, roleName: string): string {
  return `arn:${partition}:iam::${accountId}:role/${roleName}`;
}

/**
 * The identity CloudTrail records for every call a member role's session makes
 * (`userIdentity.arn`): the role's name and the session's name, in the member account.
 *
 * @example
 * ```ts
 * memberSessionArn('aws', '222233334444', 'firebreak-responder', 'inc-3f9c2e0a1b2c3d4e')
 * // 'arn:aws:sts::222233334444:assumed-role/firebreak-responder/firebreak-inc-3f9c2e0a1b2c3d4e'
 * ```
 */
export function memberSessionArn(partition: string, accountId: string, roleName: string, incidentId: string | undefined): string {
  return `arn:${partition}:sts::${accountId}:assumed-role/${roleName}/${roleSessionName(incidentId)}`;
}

const SESSION_NAME_MAX = 64;

/**
 * The role session name for an incident: CloudTrail records it in every call's
 * `userIdentity.arn` (`…:assumed-role/firebreak-responder/firebreak-inc-…`), which ties each
 * call in the member account to its incident. STS allows 2–64 characters of `[\w+=,.@-]`:
 * anything else becomes `-`, and the name is cut at 64.
 *
 * @example
 * ```ts
 * roleSessionName('inc-3f9c2e0a1b2c3d4e') // 'firebreak-inc-3f9c2e0a1b2c3d4e'
 * roleSessionName(undefined)              // 'firebreak'
 * ```
 */
export function roleSessionName(incidentId: string | undefined): string {
  const name = incidentId ? `firebreak-${incidentId}` : 'firebreak';
  return name.replace(/[^\w+=,.@-]/g, '-').slice(0, SESSION_NAME_MAX);
}

export interface AssumedRoleCredentialsOptions {
  sts: Pick<STSClient, 'send'>;
  roleArn: string;
  accountId: string;
  externalId?: string;
  sessionName: string;
  /** Session length asked of STS (default 3600 s, the role's default maximum). */
  durationSeconds?: number;
  /** Credentials are renewed this long before they expire (default 300 s). */
  refreshBeforeSeconds?: number;
  now?: () => number;
}

/**
 * A credentials provider that assumes a member account's role, shared by every client of the
 * playbook for that account: one `AssumeRole` per session, cached until shortly before expiry,
 * concurrent callers waiting on the same call. A refusal is a {@link MemberRoleUnavailableError}
 * (permanent unless STS itself failed); a failed call is not cached, so the next one tries again.
 *
 * @example
 * ```ts
 * const credentials = assumedRoleCredentials({ sts, roleArn, accountId: '222233334444', externalId, sessionName: roleSessionName(incidentId) });
 * new EC2Client({ region, credentials });
 * ```
 */
export function assumedRoleCredentials(options: AssumedRoleCredentialsOptions): AwsCredentialIdentityProvider {
  const now = options.now ?? Date.now;
  const refreshBeforeMs = (options.refreshBeforeSeconds ?? 300) * 1000;
  let cached: AwsCredentialIdentity | undefined;
  let inFlight: Promise<AwsCredentialIdentity> | undefined;

  const fresh = (c: AwsCredentialIdentity | undefined): c is AwsCredentialIdentity =>
    c !== undefined && (c.expiration === undefined || c.expiration.getTime() - refreshBeforeMs > now());

  const assume = async (): Promise<AwsCredentialIdentity> => {
    let answer;
    try {
      answer = await options.sts.send(
        new AssumeRoleCommand({
          RoleArn: options.roleArn,
          RoleSessionName: options.sessionName,
          DurationSeconds: options.durationSeconds ?? 3600,
          ...(options.externalId ? { ExternalId: options.externalId } : {}),
        }),
      );
    } catch (error) {
      throw new MemberRoleUnavailableError(options.roleArn, options.accountId, error);
    }
    const c = answer.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) {
      throw new MemberRoleUnavailableError(options.roleArn, options.accountId, Object.assign(new Error('STS returned no credentials'), { name: 'NoCredentials' }));
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      ...(c.Expiration ? { expiration: new Date(c.Expiration) } : {}),
      accountId: options.accountId,
    };
  };

  return async () => {
    if (fresh(cached)) return cached;
    inFlight ??= assume().then(
      (credentials) => {
        cached = credentials;
        inFlight = undefined;
        return credentials;
      },
      (error: unknown) => {
        inFlight = undefined;
        throw error;
      },
    );
    return inFlight;
  };
}
