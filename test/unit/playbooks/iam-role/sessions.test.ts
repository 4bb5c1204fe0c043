import { DeleteRolePolicyCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { revocationPolicy } from '../../../../shared/actions/role-sessions.ts';
import { identityDenyPolicyName, revokeFederatedIdentity, revokeOlderRoleSessions } from '../../../../shared/playbooks/iam-role/sessions.ts';
import { aConfig, awsError, FIXED_NOW } from '../../helpers/factories.ts';
import { anIncidentFor, anUndoContext, aRoleStepContext, described, roleOptions, ROLES, SOURCE_INSTANCE } from './support.ts';

const iamMock = mockClient(IAMClient);
afterEach(() => iamMock.reset());

const noPolicy = () => iamMock.on(GetRolePolicyCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));
const putPolicies = () => iamMock.commandCalls(PutRolePolicyCommand).map((c) => c.args[0].input);

describe('Invalidate temporary credentials: an explicit deny with an STS date condition (revokeOlderRoleSessions)', () => {
  it('denies every session of the role issued before now, one policy per incident, so stolen credentials stop working and new sessions do not', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);
    noPolicy();
    iamMock.on(PutRolePolicyCommand).resolves({});

    // Act
    const result = await revokeOlderRoleSessions.run(aRoleStepContext(role, incident));

    // Assess
    expect(result.status).toBe('done');
    expect(putPolicies()).toEqual([{ RoleName: 'web-app-instance-role', PolicyName: `FirebreakRevokeOlderSessions-${incident.incidentId}`, PolicyDocument: revocationPolicy(FIXED_NOW.toISOString()) }]);
    expect(JSON.parse(putPolicies()[0]!.PolicyDocument!).Statement[0]).toEqual({
      Sid: 'FirebreakRevokeOlderSessions',
      Effect: 'Deny',
      Action: '*',
      Resource: '*',
      Condition: { DateLessThan: { 'aws:TokenIssueTime': '2025-06-19T15:00:00.000Z' } },
    });
    expect(result.data).toEqual({ roleName: 'web-app-instance-role', roleArn: role.arn, roleId: role.roleId, policyName: `FirebreakRevokeOlderSessions-${incident.incidentId}`, revokedBefore: '2025-06-19T15:00:00.000Z' });
  });

  it('keeps the first cut-off on a redelivery instead of moving it (and revoking the sessions issued since)', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);
    iamMock.on(GetRolePolicyCommand).resolves({ RoleName: role.roleName, PolicyName: `FirebreakRevokeOlderSessions-${incident.incidentId}`, PolicyDocument: encodeURIComponent(revocationPolicy('2025-06-19T14:41:00.000Z')) });

    // Act
    const result = await revokeOlderRoleSessions.run(aRoleStepContext(role, incident, { now: () => new Date('2025-06-19T18:00:00Z') }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { revokedBefore: '2025-06-19T14:41:00.000Z' } });
    expect(putPolicies()).toEqual([]);
  });

  it.each(['saml', 'oidc'] as const)('revokes the older sessions of a %s role like any role', async (which) => {
    // Prepare
    const role = await described(iamMock, ROLES[which]);
    noPolicy();
    iamMock.on(PutRolePolicyCommand).resolves({});

    // Act
    const result = await revokeOlderRoleSessions.run(aRoleStepContext(role, anIncidentFor(ROLES[which], { sessionName: 'alice@example.com' })));

    // Assess
    expect(result.status).toBe('done');
    expect(putPolicies().map((p) => p.RoleName)).toEqual([role.roleName]);
  });

  it('never changes an IAM Identity Center role (IAM refuses it): it recommends the revocation in Identity Center, naming the permission set and the user', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.sso);

    // Act
    const result = await revokeOlderRoleSessions.run(aRoleStepContext(role, anIncidentFor(ROLES.sso, { sessionName: 'alice@example.com' })));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.data?.recommendation).toMatch(/permission set AdministratorAccess/);
    expect(result.data?.recommendation).toMatch(/aws:userid": "\*:alice@example.com"/);
    expect(result.data?.recommendation).toMatch(/provision-permission-set/);
    expect(putPolicies()).toEqual([]);
  });

  it.each([
    ['breakGlass', /protected principal/],
    ['own', /Firebreak's own roles/],
    ['serviceLinked', /service-linked/],
  ] as const)('leaves the %s role untouched, with the reason recorded', async (which, reason) => {
    // Prepare
    const role = await described(iamMock, ROLES[which]);

    // Act
    const result = await revokeOlderRoleSessions.run(aRoleStepContext(role, anIncidentFor(ROLES[which])));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.data?.refusedBecause).toMatch(reason);
    expect(putPolicies()).toEqual([]);
    expect(iamMock.commandCalls(GetRolePolicyCommand)).toEqual([]);
  });

  it('records a role IAM will not let anyone change (UnmodifiableEntity) as skipped, with the reason', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    noPolicy();
    iamMock.on(PutRolePolicyCommand).rejects(awsError('UnmodifiableEntityException', { message: "Cannot perform the operation on the protected role 'web-app-instance-role' - this role is only modifiable by AWS" }));

    // Act
    const result = await revokeOlderRoleSessions.run(aRoleStepContext(role, anIncidentFor(ROLES.plain)));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { refusedBecause: expect.stringMatching(/UnmodifiableEntity/) } });
  });

  it('removes the revocation on release, saying the copied credentials are valid again until they expire', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);
    noPolicy();
    iamMock.on(PutRolePolicyCommand).resolves({});
    const result = await revokeOlderRoleSessions.run(aRoleStepContext(role, incident));
    iamMock.on(DeleteRolePolicyCommand).resolves({});

    // Act
    const undone = await revokeOlderRoleSessions.undo!.run(anUndoContext(revokeOlderRoleSessions, result, role, incident));

    // Assess
    expect(iamMock.commandCalls(DeleteRolePolicyCommand).map((c) => c.args[0].input)).toEqual([{ RoleName: 'web-app-instance-role', PolicyName: `FirebreakRevokeOlderSessions-${incident.incidentId}` }]);
    expect(undone).toMatchObject({ status: 'done', data: { result: 'removed' } });
    expect(undone.summary).toMatch(/copied credentials included, until they expire/);
  });

  it('finds the revocation already gone on a repeated release', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);
    noPolicy();
    iamMock.on(PutRolePolicyCommand).resolves({});
    const result = await revokeOlderRoleSessions.run(aRoleStepContext(role, incident));
    iamMock.on(DeleteRolePolicyCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));

    // Act
    const undone = await revokeOlderRoleSessions.undo!.run(anUndoContext(revokeOlderRoleSessions, result, undefined, incident));

    // Assess
    expect(undone).toMatchObject({ status: 'done', data: { result: 'already-removed' } });
  });
});

