/** Every AWS call a review step makes is one of the IAM actions it declares (its role is generated from them). */
import { AccountClient, GetAlternateContactCommand, GetContactInformationCommand } from '@aws-sdk/client-account';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { DescribeInstanceAttributeCommand, DescribeInstancesCommand, DescribeKeyPairsCommand, DescribeSecurityGroupRulesCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  GetGroupPolicyCommand,
  GetLoginProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetSSHPublicKeyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListAttachedUserPoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
} from '@aws-sdk/client-iam';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { neutraliseSuspects, relatedIncidents, resourceReview, trailReview, verifyAccountInformation } from '../../../../shared/actions/identity-review/index.ts';
import { grantsFor } from '../../../../shared/iam/index.ts';
import { aConfig, ACCOUNT_ID } from '../../helpers/factories.ts';
import * as events from './events.ts';
import { anIdentContext, anIdentUndoContext, identStep, outcomeOf, trailEvent } from './helpers.ts';

const mocks = { iam: mockClient(IAMClient), ec2: mockClient(EC2Client), s3: mockClient(S3Client), secrets: mockClient(SecretsManagerClient), cloudTrail: mockClient(CloudTrailClient), account: mockClient(AccountClient) };
const PREFIX: Record<keyof typeof mocks, string> = { iam: 'iam', ec2: 'ec2', s3: 's3', secrets: 'secretsmanager', cloudTrail: 'cloudtrail', account: 'account' };

/** The IAM actions of every call made since the last reset (`iam:ListAccessKeys`…). */
function called(): string[] {
  return Object.entries(mocks).flatMap(([k, m]) => (m as { calls(): Array<{ args: unknown[] }> }).calls().map((c) => `${PREFIX[k as keyof typeof mocks]}:${(c.args[0] as object).constructor.name.replace(/Command$/, '')}`));
}
const resetCalls = () => Object.values(mocks).forEach((m) => m.resetHistory());

beforeEach(() => {
  Object.values(mocks).forEach((m) => m.reset());
  mocks.s3.on(PutObjectCommand).resolves({});
  const { iam, ec2 } = mocks;
  iam.on(GetUserCommand).resolves({ User: { UserName: 'svc-backup', Arn: `arn:aws:iam::${ACCOUNT_ID}:user/svc-backup`, UserId: 'A', Path: '/', CreateDate: new Date() } });
  iam.on(GetRoleCommand).resolves({ Role: { RoleName: 'deploy', Arn: `arn:aws:iam::${ACCOUNT_ID}:role/deploy`, Path: '/', RoleId: 'A', CreateDate: new Date() } });
  iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ AccessKeyId: events.NEW_KEY, Status: 'Active' }] });
  iam.on(GetLoginProfileCommand).resolves({ LoginProfile: { UserName: 'svc-backup', CreateDate: new Date() } });
  iam.on(ListAttachedUserPoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: 'arn:aws:iam::aws:policy/AdministratorAccess' }] });
  iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
  iam.on(ListAttachedGroupPoliciesCommand).resolves({ AttachedPolicies: [] });
  iam.on(GetSSHPublicKeyCommand).resolves({ SSHPublicKey: { UserName: 'svc-backup', SSHPublicKeyId: 'APKA2BACKDOOREXAMPLE', Fingerprint: 'x', SSHPublicKeyBody: 'x', Status: 'Active' } });
  iam.on(ListServiceSpecificCredentialsCommand).resolves({ ServiceSpecificCredentials: [{ ServiceSpecificCredentialId: 'ACCA2BACKDOOREXAMPLE', Status: 'Active', UserName: 'svc-backup', ServiceName: 'x', ServiceUserName: 'x', CreateDate: new Date() }] });
  iam.on(ListSigningCertificatesCommand).resolves({ Certificates: [] });
  iam.on(ListMFADevicesCommand).resolves({ MFADevices: [] });
  iam.on(ListGroupsForUserCommand).resolves({ Groups: [] });
  iam.on(GetPolicyCommand).resolves({ Policy: {} });
  iam.on(GetPolicyVersionCommand).resolves({ PolicyVersion: {} });
  iam.on(GetUserPolicyCommand).resolves({});
  iam.on(GetRolePolicyCommand).resolves({});
  iam.on(GetGroupPolicyCommand).resolves({});
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: events.INSTANCE, State: { Name: 'running' } }] }] });
  ec2.on(DescribeInstanceAttributeCommand).resolves({ DisableApiStop: { Value: false } });
  ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{}] });
  ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{}] });
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [{}] });
  mocks.cloudTrail.on(LookupEventsCommand).resolves({ Events: events.PERSISTENCE });
  mocks.account.on(GetContactInformationCommand).resolves({ ContactInformation: { FullName: 'x', AddressLine1: 'x', City: 'x', PostalCode: 'x', CountryCode: 'US', PhoneNumber: 'x' } });
  mocks.account.on(GetAlternateContactCommand).resolves({ AlternateContact: {} });
});
afterEach(() => Object.values(mocks).forEach((m) => m.reset()));

const trail = trailReview(identStep, { subjects: ({ resource }) => [{ attribute: 'AccessKeyId', value: resource.accessKeyId, why: 'key' }], settings: () => undefined });
const review = resourceReview(identStep, { trail });
const neutralise = neutraliseSuspects(identStep, { review });
const verify = verifyAccountInformation(identStep, { expected: () => undefined });
const link = relatedIncidents(identStep, { keys: () => ['access-key#AKIA'] });

