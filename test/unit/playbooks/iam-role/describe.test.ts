import { GetRoleCommand, IAMClient, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceNotFoundError } from '../../../../shared/errors/index.ts';
import { captureRole, federationKind, IamRoleCaptureSchema, readRole, refusalOf, rolePrincipals, sessionOf } from '../../../../shared/playbooks/iam-role/describe.ts';
import { iamRolePlaybook } from '../../../../shared/playbooks/iam-role/index.ts';
import { aConfig, awsError, someClients } from '../../helpers/factories.ts';
import { ACCOUNT, anIncidentFor, described, givenRole, ROLES, SOURCE_INSTANCE } from './support.ts';

const iamMock = mockClient(IAMClient);
afterEach(() => iamMock.reset());

describe('Identify the IAM role (describe)', () => {
  it('reads the role, its trust policy, tags, last use, attached and inline policies and instance profiles', async () => {
    // Act
    const role = await described(iamMock, ROLES.plain);

    // Assess
    expect(role).toMatchObject({
      roleName: 'web-app-instance-role',
      roleId: 'AROA4EXAMPLEWEBROLE7Q',
      arn: `arn:aws:iam::${ACCOUNT}:role/web-app-instance-role`,
      path: '/',
      trustPolicy: { Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' } }] },
      tags: { Owner: 'team-web' },
      lastUsed: { date: '2025-06-24T22:24:47.000Z', region: 'us-east-1' },
      attachedPolicies: [{ name: 'ReadOnlyAccess', arn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' }],
      inlinePolicyNames: ['app-secrets'],
      instanceProfiles: [{ name: 'web-app-instance-profile' }],
      federation: { providers: [] },
    });
    expect(federationKind(role.federation)).toBe('none');
    // The capture is what the ledger keeps: it reads back through its schema unchanged.
    expect(IamRoleCaptureSchema.parse(JSON.parse(JSON.stringify(captureRole(role))))).toEqual(JSON.parse(JSON.stringify(captureRole(role))));
  });

  it('follows the markers of paginated policy lists', async () => {
    // Prepare
    givenRole(iamMock, ROLES.plain);
    iamMock.on(ListRolePoliciesCommand, { RoleName: 'web-app-instance-role' }).resolvesOnce({ PolicyNames: ['a'], IsTruncated: true, Marker: 'm1' }).resolves({ PolicyNames: ['b'], IsTruncated: false });

    // Act
    const role = await readRole(someClients().iam, 'web-app-instance-role');

    // Assess
    expect(role.inlinePolicyNames).toEqual(['a', 'b']);
    expect(iamMock.commandCalls(ListRolePoliciesCommand).at(-1)!.args[0].input).toEqual({ RoleName: 'web-app-instance-role', Marker: 'm1' });
  });

  it.each([
    ['saml', 'saml', [`arn:aws:iam::${ACCOUNT}:saml-provider/Okta`]],
    ['oidc', 'oidc', [`arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`]],
    ['sso', 'identity-center', [`arn:aws:iam::${ACCOUNT}:saml-provider/AWSSSO_0123456789abcdef_DO_NOT_DELETE`]],
  ] as const)('detects a %s role from its trust policy (and name and path)', async (which, kind, providers) => {
    // Act
    const role = await described(iamMock, ROLES[which]);

    // Assess
    expect(federationKind(role.federation)).toBe(kind);
    expect(role.federation.providers.map((p) => p.provider)).toEqual(providers);
    if (which === 'sso') expect(role.federation.identityCenter).toEqual({ permissionSet: 'AdministratorAccess' });
  });

  it('passes any other IAM error on (the delivery is retried)', async () => {
    // Prepare
    iamMock.on(GetRoleCommand).rejects(awsError('ServiceFailure', { httpStatusCode: 500 }));

    // Act / Assess
    await expect(readRole(someClients().iam, 'web-app-instance-role')).rejects.toMatchObject({ name: 'ServiceFailure' });
  });

  it('says the role is gone (ResourceNotFoundError) when IAM has no such role', async () => {
    // Prepare
    iamMock.on(GetRoleCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));

    // Act / Assess
    await expect(readRole(someClients().iam, 'deleted-role')).rejects.toBeInstanceOf(ResourceNotFoundError);
  });
});

describe('Protected principals, Firebreak\'s own roles and service-linked roles', () => {
  it('gives the engine the role ARN and the session ARN, so the protected-principal gate applies', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.plain);
    const incident = anIncidentFor(ROLES.plain);

    // Act
    const principals = iamRolePlaybook.principals(incident, role);

    // Assess
    expect(principals).toEqual([`arn:aws:iam::${ACCOUNT}:role/web-app-instance-role`, `arn:aws:sts::${ACCOUNT}:assumed-role/web-app-instance-role/${SOURCE_INSTANCE}`]);
    expect(sessionOf(incident)).toEqual({ principalId: `AROA4EXAMPLEWEBROLE7Q:${SOURCE_INSTANCE}`, roleId: 'AROA4EXAMPLEWEBROLE7Q', sessionName: SOURCE_INSTANCE });
  });

  it('names a role under a path both with and without it', async () => {
    // Prepare
    const role = await described(iamMock, ROLES.sso);

    // Act
    const principals = rolePrincipals(anIncidentFor(ROLES.sso, { sessionName: 'alice@example.com' }), role);

    // Assess
    expect(principals).toEqual([
      `arn:aws:iam::${ACCOUNT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_AdministratorAccess_0123456789abcdef`,
      `arn:aws:iam::${ACCOUNT}:role/AWSReservedSSO_AdministratorAccess_0123456789abcdef`,
      `arn:aws:sts::${ACCOUNT}:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com`,
    ]);
  });

  it('refuses protected principals, Firebreak\'s own roles (its prefix and its member role) and service-linked roles, and nothing else', async () => {
    // Prepare
    const config = aConfig({ protectedPrincipals: ['arn:aws:iam::*:role/BreakGlass*'], namePrefix: 'firebreak' });
    const refusal = async (which: keyof typeof ROLES) => refusalOf(anIncidentFor(ROLES[which]), await described(iamMock, ROLES[which]), config);

    // Act / Assess
    expect(await refusal('breakGlass')).toMatch(/protected principal \(matches arn:aws:iam::\*:role\/BreakGlass\*\)/);
    expect(await refusal('own')).toMatch(/Firebreak's own roles/);
    expect(await refusal('serviceLinked')).toMatch(/service-linked role/);
    expect(refusalOf(anIncidentFor(ROLES.plain), { arn: `arn:aws:iam::${ACCOUNT}:role/firebreak-responder`, roleName: 'firebreak-responder', path: '/' }, { ...config, namePrefix: 'fb-prod' })).toMatch(/own roles/);
    for (const which of ['plain', 'saml', 'oidc', 'sso'] as const) expect(await refusal(which)).toBeUndefined();
  });
});
