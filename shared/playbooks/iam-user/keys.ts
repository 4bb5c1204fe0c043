import { CreateAccessKeyCommand, DeleteAccessKeyCommand, ListAccessKeysCommand, UpdateAccessKeyCommand, type IAMClient } from '@aws-sdk/client-iam';
import { CreateSecretCommand, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { incidentTags } from '../../actions/tagging.ts';
import type { ReleaseResult } from '../../engine/index.ts';
import { hasErrorCode } from '../../errors/index.ts';
import type { Exposure } from './describe.ts';
import { preserveUserState } from './evidence.ts';
import { identifyUser, userToActOn, type IdentifiedUser } from './identify.ts';
import { iamUserStep } from './types.ts';

const NO_SUCH_ENTITY = ['NoSuchEntity', 'NoSuchEntityException'];
/** IAM allows two access keys per user, active or not. */
export const ACCESS_KEYS_PER_USER = 2;

/**
 * The long-term keys the finding says were exposed: the AKIA… key it names; for a temporary
 * (ASIA…) key, the key the GetFederationToken call was signed with when CloudTrail said so (the
 * temporary key itself cannot be deactivated: revokeUserSessions makes it useless); for a
 * finding that names no key (manual, hand-off), every key of the user; for a console sign-in, none.
 */
export function exposedKeysOf(exposure: Exposure, identified: IdentifiedUser): { keys: string[]; note?: string } {
  const own = identified.before.accessKeys.map((k) => k.accessKeyId);
  if (exposure.everyCredential) return { keys: own, note: 'the finding names no key, so every key of the user is treated as exposed' };
  const id = exposure.accessKeyId;
  if (!id) return { keys: [], note: 'the finding names no access key (a console sign-in)' };
  if (id.startsWith('ASIA')) {
    if (identified.mintedWithKey && own.includes(identified.mintedWithKey)) return { keys: [identified.mintedWithKey], note: `temporary key ${id} was minted with ${identified.mintedWithKey}` };
    return { keys: [], note: `${id} is a temporary key: it cannot be deactivated, revokeUserSessions denies it; the long-term key that minted it is not known (see decideOtherKeys)` };
  }
  if (!own.includes(id)) return { keys: [], note: `${id} is not a key of ${identified.userName} (deleted before the first delivery, or another principal's)` };
  return { keys: [id] };
}

const KeyDecisionSchema = z.object({
  accessKeyId: z.string(),
  /** Its status when Firebreak first saw the user. */
  statusBefore: z.string(),
  result: z.enum(['deactivated', 'already-inactive', 'gone', 'recommended']),
  lastUsedDate: z.string().optional(),
});
const KeysSchema = z.object({ userName: z.string(), keys: z.array(KeyDecisionSchema), note: z.string().optional(), recommendation: z.string().optional() });
type KeyDecision = z.infer<typeof KeyDecisionSchema>;

/** Deactivates `keyId` of `userName` if it is active now; decided from its status when first seen, so a redelivery records what the first delivery did. */
async function deactivate(iam: IAMClient, userName: string, keyId: string, statusBefore: string, statusNow: string | undefined): Promise<KeyDecision['result']> {
  if (statusNow === undefined) return 'gone';
  if (statusBefore !== 'Active') return 'already-inactive';
  if (statusNow === 'Active') await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: keyId, Status: 'Inactive' }));
  return 'deactivated';
}

