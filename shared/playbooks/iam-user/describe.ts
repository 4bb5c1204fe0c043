import {
  GetAccessKeyLastUsedCommand,
  GetLoginProfileCommand,
  GetUserCommand,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListUserPoliciesCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import * as z from 'zod';
import type { DescribeContext } from '../../engine/index.ts';
import { hasErrorCode, ResourceNotFoundError } from '../../errors/index.ts';
import type { Incident } from '../../findings/index.ts';

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];

const AccessKeyStateSchema = z.object({
  accessKeyId: z.string(),
  status: z.string(),
  createDate: z.string().optional(),
  lastUsedDate: z.string().optional(),
  lastUsedService: z.string().optional(),
  lastUsedRegion: z.string().optional(),
});

/** An IAM user as the playbook reads it: what its credentials and permissions are. */
export const UserStateSchema = z.object({
  userName: z.string(),
  userArn: z.string(),
  userId: z.string(),
  createDate: z.string().optional(),
  passwordLastUsed: z.string().optional(),
  tags: z.record(z.string(), z.string()).default({}),
  accessKeys: z.array(AccessKeyStateSchema).default([]),
  /** Its console password (login profile); null: it has none. */
  loginProfile: z.object({ createDate: z.string().optional(), passwordResetRequired: z.boolean() }).nullable(),
  attachedPolicies: z.array(z.object({ policyName: z.string(), policyArn: z.string() })).default([]),
  inlinePolicyNames: z.array(z.string()).default([]),
  mfaDevices: z.array(z.string()).default([]),
  groups: z.array(z.string()).default([]),
});
export type UserState = z.infer<typeof UserStateSchema>;
export type AccessKeyState = z.infer<typeof AccessKeyStateSchema>;

/**
 * Which credentials the finding says were used: an access key (AKIA… long-term, ASIA…
 * temporary), the console password (a ConsoleLogin finding, or a GuardDuty finding naming no
 * key), or — a manual finding or a hand-off, which name only the user — every credential the
 * user has, since nothing says which one was used.
 */
export const ExposureSchema = z.object({
  userType: z.enum(['IAMUser', 'FederatedUser', 'unknown']),
  accessKeyId: z.string().optional(),
  principalId: z.string().optional(),
  console: z.boolean(),
  everyCredential: z.boolean(),
});
export type Exposure = z.infer<typeof ExposureSchema>;

/** What the playbook acts on: the IAM user the finding names, or a federated user's session (whose issuing user a step finds). */
export type IamUserResource =
  | { kind: 'user'; exposure: Exposure; user: UserState }
  | { kind: 'federated-session'; exposure: Exposure; sessionName: string; federatedUserArn: string };

export const DESCRIBE_IAM_ACTIONS = [
  'iam:GetUser',
  'iam:ListAccessKeys',
  'iam:GetAccessKeyLastUsed',
  'iam:GetLoginProfile',
  'iam:ListAttachedUserPolicies',
  'iam:ListUserPolicies',
  'iam:ListMFADevices',
  'iam:ListGroupsForUser',
] as const;

const iso = (d: Date | undefined) => (d ? { value: d.toISOString() } : undefined);

/** The exposure a finding describes (see {@link ExposureSchema}). */
export function exposureOf(incident: Incident): Exposure {
  const hint = (k: string) => (typeof incident.resource.hints[k] === 'string' ? (incident.resource.hints[k] as string) : undefined);
  const userType = hint('userType');
  const accessKeyId = hint('accessKeyId');
  const principalId = hint('principalId');
  const fromGuardDuty = userType === 'IAMUser' || userType === 'FederatedUser';
  return {
    userType: fromGuardDuty ? userType : 'unknown',
    ...(accessKeyId ? { accessKeyId } : {}),
    ...(principalId ? { principalId } : {}),
    console: /ConsoleLogin/i.test(incident.findingType) || (fromGuardDuty && !accessKeyId),
    everyCredential: !fromGuardDuty,
  };
}

/**
 * Reads an IAM user: its keys (with when each was last used), console password, policies, MFA
 * devices and groups. Undefined when the user does not exist. Read-only.
 */
