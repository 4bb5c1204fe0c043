import { GetAccountSummaryCommand, type SummaryKeyType } from '@aws-sdk/client-iam';
import * as z from 'zod';
import { accountStep } from './types.ts';

/** What the root step records: what IAM says of the root user's credentials, and the steps for people. */
export const RootRecommendationSchema = z.object({
  accountId: z.string(),
  /** IAM GetAccountSummary `AccountMFAEnabled` (1: the root user has MFA); absent when it could not be read. */
  rootMfaEnabled: z.boolean().optional(),
  /** `AccountAccessKeysPresent` (1: the root user has access keys). */
  rootAccessKeysPresent: z.boolean().optional(),
  /** `AccountSigningCertificatesPresent`. */
  rootSigningCertificatesPresent: z.boolean().optional(),
  /** The finding's key, when it names one (ASIA…: a session of root; AKIA…: a root access key). */
  exposedAccessKeyId: z.string().optional(),
  why: z.string(),
  recommendations: z.array(z.string()),
});

export type RootRecommendation = z.infer<typeof RootRecommendationSchema>;

/**
 * No API deactivates the root user's credentials from inside the account: its password and
 * access keys can be changed only by root itself (console, Security credentials) or, in an AWS
 * Organization with centralized root access, from the management account (or IAM's delegated
 * administrator) through an `sts:AssumeRoot` session. So the step never claims to have done it:
 * it records what IAM says of the root credentials and what people must do, as a `skipped`
 * outcome with the recommendation in its data — in every mode, never silent.
 */
export const recommendRootCredentialLockdown = accountStep({
  name: 'recommendRootCredentialLockdown',
  stage: 'contain',
  description: "Record the root user's credentials (MFA, access keys) and the steps only people can take to lock them down",
  iamActions: ['iam:GetAccountSummary'],
  // Every re-publication records root's state as it is then, even once the incident is contained.
  revisitWhenSkipped: true,
  data: RootRecommendationSchema,
  async run({ clients, incident, resource, logger }) {
    const summary = await clients.iam.send(new GetAccountSummaryCommand({})).then(
      (o) => o.SummaryMap ?? {},
      (error: unknown) => {
        // The recommendation stands without the summary: say it could not be read, never fail the step for it.
        logger.warn('GetAccountSummary failed; the root recommendation is recorded without it', { error: error as Error });
        return undefined;
      },
    );
    const flag = (key: SummaryKeyType) => (summary && typeof summary[key] === 'number' ? summary[key] === 1 : undefined);
    const rootMfaEnabled = flag('AccountMFAEnabled');
    const rootAccessKeysPresent = flag('AccountAccessKeysPresent');
    const rootSigningCertificatesPresent = flag('AccountSigningCertificatesPresent');
    const keyHint = incident.resource.hints.accessKeyId;
    const exposedAccessKeyId = typeof keyHint === 'string' ? keyHint : undefined;
    const id = resource.accountId;
    const recommendations = [
      `Sign in as the root user of ${id} (or recover its password through the root email address if it was changed) and change the root password at once.`,
      rootMfaEnabled === false
        ? 'The root user has no MFA: assign one (console: account menu > Security credentials > Multi-factor authentication > Assign MFA device).'
        : 'Check the root user\'s MFA devices (console: account menu > Security credentials) and remove any you do not own; assign a new one.',
      rootAccessKeysPresent === false
        ? 'The root user has no access keys (IAM GetAccountSummary): keep it that way.'
        : `Delete every root access key${exposedAccessKeyId?.startsWith('AKIA') ? `, ${exposedAccessKeyId} first` : ''} (console: account menu > Security credentials > Access keys > Actions > Delete): no IAM user or role can, only root itself or an AssumeRoot session.`,
      ...(rootSigningCertificatesPresent ? ['Delete the root user\'s X.509 signing certificates (Security credentials).'] : []),
      'Check the root email address and its mailbox (who can reset the root password), and the account\'s contact information.',
      `In an AWS Organization, from the management account (or IAM's delegated administrator): enable centralized root access once (aws organizations enable-aws-service-access --service-principal iam.amazonaws.com; aws iam enable-organizations-root-credentials-management; aws iam enable-organizations-root-sessions), then remove the member's root credentials: aws sts assume-root --region <a regional STS endpoint's region> --target-principal ${id} --task-policy-arn arn=arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials, and with that session: aws iam delete-login-profile; aws iam list-access-keys / delete-access-key --access-key-id <id>; aws iam list-signing-certificates / delete-signing-certificate; aws iam list-mfa-devices / deactivate-mfa-device (no user name: the session is the member's root). The member account then has no root credentials until the management account allows a password recovery.`,
      'Review what root did (CloudTrail: userIdentity.type = Root) and keep this incident open until the root credentials are changed.',
    ];
    const state = [
      rootMfaEnabled === undefined ? 'root MFA unknown' : rootMfaEnabled ? 'root has MFA' : 'root has NO MFA',
      rootAccessKeysPresent === undefined ? 'root access keys unknown' : rootAccessKeysPresent ? 'root HAS access keys' : 'root has no access keys',
    ].join(', ');
    return {
      status: 'skipped',
      summary: `no API can deactivate the root user's credentials from inside ${id} (${state}): recorded the steps for the account owners (root password, MFA, root access keys; in an Organization, sts:AssumeRoot from the management account)`,
      data: {
        accountId: id,
        ...(rootMfaEnabled !== undefined ? { rootMfaEnabled } : {}),
        ...(rootAccessKeysPresent !== undefined ? { rootAccessKeysPresent } : {}),
        ...(rootSigningCertificatesPresent !== undefined ? { rootSigningCertificatesPresent } : {}),
        ...(exposedAccessKeyId ? { exposedAccessKeyId } : {}),
        why: 'no API deactivates root credentials from inside the account; only root itself, or the Organization management account through sts:AssumeRoot, can',
        recommendations,
      },
    };
  },
});
