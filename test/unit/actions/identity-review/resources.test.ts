import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import {
  CreateTagsCommand,
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeKeyPairsCommand,
  EC2Client,
  StartInstancesCommand,
  StopInstancesCommand,
} from '@aws-sdk/client-ec2';
import {
  AttachUserPolicyCommand,
  CreateLoginProfileCommand,
  DeleteLoginProfileCommand,
  DeleteUserPolicyCommand,
  DetachUserPolicyCommand,
  GetLoginProfileCommand,
  GetRoleCommand,
  GetSSHPublicKeyCommand,
  GetUserCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAttachedUserPoliciesCommand,
  ListServiceSpecificCredentialsCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
  TagRoleCommand,
  TagUserCommand,
  UpdateAccessKeyCommand,
  UpdateServiceSpecificCredentialCommand,
  UpdateSSHPublicKeyCommand,
} from '@aws-sdk/client-iam';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { trailEventOf } from '../../../../shared/actions/cloudtrail.ts';
import {
  addEvents,
  emptyActivity,
  loginPasswordSecretName,
  neutraliseSuspects,
  randomPassword,
  resourceReview,
  SUSPECT_TAG,
  suspectPolicyName,
  trailReview,
  type ResourceReviewData,
  type TrailReviewData,
} from '../../../../shared/actions/identity-review/index.ts';
import { definePlaybook, iamManifestOf } from '../../../../shared/engine/index.ts';
import { z } from 'zod';
import { aConfig, ACCOUNT_ID, someClients } from '../../helpers/factories.ts';
import * as events from './events.ts';
import { anIdentContext, anIdentIncident, anIdentUndoContext, identOptions, identStep, outcomeOf, trailEvent, type Ident } from './helpers.ts';

const ec2 = mockClient(EC2Client);
const iam = mockClient(IAMClient);
const s3 = mockClient(S3Client);
const secrets = mockClient(SecretsManagerClient);
mockClient(CloudTrailClient);

beforeEach(() => {
  for (const m of [ec2, iam, s3, secrets]) m.reset();
  s3.on(PutObjectCommand).resolves({});
});
afterEach(() => {
  for (const m of [ec2, iam, s3, secrets]) m.reset();
});

const trail = trailReview(identStep, { subjects: ({ resource }) => [{ attribute: 'AccessKeyId', value: resource.accessKeyId, why: 'the key' }], settings: (o) => o.cloudtrail_review });
const review = resourceReview(identStep, { trail, settings: (o) => o.resource_review });
const neutralise = neutraliseSuspects(identStep, { review, settings: (o) => o.resource_review, enabledBy: 'resource_review.neutralise' });

const BACKDOOR_ARN = `arn:aws:iam::${ACCOUNT_ID}:user/${events.BACKDOOR_USER}`;
const ADMIN = 'arn:aws:iam::aws:policy/AdministratorAccess';

/** What the CloudTrail review recorded after reading `raw` (through the ledger's JSON round trip). */
function trailDone(raw: Parameters<typeof trailEventOf>[0][]) {
  const activity = addEvents(emptyActivity(), raw.map(trailEventOf));
  const data: TrailReviewData = {
    window: { start: '2025-06-12T14:22:31.000Z', end: '2025-06-19T15:00:00.000Z', anchor: '2025-06-19T14:22:31.000Z', anchoredOn: 'activityFirstSeenAt' },
    subjects: [],
    regions: ['us-east-1'],
    pages: 1,
    events: raw.length,
    duplicates: 0,
    deliveries: 1,
    parts: [],
    activity,
  };
  return { [trail.name]: outcomeOf(trail, { status: 'done', summary: 'read', data }) };
}