export async function describeUser(iam: IAMClient, userName: string): Promise<UserState | undefined> {
  let user;
  try {
    user = (await iam.send(new GetUserCommand({ UserName: userName }))).User;
  } catch (error) {
    if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return undefined;
    throw error;
  }
  if (!user?.UserName || !user.Arn) return undefined;
  const [keys, loginProfile, attached, inline, mfa, groups] = await Promise.all([
    iam.send(new ListAccessKeysCommand({ UserName: userName })),
    iam.send(new GetLoginProfileCommand({ UserName: userName })).then(
      (out) => ({ ...(iso(out.LoginProfile?.CreateDate) ? { createDate: iso(out.LoginProfile?.CreateDate)!.value } : {}), passwordResetRequired: Boolean(out.LoginProfile?.PasswordResetRequired) }),
      (error: unknown) => {
        if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return null;
        throw error;
      },
    ),
    iam.send(new ListAttachedUserPoliciesCommand({ UserName: userName, MaxItems: 1000 })),
    iam.send(new ListUserPoliciesCommand({ UserName: userName, MaxItems: 1000 })),
    iam.send(new ListMFADevicesCommand({ UserName: userName, MaxItems: 1000 })),
    iam.send(new ListGroupsForUserCommand({ UserName: userName, MaxItems: 1000 })),
  ]);
  const accessKeys = await Promise.all(
    (keys.AccessKeyMetadata ?? []).flatMap((k) =>
      k.AccessKeyId
        ? [
            (async (): Promise<AccessKeyState> => {
              const last = (await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: k.AccessKeyId }))).AccessKeyLastUsed;
              return {
                accessKeyId: k.AccessKeyId!,
                status: k.Status ?? 'Unknown',
                ...(iso(k.CreateDate) ? { createDate: iso(k.CreateDate)!.value } : {}),
                ...(iso(last?.LastUsedDate) ? { lastUsedDate: iso(last?.LastUsedDate)!.value } : {}),
                ...(last?.ServiceName && last.ServiceName !== 'N/A' ? { lastUsedService: last.ServiceName } : {}),
                ...(last?.Region && last.Region !== 'N/A' ? { lastUsedRegion: last.Region } : {}),
              };
            })(),
          ]
        : [],
    ),
  );
  return {
    userName: user.UserName,
    userArn: user.Arn,
    userId: user.UserId ?? '',
    ...(iso(user.CreateDate) ? { createDate: iso(user.CreateDate)!.value } : {}),
    ...(iso(user.PasswordLastUsed) ? { passwordLastUsed: iso(user.PasswordLastUsed)!.value } : {}),
    tags: Object.fromEntries((user.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    accessKeys,
    loginProfile,
    attachedPolicies: (attached.AttachedPolicies ?? []).map((p) => ({ policyName: p.PolicyName ?? '', policyArn: p.PolicyArn ?? '' })),
    inlinePolicyNames: inline.PolicyNames ?? [],
    mfaDevices: (mfa.MFADevices ?? []).map((d) => d.SerialNumber ?? '').filter(Boolean),
    groups: (groups.Groups ?? []).map((g) => g.GroupName ?? '').filter(Boolean),
  };
}

/** The ARN of a GetFederationToken session (`arn:<partition>:sts::<account>:federated-user/<name>`). */
export const federatedUserArn = (incident: Pick<Incident, 'partition' | 'accountId'>, sessionName: string): string =>
  `arn:${incident.partition}:sts::${incident.accountId}:federated-user/${sessionName}`;

/**
 * Describes what the finding names. An IAM user is read (ResourceNotFoundError when it is
 * gone). A federated user is a GetFederationToken session whose name the caller chose: no IAM user
 * of that name is read or touched — the `identifyUser` step finds the user who minted it.
 */
export async function describeIamUser({ incident, clients }: DescribeContext): Promise<IamUserResource> {
  const exposure = exposureOf(incident);
  const name = incident.resource.id;
  if (exposure.userType === 'FederatedUser') {
    return { kind: 'federated-session', exposure, sessionName: name, federatedUserArn: federatedUserArn(incident, name) };
  }
  const user = await describeUser(clients.iam, name);
  if (!user) throw new ResourceNotFoundError(name);
  return { kind: 'user', exposure, user };
}

/** The "before" kept in the ledger at the first delivery: the user as it was (none for a federated session: identifyUser records its issuer's). */
export const IamUserCaptureSchema = z
  .object({
    kind: z.enum(['user', 'federated-session']),
    exposure: ExposureSchema,
    user: UserStateSchema.optional(),
    sessionName: z.string().optional(),
    federatedUserArn: z.string().optional(),
    capturedAt: z.string().optional(),
  })
  .loose();
export type IamUserCapture = z.infer<typeof IamUserCaptureSchema>;

export function captureIamUser(r: IamUserResource): IamUserCapture {
  return r.kind === 'user'
    ? { kind: 'user', exposure: r.exposure, user: r.user }
    : { kind: 'federated-session', exposure: r.exposure, sessionName: r.sessionName, federatedUserArn: r.federatedUserArn };
}

/** ARNs of the user, with and without its path, as protected-principal patterns may name it. */
export function userArns(userArn: string, userName: string): string[] {
  const [arn, partition, , , account] = userArn.split(':');
  const pathless = `${arn}:${partition}:iam::${account}:user/${userName}`;
  return [...new Set([userArn, pathless])];
}
