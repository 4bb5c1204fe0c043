import { IAMClient, ListAccessKeysCommand, UpdateAccessKeyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { deactivateAccessKeys } from '../../../../shared/playbooks/account/access-keys.ts';
import { AccountOptionsSchema } from '../../../../shared/playbooks/account/options.ts';
import { ACCOUNT_ID, aConfig, awsError } from '../../helpers/factories.ts';
import { anAccount, anAccountStepContext, anAccountUndoContext, aRootIncident, aUser, sweepOptions } from './helpers.ts';

const iam = mockClient(IAMClient);
afterEach(() => iam.reset());

const updates = () => iam.commandCalls(UpdateAccessKeyCommand).map((c) => [c.args[0].input.UserName, c.args[0].input.AccessKeyId, c.args[0].input.Status]);

const account = anAccount({
  users: [
    aUser('alice', [['AKIAALICE00000000001', 'Active']]),
    aUser('bob', [['AKIABOB0000000000001', 'Active'], ['AKIABOB0000000000002', 'Inactive']]),
    aUser('break-glass', [['AKIABREAKGLASS000001', 'Active']]),
    aUser('carol'),
  ],
});
const protectedBreakGlass = aConfig({ playbook: 'account', mode: 'full', protectedPrincipals: [`arn:aws:iam::${ACCOUNT_ID}:user/break-glass*`] });

describe('Step: deactivateAccessKeys', () => {
  it('deactivates every IAM user access key except the protected principals\', recording each key\'s status before', async () => {
    // Prepare
    iam.on(UpdateAccessKeyCommand).resolves({});

    // Act
    const result = await deactivateAccessKeys.run(anAccountStepContext({ resource: account, config: protectedBreakGlass }));

    // Assess
    expect(updates()).toEqual([
      ['alice', 'AKIAALICE00000000001', 'Inactive'],
      ['bob', 'AKIABOB0000000000001', 'Inactive'],
    ]);
    expect(result.status).toBe('done');
    expect(result.data!.keys).toEqual([
      { userName: 'alice', accessKeyId: 'AKIAALICE00000000001', previousStatus: 'Active', action: 'deactivated' },
      { userName: 'bob', accessKeyId: 'AKIABOB0000000000001', previousStatus: 'Active', action: 'deactivated' },
      { userName: 'bob', accessKeyId: 'AKIABOB0000000000002', previousStatus: 'Inactive', action: 'already-inactive' },
      { userName: 'break-glass', accessKeyId: 'AKIABREAKGLASS000001', previousStatus: 'Active', action: 'protected', reason: `protected principal (matches arn:aws:iam::${ACCOUNT_ID}:user/break-glass*)` },
    ]);
    expect(result.summary).toBe('deactivated 2 access key(s) of 2 user(s); 1 already inactive; 1 left active for protected principals (break-glass)');
  });

  it('never deactivates the key Firebreak itself calls with, nor the requesting responder\'s', async () => {
    // Prepare
    iam.on(UpdateAccessKeyCommand).resolves({});
    const ctx = anAccountStepContext({
      resource: account,
      incident: aRootIncident({ origin: 'manual', requestedBy: `arn:aws:iam::${ACCOUNT_ID}:user/bob` }),
      clients: { ...anAccountStepContext().clients, iam: new IAMClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIAALICE00000000001', secretAccessKey: 'x' }, maxAttempts: 1 }) },
    });

    // Act
    const result = await deactivateAccessKeys.run(ctx);

    // Assess
    expect(updates()).toEqual([['break-glass', 'AKIABREAKGLASS000001', 'Inactive']]);
    expect(result.data!.keys.filter((k) => k.action === 'protected').map((k) => [k.userName, k.reason])).toEqual([
      ['alice', 'Firebreak itself calls AWS with this user\'s access key AKIAALICE00000000001'],
      ['bob', 'the responder who asked for this containment'],
      ['bob', 'the responder who asked for this containment'],
    ]);
  });

  it('makes no IAM call at all when the sweep is not enabled, or its access-key part is off', async () => {
    // Act
    const off = await deactivateAccessKeys.run(anAccountStepContext({ options: AccountOptionsSchema.parse({}) }));
    const partOff = await deactivateAccessKeys.run(anAccountStepContext({ options: sweepOptions({ access_keys: false }) }));

    // Assess
    expect(iam.calls()).toHaveLength(0);
    expect(off).toEqual({ status: 'skipped', summary: 'no access key was touched: the credential sweep is not enabled (playbooks.account.options.credential_sweep.enabled)' });
    expect(partOff.summary).toBe('no access key was touched: credential_sweep.access_keys is off');
    // ...and is planned for full mode only, its action granted only with the sweep's options.
    expect([deactivateAccessKeys.minimumMode, deactivateAccessKeys.enabledBy]).toEqual(['full', ['credential_sweep.enabled', 'credential_sweep.access_keys']]);
  });

  it('after a sweep that failed half way, still counts a key it deactivated then as Firebreak\'s (the capture says it was active)', async () => {
    // Prepare: the first delivery captured alice's key active; the failed attempt deactivated it
    iam.on(UpdateAccessKeyCommand).resolves({});
    const now = anAccount({ users: [aUser('alice', [['AKIAALICE00000000001', 'Inactive']])] });
    const capture = { accountId: ACCOUNT_ID, accessKeys: [{ userName: 'alice', accessKeyId: 'AKIAALICE00000000001', status: 'Active' }] };

    // Act
    const result = await deactivateAccessKeys.run(anAccountStepContext({ resource: now, capture }));

    // Assess
    expect(updates()).toEqual([]);
    expect(result.data!.keys).toEqual([{ userName: 'alice', accessKeyId: 'AKIAALICE00000000001', previousStatus: 'Active', action: 'deactivated' }]);
  });

  it('lets a refused call fail the step, so the message is delivered again', async () => {
    // Prepare
    iam.on(UpdateAccessKeyCommand).rejects(awsError('Throttling', { retryable: true }));

    // Act / Assess
    await expect(deactivateAccessKeys.run(anAccountStepContext({ resource: account }))).rejects.toMatchObject({ name: 'Throttling' });
  });
});

describe('Undo: reactivateAccessKeys', () => {
  it('reactivates the keys the sweep deactivated that are still inactive, and leaves the rest as they are', async () => {
    // Prepare: the sweep, as it really ran
    iam.on(UpdateAccessKeyCommand).resolves({});
    const swept = await deactivateAccessKeys.run(anAccountStepContext({ resource: account, config: protectedBreakGlass }));
    iam.reset();
    iam.on(UpdateAccessKeyCommand).resolves({});
    iam.on(ListAccessKeysCommand, { UserName: 'alice' }).resolves({ AccessKeyMetadata: [{ AccessKeyId: 'AKIAALICE00000000001', Status: 'Inactive' }] });
    // Someone already turned bob's key back on.
    iam.on(ListAccessKeysCommand, { UserName: 'bob' }).resolves({ AccessKeyMetadata: [{ AccessKeyId: 'AKIABOB0000000000001', Status: 'Active' }, { AccessKeyId: 'AKIABOB0000000000002', Status: 'Inactive' }] });

    // Act
    const released = await deactivateAccessKeys.undo!.run(anAccountUndoContext(deactivateAccessKeys, swept));

    // Assess: bob's key inactive before the sweep stays inactive; the protected key was never touched
    expect(updates()).toEqual([['alice', 'AKIAALICE00000000001', 'Active']]);
    expect(released).toMatchObject({ status: 'done', summary: 'reactivated 1 access key(s); 1 already active again' });
  });

  it('says which keys or users no longer exist', async () => {
    // Prepare
    iam.on(UpdateAccessKeyCommand).resolves({});
    const swept = await deactivateAccessKeys.run(anAccountStepContext({ resource: account }));
    iam.reset();
    iam.on(ListAccessKeysCommand, { UserName: 'alice' }).rejects(awsError('NoSuchEntity', { httpStatusCode: 404 }));
    iam.on(ListAccessKeysCommand, { UserName: 'bob' }).resolves({ AccessKeyMetadata: [] });
    iam.on(ListAccessKeysCommand, { UserName: 'break-glass' }).resolves({ AccessKeyMetadata: [] });

    // Act
    const released = await deactivateAccessKeys.undo!.run(anAccountUndoContext(deactivateAccessKeys, swept));

    // Assess
    expect(iam.commandCalls(UpdateAccessKeyCommand)).toHaveLength(0);
    expect(released.status).toBe('skipped');
    expect(released.summary).toBe('reactivated 0 access key(s); 3 no longer exist (alice/AKIAALICE00000000001, bob/AKIABOB0000000000001, break-glass/AKIABREAKGLASS000001)');
  });

  it('has nothing to do when the sweep deactivated nothing', async () => {
    // Prepare
    const swept = await deactivateAccessKeys.run(anAccountStepContext({ resource: anAccount({ users: [aUser('carol')] }) }));

    // Act
    const released = await deactivateAccessKeys.undo!.run(anAccountUndoContext(deactivateAccessKeys, swept));

    // Assess
    expect(released).toEqual({ status: 'skipped', summary: 'the sweep deactivated no access key: nothing to reactivate' });
    expect(iam.calls()).toHaveLength(0);
  });
});
