import { afterEach, describe, expect, it } from 'vitest';
import type { StepContext } from '../../../../shared/engine/index.ts';
import type { IamUserTypes } from '../../../../shared/playbooks/iam-user/types.ts';
import { describeUser } from '../../../../shared/playbooks/iam-user/describe.ts';
import { createReplacementKey, deactivateExposedKeys, decideOtherKeys, deleteExposedKeys, replacementSecretName } from '../../../../shared/playbooks/iam-user/keys.ts';
import { someClients } from '../../helpers/factories.ts';
import { anIamUserOptions, aResource, aUserIncident, aUserStepContext, aUserUndoContext, EXPOSED_KEY, FakeAccount, identified, outcomeOf, OTHER_KEY, TEMP_KEY, USER } from './support.ts';

const account = new FakeAccount();
afterEach(() => account.reset());

/** A context for `incident` about USER as IAM has it now, with identifyUser already run. */
async function contextFor(incident = aUserIncident(), overrides: Partial<Parameters<typeof aUserStepContext>[0]> = {}): Promise<StepContext<IamUserTypes, any>> {
  const user = (await describeUser(someClients().iam, USER))!;
  const resource = aResource(incident, user);
  const base = aUserStepContext({ incident, resource, ...overrides });
  return aUserStepContext({ incident, resource, ...overrides, outcomes: { ...(await identified(base)), ...(overrides.outcomes ?? {}) } });
}

describe('Step: deactivateExposedKeys', () => {
  it('deactivates the exposed access key and keeps it; release reactivates it', async () => {
    // Prepare
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }, { id: OTHER_KEY }] });
    const ctx = await contextFor();

    // Act
    const result = await deactivateExposedKeys.run(ctx);

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { userName: USER, keys: [{ accessKeyId: EXPOSED_KEY, statusBefore: 'Active', result: 'deactivated' }] } });
    expect(account.keyStatus(USER, EXPOSED_KEY)).toBe('Inactive');
    expect(account.keyStatus(USER, OTHER_KEY)).toBe('Active');
    expect(account.writes()).toEqual(['UpdateAccessKey']);

    // Act: release
    const undone = await deactivateExposedKeys.undo!.run(aUserUndoContext(deactivateExposedKeys, result));

    // Assess
    expect(undone).toMatchObject({ status: 'done', data: { results: { [EXPOSED_KEY]: 'reactivated' } } });
    expect(account.keyStatus(USER, EXPOSED_KEY)).toBe('Active');
  });

  it('on a redelivery changes nothing and records what the first delivery did', async () => {
    // Prepare: the first delivery captured the key active; it is inactive now
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }] });
    const first = await contextFor();
    account.user(USER).keys[0]!.status = 'Inactive';
    const user = (await describeUser(someClients().iam, USER))!;
    const ctx = aUserStepContext({ resource: aResource(aUserIncident(), user), capture: first.capture, outcomes: await identified(aUserStepContext({ resource: aResource(aUserIncident(), user), capture: first.capture })) });
    account.iam.resetHistory();

    // Act
    const result = await deactivateExposedKeys.run(ctx);

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { keys: [{ accessKeyId: EXPOSED_KEY, result: 'deactivated' }] } });
    expect(account.writes()).toEqual([]);
  });

  it('leaves a key that was already inactive for release to leave inactive', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY, status: 'Inactive' }] });
    const result = await deactivateExposedKeys.run(await contextFor());
    expect(result).toMatchObject({ status: 'done', data: { keys: [{ result: 'already-inactive' }] } });
    const undone = await deactivateExposedKeys.undo!.run(aUserUndoContext(deactivateExposedKeys, result));
    expect(undone.status).toBe('skipped');
    expect(account.keyStatus(USER, EXPOSED_KEY)).toBe('Inactive');
  });

  it('release cannot bring back a key deleted since (full mode), and says so', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }] });
    const result = await deactivateExposedKeys.run(await contextFor());
    account.user(USER).keys = [];
    const undone = await deactivateExposedKeys.undo!.run(aUserUndoContext(deactivateExposedKeys, result));
    expect(undone).toMatchObject({ status: 'done', summary: expect.stringContaining(`${EXPOSED_KEY} deleted (cannot be restored)`) });
  });

  it('deactivates no long-term key for a console sign-in or a temporary key', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }] });
    const console = await deactivateExposedKeys.run(await contextFor(aUserIncident({ findingType: 'UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B', hints: { userType: 'IAMUser' } })));
    const temporary = await deactivateExposedKeys.run(await contextFor(aUserIncident({ hints: { userType: 'IAMUser', accessKeyId: TEMP_KEY } })));
    expect(console).toMatchObject({ status: 'skipped', summary: expect.stringContaining('console sign-in') });
    expect(temporary).toMatchObject({ status: 'skipped', summary: expect.stringContaining('revokeUserSessions denies it') });
    expect(account.keyStatus(USER, EXPOSED_KEY)).toBe('Active');
  });

  it('treats every key as exposed when the finding names none (a manual finding, a hand-off)', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }, { id: OTHER_KEY }] });
    const result = await deactivateExposedKeys.run(await contextFor(aUserIncident({ origin: 'manual', hints: {} })));
    expect(result).toMatchObject({ status: 'done', data: { keys: [{ accessKeyId: EXPOSED_KEY, result: 'deactivated' }, { accessKeyId: OTHER_KEY, result: 'deactivated' }] } });
    expect([account.keyStatus(USER, EXPOSED_KEY), account.keyStatus(USER, OTHER_KEY)]).toEqual(['Inactive', 'Inactive']);
  });
});

