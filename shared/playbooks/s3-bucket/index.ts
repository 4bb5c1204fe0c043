import { definePlaybook, type Playbook } from '../../engine/index.ts';
import { blockAccountPublicAccess, blockBucketPublicAccess, enforceBucketOwnership, removePublicPolicyStatements } from './containment.ts';
import { captureBucket, DESCRIBE_IAM_ACTIONS, describeBucket, S3CaptureSchema } from './describe.ts';
import { S3OptionsSchema } from './options.ts';
import type { S3 } from './types.ts';

/**
 * Compromised S3 bucket, as the seeds order it: the bucket is identified by GuardDuty (describe);
 * contain at once — Block Public Access on the bucket (and the account when configured), ACLs
 * disabled, the policy's public statements removed — leaving the data in place; then save the
 * configuration from before as evidence and tag the bucket; then identify the source (CloudTrail
 * management events, and data events where they are logged), assess whether it was authorised
 * (and hand its credentials to the IAM playbooks when configured), and report what cannot be
 * applied blindly.
 */
export const s3BucketPlaybook: Playbook<S3> = definePlaybook<S3>({
  name: 's3-bucket',
  options: S3OptionsSchema,
  describe: describeBucket,
  capture: { schema: S3CaptureSchema, of: captureBucket },
  tags: (b) => b.tags,
  identifiers: (incident, b) => [b.name, `arn:${incident.partition}:s3:::${b.name}`],
  principals: () => [],
  describeIamActions: DESCRIBE_IAM_ACTIONS,
  isolationStep: blockBucketPublicAccess,
  steps: [
    // Contain — concurrently; the data stays in place.
    blockBucketPublicAccess,
    blockAccountPublicAccess,
    enforceBucketOwnership,
    removePublicPolicyStatements,
  ],
  // Evidence, investigation and the release order (./later.ts) load once the resource is isolated.
  later: () => import('./later.ts'),
});

export type { S3 } from './types.ts';
export type { S3Bucket } from './describe.ts';
export { S3OptionsSchema, type S3Options } from './options.ts';

/** What the registry and the generated function entry point look for in every playbook folder. */
export const playbook = s3BucketPlaybook;
