import {
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  GetBucketPolicyStatusCommand,
  GetBucketTaggingCommand,
  GetPublicAccessBlockCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import * as z from 'zod';
import type { DescribeContext } from '../../engine/index.ts';
import { hasErrorCode, ResourceNotFoundError } from '../../errors/index.ts';

/** The four Block Public Access settings (of a bucket, or of the account). */
export const PublicAccessBlockSchema = z.object({
  BlockPublicAcls: z.boolean(),
  IgnorePublicAcls: z.boolean(),
  BlockPublicPolicy: z.boolean(),
  RestrictPublicBuckets: z.boolean(),
});
export type PublicAccessBlock = z.infer<typeof PublicAccessBlockSchema>;

/** Every setting on. */
export const ALL_BLOCKED: PublicAccessBlock = { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true };

export const isFullyBlocked = (b: PublicAccessBlock | null | undefined): boolean => Boolean(b && b.BlockPublicAcls && b.IgnorePublicAcls && b.BlockPublicPolicy && b.RestrictPublicBuckets);

/** One grant of the bucket ACL: who (`CanonicalUser:<id>`, `Group:<uri>`, `AmazonCustomerByEmail:<email>`) and what. */
export const AclGrantSchema = z.object({ grantee: z.string(), permission: z.string() });
export type AclGrant = z.infer<typeof AclGrantSchema>;

/** The groups that make an ACL grant public (AllUsers, AuthenticatedUsers: "The meaning of public"). */
export const PUBLIC_ACL_GROUPS = ['http://acs.amazonaws.com/groups/global/AllUsers', 'http://acs.amazonaws.com/groups/global/AuthenticatedUsers'] as const;

/** A bucket as the playbook sees it. */
export interface S3Bucket {
  name: string;
  /** Where the bucket lives (GetBucketLocation; `us-east-1` when S3 says nothing). */
  region: string;
  /** The bucket policy's text, exactly as S3 returns it; absent: no policy. */
  policy?: string;
  /** S3's own verdict (GetBucketPolicyStatus); absent when there is no policy. */
  policyIsPublic?: boolean;
  acl: { ownerId?: string; grants: AclGrant[] };
  /** The bucket's Block Public Access settings; null: none set. */
  publicAccessBlock: PublicAccessBlock | null;
  /** `BucketOwnerEnforced`, `BucketOwnerPreferred` or `ObjectWriter`; null: no ownership controls. */
  objectOwnership: string | null;
  tags: Record<string, string>;
}

export const DESCRIBE_IAM_ACTIONS = [
  's3:GetBucketLocation',
  's3:GetBucketPolicy',
  's3:GetBucketPolicyStatus',
  's3:GetBucketAcl',
  's3:GetBucketPublicAccessBlock',
  's3:GetBucketOwnershipControls',
  's3:GetBucketTagging',
] as const;

/** S3's answer, or `fallback` when it says the thing is not configured (`codes`). */
async function orWhenMissing<T>(call: Promise<T>, codes: string[], fallback: T): Promise<T> {
  try {
    return await call;
  } catch (error) {
    if (hasErrorCode(error, ...codes)) return fallback;
    throw error;
  }
}

/** GetBucketLocation's LocationConstraint as a region name (empty means us-east-1; `EU` is the legacy name of eu-west-1). */
export function regionOfLocation(constraint: string | undefined | null): string {
  if (!constraint) return 'us-east-1';
  return constraint === 'EU' ? 'eu-west-1' : constraint;
}

/** The bucket's Block Public Access settings, or null when none are set. */
export async function readBucketPublicAccessBlock(s3: S3Client, bucket: string): Promise<PublicAccessBlock | null> {
  const out = await orWhenMissing(s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket })), ['NoSuchPublicAccessBlockConfiguration'], undefined);
  const c = out?.PublicAccessBlockConfiguration;
  if (!c) return null;
  return { BlockPublicAcls: Boolean(c.BlockPublicAcls), IgnorePublicAcls: Boolean(c.IgnorePublicAcls), BlockPublicPolicy: Boolean(c.BlockPublicPolicy), RestrictPublicBuckets: Boolean(c.RestrictPublicBuckets) };
}

/** The bucket's object ownership setting, or null without ownership controls. */
export async function readObjectOwnership(s3: S3Client, bucket: string): Promise<string | null> {
  const out = await orWhenMissing(s3.send(new GetBucketOwnershipControlsCommand({ Bucket: bucket })), ['OwnershipControlsNotFoundError'], undefined);
  return out?.OwnershipControls?.Rules?.[0]?.ObjectOwnership ?? null;
}

