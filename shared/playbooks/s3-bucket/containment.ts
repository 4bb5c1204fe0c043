import {
  DeleteBucketOwnershipControlsCommand,
  DeleteBucketPolicyCommand,
  DeletePublicAccessBlockCommand,
  GetBucketPolicyStatusCommand,
  PutBucketOwnershipControlsCommand,
  PutBucketPolicyCommand,
  PutPublicAccessBlockCommand,
} from '@aws-sdk/client-s3';
import {
  DeletePublicAccessBlockCommand as DeleteAccountPublicAccessBlockCommand,
  GetPublicAccessBlockCommand as GetAccountPublicAccessBlockCommand,
  PutPublicAccessBlockCommand as PutAccountPublicAccessBlockCommand,
  type S3ControlClient,
} from '@aws-sdk/client-s3-control';
import { isDeepStrictEqual } from 'node:util';
import * as z from 'zod';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import {
  ALL_BLOCKED,
  AclGrantSchema,
  foreignGrants,
  isFullyBlocked,
  PublicAccessBlockSchema,
  readBucketPolicy,
  readBucketPublicAccessBlock,
  readObjectOwnership,
  type PublicAccessBlock,
} from './describe.ts';
import { policyVerdicts, withoutStatements, type StatementVerdict } from './policy.ts';
import { s3Step } from './types.ts';

const describeBlock = (b: PublicAccessBlock | null) =>
  b === null ? 'none' : Object.entries(b).map(([k, v]) => `${k}=${v}`).join(', ');

// ---------------------------------------------------------------------------
// Block Public Access on the bucket
// ---------------------------------------------------------------------------

export const BlockBucketPublicAccessDataSchema = z.object({
  /** The bucket's settings before containment (null: none were set). */
  before: PublicAccessBlockSchema.nullable(),
});

