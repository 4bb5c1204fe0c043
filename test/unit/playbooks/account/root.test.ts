import { GetAccountSummaryCommand, IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { recommendRootCredentialLockdown } from '../../../../shared/playbooks/account/root.ts';
import { ACCOUNT_ID, awsError } from '../../helpers/factories.ts';
import { anAccountStepContext, aRootIncident } from './helpers.ts';

const iam = mockClient(IAMClient);
afterEach(() => iam.reset());

describe('Step: recommendRootCredentialLockdown', () => {
  it('records that no API deactivates root credentials from inside the account, what IAM says of them, and the exact steps for people — skipped, never silent', async () => {
    // Prepare
    iam.on(GetAccountSummaryCommand).resolves({ SummaryMap: { AccountMFAEnabled: 0, AccountAccessKeysPresent: 1, AccountSigningCertificatesPresent: 0, Users: 3 } });

    // Act
    const result = await recommendRootCredentialLockdown.run(anAccountStepContext({ incident: aRootIncident({ resource: { type: 'Account', id: ACCOUNT_ID, hints: { userType: 'Root', accessKeyId: 'AKIAROOTKEY000000001' } } }) }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toContain("no API can deactivate the root user's credentials from inside");
    expect(result.summary).toContain('root has NO MFA, root HAS access keys');
    expect(result.data).toMatchObject({ accountId: ACCOUNT_ID, rootMfaEnabled: false, rootAccessKeysPresent: true, rootSigningCertificatesPresent: false, exposedAccessKeyId: 'AKIAROOTKEY000000001' });
    const steps = result.data!.recommendations.join('\n');
    expect(steps).toContain('The root user has no MFA: assign one');
    expect(steps).toContain('Delete every root access key, AKIAROOTKEY000000001 first');
    expect(steps).toContain(`aws sts assume-root --region <a regional STS endpoint's region> --target-principal ${ACCOUNT_ID} --task-policy-arn arn=arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials`);
    expect(steps).toContain('aws iam enable-organizations-root-credentials-management');
    expect(recommendRootCredentialLockdown.data.parse(JSON.parse(JSON.stringify(result.data)))).toEqual(result.data);
  });

  it('still records the recommendation when the account summary cannot be read', async () => {
    // Prepare
    iam.on(GetAccountSummaryCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403 }));

    // Act
    const result = await recommendRootCredentialLockdown.run(anAccountStepContext());

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toContain('root MFA unknown, root access keys unknown');
    expect(result.data).not.toHaveProperty('rootMfaEnabled');
    expect(result.data!.exposedAccessKeyId).toBe('ASIA4EXAMPLEROOTSES9');
    expect(result.data!.recommendations.join('\n')).toContain('Delete every root access key (console');
  });

  it('runs in contain mode and changes nothing', () => {
    expect([recommendRootCredentialLockdown.minimumMode, recommendRootCredentialLockdown.iamActions, recommendRootCredentialLockdown.undo]).toEqual(['contain', ['iam:GetAccountSummary'], undefined]);
  });
});