/** Reactivates the keys containment deactivated (release), where they are still inactive; deleted keys cannot come back. */
async function reactivate(iam: IAMClient, userName: string, keys: KeyDecision[], what: string): Promise<ReleaseResult> {
  const ours = keys.filter((k) => k.result === 'deactivated');
  let current;
  try {
    current = (await iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
  } catch (error) {
    if (hasErrorCode(error, ...NO_SUCH_ENTITY)) return { status: 'skipped', summary: `user ${userName} no longer exists: nothing to reactivate`, data: { userGone: true } };
    throw error;
  }
  const results: Record<string, string> = {};
  for (const k of ours) {
    const now = current.find((c) => c.AccessKeyId === k.accessKeyId);
    if (!now) results[k.accessKeyId] = 'deleted (cannot be restored)';
    else if (now.Status === 'Active') results[k.accessKeyId] = 'already active';
    else {
      await iam.send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: k.accessKeyId, Status: 'Active' }));
      results[k.accessKeyId] = 'reactivated';
    }
  }
  const said = Object.entries(results).map(([id, r]) => `${id} ${r}`).join(', ');
  return { status: ours.length ? 'done' : 'skipped', summary: ours.length ? `${what} of ${userName}: ${said}` : `containment deactivated no ${what} of ${userName}`, data: { userName, results } };
}

export const deactivateExposedKeys = iamUserStep({
  name: 'deactivateExposedKeys',
  stage: 'contain',
  description: 'Deactivate the exposed access key (UpdateAccessKey Inactive; never deleted in contain mode)',
  iamActions: ['iam:UpdateAccessKey'],
  requires: [identifyUser],
  data: KeysSchema,
  async run(ctx) {
    const { identified, now } = await userToActOn(ctx);
    const { keys, note } = exposedKeysOf(ctx.resource.exposure, identified);
    if (!now) return { status: 'skipped', summary: `user ${identified.userName} no longer exists: no key to deactivate` };
    if (keys.length === 0) return { status: 'skipped', summary: `no long-term key to deactivate: ${note}` };
    const decisions: KeyDecision[] = [];
    for (const keyId of keys) {
      const before = identified.before.accessKeys.find((k) => k.accessKeyId === keyId)!;
      const result = await deactivate(ctx.clients.iam, identified.userName, keyId, before.status, now.accessKeys.find((k) => k.accessKeyId === keyId)?.status);
      decisions.push({ accessKeyId: keyId, statusBefore: before.status, result, ...(before.lastUsedDate ? { lastUsedDate: before.lastUsedDate } : {}) });
    }
    const said = decisions.map((d) => `${d.accessKeyId} ${d.result}`).join(', ');
    return {
      status: 'done',
      summary: `exposed key(s) of ${identified.userName}: ${said}; kept (not deleted), and temporary credentials minted from them are denied by revokeUserSessions${note ? ` (${note})` : ''}`,
      data: { userName: identified.userName, keys: decisions, ...(note ? { note } : {}) },
    };
  },
  undo: {
    name: 'reactivateExposedKeys',
    description: 'Reactivate the exposed access keys containment deactivated, where they are still inactive',
    iamActions: ['iam:ListAccessKeys', 'iam:UpdateAccessKey'],
    run: ({ recorded, clients }) => reactivate(clients.iam, recorded.userName, recorded.keys, 'exposed keys'),
  },
});

