/** Every other kind of persistence the review knows: its event, what it names, its command, how it is checked. */
import { CreateTagsCommand, DescribeKeyPairsCommand, DescribeSecurityGroupRulesCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DetachGroupPolicyCommand,
  DetachRolePolicyCommand,
  GetGroupPolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetRolePolicyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAttachedGroupPoliciesCommand,
  ListAttachedRolePoliciesCommand,
  ListGroupsForUserCommand,
  ListMFADevicesCommand,
  ListSigningCertificatesCommand,
  TagMFADeviceCommand,
  TagPolicyCommand,
  UpdateSigningCertificateCommand,
  AttachRolePolicyCommand,
  AttachGroupPolicyCommand,
} from '@aws-sdk/client-iam';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trailEventOf } from '../../../../shared/actions/cloudtrail.ts';
import { addEvents, changesOf, deleteCommands, emptyActivity, neutraliseSuspects, resourceReview, trailReview, type TrailReviewData } from '../../../../shared/actions/identity-review/index.ts';
import { aConfig, ACCOUNT_ID } from '../../helpers/factories.ts';
import { anIdentContext, anIdentUndoContext, identStep, outcomeOf, trailEvent } from './helpers.ts';

const ec2 = mockClient(EC2Client);
const iam = mockClient(IAMClient);
const s3 = mockClient(S3Client);
beforeEach(() => {
  for (const m of [ec2, iam, s3]) m.reset();
  s3.on(PutObjectCommand).resolves({});
});
afterEach(() => {
  for (const m of [ec2, iam, s3]) m.reset();
});

const POLICY = `arn:aws:iam::${ACCOUNT_ID}:policy/loot`;
const MFA = `arn:aws:iam::${ACCOUNT_ID}:mfa/backdoor`;

const cases = {
  createRole: trailEvent({ eventName: 'CreateRole', requestParameters: { roleName: 'backdoor' }, responseElements: { role: { roleName: 'backdoor', arn: `arn:aws:iam::${ACCOUNT_ID}:role/backdoor` } } }),
  createPolicy: trailEvent({ eventName: 'CreatePolicy', requestParameters: { policyName: 'loot' }, responseElements: { policy: { policyName: 'loot', arn: POLICY, defaultVersionId: 'v1' } } }),
  setDefault: trailEvent({ eventName: 'SetDefaultPolicyVersion', requestParameters: { policyArn: POLICY, versionId: 'v2' } }),
  attachRole: trailEvent({ eventName: 'AttachRolePolicy', requestParameters: { roleName: 'deploy', policyArn: POLICY } }),
  attachGroup: trailEvent({ eventName: 'AttachGroupPolicy', requestParameters: { groupName: 'admins', policyArn: POLICY } }),
  putUserPolicy: trailEvent({ eventName: 'PutUserPolicy', requestParameters: { userName: 'bob', policyName: 'inline', policyDocument: '{}' } }),
  putRolePolicy: trailEvent({ eventName: 'PutRolePolicy', requestParameters: { roleName: 'deploy', policyName: 'inline', policyDocument: '{}' } }),
  putGroupPolicy: trailEvent({ eventName: 'PutGroupPolicy', requestParameters: { groupName: 'admins', policyName: 'inline', policyDocument: '{}' } }),
  virtualMfa: trailEvent({ eventName: 'CreateVirtualMFADevice', requestParameters: { virtualMFADeviceName: 'backdoor' }, responseElements: { virtualMFADevice: { serialNumber: MFA } } }),
  enableMfa: trailEvent({ eventName: 'EnableMFADevice', requestParameters: { userName: 'bob', serialNumber: MFA } }),
  signingCert: trailEvent({ eventName: 'UploadSigningCertificate', requestParameters: { userName: 'bob' }, responseElements: { certificate: { userName: 'bob', certificateId: 'CERTID0123456789', status: 'Active' } } }),
  addToGroup: trailEvent({ eventName: 'AddUserToGroup', requestParameters: { groupName: 'admins', userName: 'bob' } }),
  createKeyPair: trailEvent({ eventName: 'CreateKeyPair', eventSource: 'ec2.amazonaws.com', requestParameters: { keyName: 'legacy' }, responseElements: { keyName: 'legacy', keyFingerprint: 'aa:bb' } }),
  createGroup: trailEvent({ eventName: 'CreateSecurityGroup', eventSource: 'ec2.amazonaws.com', requestParameters: { groupName: 'open' }, responseElements: { groupId: 'sg-0open0000000000' } }),
  ingress: trailEvent({
    eventName: 'AuthorizeSecurityGroupIngress',
    eventSource: 'ec2.amazonaws.com',
    requestParameters: { groupId: 'sg-0web000000000000', ipPermissions: { items: [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22 }] } },
    responseElements: { _return: true, securityGroupRuleSet: { items: [{ securityGroupRuleId: 'sgr-0ssh0000000000000', groupId: 'sg-0web000000000000' }] } },
  }),
  egress: trailEvent({
    eventName: 'AuthorizeSecurityGroupEgress',
    eventSource: 'ec2.amazonaws.com',
    requestParameters: { groupId: 'sg-0web000000000000' },
    responseElements: { securityGroupRuleSet: { items: [{ securityGroupRuleId: 'sgr-0out0000000000000' }] } },
  }),
};

