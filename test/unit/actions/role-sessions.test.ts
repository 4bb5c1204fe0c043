import { DeleteRolePolicyCommand, GetRoleCommand, GetRolePolicyCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  assumedRoleArn,
  findRevocation,
  INSTANCE_ROLE_SERVICE_PRINCIPALS,
  instanceSessionDenyPolicy,
  otherTrustedPrincipals,
  parsePolicyDocument,
  removeRevocation,
  revocationPolicy,
  revocationPolicyName,
  revokeSessionsIssuedBefore,
  sessionDenyPolicy,
  trustedPrincipals,
} from '../../../shared/actions/role-sessions.ts';
import { awsError, FIXED_NOW, someClients } from '../helpers/factories.ts';

const iamMock = mockClient(IAMClient);
afterEach(() => iamMock.reset());

const iam = () => someClients().iam;
const ROLE = 'web-app';
const POLICY = revocationPolicyName('inc-0123456789abcdef');
const CUT_OFF = '2025-06-19T14:41:00.000Z';
const revocationDocument = (statement: unknown) => JSON.stringify({ Version: '2012-10-17', Statement: statement });
const denyBefore = (time: string) => ({ Sid: 'FirebreakRevokeOlderSessions', Effect: 'Deny', Action: '*', Resource: '*', Condition: { DateLessThan: { 'aws:TokenIssueTime': time } } });

describe('Role sessions: the revocation policy', () => {
  it('is named after the incident, so each incident keeps and releases its own', () => {
    // Assess
    expect(revocationPolicyName('inc-0123456789abcdef')).toBe('FirebreakRevokeOlderSessions-inc-0123456789abcdef');
  });

  it('denies every action to sessions issued before the cut-off, and nothing else', () => {
    // Act
    const document = JSON.parse(revocationPolicy(CUT_OFF));

    // Assess
    expect(document).toEqual({ Version: '2012-10-17', Statement: [denyBefore(CUT_OFF)] });
  });

  it('is attached as an inline policy of the role, its cut-off returned as written', async () => {
    // Prepare
    iamMock.on(PutRolePolicyCommand).resolves({});

    // Act
    const revokedBefore = await revokeSessionsIssuedBefore(iam(), ROLE, POLICY, FIXED_NOW);

    // Assess
    expect(revokedBefore).toBe(FIXED_NOW.toISOString());
    expect(iamMock.commandCalls(PutRolePolicyCommand).map((c) => c.args[0].input)).toEqual([
      { RoleName: ROLE, PolicyName: POLICY, PolicyDocument: revocationPolicy(FIXED_NOW.toISOString()) },
    ]);
  });
});