export const blockBucketPublicAccess = s3Step({
  name: 'blockBucketPublicAccess',
  stage: 'contain',
  description: 'Turn on every S3 Block Public Access setting of the bucket',
  iamActions: ['s3:GetBucketPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
  data: BlockBucketPublicAccessDataSchema,
  async run({ clients, resource, capture }) {
    // The settings as the first delivery found them: a retry after a put whose outcome was not
    // recorded must not take Firebreak's own settings for the bucket's.
    const before = capture.publicAccessBlock ?? null;
    if (isFullyBlocked(before)) return { status: 'skipped', summary: `${resource.name} already blocked every kind of public access` };
    if (!isFullyBlocked(resource.publicAccessBlock)) {
      await clients.s3.send(new PutPublicAccessBlockCommand({ Bucket: resource.name, PublicAccessBlockConfiguration: ALL_BLOCKED }));
    }
    return { status: 'done', summary: `Block Public Access turned on for ${resource.name} (it had: ${describeBlock(before)})`, data: { before } };
  },
  undo: {
    name: 'restoreBucketPublicAccessBlock',
    description: 'Put back the Block Public Access settings the bucket had (or remove them when it had none)',
    iamActions: ['s3:GetBucketPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
    async run({ clients, incident, recorded }) {
      const bucket = incident.resource.id;
      const now = await readBucketPublicAccessBlock(clients.s3, bucket);
      if (!isFullyBlocked(now)) {
        return { status: 'skipped', summary: `${bucket}'s Block Public Access was changed since containment (${describeBlock(now)}): left as it is`, data: { now } };
      }
      if (recorded.before === null) {
        await clients.s3.send(new DeletePublicAccessBlockCommand({ Bucket: bucket }));
        return { status: 'done', summary: `removed the Block Public Access settings of ${bucket}, which had none before containment`, data: { restored: null } };
      }
      await clients.s3.send(new PutPublicAccessBlockCommand({ Bucket: bucket, PublicAccessBlockConfiguration: recorded.before }));
      return { status: 'done', summary: `restored ${bucket}'s Block Public Access settings (${describeBlock(recorded.before)})`, data: { restored: recorded.before } };
    },
  },
});

// ---------------------------------------------------------------------------
// Block Public Access on the account (S3 Control), when configured
// ---------------------------------------------------------------------------

async function readAccountPublicAccessBlock(s3Control: S3ControlClient, accountId: string): Promise<PublicAccessBlock | null> {
  try {
    const out = await s3Control.send(new GetAccountPublicAccessBlockCommand({ AccountId: accountId }));
    const c = out.PublicAccessBlockConfiguration;
    if (!c) return null;
    return { BlockPublicAcls: Boolean(c.BlockPublicAcls), IgnorePublicAcls: Boolean(c.IgnorePublicAcls), BlockPublicPolicy: Boolean(c.BlockPublicPolicy), RestrictPublicBuckets: Boolean(c.RestrictPublicBuckets) };
  } catch (error) {
    if (hasErrorCode(error, 'NoSuchPublicAccessBlockConfiguration')) return null;
    throw error;
  }
}

export const BlockAccountPublicAccessDataSchema = z.object({ accountId: z.string(), before: PublicAccessBlockSchema.nullable() });

export const blockAccountPublicAccess = s3Step({
  name: 'blockAccountPublicAccess',
  stage: 'contain',
  description: 'Turn on every Block Public Access setting of the whole account (S3 Control), when configured',
  iamActions: ['s3:GetAccountPublicAccessBlock', 's3:PutAccountPublicAccessBlock'],
  enabledBy: ['account_block_public_access'],
  data: BlockAccountPublicAccessDataSchema,
  async run({ clients, incident, options, previous }) {
    if (!options.account_block_public_access) {
      return { status: 'skipped', summary: 'account-level Block Public Access is not configured (account_block_public_access = false): only the bucket is blocked' };
    }
    const accountId = incident.accountId;
    // An earlier attempt's reading of the account's settings wins over today's, which may be Firebreak's own.
    const before = previous?.data && 'before' in previous.data ? previous.data.before : await readAccountPublicAccessBlock(clients.s3Control, accountId);
    if (isFullyBlocked(before)) return { status: 'skipped', summary: `account ${accountId} already blocks every kind of public access` };
    await clients.s3Control.send(new PutAccountPublicAccessBlockCommand({ AccountId: accountId, PublicAccessBlockConfiguration: ALL_BLOCKED }));
    return { status: 'done', summary: `Block Public Access turned on for account ${accountId} (it had: ${describeBlock(before)})`, data: { accountId, before } };
  },
  undo: {
    name: 'restoreAccountPublicAccessBlock',
    description: 'Put back the account-level Block Public Access settings (or remove them when the account had none)',
    iamActions: ['s3:GetAccountPublicAccessBlock', 's3:PutAccountPublicAccessBlock'],
    async run({ clients, recorded }) {
      const now = await readAccountPublicAccessBlock(clients.s3Control, recorded.accountId);
      if (!isFullyBlocked(now)) {
        return { status: 'skipped', summary: `account ${recorded.accountId}'s Block Public Access was changed since containment (${describeBlock(now)}): left as it is`, data: { now } };
      }
      if (recorded.before === null) {
        await clients.s3Control.send(new DeleteAccountPublicAccessBlockCommand({ AccountId: recorded.accountId }));
        return { status: 'done', summary: `removed account ${recorded.accountId}'s Block Public Access settings, which it had not before containment`, data: { restored: null } };
      }
      await clients.s3Control.send(new PutAccountPublicAccessBlockCommand({ AccountId: recorded.accountId, PublicAccessBlockConfiguration: recorded.before }));
      return { status: 'done', summary: `restored account ${recorded.accountId}'s Block Public Access settings (${describeBlock(recorded.before)})`, data: { restored: recorded.before } };
    },
  },
});

// ---------------------------------------------------------------------------
// Disable ACLs: BucketOwnerEnforced
// ---------------------------------------------------------------------------

export const EnforceBucketOwnershipDataSchema = z.object({
  /** The ownership setting before (null: no ownership controls, which S3 treats as ObjectWriter). */
  before: z.string().nullable(),
  /** The bucket ACL's grants before: they apply again when ACLs are enabled again. */
  aclGrantsBefore: z.array(AclGrantSchema),
});

export const enforceBucketOwnership = s3Step({
  name: 'enforceBucketOwnership',
  stage: 'contain',
  description: 'Disable ACLs: set object ownership to BucketOwnerEnforced, so no ACL grants access any more',
  iamActions: ['s3:GetBucketOwnershipControls', 's3:PutBucketOwnershipControls'],
  data: EnforceBucketOwnershipDataSchema,
  async run({ clients, resource, capture }) {
    const before = capture.objectOwnership ?? null;
    if (before === 'BucketOwnerEnforced') return { status: 'skipped', summary: `ACLs of ${resource.name} were already disabled (BucketOwnerEnforced)` };
    if (resource.objectOwnership !== 'BucketOwnerEnforced') {
      try {
        await clients.s3.send(new PutBucketOwnershipControlsCommand({ Bucket: resource.name, OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] } }));
      } catch (error) {
        // S3 refuses BucketOwnerEnforced while the bucket ACL grants anyone but the owner; resetting
        // that ACL would also cut grants such as the log-delivery group's: a human decides.
        if (!hasErrorCode(error, 'InvalidBucketAclWithObjectOwnership')) throw error;
        const grants = foreignGrants(capture.acl ?? resource.acl);
        return {
          status: 'skipped',
          summary: `S3 refuses to disable ACLs of ${resource.name} while its ACL grants others (${grants.map((g) => `${g.grantee} ${g.permission}`).join(', ') || 'see the evidence'}); Block Public Access (IgnorePublicAcls) already neutralises public grants. Recommendation: move those grants to the bucket policy, then set BucketOwnerEnforced`,
        };
      }
    }
    return {
      status: 'done',
      summary: `ACLs of ${resource.name} disabled (object ownership BucketOwnerEnforced; it was ${before ?? 'not set'})`,
      data: { before, aclGrantsBefore: (capture.acl ?? resource.acl).grants },
    };
  },
  undo: {
    name: 'restoreObjectOwnership',
    description: 'Put back the object ownership setting the bucket had; the ACL grants from before apply again',
    iamActions: ['s3:GetBucketOwnershipControls', 's3:PutBucketOwnershipControls'],
    async run({ clients, incident, recorded }) {
      const bucket = incident.resource.id;
      const now = await readObjectOwnership(clients.s3, bucket);
      if (now !== 'BucketOwnerEnforced') return { status: 'skipped', summary: `${bucket}'s object ownership was changed since containment (${now ?? 'not set'}): left as it is`, data: { now } };
      const grants = recorded.aclGrantsBefore.map((g) => `${g.grantee} ${g.permission}`).join(', ') || 'none';
      const comeBack = `ACLs are enabled again: the grants made before containment apply again (bucket ACL: ${grants}; object ACLs likewise)`;
      if (recorded.before === null) {
        await clients.s3.send(new DeleteBucketOwnershipControlsCommand({ Bucket: bucket }));
        return { status: 'done', summary: `removed ${bucket}'s ownership controls, which it had not before containment; ${comeBack}`, data: { restored: null, aclGrantsBefore: recorded.aclGrantsBefore } };
      }
      await clients.s3.send(new PutBucketOwnershipControlsCommand({ Bucket: bucket, OwnershipControls: { Rules: [{ ObjectOwnership: recorded.before as 'ObjectWriter' }] } }));
      return { status: 'done', summary: `restored ${bucket}'s object ownership ${recorded.before}; ${comeBack}`, data: { restored: recorded.before, aclGrantsBefore: recorded.aclGrantsBefore } };
    },
  },
});

