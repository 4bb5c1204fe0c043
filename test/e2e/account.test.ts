// Compromised AWS account, end to end on the emulator: a root-credential finding through the
// Terraform-deployed pipelines (terraform/examples/local). The fb-full pipeline runs the account
// playbook in full mode with the credential sweep enabled and its break-glass users protected;
// the main pipeline (contain mode, default options) only records and reports.
import { randomBytes } from 'node:crypto';
import { CreateKeyPairCommand, DescribeKeyPairsCommand, EC2Client, ImportKeyPairCommand, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { CreateAccessKeyCommand, CreateLoginProfileCommand, CreateUserCommand, GetLoginProfileCommand, ListAccessKeysCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { incidentIdFor } from '../../shared/findings/index.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import { passwordSecretName } from '../../shared/playbooks/account/passwords.ts';
import { loadFixture, type FindingEvent } from '../../scripts/lib/findings.ts';
import { drainAll, endpoint, outputs, world } from './support.ts';

const full = outputs.full;
const main = outputs.firebreak;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const ec2In = (region: string) => new EC2Client({ region, endpoint, credentials });
const secrets = new SecretsManagerClient({ region: world.region, endpoint, credentials });
const EU = 'eu-west-1';

function cli(...args: string[]) {
  const out = spawnSync(process.execPath, ['scripts/firebreak.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** An OpenSSH ed25519 public key, as `ssh-keygen` writes it (ImportKeyPair takes this format). */
function openSshEd25519(): string {
  const field = (b: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length, 0);
    return Buffer.concat([length, b]);
  };
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(randomBytes(32))]).toString('base64')}`;
}

/**
 * Users with access keys and console passwords, a break-glass user (a protected principal of
 * fb-full), a key pair created in us-east-1 with an instance launched with it, and one imported in
 * eu-west-1.
 */
async function compromisedAccount() {
  const tag = `${Date.now().toString(36)}${randomBytes(2).toString('hex')}`;
  const user = async (name: string, { console: withConsole = false, inactiveKey = false } = {}) => {
    await world.iam.send(new CreateUserCommand({ UserName: name }));
    const { AccessKey } = await world.iam.send(new CreateAccessKeyCommand({ UserName: name }));
    let inactive: string | undefined;
    if (inactiveKey) {
      const second = await world.iam.send(new CreateAccessKeyCommand({ UserName: name }));
      inactive = second.AccessKey!.AccessKeyId!;
      await world.iam.send(new UpdateAccessKeyCommand({ UserName: name, AccessKeyId: inactive, Status: 'Inactive' }));
    }
    if (withConsole) await world.iam.send(new CreateLoginProfileCommand({ UserName: name, Password: 'Old-Passw0rd!Known', PasswordResetRequired: false }));
    return { name, keyId: AccessKey!.AccessKeyId!, ...(inactive ? { inactiveKeyId: inactive } : {}) };
  };
  const alice = await user(`e2e-acct-${tag}-alice`, { console: true });
  const bob = await user(`e2e-acct-${tag}-bob`, { inactiveKey: true });
  const breakGlass = await user(`e2e-breakglass-${tag}`, { console: true });
  const usKey = `e2e-acct-${tag}-us`;
  const euKey = `e2e-acct-${tag}-eu`;
  await world.ec2.send(new CreateKeyPairCommand({ KeyName: usKey, KeyType: 'ed25519' }));
  const euPublicKey = openSshEd25519();
  await ec2In(EU).send(new ImportKeyPairCommand({ KeyName: euKey, PublicKeyMaterial: new TextEncoder().encode(euPublicKey), TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'team', Value: 'ops' }] }] }));
  const { Instances } = await world.ec2.send(new RunInstancesCommand({ ImageId: 'ami-12c6146b', MinCount: 1, MaxCount: 1, KeyName: usKey }));
  return { alice, bob, breakGlass, usKey, euKey, euPublicKey, instanceId: Instances![0]!.InstanceId! };
}

/** The root-credential fixture, for this account and a finding id of its own (so that every run is a new incident). */
async function rootFinding(): Promise<FindingEvent> {
  const accountId = await world.accountId();
  const event = loadFixture('iam-user-rootcredentialusage');
  const findingId = randomBytes(16).toString('hex');
  const json = JSON.stringify(event).replaceAll('111122223333', accountId).replaceAll(event.detail.id, findingId);
  return JSON.parse(json) as FindingEvent;
}

const keyStatus = async (userName: string, keyId: string) =>
  (await world.iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata!.find((k) => k.AccessKeyId === keyId)?.Status;
const resetRequired = async (userName: string) => (await world.iam.send(new GetLoginProfileCommand({ UserName: userName }))).LoginProfile!.PasswordResetRequired;
const keyPair = async (region: string, name: string) =>
  ((await ec2In(region).send(new DescribeKeyPairsCommand({ IncludePublicKey: true }))).KeyPairs ?? []).find((k) => k.KeyName === name);
const evidence = async (bucket: string, key: string) => JSON.parse(await (await world.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString());

describe('Playbook: compromised AWS account — full mode with the credential sweep enabled', () => {
  it('deactivates every key but the break-glass user\'s, replaces console passwords, deletes key pairs in every region after recording them — and release brings keys and key pairs back', async () => {
    // Prepare
    const a = await compromisedAccount();
    const usFingerprint = (await keyPair('us-east-1', a.usKey))!.KeyFingerprint;
    const event = await rootFinding();
    const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, event.detail.accountId);

    // Act: GuardDuty's root-credential finding reaches the fb-full pipeline
    await world.putFinding(event, full.event_bus_name);
    await drainAll(full.playbooks.account.function_name);

    // Assess: the ledger
    const record = (await world.ledger(full.ledger_table_name).get(incidentId)) as IncidentRecord;
    expect(record?.status, record?.statusReason).toBe('contained');
    expect(record.incident.resource).toMatchObject({ type: 'Account', id: event.detail.accountId });
    expect(record.steps.recommendRootCredentialLockdown).toMatchObject({ status: 'skipped' });
    expect(record.steps.writeAccountReport?.status).toBe('done');

    // Assess: access keys inactive, except the protected break-glass user's
    expect(await keyStatus(a.alice.name, a.alice.keyId)).toBe('Inactive');
    expect(await keyStatus(a.bob.name, a.bob.keyId)).toBe('Inactive');
    expect(await keyStatus(a.bob.name, a.bob.inactiveKeyId!)).toBe('Inactive');
    expect(await keyStatus(a.breakGlass.name, a.breakGlass.keyId)).toBe('Active');

    // Assess: a new password, kept for the owners, reset required; the break-glass user's untouched
    expect(await resetRequired(a.alice.name)).toBe(true);
    const kept = await secrets.send(new GetSecretValueCommand({ SecretId: passwordSecretName(incidentId, a.alice.name) }));
    expect(JSON.parse(kept.SecretString!)).toMatchObject({ userName: a.alice.name, passwordResetRequired: true, password: expect.stringMatching(/^.{64}$/) });
    expect(await resetRequired(a.breakGlass.name)).toBe(false);

    // Assess: key pairs gone from both regions, recorded first in the evidence bucket
    expect(await keyPair('us-east-1', a.usKey)).toBeUndefined();
    expect(await keyPair(EU, a.euKey)).toBeUndefined();
    const usRecord = await evidence(full.evidence_bucket_name, `incidents/${incidentId}/account/key-pairs/us-east-1.json`);
    expect(usRecord.keyPairs.find((k: any) => k.KeyName === a.usKey)).toMatchObject({ KeyFingerprint: usFingerprint, KeyType: 'ed25519', PublicKey: expect.stringMatching(/^ssh-ed25519 /), instances: [a.instanceId] });
    const euRecord = await evidence(full.evidence_bucket_name, `incidents/${incidentId}/account/key-pairs/${EU}.json`);
    expect(euRecord.keyPairs.find((k: any) => k.KeyName === a.euKey)).toMatchObject({ PublicKey: a.euPublicKey });
    const report = await evidence(full.evidence_bucket_name, `incidents/${incidentId}/account/report.json`);
    expect(report.credentialSweep).toEqual({ ran: true, accessKeys: true, consolePasswords: true, keyPairs: true });

    // Act: release
    const released = cli('release', incidentId, '--reason', 'root credentials rotated by the owners (SEC-1234)', '--table', full.ledger_table_name);

    // Assess: keys the sweep deactivated are active again; the key inactive before stays inactive
    expect(released.code, released.stderr + released.stdout).toBe(0);
    expect(await keyStatus(a.alice.name, a.alice.keyId)).toBe('Active');
    expect(await keyStatus(a.bob.name, a.bob.keyId)).toBe('Active');
    expect(await keyStatus(a.bob.name, a.bob.inactiveKeyId!)).toBe('Inactive');
    expect(await keyStatus(a.breakGlass.name, a.breakGlass.keyId)).toBe('Active');
    // ...key pairs are back under their names, from the recorded public keys, with their tags
    expect(await keyPair('us-east-1', a.usKey)).toMatchObject({ PublicKey: usRecord.keyPairs.find((k: any) => k.KeyName === a.usKey).PublicKey });
    expect(await keyPair(EU, a.euKey)).toMatchObject({ PublicKey: a.euPublicKey, Tags: [{ Key: 'team', Value: 'ops' }] });
    // ...passwords cannot come back (said so), and the evidence stays
    const after = (await world.ledger(full.ledger_table_name).get(incidentId)) as IncidentRecord;
    expect(after.status).toBe('released');
    expect(JSON.stringify(after.release)).toContain('console passwords cannot be restored');
    expect(await resetRequired(a.alice.name)).toBe(true);
    await expect(evidence(full.evidence_bucket_name, `incidents/${incidentId}/account/report.json`)).resolves.toBeDefined();
  });
});

describe('Playbook: compromised AWS account — default settings (contain mode, sweep off)', () => {
  it('on a responder\'s `firebreak contain Account`, changes no credential and writes the inventory and the report', async () => {
    // Prepare
    const a = await compromisedAccount();
    const accountId = await world.accountId();
    const ticket = `SEC-ACCT-${randomBytes(3).toString('hex')}`;

    // Act
    const put = cli('contain', 'Account', accountId, '--ticket', ticket, '--reason', 'root login from an unknown IP', '--bus', main.responders_bus_name, '--table', main.ledger_table_name);
    await drainAll(main.playbooks.account.function_name);

    // Assess: the incident
    expect(put.code, put.stderr + put.stdout).toBe(0);
    const incidents = await world.ledger(main.ledger_table_name).list();
    const record = incidents.find((r) => r.kind === 'incident' && r.incident.ticket === ticket) as IncidentRecord;
    expect(record?.status, record?.statusReason).toBe('contained');
    expect(record.steps.deactivateAccessKeys?.summary).toContain('runs only in full mode');

    // Assess: nothing changed
    expect(await keyStatus(a.alice.name, a.alice.keyId)).toBe('Active');
    expect(await keyStatus(a.bob.name, a.bob.keyId)).toBe('Active');
    expect(await resetRequired(a.alice.name)).toBe(false);
    expect(await keyPair('us-east-1', a.usKey)).toBeDefined();
    expect(await keyPair(EU, a.euKey)).toBeDefined();

    // Assess: the inventory lists what was just created, the report says why the sweep did not run
    const inventory = await evidence(main.evidence_bucket_name, `incidents/${record.incidentId}/account/recent-inventory.json`);
    const ids = inventory.items.map((i: any) => i.id);
    expect(ids).toEqual(expect.arrayContaining([expect.stringContaining(`:user/${a.alice.name}`), a.alice.keyId, a.instanceId]));
    expect(inventory.regions).toEqual(expect.arrayContaining(['us-east-1', EU]));
    const report = await evidence(main.evidence_bucket_name, `incidents/${record.incidentId}/account/report.json`);
    expect(report.credentialSweep).toEqual({ ran: false, why: 'mode is contain: the sweep runs only in full mode' });
    expect(report.steps.find((s: any) => s.step === 'recommendRootCredentialLockdown').data.recommendations.join(' ')).toContain('sts assume-root');
  });
});
