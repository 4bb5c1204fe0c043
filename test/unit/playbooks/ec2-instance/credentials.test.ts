import {
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  DisassociateIamInstanceProfileCommand,
  EC2Client,
  ReplaceIamInstanceProfileAssociationCommand,
  type IamInstanceProfileAssociation,
} from '@aws-sdk/client-ec2';
import {
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListInstanceProfilesForRoleCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { replaceInstanceProfile, revokeInstanceRoleSessions } from '../../../../shared/steps/ec2/index.ts';
import { aConfig, anIncident, anInstance, aStepContext, awsError, FIXED_NOW, INSTANCE_ID } from '../../helpers/factories.ts';

const iamMock = mockClient(IAMClient);
const ec2Mock = mockClient(EC2Client);
afterEach(() => {
  iamMock.reset();
  ec2Mock.reset();
});

const ACCOUNT = '111122223333';
const ROLE_NAME = 'web-app';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/apps/${ROLE_NAME}`;
const ROLE_ID = 'AROAQXEXAMPLEROLEID12';
const PROFILE_ARN = `arn:aws:iam::${ACCOUNT}:instance-profile/apps/web-app-profile`;
const OTHER_PROFILE_ARN = `arn:aws:iam::${ACCOUNT}:instance-profile/web-app-batch`;
const ISOLATION_PROFILE_ARN = `arn:aws:iam::${ACCOUNT}:instance-profile/firebreak-isolation`;
const OTHER_INSTANCE = 'i-0ffffffffffffff01';
const INCIDENT = anIncident();
const POLICY_NAME = `FirebreakRevokeOlderSessions-${INCIDENT.incidentId}`;

const trustPolicy = (...principals: Array<Record<string, unknown>>) =>
  encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: principals.map((Principal) => ({ Effect: 'Allow', Principal, Action: 'sts:AssumeRole' })) }));
const EC2_ONLY = trustPolicy({ Service: 'ec2.amazonaws.com' });

const association = (instanceId: string, profileArn: string, state = 'associated', id = `iip-assoc-${instanceId.slice(2)}`): IamInstanceProfileAssociation => ({
  AssociationId: id,
  InstanceId: instanceId,
  IamInstanceProfile: { Arn: profileArn, Id: 'AIPAEXAMPLE' },
  State: state as IamInstanceProfileAssociation['State'],
});

const revokeContext = (overrides: Parameters<typeof aStepContext>[0] = {}) =>
  aStepContext({ resource: anInstance({ instanceProfileArn: PROFILE_ARN }), incident: INCIDENT, ...overrides });

/** The victim's role, reachable through its own profile and `profiles`, used by `associations`, of which `running` are live. */
function givenRole({
  trust = EC2_ONLY,
  profiles = [PROFILE_ARN],
  associations = [association(INSTANCE_ID, PROFILE_ARN)],
  running = [] as string[],
}: { trust?: string; profiles?: string[]; associations?: IamInstanceProfileAssociation[]; running?: string[] } = {}) {
  iamMock
    .on(GetInstanceProfileCommand, { InstanceProfileName: 'web-app-profile' })
    .resolves({ InstanceProfile: { InstanceProfileName: 'web-app-profile', Path: '/apps/', InstanceProfileId: 'AIPAEXAMPLE', Arn: PROFILE_ARN, CreateDate: FIXED_NOW, Roles: [{ RoleName: ROLE_NAME, RoleId: ROLE_ID, Arn: ROLE_ARN, Path: '/apps/', CreateDate: FIXED_NOW }] } });
  iamMock.on(GetRolePolicyCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));
  iamMock.on(GetRoleCommand, { RoleName: ROLE_NAME }).resolves({ Role: { RoleName: ROLE_NAME, RoleId: ROLE_ID, Arn: ROLE_ARN, Path: '/apps/', CreateDate: FIXED_NOW, AssumeRolePolicyDocument: trust } });
  iamMock.on(ListInstanceProfilesForRoleCommand, { RoleName: ROLE_NAME }).resolves({ InstanceProfiles: profiles.map((Arn) => ({ Arn }) as never), IsTruncated: false });
  iamMock.on(PutRolePolicyCommand).resolves({});
  ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: associations });
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: running.length ? [{ Instances: running.map((InstanceId) => ({ InstanceId, State: { Name: 'running' } })) }] : [] });
}

describe('Step: revokeInstanceRoleSessions', () => {
  it("denies every session of the instance role issued before now, so credentials copied from the box stop working while new sessions still work", async () => {
    // Prepare
    givenRole();

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(iamMock.commandCalls(GetInstanceProfileCommand)[0]!.args[0].input).toEqual({ InstanceProfileName: 'web-app-profile' });
    const put = iamMock.commandCalls(PutRolePolicyCommand).map((c) => c.args[0].input);
    expect(put).toHaveLength(1);
    expect(put[0]!.RoleName).toBe(ROLE_NAME);
    expect(put[0]!.PolicyName).toBe(POLICY_NAME);
    expect(JSON.parse(put[0]!.PolicyDocument!)).toEqual({
      Version: '2012-10-17',
      Statement: [{ Sid: 'FirebreakRevokeOlderSessions', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': '2025-06-19T15:00:00.000Z' } } }],
    });
    expect(result.status).toBe('done');
    expect(result.data).toEqual({ roleName: ROLE_NAME, roleArn: ROLE_ARN, roleId: ROLE_ID, instanceProfileArn: PROFILE_ARN, policyName: POLICY_NAME, revokedBefore: FIXED_NOW.toISOString() });
    expect(result.summary).toContain(`issued before ${FIXED_NOW.toISOString()} are denied`);
    expect(result.summary).toContain('new sessions still work');
  });

  it('keeps the revocation of an earlier delivery unchanged, with its original time', async () => {
    // Prepare
    givenRole();
    const original = '2025-06-19T14:41:00.000Z';
    const document = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'FirebreakRevokeOlderSessions', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': original } } }] });
    iamMock.on(GetRolePolicyCommand, { RoleName: ROLE_NAME, PolicyName: POLICY_NAME }).resolves({ RoleName: ROLE_NAME, PolicyName: POLICY_NAME, PolicyDocument: encodeURIComponent(document) });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
    expect(result.status).toBe('done');
    expect(result.data).toMatchObject({ roleName: ROLE_NAME, policyName: POLICY_NAME, revokedBefore: original });
  });

  it('does not revoke a role that another running instance uses through a different profile, and recommends a policy that denies only the victim', async () => {
    // Prepare
    givenRole({
      profiles: [PROFILE_ARN, OTHER_PROFILE_ARN],
      associations: [
        association(INSTANCE_ID, PROFILE_ARN),
        association(OTHER_INSTANCE, OTHER_PROFILE_ARN),
        association('i-0eeeeeeeeeeeeee02', `arn:aws:iam::${ACCOUNT}:instance-profile/unrelated`),
      ],
      running: [OTHER_INSTANCE],
    });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(DescribeIamInstanceProfileAssociationsCommand)[0]!.args[0].input.Filters).toEqual([{ Name: 'state', Values: ['associated'] }]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'instance-id', Values: [OTHER_INSTANCE] },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
    ]);
    expect(result.status).toBe('skipped');
    expect(result.summary).toContain(OTHER_INSTANCE);
    expect(result.data).toMatchObject({ roleName: ROLE_NAME, sharedWith: [OTHER_INSTANCE], otherTrustedPrincipals: [] });
    expect(result.data).not.toHaveProperty('policyName');
    const recommendation = String(result.data?.recommendation);
    expect(recommendation).toContain('"StringLike":{"aws:userid":"AROAQXEXAMPLEROLEID12:i-0a1b2c3d4e5f67890"}');
    expect(recommendation).toContain('"Effect":"Deny","Action":"*","Resource":"*"');
    expect(recommendation).toMatch(/break those workloads until their credentials refresh/);
  });

  it('does not revoke a role that other principals may assume (lambda.amazonaws.com in the trust policy)', async () => {
    // Prepare
    givenRole({ trust: trustPolicy({ Service: ['ec2.amazonaws.com', 'lambda.amazonaws.com'] }, { AWS: `arn:aws:iam::${ACCOUNT}:root` }) });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
    expect(result.status).toBe('skipped');
    expect(result.data).toMatchObject({ sharedWith: [], otherTrustedPrincipals: ['Service:lambda.amazonaws.com', `arn:aws:iam::${ACCOUNT}:root`] });
    expect(result.data?.recommendation).toContain('Service:lambda.amazonaws.com');
  });

  it('revokes when the other instances with the role are stopped (they hold no live credentials)', async () => {
    // Prepare
    givenRole({ associations: [association(INSTANCE_ID, PROFILE_ARN), association(OTHER_INSTANCE, PROFILE_ARN)], running: [] });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)[0]!.args[0].input.Filters).toContainEqual({ Name: 'instance-state-name', Values: ['pending', 'running'] });
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(1);
    expect(result.status).toBe('done');
  });

  it('never asks about the victim itself, so a role used by the victim alone is revoked', async () => {
    // Prepare
    givenRole({ associations: [association(INSTANCE_ID, PROFILE_ARN)] });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    expect(result.status).toBe('done');
  });

  it('finds a sharer on a later page of associations and of the role’s instance profiles', async () => {
    // Prepare
    givenRole({ running: [OTHER_INSTANCE] });
    iamMock
      .on(ListInstanceProfilesForRoleCommand)
      .resolvesOnce({ InstanceProfiles: [{ Arn: PROFILE_ARN } as never], IsTruncated: true, Marker: 'p2' })
      .resolvesOnce({ InstanceProfiles: [{ Arn: OTHER_PROFILE_ARN } as never], IsTruncated: false });
    ec2Mock
      .on(DescribeIamInstanceProfileAssociationsCommand)
      .resolvesOnce({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN)], NextToken: 't2' })
      .resolvesOnce({ IamInstanceProfileAssociations: [association(OTHER_INSTANCE, OTHER_PROFILE_ARN)] });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(ec2Mock.commandCalls(DescribeIamInstanceProfileAssociationsCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 't2']);
    expect(iamMock.commandCalls(ListInstanceProfilesForRoleCommand).map((c) => c.args[0].input.Marker)).toEqual([undefined, 'p2']);
    expect(result).toMatchObject({ status: 'skipped', data: { sharedWith: [OTHER_INSTANCE] } });
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });

  it('leaves a protected role alone', async () => {
    // Prepare
    givenRole();
    const config = aConfig({ protectedPrincipals: [`arn:aws:iam::${ACCOUNT}:role/apps/*`] });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext({ config }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toContain('protected');
    expect(iamMock.commandCalls(GetRolePolicyCommand)).toHaveLength(0);
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });

  it('skips an instance without an instance profile without calling AWS', async () => {
    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext({ resource: anInstance() }));

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} has no instance profile, so no role credentials were on the box` });
    expect(iamMock.calls()).toHaveLength(0);
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('skips an instance profile that holds no role', async () => {
    // Prepare
    iamMock.on(GetInstanceProfileCommand).resolves({ InstanceProfile: { InstanceProfileName: 'web-app-profile', Path: '/apps/', InstanceProfileId: 'AIPAEXAMPLE', Arn: PROFILE_ARN, CreateDate: FIXED_NOW, Roles: [] } });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toContain('holds no role');
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });

  it("revokes the role of the profile captured at the first delivery, not the isolation profile the instance has by a redelivery", async () => {
    // Prepare
    givenRole();
    const context = revokeContext({
      resource: anInstance({ instanceProfileArn: ISOLATION_PROFILE_ARN }),
      capture: { instanceId: INSTANCE_ID, instanceProfileArn: PROFILE_ARN },
      config: aConfig({ ec2: { onlineCapture: { enabled: false, waitSeconds: 0 }, malwareScan: false, isolationInstanceProfileArn: ISOLATION_PROFILE_ARN } }),
    });

    // Act
    const result = await revokeInstanceRoleSessions.run(context);

    // Assess
    expect(iamMock.commandCalls(GetInstanceProfileCommand)[0]!.args[0].input).toEqual({ InstanceProfileName: 'web-app-profile' });
    expect(result).toMatchObject({ status: 'done', data: { roleName: ROLE_NAME, instanceProfileArn: PROFILE_ARN } });
  });

  it('fails permanently when the instance profile was deleted, since its role (and credentials) cannot be found', async () => {
    // Prepare
    iamMock.on(GetInstanceProfileCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));

    // Act
    const run = revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'StepFailedError', code: 'InstanceProfileGone', retryable: false });
  });

  it('lets real failures through for the engine to classify (reading or attaching the policy)', async () => {
    // Prepare
    givenRole();
    iamMock
      .on(GetRolePolicyCommand)
      .rejectsOnce(awsError('AccessDenied', { httpStatusCode: 403 }))
      .rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));
    iamMock.on(PutRolePolicyCommand).rejects(awsError('Throttling', { retryable: true }));

    // Act
    const first = revokeInstanceRoleSessions.run(revokeContext());
    await expect(first).rejects.toMatchObject({ name: 'AccessDenied' });
    const second = revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    await expect(second).rejects.toMatchObject({ name: 'Throttling' });
  });
});

describe('Step: replaceInstanceProfile', () => {
  const withIsolationProfile = () => aConfig({ ec2: { onlineCapture: { enabled: false, waitSeconds: 0 }, malwareScan: false, isolationInstanceProfileArn: ISOLATION_PROFILE_ARN } });

  it('replaces the instance profile with the isolation profile', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN, 'associated', 'iip-assoc-0123')] });
    ec2Mock.on(ReplaceIamInstanceProfileAssociationCommand).resolves({});

    // Act
    const result = await replaceInstanceProfile.run(aStepContext({ config: withIsolationProfile() }));

    // Assess
    expect(ec2Mock.commandCalls(DescribeIamInstanceProfileAssociationsCommand)[0]!.args[0].input.Filters).toEqual([{ Name: 'instance-id', Values: [INSTANCE_ID] }]);
    expect(ec2Mock.commandCalls(ReplaceIamInstanceProfileAssociationCommand).map((c) => c.args[0].input)).toEqual([
      { AssociationId: 'iip-assoc-0123', IamInstanceProfile: { Arn: ISOLATION_PROFILE_ARN } },
    ]);
    expect(ec2Mock.commandCalls(DisassociateIamInstanceProfileCommand)).toHaveLength(0);
    expect(result.status).toBe('done');
    expect(result.data).toEqual({ associationIdBefore: 'iip-assoc-0123', instanceProfileArnBefore: PROFILE_ARN, replacedWith: ISOLATION_PROFILE_ARN });
    expect(result.summary).toContain('stay valid until they expire');
  });

  it('removes the instance profile when no isolation profile is configured, so the metadata service serves no new role credentials', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN, 'associated', 'iip-assoc-0123')] });
    ec2Mock.on(DisassociateIamInstanceProfileCommand).resolves({});

    // Act
    const result = await replaceInstanceProfile.run(aStepContext());

    // Assess
    expect(ec2Mock.commandCalls(DisassociateIamInstanceProfileCommand).map((c) => c.args[0].input)).toEqual([{ AssociationId: 'iip-assoc-0123' }]);
    expect(ec2Mock.commandCalls(ReplaceIamInstanceProfileAssociationCommand)).toHaveLength(0);
    expect(result.status).toBe('done');
    expect(result.data).toEqual({ associationIdBefore: 'iip-assoc-0123', instanceProfileArnBefore: PROFILE_ARN, replacedWith: null });
    expect(result.summary).toContain('credentials already on the box stay valid until they expire, which is why revokeInstanceRoleSessions exists');
  });

  it('changes nothing when the instance already has the isolation profile', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, ISOLATION_PROFILE_ARN, 'associating', 'iip-assoc-0123')] });

    // Act
    const result = await replaceInstanceProfile.run(aStepContext({ config: withIsolationProfile(), capture: { instanceProfileArn: PROFILE_ARN } }));

    // Assess
    expect(ec2Mock.commandCalls(ReplaceIamInstanceProfileAssociationCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(DisassociateIamInstanceProfileCommand)).toHaveLength(0);
    expect(result.status).toBe('done');
    expect(result.summary).toContain('already');
    expect(result.data).toEqual({ associationIdBefore: 'iip-assoc-0123', instanceProfileArnBefore: PROFILE_ARN, replacedWith: ISOLATION_PROFILE_ARN });
  });

  it('skips an instance with no live association (disassociated ones do not count)', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN, 'disassociated')] });

    // Act
    const result = await replaceInstanceProfile.run(aStepContext());

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `no instance profile is associated with ${INSTANCE_ID}, so the metadata service serves no role credentials` });
    expect(ec2Mock.commandCalls(DisassociateIamInstanceProfileCommand)).toHaveLength(0);
  });

  it('reports done with the captured profile when a redelivery finds it already removed', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [] });

    // Act
    const result = await replaceInstanceProfile.run(aStepContext({ capture: { instanceId: INSTANCE_ID, instanceProfileArn: PROFILE_ARN } }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { associationIdBefore: null, instanceProfileArnBefore: PROFILE_ARN, replacedWith: null } });
  });

  it('follows the pages of associations', async () => {
    // Prepare
    ec2Mock
      .on(DescribeIamInstanceProfileAssociationsCommand)
      .resolvesOnce({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN, 'disassociated', 'iip-assoc-old')], NextToken: 'next' })
      .resolvesOnce({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN, 'associated', 'iip-assoc-live')] });
    ec2Mock.on(DisassociateIamInstanceProfileCommand).resolves({});

    // Act
    const result = await replaceInstanceProfile.run(aStepContext());

    // Assess
    expect(ec2Mock.commandCalls(DescribeIamInstanceProfileAssociationsCommand).map((c) => c.args[0].input.NextToken)).toEqual([undefined, 'next']);
    expect(ec2Mock.commandCalls(DisassociateIamInstanceProfileCommand).map((c) => c.args[0].input)).toEqual([{ AssociationId: 'iip-assoc-live' }]);
    expect(result.data).toMatchObject({ associationIdBefore: 'iip-assoc-live' });
  });

  it('treats an association removed meanwhile as done, but lets other failures through', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN)] });
    ec2Mock.on(DisassociateIamInstanceProfileCommand).rejectsOnce(awsError('InvalidAssociationID.NotFound')).rejectsOnce(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));
    ec2Mock.on(ReplaceIamInstanceProfileAssociationCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));

    // Act
    const first = await replaceInstanceProfile.run(aStepContext());
    const second = replaceInstanceProfile.run(aStepContext());
    const third = replaceInstanceProfile.run(aStepContext({ config: withIsolationProfile() }));

    // Assess
    expect(first.status).toBe('done');
    await expect(second).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
    await expect(third).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });
});

describe('Steps: instance credentials', () => {
  it('declare every IAM action they call, PassRole included for the replacement', () => {
    // Assess
    expect([...revokeInstanceRoleSessions.iamActions].sort()).toEqual([
      'ec2:DescribeIamInstanceProfileAssociations',
      'ec2:DescribeInstances',
      'iam:GetInstanceProfile',
      'iam:GetRole',
      'iam:GetRolePolicy',
      'iam:ListInstanceProfilesForRole',
      'iam:PutRolePolicy',
    ]);
    expect([...replaceInstanceProfile.iamActions].sort()).toEqual([
      'ec2:DescribeIamInstanceProfileAssociations',
      'ec2:DisassociateIamInstanceProfile',
      'ec2:ReplaceIamInstanceProfileAssociation',
      'iam:PassRole',
    ]);
    expect([revokeInstanceRoleSessions.stage, replaceInstanceProfile.stage]).toEqual(['contain', 'contain']);
  });
});
