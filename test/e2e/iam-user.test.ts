// The IAM user playbook end to end: a GuardDuty finding on the bus, through the Terraform-deployed
// rule, queue and function (run as its own role by `local drain`), asserting the account's IAM and
// Secrets Manager state after containment and after `firebreak release`.
import {
  CreateAccessKeyCommand,
  CreateLoginProfileCommand,
  CreateUserCommand,
  GetLoginProfileCommand,
  GetUserPolicyCommand,
  ListAccessKeysCommand,
  ListUserPoliciesCommand,
  ListUserTagsCommand,
} from '@aws-sdk/client-iam';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseRecorded, type Step } from '../../shared/engine/index.ts';
import { incidentIdFor } from '../../shared/findings/index.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import { consolePasswordSecretName } from '../../shared/playbooks/iam-user/console.ts';
import { revokeUserSessions } from '../../shared/playbooks/iam-user/sessions.ts';
import type { IamUserTypes } from '../../shared/playbooks/iam-user/types.ts';
import { loadFixture, newFindingId, type FindingEvent } from '../../scripts/lib/findings.ts';
import { drainAll, endpoint, outputs, world } from './support.ts';

const main = outputs.firebreak;
const FUNCTION = main.playbooks['iam-user'].function_name as string;
const LEDGER = main.ledger_table_name as string;
const secrets = new SecretsManagerClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