export const decideOtherKeys = iamUserStep({
  name: 'decideOtherKeys',
  stage: 'contain',
  description: "Decide on each of the user's other access keys: deactivate it when configured (deactivate_other_keys), otherwise list it as a recommendation",
  iamActions: ['iam:UpdateAccessKey'],
  requires: [identifyUser],
  data: KeysSchema,
  async run(ctx) {
    const { identified, now } = await userToActOn(ctx);
    if (!now) return { status: 'skipped', summary: `user ${identified.userName} no longer exists: no other key to decide on` };
    const exposed = new Set(exposedKeysOf(ctx.resource.exposure, identified).keys);
    // The keys the user had when first seen: a replacement key created since is not "another key".
    const others = identified.before.accessKeys.filter((k) => !exposed.has(k.accessKeyId));
    if (others.length === 0) return { status: 'skipped', summary: `${identified.userName} has no other access key` };
    const decisions: KeyDecision[] = [];
    for (const k of others) {
      const statusNow = now.accessKeys.find((c) => c.accessKeyId === k.accessKeyId)?.status;
      const result: KeyDecision['result'] =
        statusNow === undefined ? 'gone' : k.status !== 'Active' ? 'already-inactive' : ctx.options.deactivate_other_keys ? await deactivate(ctx.clients.iam, identified.userName, k.accessKeyId, k.status, statusNow) : 'recommended';
      decisions.push({ accessKeyId: k.accessKeyId, statusBefore: k.status, result, ...(k.lastUsedDate ? { lastUsedDate: k.lastUsedDate } : {}) });
    }
    const recommended = decisions.filter((d) => d.result === 'recommended');
    const recommendation = recommended.length
      ? `Rotate ${recommended.map((d) => `${d.accessKeyId} (last used ${d.lastUsedDate ?? 'never'})`).join(', ')} of ${identified.userName} too if the attacker may hold it (check the CloudTrail review): aws iam update-access-key --user-name ${identified.userName} --access-key-id <id> --status Inactive`
      : undefined;
    return {
      status: 'done',
      summary: `other key(s) of ${identified.userName}: ${decisions.map((d) => `${d.accessKeyId} ${d.result}`).join(', ')}`,
      data: { userName: identified.userName, keys: decisions, ...(recommendation ? { recommendation } : {}) },
    };
  },
  undo: {
    name: 'reactivateOtherKeys',
    description: "Reactivate the user's other keys containment deactivated, where they are still inactive",
    iamActions: ['iam:ListAccessKeys', 'iam:UpdateAccessKey'],
    run: ({ recorded, clients }) => reactivate(clients.iam, recorded.userName, recorded.keys, 'other keys'),
  },
});

/** Where a replacement key is kept for its owner: one secret per user and incident. */
export const replacementSecretName = (userName: string, incidentId: string): string => `firebreak/iam-user/${userName}/${incidentId}/access-key`;

const ReplacementSchema = z.object({ userName: z.string(), accessKeyId: z.string().optional(), secretName: z.string(), secretArn: z.string().optional(), refused: z.string().optional() });

export const createReplacementKey = iamUserStep({
  name: 'createReplacementKey',
  stage: 'contain',
  description: "Rotate the exposed credentials: create a replacement access key for the user, kept in Secrets Manager for its owner (refused when the user already has two keys)",
  iamActions: ['iam:ListAccessKeys', 'iam:CreateAccessKey', 'iam:DeleteAccessKey', 'secretsmanager:CreateSecret', 'secretsmanager:DescribeSecret', 'secretsmanager:TagResource'],
  enabledBy: ['create_replacement_key'],
  requires: [identifyUser],
  after: [deactivateExposedKeys, decideOtherKeys],
  data: ReplacementSchema,
  async run(ctx) {
    const { clients, incident } = ctx;
    if (!ctx.options.create_replacement_key) return { status: 'skipped', summary: 'create_replacement_key is off: the owner creates a new key when ready' };
    const deactivated = ctx.outputOf(deactivateExposedKeys)?.keys.filter((k) => k.result === 'deactivated') ?? [];
    const { identified } = await userToActOn(ctx);
    const userName = identified.userName;
    if (deactivated.length === 0) return { status: 'skipped', summary: `no key of ${userName} was deactivated, so none is replaced` };
    const secretName = replacementSecretName(userName, incident.incidentId);
    const keys = (await clients.iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? [];
    if (keys.length >= ACCESS_KEYS_PER_USER) {
      const refused = `${userName} already has ${keys.length} access keys (${keys.map((k) => `${k.AccessKeyId} ${k.Status}`).join(', ')}), IAM's limit: no replacement created; delete the exposed key once the review is done, then create one`;
      return { status: 'skipped', summary: refused, data: { userName, secretName, refused } };
    }
    const created = (await clients.iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
    const tags = incidentTags(incident, { 'firebreak:user': userName, 'firebreak:access-key-id': created?.AccessKeyId ?? '' });
    try {
      const out = await clients.secretsManager.send(
        new CreateSecretCommand({
          Name: secretName,
          Description: `Replacement access key for IAM user ${userName}, created by Firebreak for incident ${incident.incidentId}: hand it to the owner, then delete this secret`,
          SecretString: JSON.stringify({ UserName: userName, AccessKeyId: created?.AccessKeyId, SecretAccessKey: created?.SecretAccessKey }),
          Tags: tags,
        }),
      );
      return {
        status: 'done',
        summary: `created access key ${created?.AccessKeyId} for ${userName}, kept in Secrets Manager as ${secretName} for its owner (the secret itself is never logged or recorded)`,
        data: { userName, accessKeyId: created?.AccessKeyId, secretName, ...(out.ARN ? { secretArn: out.ARN } : {}) },
      };
    } catch (error) {
      // A key nobody can read is a liability: remove it, whatever stopped the secret.
      await clients.iam.send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: created?.AccessKeyId })).catch(() => undefined);
      if (!hasErrorCode(error, 'ResourceExistsException')) throw error;
      // An earlier attempt stored its key and did not record it: that one is the replacement.
      const existing = await clients.secretsManager.send(new DescribeSecretCommand({ SecretId: secretName }));
      const keyId = existing.Tags?.find((t) => t.Key === 'firebreak:access-key-id')?.Value;
      return { status: 'done', summary: `a replacement key ${keyId ?? ''} for ${userName} was already kept in ${secretName}`, data: { userName, ...(keyId ? { accessKeyId: keyId } : {}), secretName, ...(existing.ARN ? { secretArn: existing.ARN } : {}) } };
    }
  },
});

