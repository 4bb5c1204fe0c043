import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AssociateIamInstanceProfileCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeInstancesCommand,
  DisassociateIamInstanceProfileCommand,
  EC2Client,
  ReplaceIamInstanceProfileAssociationCommand,
  type IamInstanceProfileAssociation,
} from '@aws-sdk/client-ec2';
import {
  DeleteRolePolicyCommand,
  GetInstanceProfileCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListInstanceProfilesForRoleCommand,
  PutRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import type { StepResult } from '../../../../shared/engine/index.ts';
import { replaceInstanceProfile, revokeInstanceRoleSessions } from '../../../../shared/playbooks/ec2-instance/credentials.ts';
import type { Ec2Capture } from '../../../../shared/playbooks/ec2-instance/describe.ts';
import { aConfig, anEc2Options, anIncident, anInstance, anUndoContext, aStepContext, awsError, FIXED_NOW, INSTANCE_ID } from '../../helpers/factories.ts';

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

/** The instance as the first delivery captured it. */
const captured = (instanceProfileArn?: string): Ec2Capture => ({
  instanceId: INSTANCE_ID,
  networkInterfaces: [],
  volumes: [],
  tags: {},
  ...(instanceProfileArn ? { instanceProfileArn } : {}),
});
const withIsolationProfile = () => anEc2Options({ isolation_instance_profile_arn: ISOLATION_PROFILE_ARN });

type RevokeContext = Parameters<typeof revokeInstanceRoleSessions.run>[0];
const revokeContext = (overrides: Partial<RevokeContext> = {}): RevokeContext =>
  aStepContext({ resource: anInstance({ instanceProfileArn: PROFILE_ARN }), capture: captured(PROFILE_ARN), incident: INCIDENT, ...overrides });

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

/** An existing revocation policy on the role, as IAM returns it (URL-encoded). */
function givenRevocationPolicy(condition: Record<string, unknown> | undefined) {
  const document = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'FirebreakRevokeOlderSessions', Effect: 'Deny', Action: '*', Resource: '*', ...(condition ? { Condition: condition } : {}) }] });
  iamMock.on(GetRolePolicyCommand, { RoleName: ROLE_NAME, PolicyName: POLICY_NAME }).resolves({ RoleName: ROLE_NAME, PolicyName: POLICY_NAME, PolicyDocument: encodeURIComponent(document) });
}

/**
 * Answers a command with `pages` in turn and records the pagination token each call is made
 * with (the SDK's paginators reuse one input object, so the recorded calls all show the last).
 */
function paged(behavior: { callsFake(fn: (input: Record<string, unknown>) => unknown): unknown }, token: string, pages: object[]): unknown[] {
  const seen: unknown[] = [];
  behavior.callsFake((input) => {
    seen.push(input[token]);
    return pages[seen.length - 1];
  });
  return seen;
}

/** Contains with the step against the AWS mocked so far, then forgets those mocks and calls: release sees AWS as it is at release time. */
async function contained<D>(run: Promise<StepResult<D>>): Promise<StepResult<D>> {
  const result = await run;
  iamMock.reset();
  ec2Mock.reset();
  return result;
}

