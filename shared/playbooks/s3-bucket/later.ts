// The s3-bucket playbook's later stages, loaded once its isolation step has finished
// (definePlaybook's `later`): evidence and investigation steps, and the release order.
import type { PlaybookStages } from '../../engine/index.ts';
import { blockAccountPublicAccess, blockBucketPublicAccess, enforceBucketOwnership, removePublicPolicyStatements } from './containment.ts';
import { preserveBucketConfiguration, tagBucket } from './evidence.ts';
import { assessSourceAuthorisation, reviewBucketDataEvents, reviewBucketManagementEvents } from './investigation.ts';
import { keepEvidence, tagReleased } from './release-actions.ts';
import { reportBucketRecommendations } from './report.ts';
import type { S3 } from './types.ts';

export const steps: PlaybookStages<S3>['steps'] = [
  // Preserve evidence: the configuration as the first delivery found it; tag the bucket.
  preserveBucketConfiguration,
  tagBucket,
  // Investigate: who, with what calls, authorised or not; what remains for a human.
  reviewBucketManagementEvents,
  reviewBucketDataEvents,
  assessSourceAuthorisation,
  reportBucketRecommendations,
];

// Release, one step after another: ACLs come back first, while Block Public Access still ignores
// public grants; then the account's and the bucket's Block Public Access (S3 refuses a public
// policy while BlockPublicPolicy is on); then the policy. Evidence stays.
export const release: PlaybookStages<S3>['release'] = [
  enforceBucketOwnership, // restoreObjectOwnership
  blockAccountPublicAccess, // restoreAccountPublicAccessBlock
  blockBucketPublicAccess, // restoreBucketPublicAccessBlock
  removePublicPolicyStatements, // restoreBucketPolicy
  keepEvidence,
  tagReleased,
];
