import { GetLoginProfileCommand, IAMClient, UpdateLoginProfileCommand } from '@aws-sdk/client-iam';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { AccountOptionsSchema } from '../../../../shared/playbooks/account/options.ts';
import { passwordSecretName, randomPassword, resetConsolePasswords } from '../../../../shared/playbooks/account/passwords.ts';
import { ACCOUNT_ID, aConfig, awsError } from '../../helpers/factories.ts';
import { anAccount, anAccountStepContext, aRootIncident, aUser } from './helpers.ts';

const iam = mockClient(IAMClient);
const secrets = mockClient(SecretsManagerClient);
afterEach(() => {
  iam.reset();
  secrets.reset();
});

const incidentId = aRootIncident().incidentId;
const account = anAccount({ users: [aUser('alice'), aUser('bob'), aUser('ops-admin'), aUser('deploy-bot')] });
const config = aConfig({ playbook: 'account', mode: 'full', protectedPrincipals: ['arn:aws:iam::*:user/ops-admin'] });

function consoleUsers(...names: string[]) {
  iam.on(GetLoginProfileCommand).callsFake(async (input) => {
    if (names.includes(input.UserName)) return { LoginProfile: { UserName: input.UserName, CreateDate: new Date(), PasswordResetRequired: false } };
    throw awsError('NoSuchEntity', { httpStatusCode: 404 });
  });
}

describe('Step: resetConsolePasswords', () => {
  it('gives every console user a new random password, kept in Secrets Manager first, with a reset required — not only the reset flag the attacker could answer', async () => {
    // Prepare
    consoleUsers('alice', 'bob', 'ops-admin');
    secrets.on(CreateSecretCommand).callsFake((input) => ({ ARN: `arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:${input.Name}-AbCdEf`, Name: input.Name }));
    iam.on(UpdateLoginProfileCommand).resolves({});

    // Act
    const result = await resetConsolePasswords.run(anAccountStepContext({ resource: account, config }));

    // Assess: the protected user's login profile is not even read
    expect(iam.commandCalls(GetLoginProfileCommand).map((c) => c.args[0].input.UserName)).toEqual(['alice', 'bob', 'deploy-bot']);
    const updated = iam.commandCalls(UpdateLoginProfileCommand).map((c) => c.args[0].input);
    expect(updated.map((u) => [u.UserName, u.PasswordResetRequired])).toEqual([
      ['alice', true],
      ['bob', true],
    ]);
    // The password IAM got is the one kept for the owners, stored before IAM got it.
    const stored = secrets.commandCalls(CreateSecretCommand).map((c) => c.args[0].input);
    expect(stored.map((s) => s.Name)).toEqual([passwordSecretName(incidentId, 'alice'), passwordSecretName(incidentId, 'bob')]);
    expect(stored.map((s) => JSON.parse(s.SecretString!).password)).toEqual(updated.map((u) => u.Password));
    expect(stored[0]!.Tags).toContainEqual({ Key: 'firebreak:incident-id', Value: incidentId });
    expect(result.status).toBe('done');
    expect(result.data!.users).toEqual([
      { userName: 'alice', action: 'reset', secretArn: `arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:${passwordSecretName(incidentId, 'alice')}-AbCdEf` },
      { userName: 'bob', action: 'reset', secretArn: `arn:aws:secretsmanager:us-east-1:${ACCOUNT_ID}:secret:${passwordSecretName(incidentId, 'bob')}-AbCdEf` },
      { userName: 'ops-admin', action: 'protected', reason: 'protected principal (matches arn:aws:iam::*:user/ops-admin)' },
      { userName: 'deploy-bot', action: 'no-console-access' },
    ]);
    expect(result.data!.note).toContain('release cannot restore them');
  });

  it('on redelivery replaces the kept password with the new one, and records a password the policy refuses without stopping', async () => {
    // Prepare
    consoleUsers('alice', 'bob');
    secrets.on(CreateSecretCommand).rejects(awsError('ResourceExistsException'));
    secrets.on(PutSecretValueCommand).callsFake((input) => ({ ARN: `arn:secret:${input.SecretId}` }));
    iam.on(UpdateLoginProfileCommand, { UserName: 'alice' }).resolves({});
    iam.on(UpdateLoginProfileCommand, { UserName: 'bob' }).rejects(awsError('PasswordPolicyViolation', { message: 'Password should have at least 128 characters' }));

    // Act
    const result = await resetConsolePasswords.run(anAccountStepContext({ resource: account, config }));

    // Assess
    expect(secrets.commandCalls(PutSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([passwordSecretName(incidentId, 'alice'), passwordSecretName(incidentId, 'bob')]);
    expect(result.data!.users.slice(0, 2)).toEqual([
      { userName: 'alice', action: 'reset', secretArn: `arn:secret:${passwordSecretName(incidentId, 'alice')}` },
      { userName: 'bob', action: 'refused', reason: "the account's password policy refused the new password: Password should have at least 128 characters" },
    ]);
    expect(result.summary).toContain('the password policy refused 1: bob (reset them by hand)');
  });

  it('lets other errors fail the step (the password is kept, so a retry loses nothing)', async () => {
    // Prepare
    consoleUsers('alice');
    secrets.on(CreateSecretCommand).resolves({ ARN: 'arn:secret' });
    iam.on(UpdateLoginProfileCommand).rejects(awsError('ServiceFailure', { httpStatusCode: 500 }));

    // Act / Assess
    await expect(resetConsolePasswords.run(anAccountStepContext({ resource: anAccount({ users: [aUser('alice')] }) }))).rejects.toMatchObject({ name: 'ServiceFailure' });
  });

  it('makes no call at all when the sweep is not enabled', async () => {
    // Act
    const result = await resetConsolePasswords.run(anAccountStepContext({ options: AccountOptionsSchema.parse({ credential_sweep: { enabled: false } }) }));

    // Assess
    expect([...iam.calls(), ...secrets.calls()]).toHaveLength(0);
    expect(result.status).toBe('skipped');
    expect([resetConsolePasswords.minimumMode, resetConsolePasswords.enabledBy, resetConsolePasswords.undo]).toEqual(['full', ['credential_sweep.enabled', 'credential_sweep.console_passwords'], undefined]);
  });
});

describe('randomPassword', () => {
  it('is 64 characters with every class a password policy may require, different every time', () => {
    // Act
    const passwords = Array.from({ length: 50 }, () => randomPassword());

    // Assess
    for (const p of passwords) {
      expect(p).toHaveLength(64);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[0-9]/);
      expect(p).toMatch(/[!@#$%^&*()_+\-=[\]{}|]/);
    }
    expect(new Set(passwords).size).toBe(50);
  });

  it('names the secret after the incident and the user (a comma, valid in IAM names, is not in Secrets Manager\'s)', () => {
    expect(passwordSecretName('inc-1', 'a,b@c')).toBe('firebreak/inc-1/console-password/a_b@c');
  });
});