describe('Role sessions: reading a revocation back', () => {
  it('finds the cut-off of a policy IAM returns URL-encoded', async () => {
    // Prepare
    iamMock.on(GetRolePolicyCommand, { RoleName: ROLE, PolicyName: POLICY }).resolves({ RoleName: ROLE, PolicyName: POLICY, PolicyDocument: encodeURIComponent(revocationDocument([denyBefore(CUT_OFF)])) });

    // Act
    const found = await findRevocation(iam(), ROLE, POLICY);

    // Assess
    expect(found).toEqual({ policyName: POLICY, revokedBefore: CUT_OFF });
  });

  it('reads a plain JSON document and a single statement not in a list', async () => {
    // Prepare
    iamMock.on(GetRolePolicyCommand).resolves({ RoleName: ROLE, PolicyName: POLICY, PolicyDocument: revocationDocument(denyBefore(CUT_OFF)) });

    // Act
    const found = await findRevocation(iam(), ROLE, POLICY);

    // Assess
    expect(found).toEqual({ policyName: POLICY, revokedBefore: CUT_OFF });
  });

  it('finds the policy without a cut-off when someone edited the condition away', async () => {
    // Prepare
    iamMock.on(GetRolePolicyCommand).resolves({
      RoleName: ROLE,
      PolicyName: POLICY,
      PolicyDocument: encodeURIComponent(revocationDocument([null, { Effect: 'Deny', Action: '*', Resource: '*' }, { Condition: { DateLessThan: { 'aws:TokenIssueTime': 42 } } }])),
    });

    // Act
    const found = await findRevocation(iam(), ROLE, POLICY);

    // Assess
    expect(found).toEqual({ policyName: POLICY, revokedBefore: undefined });
  });

  it('finds nothing on a role without the policy (or no longer there), and lets other errors through', async () => {
    // Prepare
    iamMock
      .on(GetRolePolicyCommand)
      .rejectsOnce(awsError('NoSuchEntityException', { httpStatusCode: 404 }))
      .rejectsOnce(awsError('NoSuchEntity', { httpStatusCode: 404 }))
      .rejectsOnce(awsError('AccessDenied', { httpStatusCode: 403 }));

    // Act
    const missing = await findRevocation(iam(), ROLE, POLICY);
    const roleGone = await findRevocation(iam(), ROLE, POLICY);
    const denied = findRevocation(iam(), ROLE, POLICY);

    // Assess
    expect([missing, roleGone]).toEqual([undefined, undefined]);
    await expect(denied).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('Role sessions: removing a revocation', () => {
  it('deletes the inline policy', async () => {
    // Prepare
    iamMock.on(DeleteRolePolicyCommand).resolves({});

    // Act
    const result = await removeRevocation(iam(), ROLE, POLICY);

    // Assess
    expect(result).toBe('removed');
    expect(iamMock.commandCalls(DeleteRolePolicyCommand).map((c) => c.args[0].input)).toEqual([{ RoleName: ROLE, PolicyName: POLICY }]);
  });

  it('treats a policy (or role) already gone as removed, and lets other errors through', async () => {
    // Prepare
    iamMock
      .on(DeleteRolePolicyCommand)
      .rejectsOnce(awsError('NoSuchEntityException', { httpStatusCode: 404 }))
      .rejectsOnce(awsError('Throttling', { retryable: true }));

    // Act
    const gone = await removeRevocation(iam(), ROLE, POLICY);
    const throttled = removeRevocation(iam(), ROLE, POLICY);

    // Assess
    expect(gone).toBe('already-removed');
    await expect(throttled).rejects.toMatchObject({ name: 'Throttling' });
  });
});

describe('Role sessions: policy documents', () => {
  it('decodes what IAM returns URL-encoded, and takes plain JSON (leading spaces too) as it is', () => {
    // Prepare
    const document = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }] };

    // Act
    const parsed = [parsePolicyDocument(encodeURIComponent(JSON.stringify(document))), parsePolicyDocument(`  ${JSON.stringify(document)}`)];

    // Assess
    expect(parsed).toEqual([document, document]);
  });

  it('has nothing to parse for an absent or empty document, and refuses a malformed one', () => {
    // Assess
    expect([parsePolicyDocument(undefined), parsePolicyDocument('')]).toEqual([undefined, undefined]);
    expect(() => parsePolicyDocument('{not json')).toThrow(SyntaxError);
  });
});

describe('Role sessions: who else may hold sessions of a role', () => {
  const trust = (...statements: unknown[]) => ({ Version: '2012-10-17', Statement: statements });
  const allow = (Principal: unknown) => ({ Effect: 'Allow', Principal, Action: 'sts:AssumeRole' });

  it('lists every principal the Allow statements admit, but the services excepted', () => {
    // Prepare
    const policy = trust(
      allow({ Service: ['ec2.amazonaws.com', 'lambda.amazonaws.com'] }),
      allow({ AWS: ['arn:aws:iam::111122223333:root', '444455556666'] }),
      allow({ Federated: 'arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com' }),
      { Effect: 'Deny', Principal: { AWS: 'arn:aws:iam::999999999999:root' }, Action: 'sts:AssumeRole' },
    );

    // Act
    const principals = trustedPrincipals(policy, INSTANCE_ROLE_SERVICE_PRINCIPALS);

    // Assess
    expect(principals).toEqual([
      '444455556666',
      'Federated:arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com',
      'Service:lambda.amazonaws.com',
      'arn:aws:iam::111122223333:root',
    ]);
  });

  it('finds no one else for an instance role, in the China partition too', () => {
    // Act
    const principals = [
      trustedPrincipals(trust(allow({ Service: 'ec2.amazonaws.com' })), INSTANCE_ROLE_SERVICE_PRINCIPALS),
      trustedPrincipals(trust(allow({ Service: 'ec2.amazonaws.com.cn' })), INSTANCE_ROLE_SERVICE_PRINCIPALS),
      trustedPrincipals({ Statement: allow({ Service: 'ec2.amazonaws.com' }) }, INSTANCE_ROLE_SERVICE_PRINCIPALS),
    ];

    // Assess
    expect(principals).toEqual([[], [], []]);
  });

  it('excepts no service unless told to', () => {
    // Assess
    expect(trustedPrincipals(trust(allow({ Service: 'ec2.amazonaws.com' })))).toEqual(['Service:ec2.amazonaws.com']);
  });

  it('names anyone (*) and NotPrincipal statements as they are, since they admit unknown principals', () => {
    // Prepare
    const policy = trust(allow('*'), { Effect: 'Allow', NotPrincipal: { AWS: 'arn:aws:iam::111122223333:user/mallory' }, Action: 'sts:AssumeRole' });

    // Act
    const principals = trustedPrincipals(policy, INSTANCE_ROLE_SERVICE_PRINCIPALS);

    // Assess
    expect(principals).toEqual(['*', 'NotPrincipal {"AWS":"arn:aws:iam::111122223333:user/mallory"}']);
  });

  it('finds no one in an absent policy or one without statements', () => {
    // Assess
    expect([trustedPrincipals(undefined), trustedPrincipals({}), trustedPrincipals(trust(null))]).toEqual([[], [], []]);
  });

  it("reads the role's trust policy from IAM", async () => {
    // Prepare
    const policy = trust(allow({ Service: ['ec2.amazonaws.com', 'ecs-tasks.amazonaws.com'] }));
    iamMock.on(GetRoleCommand, { RoleName: ROLE }).resolves({ Role: { RoleName: ROLE, RoleId: 'AROAEXAMPLE', Arn: `arn:aws:iam::111122223333:role/${ROLE}`, Path: '/', CreateDate: FIXED_NOW, AssumeRolePolicyDocument: encodeURIComponent(JSON.stringify(policy)) } });

    // Act
    const principals = await otherTrustedPrincipals(iam(), ROLE, INSTANCE_ROLE_SERVICE_PRINCIPALS);

    // Assess
    expect(principals).toEqual(['Service:ecs-tasks.amazonaws.com']);
  });
});

describe('Role sessions: one session only', () => {
  it('names a session by the role without its path, in its partition', () => {
    // Assess
    expect(assumedRoleArn('arn:aws:iam::111122223333:role/apps/web-app', 'i-0a1b2c3d4e5f67890')).toBe('arn:aws:sts::111122223333:assumed-role/web-app/i-0a1b2c3d4e5f67890');
    expect(assumedRoleArn('arn:aws-cn:iam::111122223333:role/web-app', 'alice')).toBe('arn:aws-cn:sts::111122223333:assumed-role/web-app/alice');
  });

  it('denies only the sessions with that name (aws:userid is <RoleId>:<session name>)', () => {
    // Act
    const document = JSON.parse(sessionDenyPolicy('AROAEXAMPLE', 'alice'));

    // Assess
    expect(document).toEqual({
      Version: '2012-10-17',
      Statement: [{ Sid: 'FirebreakDenySessions', Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringLike: { 'aws:userid': 'AROAEXAMPLE:alice' } } }],
    });
  });

  it("denies only the credentials EC2 served one instance (its sessions are named after the instance id)", () => {
    // Act
    const document = JSON.parse(instanceSessionDenyPolicy('AROAEXAMPLE', 'i-0a1b2c3d4e5f67890'));

    // Assess
    expect(document.Statement).toEqual([
      { Sid: 'FirebreakDenyInstanceSessions', Effect: 'Deny', Action: '*', Resource: '*', Condition: { StringLike: { 'aws:userid': 'AROAEXAMPLE:i-0a1b2c3d4e5f67890' } } },
    ]);
  });
});
