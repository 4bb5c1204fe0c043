import { AuthorizeSecurityGroupIngressCommand, DescribeNetworkInterfacesCommand, DescribeSecurityGroupRulesCommand, EC2Client, RevokeSecurityGroupIngressCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { groupsUsedOnlyBy, permissionOf, restoreGroupRules, revokeGroupRules, savedRuleOf } from '../../../shared/actions/security-group-rules.ts';
import { someClients } from '../helpers/factories.ts';

const ec2 = mockClient(EC2Client);
afterEach(() => ec2.reset());

const fromGroup = savedRuleOf({ GroupId: 'sg-1', SecurityGroupRuleId: 'sgr-1', IsEgress: false, IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, ReferencedGroupInfo: { GroupId: 'sg-app', UserId: '111122223333' }, Description: 'app' });
const fromPrefixList = savedRuleOf({ GroupId: 'sg-1', SecurityGroupRuleId: 'sgr-2', IsEgress: false, IpProtocol: 'udp', FromPort: 53, ToPort: 53, PrefixListId: 'pl-1' });
const v6 = savedRuleOf({ GroupId: 'sg-1', SecurityGroupRuleId: 'sgr-3', IsEgress: false, IpProtocol: 'icmpv6', FromPort: -1, ToPort: -1, CidrIpv6: '::/0' });

describe('Action: security group rules saved, revoked and restored exactly', () => {
  it('makes each saved rule into the permission that creates it again: group, prefix list and IPv6 peers, descriptions', () => {
    expect(permissionOf(fromGroup)).toEqual({ IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: 'sg-app', UserId: '111122223333', Description: 'app' }] });
    expect(permissionOf(fromPrefixList)).toEqual({ IpProtocol: 'udp', FromPort: 53, ToPort: 53, PrefixListIds: [{ PrefixListId: 'pl-1' }] });
    expect(permissionOf(v6)).toEqual({ IpProtocol: 'icmpv6', FromPort: -1, ToPort: -1, Ipv6Ranges: [{ CidrIpv6: '::/0' }] });
  });

  it('revokes by rule id, and one by one when one of the batch is already gone', async () => {
    // Prepare
    ec2.on(RevokeSecurityGroupIngressCommand, { GroupId: 'sg-1', SecurityGroupRuleIds: ['sgr-1', 'sgr-2'] }).rejects(Object.assign(new Error('gone'), { name: 'InvalidSecurityGroupRuleId.NotFound' }));
    ec2.on(RevokeSecurityGroupIngressCommand, { GroupId: 'sg-1', SecurityGroupRuleIds: ['sgr-1'] }).rejects(Object.assign(new Error('gone'), { name: 'InvalidSecurityGroupRuleId.NotFound' }));

    // Act
    await revokeGroupRules(someClients().ec2, [fromGroup, fromPrefixList]);

    // Assess
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand).map((c) => c.args[0].input.SecurityGroupRuleIds)).toEqual([['sgr-1', 'sgr-2'], ['sgr-1'], ['sgr-2']]);
  });

  it('restores only what is missing, and reports a group that no longer exists', async () => {
    // Prepare
    ec2.on(DescribeSecurityGroupRulesCommand, { Filters: [{ Name: 'group-id', Values: ['sg-1'] }], MaxResults: 1000 }).resolves({ SecurityGroupRules: [{ GroupId: 'sg-1', SecurityGroupRuleId: 'sgr-9', IsEgress: false, IpProtocol: 'udp', FromPort: 53, ToPort: 53, PrefixListId: 'pl-1' }] });
    ec2.on(DescribeSecurityGroupRulesCommand, { Filters: [{ Name: 'group-id', Values: ['sg-gone'] }], MaxResults: 1000 }).rejects(Object.assign(new Error('no'), { name: 'InvalidGroup.NotFound' }));

    // Act
    const out = await restoreGroupRules(someClients().ec2, [fromGroup, fromPrefixList, { ...v6, groupId: 'sg-gone' }]);

    // Assess
    expect(out.map((r) => `${r.ruleId} ${r.result}`)).toEqual(['sgr-2 already-present', 'sgr-1 restored', 'sgr-3 group-gone']);
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand).map((c) => c.args[0].input)).toEqual([{ GroupId: 'sg-1', IpPermissions: [permissionOf(fromGroup)] }]);
  });

  it('calls a group shared when another interface uses it, or when one page does not list them all', async () => {
    // Prepare
    ec2.on(DescribeNetworkInterfacesCommand, { Filters: [{ Name: 'group-id', Values: ['sg-own'] }], MaxResults: 1000 }).resolves({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-task' }] });
    ec2.on(DescribeNetworkInterfacesCommand, { Filters: [{ Name: 'group-id', Values: ['sg-other'] }], MaxResults: 1000 }).resolves({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-task' }, { NetworkInterfaceId: 'eni-web' }] });
    ec2.on(DescribeNetworkInterfacesCommand, { Filters: [{ Name: 'group-id', Values: ['sg-big'] }], MaxResults: 1000 }).resolves({ NetworkInterfaces: [{ NetworkInterfaceId: 'eni-task' }], NextToken: 'more' });

    // Act
    const out = await groupsUsedOnlyBy(someClients().ec2, ['sg-own', 'sg-other', 'sg-big'], ['eni-task']);

    // Assess
    expect(out).toEqual({ own: ['sg-own'], shared: [{ groupId: 'sg-other', interfaceIds: ['eni-web'] }, { groupId: 'sg-big', interfaceIds: [] }] });
  });
});