const unique = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** An IAM user with `keys` access keys and, when asked, a console password. */
async function aUser(name: string, { keys = 1, console = false } = {}) {
  const { User } = await world.iam.send(new CreateUserCommand({ UserName: name }));
  const keyIds: string[] = [];
  for (let i = 0; i < keys; i++) keyIds.push((await world.iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!.AccessKeyId!);
  if (console) await world.iam.send(new CreateLoginProfileCommand({ UserName: name, Password: 'Old-Passw0rd!Old-Passw0rd!', PasswordResetRequired: false }));
  return { name, arn: User!.Arn!, userId: User!.UserId!, keyIds };
}

/** The console-login fixture, about `userName` in this account, naming `accessKeyId` (a key finding) or no key. */
async function findingAbout(userName: string, accessKey: { id?: string; principalId?: string; userType?: string }): Promise<FindingEvent> {
  const event = loadFixture('iam-user-consoleloginsuccess-b');
  const accountId = await world.accountId();
  event.account = accountId;
  event.detail.accountId = accountId;
  event.detail.id = newFindingId();
  event.detail.resource.accessKeyDetails = {
    userName,
    userType: accessKey.userType ?? 'IAMUser',
    ...(accessKey.principalId ? { principalId: accessKey.principalId } : {}),
    ...(accessKey.id ? { accessKeyId: accessKey.id } : {}),
  };
  return event;
}

const keyStatuses = async (userName: string) =>
  Object.fromEntries(((await world.iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId!, k.Status!]));

const loginProfile = (userName: string) =>
  world.iam.send(new GetLoginProfileCommand({ UserName: userName })).then(
    (out) => out.LoginProfile,
    (error: { name?: string }) => {
      if (error.name === 'NoSuchEntityException' || error.name === 'NoSuchEntity') return undefined;
      throw error;
    },
  );

const inlinePolicies = async (userName: string) => (await world.iam.send(new ListUserPoliciesCommand({ UserName: userName }))).PolicyNames ?? [];

const record = (event: FindingEvent) => world.ledger(LEDGER).get(incidentIdFor(event.detail.accountId, event.detail.id, event.detail.resource.accessKeyDetails.userName)) as Promise<IncidentRecord | undefined>;
const recorded = <D>(r: IncidentRecord, step: Step<IamUserTypes, D>): D => parseRecorded(step, r.steps[step.name]?.data);

function firebreakCli(...args: string[]) {
  const out = spawnSync(process.execPath, ['scripts/firebreak.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
  });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

describe('Playbook: compromised IAM user credentials, end to end through the Terraform-deployed pipeline', () => {
  it('deactivates the exposed key (kept), denies minted credentials, removes the console password, leaves the bystander and the protected user alone — and release restores each', async () => {
    // Prepare
    const alice = await aUser(`e2e-alice-${unique()}`, { keys: 2, console: true });
    const bystander = await aUser(`e2e-bystander-${unique()}`);
    const breakGlass = await aUser(`e2e-break-glass-${unique()}`, { console: true });
    const [exposed, other] = alice.keyIds as [string, string];
    const finding = await findingAbout(alice.name, { id: exposed, principalId: alice.userId });
    const protectedFinding = await findingAbout(breakGlass.name, { id: breakGlass.keyIds[0]!, principalId: breakGlass.userId });

    // Act
    await world.putFinding(finding);
    await world.putFinding(protectedFinding);
    await drainAll(FUNCTION);

    // Assess: the ledger
    const contained = (await record(finding))!;
    expect(contained.status, contained.statusReason).toBe('contained');
    // Assess: the exposed key is inactive and still there; the other key is a recommendation (deactivate_other_keys is off)
    expect(await keyStatuses(alice.name)).toEqual({ [exposed]: 'Inactive', [other]: 'Active' });
    expect(contained.steps.decideOtherKeys?.data).toMatchObject({ keys: [{ accessKeyId: other, result: 'recommended' }] });
    // Assess: minted credentials are denied, with the cut-off the ledger recorded
    const { policyName, revokedBefore } = recorded(contained, revokeUserSessions);
    const policy = await world.iam.send(new GetUserPolicyCommand({ UserName: alice.name, PolicyName: policyName }));
    const document = JSON.parse(decodeURIComponent(policy.PolicyDocument!));
    expect(document.Statement).toEqual([{ Sid: 'FirebreakRevokeOlderSessions', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': revokedBefore } } }]);
    expect(Date.parse(revokedBefore!)).toBeLessThanOrEqual(Date.now());
    // Assess: a console-login finding removes the console password, after recording it existed
    expect(await loginProfile(alice.name)).toBeUndefined();
    expect(contained.steps.removeConsoleAccess?.data).toMatchObject({ userName: alice.name, passwordResetRequired: false });
    // Assess: the user is tagged; the bystander and the protected user are untouched
    const tags = Object.fromEntries(((await world.iam.send(new ListUserTagsCommand({ UserName: alice.name }))).Tags ?? []).map((t) => [t.Key!, t.Value!]));
    expect(tags).toMatchObject({ 'firebreak:incident-id': contained.incidentId, 'firebreak:status': 'contained' });
    expect(await keyStatuses(bystander.name)).toEqual({ [bystander.keyIds[0]!]: 'Active' });
    const untouched = (await record(protectedFinding))!;
    expect(untouched.status).toBe('skipped');
    expect(untouched.statusReason).toContain('protected pattern');
    expect(await keyStatuses(breakGlass.name)).toEqual({ [breakGlass.keyIds[0]!]: 'Active' });
    expect(await loginProfile(breakGlass.name)).toBeDefined();
    expect(await inlinePolicies(breakGlass.name)).toEqual([]);

    // Act: release, as a responder at a terminal
    const released = firebreakCli('release', contained.incidentId, '--reason', 'False positive: pen test SEC-42', '--table', LEDGER);

    // Assess: each is restored; the console password is a new one, kept for the owner, reset required
    expect(released.code, released.stderr + released.stdout).toBe(0);
    expect((await record(finding))!.status).toBe('released');
    expect(await keyStatuses(alice.name)).toEqual({ [exposed]: 'Active', [other]: 'Active' });
    expect(await inlinePolicies(alice.name)).toEqual([]);
    expect(await loginProfile(alice.name)).toMatchObject({ PasswordResetRequired: true });
    const secret = await secrets.send(new DescribeSecretCommand({ SecretId: consolePasswordSecretName(alice.name, contained.incidentId) }));
    expect(secret.Tags).toContainEqual({ Key: 'firebreak:incident-id', Value: contained.incidentId });
    const releasedTags = Object.fromEntries(((await world.iam.send(new ListUserTagsCommand({ UserName: alice.name }))).Tags ?? []).map((t) => [t.Key!, t.Value!]));
    expect(releasedTags['firebreak:status']).toBe('released');
  });

  it('a federated user: CloudTrail cannot tell who minted it (the emulator has no LookupEvents), so the incident fails with the reason and nothing is changed — not even a user of that name', async () => {
    // Prepare: a user named like the session, whose keys must stay
    const namesake = await aUser(`e2e-federated-${unique()}`, { console: true });
    const accountId = await world.accountId();
    const finding = await findingAbout(namesake.name, { id: 'ASIA4EXAMPLESESSION1', principalId: `${accountId}:${namesake.name}`, userType: 'FederatedUser' });
    finding.detail.type = 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS';

    // Act
    await world.putFinding(finding);
    await drainAll(FUNCTION);

    // Assess: the step that needs LookupEvents failed with the reason; the steps that need its answer did nothing
    const r = (await record(finding))!;
    expect(r.status).toBe('failed');
    // The emulator answers LookupEvents NotImplemented (missing_apis_answer_not_implemented): unsupported, given up at once.
    expect(r.steps.identifyUser).toMatchObject({ status: 'failed', attempts: 1, error: { code: 'IssuerUnknown', retryable: false, message: expect.stringContaining('LookupEvents failed with NotImplemented (not supported by this endpoint)') } });
    for (const step of ['deactivateExposedKeys', 'decideOtherKeys', 'revokeUserSessions', 'removeConsoleAccess']) {
      expect(r.steps[step]?.summary, step).toContain('not run because identifyUser failed');
    }
    expect(await keyStatuses(namesake.name)).toEqual({ [namesake.keyIds[0]!]: 'Active' });
    expect(await loginProfile(namesake.name)).toBeDefined();
    expect(await inlinePolicies(namesake.name)).toEqual([]);
  });
});