/** The account as the attacker left it: the backdoor user with its key, password, SSH key, credential and AdministratorAccess; the instance running. */
function attackerLeftovers() {
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: events.INSTANCE, State: { Name: 'running' } }] }] });
  ec2.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [{ KeyPairId: 'key-0123456789abcdef0', KeyName: 'ops-2025' }] });
  ec2.on(DescribeInstanceAttributeCommand).resolves({ DisableApiStop: { Value: false } });
  iam.on(GetUserCommand).resolves({ User: { UserName: events.BACKDOOR_USER, Arn: BACKDOOR_ARN, UserId: 'AIDA', Path: '/', CreateDate: new Date() } });
  iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ AccessKeyId: events.NEW_KEY, Status: 'Active', UserName: events.BACKDOOR_USER }] });
  iam.on(GetLoginProfileCommand).resolves({ LoginProfile: { UserName: events.BACKDOOR_USER, CreateDate: new Date() } });
  iam.on(ListAttachedUserPoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: ADMIN, PolicyName: 'AdministratorAccess' }] });
  iam.on(GetSSHPublicKeyCommand).resolves({ SSHPublicKey: { UserName: events.BACKDOOR_USER, SSHPublicKeyId: 'APKA2BACKDOOREXAMPLE', Fingerprint: 'x', SSHPublicKeyBody: 'x', Status: 'Active' } });
  iam.on(ListServiceSpecificCredentialsCommand).resolves({
    ServiceSpecificCredentials: [{ ServiceSpecificCredentialId: 'ACCA2BACKDOOREXAMPLE', Status: 'Active', UserName: events.BACKDOOR_USER, ServiceName: 'codecommit.amazonaws.com', ServiceUserName: 'x', CreateDate: new Date() }],
  });
  iam.on(GetRoleCommand).resolves({ Role: { RoleName: 'deploy', Arn: `arn:aws:iam::${ACCOUNT_ID}:role/deploy`, Path: '/', RoleId: 'AROA', CreateDate: new Date(), Tags: [] } });
}

const PERSISTENCE_WITHOUT_FUNCTION = [events.runInstances, events.createUser, events.createAccessKey, events.createLoginProfile, events.attachUserPolicy, events.uploadSshPublicKey, events.createServiceSpecificCredential, events.importKeyPair];