const extras = [
  trailEvent({ eventName: 'CreateRole', responseElements: { role: { roleName: 'backdoor' } } }),
  trailEvent({ eventName: 'AttachRolePolicy', requestParameters: { roleName: 'deploy', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' } }),
  trailEvent({ eventName: 'AttachGroupPolicy', requestParameters: { groupName: 'g', policyArn: 'arn:aws:iam::aws:policy/ReadOnlyAccess' } }),
  trailEvent({ eventName: 'PutUserPolicy', requestParameters: { userName: 'svc-backup', policyName: 'p' } }),
  trailEvent({ eventName: 'PutRolePolicy', requestParameters: { roleName: 'deploy', policyName: 'p' } }),
  trailEvent({ eventName: 'PutGroupPolicy', requestParameters: { groupName: 'g', policyName: 'p' } }),
  trailEvent({ eventName: 'CreatePolicy', responseElements: { policy: { arn: `arn:aws:iam::${ACCOUNT_ID}:policy/x` } } }),
  trailEvent({ eventName: 'EnableMFADevice', requestParameters: { userName: 'svc-backup', serialNumber: `arn:aws:iam::${ACCOUNT_ID}:mfa/x` } }),
  trailEvent({ eventName: 'UploadSigningCertificate', responseElements: { certificate: { userName: 'svc-backup', certificateId: 'C' } } }),
  trailEvent({ eventName: 'AddUserToGroup', requestParameters: { userName: 'svc-backup', groupName: 'g' } }),
  trailEvent({ eventName: 'CreateSecurityGroup', eventSource: 'ec2.amazonaws.com', responseElements: { groupId: 'sg-0x' } }),
  trailEvent({ eventName: 'AuthorizeSecurityGroupIngress', eventSource: 'ec2.amazonaws.com', requestParameters: { groupId: 'sg-0x' }, responseElements: { securityGroupRuleSet: { items: [{ securityGroupRuleId: 'sgr-0x' }] } } }),
];

describe('Identity review: every call is a declared, scoped IAM action', () => {
  it('calls nothing its step does not declare, and every declared action has a scope', async () => {
    mocks.cloudTrail.on(LookupEventsCommand).resolves({ Events: [...events.PERSISTENCE, ...extras] });
    const steps: Array<{ name: string; declared: readonly string[]; run: () => Promise<unknown> }> = [];
    let trailResult: Awaited<ReturnType<typeof trail.run>>;
    let reviewed: Awaited<ReturnType<typeof review.run>>;
    let neutralised: Awaited<ReturnType<typeof neutralise.run>>;
    steps.push({ name: trail.name, declared: trail.iamActions, run: async () => (trailResult = await trail.run(anIdentContext())) });
    steps.push({ name: review.name, declared: review.iamActions, run: async () => (reviewed = await review.run(anIdentContext({ outcomes: { [trail.name]: outcomeOf(trail, trailResult) } }))) });
    steps.push({
      name: neutralise.name,
      declared: neutralise.iamActions,
      run: async () => (neutralised = await neutralise.run(anIdentContext({ config: aConfig({ mode: 'full' }), outcomes: { [trail.name]: outcomeOf(trail, trailResult), [review.name]: outcomeOf(review, reviewed) } }))),
    });
    steps.push({
      name: 'restoreSuspects',
      declared: neutralise.undo!.iamActions,
      run: async () => {
        mocks.iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ AccessKeyId: events.NEW_KEY, Status: 'Inactive' }] });
        mocks.iam.on(GetLoginProfileCommand).rejects(Object.assign(new Error('x'), { name: 'NoSuchEntity' }));
        mocks.iam.on(GetSSHPublicKeyCommand).resolves({ SSHPublicKey: { UserName: 'svc-backup', SSHPublicKeyId: 'APKA2BACKDOOREXAMPLE', Fingerprint: 'x', SSHPublicKeyBody: 'x', Status: 'Inactive' } });
        mocks.iam.on(ListServiceSpecificCredentialsCommand).resolves({ ServiceSpecificCredentials: [{ ServiceSpecificCredentialId: 'ACCA2BACKDOOREXAMPLE', Status: 'Inactive', UserName: 'svc-backup', ServiceName: 'x', ServiceUserName: 'x', CreateDate: new Date() }] });
        mocks.iam.on(ListSigningCertificatesCommand).resolves({ Certificates: [{ CertificateId: 'C', Status: 'Inactive', UserName: 'svc-backup', CertificateBody: 'x' }] });
        mocks.ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: events.INSTANCE, State: { Name: 'stopped' } }] }] });
        return neutralise.undo!.run(anIdentUndoContext(neutralise, neutralised));
      },
    });
    steps.push({ name: verify.name, declared: verify.iamActions, run: () => verify.run(anIdentContext()) });
    steps.push({ name: link.name, declared: link.iamActions, run: () => link.run(anIdentContext()) });

    const undeclared: string[] = [];
    for (const step of steps) {
      resetCalls();
      await step.run();
      const made = [...new Set(called())];
      expect(made.length, step.name).toBeGreaterThan(step.name === link.name ? -1 : 0);
      undeclared.push(...made.filter((a) => !step.declared.includes(a)).map((a) => `${step.name}: ${a}`));
      expect(() => grantsFor(step.declared.filter((a) => a !== 's3:PutObject'))).not.toThrow();
    }
    expect(undeclared).toEqual([]);
    // Every kind of neutralisation ran, so the undo's calls were all exercised.
    expect(new Set(neutralised!.data!.changed.map((c) => c.action))).toEqual(new Set(['stopped', 'deactivated', 'login-profile-deleted', 'deny-policy-attached', 'detached']));
  });
});