describe('Revoke access for the identity behind the session where it is federated (revokeFederatedIdentity)', () => {
  it('records that a role trusted by no identity provider is not federated, and changes nothing', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);

    // Act
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, anIncidentFor(ROLES.plain)));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/not federated/) });
    expect(putPolicies()).toEqual([]);
  });

  it('SAML: records the identity and the provider, and denies that identity the role, new sessions included (aws:userid)', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);
    const incident = anIncidentFor(ROLES.saml, { sessionName: 'alice@example.com' });
    noPolicy();
    iamMock.on(PutRolePolicyCommand).resolves({});

    // Act
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, incident));

    // Assess
    expect(result.status).toBe('done');
    expect(result.data).toMatchObject({
      federation: 'saml',
      providers: ['arn:aws:iam::111122223333:saml-provider/Okta'],
      identity: { sessionName: 'alice@example.com', principalId: 'AROA4EXAMPLESAMLROLE1:alice@example.com' },
      policyName: identityDenyPolicyName(incident.incidentId),
      deniedUserId: 'AROA4EXAMPLESAMLROLE1:alice@example.com',
    });
    expect(result.data?.recommendation).toMatch(/saml-provider\/Okta/);
    const [put] = putPolicies();
    expect(put).toMatchObject({ RoleName: 'okta-engineers', PolicyName: identityDenyPolicyName(incident.incidentId) });
    expect(JSON.parse(put!.PolicyDocument!).Statement).toEqual([
      { Sid: 'FirebreakDenyFederatedIdentity', Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringLike: { 'aws:userid': 'AROA4EXAMPLESAMLROLE1:alice@example.com' } } },
    ]);
  });

  it('SAML: does not attach the deny twice on a redelivery', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);
    const incident = anIncidentFor(ROLES.saml, { sessionName: 'alice@example.com' });
    iamMock.on(GetRolePolicyCommand).resolves({ RoleName: role.roleName, PolicyName: identityDenyPolicyName(incident.incidentId), PolicyDocument: '{}' });

    // Act
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, incident));

    // Assess
    expect(result).toMatchObject({ status: 'done', summary: expect.stringMatching(/already denied/) });
    expect(putPolicies()).toEqual([]);
  });

  it('SAML with deny_federated_identity off: records the identity and the recommendation only', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);

    // Act
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, anIncidentFor(ROLES.saml, { sessionName: 'alice@example.com' }), { options: roleOptions({ deny_federated_identity: false }) }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { identity: { sessionName: 'alice@example.com' }, recommendation: expect.stringMatching(/Okta/) } });
    expect(putPolicies()).toEqual([]);
  });

  it('SAML without a session in the finding (a manual finding): nothing to deny, the provider is named', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);

    // Act
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, anIncidentFor(ROLES.saml, { sessionName: null })));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/no session/) });
    expect(result.data?.identity).toBeUndefined();
    expect(putPolicies()).toEqual([]);
  });

  it('SAML: a session of an earlier role of the same name (another role id) is not denied on the new one', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);
    const incident = anIncidentFor({ ...ROLES.saml, RoleId: 'AROA4EXAMPLEOLDROLE01' }, { sessionName: 'alice@example.com' });

    // Act
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, incident));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/earlier role/) });
    expect(putPolicies()).toEqual([]);
  });

  it('OIDC: records the session and the provider and recommends revoking at the provider (the caller chose the session name)', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.oidc);

    // Act
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, anIncidentFor(ROLES.oidc, { sessionName: 'GitHubActions' })));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.data).toMatchObject({ federation: 'oidc', providers: ['arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com'], identity: { sessionName: 'GitHubActions' } });
    expect(result.data?.recommendation).toMatch(/token\.actions\.githubusercontent\.com:sub/);
    expect(putPolicies()).toEqual([]);
  });

  it('IAM Identity Center: records the user and the permission set and recommends the deny, the assignment removal and ending portal sessions in Identity Center', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.sso);

    // Act
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, anIncidentFor(ROLES.sso, { sessionName: 'alice@example.com' })));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.data).toMatchObject({ federation: 'identity-center', permissionSet: 'AdministratorAccess', identity: { sessionName: 'alice@example.com' } });
    expect(result.data?.recommendation).toMatch(/delete-account-assignment/);
    expect(result.data?.recommendation).toMatch(/Active sessions/);
    expect(putPolicies()).toEqual([]);
  });

  it('SAML: release removes the deny, and the identity may assume the role again', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);
    const incident = anIncidentFor(ROLES.saml, { sessionName: 'alice@example.com' });
    noPolicy();
    iamMock.on(PutRolePolicyCommand).resolves({});
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, incident));
    iamMock.on(DeleteRolePolicyCommand).resolves({});

    // Act
    const undone = await revokeFederatedIdentity.undo!.run(anUndoContext(revokeFederatedIdentity, result, role, incident));

    // Assess
    expect(iamMock.commandCalls(DeleteRolePolicyCommand).map((c) => c.args[0].input)).toEqual([{ RoleName: 'okta-engineers', PolicyName: identityDenyPolicyName(incident.incidentId) }]);
    expect(undone).toMatchObject({ status: 'done', summary: expect.stringMatching(/alice@example.com may assume the role again/) });
  });

  it('SAML: records a role IAM will not let anyone change as skipped, and fails on any other error (retried)', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);
    const incident = anIncidentFor(ROLES.saml, { sessionName: 'alice@example.com' });
    noPolicy();
    iamMock.on(PutRolePolicyCommand).rejectsOnce(awsError('UnmodifiableEntityException')).rejects(awsError('ServiceFailure', { httpStatusCode: 500 }));

    // Act
    const refused = await revokeFederatedIdentity.run(aRoleStepContext(role, incident));
    const failing = revokeFederatedIdentity.run(aRoleStepContext(role, incident));

    // Assess
    expect(refused).toMatchObject({ status: 'skipped', data: { refusedBecause: expect.stringMatching(/UnmodifiableEntity/), recommendation: expect.stringMatching(/Okta/) } });
    await expect(failing).rejects.toMatchObject({ name: 'ServiceFailure' });
  });

  it('fails (to be retried) when IAM cannot say whether the deny is there', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);
    iamMock.on(GetRolePolicyCommand).rejects(awsError('Throttling', { httpStatusCode: 400, retryable: true }));

    // Act / Assess
    await expect(revokeFederatedIdentity.run(aRoleStepContext(role, anIncidentFor(ROLES.saml, { sessionName: 'alice@example.com' })))).rejects.toMatchObject({ name: 'Throttling' });
    expect(putPolicies()).toEqual([]);
  });

  it('SAML: finds the deny already gone on a repeated release', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);
    const incident = anIncidentFor(ROLES.saml, { sessionName: 'alice@example.com' });
    noPolicy();
    iamMock.on(PutRolePolicyCommand).resolves({});
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, incident));
    iamMock.on(DeleteRolePolicyCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));

    // Act
    const undone = await revokeFederatedIdentity.undo!.run(anUndoContext(revokeFederatedIdentity, result, role, incident));

    // Assess
    expect(undone).toMatchObject({ status: 'done', data: { result: 'already-removed' } });
  });

  it('a SAML role that is protected is not denied', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.saml);

    // Act
    const result = await revokeFederatedIdentity.run(aRoleStepContext(role, anIncidentFor(ROLES.saml, { sessionName: 'alice@example.com' }), { config: aConfig({ protectedPrincipals: ['arn:aws:iam::*:role/okta-*'] }) }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { refusedBecause: expect.stringMatching(/protected/) } });
    expect(putPolicies()).toEqual([]);
  });
});

// The exfiltrated instance session is covered by the cut-off: no per-session deny is attached for it.
it('attaches no deny on the exfiltrated instance session of a plain role: the cut-off covers it', async () => {
  // Prepare
  const role = await described(iamMock, ROLES.plain);
  noPolicy();
  iamMock.on(PutRolePolicyCommand).resolves({});

  // Act
  await revokeOlderRoleSessions.run(aRoleStepContext(role, anIncidentFor(ROLES.plain)));
  await revokeFederatedIdentity.run(aRoleStepContext(role, anIncidentFor(ROLES.plain)));

  // Assess
  expect(putPolicies().map((p) => p.PolicyDocument)).not.toContainEqual(expect.stringContaining(SOURCE_INSTANCE));
  expect(putPolicies()).toHaveLength(1);
});