/** The bucket policy's text, or undefined without one. */
export async function readBucketPolicy(s3: S3Client, bucket: string): Promise<string | undefined> {
  const out = await orWhenMissing(s3.send(new GetBucketPolicyCommand({ Bucket: bucket })), ['NoSuchBucketPolicy'], undefined);
  return out?.Policy || undefined;
}

/** The bucket's tags as a map ({} without a tag set). */
export async function readBucketTags(s3: S3Client, bucket: string): Promise<Record<string, string>> {
  const out = await orWhenMissing(s3.send(new GetBucketTaggingCommand({ Bucket: bucket })), ['NoSuchTagSet', 'NoSuchTagSetError'], undefined);
  return Object.fromEntries((out?.TagSet ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
}

const granteeOf = (g: { Type?: string; ID?: string; URI?: string; EmailAddress?: string } | undefined): string =>
  `${g?.Type ?? 'Unknown'}:${g?.URI ?? g?.ID ?? g?.EmailAddress ?? ''}`;

/**
 * Describes the bucket: where it lives, its policy (and S3's verdict on it), ACL, Block Public
 * Access, ownership controls and tags. Read-only; a bucket that is gone is a {@link ResourceNotFoundError}.
 */
export async function describeBucket({ incident, clients }: DescribeContext): Promise<S3Bucket> {
  const name = incident.resource.id;
  const s3 = clients.s3;
  let location;
  try {
    location = await s3.send(new GetBucketLocationCommand({ Bucket: name }));
  } catch (error) {
    if (hasErrorCode(error, 'NoSuchBucket', 'NotFound')) throw new ResourceNotFoundError(name, { cause: error });
    throw error;
  }
  const [policy, status, acl, publicAccessBlock, objectOwnership, tags] = await Promise.all([
    readBucketPolicy(s3, name),
    orWhenMissing(s3.send(new GetBucketPolicyStatusCommand({ Bucket: name })), ['NoSuchBucketPolicy'], undefined),
    s3.send(new GetBucketAclCommand({ Bucket: name })),
    readBucketPublicAccessBlock(s3, name),
    readObjectOwnership(s3, name),
    readBucketTags(s3, name),
  ]);
  const isPublic = status?.PolicyStatus?.IsPublic;
  return {
    name,
    region: regionOfLocation(location.LocationConstraint),
    ...(policy ? { policy } : {}),
    ...(policy && isPublic !== undefined ? { policyIsPublic: isPublic } : {}),
    acl: {
      ...(acl.Owner?.ID ? { ownerId: acl.Owner.ID } : {}),
      grants: (acl.Grants ?? []).map((g) => ({ grantee: granteeOf(g.Grantee), permission: g.Permission ?? 'UNKNOWN' })),
    },
    publicAccessBlock,
    objectOwnership,
    tags,
  };
}

/** The "before" of containment kept in the ledger at the first delivery (the engine adds `capturedAt`). */
export const S3CaptureSchema = z
  .object({
    name: z.string(),
    region: z.string().optional(),
    policy: z.string().optional(),
    policyIsPublic: z.boolean().optional(),
    acl: z.object({ ownerId: z.string().optional(), grants: z.array(AclGrantSchema) }).default({ grants: [] }),
    publicAccessBlock: PublicAccessBlockSchema.nullable().default(null),
    objectOwnership: z.string().nullable().default(null),
    tags: z.record(z.string(), z.string()).default({}),
    capturedAt: z.string().optional(),
  })
  .loose();

export type S3Capture = z.infer<typeof S3CaptureSchema>;

export function captureBucket(b: S3Bucket): S3Capture {
  return {
    name: b.name,
    region: b.region,
    ...(b.policy !== undefined ? { policy: b.policy } : {}),
    ...(b.policyIsPublic !== undefined ? { policyIsPublic: b.policyIsPublic } : {}),
    acl: b.acl,
    publicAccessBlock: b.publicAccessBlock,
    objectOwnership: b.objectOwnership,
    tags: b.tags,
  };
}

/** Grants of the ACL to anyone but the bucket owner (they keep BucketOwnerEnforced from being set). */
export const foreignGrants = (acl: S3Bucket['acl']): AclGrant[] => acl.grants.filter((g) => g.grantee !== `CanonicalUser:${acl.ownerId ?? ''}`);

/** Grants to everyone or to every AWS account (public ACL grants). */
export const publicGrants = (acl: S3Bucket['acl']): AclGrant[] => acl.grants.filter((g) => (PUBLIC_ACL_GROUPS as readonly string[]).some((uri) => g.grantee === `Group:${uri}`));
