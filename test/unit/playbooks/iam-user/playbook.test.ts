import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { AccountClient, GetAlternateContactCommand, GetContactInformationCommand } from '@aws-sdk/client-account';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { iamManifestOf, releaseIncident, releaseNameOf, runPlaybook, type EngineDeps } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { iamUserPlaybook } from '../../../../shared/playbooks/iam-user/index.ts';
import { registryEntry } from '../../../../shared/playbooks/registry.ts';
import type { IamUserOptions } from '../../../../shared/playbooks/iam-user/options.ts';
import type { Config } from '../../../../shared/config/index.ts';
import { aConfig, anS3Client, EVIDENCE_BUCKET, FIXED_NOW, InMemoryLedger, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';
import { anIamUserOptions, aUserIncident, EXPOSED_KEY, FakeAccount, OTHER_KEY, USER, USER_ARN } from './support.ts';

const account = new FakeAccount();
const s3 = mockClient(S3Client);
// The identity reviews find a quiet account (their own tests: test/unit/actions/identity-review).
const cloudTrail = mockClient(CloudTrailClient);
const accountApi = mockClient(AccountClient);
beforeEach(() => {
  cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
  accountApi.on(GetContactInformationCommand).resolves({ ContactInformation: { FullName: 'Acme', AddressLine1: '1 Main St', City: 'Springfield', CountryCode: 'US', PhoneNumber: '+15555550100', PostalCode: '12345' } });
  accountApi.on(GetAlternateContactCommand).resolves({ AlternateContact: { AlternateContactType: 'SECURITY', Name: 'SecOps', EmailAddress: 'secops@example.com', PhoneNumber: '+15555550101', Title: 'SOC' } });
});
afterEach(() => {
  account.reset();
  s3.reset();
  cloudTrail.reset();
  accountApi.reset();
});

const KEY_AND_CONSOLE = () => aUserIncident({ findingType: 'UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B' });

function deps(ledger: InMemoryLedger, { config = {}, options = {}, at = FIXED_NOW }: { config?: Partial<Config>; options?: Record<string, unknown>; at?: Date } = {}): EngineDeps<IamUserOptions> {
  return {
    config: aConfig({ playbook: 'iam-user', ...config }),
    options: anIamUserOptions(options),
    clientsFor: () => someClients(),
    ledger: ledger.asLedger(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    logger: silentLogger(),
    now: () => at,
  };
}

const policyName = (incidentId: string) => `FirebreakRevokeOlderSessions-${incidentId}`;

describe('Playbook: compromised IAM user credentials', () => {
  it('is registered under its seeds title, and every action it may call has a scope', async () => {
    expect(registryEntry('iam-user')?.title).toBe('Compromised IAM user credentials');
    expect(iamManifestOf(await iamUserPlaybook.load()).flatMap((s) => s.actions)).toContain('iam:UpdateAccessKey');
    expect((await iamUserPlaybook.load()).release.map(releaseNameOf)).toEqual([
      'restoreSuspects',
      'restoreConsoleAccess',
      'reactivateOtherKeys',
      'reactivateExposedKeys',
      'removeUserRevocationPolicy',
      'keepQuarantineReplacementAndEvidence',
      'tagReleased',
    ]);
  });

  it('contains a user: exposed key inactive and kept, minted credentials denied, console password removed, other key recommended, evidence saved', async () => {
    // Prepare
    account.addUser(USER, { path: '/engineering/', keys: [{ id: EXPOSED_KEY }, { id: OTHER_KEY }], login: true, quarantined: 'AWSCompromisedKeyQuarantineV2' });
    account.addUser('bystander', { keys: [{ id: 'AKIA4EXAMPLEBYSTANDR' }] });
    s3.on(PutObjectCommand).resolves({});
    const ledger = new InMemoryLedger();
    const incident = KEY_AND_CONSOLE();

    // Act
    const result = await runPlaybook(deps(ledger), iamUserPlaybook, incident, { messageId: 'msg-1' });

    // Assess
    expect(result.status).toBe('contained');
    expect(Object.fromEntries(Object.entries(result.steps).map(([n, o]) => [n, o.status]))).toEqual({
      identifyUser: 'done',
      deactivateExposedKeys: 'done',
      decideOtherKeys: 'done',
      revokeUserSessions: 'done',
      removeConsoleAccess: 'done',
      createReplacementKey: 'skipped',
      preserveUserState: 'done',
      recordQuarantinePolicy: 'done',
      tagUser: 'done',
      linkRelatedIncidents: 'done',
      reviewCloudTrail: 'done',
      verifyAccountInformation: 'done',
      reviewResources: 'done',
      neutraliseSuspects: 'skipped',
      deleteExposedKeys: 'skipped',
    });
    expect(account.keyStatus(USER, EXPOSED_KEY)).toBe('Inactive');
    expect(account.keyStatus(USER, OTHER_KEY)).toBe('Active');
    expect(account.user(USER).login).toBeNull();
    expect([...account.user(USER).inline.keys()]).toEqual([policyName(incident.incidentId)]);
    expect(account.user(USER).attached).toHaveLength(1);
    expect(account.keyStatus('bystander', 'AKIA4EXAMPLEBYSTANDR')).toBe('Active');
    expect(ledger.record(incident.incidentId).isolatedAt).toBeTruthy();
  });

  it('a second delivery changes nothing and keeps the first cut-off', async () => {
    // Prepare
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }, { id: OTHER_KEY }], login: true });
    s3.on(PutObjectCommand).resolves({});
    const ledger = new InMemoryLedger();
    const incident = KEY_AND_CONSOLE();
    await runPlaybook(deps(ledger), iamUserPlaybook, incident, { messageId: 'msg-1' });
    account.iam.resetHistory();
    account.secrets.resetHistory();

    // Act: GuardDuty re-publishes the finding an hour later
    const again = await runPlaybook(deps(ledger, { at: new Date(FIXED_NOW.getTime() + 3600_000) }), iamUserPlaybook, { ...incident, count: 2 }, { messageId: 'msg-2' });

    // Assess
    expect(again.status).toBe('contained');
    expect(account.writes()).toEqual([]);
    const doc = JSON.parse(account.user(USER).inline.get(policyName(incident.incidentId))!);
    expect(doc.Statement[0].Condition.DateLessThan['aws:TokenIssueTime']).toBe(FIXED_NOW.toISOString());
  });

  it('never touches a protected principal', async () => {
    // Prepare
    account.addUser(USER, { path: '/engineering/', keys: [{ id: EXPOSED_KEY }], login: true });
    const ledger = new InMemoryLedger();

    // Act: the pattern names the user without its path
    const result = await runPlaybook(deps(ledger, { config: { protectedPrincipals: [`arn:aws:iam::*:user/${USER}`] } }), iamUserPlaybook, KEY_AND_CONSOLE(), { messageId: 'msg-1' });

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.reason).toContain('protected pattern');
    expect(account.writes()).toEqual([]);
    expect(account.keyStatus(USER, EXPOSED_KEY)).toBe('Active');
    expect(USER_ARN).toContain('/engineering/');
  });

  it('releases in order: console password, keys, then the revocation; the quarantine policy and evidence stay', async () => {
    // Prepare
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }, { id: OTHER_KEY }], login: true, quarantined: 'AWSCompromisedKeyQuarantineV3' });
    s3.on(PutObjectCommand).resolves({});
    const ledger = new InMemoryLedger();
    const incident = KEY_AND_CONSOLE();
    await runPlaybook(deps(ledger, { options: { deactivate_other_keys: true } }), iamUserPlaybook, incident, { messageId: 'msg-1' });
    expect(account.keyStatus(USER, OTHER_KEY)).toBe('Inactive');
    account.iam.resetHistory();

    // Act
    const summary = await releaseIncident(
      { ledger: ledger.asLedger(), clientsFor: () => someClients(), logger: silentLogger(), playbookFor: () => iamUserPlaybook, now: () => FIXED_NOW },
      { incidentId: incident.incidentId, reason: 'false positive', reattach: false, requestedBy: RESPONDER, via: 'cli' },
    );

    // Assess
    expect(summary.outcome).toBe('released');
    expect(account.keyStatus(USER, EXPOSED_KEY)).toBe('Active');
    expect(account.keyStatus(USER, OTHER_KEY)).toBe('Active');
    expect(account.user(USER).login).toMatchObject({ reset: true });
    expect(account.user(USER).inline.size).toBe(0);
    expect(account.user(USER).attached.map((p) => p.PolicyName)).toEqual(['AWSCompromisedKeyQuarantineV3']);
    expect(account.user(USER).tags['firebreak:status']).toBe('released');
    const order = account.writes().filter((w) => w !== 'CreateSecret');
    expect(order).toEqual(['CreateLoginProfile', 'UpdateAccessKey', 'UpdateAccessKey', 'DeleteUserPolicy', 'TagUser']);
    expect(summary.steps.keepQuarantineReplacementAndEvidence?.summary).toContain('AWSCompromisedKeyQuarantineV3 stays attached');
  });
});