describe("Step: decideOtherKeys — the user's other keys, a decision recorded per key", () => {
  it('lists each other active key as a recommendation by default, changing nothing', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }, { id: OTHER_KEY, lastUsed: new Date('2025-06-18T10:00:00Z') }] });
    const result = await decideOtherKeys.run(await contextFor());
    expect(result).toMatchObject({ status: 'done', data: { keys: [{ accessKeyId: OTHER_KEY, result: 'recommended', lastUsedDate: '2025-06-18T10:00:00.000Z' }], recommendation: expect.stringContaining(`${OTHER_KEY} (last used 2025-06-18T10:00:00.000Z)`) } });
    expect(account.writes()).toEqual([]);
  });

  it('deactivates them when deactivate_other_keys is set; release reactivates them', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }, { id: OTHER_KEY }] });
    const result = await decideOtherKeys.run(await contextFor(aUserIncident(), { options: anIamUserOptions({ deactivate_other_keys: true }) }));
    expect(result).toMatchObject({ status: 'done', data: { keys: [{ accessKeyId: OTHER_KEY, result: 'deactivated' }] } });
    expect(account.keyStatus(USER, OTHER_KEY)).toBe('Inactive');
    expect(account.keyStatus(USER, EXPOSED_KEY)).toBe('Active');

    const undone = await decideOtherKeys.undo!.run(aUserUndoContext(decideOtherKeys, result));
    expect(undone.status).toBe('done');
    expect(account.keyStatus(USER, OTHER_KEY)).toBe('Active');
  });

  it('has nothing to decide for a user with only the exposed key', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }] });
    expect((await decideOtherKeys.run(await contextFor())).status).toBe('skipped');
  });
});

describe('Step: createReplacementKey', () => {
  it('creates a replacement key for the owner, kept in Secrets Manager and never recorded', async () => {
    // Prepare
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }] });
    const ctx = await contextFor(aUserIncident(), { options: anIamUserOptions({ create_replacement_key: true }) });
    const deactivated = await deactivateExposedKeys.run(ctx);
    const after = aUserStepContext({ ...ctx, outcomes: { ...(await identified(ctx)), deactivateExposedKeys: outcomeOf(deactivated) } });

    // Act
    const result = await createReplacementKey.run(after);

    // Assess
    const secretName = replacementSecretName(USER, ctx.incident.incidentId);
    expect(result).toMatchObject({ status: 'done', data: { userName: USER, accessKeyId: 'AKIA4NEWREPLACEMENT1', secretName } });
    expect(JSON.parse(account.secretStore.get(secretName)!.value)).toEqual({ UserName: USER, AccessKeyId: 'AKIA4NEWREPLACEMENT1', SecretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' });
    expect(account.secretStore.get(secretName)!.tags).toContainEqual({ Key: 'firebreak:incident-id', Value: ctx.incident.incidentId });
    expect(JSON.stringify(result)).not.toContain('wJalrXUtnFEMI');
    expect(account.user(USER).keys.map((k) => [k.id, k.status])).toEqual([[EXPOSED_KEY, 'Inactive'], ['AKIA4NEWREPLACEMENT1', 'Active']]);
  });

  it('refuses, and records why, when the user already has two keys (IAM allows two)', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }, { id: OTHER_KEY }] });
    const ctx = await contextFor(aUserIncident(), { options: anIamUserOptions({ create_replacement_key: true }) });
    const deactivated = await deactivateExposedKeys.run(ctx);
    const result = await createReplacementKey.run(aUserStepContext({ ...ctx, outcomes: { ...(await identified(ctx)), deactivateExposedKeys: outcomeOf(deactivated) } }));
    expect(result).toMatchObject({ status: 'skipped', data: { refused: expect.stringContaining('already has 2 access keys') } });
    expect(account.writes()).toEqual(['UpdateAccessKey']);
    expect(account.secretStore.size).toBe(0);
  });

  it('removes the new key when the secret cannot be stored: nobody could read it', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }] });
    const { CreateSecretCommand } = await import('@aws-sdk/client-secrets-manager');
    account.secrets.on(CreateSecretCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 403 } }));
    const ctx = await contextFor(aUserIncident(), { options: anIamUserOptions({ create_replacement_key: true }) });
    const deactivated = await deactivateExposedKeys.run(ctx);
    await expect(createReplacementKey.run(aUserStepContext({ ...ctx, outcomes: { ...(await identified(ctx)), deactivateExposedKeys: outcomeOf(deactivated) } }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    expect(account.user(USER).keys.map((k) => k.id)).toEqual([EXPOSED_KEY]);
  });

  it('is off by default', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }] });
    expect((await createReplacementKey.run(await contextFor())).status).toBe('skipped');
    expect(account.writes()).toEqual([]);
  });
});

describe('Step: deleteExposedKeys (full mode, after the evidence)', () => {
  it('deletes the exposed key still inactive, and leaves one a person reactivated', async () => {
    account.addUser(USER, { keys: [{ id: EXPOSED_KEY }, { id: OTHER_KEY }] });
    const ctx = await contextFor(aUserIncident({ origin: 'manual', hints: {} }));
    const deactivated = await deactivateExposedKeys.run(ctx);
    account.user(USER).keys[1]!.status = 'Active';
    const result = await deleteExposedKeys.run(aUserStepContext({ ...ctx, outcomes: { deactivateExposedKeys: outcomeOf(deactivated) } }));
    expect(result).toMatchObject({ status: 'done', data: { deleted: [EXPOSED_KEY], leftAlone: [OTHER_KEY] } });
    expect(account.user(USER).keys.map((k) => k.id)).toEqual([OTHER_KEY]);
    expect(deleteExposedKeys.minimumMode).toBe('full');
    expect(deleteExposedKeys.requires.map((s) => s.name)).toEqual(['deactivateExposedKeys', 'preserveUserState']);
  });
});