describe('Identity review: resources and persistence', () => {
  it('lists what the principal created, checks each still exists and tags what takes tags firebreak:suspect', async () => {
    // Prepare
    attackerLeftovers();

    // Act
    const result = await review.run(anIdentContext({ outcomes: trailDone([...PERSISTENCE_WITHOUT_FUNCTION, events.createFunction, events.updateAssumeRolePolicy]) }));

    // Assess
    expect(result.status).toBe('done');
    const suspects = result.data!.suspects;
    expect(suspects.map((s) => [s.kind, s.exists, s.state ?? null, s.tagged])).toEqual([
      ['instance', true, 'running', true],
      ['iam-user', true, null, true],
      ['access-key', true, 'Active', false],
      ['login-profile', true, null, false],
      ['policy-attachment', true, 'attached', false],
      ['ssh-public-key', true, 'Active', false],
      ['service-specific-credential', true, 'Active', false],
      ['key-pair', true, null, true],
      ['lambda-function', null, null, false],
      ['trust-policy', true, null, true],
    ]);
    expect(suspects.find((s) => s.kind === 'access-key')!.ownerArn).toBe(BACKDOOR_ARN);
    const tag = [{ Key: SUSPECT_TAG, Value: anIdentIncident().incidentId }];
    expect(ec2.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([
      { Resources: [events.INSTANCE], Tags: tag },
      { Resources: ['key-0123456789abcdef0'], Tags: tag },
    ]);
    expect(iam.commandCalls(TagUserCommand).map((c) => c.args[0].input)).toEqual([{ UserName: events.BACKDOOR_USER, Tags: tag }]);
    expect(iam.commandCalls(TagRoleCommand).map((c) => c.args[0].input)).toEqual([{ RoleName: 'deploy', Tags: tag }]);
    expect(result.summary).toMatch(/^10 suspect resources from the CloudTrail review, 9 still there .*; 4 tagged firebreak:suspect; the commands to delete each are in incidents\/.*\/resource-review\/report.md$/);
    // The report gives a human the commands; Firebreak deletes nothing.
    const md = String(s3.commandCalls(PutObjectCommand).find((c) => c.args[0].input.Key!.endsWith('report.md'))!.args[0].input.Body);
    expect(md).toContain(`aws iam delete-access-key --user-name ${events.BACKDOOR_USER} --access-key-id ${events.NEW_KEY}`);
    expect(md).toContain('aws lambda delete-function --region us-east-1 --function-name health-check');
    const calls = [...iam.calls(), ...ec2.calls()].map((c) => (c.args[0] as { constructor: { name: string } }).constructor.name);
    expect(calls.filter((n) => /Delete|Terminate|Stop|Update|Detach|Put/.test(n))).toEqual([]);
  });

  it('never touches a protected principal: listed, not tagged', async () => {
    // Prepare
    attackerLeftovers();
    const config = aConfig({ protectedPrincipals: ['arn:aws:iam::*:user/svc-*'] });

    // Act
    const result = await review.run(anIdentContext({ config, outcomes: trailDone([events.createUser, events.createAccessKey]) }));

    // Assess
    expect(result.data!.suspects.map((s) => [s.kind, s.protectedBy, s.tagged])).toEqual([
      ['iam-user', 'arn:aws:iam::*:user/svc-*', false],
      ['access-key', 'arn:aws:iam::*:user/svc-*', false],
    ]);
    expect(iam.commandCalls(TagUserCommand)).toEqual([]);
    expect(result.summary).toMatch(/2 protected, left alone/);
  });

  it("does not count what protected or ignored principals changed (a break-glass role, Firebreak itself when the account's every write is reviewed)", async () => {
    // Prepare
    attackerLeftovers();
    const breakGlass = { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/BreakGlass/oncall`, accountId: ACCOUNT_ID };
    const firebreak = { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/firebreak-ec2-instance/firebreak-ec2-instance`, accountId: ACCOUNT_ID };
    const byBreakGlass = trailEvent({ eventName: 'CreateUser', userIdentity: breakGlass, requestParameters: { userName: 'temp-admin' }, responseElements: { user: { userName: 'temp-admin' } } });
    const byFirebreak = trailEvent({ eventName: 'CreateSecurityGroup', eventSource: 'ec2.amazonaws.com', userIdentity: firebreak, requestParameters: { groupName: 'firebreak-isolation' }, responseElements: { groupId: 'sg-0isolation000000' } });
    const accountReview = resourceReview(identStep, { trail, ignoreChangesBy: () => ['arn:aws:sts::*:assumed-role/firebreak-*'] });

    // Act
    const result = await accountReview.run(anIdentContext({ config: aConfig({ protectedPrincipals: ['arn:aws:sts::*:assumed-role/BreakGlass/*'] }), outcomes: trailDone([byBreakGlass, byFirebreak, events.createAccessKey]) }));

    // Assess
    expect(result.data!.suspects.map((s) => [s.kind, s.id, s.by])).toEqual([['access-key', events.NEW_KEY, `arn:aws:iam::${ACCOUNT_ID}:user/alice`]]);
    expect(result.data!.ignoredChanges).toBe(2);
    expect(result.summary).toMatch(/\(2 changes by protected or ignored principals not counted\)$/);
  });

  it('leaves an instance carrying the exemption tag alone, as the playbooks do', async () => {
    attackerLeftovers();
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: events.INSTANCE, State: { Name: 'running' }, Tags: [{ Key: 'firebreak:exempt', Value: 'bastion' }] }] }] });
    const result = await review.run(anIdentContext({ outcomes: trailDone([events.runInstances]) }));
    expect(result.data!.suspects[0]).toMatchObject({ kind: 'instance', protectedBy: 'the exemption tag firebreak:exempt', tagged: false });
    expect(ec2.commandCalls(CreateTagsCommand)).toEqual([]);
  });

  it("recognises Firebreak's own roles by their tag and service-linked roles by their path, and leaves them alone", async () => {
    // Prepare
    iam.on(GetRoleCommand, { RoleName: 'deploy' }).resolves({ Role: { RoleName: 'deploy', Arn: 'arn:aws:iam::111122223333:role/deploy', Path: '/', RoleId: 'A', CreateDate: new Date(), Tags: [{ Key: 'firebreak:component', Value: 'playbook' }] } });

    // Act
    const result = await review.run(anIdentContext({ outcomes: trailDone([events.updateAssumeRolePolicy]) }));

    // Assess
    expect(result.data!.suspects[0]).toMatchObject({ kind: 'trust-policy', protectedBy: "Firebreak's own role (tag firebreak:component)", tagged: false });
    expect(iam.commandCalls(TagRoleCommand)).toEqual([]);
  });

  it('says what is gone, and what it could not check (another region, an error), without failing', async () => {
    // Prepare
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    iam.on(GetUserCommand).rejects(Object.assign(new Error('no'), { name: 'NoSuchEntity' }));
    iam.on(GetLoginProfileCommand).rejects(Object.assign(new Error('throttled'), { name: 'Throttling' }));
    const elsewhere = trailEvent({ eventName: 'RunInstances', eventSource: 'ec2.amazonaws.com', awsRegion: 'ap-southeast-1', responseElements: { instancesSet: { items: [{ instanceId: 'i-0aaaaaaaaaaaaaaa1' }] } } });

    // Act
    const result = await review.run(anIdentContext({ outcomes: trailDone([events.runInstances, events.createUser, elsewhere]) }));

    // Assess
    expect(result.data!.suspects.map((s) => [s.kind, s.exists, s.note ?? null])).toEqual([
      ['instance', false, null],
      ['iam-user', false, null],
      ['instance', null, 'in ap-southeast-1: this context has clients for us-east-1 only'],
    ]);
  });

  it('says when the CloudTrail review kept fewer changes than there were', async () => {
    attackerLeftovers();
    const users = Array.from({ length: 103 }, (_, i) => trailEvent({ eventName: 'CreateUser', requestParameters: { userName: `bulk-${i}` }, responseElements: { user: { userName: `bulk-${i}` } } }));
    const result = await review.run(anIdentContext({ options: identOptions({ resource_review: { tag_suspects: false } }), outcomes: trailDone(users) }));
    expect(result.data!.suspects).toHaveLength(100);
    expect(result.summary).toMatch(/; 3 more changes were past the CloudTrail review's limit of 100 and are not reviewed/);
  });

  it('checks, tags and (full mode) stops an instance launched in another region with the clients of that region', async () => {
    // Prepare
    attackerLeftovers();
    const remote = trailEvent({ eventName: 'RunInstances', eventSource: 'ec2.amazonaws.com', awsRegion: 'ap-southeast-1', responseElements: { instancesSet: { items: [{ instanceId: events.INSTANCE }] } } });
    const asked: string[] = [];
    const clientsIn = (region: string) => (asked.push(region), someClients());

    // Act
    const reviewed = await review.run(anIdentContext({ clientsIn, outcomes: trailDone([remote]) }));
    const stopped = await neutralise.run(anIdentContext({ clientsIn, config: aConfig({ mode: 'full' }), outcomes: { ...trailDone([remote]), [review.name]: outcomeOf(review, reviewed) } }));

    // Assess
    expect(reviewed.data!.suspects[0]).toMatchObject({ kind: 'instance', region: 'ap-southeast-1', exists: true, tagged: true });
    expect(stopped.data!.changed).toEqual([expect.objectContaining({ kind: 'instance', region: 'ap-southeast-1', action: 'stopped' })]);
    expect(asked.every((r) => r === 'ap-southeast-1')).toBe(true);
    expect(asked).toHaveLength(3); // the check, the tag, the stop
  });

  it('tags nothing when resource_review.tag_suspects is off, and skips without a CloudTrail review', async () => {
    attackerLeftovers();
    const off = await review.run(anIdentContext({ options: identOptions({ resource_review: { tag_suspects: false } }), outcomes: trailDone([events.createUser]) }));
    expect(off.data!.suspects[0]!.tagged).toBe(false);
    expect(iam.commandCalls(TagUserCommand)).toEqual([]);
    expect(await review.run(anIdentContext())).toMatchObject({ status: 'skipped' });
  });
});

