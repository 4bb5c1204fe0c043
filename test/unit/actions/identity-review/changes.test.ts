import { describe, expect, it } from 'vitest';
import { trailEventOf } from '../../../../shared/actions/cloudtrail.ts';
import { activityMarkdown, addEvents, changesOf, deleteCommands, emptyActivity, enumerationSign, shellQuote } from '../../../../shared/actions/identity-review/index.ts';
import { ACCOUNT_ID } from '../../helpers/factories.ts';
import * as events from './events.ts';
import { readCalls, trailEvent } from './helpers.ts';

const changes = (raw: Parameters<typeof trailEventOf>[0]) => changesOf(trailEventOf(raw));

describe('Identity review: what a principal created or changed, from CloudTrail', () => {
  it('names the instances RunInstances launched', () => {
    expect(changes(events.runInstances)).toEqual([expect.objectContaining({ kind: 'instance', id: events.INSTANCE, eventName: 'RunInstances', region: 'us-east-1' })]);
  });

  it('names the user CreateUser made, with its ARN', () => {
    expect(changes(events.createUser)).toEqual([expect.objectContaining({ kind: 'iam-user', id: events.BACKDOOR_USER, user: events.BACKDOOR_USER, arn: `arn:aws:iam::${ACCOUNT_ID}:user/${events.BACKDOOR_USER}` })]);
  });

  it('names the access key CreateAccessKey made and its user', () => {
    expect(changes(events.createAccessKey)).toEqual([expect.objectContaining({ kind: 'access-key', id: events.NEW_KEY, user: events.BACKDOOR_USER })]);
  });

  it('names the login profile CreateLoginProfile made', () => {
    expect(changes(events.createLoginProfile)).toEqual([expect.objectContaining({ kind: 'login-profile', id: events.BACKDOOR_USER, user: events.BACKDOOR_USER })]);
  });

  it('names the role whose trust policy UpdateAssumeRolePolicy changed', () => {
    expect(changes(events.updateAssumeRolePolicy)).toEqual([expect.objectContaining({ kind: 'trust-policy', id: 'deploy', role: 'deploy' })]);
  });

  it('names the policy version CreatePolicyVersion made, and that it became the default', () => {
    expect(changes(events.createPolicyVersion)).toEqual([
      expect.objectContaining({ kind: 'policy-version', policyArn: `arn:aws:iam::${ACCOUNT_ID}:policy/app-deploy`, version: 'v3', detail: 'set as default' }),
    ]);
  });

  it('names the policy AttachUserPolicy attached and to whom', () => {
    expect(changes(events.attachUserPolicy)).toEqual([
      expect.objectContaining({ kind: 'policy-attachment', user: events.BACKDOOR_USER, policyArn: 'arn:aws:iam::aws:policy/AdministratorAccess', id: `user/${events.BACKDOOR_USER}:arn:aws:iam::aws:policy/AdministratorAccess` }),
    ]);
  });

  it("names the SSH key UploadSSHPublicKey uploaded (CloudTrail's sSHPublicKey casing)", () => {
    expect(changes(events.uploadSshPublicKey)).toEqual([expect.objectContaining({ kind: 'ssh-public-key', id: 'APKA2BACKDOOREXAMPLE', user: events.BACKDOOR_USER })]);
  });

  it('names the service-specific credential and its service', () => {
    expect(changes(events.createServiceSpecificCredential)).toEqual([
      expect.objectContaining({ kind: 'service-specific-credential', id: 'ACCA2BACKDOOREXAMPLE', user: events.BACKDOOR_USER, detail: 'codecommit.amazonaws.com' }),
    ]);
  });

  it("names the Lambda function of CreateFunction20150331 (Lambda's versioned event name)", () => {
    expect(changes(events.createFunction)).toEqual([expect.objectContaining({ kind: 'lambda-function', id: 'health-check', arn: `arn:aws:lambda:us-east-1:${ACCOUNT_ID}:function:health-check` })]);
  });

  it('names the key pair ImportKeyPair imported, by id, with its name', () => {
    expect(changes(events.importKeyPair)).toEqual([expect.objectContaining({ kind: 'key-pair', id: 'key-0123456789abcdef0', detail: 'ops-2025' })]);
  });

  it('takes nothing from reads and failed calls, and names what it can of writes it has no rule for', () => {
    expect(changes(events.deniedListUsers)).toEqual([]);
    expect(changes(events.failedCreateUser)).toEqual([]);
    expect(changes(readCalls(1)[0]!)).toEqual([]);
    expect(changes(trailEvent({ eventName: 'StopLogging', eventSource: 'cloudtrail.amazonaws.com', requestParameters: { name: 'org-trail' }, resources: [{ ResourceName: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail' }] }))).toEqual([
      expect.objectContaining({ kind: 'other', id: 'arn:aws:cloudtrail:us-east-1:111122223333:trail/org-trail' }),
    ]);
    expect(changes(trailEvent({ eventName: 'PutBucketPolicy', eventSource: 's3.amazonaws.com', requestParameters: { bucketName: 'loot' } }))).toEqual([expect.objectContaining({ kind: 'other', id: 'bucketName=loot' })]);
  });

  it('acts on the caller when an API without UserName was called by an IAM user', () => {
    const e = trailEvent({ eventName: 'CreateAccessKey', requestParameters: null, responseElements: { accessKey: { accessKeyId: 'AKIA3SELFEXAMPLE000', status: 'Active' } } });
    expect(changes(e)).toEqual([expect.objectContaining({ kind: 'access-key', id: 'AKIA3SELFEXAMPLE000', user: 'alice' })]);
  });
});

describe('Identity review: the commands a human runs to delete a suspect', () => {
  it('gives each kind its AWS CLI command, in its region', () => {
    const [key] = changes(events.createAccessKey);
    expect(deleteCommands(key!)).toEqual([`aws iam delete-access-key --user-name ${events.BACKDOOR_USER} --access-key-id ${events.NEW_KEY}`]);
    const [instance] = changes(events.runInstances);
    expect(deleteCommands(instance!)).toContain(`aws ec2 terminate-instances --region us-east-1 --instance-ids ${events.INSTANCE}`);
    const [keyPair] = changes(events.importKeyPair);
    expect(deleteCommands(keyPair!)[0]).toMatch(/delete-key-pair --region us-east-1 --key-pair-id key-0123456789abcdef0 .*authorized_keys/);
    const [user] = changes(events.createUser);
    expect(deleteCommands(user!).at(-1)).toBe(`aws iam delete-user --user-name ${events.BACKDOOR_USER}`);
    for (const e of events.PERSISTENCE) for (const c of changes(e)) expect(deleteCommands(c).length).toBeGreaterThan(0);
  });

  it('quotes names from CloudTrail so a hostile one cannot run commands', () => {
    expect(shellQuote("x'; rm -rf / #")).toBe(`'x'\\''; rm -rf / #'`);
    expect(shellQuote('plain-name_1')).toBe('plain-name_1');
    const hostile = changes(trailEvent({ eventName: 'CreateLoginProfile', requestParameters: { userName: 'bob$(curl evil)' } }));
    expect(deleteCommands(hostile[0]!)).toEqual(["aws iam delete-login-profile --user-name 'bob$(curl evil)'"]);
  });
});

describe('Identity review: the activity report', () => {
  it('tallies calls, sources, errors and changes, and reads an AccessDenied storm as enumeration', () => {
    // Prepare
    const denied = ['ListUsers', 'ListRoles', 'GetAccountAuthorizationDetails', 'ListBuckets', 'DescribeInstances', 'ListSecrets'].flatMap((name) =>
      [1, 2].map(() => trailEvent({ eventName: name, readOnly: true, errorCode: 'AccessDenied', sourceIPAddress: '203.0.113.9' })),
    );

    // Act
    const activity = addEvents(emptyActivity(), [...denied, ...events.PERSISTENCE].map(trailEventOf));

    // Assess
    expect(activity.events).toBe(denied.length + events.PERSISTENCE.length);
    expect(activity.denied).toBe(12);
    expect(activity.sourceIps).toEqual({ '203.0.113.9': 12, '198.51.100.23': events.PERSISTENCE.length });
    expect(activity.calls['iam.amazonaws.com ListUsers']).toEqual({ count: 2, errors: 2, denied: 2 });
    expect(activity.changes.map((c) => c.kind)).toEqual([
      'instance', 'iam-user', 'access-key', 'login-profile', 'trust-policy', 'policy-version', 'policy-attachment', 'ssh-public-key', 'service-specific-credential', 'lambda-function', 'key-pair',
    ]);
    expect(enumerationSign(activity)).toMatch(/12 calls on 6 APIs were denied/);
    expect(enumerationSign(addEvents(emptyActivity(), denied.slice(0, 4).map(trailEventOf)))).toBeUndefined();
  });

  it('keeps its tallies bounded (the ledger item is at most 400 KB) and counts what it drops', () => {
    const many = Array.from({ length: 150 }, (_, i) => trailEventOf(trailEvent({ eventName: 'GetObject', readOnly: true, sourceIPAddress: `192.0.2.${i}` })));
    const activity = addEvents(emptyActivity(), many);
    expect(Object.keys(activity.sourceIps)).toHaveLength(100);
    expect(activity.dropped).toBe(50);
  });

  it('escapes what the attacker controls in the Markdown (user agents, names)', () => {
    const activity = addEvents(emptyActivity(), [trailEventOf(trailEvent({ eventName: 'ListUsers', readOnly: true, userAgent: 'evil | <script>\n# heading' }))]);
    const md = activityMarkdown({ title: 'review', window: { start: 'a', end: 'b' }, subjects: [], activity });
    expect(md).toContain('evil \\| \\<script\\> # heading');
    expect(md).not.toContain('<script>');
  });
});
