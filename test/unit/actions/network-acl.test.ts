import { CreateNetworkAclEntryCommand, DeleteNetworkAclEntryCommand, DescribeNetworkAclsCommand, EC2Client, type NetworkAcl } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { denyAddressesInNetworkAcl, removeDenyEntries } from '../../../shared/actions/network-acl.ts';
import { someClients } from '../helpers/factories.ts';

const ec2 = mockClient(EC2Client);
afterEach(() => ec2.reset());

const acl = (entries: NetworkAcl['Entries']): NetworkAcl => ({ NetworkAclId: 'acl-1', Entries: entries });
const star = [
  { RuleNumber: 32767, Egress: false, RuleAction: 'deny' as const, CidrBlock: '0.0.0.0/0' },
  { RuleNumber: 32767, Egress: true, RuleAction: 'deny' as const, CidrBlock: '0.0.0.0/0' },
];

describe('Action: network ACL deny entries', () => {
  it('numbers each deny below the lowest rule of its direction, one below the other for several addresses', async () => {
    // Act
    const out = await denyAddressesInNetworkAcl(someClients().ec2, acl([...star, { RuleNumber: 50, Egress: false, RuleAction: 'allow', CidrBlock: '0.0.0.0/0' }]), ['198.51.100.1', '198.51.100.2']);

    // Assess
    expect(out.entries.map((e) => `${e.egress ? 'out' : 'in'} ${e.ruleNumber} ${e.cidrBlock}`)).toEqual(['in 49 198.51.100.1/32', 'in 48 198.51.100.2/32', 'out 32766 198.51.100.1/32', 'out 32765 198.51.100.2/32']);
    expect(ec2.commandCalls(CreateNetworkAclEntryCommand)).toHaveLength(4);
  });

  it('counts the default rule against the quota: a direction with 20 rules is full', async () => {
    // Prepare
    const nineteen = Array.from({ length: 19 }, (_, i) => ({ RuleNumber: 100 + i, Egress: true, RuleAction: 'allow' as const, CidrBlock: `10.0.${i}.0/24` }));

    // Act
    const out = await denyAddressesInNetworkAcl(someClients().ec2, acl([...star, ...nineteen]), ['198.51.100.1']);

    // Assess
    expect(out.undenied).toEqual([{ cidrBlock: '198.51.100.1/32', egress: true, reason: expect.stringMatching(/20 outbound rules/) }]);
    expect(out.entries.map((e) => e.egress)).toEqual([false]);
  });

  it('a raised quota (ruleLimit 40) leaves room', async () => {
    // Prepare
    const nineteen = Array.from({ length: 19 }, (_, i) => ({ RuleNumber: 100 + i, Egress: true, RuleAction: 'allow' as const, CidrBlock: `10.0.${i}.0/24` }));

    // Act
    const out = await denyAddressesInNetworkAcl(someClients().ec2, acl([...star, ...nineteen]), ['198.51.100.1'], { ruleLimit: 40 });

    // Assess
    expect(out.undenied).toEqual([]);
  });

  it('removes only created entries that are still the same deny, and leaves entries that were there before', async () => {
    // Prepare
    ec2.on(DescribeNetworkAclsCommand).resolves({ NetworkAcls: [acl([...star, { RuleNumber: 49, Egress: false, RuleAction: 'deny', CidrBlock: '198.51.100.1/32' }])] });

    // Act
    const out = await removeDenyEntries(someClients().ec2, [
      { networkAclId: 'acl-1', ruleNumber: 49, egress: false, cidrBlock: '198.51.100.1/32', origin: 'created' },
      { networkAclId: 'acl-1', ruleNumber: 49, egress: true, cidrBlock: '198.51.100.1/32', origin: 'created' },
      { networkAclId: 'acl-1', ruleNumber: 10, egress: false, cidrBlock: '198.51.100.9/32', origin: 'already-denied' },
    ]);

    // Assess
    expect(out.map((e) => e.result)).toEqual(['left-as-found', 'removed', 'already-removed']);
    expect(ec2.commandCalls(DeleteNetworkAclEntryCommand).map((c) => c.args[0].input)).toEqual([{ NetworkAclId: 'acl-1', RuleNumber: 49, Egress: false }]);
  });
});
