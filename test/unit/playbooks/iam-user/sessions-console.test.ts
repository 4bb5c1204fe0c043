import { afterEach, describe, expect, it } from 'vitest';
import type { StepContext } from '../../../../shared/engine/index.ts';
import { consolePasswordSecretName, randomPassword, removeConsoleAccess } from '../../../../shared/playbooks/iam-user/console.ts';
import { describeUser } from '../../../../shared/playbooks/iam-user/describe.ts';
import { preserveUserState, QUARANTINE_POLICY_ARN, recordQuarantinePolicy, tagUser } from '../../../../shared/playbooks/iam-user/evidence.ts';
import { revokeUserSessions } from '../../../../shared/playbooks/iam-user/sessions.ts';
import type { IamUserTypes } from '../../../../shared/playbooks/iam-user/types.ts';
import { FIXED_NOW, someClients } from '../../helpers/factories.ts';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { aResource, aUserIncident, aUserStepContext, aUserUndoContext, EXPOSED_KEY, FakeAccount, identified, USER } from './support.ts';

const account = new FakeAccount();
const s3 = mockClient(S3Client);
afterEach(() => {
  account.reset();
  s3.reset();
});

const CONSOLE_FINDING = aUserIncident({ findingType: 'UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B', hints: { userType: 'IAMUser', principalId: 'AIDA4EXAMPLEALICE7XQZ' } });

async function contextFor(incident = aUserIncident(), overrides: Partial<Parameters<typeof aUserStepContext>[0]> = {}): Promise<StepContext<IamUserTypes, any>> {
  const user = (await describeUser(someClients().iam, USER))!;
  const resource = aResource(incident, user);
  const base = aUserStepContext({ incident, resource, ...overrides });
  return aUserStepContext({ incident, resource, ...overrides, outcomes: { ...(await identified(base)), ...(overrides.outcomes ?? {}) } });
}

const policyOf = (name: string) => JSON.parse(account.user(USER).inline.get(name)!);

describe('Step: revokeUserSessions', () => {
  it("denies every temporary credential of the user issued before now, with an inline policy; release removes it", async () => {
    // Prepare
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }] });
    const ctx = await contextFor();
    const policyName = `FirebreakRevokeOlderSessions-${ctx.incident.incidentId}`;

    // Act
    const result = await revokeUserSessions.run(ctx);

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { userName: USER, policyName, revokedBefore: FIXED_NOW.toISOString() } });
    expect(policyOf(policyName)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Sid: 'FirebreakRevokeOlderSessions', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': FIXED_NOW.toISOString() } } }],
    });

    // Act: release
    const undone = await revokeUserSessions.undo!.run(aUserUndoContext(revokeUserSessions, result));

    // Assess
    expect(undone).toMatchObject({ status: 'done', data: { result: 'removed' }, summary: expect.stringContaining('valid again') });
    expect(account.user(USER).inline.size).toBe(0);
    expect((await revokeUserSessions.undo!.run(aUserUndoContext(revokeUserSessions, result))).data).toMatchObject({ result: 'already-removed' });
  });

  it('keeps the first cut-off on a redelivery', async () => {
    // Prepare
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }] });
    const first = await revokeUserSessions.run(await contextFor());
    account.iam.resetHistory();

    // Act: an hour later
    const again = await revokeUserSessions.run(await contextFor(aUserIncident(), { now: () => new Date(FIXED_NOW.getTime() + 3600_000) }));

    // Assess
    expect(again.data).toEqual(first.data);
    expect(account.writes()).toEqual([]);
    expect(policyOf(first.data!.policyName).Statement[0].Condition.DateLessThan['aws:TokenIssueTime']).toBe(FIXED_NOW.toISOString());
  });
});

