import * as z from 'zod';
import { findUserRevocation, removeUserRevocation, revokeUserCredentialsIssuedBefore, userRevocationPolicyName } from '../../actions/user-sessions.ts';
import { identifyUser, userToActOn } from './identify.ts';
import { iamUserStep } from './types.ts';

const RevocationSchema = z.object({ userName: z.string(), policyName: z.string(), revokedBefore: z.string().nullable() });

export const revokeUserSessions = iamUserStep({
  name: 'revokeUserSessions',
  stage: 'contain',
  description: "Invalidate temporary credentials minted from the user's keys: an inline deny-all on the user for aws:TokenIssueTime earlier than now",
  iamActions: ['iam:GetUserPolicy', 'iam:PutUserPolicy'],
  requires: [identifyUser],
  data: RevocationSchema,
  async run(ctx) {
    const { identified, now } = await userToActOn(ctx);
    const userName = identified.userName;
    if (!now) return { status: 'skipped', summary: `user ${userName} no longer exists: credentials it minted are no longer valid` };
    const policyName = userRevocationPolicyName(ctx.incident.incidentId);
    // A redelivery keeps the first cut-off: moving it would also deny what the owner minted since.
    const existing = await findUserRevocation(ctx.clients.iam, userName, policyName);
    if (existing) {
      return {
        status: 'done',
        summary: `temporary credentials of ${userName} issued before ${existing.revokedBefore ?? 'the first delivery'} were already denied by ${policyName}`,
        data: { userName, policyName, revokedBefore: existing.revokedBefore ?? null },
      };
    }
    const revokedBefore = await revokeUserCredentialsIssuedBefore(ctx.clients.iam, userName, policyName, ctx.now());
    return {
      status: 'done',
      summary: `temporary credentials of ${userName} issued before ${revokedBefore} (GetSessionToken, GetFederationToken sessions) are denied by inline policy ${policyName}; its long-term keys are not affected by it`,
      data: { userName, policyName, revokedBefore },
    };
  },
  undo: {
    name: 'removeUserRevocationPolicy',
    description: "Remove the inline policy that denied the user's older temporary credentials",
    iamActions: ['iam:DeleteUserPolicy'],
    async run({ recorded, clients }) {
      const { userName, policyName, revokedBefore } = recorded;
      if ((await removeUserRevocation(clients.iam, userName, policyName)) === 'already-removed') {
        return { status: 'done', summary: `${policyName} was already gone from user ${userName}`, data: { userName, policyName, result: 'already-removed' } };
      }
      const caveat = `temporary credentials of ${userName} issued before ${revokedBefore ?? 'the revocation'} that have not expired (GetSessionToken and GetFederationToken last up to 36 hours) are valid again`;
      return { status: 'done', summary: `removed ${policyName} from user ${userName}: ${caveat}`, data: { userName, policyName, result: 'removed', caveat } };
    },
  },
});
