import { TagUserCommand } from '@aws-sdk/client-iam';
import * as z from 'zod';
import { incidentTags } from '../../actions/tagging.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { identifyUser, userToActOn } from './identify.ts';
import { iamUserStep } from './types.ts';

/** AWS's quarantine policies for exposed keys: AWSCompromisedKeyQuarantine, …V2, …V3 and any later version. */
export const QUARANTINE_POLICY_ARN = /^arn:aws[a-z-]*:iam::aws:policy\/AWSCompromisedKeyQuarantine(V\d+)?$/;

export const preserveUserState = iamUserStep({
  name: 'preserveUserState',
  stage: 'evidence',
  description: "Save the user as it was before containment and as it is now (keys and their last use, console password, policies, MFA devices, groups) to the evidence bucket",
  iamActions: [...EVIDENCE_IAM_ACTIONS],
  requires: [identifyUser],
  async run(ctx) {
    const { identified, now } = await userToActOn(ctx);
    const ref = await ctx.evidence.putJson(ctx.incident.incidentId, 'iam-user.json', {
      incident: ctx.incident,
      captureBeforeContainment: ctx.capture,
      identifiedUser: identified,
      userAtThisDelivery: now ?? null,
    });
    return { status: 'done', summary: `state of IAM user ${identified.userName} saved (sha256 ${ref.sha256.slice(0, 12)}…)`, evidence: [ref] };
  },
});

const QuarantineSchema = z.object({ userName: z.string(), attached: z.array(z.string()) });

export const recordQuarantinePolicy = iamUserStep({
  name: 'recordQuarantinePolicy',
  stage: 'evidence',
  description: 'Record whether AWS attached its AWSCompromisedKeyQuarantine managed policy to the user (it is kept, never detached)',
  iamActions: [],
  requires: [identifyUser],
  data: QuarantineSchema,
  async run(ctx) {
    const { identified, now } = await userToActOn(ctx);
    const attached = [...new Set([...identified.before.attachedPolicies, ...(now?.attachedPolicies ?? [])].map((p) => p.policyArn).filter((arn) => QUARANTINE_POLICY_ARN.test(arn)))];
    return {
      status: 'done',
      summary: attached.length
        ? `AWS attached ${attached.join(', ')} to ${identified.userName} (it denies some actions to the user's keys but not to temporary credentials already minted; Firebreak's revocation covers those): kept, release never detaches it — follow AWS's support case`
        : `AWS has not attached an AWSCompromisedKeyQuarantine policy to ${identified.userName}`,
      data: { userName: identified.userName, attached },
    };
  },
});

const TagsSchema = z.object({ userName: z.string(), tags: z.record(z.string(), z.string()) });

export const tagUser = iamUserStep({
  name: 'tagUser',
  stage: 'evidence',
  description: 'Tag the user with the incident id, ticket, status and containment time',
  iamActions: ['iam:TagUser'],
  requires: [identifyUser],
  data: TagsSchema,
  async run(ctx) {
    const { identified, now } = await userToActOn(ctx);
    if (!now) return { status: 'skipped', summary: `user ${identified.userName} no longer exists: nothing to tag` };
    const tags = incidentTags(ctx.incident, { 'firebreak:status': 'contained', 'firebreak:contained-at': ctx.now().toISOString() });
    await ctx.clients.iam.send(new TagUserCommand({ UserName: identified.userName, Tags: tags }));
    return { status: 'done', summary: `tagged ${identified.userName} with ${tags.map((t) => t.Key).join(', ')}`, data: { userName: identified.userName, tags: Object.fromEntries(tags.map((t) => [t.Key, t.Value])) } };
  },
});
