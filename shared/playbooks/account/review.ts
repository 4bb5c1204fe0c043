/**
 * The identity reviews of a compromised account (shared/actions/identity-review): CloudTrail
 * across the account — what the root user and the finding's key did, and every write in the
 * window — and the account's contact information. No resource review here: every write of the
 * account in the window is not a suspect (the inventory lists what was created recently, and the
 * CloudTrail report what was created or changed, with who did it).
 */
import { accessKeyKey, principalKey, relatedIncidents, trailReview, verifyAccountInformation, type ReviewSubject } from '../../actions/identity-review/index.ts';
import { accountStep } from './types.ts';

export const reviewAccountActivity = trailReview(accountStep, {
  subjects: ({ incident }) => {
    const key = incident.resource.hints.accessKeyId;
    const subjects: ReviewSubject[] = [
      { attribute: 'Username', value: 'root', why: 'the root user' },
      { attribute: 'ReadOnly', value: 'false', why: 'every write in the account' },
    ];
    if (typeof key === 'string') subjects.unshift({ attribute: 'AccessKeyId', value: key, why: "the finding's key" });
    return subjects;
  },
  settings: (o) => o.cloudtrail_review,
});

export const verifyAccountContacts = verifyAccountInformation(accountStep, { expected: (o) => o.expected_account_information });

export const linkAccountIncidents = relatedIncidents(accountStep, {
  keys: ({ incident }) => {
    const key = incident.resource.hints.accessKeyId;
    return [principalKey(incident.accountId, `arn:${incident.partition}:iam::${incident.accountId}:root`), ...(typeof key === 'string' ? [accessKeyKey(key)] : [])];
  },
});