describe('Step: revokeInstanceRoleSessions', () => {
  it('denies every session of the instance role issued before now, so credentials copied from the box stop working while new sessions still work', async () => {
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
    givenRevocationPolicy({ DateLessThan: { 'aws:TokenIssueTime': original } });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
    expect(result.status).toBe('done');
    expect(result.data).toMatchObject({ roleName: ROLE_NAME, policyName: POLICY_NAME, revokedBefore: original });
  });

  it('keeps a revocation policy someone edited to name no cut-off, recording that the cut-off is unknown', async () => {
    // Prepare
    givenRole();
    givenRevocationPolicy(undefined);

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
    expect(result).toMatchObject({ status: 'done', data: { policyName: POLICY_NAME, revokedBefore: null } });
    expect(result.summary).toContain('issued before the first delivery were already denied');
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
    // What it records reads back with the step's schema, as a ledger holding it is read.
    expect(revokeInstanceRoleSessions.data.parse(JSON.parse(JSON.stringify(result.data)))).toEqual(result.data);
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

  it('names both kinds of sharer when other instances and other principals use the role', async () => {
    // Prepare
    givenRole({
      trust: trustPolicy({ Service: 'ec2.amazonaws.com' }, { Service: 'ecs-tasks.amazonaws.com' }),
      associations: [association(INSTANCE_ID, PROFILE_ARN), association(OTHER_INSTANCE, PROFILE_ARN)],
      running: [OTHER_INSTANCE],
    });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toContain(`shared with instance(s) ${OTHER_INSTANCE} and trusted principal(s) Service:ecs-tasks.amazonaws.com`);
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
    const markers = paged(iamMock.on(ListInstanceProfilesForRoleCommand), 'Marker', [
      { InstanceProfiles: [{ Arn: PROFILE_ARN }], IsTruncated: true, Marker: 'p2' },
      { InstanceProfiles: [{ Arn: OTHER_PROFILE_ARN }], IsTruncated: false },
    ]);
    const tokens = paged(ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand), 'NextToken', [
      { IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN)], NextToken: 't2' },
      { IamInstanceProfileAssociations: [association(OTHER_INSTANCE, OTHER_PROFILE_ARN)] },
    ]);

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    expect(tokens).toEqual([undefined, 't2']);
    expect(markers).toEqual([undefined, 'p2']);
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
    expect(result.data).toEqual({ roleName: ROLE_NAME, roleArn: ROLE_ARN, roleId: ROLE_ID, instanceProfileArn: PROFILE_ARN, protectedBy: `arn:aws:iam::${ACCOUNT}:role/apps/*` });
    expect(revokeInstanceRoleSessions.data.parse(result.data)).toEqual(result.data);
    expect(iamMock.commandCalls(GetRolePolicyCommand)).toHaveLength(0);
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });

  it("leaves a role alone whose instance sessions are protected (the session ARN names the role without its path)", async () => {
    // Prepare
    givenRole();
    const config = aConfig({ protectedPrincipals: [`arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAME}/*`] });

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext({ config }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { protectedBy: `arn:aws:sts::${ACCOUNT}:assumed-role/${ROLE_NAME}/*` } });
    expect(iamMock.commandCalls(PutRolePolicyCommand)).toHaveLength(0);
  });

  it('skips an instance without an instance profile without calling AWS', async () => {
    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext({ resource: anInstance(), capture: captured() }));

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

  it('revokes the role of the profile captured at the first delivery, not the isolation profile the instance has by a redelivery', async () => {
    // Prepare
    givenRole();
    const context = revokeContext({ resource: anInstance({ instanceProfileArn: ISOLATION_PROFILE_ARN }), capture: captured(PROFILE_ARN), options: withIsolationProfile() });

    // Act
    const result = await revokeInstanceRoleSessions.run(context);

    // Assess
    expect(iamMock.commandCalls(GetInstanceProfileCommand)[0]!.args[0].input).toEqual({ InstanceProfileName: 'web-app-profile' });
    expect(result).toMatchObject({ status: 'done', data: { roleName: ROLE_NAME, instanceProfileArn: PROFILE_ARN } });
  });

  it('uses the profile the instance has now when the first delivery captured none', async () => {
    // Prepare
    givenRole();

    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext({ capture: captured() }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { instanceProfileArn: PROFILE_ARN } });
  });

  it('skips an instance that already had the isolation profile at the first delivery: its original role is unknown', async () => {
    // Act
    const result = await revokeInstanceRoleSessions.run(revokeContext({ capture: captured(ISOLATION_PROFILE_ARN), options: withIsolationProfile() }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toContain('carries the isolation instance profile');
    expect(iamMock.calls()).toHaveLength(0);
  });

  it('fails permanently when the instance profile was deleted, since its role (and credentials) cannot be found', async () => {
    // Prepare
    iamMock.on(GetInstanceProfileCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));

    // Act
    const run = revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'StepFailedError', code: 'InstanceProfileGone', retryable: false });
  });

  it('lets real failures through for the engine to classify (reading the profile, reading or attaching the policy)', async () => {
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
    await expect(second).rejects.toMatchObject({ name: 'Throttling' });
    iamMock.on(GetInstanceProfileCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403 }));
    const third = revokeInstanceRoleSessions.run(revokeContext());

    // Assess
    await expect(third).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('Undo: removeRevocationPolicy', () => {
  /** Revokes the role's sessions at FIXED_NOW, as containment does. */
  const revoked = async () => {
    givenRole();
    return contained(revokeInstanceRoleSessions.run(revokeContext()));
  };

  it('removes the revocation policy from the instance role, warning that older sessions work again', async () => {
    // Prepare
    const result = await revoked();
    iamMock.on(DeleteRolePolicyCommand).resolves({});

    // Act
    const release = await revokeInstanceRoleSessions.undo!.run(anUndoContext(revokeInstanceRoleSessions, result, { incident: INCIDENT }));

    // Assess
    expect(iamMock.commandCalls(DeleteRolePolicyCommand).map((c) => c.args[0].input)).toEqual([{ RoleName: ROLE_NAME, PolicyName: POLICY_NAME }]);
    expect(release.status).toBe('done');
    expect(release.summary).toBe(
      `removed ${POLICY_NAME} from role ${ROLE_NAME}: role sessions issued before ${FIXED_NOW.toISOString()} that have not expired yet (instance-role credentials last about 6 hours) are valid again`,
    );
    expect(release.data).toMatchObject({ roleName: ROLE_NAME, policyName: POLICY_NAME, result: 'removed' });
  });

  it('treats a policy already removed as done (idempotent)', async () => {
    // Prepare
    const result = await revoked();
    iamMock.on(DeleteRolePolicyCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));

    // Act
    const release = await revokeInstanceRoleSessions.undo!.run(anUndoContext(revokeInstanceRoleSessions, result, { incident: INCIDENT }));

    // Assess
    expect(release).toEqual({ status: 'done', summary: `${POLICY_NAME} was already gone from role ${ROLE_NAME}`, data: { roleName: ROLE_NAME, policyName: POLICY_NAME, result: 'already-removed' } });
  });

  it('fails on any other error', async () => {
    // Prepare
    const result = await revoked();
    iamMock.on(DeleteRolePolicyCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403 }));

    // Act
    const run = revokeInstanceRoleSessions.undo!.run(anUndoContext(revokeInstanceRoleSessions, result, { incident: INCIDENT }));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('says the cut-off is unknown when the revocation found on a redelivery named none', async () => {
    // Prepare
    givenRole();
    givenRevocationPolicy(undefined);
    const result = await contained(revokeInstanceRoleSessions.run(revokeContext()));
    iamMock.on(DeleteRolePolicyCommand).resolves({});

    // Act
    const release = await revokeInstanceRoleSessions.undo!.run(anUndoContext(revokeInstanceRoleSessions, result, { incident: INCIDENT }));

    // Assess
    expect(release.summary).toContain('role sessions issued before the revocation that have not expired yet');
  });

  it('has nothing to remove when no session was revoked (a shared role is only recommended): the step is skipped, so no undo runs', async () => {
    // Prepare
    givenRole({ associations: [association(INSTANCE_ID, PROFILE_ARN), association(OTHER_INSTANCE, PROFILE_ARN)], running: [OTHER_INSTANCE] });

    // Act
    const result = await contained(revokeInstanceRoleSessions.run(revokeContext()));

    // Assess: the engine runs no undo after a skipped step (it records "nothing to restore" itself);
    // what the step recorded reads back, with no policy in it to remove.
    expect(result.status).toBe('skipped');
    expect(revokeInstanceRoleSessions.data.parse(JSON.parse(JSON.stringify(result.data)))).not.toHaveProperty('policyName');
    expect(iamMock.calls()).toHaveLength(0);
  });
});