describe('Step: removeConsoleAccess', () => {
  it('deletes the login profile of a console finding after recording it existed; release sets a random password kept in Secrets Manager, reset required', async () => {
    // Prepare
    account.addUser(USER, { login: true });
    const ctx = await contextFor(CONSOLE_FINDING);

    // Act
    const result = await removeConsoleAccess.run(ctx);

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { userName: USER, createDate: '2024-02-03T04:05:06.000Z', passwordResetRequired: false } });
    expect(account.user(USER).login).toBeNull();

    // Act: release
    const undone = await removeConsoleAccess.undo!.run(aUserUndoContext(removeConsoleAccess, result, { incident: CONSOLE_FINDING }));

    // Assess
    const secretName = consolePasswordSecretName(USER, CONSOLE_FINDING.incidentId);
    expect(undone).toMatchObject({ status: 'done', data: { result: 'restored', secretName }, summary: expect.stringContaining('cannot be recovered') });
    expect(account.user(USER).login).toMatchObject({ reset: true });
    const stored = JSON.parse(account.secretStore.get(secretName)!.value);
    const { CreateLoginProfileCommand } = await import('@aws-sdk/client-iam');
    expect(account.iam.commandCalls(CreateLoginProfileCommand)[0]!.args[0].input).toEqual({ UserName: USER, Password: stored.Password, PasswordResetRequired: true });
    expect(JSON.stringify(undone)).not.toContain(stored.Password);
  });

  it('leaves a console password set since containment alone', async () => {
    account.addUser(USER, { login: true });
    const result = await removeConsoleAccess.run(await contextFor(CONSOLE_FINDING));
    account.user(USER).login = { created: FIXED_NOW, reset: false };
    const undone = await removeConsoleAccess.undo!.run(aUserUndoContext(removeConsoleAccess, result, { incident: CONSOLE_FINDING }));
    expect(undone).toMatchObject({ status: 'skipped', data: { result: 'changed-since' } });
    expect(account.secretStore.size).toBe(0);
  });

  it('restores nothing for a user deleted since containment', async () => {
    account.addUser(USER, { login: true });
    const result = await removeConsoleAccess.run(await contextFor(CONSOLE_FINDING));
    account.users.delete(USER);
    expect(await removeConsoleAccess.undo!.run(aUserUndoContext(removeConsoleAccess, result, { incident: CONSOLE_FINDING }))).toMatchObject({ status: 'skipped', data: { result: 'user-gone' } });
    expect(account.secretStore.size).toBe(0);
  });

  it('leaves the console password of an access-key finding, and has nothing to do for a user without one', async () => {
    account.addUser(USER, { login: true });
    expect((await removeConsoleAccess.run(await contextFor())).status).toBe('skipped');
    expect(account.user(USER).login).not.toBeNull();
    account.user(USER).login = null;
    expect(await removeConsoleAccess.run(await contextFor(CONSOLE_FINDING))).toMatchObject({ status: 'skipped', summary: expect.stringContaining('had no console password') });
  });

  it('makes random passwords with every character class', () => {
    const passwords = Array.from({ length: 20 }, () => randomPassword());
    expect(new Set(passwords).size).toBe(20);
    for (const p of passwords) expect(p).toMatch(/^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)(?=.*[^A-Za-z0-9]).{32}$/);
  });
});

describe('Evidence steps', () => {
  it('records that AWS attached its quarantine policy, whatever its version', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }], quarantined: 'AWSCompromisedKeyQuarantineV3' });
    const result = await recordQuarantinePolicy.run(await contextFor());
    expect(result).toMatchObject({ status: 'done', data: { attached: ['arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3'] }, summary: expect.stringContaining('kept, release never detaches it') });
    expect(['AWSCompromisedKeyQuarantine', 'AWSCompromisedKeyQuarantineV2', 'AWSCompromisedKeyQuarantineV3', 'AWSCompromisedKeyQuarantineV4'].every((n) => QUARANTINE_POLICY_ARN.test(`arn:aws:iam::aws:policy/${n}`))).toBe(true);
    expect(QUARANTINE_POLICY_ARN.test('arn:aws:iam::111122223333:policy/AWSCompromisedKeyQuarantineV3')).toBe(false);
  });

  it('records its absence too', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }] });
    expect(await recordQuarantinePolicy.run(await contextFor())).toMatchObject({ data: { attached: [] }, summary: expect.stringContaining('has not attached') });
  });

  it('tags the user with firebreak:* tags only', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }], tags: { team: 'web' } });
    const ctx = await contextFor(aUserIncident({ ticket: 'SEC-1234' }));
    await tagUser.run(ctx);
    expect(account.user(USER).tags).toEqual({
      team: 'web',
      'firebreak:incident-id': ctx.incident.incidentId,
      'firebreak:finding-id': ctx.incident.findingId,
      'firebreak:finding-type': ctx.incident.findingType,
      'firebreak:ticket': 'SEC-1234',
      'firebreak:status': 'contained',
      'firebreak:contained-at': FIXED_NOW.toISOString(),
    });
  });

  it("saves the user's state before containment and now to the evidence bucket", async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }], login: true });
    s3.on(PutObjectCommand).resolves({});
    const ctx = await contextFor();
    const result = await preserveUserState.run(ctx);
    const put = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put.Key).toBe(`incidents/${ctx.incident.incidentId}/iam-user.json`);
    expect(JSON.parse(String(put.Body))).toMatchObject({ identifiedUser: { userName: USER, before: { accessKeys: [{ accessKeyId: EXPOSED_KEY }], loginProfile: { passwordResetRequired: false } } } });
    expect(result.evidence).toHaveLength(1);
  });
});
