/**
 * The identity reviews the IAM user, IAM role and account playbooks share (the seeds: "Check
 * CloudTrail logs for other unauthorized activity", "Review your AWS resources", "Verify your AWS
 * account information"), as step factories generic over the playbook's types: each playbook adds
 * them to its steps in one line each, with its own step constructor (`defineStep<T>()`).
 *
 * - {@link trailReview} (evidence): every call made with the key / by the principal from
 *   `cloudtrail_review.lookback_days` before the finding's first activity until now, in the
 *   incident's region and the one global services log in (us-east-1), through the paced
 *   `lookupTrailPage` only; resumable across follow-up deliveries (cursors in its pending data,
 *   events in numbered evidence parts); the activity report (JSON and Markdown).
 * - {@link resourceReview} (investigate, after the CloudTrail review): what the principal created
 *   or changed, checked, tagged `firebreak:suspect`, with the commands to delete each.
 * - {@link neutraliseSuspects} (investigate, full mode, optional): neutralises the suspects
 *   reversibly; its undo `restoreSuspects` goes in the playbook's release order.
 * - {@link verifyAccountInformation} (evidence): primary and alternate contacts against the
 *   expected values; drift in the summary and the evidence.
 * - {@link relatedIncidents} (evidence): links incidents sharing the principal or the key.
 *
 * Their options are fragments the playbook embeds: {@link TrailReviewOptionsSchema}
 * (`cloudtrail_review`), {@link ResourceReviewOptionsSchema} (`resource_review`),
 * {@link ExpectedAccountInformationSchema} (`expected_account_information`).
 *
 * @example
 * ```ts
 * // shared/playbooks/iam-user/options.ts
 * export const IamUserOptionsSchema = z.object({
 *   …,
 *   cloudtrail_review: TrailReviewOptionsSchema,
 *   resource_review: ResourceReviewOptionsSchema,
 *   expected_account_information: ExpectedAccountInformationSchema,
 * }).strict();
 *
 * // shared/playbooks/iam-user/review.ts
 * export const reviewCloudTrail = trailReview(iamUserStep, {
 *   subjects: ({ incident, resource }) => [
 *     { attribute: 'AccessKeyId', value: resource.accessKeyId, why: "the finding's access key", followIssuedCredentials: true },
 *     { attribute: 'Username', value: resource.userName, why: 'the user' },
 *   ],
 *   settings: (o) => o.cloudtrail_review,
 * });
 * export const reviewResources = resourceReview(iamUserStep, { trail: reviewCloudTrail, settings: (o) => o.resource_review });
 * export const neutralise = neutraliseSuspects(iamUserStep, { review: reviewResources, settings: (o) => o.resource_review, enabledBy: 'resource_review.neutralise' });
 * export const verifyAccount = verifyAccountInformation(iamUserStep, { expected: (o) => o.expected_account_information });
 * export const linkRelated = relatedIncidents(iamUserStep, {
 *   keys: ({ incident, resource }) => [principalKey(incident.accountId, resource.arn), accessKeyKey(resource.accessKeyId)],
 * });
 *
 * // shared/playbooks/iam-user/index.ts
 * steps: [ …contain steps, linkRelated, reviewCloudTrail, verifyAccount, reviewResources, neutralise ],
 * release: [ neutralise, …the playbook's own undos ],
 * ```
 */
export { trailReview, reviewWindow, issuedAccessKeyOf, matchesSubject, defaultReviewRegions, GLOBAL_EVENTS_REGION, MAX_SUBJECTS, LOOKUP_ATTRIBUTES, TrailReviewDataSchema } from './trail.ts';
export type { StepConstructor, ReviewSubject, LookupAttribute, TrailReviewData, TrailReviewSpec } from './trail.ts';
export {
  resourceReview,
  neutraliseSuspects,
  SUSPECT_TAG,
  FIREBREAK_COMPONENT_TAG,
  suspectPolicyName,
  loginPasswordSecretName,
  randomPassword,
  ResourceReviewDataSchema,
  NeutraliseDataSchema,
  RESOURCE_REVIEW_IAM_ACTIONS,
  NEUTRALISE_IAM_ACTIONS,
  RESTORE_IAM_ACTIONS,
} from './resources.ts';
export type { ResourceReviewData, ResourceReviewSpec, NeutraliseData, NeutraliseSpec, Neutralised, Suspect } from './resources.ts';
export { verifyAccountInformation, accountDrift, ALTERNATE_CONTACT_TYPES, AccountInformationDataSchema } from './account-information.ts';
export type { AccountInformationData, AccountInformationSpec, Drift } from './account-information.ts';
export { relatedIncidents, principalKey, accessKeyKey, RelatedIncidentsDataSchema } from './related.ts';
export type { RelatedIncidentsData, RelatedIncidentsSpec } from './related.ts';
export { changesOf, deleteCommands, isWrite, isDenied, shellQuote, SUSPECT_KINDS, ChangeSchema } from './changes.ts';
export type { Change, SuspectKind } from './changes.ts';
export { addEvents, emptyActivity, enumerationSign, activityMarkdown, ActivitySchema, ACTIVITY_LIMITS } from './activity.ts';
export type { Activity } from './activity.ts';
export {
  TrailReviewOptionsSchema,
  ResourceReviewOptionsSchema,
  ExpectedAccountInformationSchema,
  TRAIL_REVIEW_DEFAULTS,
} from './options.ts';
export type { TrailReviewOptions, ResourceReviewOptions, ExpectedAccountInformation } from './options.ts';
