import { ListAccountAliasesCommand, paginateListAccessKeys, paginateListUsers, type IAMClient } from '@aws-sdk/client-iam';
import * as z from 'zod';
import { accountRegions, isEnabledRegion, mapLimit } from '../../actions/regions.ts';
import type { DescribeContext } from '../../engine/index.ts';
import { ResourceNotFoundError } from '../../errors/index.ts';
import type { AccountOptions } from './options.ts';

/** One access key of an IAM user, as ListAccessKeys reports it. */
export interface AccessKeyState {
  accessKeyId: string;
  status: string;
  createDate?: string;
}

/** An IAM user of the account with its access keys. */
export interface IamUserState {
  userName: string;
  userId: string;
  arn: string;
  createDate?: string;
  accessKeys: AccessKeyState[];
}

/** The account as the playbook sees it. */
export interface AwsAccount {
  accountId: string;
  alias?: string;
  /** The regions the sweep and the inventory cover: enabled ones (and only `options.regions` when set). */
  regions: string[];
  /** Regions left out, each with why (not opted in, or not in `options.regions`). */
  regionsLeftOut: { region: string; reason: string }[];
  users: IamUserState[];
}

export const DESCRIBE_IAM_ACTIONS = ['iam:ListAccountAliases', 'iam:ListUsers', 'iam:ListAccessKeys', 'ec2:DescribeRegions'] as const;

/** Users whose keys are read at once (IAM throttles bursts of calls per account). */
const USER_CONCURRENCY = 5;

/**
 * Describes the account: its alias, its enabled regions and every IAM user with its access keys —
 * what the inventory and the sweep both need, and what the capture keeps as the "before" of the
 * sweep. Login profiles and key pairs are read by the steps that act on them (only when the sweep
 * runs), so a delivery in `contain` mode reads no more than it reports.
 */
export async function describeAccount({ incident, clients, options }: DescribeContext<AccountOptions>): Promise<AwsAccount> {
  const accountId = incident.resource.id;
  // A manual finding names an account; the clients act in the finding's account: never another.
  if (accountId !== incident.accountId) throw new ResourceNotFoundError(accountId);
  const [alias, regions, users] = await Promise.all([
    clients.iam.send(new ListAccountAliasesCommand({})).then((o) => o.AccountAliases?.[0]),
    accountRegions(clients.ec2),
    listUsersWithKeys(clients.iam),
  ]);
  const wanted = options?.regions ? new Set(options.regions) : undefined;
  const regionsLeftOut = regions.flatMap((r) => {
    if (!isEnabledRegion(r)) return [{ region: r.name, reason: `not enabled in the account (${r.optInStatus})` }];
    if (wanted && !wanted.has(r.name)) return [{ region: r.name, reason: 'not in playbooks.account.options.regions' }];
    return [];
  });
  const leftOut = new Set(regionsLeftOut.map((r) => r.region));
  return {
    accountId,
    ...(alias ? { alias } : {}),
    regions: regions.map((r) => r.name).filter((r) => !leftOut.has(r)),
    regionsLeftOut,
    users,
  };
}

/** Every IAM user (paginated) with its access keys (paginated too: a user has at most two, but the API pages). */
export async function listUsersWithKeys(iam: IAMClient): Promise<IamUserState[]> {
  const users: Omit<IamUserState, 'accessKeys'>[] = [];
  for await (const page of paginateListUsers({ client: iam }, {})) {
    for (const u of page.Users ?? []) {
      if (!u.UserName) continue;
      users.push({ userName: u.UserName, userId: u.UserId ?? '', arn: u.Arn ?? '', ...(u.CreateDate ? { createDate: u.CreateDate.toISOString() } : {}) });
    }
  }
  return mapLimit(users, USER_CONCURRENCY, async (u) => ({ ...u, accessKeys: await accessKeysOf(iam, u.userName) }));
}

/** A user's access keys as IAM reports them now. */
export async function accessKeysOf(iam: Pick<IAMClient, 'send'>, userName: string): Promise<AccessKeyState[]> {
  const keys: AccessKeyState[] = [];
  for await (const page of paginateListAccessKeys({ client: iam as IAMClient }, { UserName: userName })) {
    for (const k of page.AccessKeyMetadata ?? []) {
      if (!k.AccessKeyId) continue;
      keys.push({ accessKeyId: k.AccessKeyId, status: k.Status ?? 'Unknown', ...(k.CreateDate ? { createDate: k.CreateDate.toISOString() } : {}) });
    }
  }
  return keys;
}


/**
 * The "before" of the sweep, kept in the ledger at the first delivery (the engine adds
 * `capturedAt`): every access key's status then, so that a sweep interrupted half way and run
 * again still knows which keys were active before Firebreak touched them.
 */
export const AccountCaptureSchema = z
  .object({
    accountId: z.string(),
    alias: z.string().optional(),
    accessKeys: z.array(z.object({ userName: z.string(), accessKeyId: z.string(), status: z.string() })).default([]),
    capturedAt: z.string().optional(),
  })
  .loose();

export type AccountCapture = z.infer<typeof AccountCaptureSchema>;

export function captureAccount(a: AwsAccount): AccountCapture {
  return {
    accountId: a.accountId,
    ...(a.alias ? { alias: a.alias } : {}),
    accessKeys: a.users.flatMap((u) => u.accessKeys.map((k) => ({ userName: u.userName, accessKeyId: k.accessKeyId, status: k.status }))),
  };
}
