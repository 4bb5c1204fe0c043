import { DeleteKeyPairCommand, DescribeInstancesCommand, DescribeKeyPairsCommand, DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  GetAccountSummaryCommand,
  GetLoginProfileCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAccountAliasesCommand,
  ListOpenIDConnectProvidersCommand,
  ListPoliciesCommand,
  ListRolesCommand,
  ListSAMLProvidersCommand,
  ListUsersCommand,
  UpdateAccessKeyCommand,
  UpdateLoginProfileCommand,
} from '@aws-sdk/client-iam';
import { AccountClient, GetAlternateContactCommand, GetContactInformationCommand } from '@aws-sdk/client-account';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { iamManifestOf, runPlaybook, type EngineDeps } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { accountPlaybook } from '../../../../shared/playbooks/account/index.ts';
import { AccountOptionsSchema, type AccountOptions } from '../../../../shared/playbooks/account/options.ts';
import { loadPlaybook, PLAYBOOK_REGISTRY } from '../../../../shared/playbooks/registry.ts';
import type { Mode } from '../../../../shared/vocabulary/index.ts';
import { ACCOUNT_ID, aConfig, anS3Client, EVIDENCE_BUCKET, FakeLedger, FIXED_NOW, silentLogger, someClients } from '../../helpers/factories.ts';
import { aRootIncident } from './helpers.ts';

/** The playbook's IAM manifest, every stage loaded. */
const accountPlaybookManifest = iamManifestOf(await accountPlaybook.load());

const iam = mockClient(IAMClient);
const ec2 = mockClient(EC2Client);
const s3 = mockClient(S3Client);
const secrets = mockClient(SecretsManagerClient);
const cloudTrail = mockClient(CloudTrailClient);
const account = mockClient(AccountClient);
const mocks = [iam, ec2, s3, secrets, cloudTrail, account];
afterEach(() => mocks.forEach((m) => m.reset()));

const created = new Date('2024-01-01T00:00:00Z');
beforeEach(async () => {
  iam.on(ListAccountAliasesCommand).resolves({ AccountAliases: ['acme'] });
  ec2.on(DescribeRegionsCommand).resolves({ Regions: [{ RegionName: 'us-east-1', OptInStatus: 'opt-in-not-required' }] });
  iam.on(ListUsersCommand).resolves({ Users: [{ UserName: 'alice', UserId: 'AIDAALICE', Arn: `arn:aws:iam::${ACCOUNT_ID}:user/alice`, CreateDate: created, Path: '/' }] });
  iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ AccessKeyId: 'AKIAALICE00000000001', Status: 'Active', CreateDate: created }] });
  iam.on(GetAccountSummaryCommand).resolves({ SummaryMap: { AccountMFAEnabled: 1, AccountAccessKeysPresent: 0 } });
  iam.on(GetLoginProfileCommand).resolves({ LoginProfile: { UserName: 'alice', CreateDate: created } });
  iam.on(UpdateAccessKeyCommand).resolves({});
  iam.on(UpdateLoginProfileCommand).resolves({});
  iam.on(ListRolesCommand).resolves({ Roles: [] });
  iam.on(ListPoliciesCommand).resolves({ Policies: [] });
  iam.on(ListSAMLProvidersCommand).resolves({});
  iam.on(ListOpenIDConnectProvidersCommand).resolves({});
  secrets.on(CreateSecretCommand).resolves({ ARN: 'arn:secret' });
  ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyName: 'ops', KeyPairId: 'key-0aaa', PublicKey: 'ssh-ed25519 AAAA' }] });
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
  ec2.on(DeleteKeyPairCommand).resolves({});
  s3.on(PutObjectCommand).resolves({});
  // The identity reviews find a quiet account (their own tests: test/unit/actions/identity-review).
  cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
  account.on(GetContactInformationCommand).resolves({ ContactInformation: { FullName: 'Acme', AddressLine1: '1 Main St', City: 'Springfield', CountryCode: 'US', PhoneNumber: '+15555550100', PostalCode: '12345' } });
  account.on(GetAlternateContactCommand).resolves({ AlternateContact: { AlternateContactType: 'SECURITY', Name: 'SecOps', EmailAddress: 'secops@example.com', PhoneNumber: '+15555550101', Title: 'SOC' } });
});

const WRITES = [UpdateAccessKeyCommand, UpdateLoginProfileCommand, CreateSecretCommand, DeleteKeyPairCommand];
const writes = () => [...iam.commandCalls(UpdateAccessKeyCommand), ...iam.commandCalls(UpdateLoginProfileCommand), ...secrets.commandCalls(CreateSecretCommand), ...ec2.commandCalls(DeleteKeyPairCommand)].length;

