/**
 * The identity reviews of compromised user credentials (shared/actions/identity-review): every
 * call made with the exposed key and by the user (and with the temporary credentials the key
 * minted), what it created or changed, the account's contact information, and the incidents
 * sharing the user or the key. The user is the one identifyUser found (for a federated session,
 * the IAM user who minted it, never a user of the session's name).
 */
import { accessKeyKey, neutraliseSuspects, principalKey, relatedIncidents, resourceReview, trailReview, verifyAccountInformation, type ReviewSubject } from '../../actions/identity-review/index.ts';
import type { StepContext } from '../../engine/index.ts';
import { identifyUser } from './identify.ts';
import { iamUserStep, type IamUserTypes } from './types.ts';

/** The user the playbook acts on, as identifyUser found it, or the one the finding names. */
function actingUser(ctx: Pick<StepContext<IamUserTypes, unknown>, 'resource' | 'outputOf'>): { userName: string; userArn: string } | undefined {
  const identified = ctx.outputOf(identifyUser);
  if (identified) return { userName: identified.userName, userArn: identified.userArn };
  return ctx.resource.kind === 'user' ? { userName: ctx.resource.user.userName, userArn: ctx.resource.user.userArn } : undefined;
}

export const reviewUserActivity = trailReview(iamUserStep, {
  subjects: (ctx) => {
    const user = actingUser(ctx);
    const key = ctx.resource.exposure.accessKeyId;
    const minted = ctx.outputOf(identifyUser)?.mintedWithKey;
    const subjects: ReviewSubject[] = [];
    if (key) subjects.push({ attribute: 'AccessKeyId', value: key, why: "the finding's access key, and the temporary credentials it minted", followIssuedCredentials: true });
    if (minted && minted !== key) subjects.push({ attribute: 'AccessKeyId', value: minted, why: 'the long-term key the federated session was minted with', followIssuedCredentials: true });
    if (user) subjects.push({ attribute: 'Username', value: user.userName, why: 'the user' });
    return subjects;
  },
  settings: (o) => o.cloudtrail_review,
});

export const reviewUserResources = resourceReview(iamUserStep, { trail: reviewUserActivity, settings: (o) => o.resource_review });

export const neutraliseUserSuspects = neutraliseSuspects(iamUserStep, { review: reviewUserResources, settings: (o) => o.resource_review, enabledBy: 'resource_review.neutralise' });

export const verifyUserAccountInformation = verifyAccountInformation(iamUserStep, { expected: (o) => o.expected_account_information });

export const linkUserIncidents = relatedIncidents(iamUserStep, {
  keys: (ctx) => {
    const user = actingUser(ctx);
    const key = ctx.resource.exposure.accessKeyId;
    return [...(user ? [principalKey(ctx.incident.accountId, user.userArn)] : []), ...(key ? [accessKeyKey(key)] : [])];
  },
});
