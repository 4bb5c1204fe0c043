/** Suspects that vanished before the review looked, or before release: said so, never an error. */
import { DescribeInstancesCommand, DescribeSecurityGroupRulesCommand, DescribeSecurityGroupsCommand, EC2Client, StartInstancesCommand } from '@aws-sdk/client-ec2';
import {
  AttachUserPolicyCommand,
  CreateLoginProfileCommand,
  GetLoginProfileCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  GetSSHPublicKeyCommand,
  GetUserCommand,
  GetUserPolicyCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListServiceSpecificCredentialsCommand,
  ListSigningCertificatesCommand,
  UpdateAccessKeyCommand,
} from '@aws-sdk/client-iam';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient, CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trailEventOf } from '../../../../shared/actions/cloudtrail.ts';
import { addEvents, emptyActivity, neutraliseSuspects, resourceReview, trailReview, type NeutraliseData, type TrailReviewData } from '../../../../shared/actions/identity-review/index.ts';
import { ACCOUNT_ID } from '../../helpers/factories.ts';
import * as events from './events.ts';
import { anIdentContext, anIdentUndoContext, identStep, outcomeOf, trailEvent } from './helpers.ts';

const ec2 = mockClient(EC2Client);
const iam = mockClient(IAMClient);
const s3 = mockClient(S3Client);
const secrets = mockClient(SecretsManagerClient);
const noSuchEntity = () => Object.assign(new Error('cannot be found'), { name: 'NoSuchEntity' });

beforeEach(() => {
  for (const m of [ec2, iam, s3, secrets]) m.reset();
  s3.on(PutObjectCommand).resolves({});
});
afterEach(() => {
  for (const m of [ec2, iam, s3, secrets]) m.reset();
});

const trail = trailReview(identStep, { subjects: () => [], settings: () => undefined });
const review = resourceReview(identStep, { trail });
const neutralise = neutraliseSuspects(identStep, { review });
const POLICY = `arn:aws:iam::${ACCOUNT_ID}:policy/loot`;

function outcomesOf(raw: Parameters<typeof trailEventOf>[0][]) {
  const data: TrailReviewData = { window: { start: 'a', end: 'b', anchor: 'a', anchoredOn: 'createdAt' }, subjects: [], regions: ['us-east-1'], pages: 1, events: raw.length, duplicates: 0, deliveries: 1, parts: [], activity: addEvents(emptyActivity(), raw.map(trailEventOf)) };
  return { [trail.name]: outcomeOf(trail, { status: 'done', summary: '', data }) };
}

