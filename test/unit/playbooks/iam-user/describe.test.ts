import { afterEach, describe, expect, it } from 'vitest';
import { ResourceNotFoundError } from '../../../../shared/errors/index.ts';
import { describeIamUser, exposureOf, userArns } from '../../../../shared/playbooks/iam-user/describe.ts';
import { iamUserPlaybook } from '../../../../shared/playbooks/iam-user/index.ts';
import { silentLogger, someClients } from '../../helpers/factories.ts';
import { aUserIncident, EXPOSED_KEY, FakeAccount, OTHER_KEY, TEMP_KEY, USER, USER_ARN } from './support.ts';

const account = new FakeAccount();
afterEach(() => account.reset());

describe('Playbook: IAM user — describe', () => {
  it("reads the user's keys with their last use, console password, policies, MFA devices and groups", async () => {
    // Prepare
    account.addUser(USER, { path: '/engineering/', keys: [{ id: EXPOSED_KEY, lastUsed: new Date('2025-06-19T14:00:00Z') }, { id: OTHER_KEY, status: 'Inactive' }], login: true, quarantined: 'AWSCompromisedKeyQuarantineV3' });

    // Act
    const resource = await describeIamUser({ incident: aUserIncident(), clients: someClients(), logger: silentLogger() });

    // Assess
    expect(resource.kind).toBe('user');
    if (resource.kind !== 'user') return;
    expect(resource.user).toMatchObject({
      userName: USER,
      userArn: USER_ARN,
      accessKeys: [
        { accessKeyId: EXPOSED_KEY, status: 'Active', lastUsedDate: '2025-06-19T14:00:00.000Z', lastUsedService: 's3', lastUsedRegion: 'us-east-1' },
        { accessKeyId: OTHER_KEY, status: 'Inactive' },
      ],
      loginProfile: { createDate: '2024-02-03T04:05:06.000Z', passwordResetRequired: false },
      attachedPolicies: [{ policyName: 'AWSCompromisedKeyQuarantineV3', policyArn: 'arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3' }],
      groups: ['developers'],
    });
    expect(resource.user.accessKeys[1]).not.toHaveProperty('lastUsedService');
    expect(resource.exposure).toEqual({ userType: 'IAMUser', accessKeyId: EXPOSED_KEY, principalId: 'AIDA4EXAMPLEALICE7XQZ', console: false, everyCredential: false });
  });

  it('throws ResourceNotFoundError when the user no longer exists', async () => {
    await expect(describeIamUser({ incident: aUserIncident(), clients: someClients(), logger: silentLogger() })).rejects.toBeInstanceOf(ResourceNotFoundError);
  });

  it('reads no IAM user for a federated user: its name was chosen by whoever called GetFederationToken', async () => {
    // Prepare: a user of that very name exists
    account.addUser('deploy-bot', { keys: [{ id: OTHER_KEY }] });
    const incident = aUserIncident({ resource: { type: 'IAMUser', id: 'deploy-bot', hints: { userType: 'FederatedUser', accessKeyId: TEMP_KEY, principalId: '111122223333:deploy-bot' } } });

    // Act
    const resource = await describeIamUser({ incident, clients: someClients(), logger: silentLogger() });

    // Assess
    expect(resource).toEqual({ kind: 'federated-session', exposure: expect.objectContaining({ userType: 'FederatedUser' }), sessionName: 'deploy-bot', federatedUserArn: 'arn:aws:sts::111122223333:federated-user/deploy-bot' });
    expect(account.iam.calls()).toHaveLength(0);
    expect(iamUserPlaybook.principals(incident, resource)).toEqual(['arn:aws:sts::111122223333:federated-user/deploy-bot']);
  });

  it('names the user to the protected-principal gate with and without its path', () => {
    expect(userArns(USER_ARN, USER)).toEqual([USER_ARN, `arn:aws:iam::111122223333:user/${USER}`]);
  });

  describe('the exposure a finding describes', () => {
    it('an access key finding: that key, not the console', () => {
      expect(exposureOf(aUserIncident())).toMatchObject({ accessKeyId: EXPOSED_KEY, console: false, everyCredential: false });
    });
    it('a console sign-in (ConsoleLogin type, or a GuardDuty finding naming no key): the console password', () => {
      expect(exposureOf(aUserIncident({ findingType: 'UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B', hints: { userType: 'IAMUser' } }))).toMatchObject({ console: true, everyCredential: false });
      expect(exposureOf(aUserIncident({ findingType: 'Discovery:IAMUser/AnomalousBehavior', hints: { userType: 'IAMUser' } }))).toMatchObject({ console: true });
      expect(exposureOf(aUserIncident({ findingType: 'UnauthorizedAccess:IAMUser/ConsoleLoginSuccess.B', hints: { userType: 'IAMUser', accessKeyId: EXPOSED_KEY } }))).toMatchObject({ console: true, accessKeyId: EXPOSED_KEY });
    });
    it('a manual finding or a hand-off (no hints): every credential of the user', () => {
      expect(exposureOf(aUserIncident({ origin: 'manual', hints: {} }))).toEqual({ userType: 'unknown', console: false, everyCredential: true });
    });
  });
});