describe('Identity review: every other kind of persistence', () => {
  it('names each and gives its delete command', () => {
    const named = Object.values(cases).flatMap((e) => changesOf(trailEventOf(e))).map((c) => [c.kind, c.id, deleteCommands(c)[0]]);
    expect(named).toEqual([
      ['iam-role', 'backdoor', 'aws iam list-attached-role-policies --role-name backdoor   # then: aws iam detach-role-policy --role-name backdoor --policy-arn <each>'],
      ['managed-policy', POLICY, `aws iam list-entities-for-policy --policy-arn ${POLICY}   # detach it from each`],
      ['policy-version', `${POLICY}:v2`, `aws iam list-policy-versions --policy-arn ${POLICY}   # if v2 is the default: aws iam set-default-policy-version --policy-arn ${POLICY} --version-id <the version it should be>`],
      ['policy-attachment', `role/deploy:${POLICY}`, `aws iam detach-role-policy --role-name deploy --policy-arn ${POLICY}`],
      ['policy-attachment', `group/admins:${POLICY}`, `aws iam detach-group-policy --group-name admins --policy-arn ${POLICY}`],
      ['inline-policy', 'user/bob:inline', 'aws iam delete-user-policy --user-name bob --policy-name inline'],
      ['inline-policy', 'role/deploy:inline', 'aws iam delete-role-policy --role-name deploy --policy-name inline'],
      ['inline-policy', 'group/admins:inline', 'aws iam delete-group-policy --group-name admins --policy-name inline'],
      ['mfa-device', MFA, `aws iam deactivate-mfa-device --user-name <user> --serial-number ${MFA}`],
      ['mfa-device', MFA, `aws iam deactivate-mfa-device --user-name bob --serial-number ${MFA}`],
      ['signing-certificate', 'CERTID0123456789', 'aws iam delete-signing-certificate --user-name bob --certificate-id CERTID0123456789'],
      ['group-membership', 'admins/bob', 'aws iam remove-user-from-group --group-name admins --user-name bob'],
      ['key-pair', 'legacy', expect.stringMatching(/^aws ec2 delete-key-pair --region us-east-1 --key-pair-id legacy/)],
      ['security-group', 'sg-0open0000000000', 'aws ec2 delete-security-group --region us-east-1 --group-id sg-0open0000000000'],
      ['security-group-rule', 'sgr-0ssh0000000000000', 'aws ec2 revoke-security-group-ingress --region us-east-1 --group-id sg-0web000000000000 --security-group-rule-ids sgr-0ssh0000000000000'],
      ['security-group-rule', 'sgr-0out0000000000000', 'aws ec2 revoke-security-group-egress --region us-east-1 --group-id sg-0web000000000000 --security-group-rule-ids sgr-0out0000000000000'],
    ]);
  });

  it('checks each, tags the policy, the MFA device and the security group, and neutralises only what it can undo', async () => {
    // Prepare
    iam.on(GetRoleCommand).resolves({ Role: { RoleName: 'deploy', Arn: `arn:aws:iam::${ACCOUNT_ID}:role/deploy`, Path: '/', RoleId: 'A', CreateDate: new Date() } });
    iam.on(GetUserCommand).resolves({ User: { UserName: 'bob', Arn: `arn:aws:iam::${ACCOUNT_ID}:user/bob`, UserId: 'A', Path: '/', CreateDate: new Date() } });
    iam.on(GetPolicyCommand).resolves({ Policy: { Arn: POLICY, DefaultVersionId: 'v2' } });
    iam.on(GetPolicyVersionCommand).resolves({ PolicyVersion: { VersionId: 'v2', IsDefaultVersion: true } });
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: POLICY }] });
    iam.on(ListAttachedGroupPoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: POLICY }] });
    iam.on(GetUserPolicyCommand).resolves({});
    iam.on(GetRolePolicyCommand).rejects(Object.assign(new Error('gone'), { name: 'NoSuchEntity' }));
    iam.on(GetGroupPolicyCommand).resolves({});
    iam.on(ListMFADevicesCommand).resolves({ MFADevices: [{ SerialNumber: MFA, UserName: 'bob', EnableDate: new Date() }] });
    iam.on(ListSigningCertificatesCommand).resolves({ Certificates: [{ CertificateId: 'CERTID0123456789', Status: 'Active', UserName: 'bob', CertificateBody: 'x' }] });
    iam.on(ListGroupsForUserCommand).resolves({ Groups: [{ GroupName: 'admins', Arn: 'x', GroupId: 'x', Path: '/', CreateDate: new Date() }] });
    ec2.on(DescribeKeyPairsCommand).rejects(Object.assign(new Error('gone'), { name: 'InvalidKeyPair.NotFound' }));
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: 'sg-0open0000000000' }] });
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [{ SecurityGroupRuleId: 'sgr-0ssh0000000000000' }] });
    const trail = trailReview(identStep, { subjects: () => [], settings: () => undefined });
    const review = resourceReview(identStep, { trail });
    const neutralise = neutraliseSuspects(identStep, { review });
    const activity = addEvents(emptyActivity(), Object.values(cases).map(trailEventOf));
    const data: TrailReviewData = { window: { start: 'a', end: 'b', anchor: 'a', anchoredOn: 'createdAt' }, subjects: [], regions: ['us-east-1'], pages: 1, events: 16, duplicates: 0, deliveries: 1, parts: [], activity };
    const outcomes = { [trail.name]: outcomeOf(trail, { status: 'done', summary: '', data }) };

    // Act
    const reviewed = await review.run(anIdentContext({ outcomes }));
    const withReview = { ...outcomes, [review.name]: outcomeOf(review, reviewed) };
    const neutralised = await neutralise.run(anIdentContext({ config: aConfig({ mode: 'full' }), outcomes: withReview }));

    // Assess
    expect(reviewed.data!.suspects.map((s) => [s.kind, s.exists, s.state ?? null, s.tagged])).toEqual([
      ['iam-role', true, null, true],
      ['managed-policy', true, 'default v2', true],
      ['policy-version', true, 'default', false],
      ['policy-attachment', true, 'attached', false],
      ['policy-attachment', true, 'attached', false],
      ['inline-policy', true, null, false],
      ['inline-policy', false, null, false],
      ['inline-policy', true, null, false],
      ['mfa-device', true, null, true],
      ['signing-certificate', true, 'Active', false],
      ['group-membership', true, null, false],
      ['key-pair', false, null, false],
      ['security-group', true, null, true],
      ['security-group-rule', true, null, false],
      ['security-group-rule', true, null, false],
    ]);
    expect(iam.commandCalls(TagPolicyCommand)[0]!.args[0].input.PolicyArn).toBe(POLICY);
    expect(iam.commandCalls(TagMFADeviceCommand)[0]!.args[0].input.SerialNumber).toBe(MFA);
    expect(ec2.commandCalls(CreateTagsCommand)[0]!.args[0].input.Resources).toEqual(['sg-0open0000000000']);
    expect(neutralised.data!.changed.map((c) => [c.kind, c.action])).toEqual([
      ['iam-role', 'deny-policy-attached'],
      ['policy-attachment', 'detached'],
      ['policy-attachment', 'detached'],
      ['signing-certificate', 'deactivated'],
    ]);
    expect(iam.commandCalls(DetachRolePolicyCommand)[0]!.args[0].input).toEqual({ RoleName: 'deploy', PolicyArn: POLICY });
    expect(iam.commandCalls(DetachGroupPolicyCommand)[0]!.args[0].input).toEqual({ GroupName: 'admins', PolicyArn: POLICY });
    expect(iam.commandCalls(UpdateSigningCertificateCommand)[0]!.args[0].input).toMatchObject({ CertificateId: 'CERTID0123456789', Status: 'Inactive' });
    expect(neutralised.data!.left.map((l) => l.kind)).toEqual(['managed-policy', 'policy-version', 'inline-policy', 'inline-policy', 'inline-policy', 'mfa-device', 'group-membership', 'key-pair', 'security-group', 'security-group-rule', 'security-group-rule']);

    // Release: the policies go back where they were, the certificate is active again.
    iam.on(ListAttachedRolePoliciesCommand).resolves({ AttachedPolicies: [] });
    iam.on(ListAttachedGroupPoliciesCommand).resolves({ AttachedPolicies: [] });
    iam.on(ListSigningCertificatesCommand).resolves({ Certificates: [{ CertificateId: 'CERTID0123456789', Status: 'Inactive', UserName: 'bob', CertificateBody: 'x' }] });
    const released = await neutralise.undo!.run(anIdentUndoContext(neutralise, neutralised));
    expect(iam.commandCalls(AttachRolePolicyCommand)[0]!.args[0].input).toEqual({ RoleName: 'deploy', PolicyArn: POLICY });
    expect(iam.commandCalls(AttachGroupPolicyCommand)[0]!.args[0].input).toEqual({ GroupName: 'admins', PolicyArn: POLICY });
    expect(iam.commandCalls(UpdateSigningCertificateCommand).at(-1)!.args[0].input).toMatchObject({ Status: 'Active' });
    expect(released.summary).toMatch(/signing certificate CERTID0123456789 of bob reactivated/);
  });
});