describe('Identity review: suspects that are gone', () => {
  it('says a suspect whose user, role, policy or group rule is gone is gone, and one it could not read is not checked', async () => {
    // Prepare
    iam.on(GetUserCommand).rejects(noSuchEntity());
    iam.on(GetRoleCommand).rejects(noSuchEntity());
    iam.on(GetPolicyCommand).rejects(noSuchEntity());
    iam.on(GetPolicyVersionCommand).rejects(noSuchEntity());
    ec2.on(DescribeSecurityGroupsCommand).rejects(Object.assign(new Error('x'), { name: 'InvalidGroup.NotFound' }));
    ec2.on(DescribeSecurityGroupRulesCommand).rejects(Object.assign(new Error('x'), { name: 'UnauthorizedOperation' }));
    const raw = [
      events.createAccessKey,
      events.createLoginProfile,
      events.attachUserPolicy,
      events.uploadSshPublicKey,
      events.createServiceSpecificCredential,
      events.updateAssumeRolePolicy,
      events.createPolicyVersion,
      trailEvent({ eventName: 'CreatePolicy', responseElements: { policy: { arn: POLICY } } }),
      trailEvent({ eventName: 'PutUserPolicy', requestParameters: { userName: 'bob', policyName: 'p' } }),
      trailEvent({ eventName: 'EnableMFADevice', requestParameters: { userName: 'bob', serialNumber: 'arn:aws:iam::111122223333:mfa/x' } }),
      trailEvent({ eventName: 'UploadSigningCertificate', responseElements: { certificate: { userName: 'bob', certificateId: 'C1' } } }),
      trailEvent({ eventName: 'AddUserToGroup', requestParameters: { userName: 'bob', groupName: 'g' } }),
      trailEvent({ eventName: 'CreateSecurityGroup', eventSource: 'ec2.amazonaws.com', responseElements: { groupId: 'sg-0gone000000000000' } }),
      trailEvent({ eventName: 'AuthorizeSecurityGroupIngress', eventSource: 'ec2.amazonaws.com', requestParameters: { groupId: 'sg-1' }, responseElements: { securityGroupRuleSet: { items: [{ securityGroupRuleId: 'sgr-1' }] } } }),
    ];

    // Act
    const result = await review.run(anIdentContext({ outcomes: outcomesOf(raw) }));

    // Assess
    expect(result.data!.suspects.map((s) => [s.kind, s.exists, s.note ?? null])).toEqual([
      ['access-key', false, 'its user no longer exists'],
      ['login-profile', false, 'its user no longer exists'],
      ['policy-attachment', false, 'its user no longer exists'],
      ['ssh-public-key', false, 'its user no longer exists'],
      ['service-specific-credential', false, 'its user no longer exists'],
      ['trust-policy', false, null],
      ['policy-version', false, null],
      ['managed-policy', false, null],
      ['inline-policy', false, 'its user no longer exists'],
      ['mfa-device', false, 'its user no longer exists'],
      ['signing-certificate', false, 'its user no longer exists'],
      ['group-membership', false, 'its user no longer exists'],
      ['security-group', false, null],
      ['security-group-rule', null, 'could not check: UnauthorizedOperation'],
    ]);
    expect(result.summary).toMatch(/^14 suspect resources from the CloudTrail review, 0 still there; 0 tagged/);
  });

  it('says what it could not check for want of a user, and what no longer is', async () => {
    iam.on(GetUserCommand).resolves({ User: { UserName: 'bob', Arn: `arn:aws:iam::${ACCOUNT_ID}:user/bob`, UserId: 'A', Path: '/', CreateDate: new Date() } });
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [] });
    iam.on(GetLoginProfileCommand).rejects(noSuchEntity());
    iam.on(GetUserPolicyCommand).rejects(noSuchEntity());
    iam.on(GetSSHPublicKeyCommand).rejects(noSuchEntity());
    iam.on(ListServiceSpecificCredentialsCommand).resolves({ ServiceSpecificCredentials: [] });
    iam.on(ListSigningCertificatesCommand).resolves({ Certificates: [] });
    const federated = { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/r/s` };
    const raw = [
      trailEvent({ eventName: 'CreateAccessKey', userIdentity: federated, responseElements: { accessKey: { accessKeyId: 'AKIANOUSER0000000000' } } }),
      trailEvent({ eventName: 'CreateVirtualMFADevice', responseElements: { virtualMFADevice: { serialNumber: 'arn:aws:iam::111122223333:mfa/v' } } }),
      trailEvent({ eventName: 'CreateAccessKey', requestParameters: { userName: 'bob' }, responseElements: { accessKey: { accessKeyId: 'AKIADELETED000000000' } } }),
      trailEvent({ eventName: 'CreateLoginProfile', requestParameters: { userName: 'bob' } }),
      trailEvent({ eventName: 'PutUserPolicy', requestParameters: { userName: 'bob', policyName: 'p' } }),
      trailEvent({ eventName: 'UploadSSHPublicKey', responseElements: { sSHPublicKey: { userName: 'bob', sSHPublicKeyId: 'APKA1' } } }),
      trailEvent({ eventName: 'CreateServiceSpecificCredential', responseElements: { serviceSpecificCredential: { userName: 'bob', serviceSpecificCredentialId: 'ACCA1' } } }),
      trailEvent({ eventName: 'UploadSigningCertificate', responseElements: { certificate: { userName: 'bob', certificateId: 'C1' } } }),
    ];
    const result = await review.run(anIdentContext({ outcomes: outcomesOf(raw) }));
    expect(result.data!.suspects.map((s) => [s.kind, s.exists, s.note ?? null])).toEqual([
      ['access-key', null, "the event does not name the key's user"],
      ['mfa-device', null, 'not enabled on a user by the events read: check the virtual MFA devices by hand'],
      ['access-key', false, null],
      ['login-profile', false, null],
      ['inline-policy', false, null],
      ['ssh-public-key', false, null],
      ['service-specific-credential', false, null],
      ['signing-certificate', false, null],
    ]);
  });

  it('restores nothing that is gone, and says so for each', async () => {
    // Prepare: what neutralisation recorded; since then the instance was terminated and the user deleted.
    const at = '2025-06-19T15:00:00.000Z';
    const recorded: NeutraliseData = {
      changed: [
        { kind: 'instance', id: events.INSTANCE, action: 'stopped', at },
        { kind: 'access-key', id: events.NEW_KEY, user: 'gone', action: 'deactivated', at },
        { kind: 'ssh-public-key', id: 'APKA1', user: 'gone', action: 'deactivated', at },
        { kind: 'service-specific-credential', id: 'ACCA1', user: 'gone', action: 'deactivated', at },
        { kind: 'signing-certificate', id: 'C1', user: 'gone', action: 'deactivated', at },
        { kind: 'login-profile', id: 'gone', user: 'gone', action: 'login-profile-deleted', at },
        { kind: 'policy-attachment', id: 'user/gone:x', user: 'gone', policyArn: POLICY, action: 'detached', at },
      ],
      left: [],
      failed: [],
    };
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: events.INSTANCE, State: { Name: 'terminated' } }] }] });
    iam.on(ListAccessKeysCommand).rejects(noSuchEntity());
    iam.on(GetSSHPublicKeyCommand).rejects(noSuchEntity());
    iam.on(ListServiceSpecificCredentialsCommand).rejects(noSuchEntity());
    iam.on(ListSigningCertificatesCommand).rejects(noSuchEntity());
    iam.on(GetLoginProfileCommand).rejects(noSuchEntity());
    iam.on(CreateLoginProfileCommand).rejects(noSuchEntity());
    iam.on(ListAttachedUserPoliciesCommand).rejects(noSuchEntity());
    secrets.on(CreateSecretCommand).resolves({});

    // Act
    const released = await neutralise.undo!.run(anIdentUndoContext(neutralise, { status: 'done', data: recorded }));

    // Assess
    expect(released.data!.results).toEqual([
      `policy-attachment user/gone:x: user gone no longer exists, nothing to restore`,
      'login-profile gone: the user no longer exists, nothing to restore',
      'signing-certificate C1: the signing certificate no longer exists, nothing to restore',
      'service-specific-credential ACCA1: the service-specific credential no longer exists, nothing to restore',
      'ssh-public-key APKA1: the SSH public key no longer exists, nothing to restore',
      `access-key ${events.NEW_KEY}: its user no longer exists, nothing to restore`,
      `instance ${events.INSTANCE}: the instance no longer exists, nothing to restore`,
    ]);
    expect(ec2.commandCalls(StartInstancesCommand)).toEqual([]);
    expect(iam.commandCalls(UpdateAccessKeyCommand)).toEqual([]);
    expect(iam.commandCalls(AttachUserPolicyCommand)).toEqual([]);
  });

  it('skips a release when nothing was neutralised', async () => {
    expect(await neutralise.undo!.run(anIdentUndoContext(neutralise, { status: 'done', data: { changed: [], left: [], failed: [] } }))).toMatchObject({ status: 'skipped' });
  });
});