const ISOLATION_ASSOCIATION = 'iip-assoc-2';
/** The instance's association at release time (none: no profile). */
const associationNow = (arn?: string) =>
  ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({
    IamInstanceProfileAssociations: arn ? [{ AssociationId: ISOLATION_ASSOCIATION, InstanceId: INSTANCE_ID, State: 'associated', IamInstanceProfile: { Arn: arn } }] : [],
  });

describe('Step: replaceInstanceProfile', () => {
  it('replaces the instance profile with the isolation profile', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN, 'associated', 'iip-assoc-0123')] });
    ec2Mock.on(ReplaceIamInstanceProfileAssociationCommand).resolves({});

    // Act
    const result = await replaceInstanceProfile.run(aStepContext({ options: withIsolationProfile() }));

    // Assess
    expect(ec2Mock.commandCalls(DescribeIamInstanceProfileAssociationsCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'instance-id', Values: [INSTANCE_ID] },
      { Name: 'state', Values: ['associating', 'associated'] },
    ]);
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

  it('removes the profile of an instance in a member account instead of giving it the deployment account\'s isolation profile, and says why', async () => {
    // Prepare: the incident is in a member account; the configured isolation profile is the pipeline's
    const member = '444455556666';
    const memberProfile = `arn:aws:iam::${member}:instance-profile/apps/web-app-profile`;
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, memberProfile, 'associated', 'iip-assoc-0456')] });
    ec2Mock.on(DisassociateIamInstanceProfileCommand).resolves({});

    // Act
    const result = await replaceInstanceProfile.run(aStepContext({ options: withIsolationProfile(), incident: anIncident({ accountId: member }) }));

    // Assess
    expect(ec2Mock.commandCalls(ReplaceIamInstanceProfileAssociationCommand)).toHaveLength(0);
    expect(ec2Mock.commandCalls(DisassociateIamInstanceProfileCommand).map((c) => c.args[0].input)).toEqual([{ AssociationId: 'iip-assoc-0456' }]);
    expect(result.status).toBe('done');
    expect(result.data).toEqual({ associationIdBefore: 'iip-assoc-0456', instanceProfileArnBefore: memberProfile, replacedWith: null });
    expect(result.summary).toContain(`the isolation profile ${ISOLATION_PROFILE_ARN} is in account ${ACCOUNT}, not ${member}`);
  });

  it('changes nothing when the instance already has the isolation profile', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, ISOLATION_PROFILE_ARN, 'associating', 'iip-assoc-0123')] });

    // Act
    const result = await replaceInstanceProfile.run(aStepContext({ options: withIsolationProfile(), capture: captured(PROFILE_ARN) }));

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
    const result = await replaceInstanceProfile.run(aStepContext({ capture: captured(PROFILE_ARN) }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { associationIdBefore: null, instanceProfileArnBefore: PROFILE_ARN, replacedWith: null } });
  });

  it('follows the pages of associations', async () => {
    // Prepare
    const tokens = paged(ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand), 'NextToken', [
      { IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN, 'disassociated', 'iip-assoc-old')], NextToken: 'next' },
      { IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN, 'associated', 'iip-assoc-live')] },
    ]);
    ec2Mock.on(DisassociateIamInstanceProfileCommand).resolves({});

    // Act
    const result = await replaceInstanceProfile.run(aStepContext());

    // Assess
    expect(tokens).toEqual([undefined, 'next']);
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
    const third = replaceInstanceProfile.run(aStepContext({ options: withIsolationProfile() }));

    // Assess
    expect(first.status).toBe('done');
    await expect(second).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
    await expect(third).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });
});

