import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { GetOpenIDConnectProviderCommand, IAMClient, ListOpenIDConnectProvidersCommand, ListPoliciesCommand, ListRolesCommand, ListSAMLProvidersCommand } from '@aws-sdk/client-iam';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { inventoryRecentChanges } from '../../../../shared/playbooks/account/inventory.ts';
import { AccountOptionsSchema } from '../../../../shared/playbooks/account/options.ts';
import { ACCOUNT_ID, awsError } from '../../helpers/factories.ts';
import { anAccount, anAccountStepContext, aUser } from './helpers.ts';

const iam = mockClient(IAMClient);
const ec2 = mockClient(EC2Client);
const s3 = mockClient(S3Client);
afterEach(() => [iam, ec2, s3].forEach((m) => m.reset()));

// The finding was created 2025-06-19T08:10; 7 days before: 2025-06-12T08:10.
const RECENT = new Date('2025-06-18T09:00:00Z');
const OLD = new Date('2025-01-01T00:00:00Z');

async function regionOf(getClient: () => { config: { region: unknown } }): Promise<string> {
  const r = getClient().config.region;
  return typeof r === 'function' ? await (r as () => Promise<string>)() : String(r);
}

describe('Step: inventoryRecentChanges', () => {
  it('lists the principals, keys, policies, identity providers and instances created in the window, in every region, and writes them to the evidence bucket', async () => {
    // Prepare
    const rolePages: Array<string | undefined> = [];
    iam.on(ListRolesCommand).callsFake(async (input) => {
      rolePages.push(input.Marker);
      return input.Marker
        ? { Roles: [{ RoleName: 'backdoor', Arn: `arn:aws:iam::${ACCOUNT_ID}:role/backdoor`, CreateDate: RECENT, Path: '/', RoleId: 'AROA1' }] }
        : { Roles: [{ RoleName: 'app', Arn: `arn:aws:iam::${ACCOUNT_ID}:role/app`, CreateDate: OLD, Path: '/', RoleId: 'AROA2' }], IsTruncated: true, Marker: 'm2' };
    });
    iam.on(ListPoliciesCommand, { Scope: 'Local' }).resolves({
      Policies: [
        { PolicyName: 'admin-ish', Arn: `arn:aws:iam::${ACCOUNT_ID}:policy/admin-ish`, CreateDate: OLD, UpdateDate: RECENT, DefaultVersionId: 'v3', AttachmentCount: 2 },
        { PolicyName: 'old', Arn: `arn:aws:iam::${ACCOUNT_ID}:policy/old`, CreateDate: OLD, UpdateDate: OLD },
      ],
    });
    iam.on(ListSAMLProvidersCommand).resolves({ SAMLProviderList: [{ Arn: `arn:aws:iam::${ACCOUNT_ID}:saml-provider/evil`, CreateDate: RECENT }] });
    iam.on(ListOpenIDConnectProvidersCommand).resolves({ OpenIDConnectProviderList: [{ Arn: `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/token.actions.githubusercontent.com` }] });
    iam.on(GetOpenIDConnectProviderCommand).resolves({ Url: 'token.actions.githubusercontent.com', CreateDate: OLD });
    ec2.on(DescribeInstancesCommand).callsFake(async (_input, getClient) =>
      (await regionOf(getClient)) === 'eu-west-1'
        ? { Reservations: [{ Instances: [{ InstanceId: 'i-0miner', LaunchTime: RECENT, InstanceType: 'p3.16xlarge', State: { Name: 'running' }, KeyName: 'x' }, { InstanceId: 'i-0old', LaunchTime: OLD }] }] }
        : { Reservations: [{ Instances: [{ InstanceId: 'i-0asg', LaunchTime: RECENT, State: { Name: 'running' }, Tags: [{ Key: 'aws:autoscaling:groupName', Value: 'web' }] }] }] },
    );
    s3.on(PutObjectCommand).resolves({});
    const resource = anAccount({ users: [aUser('intruder', [['AKIAINTRUDER00000001', 'Active']], RECENT.toISOString()), aUser('alice', [['AKIAALICE00000000001', 'Active']], OLD.toISOString())] });

    // Act
    const result = await inventoryRecentChanges.run(anAccountStepContext({ resource, options: AccountOptionsSchema.parse({}) }));

    // Assess
    expect(rolePages).toEqual([undefined, 'm2']);
    expect(result.status).toBe('done');
    expect(result.data!.since).toBe('2025-06-12T08:10:56.420Z');
    expect(result.data!.counts).toEqual({ 'iam-user': 1, 'access-key': 1, 'iam-role': 1, 'iam-policy': 1, 'identity-provider': 1, 'ec2-instance': 2 });
    expect(result.data!.items.map((i) => [i.kind, i.id])).toEqual(
      expect.arrayContaining([
        ['iam-user', `arn:aws:iam::${ACCOUNT_ID}:user/intruder`],
        ['access-key', 'AKIAINTRUDER00000001'],
        ['iam-role', `arn:aws:iam::${ACCOUNT_ID}:role/backdoor`],
        ['iam-policy', `arn:aws:iam::${ACCOUNT_ID}:policy/admin-ish`],
        ['identity-provider', `arn:aws:iam::${ACCOUNT_ID}:saml-provider/evil`],
        ['ec2-instance', 'i-0miner'],
        ['ec2-instance', 'i-0asg'],
      ]),
    );
    expect(result.data!.items.find((i) => i.id === 'i-0asg')!.detail).toContain('launched by Auto Scaling group web');
    expect(result.data!.items.find((i) => i.id === 'i-0miner')!.detail).toContain('eu-west-1, p3.16xlarge, running; launcher: see the CloudTrail review (RunInstances); key pair x');
    expect(result.data!.items.find((i) => i.kind === 'iam-policy')!.detail).toContain('default version v3 set recently');
    const written = JSON.parse(String(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Body));
    expect(written.items).toHaveLength(7);
    expect(written.regions).toEqual(['eu-west-1', 'us-east-1']);
  });

  it('records what it could not read and lists the rest', async () => {
    // Prepare
    iam.on(ListRolesCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403, message: 'no' }));
    iam.on(ListPoliciesCommand).resolves({ Policies: [] });
    iam.on(ListSAMLProvidersCommand).resolves({});
    iam.on(ListOpenIDConnectProvidersCommand).resolves({});
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    s3.on(PutObjectCommand).resolves({});

    // Act
    const result = await inventoryRecentChanges.run(anAccountStepContext({ resource: anAccount({ users: [] }) }));

    // Assess
    expect(result.data!.notRead).toEqual([{ what: 'IAM roles', error: 'AccessDenied: no' }]);
    expect(result.summary).toContain('could not read: IAM roles');
    expect(inventoryRecentChanges.minimumMode).toBe('contain');
  });
  it('names the launcher EC2 knows (CloudFormation, a launch template, Spot), recent OIDC providers and new policies, and tolerates sparse answers', async () => {
    // Prepare
    iam.on(ListRolesCommand).resolves({ Roles: [{ RoleName: 'AWSServiceRoleForX', Arn: 'arn:svc', CreateDate: RECENT, Path: '/aws-service-role/x/', RoleId: 'AROA3' }, { RoleName: 'bare', CreateDate: RECENT, Path: '/', RoleId: 'AROA4', Arn: undefined as unknown as string }] });
    iam.on(ListPoliciesCommand).resolves({ Policies: [{ PolicyName: 'new', Arn: 'arn:policy/new', CreateDate: RECENT, UpdateDate: RECENT }] });
    iam.on(ListSAMLProvidersCommand).resolves({ SAMLProviderList: [{ CreateDate: OLD }] });
    iam.on(ListOpenIDConnectProvidersCommand).resolves({ OpenIDConnectProviderList: [{ Arn: 'arn:oidc/new' }] });
    iam.on(GetOpenIDConnectProviderCommand).resolves({ CreateDate: RECENT });
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            { InstanceId: 'i-0cfn', LaunchTime: RECENT, Tags: [{ Key: 'aws:cloudformation:stack-name', Value: 'stack' }, { Key: 'aws:ec2launchtemplate:id', Value: 'lt-1' }, { Key: 'aws:ec2spot:fleet-request-id', Value: 'sfr-1' }], IamInstanceProfile: { Arn: 'arn:profile' } },
            { LaunchTime: RECENT },
          ],
        },
      ],
    });
    s3.on(PutObjectCommand).resolves({});

    // Act
    const result = await inventoryRecentChanges.run(anAccountStepContext({ resource: anAccount({ users: [], regions: ['us-east-1'] }), now: () => new Date('2025-06-19T09:00:00Z') }));

    // Assess
    const items = Object.fromEntries(result.data!.items.map((i) => [i.id, i.detail]));
    expect(items['i-0cfn']).toBe('us-east-1, ?, ?; launched by CloudFormation stack stack, launch template lt-1, Spot fleet sfr-1; profile arn:profile');
    expect(items['arn:svc']).toBe('service-linked role (created by an AWS service)');
    expect(items['arn:policy/new']).toBe('0 attachment(s)');
    expect(items['arn:oidc/new']).toBe('OIDC');
    expect(result.data!.counts).toMatchObject({ 'iam-role': 2, 'ec2-instance': 2, 'identity-provider': 1 });
  });
});
