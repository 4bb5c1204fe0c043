import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { writeAccountReport } from '../../../../shared/playbooks/account/later.ts';
import { AccountOptionsSchema } from '../../../../shared/playbooks/account/options.ts';
import { aConfig, aStepOutcome } from '../../helpers/factories.ts';
import { anAccountStepContext, aRootIncident } from './helpers.ts';

const s3 = mockClient(S3Client);
afterEach(() => s3.reset());

const written = () => JSON.parse(String(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Body));

describe('Step: writeAccountReport', () => {
  it('writes one report with every section\'s outcome and data, and the sweep\'s settings when it ran', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});
    const outcomes = {
      deactivateAccessKeys: aStepOutcome({ summary: 'deactivated 2', data: { keys: [] }, evidence: [{ bucket: 'b', key: 'k', sha256: 'x', bytes: 1 }] }),
      inventoryRecentChanges: aStepOutcome({ stage: 'evidence', summary: 'listed', data: { since: 's' } }),
    };

    // Act
    const result = await writeAccountReport.run(anAccountStepContext({ outcomes, incident: aRootIncident({ ticket: 'SEC-9' }) }));

    // Assess
    const report = written();
    expect(report.finding).toMatchObject({ type: 'Policy:IAMUser/RootCredentialUsage', ticket: 'SEC-9' });
    expect(report.account).toMatchObject({ id: '111122223333', alias: 'acme-prod', regions: ['eu-west-1', 'us-east-1'], iamUsers: 3 });
    expect(report.credentialSweep).toEqual({ ran: true, accessKeys: true, consolePasswords: true, keyPairs: true });
    expect(report.steps.map((s: any) => [s.step, s.status])).toEqual([
      ['recommendRootCredentialLockdown', 'not-run'],
      ['deactivateAccessKeys', 'done'],
      ['resetConsolePasswords', 'not-run'],
      ['deleteKeyPairs', 'not-run'],
      ['inventoryRecentChanges', 'done'],
      ['reviewCloudTrail', 'not-run'],
      ['verifyAccountInformation', 'not-run'],
    ]);
    expect(report.steps[1].evidence).toHaveLength(1);
    expect(result.data).toEqual({ evidenceKey: `incidents/${aRootIncident().incidentId}/account/report.json`, sections: report.steps.map((s: any) => s.step) });
  });

  it('says why the sweep did not run in full mode', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});

    // Act
    await writeAccountReport.run(anAccountStepContext({ options: AccountOptionsSchema.parse({}), config: aConfig({ playbook: 'account', mode: 'full' }) }));

    // Assess
    expect(written().credentialSweep).toEqual({ ran: false, why: 'credential_sweep.enabled is false' });
  });
  it('is partial, and written again on a later delivery, while a section failed or waits', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});
    const outcomes = { deactivateAccessKeys: aStepOutcome({ status: 'failed', summary: 'Throttling' }) };

    // Act
    const result = await writeAccountReport.run(anAccountStepContext({ outcomes }));

    // Assess
    expect(result).toMatchObject({ status: 'pending', retryAfterSeconds: 300 });
    expect(result.summary).toContain('written again once deactivateAccessKeys finish');
    expect(written().steps[1]).toMatchObject({ step: 'deactivateAccessKeys', status: 'failed' });
  });

  it('is complete when a section failed for good (an API the account does not serve): its failure is in the report, nothing waits for it', async () => {
    // Prepare
    s3.on(PutObjectCommand).resolves({});
    const outcomes = {
      verifyAccountInformation: aStepOutcome({ status: 'failed', summary: 'not implemented', error: { code: 'NotImplemented', message: 'not implemented', retryable: false, unsupported: true } }),
      reviewCloudTrail: aStepOutcome({ status: 'failed', summary: 'throttled', error: { code: 'ThrottlingException', message: 'slow down', retryable: true, unsupported: false } }),
    };

    // Act
    const result = await writeAccountReport.run(anAccountStepContext({ outcomes }));

    // Assess: the retryable one is waited for, the final one is not
    expect(result.summary).toContain('written again once reviewCloudTrail finish');
    expect(result.summary).not.toContain('verifyAccountInformation');
    expect(written().steps.find((s: any) => s.step === 'verifyAccountInformation')).toMatchObject({ status: 'failed', final: true });
  });
});