function deps(mode: Mode, options: AccountOptions, ledger = new FakeLedger()): EngineDeps<AccountOptions> & { fake: FakeLedger } {
  return {
    config: aConfig({ playbook: 'account', mode, minSeverity: 1 }),
    options,
    clientsFor: () => someClients(),
    ledger: ledger.asLedger(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    fake: ledger,
  };
}
const statuses = (ledger: FakeLedger) => Object.fromEntries(ledger.recorded.map((r) => [r.name, r.outcome.status]));
const enabled = AccountOptionsSchema.parse({ credential_sweep: { enabled: true } });

describe('Playbook: account', () => {
  it('in contain mode, even with the sweep enabled, touches no credential: it records root, lists what is new and writes the report', async () => {
    // Prepare
    const d = deps('contain', enabled);

    // Act
    const result = await runPlaybook(d, accountPlaybook, aRootIncident(), { messageId: 'm-1' });

    // Assess
    expect(WRITES.length).toBe(4);
    expect(writes()).toBe(0);
    expect(statuses(d.fake)).toEqual({
      recommendRootCredentialLockdown: 'skipped',
      deactivateAccessKeys: 'skipped',
      resetConsolePasswords: 'skipped',
      deleteKeyPairs: 'skipped',
      inventoryRecentChanges: 'done',
      reviewCloudTrail: 'done',
      verifyAccountInformation: 'done',
      linkRelatedIncidents: 'done',
      writeAccountReport: 'done',
    });
    expect(d.fake.outcome('deactivateAccessKeys')!.summary).toContain('runs only in full mode (current mode: contain)');
    expect(result.status).toBe('contained');
    const report = JSON.parse(String(s3.commandCalls(PutObjectCommand).find((c) => c.args[0].input.Key!.endsWith('account/report.json'))!.args[0].input.Body));
    expect(report.credentialSweep).toEqual({ ran: false, why: 'mode is contain: the sweep runs only in full mode' });
    expect(report.steps.map((s: any) => [s.step, s.status])).toEqual([
      ['recommendRootCredentialLockdown', 'skipped'],
      ['deactivateAccessKeys', 'skipped'],
      ['resetConsolePasswords', 'skipped'],
      ['deleteKeyPairs', 'skipped'],
      ['inventoryRecentChanges', 'done'],
      ['reviewCloudTrail', 'done'],
      ['verifyAccountInformation', 'done'],
    ]);
    expect(report.steps[0].data.recommendations.length).toBeGreaterThan(3);
  });

  it('in full mode without credential_sweep.enabled (the default), touches no credential either', async () => {
    // Prepare
    const d = deps('full', AccountOptionsSchema.parse({}));

    // Act
    await runPlaybook(d, accountPlaybook, aRootIncident(), { messageId: 'm-1' });

    // Assess
    expect(writes()).toBe(0);
    expect(iam.commandCalls(GetLoginProfileCommand)).toHaveLength(0);
    expect(ec2.commandCalls(DescribeKeyPairsCommand)).toHaveLength(0);
    expect(d.fake.outcome('deactivateAccessKeys')!.summary).toContain('the credential sweep is not enabled');
  });

  it('in full mode with the sweep enabled, rotates every credential once; a redelivery repeats nothing', async () => {
    // Prepare
    const first = deps('full', enabled);

    // Act
    const result = await runPlaybook(first, accountPlaybook, aRootIncident(), { messageId: 'm-1' });

    // Assess
    expect(statuses(first.fake)).toMatchObject({ deactivateAccessKeys: 'done', resetConsolePasswords: 'done', deleteKeyPairs: 'done' });
    expect(writes()).toBe(4);
    expect(result.status).toBe('contained');
    expect(first.fake.finished[0]!.isolatedAt).toBeDefined();

    // Act: GuardDuty publishes the finding again
    const steps = Object.fromEntries(first.fake.recorded.map((r) => [r.name, r.outcome]));
    const again = deps('full', enabled, new FakeLedger().withRecord(aRootIncident(), { status: 'contained', steps, capture: first.fake.begins[0]!.capture }));
    mocks.forEach((m) => m.resetHistory());
    await runPlaybook(again, accountPlaybook, aRootIncident(), { messageId: 'm-2' });

    // Assess
    expect(writes()).toBe(0);
    // Only the root recommendation (a skipped outcome it asks to revisit) is looked at again: it records root's state now.
    expect(again.fake.recorded.map((r) => r.name)).toEqual(['recommendRootCredentialLockdown']);
  });

  it('is in the registry, and grants the sweep\'s writes only to a full-mode function whose options enable it', async () => {
    // Prepare
    const granted = (mode: Mode, role: 'contain' | 'release', options: string[]) =>
      new Set(accountPlaybookManifest.flatMap((s) => (s.roles.includes(role) && s.modes.includes(mode) && s.enabledBy.every((o) => options.includes(o)) ? s.actions : [])));
    const sweep = ['credential_sweep.enabled', 'credential_sweep.access_keys', 'credential_sweep.console_passwords', 'credential_sweep.key_pairs'];
    const writeActions = ['iam:UpdateAccessKey', 'iam:UpdateLoginProfile', 'ec2:DeleteKeyPair', 'secretsmanager:CreateSecret'];

    // Assess
    expect(PLAYBOOK_REGISTRY.find((e) => e.name === 'account')?.title).toBe('Compromised AWS account');
    expect(await loadPlaybook('account')).toBe(accountPlaybook);
    for (const action of writeActions) {
      expect(granted('contain', 'contain', sweep).has(action)).toBe(false);
      expect(granted('full', 'contain', ['credential_sweep.access_keys', 'credential_sweep.console_passwords', 'credential_sweep.key_pairs']).has(action)).toBe(false);
      expect(granted('full', 'contain', sweep).has(action)).toBe(true);
    }
    expect(granted('full', 'release', []).has('ec2:ImportKeyPair')).toBe(false);
    expect(granted('full', 'release', sweep).has('ec2:ImportKeyPair')).toBe(true);
    expect([...granted('observe', 'contain', sweep)].sort()).toEqual([...accountPlaybook.describeIamActions].sort());
  });
});
