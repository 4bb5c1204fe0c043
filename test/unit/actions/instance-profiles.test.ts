import { DescribeIamInstanceProfileAssociationsCommand, DescribeInstancesCommand, EC2Client, type IamInstanceProfileAssociation } from '@aws-sdk/client-ec2';
import { IAMClient, ListInstanceProfilesForRoleCommand } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { associationsWhere, instanceProfileName, instanceProfilesOfRole, liveAssociationOf, liveInstancesWithRole } from '../../../shared/actions/instance-profiles.ts';
import { INSTANCE_ID, someClients } from '../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
const iamMock = mockClient(IAMClient);
afterEach(() => {
  ec2Mock.reset();
  iamMock.reset();
});

const PROFILE = 'arn:aws:iam::111122223333:instance-profile/apps/web-app-profile';
const association = (instanceId: string, arn: string, state: string, id = `iip-assoc-${instanceId.slice(2, 8)}`): IamInstanceProfileAssociation => ({
  AssociationId: id,
  InstanceId: instanceId,
  IamInstanceProfile: { Arn: arn },
  State: state as IamInstanceProfileAssociation['State'],
});

/**
 * Answers a command with `pages` in turn and records the pagination token each call is made
 * with (the SDK's paginators reuse one input object, so the recorded calls all show the last).
 */
function paged(behavior: { callsFake(fn: (input: Record<string, unknown>) => unknown): unknown }, token: string, pages: object[]): unknown[] {
  const seen: unknown[] = [];
  behavior.callsFake((input) => {
    seen.push(input[token]);
    return pages[seen.length - 1];
  });
  return seen;
}

describe('Instance profiles: associations', () => {
  it('reads every page of the associations matching the filters', async () => {
    // Prepare
    const tokens = paged(ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand), 'NextToken', [
      { IamInstanceProfileAssociations: [association('i-0aaaaaaaaaaaaaaa1', PROFILE, 'associated')], NextToken: 't2' },
      { IamInstanceProfileAssociations: [association('i-0bbbbbbbbbbbbbbb2', PROFILE, 'associated')] },
      {},
    ]);

    // Act
    const found = await associationsWhere(someClients().ec2, [{ Name: 'state', Values: ['associated'] }]);

    // Assess
    expect(tokens).toEqual([undefined, 't2']);
    expect(found.map((a) => a.InstanceId)).toEqual(['i-0aaaaaaaaaaaaaaa1', 'i-0bbbbbbbbbbbbbbb2']);
  });

  it("finds an instance's live association, asking only for those and checking again (an emulator may ignore filters)", async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({
      IamInstanceProfileAssociations: [
        association('i-0ffffffffffffff01', PROFILE, 'associated'),
        association(INSTANCE_ID, PROFILE, 'disassociated', 'iip-assoc-old'),
        { AssociationId: 'iip-assoc-no-state', InstanceId: INSTANCE_ID, IamInstanceProfile: { Arn: PROFILE } },
        association(INSTANCE_ID, PROFILE, 'associating', 'iip-assoc-new'),
      ],
    });

    // Act
    const live = await liveAssociationOf(someClients().ec2, INSTANCE_ID);

    // Assess
    expect(ec2Mock.commandCalls(DescribeIamInstanceProfileAssociationsCommand)[0]!.args[0].input.Filters).toEqual([
      { Name: 'instance-id', Values: [INSTANCE_ID] },
      { Name: 'state', Values: ['associating', 'associated'] },
    ]);
    expect(live?.AssociationId).toBe('iip-assoc-new');
  });

  it('finds no live association for an instance without a profile', async () => {
    // Prepare
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({});

    // Act
    const live = await liveAssociationOf(someClients().ec2, INSTANCE_ID);

    // Assess
    expect(live).toBeUndefined();
  });
});

describe('Instance profiles: of a role', () => {
  it("lists every profile that carries the role, across pages", async () => {
    // Prepare
    const markers = paged(iamMock.on(ListInstanceProfilesForRoleCommand), 'Marker', [
      { InstanceProfiles: [{ Arn: PROFILE }, { InstanceProfileName: 'no-arn' }], IsTruncated: true, Marker: 'p2' },
      { IsTruncated: false },
    ]);

    // Act
    const profiles = await instanceProfilesOfRole(someClients().iam, 'web-app');

    // Assess
    expect(markers).toEqual([undefined, 'p2']);
    expect(iamMock.commandCalls(ListInstanceProfilesForRoleCommand)[0]!.args[0].input.RoleName).toBe('web-app');
    expect(profiles).toEqual([PROFILE]);
  });

  it('names a profile by the last part of its ARN', () => {
    // Assess
    expect(instanceProfileName(PROFILE)).toBe('web-app-profile');
    expect(instanceProfileName('web-app-profile')).toBe('web-app-profile');
  });

  it('finds the running instances holding the role through any of its profiles, 200 instance ids per request, each once', async () => {
    // Prepare
    const others = Array.from({ length: 201 }, (_, n) => `i-0${String(n).padStart(16, '0')}`);
    iamMock.on(ListInstanceProfilesForRoleCommand).resolves({ InstanceProfiles: [{ Arn: PROFILE } as never], IsTruncated: false });
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({
      IamInstanceProfileAssociations: [
        association(INSTANCE_ID, PROFILE, 'associated'),
        ...others.map((id) => association(id, PROFILE, 'associated')),
        association(others[0]!, PROFILE, 'associated'),
        association('i-0eeeeeeeeeeeeee02', 'arn:aws:iam::111122223333:instance-profile/unrelated', 'associated'),
        { AssociationId: 'iip-assoc-no-instance', IamInstanceProfile: { Arn: PROFILE }, State: 'associated' },
        { AssociationId: 'iip-assoc-no-profile', InstanceId: 'i-0ddddddddddddddd3', State: 'associated' },
      ],
    });
    ec2Mock
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: others[1] }, { InstanceId: others[0] }, {}] }, {}], NextToken: 'more' })
      .resolvesOnce({})
      .resolvesOnce({ Reservations: [{ Instances: [{ InstanceId: others[200] }] }] });

    // Act
    const live = await liveInstancesWithRole(someClients().ec2, someClients().iam, 'web-app', { except: INSTANCE_ID });

    // Assess
    const asked = ec2Mock.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.Filters);
    // The first 200 over two pages, then the last one.
    expect(asked.map((f) => f![0]!.Values!.length)).toEqual([200, 200, 1]);
    expect(asked.flatMap((f) => f![0]!.Values!)).not.toContain(INSTANCE_ID);
    expect(asked[0]![1]).toEqual({ Name: 'instance-state-name', Values: ['pending', 'running'] });
    expect(live).toEqual([others[0], others[1], others[200]]);
  });

  it('asks EC2 about no instance when only the excepted one holds the role (and about it when none is excepted)', async () => {
    // Prepare
    iamMock.on(ListInstanceProfilesForRoleCommand).resolves({ InstanceProfiles: [{ Arn: PROFILE } as never], IsTruncated: false });
    ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({ IamInstanceProfileAssociations: [association(INSTANCE_ID, PROFILE, 'associated')] });
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: INSTANCE_ID }] }] });

    // Act
    const live = await liveInstancesWithRole(someClients().ec2, someClients().iam, 'web-app', { except: INSTANCE_ID });
    const all = await liveInstancesWithRole(someClients().ec2, someClients().iam, 'web-app');

    // Assess
    expect(live).toEqual([]);
    expect(all).toEqual([INSTANCE_ID]);
    expect(ec2Mock.commandCalls(DescribeInstancesCommand)).toHaveLength(1);
  });
});