const DeletedKeysSchema = z.object({ userName: z.string(), deleted: z.array(z.string()), leftAlone: z.array(z.string()) });

/** Deletes the exposed keys, in full mode only, once the user's state is in the evidence bucket. */
export const deleteExposedKeys = iamUserStep({
  name: 'deleteExposedKeys',
  stage: 'investigate',
  description: 'Delete the exposed access keys containment deactivated (full mode, after the evidence is saved; a deleted key cannot be restored)',
  iamActions: ['iam:ListAccessKeys', 'iam:DeleteAccessKey'],
  minimumMode: 'full',
  // After the evidence is saved: the user's state, with the key's last use, is in the bucket.
  requires: [deactivateExposedKeys, preserveUserState],
  data: DeletedKeysSchema,
  async run(ctx) {
    const recorded = ctx.outputOf(deactivateExposedKeys);
    const candidates = (recorded?.keys ?? []).filter((k) => k.result === 'deactivated' || k.result === 'already-inactive').map((k) => k.accessKeyId);
    if (!recorded || candidates.length === 0) return { status: 'skipped', summary: 'no exposed key was deactivated: nothing to delete' };
    const current = (await ctx.clients.iam.send(new ListAccessKeysCommand({ UserName: recorded.userName }))).AccessKeyMetadata ?? [];
    const deleted: string[] = [];
    const leftAlone: string[] = [];
    for (const id of candidates) {
      const now = current.find((k) => k.AccessKeyId === id);
      if (!now) continue;
      // Reactivated by a person since containment: their decision, not ours.
      if (now.Status !== 'Inactive') {
        leftAlone.push(id);
        continue;
      }
      await ctx.clients.iam.send(new DeleteAccessKeyCommand({ UserName: recorded.userName, AccessKeyId: id }));
      deleted.push(id);
    }
    return {
      status: 'done',
      summary: `deleted exposed key(s) ${deleted.join(', ') || 'none (already gone)'} of ${recorded.userName}${leftAlone.length ? `; left ${leftAlone.join(', ')} alone (active again since containment)` : ''}; release cannot bring a deleted key back`,
      data: { userName: recorded.userName, deleted, leftAlone },
    };
  },
});