describe('Identity review: neutralising the suspects (full mode) and bringing them back', () => {
  async function reviewed(raw = PERSISTENCE_WITHOUT_FUNCTION, config = aConfig()) {
    const result = await review.run(anIdentContext({ config, outcomes: trailDone(raw) }));
    return { ...trailDone(raw), [review.name]: outcomeOf(review, result) };
  }

  it('is a full-mode step, granted only with resource_review.neutralise, whose undo goes in the release order', async () => {
    expect(neutralise.minimumMode).toBe('full');
    expect(neutralise.enabledBy).toEqual(['resource_review.neutralise']);
    expect(neutralise.iamActions.filter((a) => /Delete(?!LoginProfile)|Terminate/.test(a))).toEqual([]);
    const playbook = definePlaybook<Ident>({
      name: 'iam-user',
      options: z.any(),
      describe: async () => ({ userName: 'alice', arn: 'x', accessKeyId: 'y' }),
      capture: { schema: z.object({ userName: z.string() }), of: (r) => ({ userName: r.userName }) },
      tags: () => ({}),
      identifiers: () => [],
      principals: () => [],
      describeIamActions: [],
      isolationStep: trail,
      steps: [trail, review, neutralise],
      release: [neutralise],
    });
    const manifest = iamManifestOf(await playbook.load());
    expect(manifest.find((s) => s.sid === 'neutraliseSuspects')).toMatchObject({ roles: ['contain'], modes: ['full'], enabledBy: ['resource_review.neutralise'] });
    expect(manifest.find((s) => s.sid === 'restoreSuspects')).toMatchObject({ roles: ['release'], enabledBy: ['resource_review.neutralise'] });
    expect(manifest.find((s) => s.sid === 'reviewResources')!.modes).toEqual(['contain', 'full']);
  });

  it('stops instances, deactivates keys and credentials, removes the login profile, detaches the policy and denies the created user everything — deleting nothing', async () => {
    // Prepare
    attackerLeftovers();
    const outcomes = await reviewed();

    // Act
    const result = await neutralise.run(anIdentContext({ config: aConfig({ mode: 'full' }), outcomes }));

    // Assess
    expect(result.status).toBe('done');
    expect(result.data!.changed.map((c) => [c.kind, c.action])).toEqual([
      ['instance', 'stopped'],
      ['iam-user', 'deny-policy-attached'],
      ['access-key', 'deactivated'],
      ['login-profile', 'login-profile-deleted'],
      ['policy-attachment', 'detached'],
      ['ssh-public-key', 'deactivated'],
      ['service-specific-credential', 'deactivated'],
    ]);
    expect(result.data!.left).toEqual([expect.objectContaining({ kind: 'key-pair', reason: expect.stringMatching(/cannot be undone/) })]);
    expect(ec2.commandCalls(StopInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: [events.INSTANCE] });
    expect(iam.commandCalls(UpdateAccessKeyCommand)[0]!.args[0].input).toEqual({ UserName: events.BACKDOOR_USER, AccessKeyId: events.NEW_KEY, Status: 'Inactive' });
    expect(iam.commandCalls(DeleteLoginProfileCommand)[0]!.args[0].input).toEqual({ UserName: events.BACKDOOR_USER });
    expect(iam.commandCalls(DetachUserPolicyCommand)[0]!.args[0].input).toEqual({ UserName: events.BACKDOOR_USER, PolicyArn: ADMIN });
    expect(iam.commandCalls(UpdateSSHPublicKeyCommand)[0]!.args[0].input).toMatchObject({ SSHPublicKeyId: 'APKA2BACKDOOREXAMPLE', Status: 'Inactive' });
    expect(iam.commandCalls(UpdateServiceSpecificCredentialCommand)[0]!.args[0].input).toMatchObject({ ServiceSpecificCredentialId: 'ACCA2BACKDOOREXAMPLE', Status: 'Inactive' });
    const deny = iam.commandCalls(PutUserPolicyCommand)[0]!.args[0].input;
    expect(deny).toMatchObject({ UserName: events.BACKDOOR_USER, PolicyName: suspectPolicyName(anIdentIncident().incidentId) });
    expect(JSON.parse(deny.PolicyDocument!)).toEqual({ Version: '2012-10-17', Statement: [{ Sid: 'FirebreakSuspect', Effect: 'Deny', Action: '*', Resource: '*' }] });
    expect(result.summary).toMatch(/^suspects neutralised reversibly: 1 stopped, 3 deactivated, 1 login-profile-deleted, 1 deny-policy-attached, 1 detached; 1 left as they are$/);
  });

  it('undoes each from the data it recorded: starts, reactivates, recreates the login profile with a new password in Secrets Manager, re-attaches, removes the deny', async () => {
    // Prepare
    attackerLeftovers();
    const done = await neutralise.run(anIdentContext({ config: aConfig({ mode: 'full' }), outcomes: await reviewed() }));
    iam.reset();
    ec2.reset();
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: events.INSTANCE, State: { Name: 'stopped' } }] }] });
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ AccessKeyId: events.NEW_KEY, Status: 'Inactive' }] });
    iam.on(GetLoginProfileCommand).rejects(Object.assign(new Error('none'), { name: 'NoSuchEntity' }));
    iam.on(ListAttachedUserPoliciesCommand).resolves({ AttachedPolicies: [] });
    iam.on(GetSSHPublicKeyCommand).resolves({ SSHPublicKey: { UserName: events.BACKDOOR_USER, SSHPublicKeyId: 'APKA2BACKDOOREXAMPLE', Fingerprint: 'x', SSHPublicKeyBody: 'x', Status: 'Inactive' } });
    iam.on(ListServiceSpecificCredentialsCommand).resolves({ ServiceSpecificCredentials: [{ ServiceSpecificCredentialId: 'ACCA2BACKDOOREXAMPLE', Status: 'Inactive', UserName: events.BACKDOOR_USER, ServiceName: 'x', ServiceUserName: 'x', CreateDate: new Date() }] });
    secrets.on(CreateSecretCommand).resolves({});

    // Act
    const released = await neutralise.undo!.run(anIdentUndoContext(neutralise, done));

    // Assess
    expect(released.status).toBe('done');
    expect(ec2.commandCalls(StartInstancesCommand)[0]!.args[0].input).toEqual({ InstanceIds: [events.INSTANCE] });
    expect(iam.commandCalls(UpdateAccessKeyCommand)[0]!.args[0].input).toEqual({ UserName: events.BACKDOOR_USER, AccessKeyId: events.NEW_KEY, Status: 'Active' });
    expect(iam.commandCalls(AttachUserPolicyCommand)[0]!.args[0].input).toEqual({ UserName: events.BACKDOOR_USER, PolicyArn: ADMIN });
    expect(iam.commandCalls(DeleteUserPolicyCommand)[0]!.args[0].input).toEqual({ UserName: events.BACKDOOR_USER, PolicyName: suspectPolicyName(anIdentIncident().incidentId) });
    const secret = secrets.commandCalls(CreateSecretCommand)[0]!.args[0].input;
    expect(secret.Name).toBe(loginPasswordSecretName(anIdentIncident().incidentId, events.BACKDOOR_USER));
    const profile = iam.commandCalls(CreateLoginProfileCommand)[0]!.args[0].input;
    expect(profile).toMatchObject({ UserName: events.BACKDOOR_USER, PasswordResetRequired: true });
    expect(JSON.parse(secret.SecretString!)).toEqual({ userName: events.BACKDOOR_USER, password: profile.Password, passwordResetRequired: true });
    expect(released.summary).toMatch(/instance i-0fedcba9876543210 started/);
    expect(released.keptProtections).toEqual(['firebreak:suspect tags']);
  });

  it('leaves alone what a human changed since (a key reactivated, a password set, a policy re-attached), and says so', async () => {
    // Prepare
    attackerLeftovers();
    const done = await neutralise.run(anIdentContext({ config: aConfig({ mode: 'full' }), outcomes: await reviewed([events.createUser, events.createAccessKey, events.createLoginProfile, events.attachUserPolicy]) }));
    iam.reset();
    iam.on(ListAccessKeysCommand).resolves({ AccessKeyMetadata: [{ AccessKeyId: events.NEW_KEY, Status: 'Active' }] });
    iam.on(GetLoginProfileCommand).resolves({ LoginProfile: { UserName: events.BACKDOOR_USER, CreateDate: new Date() } });
    iam.on(ListAttachedUserPoliciesCommand).resolves({ AttachedPolicies: [{ PolicyArn: ADMIN }] });
    iam.on(DeleteUserPolicyCommand).rejects(Object.assign(new Error('gone'), { name: 'NoSuchEntity' }));

    // Act
    const released = await neutralise.undo!.run(anIdentUndoContext(neutralise, done));

    // Assess
    expect(iam.commandCalls(UpdateAccessKeyCommand)).toEqual([]);
    expect(iam.commandCalls(CreateLoginProfileCommand)).toEqual([]);
    expect(iam.commandCalls(AttachUserPolicyCommand)).toEqual([]);
    expect(released.summary).toMatch(/access key AKIA2BACKDOOREXAMPLE is Active \(someone changed it since\): left alone/);
    expect(released.summary).toMatch(/has a login profile again \(someone recreated it\): left alone/);
    expect(released.summary).toMatch(/is attached to user svc-backup again \(someone re-attached it\): left alone/);
    expect(released.summary).toMatch(/FirebreakSuspect-inc-[0-9a-f]+ was already gone/);
  });

  it('keeps the password it made when an earlier release created the secret but not the profile', async () => {
    attackerLeftovers();
    const done = await neutralise.run(anIdentContext({ config: aConfig({ mode: 'full' }), outcomes: await reviewed([events.createLoginProfile]) }));
    iam.reset();
    iam.on(GetLoginProfileCommand).rejects(Object.assign(new Error('none'), { name: 'NoSuchEntity' }));
    secrets.on(CreateSecretCommand).rejects(Object.assign(new Error('exists'), { name: 'ResourceExistsException' }));
    secrets.on(PutSecretValueCommand).resolves({});
    await neutralise.undo!.run(anIdentUndoContext(neutralise, done));
    const put = JSON.parse(secrets.commandCalls(PutSecretValueCommand)[0]!.args[0].input.SecretString!);
    expect(iam.commandCalls(CreateLoginProfileCommand)[0]!.args[0].input.Password).toBe(put.password);
  });

  it('never touches a protected principal, an instance with stop protection, or a created role that is not there', async () => {
    // Prepare
    attackerLeftovers();
    ec2.on(DescribeInstanceAttributeCommand).resolves({ DisableApiStop: { Value: true } });
    const config = aConfig({ mode: 'full', protectedPrincipals: [BACKDOOR_ARN] });
    const outcomes = await reviewed([events.runInstances, events.createUser, events.createAccessKey], config);

    // Act
    const result = await neutralise.run(anIdentContext({ config, outcomes }));

    // Assess
    expect(result.data!.changed).toEqual([]);
    expect(result.data!.left.map((l) => [l.kind, l.reason])).toEqual([
      ['instance', 'stop protection is on: not lifted; stop it by hand after checking who set it'],
      ['iam-user', `protected: ${BACKDOOR_ARN}`],
      ['access-key', `protected: ${BACKDOOR_ARN}`],
    ]);
    expect(ec2.commandCalls(StopInstancesCommand)).toEqual([]);
    expect(iam.commandCalls(UpdateAccessKeyCommand)).toEqual([]);
    expect(iam.commandCalls(PutUserPolicyCommand)).toEqual([]);
  });

  it('denies a role the principal created everything, and removes that policy on release', async () => {
    // Prepare
    const createRole = trailEvent({ eventName: 'CreateRole', requestParameters: { roleName: 'backdoor' }, responseElements: { role: { roleName: 'backdoor', arn: `arn:aws:iam::${ACCOUNT_ID}:role/backdoor` } } });
    iam.on(GetRoleCommand).resolves({ Role: { RoleName: 'backdoor', Arn: `arn:aws:iam::${ACCOUNT_ID}:role/backdoor`, Path: '/', RoleId: 'A', CreateDate: new Date() } });
    const done = await neutralise.run(anIdentContext({ config: aConfig({ mode: 'full' }), outcomes: await reviewed([createRole]) }));

    // Act
    const released = await neutralise.undo!.run(anIdentUndoContext(neutralise, done));

    // Assess
    expect(iam.commandCalls(PutRolePolicyCommand)[0]!.args[0].input).toMatchObject({ RoleName: 'backdoor', PolicyName: suspectPolicyName(anIdentIncident().incidentId) });
    expect(released.summary).toMatch(/removed FirebreakSuspect-inc-[0-9a-f]+ from iam-role backdoor/);
  });

  it('fails, changing nothing, when no suspect could be neutralised; records the failures when some could', async () => {
    attackerLeftovers();
    const outcomes = await reviewed([events.createAccessKey]);
    iam.on(UpdateAccessKeyCommand).rejects(Object.assign(new Error('explicit deny in a permissions boundary'), { name: 'AccessDenied' }));
    await expect(neutralise.run(anIdentContext({ config: aConfig({ mode: 'full' }), outcomes }))).rejects.toThrow(/no suspect could be neutralised; access-key AKIA2BACKDOOREXAMPLE: AccessDenied/);

    const both = await reviewed([events.createAccessKey, events.createLoginProfile]);
    const partial = await neutralise.run(anIdentContext({ config: aConfig({ mode: 'full' }), outcomes: both }));
    expect(partial.data!.failed).toEqual([{ kind: 'access-key', id: events.NEW_KEY, error: expect.stringMatching(/^AccessDenied/) }]);
    expect(partial.summary).toMatch(/1 FAILED \(access-key AKIA2BACKDOOREXAMPLE\)/);
  });

  it('skips with the switch off, or nothing to neutralise', async () => {
    expect(await neutralise.run(anIdentContext({ options: identOptions({ resource_review: { neutralise: false } }) }))).toMatchObject({ status: 'skipped' });
    const empty: ResourceReviewData = { suspects: [], otherChanges: 0 };
    expect(await neutralise.run(anIdentContext({ outcomes: { [review.name]: outcomeOf(review, { status: 'done', summary: '', data: empty }) } }))).toMatchObject({ status: 'skipped' });
  });

  it('makes passwords that meet a strict password policy', () => {
    for (let i = 0; i < 20; i++) {
      const p = randomPassword();
      expect(p).toHaveLength(32);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[0-9]/);
      expect(p).toMatch(/[^A-Za-z0-9]/);
    }
  });
});
