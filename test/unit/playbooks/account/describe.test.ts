import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { IAMClient, ListAccessKeysCommand, ListAccountAliasesCommand, ListUsersCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { captureAccount, describeAccount } from '../../../../shared/playbooks/account/describe.ts';
import { AccountOptionsSchema } from '../../../../shared/playbooks/account/options.ts';
import { ResourceNotFoundError } from '../../../../shared/errors/index.ts';
import { ACCOUNT_ID, silentLogger, someClients } from '../../helpers/factories.ts';
import { aRootIncident } from './helpers.ts';

const iam = mockClient(IAMClient);
const ec2 = mockClient(EC2Client);
afterEach(() => {
  iam.reset();
  ec2.reset();
});

const created = new Date('2025-06-18T10:00:00Z');
const regions = {
  Regions: [
    { RegionName: 'us-east-1', OptInStatus: 'opt-in-not-required' },
    { RegionName: 'af-south-1', OptInStatus: 'not-opted-in' },
    { RegionName: 'eu-south-1', OptInStatus: 'opted-in' },
    { RegionName: 'eu-west-1', OptInStatus: 'opt-in-not-required' },
  ],
};

describe('Describe: the account', () => {
  it('reads the alias, the enabled regions and every IAM user with its access keys, following every page', async () => {
    // Prepare
    iam.on(ListAccountAliasesCommand).resolves({ AccountAliases: ['acme-prod'] });
    ec2.on(DescribeRegionsCommand, { AllRegions: true }).resolves(regions);
    const userPages: Array<string | undefined> = [];
    iam.on(ListUsersCommand).callsFake((input) => {
      userPages.push(input.Marker);
      return input.Marker
        ? { Users: [{ UserName: 'bob', UserId: 'AIDABOB', Arn: `arn:aws:iam::${ACCOUNT_ID}:user/bob`, CreateDate: created, Path: '/' }], IsTruncated: false }
        : { Users: [{ UserName: 'alice', UserId: 'AIDAALICE', Arn: `arn:aws:iam::${ACCOUNT_ID}:user/alice`, CreateDate: created, Path: '/' }], IsTruncated: true, Marker: 'page-2' };
    });
    iam.on(ListAccessKeysCommand, { UserName: 'alice' }).resolves({ AccessKeyMetadata: [{ AccessKeyId: 'AKIAALICE00000000001', Status: 'Active', CreateDate: created }] });
    iam.on(ListAccessKeysCommand, { UserName: 'bob' }).resolves({ AccessKeyMetadata: [] });

    // Act
    const account = await describeAccount({ incident: aRootIncident(), clients: someClients(), logger: silentLogger(), options: AccountOptionsSchema.parse({}) });

    // Assess
    expect(userPages).toEqual([undefined, 'page-2']);
    expect(account).toEqual({
      accountId: ACCOUNT_ID,
      alias: 'acme-prod',
      regions: ['eu-south-1', 'eu-west-1', 'us-east-1'],
      regionsLeftOut: [{ region: 'af-south-1', reason: 'not enabled in the account (not-opted-in)' }],
      users: [
        { userName: 'alice', userId: 'AIDAALICE', arn: `arn:aws:iam::${ACCOUNT_ID}:user/alice`, createDate: created.toISOString(), accessKeys: [{ accessKeyId: 'AKIAALICE00000000001', status: 'Active', createDate: created.toISOString() }] },
        { userName: 'bob', userId: 'AIDABOB', arn: `arn:aws:iam::${ACCOUNT_ID}:user/bob`, createDate: created.toISOString(), accessKeys: [] },
      ],
    });
    // The capture keeps every key's status before any step: what release reactivates from.
    expect(captureAccount(account)).toEqual({ accountId: ACCOUNT_ID, alias: 'acme-prod', accessKeys: [{ userName: 'alice', accessKeyId: 'AKIAALICE00000000001', status: 'Active' }] });
  });

  it('covers only the configured regions, and says why each other region is left out', async () => {
    // Prepare
    iam.on(ListAccountAliasesCommand).resolves({ AccountAliases: [] });
    ec2.on(DescribeRegionsCommand).resolves(regions);
    iam.on(ListUsersCommand).resolves({ Users: [] });

    // Act
    const account = await describeAccount({ incident: aRootIncident(), clients: someClients(), logger: silentLogger(), options: AccountOptionsSchema.parse({ regions: ['us-east-1', 'af-south-1'] }) });

    // Assess
    expect(account.regions).toEqual(['us-east-1']);
    expect(account.regionsLeftOut).toEqual([
      { region: 'af-south-1', reason: 'not enabled in the account (not-opted-in)' },
      { region: 'eu-south-1', reason: 'not in playbooks.account.options.regions' },
      { region: 'eu-west-1', reason: 'not in playbooks.account.options.regions' },
    ]);
    expect(account).not.toHaveProperty('alias');
  });

  it('refuses an account other than the one the clients act in, reading nothing', async () => {
    // Act / Assess
    await expect(
      describeAccount({ incident: aRootIncident({ resource: { type: 'Account', id: '999988887777', hints: {} } }), clients: someClients(), logger: silentLogger() }),
    ).rejects.toBeInstanceOf(ResourceNotFoundError);
    expect(iam.calls()).toHaveLength(0);
    expect(ec2.calls()).toHaveLength(0);
  });
});