// ---------------------------------------------------------------------------
// Remove only the public statements of the bucket policy
// ---------------------------------------------------------------------------

const VerdictSchema = z.object({ index: z.number(), sid: z.string().optional(), public: z.boolean(), reason: z.string() });

export const RemovePublicPolicyStatementsDataSchema = z.object({
  /** The policy before, exactly as S3 returned it. */
  before: z.string(),
  /** The policy Firebreak put (null: every statement was public, so the policy was deleted). */
  after: z.string().nullable(),
  removed: z.array(VerdictSchema),
  kept: z.array(VerdictSchema),
  /** S3's own verdict on the policy after the change (GetBucketPolicyStatus), when it gave one. */
  publicAfter: z.boolean().optional(),
});

const named = (v: StatementVerdict) => (v.sid ? `${v.sid} (#${v.index})` : `#${v.index}`);

/** Two policies mean the same when their JSON is equal (S3 may return a policy re-formatted). */
export function samePolicy(a: string | undefined | null, b: string | undefined | null): boolean {
  if (a == null || b == null) return a == b;
  try {
    return isDeepStrictEqual(JSON.parse(a), JSON.parse(b));
  } catch {
    return a === b;
  }
}

export const removePublicPolicyStatements = s3Step({
  name: 'removePublicPolicyStatements',
  stage: 'contain',
  description: 'Remove from the bucket policy only the statements that grant public access, keeping every other statement as it is',
  iamActions: ['s3:GetBucketPolicy', 's3:PutBucketPolicy', 's3:DeleteBucketPolicy', 's3:GetBucketPolicyStatus'],
  data: RemovePublicPolicyStatementsDataSchema,
  async run({ clients, resource }) {
    const policy = resource.policy;
    if (!policy) return { status: 'skipped', summary: `${resource.name} has no bucket policy` };
    let verdicts: StatementVerdict[];
    let after: string | undefined;
    try {
      verdicts = policyVerdicts(policy);
      after = withoutStatements(
        policy,
        verdicts.filter((v) => v.public).map((v) => v.index),
      );
    } catch (error) {
      throw new StepFailedError('removePublicPolicyStatements', 'UnreadablePolicy', `the policy of ${resource.name} is not a JSON policy document Firebreak can read: ${(error as Error).message}`, { retryable: false, cause: error });
    }
    const removed = verdicts.filter((v) => v.public);
    const kept = verdicts.filter((v) => !v.public);
    if (removed.length === 0) {
      return { status: 'skipped', summary: `no statement of ${resource.name}'s policy grants public access (${kept.length} kept: ${kept.map((v) => `${named(v)}: ${v.reason}`).join('; ')})` };
    }
    if (after === undefined) await clients.s3.send(new DeleteBucketPolicyCommand({ Bucket: resource.name }));
    else await clients.s3.send(new PutBucketPolicyCommand({ Bucket: resource.name, Policy: after }));
    let publicAfter: boolean | undefined;
    if (after !== undefined) {
      try {
        publicAfter = (await clients.s3.send(new GetBucketPolicyStatusCommand({ Bucket: resource.name }))).PolicyStatus?.IsPublic;
      } catch {
        publicAfter = undefined;
      }
    }
    const verdict = publicAfter === true ? '; S3 still calls the policy public: review it' : publicAfter === false ? '; S3 calls the policy not public' : '';
    return {
      status: 'done',
      summary: `removed ${removed.length} public statement(s) of ${resource.name}'s policy (${removed.map((v) => `${named(v)}: ${v.reason}`).join('; ')})${after === undefined ? ' — no statement was left, so the policy was deleted' : `; kept ${kept.length} as written`}${verdict}`,
      data: { before: policy, after: after ?? null, removed, kept, ...(publicAfter !== undefined ? { publicAfter } : {}) },
    };
  },
  undo: {
    name: 'restoreBucketPolicy',
    description: 'Put back the bucket policy as it was, unless someone changed the policy since containment',
    iamActions: ['s3:GetBucketPolicy', 's3:PutBucketPolicy'],
    async run({ clients, incident, recorded }) {
      const bucket = incident.resource.id;
      const now = await readBucketPolicy(clients.s3, bucket);
      if (!samePolicy(now ?? null, recorded.after)) {
        return {
          status: 'skipped',
          summary: `${bucket}'s policy was changed since containment: left as it is (the policy from before containment is in the ledger and the evidence bucket)`,
          data: { changedSince: true },
        };
      }
      await clients.s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: recorded.before }));
      return { status: 'done', summary: `restored ${bucket}'s policy with the ${recorded.removed.length} statement(s) containment removed`, data: { restoredStatements: recorded.removed.map((v) => v.sid ?? `#${v.index}`) } };
    },
  },
});
