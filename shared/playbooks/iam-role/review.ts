/**
 * The identity reviews of a compromised role (shared/actions/identity-review): what its sessions
 * did (every session the role issued in the window, found through the AssumeRole events on it,
 * and the finding's own temporary key), what they created or changed, the account's contact
 * information, and the incidents sharing the role or the key.
 */
import { accessKeyKey, neutraliseSuspects, principalKey, relatedIncidents, resourceReview, trailReview, verifyAccountInformation, type ReviewSubject } from '../../actions/identity-review/index.ts';
import type { Incident } from '../../findings/index.ts';
import { roleStep } from './types.ts';

/** The temporary key the finding names (ASIA…), when it names one. */
const findingKey = (incident: Incident): string | undefined => {
  const key = incident.resource.hints.accessKeyId;
  return typeof key === 'string' ? key : undefined;
};

export const reviewRoleActivity = trailReview(roleStep, {
  subjects: ({ incident, resource }) => {
    const key = findingKey(incident);
    const subjects: ReviewSubject[] = [{ attribute: 'ResourceName', value: resource.arn, why: "the role: every session issued for it (AssumeRole*), then each session's calls", followIssuedCredentials: true }];
    if (key) subjects.unshift({ attribute: 'AccessKeyId', value: key, why: "the finding's temporary key" });
    return subjects;
  },
  settings: (o) => o.cloudtrail_review,
});

export const reviewRoleResources = resourceReview(roleStep, { trail: reviewRoleActivity, settings: (o) => o.resource_review });

export const neutraliseRoleSuspects = neutraliseSuspects(roleStep, { review: reviewRoleResources, settings: (o) => o.resource_review, enabledBy: 'resource_review.neutralise' });

export const verifyRoleAccountInformation = verifyAccountInformation(roleStep, { expected: (o) => o.expected_account_information });

export const linkRoleIncidents = relatedIncidents(roleStep, {
  keys: ({ incident, resource }) => {
    const key = findingKey(incident);
    return [principalKey(incident.accountId, resource.arn), ...(key ? [accessKeyKey(key)] : [])];
  },
});