describe('Undo: restoreInstanceProfile', () => {
  /** Containment replaced PROFILE_ARN with the isolation profile. */
  const replacedWithIsolation = async () => {
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN, 'associated', 'iip-assoc-1')] });
    ec2Mock.on(ReplaceIamInstanceProfileAssociationCommand).resolves({});
    return contained(replaceInstanceProfile.run(aStepContext({ options: withIsolationProfile(), capture: captured(PROFILE_ARN) })));
  };
  /** Containment removed PROFILE_ARN (no isolation profile configured). */
  const removed = async () => {
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE_ARN, 'associated', 'iip-assoc-1')] });
    ec2Mock.on(DisassociateIamInstanceProfileCommand).resolves({});
    return contained(replaceInstanceProfile.run(aStepContext({ capture: captured(PROFILE_ARN) })));
  };
  /** The instance had the isolation profile already at the first delivery: what it had before is unknown. */
  const isolatedWithoutProfileBefore = async () => {
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, ISOLATION_PROFILE_ARN, 'associated', 'iip-assoc-1')] });
    return contained(replaceInstanceProfile.run(aStepContext({ options: withIsolationProfile(), capture: captured() })));
  };

  it('replaces the isolation profile with the one the instance had before', async () => {
    // Prepare
    const result = await replacedWithIsolation();
    associationNow(ISOLATION_PROFILE_ARN);
    ec2Mock.on(ReplaceIamInstanceProfileAssociationCommand).resolves({});

    // Act
    const release = await replaceInstanceProfile.undo!.run(anUndoContext(replaceInstanceProfile, result));

    // Assess
    expect(ec2Mock.commandCalls(DescribeIamInstanceProfileAssociationsCommand)[0]!.args[0].input).toEqual({
      Filters: [
        { Name: 'instance-id', Values: [INSTANCE_ID] },
        { Name: 'state', Values: ['associating', 'associated'] },
      ],
    });
    expect(ec2Mock.commandCalls(ReplaceIamInstanceProfileAssociationCommand).map((c) => c.args[0].input)).toEqual([
      { AssociationId: ISOLATION_ASSOCIATION, IamInstanceProfile: { Arn: PROFILE_ARN } },
    ]);
    expect(release).toEqual({
      status: 'done',
      summary: `replaced ${ISOLATION_PROFILE_ARN} with ${PROFILE_ARN} on ${INSTANCE_ID}`,
      data: { instanceProfileArnBefore: PROFILE_ARN, replacedWith: ISOLATION_PROFILE_ARN, arnNow: ISOLATION_PROFILE_ARN, result: 'replaced' },
    });
  });

  it('associates the profile again when containment removed it', async () => {
    // Prepare
    const result = await removed();
    associationNow(undefined);
    ec2Mock.on(AssociateIamInstanceProfileCommand).resolves({});

    // Act
    const release = await replaceInstanceProfile.undo!.run(anUndoContext(replaceInstanceProfile, result));

    // Assess
    expect(ec2Mock.commandCalls(AssociateIamInstanceProfileCommand).map((c) => c.args[0].input)).toEqual([{ InstanceId: INSTANCE_ID, IamInstanceProfile: { Arn: PROFILE_ARN } }]);
    expect(release).toMatchObject({ status: 'done', summary: `associated ${PROFILE_ARN} with ${INSTANCE_ID} again`, data: { result: 'associated' } });
  });

  it('associates the profile again that a redelivery found already removed (recorded from the capture)', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [] });
    const result = await contained(replaceInstanceProfile.run(aStepContext({ capture: captured(PROFILE_ARN) })));
    associationNow(undefined);
    ec2Mock.on(AssociateIamInstanceProfileCommand).resolves({});

    // Act
    const release = await replaceInstanceProfile.undo!.run(anUndoContext(replaceInstanceProfile, result));

    // Assess
    expect(ec2Mock.commandCalls(AssociateIamInstanceProfileCommand).map((c) => c.args[0].input)).toEqual([{ InstanceId: INSTANCE_ID, IamInstanceProfile: { Arn: PROFILE_ARN } }]);
    expect(release.status).toBe('done');
  });

  it('does nothing when the instance already has its profile back (idempotent)', async () => {
    // Prepare
    const result = await replacedWithIsolation();
    associationNow(PROFILE_ARN);

    // Act
    const release = await replaceInstanceProfile.undo!.run(anUndoContext(replaceInstanceProfile, result));

    // Assess
    expect(ec2Mock.calls()).toHaveLength(1);
    expect(release).toMatchObject({ status: 'done', summary: `${INSTANCE_ID} already has ${PROFILE_ARN}`, data: { result: 'already-restored' } });
  });

  it('leaves alone a profile someone else put on the instance since', async () => {
    // Prepare
    const result = await removed();
    associationNow(`arn:aws:iam::${ACCOUNT}:instance-profile/forensics`);

    // Act
    const release = await replaceInstanceProfile.undo!.run(anUndoContext(replaceInstanceProfile, result));

    // Assess
    expect(ec2Mock.calls()).toHaveLength(1);
    expect(release).toMatchObject({ status: 'skipped', summary: `left alone (changed since containment): ${INSTANCE_ID} now has arn:aws:iam::${ACCOUNT}:instance-profile/forensics` });
  });

  it('removes the isolation profile from an instance that had none before', async () => {
    // Prepare
    const result = await isolatedWithoutProfileBefore();
    associationNow(ISOLATION_PROFILE_ARN);
    ec2Mock.on(DisassociateIamInstanceProfileCommand).resolves({});

    // Act
    const release = await replaceInstanceProfile.undo!.run(anUndoContext(replaceInstanceProfile, result));

    // Assess
    expect(result.data).toEqual({ associationIdBefore: 'iip-assoc-1', instanceProfileArnBefore: null, replacedWith: ISOLATION_PROFILE_ARN });
    expect(ec2Mock.commandCalls(DisassociateIamInstanceProfileCommand).map((c) => c.args[0].input)).toEqual([{ AssociationId: ISOLATION_ASSOCIATION }]);
    expect(release).toMatchObject({ status: 'done', summary: `removed ${ISOLATION_PROFILE_ARN} from ${INSTANCE_ID}, which had no instance profile before`, data: { result: 'disassociated' } });
  });

  it('does nothing for an instance that had no profile before and has none now (idempotent)', async () => {
    // Prepare
    const result = await isolatedWithoutProfileBefore();
    associationNow(undefined);

    // Act
    const release = await replaceInstanceProfile.undo!.run(anUndoContext(replaceInstanceProfile, result));

    // Assess
    expect(ec2Mock.calls()).toHaveLength(1);
    expect(release).toMatchObject({ status: 'done', summary: `${INSTANCE_ID} already has no instance profile, as before`, data: { result: 'already-restored' } });
  });

  it('restores nothing when the profile was not replaced (the step is skipped, so no undo runs), or the instance is gone', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [] });
    const notReplaced = await contained(replaceInstanceProfile.run(aStepContext()));
    const result = await removed();
    associationNow(undefined);

    // Act
    const gone = await replaceInstanceProfile.undo!.run({ ...anUndoContext(replaceInstanceProfile, result), resource: async () => undefined });

    // Assess
    expect(notReplaced).toEqual({ status: 'skipped', summary: `no instance profile is associated with ${INSTANCE_ID}, so the metadata service serves no role credentials` });
    expect(gone).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} no longer exists: nothing to restore`, data: { instanceGone: true } });
    expect(ec2Mock.commandCalls(AssociateIamInstanceProfileCommand)).toHaveLength(0);
  });

  it('lets a failure to restore through for the engine to classify', async () => {
    // Prepare
    const result = await replacedWithIsolation();
    associationNow(ISOLATION_PROFILE_ARN);
    ec2Mock.on(ReplaceIamInstanceProfileAssociationCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));

    // Act
    const run = replaceInstanceProfile.undo!.run(anUndoContext(replaceInstanceProfile, result));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });
});

describe('Undos: a ledger written before the typed steps (v1) releases as it did', () => {
  const V1 = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'fixtures', 'ledger', 'v1', 'ec2-released.json');
  const v1 = JSON.parse(readFileSync(V1, 'utf8'));
  const incident = anIncident({ incidentId: v1.incidentId, accountId: v1.accountId, findingId: v1.findingId, resource: { type: 'Instance', id: v1.resourceId, hints: {} } });

  it('removes the revocation policy it recorded, saying what the v1 release said', async () => {
    // Prepare
    iamMock.on(DeleteRolePolicyCommand).resolves({});

    // Act
    const release = await revokeInstanceRoleSessions.undo!.run(anUndoContext(revokeInstanceRoleSessions, v1.steps.revokeInstanceRoleSessions, { incident }));

    // Assess
    expect(iamMock.commandCalls(DeleteRolePolicyCommand).map((c) => c.args[0].input)).toEqual([
      { RoleName: v1.steps.revokeInstanceRoleSessions.data.roleName, PolicyName: v1.steps.revokeInstanceRoleSessions.data.policyName },
    ]);
    expect(release).toEqual({ status: 'done', summary: v1.release.steps.removeRevocationPolicy.summary, data: v1.release.steps.removeRevocationPolicy.data });
  });

  it('associates the profile it recorded (replacedWith null) again, saying what the v1 release said', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [] });
    ec2Mock.on(AssociateIamInstanceProfileCommand).resolves({});

    // Act
    const release = await replaceInstanceProfile.undo!.run(anUndoContext(replaceInstanceProfile, v1.steps.replaceInstanceProfile, { incident }));

    // Assess
    expect(ec2Mock.commandCalls(AssociateIamInstanceProfileCommand).map((c) => c.args[0].input)).toEqual([
      { InstanceId: v1.resourceId, IamInstanceProfile: { Arn: v1.steps.replaceInstanceProfile.data.instanceProfileArnBefore } },
    ]);
    expect(release).toEqual({ status: 'done', summary: v1.release.steps.restoreInstanceProfile.summary, data: v1.release.steps.restoreInstanceProfile.data });
  });
});

describe('Steps: instance credentials', () => {
  it('declare every IAM action they and their undos call, PassRole included for the replacement and the restore', () => {
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
    expect(revokeInstanceRoleSessions.undo!.iamActions).toEqual(['iam:DeleteRolePolicy']);
    expect([...replaceInstanceProfile.undo!.iamActions].sort()).toEqual([
      'ec2:AssociateIamInstanceProfile',
      'ec2:DescribeIamInstanceProfileAssociations',
      'ec2:DisassociateIamInstanceProfile',
      'ec2:ReplaceIamInstanceProfileAssociation',
      'iam:PassRole',
    ]);
    expect([revokeInstanceRoleSessions.stage, replaceInstanceProfile.stage]).toEqual(['contain', 'contain']);
  });

  it('keep the names the ledger records them and their undos under', () => {
    // Assess
    expect([revokeInstanceRoleSessions.name, revokeInstanceRoleSessions.undo!.name]).toEqual(['revokeInstanceRoleSessions', 'removeRevocationPolicy']);
    expect([replaceInstanceProfile.name, replaceInstanceProfile.undo!.name]).toEqual(['replaceInstanceProfile', 'restoreInstanceProfile']);
  });
});
