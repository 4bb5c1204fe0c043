import { AttachInstancesCommand, AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  AssociateAddressCommand,
  AssociateIamInstanceProfileCommand,
  CreateTagsCommand,
  DescribeAddressesCommand,
  DescribeIamInstanceProfileAssociationsCommand,
  DescribeNetworkInterfacesCommand,
  DisassociateIamInstanceProfileCommand,
  EC2Client,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceIamInstanceProfileAssociationCommand,
  type NetworkInterface,
} from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingClient, RegisterInstancesWithLoadBalancerCommand } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { iamActionsOf } from '../../../../shared/engine/index.ts';
import { StepFailedError } from '../../../../shared/errors/index.ts';
import { ec2InstancePlaybook } from '../../../../shared/playbooks/index.ts';
import {
  keepProtectionsAndEvidence,
  reassociateElasticIps,
  reattachToAutoScalingGroup,
  removeRevocationPolicy,
  reregisterClassicLoadBalancers,
  reregisterTargets,
  restoreInstanceProfile,
  restoreSecurityGroups,
  tagReleased,
} from '../../../../shared/steps/ec2/index.ts';
import { anInstance, awsError, FIXED_NOW, INSTANCE_ID } from '../../helpers/factories.ts';
import { aReleaseContext, aReleaseRequest, contained, released, RESPONDER } from '../../release/helpers.ts';

const ec2Mock = mockClient(EC2Client);
const asgMock = mockClient(AutoScalingClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const elbMock = mockClient(ElasticLoadBalancingClient);
const iamMock = mockClient(IAMClient);
afterEach(() => [ec2Mock, asgMock, elbv2Mock, elbMock, iamMock].forEach((m) => m.reset()));

const ISO = 'sg-0150150150150150a';
const UNTRACK = 'sg-0aaaaaaaaaaaaaaa0';
const WEB = 'sg-0123456789abcdef0';
const ADMIN = 'sg-0fedcba9876543210';
const ENI = 'eni-0b7c1d2e3f4a5b6c7';
const ENI2 = 'eni-0c8d2e3f4a5b6c7d8';
const twoEnis = () =>
  anInstance({
    networkInterfaces: [
      { networkInterfaceId: ENI, groupIds: [ISO], privateIps: ['10.20.1.34'], requesterManaged: false, deviceIndex: 0 },
      { networkInterfaceId: ENI2, groupIds: [ISO], privateIps: ['10.20.2.7', '10.20.2.8'], requesterManaged: false, deviceIndex: 1 },
    ],
  });

const isolated = (interfaces: Array<{ networkInterfaceId: string; groupsBefore: string[] }>) => ({
  isolateNetworkInterfaces: contained('done', {
    isolationGroupId: ISO,
    untrackingGroupId: UNTRACK,
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    interfaces: interfaces.map((i) => ({ ...i, requesterManaged: false, result: 'isolated' })),
  }),
});
const eniNow = (id: string, groups: string[], instanceId = INSTANCE_ID): NetworkInterface => ({
  NetworkInterfaceId: id,
  Groups: groups.map((GroupId) => ({ GroupId })),
  Attachment: { InstanceId: instanceId },
});
const modifyCalls = () => ec2Mock.commandCalls(ModifyNetworkInterfaceAttributeCommand).map((c) => c.args[0].input);

describe('Release step: restoreSecurityGroups', () => {
  it('puts back exactly the groups each interface had before isolation', async () => {
    // Prepare
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [ISO]), eniNow(ENI2, [ISO])] });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
    const ctx = aReleaseContext(isolated([{ networkInterfaceId: ENI, groupsBefore: [WEB] }, { networkInterfaceId: ENI2, groupsBefore: [WEB, ADMIN] }]));

    // Act
    const result = await restoreSecurityGroups.run(ctx);

    // Assess
    expect(ec2Mock.commandCalls(DescribeNetworkInterfacesCommand)[0]!.args[0].input).toEqual({ Filters: [{ Name: 'network-interface-id', Values: [ENI, ENI2] }] });
    expect(modifyCalls()).toEqual([
      { NetworkInterfaceId: ENI, Groups: [WEB] },
      { NetworkInterfaceId: ENI2, Groups: [WEB, ADMIN] },
    ]);
    expect(result.status).toBe('done');
    expect(result.summary).toBe(`restored ${ENI} → ${WEB}; ${ENI2} → ${WEB}, ${ADMIN}`);
    expect(result.data).toEqual({
      interfaces: [
        { networkInterfaceId: ENI, groupsBefore: [WEB], groupsNow: [WEB], result: 'restored' },
        { networkInterfaceId: ENI2, groupsBefore: [WEB, ADMIN], groupsNow: [WEB, ADMIN], result: 'restored' },
      ],
    });
  });

  it('restores an interface left on the untracking group between the two swaps', async () => {
    // Prepare
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [UNTRACK])] });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});

    // Act
    const result = await restoreSecurityGroups.run(aReleaseContext(isolated([{ networkInterfaceId: ENI, groupsBefore: [WEB] }])));

    // Assess
    expect(modifyCalls()).toEqual([{ NetworkInterfaceId: ENI, Groups: [WEB] }]);
    expect(result.status).toBe('done');
  });

  it('leaves alone an interface whose groups someone changed since containment, and says so', async () => {
    // Prepare
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [ISO, ADMIN]), eniNow(ENI2, [ADMIN])] });

    // Act
    const result = await restoreSecurityGroups.run(aReleaseContext(isolated([{ networkInterfaceId: ENI, groupsBefore: [WEB] }, { networkInterfaceId: ENI2, groupsBefore: [WEB] }])));

    // Assess
    expect(modifyCalls()).toEqual([]);
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe(`left alone (changed since containment): ${ENI} now has ${ISO}, ${ADMIN}; ${ENI2} now has ${ADMIN}`);
  });

  it('changes nothing when run again after restoring (idempotent)', async () => {
    // Prepare
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [ADMIN, WEB])] });
    const ctx = aReleaseContext(isolated([{ networkInterfaceId: ENI, groupsBefore: [WEB, ADMIN] }]));

    // Act
    const result = await restoreSecurityGroups.run(ctx);

    // Assess
    expect(modifyCalls()).toEqual([]);
    expect(result.status).toBe('done');
    expect(result.summary).toBe(`${ENI} already had their groups back`);
  });

  it('leaves alone an interface that no longer exists or now belongs to another instance', async () => {
    // Prepare
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI2, [ISO], 'i-0ffffffffffffffff')] });

    // Act
    const result = await restoreSecurityGroups.run(aReleaseContext(isolated([{ networkInterfaceId: ENI, groupsBefore: [WEB] }, { networkInterfaceId: ENI2, groupsBefore: [WEB] }])));

    // Assess
    expect(modifyCalls()).toEqual([]);
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe(`left alone (now attached to another instance): ${ENI2}; no longer exist: ${ENI}`);
  });

  it.each([
    ['did not run', {}],
    ['failed', { isolateNetworkInterfaces: contained('failed') }],
    ['planned only (observe mode)', { isolateNetworkInterfaces: contained('planned') }],
  ])('restores nothing when isolation %s', async (_what, steps) => {
    // Act
    const result = await restoreSecurityGroups.run(aReleaseContext(steps));

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `isolateNetworkInterfaces did not change ${INSTANCE_ID}'s network interfaces: nothing to restore` });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('restores the other interfaces, then fails, when one cannot be restored', async () => {
    // Prepare
    ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({ NetworkInterfaces: [eniNow(ENI, [ISO]), eniNow(ENI2, [ISO])] });
    ec2Mock.on(ModifyNetworkInterfaceAttributeCommand, { NetworkInterfaceId: ENI }).rejects(awsError('InvalidGroup.NotFound')).on(ModifyNetworkInterfaceAttributeCommand, { NetworkInterfaceId: ENI2 }).resolves({});

    // Act
    const run = restoreSecurityGroups.run(aReleaseContext(isolated([{ networkInterfaceId: ENI, groupsBefore: [WEB] }, { networkInterfaceId: ENI2, groupsBefore: [WEB] }])));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'InvalidGroup.NotFound' });
    expect(modifyCalls().map((c) => c.NetworkInterfaceId)).toEqual([ENI, ENI2]);
  });
});

const EIP = { allocationId: 'eipalloc-0123456789abcdef0', publicIp: '203.0.113.10', networkInterfaceId: ENI, privateIpAddress: '10.20.1.34' };
const EIP2 = { allocationId: 'eipalloc-0fedcba9876543210', publicIp: '203.0.113.11', networkInterfaceId: ENI2, privateIpAddress: '10.20.2.8' };
const disassociated = (...addresses: Array<typeof EIP>) => ({ disassociateElasticIps: contained('done', { addresses }) });

describe('Release step: reassociateElasticIps', () => {
  it('associates each Elastic IP back to its interface and private address, never taking it from elsewhere', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId, PublicIp: EIP.publicIp }, { AllocationId: EIP2.allocationId, PublicIp: EIP2.publicIp }] });
    ec2Mock.on(AssociateAddressCommand).resolves({ AssociationId: 'eipassoc-1' });

    // Act
    const result = await reassociateElasticIps.run(aReleaseContext(disassociated(EIP, EIP2), { instance: twoEnis() }));

    // Assess
    expect(ec2Mock.commandCalls(DescribeAddressesCommand)[0]!.args[0].input).toEqual({ Filters: [{ Name: 'allocation-id', Values: [EIP.allocationId, EIP2.allocationId] }] });
    expect(ec2Mock.commandCalls(AssociateAddressCommand).map((c) => c.args[0].input)).toEqual([
      { AllocationId: EIP.allocationId, NetworkInterfaceId: ENI, PrivateIpAddress: '10.20.1.34', AllowReassociation: false },
      { AllocationId: EIP2.allocationId, NetworkInterfaceId: ENI2, PrivateIpAddress: '10.20.2.8', AllowReassociation: false },
    ]);
    expect(result.status).toBe('done');
    expect(result.summary).toBe(`reassociated 203.0.113.10 → ${ENI} (10.20.1.34), 203.0.113.11 → ${ENI2} (10.20.2.8)`);
  });

  it('leaves alone an Elastic IP associated elsewhere now, or released, and records where it is', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({
      Addresses: [{ AllocationId: EIP.allocationId, PublicIp: EIP.publicIp, AssociationId: 'eipassoc-9', NetworkInterfaceId: 'eni-0999999999999999a' }],
    });

    // Act
    const result = await reassociateElasticIps.run(aReleaseContext(disassociated(EIP, EIP2), { instance: twoEnis() }));

    // Assess
    expect(ec2Mock.commandCalls(AssociateAddressCommand)).toHaveLength(0);
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe('left alone (now associated elsewhere): 203.0.113.10 with eni-0999999999999999a; released from the account since: 203.0.113.11');
    expect(result.data!.addresses).toEqual([
      { ...EIP, result: 'associated-elsewhere', associatedWith: 'eni-0999999999999999a' },
      { ...EIP2, result: 'address-gone' },
    ]);
  });

  it('changes nothing for an Elastic IP already back on its interface (idempotent)', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId, AssociationId: 'eipassoc-1', NetworkInterfaceId: ENI, PrivateIpAddress: '10.20.1.34' }] });

    // Act
    const result = await reassociateElasticIps.run(aReleaseContext(disassociated(EIP), { instance: twoEnis() }));

    // Assess
    expect(ec2Mock.commandCalls(AssociateAddressCommand)).toHaveLength(0);
    expect(result).toMatchObject({ status: 'done', summary: '203.0.113.10 already associated' });
  });

  it('does not expose another host: leaves an address whose interface or private address the instance no longer has', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId }, { AllocationId: EIP2.allocationId }] });
    const instance = anInstance({ networkInterfaces: [{ networkInterfaceId: ENI2, groupIds: [ISO], privateIps: ['10.20.2.7'], requesterManaged: false, deviceIndex: 0 }] });

    // Act
    const result = await reassociateElasticIps.run(aReleaseContext(disassociated(EIP, EIP2), { instance }));

    // Assess
    expect(ec2Mock.commandCalls(AssociateAddressCommand)).toHaveLength(0);
    expect(result.summary).toBe('left alone (interface no longer on the instance): 203.0.113.10; left alone (private address no longer on the interface): 203.0.113.11');
  });

  it('leaves an Elastic IP that someone associated between the check and the call', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId }] });
    ec2Mock.on(AssociateAddressCommand).rejects(awsError('Resource.AlreadyAssociated'));

    // Act
    const result = await reassociateElasticIps.run(aReleaseContext(disassociated(EIP), { instance: twoEnis() }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', summary: 'left alone (now associated elsewhere): 203.0.113.10' });
  });

  it('fails on any other error', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId }] });
    ec2Mock.on(AssociateAddressCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));

    // Act
    const run = reassociateElasticIps.run(aReleaseContext(disassociated(EIP), { instance: twoEnis() }));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });

  it('restores nothing when no Elastic IP was disassociated, or the instance is gone', async () => {
    // Act
    const none = await reassociateElasticIps.run(aReleaseContext({ disassociateElasticIps: contained('skipped') }));
    const gone = await reassociateElasticIps.run(aReleaseContext(disassociated(EIP), { instance: null }));

    // Assess
    expect(none.status).toBe('skipped');
    expect(gone).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} no longer exists: nothing to restore`, data: { instanceGone: true } });
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});

const tg = (name: string) => `arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/${name}/0123456789abcdef`;
const deregistered = (...registrations: Array<Record<string, unknown>>) => ({ deregisterFromTargetGroups: contained('done', { registrations }) });

describe('Release step: reregisterTargets', () => {
  it('registers the instance again with the same port, and its IP targets with their Availability Zone', async () => {
    // Prepare
    elbv2Mock.on(RegisterTargetsCommand).resolves({});
    const steps = deregistered(
      { targetGroupArn: tg('web'), targetType: 'instance', id: INSTANCE_ID, port: 8080 },
      { targetGroupArn: tg('by-ip'), targetType: 'ip', id: '10.20.2.8', port: 443, availabilityZone: 'all' },
    );

    // Act
    const result = await reregisterTargets.run(aReleaseContext(steps, { instance: twoEnis() }));

    // Assess
    expect(elbv2Mock.commandCalls(RegisterTargetsCommand).map((c) => c.args[0].input)).toEqual([
      { TargetGroupArn: tg('web'), Targets: [{ Id: INSTANCE_ID, Port: 8080 }] },
      { TargetGroupArn: tg('by-ip'), Targets: [{ Id: '10.20.2.8', Port: 443, AvailabilityZone: 'all' }] },
    ]);
    expect(result).toMatchObject({ status: 'done', summary: `registered again in web (instance ${INSTANCE_ID}:8080), by-ip (ip 10.20.2.8:443)` });
  });

  it('does not register an IP the instance no longer has, and notes a deleted target group', async () => {
    // Prepare
    elbv2Mock.on(RegisterTargetsCommand).rejects(awsError('TargetGroupNotFoundException'));
    const steps = deregistered({ targetGroupArn: tg('by-ip'), targetType: 'ip', id: '10.20.9.9' }, { targetGroupArn: tg('web'), targetType: 'instance', id: INSTANCE_ID });

    // Act
    const result = await reregisterTargets.run(aReleaseContext(steps, { instance: twoEnis() }));

    // Assess
    expect(elbv2Mock.commandCalls(RegisterTargetsCommand).map((c) => c.args[0].input.TargetGroupArn)).toEqual([tg('web')]);
    expect(result).toMatchObject({ status: 'skipped', summary: `target group web (instance ${INSTANCE_ID}) no longer exists; left alone: by-ip (ip 10.20.9.9) is no longer the instance's` });
  });

  it('fails on any other error', async () => {
    // Prepare
    elbv2Mock.on(RegisterTargetsCommand).rejects(awsError('Throttling'));

    // Act
    const run = reregisterTargets.run(aReleaseContext(deregistered({ targetGroupArn: tg('web'), targetType: 'instance', id: INSTANCE_ID })));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'Throttling' });
  });

  it('restores nothing when nothing was deregistered, or the instance is gone', async () => {
    // Act
    const none = await reregisterTargets.run(aReleaseContext({ deregisterFromTargetGroups: contained('skipped') }));
    const gone = await reregisterTargets.run(aReleaseContext(deregistered({ targetGroupArn: tg('web'), targetType: 'instance', id: INSTANCE_ID }), { instance: null }));

    // Assess
    expect(none.summary).toBe(`deregisterFromTargetGroups did not change ${INSTANCE_ID}'s target registrations: nothing to restore`);
    expect(gone.status).toBe('skipped');
    expect(elbv2Mock.calls()).toHaveLength(0);
  });
});

describe('Release step: reregisterClassicLoadBalancers', () => {
  it('registers the instance again with each Classic Load Balancer, noting those deleted since', async () => {
    // Prepare
    elbMock
      .on(RegisterInstancesWithLoadBalancerCommand, { LoadBalancerName: 'legacy' })
      .resolves({})
      .on(RegisterInstancesWithLoadBalancerCommand, { LoadBalancerName: 'gone' })
      .rejects(awsError('AccessPointNotFoundException'));
    const steps = { deregisterFromClassicLoadBalancers: contained('done', { loadBalancerNames: ['legacy', 'gone'] }) };

    // Act
    const result = await reregisterClassicLoadBalancers.run(aReleaseContext(steps));

    // Assess
    expect(elbMock.commandCalls(RegisterInstancesWithLoadBalancerCommand).map((c) => c.args[0].input)).toEqual([
      { LoadBalancerName: 'legacy', Instances: [{ InstanceId: INSTANCE_ID }] },
      { LoadBalancerName: 'gone', Instances: [{ InstanceId: INSTANCE_ID }] },
    ]);
    expect(result).toMatchObject({ status: 'done', summary: 'registered again with legacy; no longer exist: gone' });
  });

  it('fails on any other error', async () => {
    // Prepare
    elbMock.on(RegisterInstancesWithLoadBalancerCommand).rejects(awsError('Throttling'));

    // Act
    const run = reregisterClassicLoadBalancers.run(aReleaseContext({ deregisterFromClassicLoadBalancers: contained('done', { loadBalancerNames: ['legacy'] }) }));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'Throttling' });
  });

  it('restores nothing when nothing was deregistered, or the instance is gone', async () => {
    // Act
    const none = await reregisterClassicLoadBalancers.run(aReleaseContext({}));
    const gone = await reregisterClassicLoadBalancers.run(aReleaseContext({ deregisterFromClassicLoadBalancers: contained('done', { loadBalancerNames: ['legacy'] }) }, { instance: null }));

    // Assess
    expect(none.status).toBe('skipped');
    expect(gone.status).toBe('skipped');
    expect(elbMock.calls()).toHaveLength(0);
  });
});

const detached = { detachFromAutoScalingGroup: contained('done', { autoScalingGroupName: 'web-asg', lifecycleStateBefore: 'InService' }) };
const reattachCtx = (instance = anInstance()) => aReleaseContext(detached, { request: aReleaseRequest({ reattach: true }), instance });

describe('Release step: reattachToAutoScalingGroup', () => {
  it('leaves the instance out of its group unless asked (--reattach)', async () => {
    // Act
    const result = await reattachToAutoScalingGroup.run(aReleaseContext(detached));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toMatch(/^not asked \(--reattach\): i-0a1b2c3d4e5f67890 stays out of web-asg/);
    expect(asgMock.calls()).toHaveLength(0);
  });

  it('attaches the instance again when asked, recording that desired capacity rose by one', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce({ AutoScalingGroups: [{ AutoScalingGroupName: 'web-asg', DesiredCapacity: 2, MaxSize: 4 } as never] })
      .resolves({ AutoScalingGroups: [{ AutoScalingGroupName: 'web-asg', DesiredCapacity: 3, MaxSize: 4 } as never] });
    asgMock.on(AttachInstancesCommand).resolves({});

    // Act
    const result = await reattachToAutoScalingGroup.run(reattachCtx());

    // Assess
    expect(asgMock.commandCalls(AttachInstancesCommand).map((c) => c.args[0].input)).toEqual([{ AutoScalingGroupName: 'web-asg', InstanceIds: [INSTANCE_ID] }]);
    expect(result).toEqual({
      status: 'done',
      summary: `${INSTANCE_ID} attached to web-asg; desired capacity 2 → 3 (lower it again if the replacement should go)`,
      data: { autoScalingGroupName: 'web-asg', desiredBefore: 2, desiredAfter: 3 },
    });
  });

  it('does nothing when the instance is already back in its group (idempotent)', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE_ID, AutoScalingGroupName: 'web-asg' } as never] });

    // Act
    const result = await reattachToAutoScalingGroup.run(reattachCtx());

    // Assess
    expect(asgMock.commandCalls(AttachInstancesCommand)).toHaveLength(0);
    expect(result).toMatchObject({ status: 'done', summary: `${INSTANCE_ID} is already in web-asg` });
  });

  it('leaves alone an instance someone put in another group', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE_ID, AutoScalingGroupName: 'quarantine-asg' } as never] });

    // Act
    const result = await reattachToAutoScalingGroup.run(reattachCtx());

    // Assess
    expect(asgMock.commandCalls(AttachInstancesCommand)).toHaveLength(0);
    expect(result).toMatchObject({ status: 'skipped', summary: `left alone: ${INSTANCE_ID} is now in another Auto Scaling group, quarantine-asg` });
  });

  it('fails permanently, saying what to do, for a stopped instance or a group at its maximum', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({});
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ AutoScalingGroupName: 'web-asg', DesiredCapacity: 4, MaxSize: 4 } as never] });

    // Act
    const stopped = reattachToAutoScalingGroup.run(reattachCtx(anInstance({ state: 'stopped' })));
    const full = reattachToAutoScalingGroup.run(reattachCtx());

    // Assess
    await expect(stopped).rejects.toThrow(StepFailedError);
    await expect(stopped).rejects.toMatchObject({ code: 'InstanceNotRunning', retryable: false });
    await expect(full).rejects.toMatchObject({ code: 'GroupAtMaximum', retryable: false, message: expect.stringContaining('above its maximum of 4') });
    expect(asgMock.commandCalls(AttachInstancesCommand)).toHaveLength(0);
  });

  it('notes a group deleted since, and restores nothing for an instance that was in no group or is gone', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({});
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });

    // Act
    const groupGone = await reattachToAutoScalingGroup.run(reattachCtx());
    const never = await reattachToAutoScalingGroup.run(aReleaseContext({ detachFromAutoScalingGroup: contained('skipped') }, { request: aReleaseRequest({ reattach: true }) }));
    const gone = await reattachToAutoScalingGroup.run(aReleaseContext(detached, { request: aReleaseRequest({ reattach: true }), instance: null }));

    // Assess
    expect(groupGone).toMatchObject({ status: 'skipped', summary: 'Auto Scaling group web-asg no longer exists: nothing to reattach to' });
    expect(never.status).toBe('skipped');
    expect(gone.status).toBe('skipped');
    expect(asgMock.commandCalls(AttachInstancesCommand)).toHaveLength(0);
  });
});

const revoked = { revokeInstanceRoleSessions: contained('done', { roleName: 'web-role', policyName: 'FirebreakRevokeOlderSessions-inc-1', revokedBefore: '2025-06-19T14:40:11.000Z' }) };

describe('Release step: removeRevocationPolicy', () => {
  it("removes the revocation policy from the instance role, warning that older sessions work again", async () => {
    // Prepare
    iamMock.on(DeleteRolePolicyCommand).resolves({});

    // Act
    const result = await removeRevocationPolicy.run(aReleaseContext(revoked));

    // Assess
    expect(iamMock.commandCalls(DeleteRolePolicyCommand).map((c) => c.args[0].input)).toEqual([{ RoleName: 'web-role', PolicyName: 'FirebreakRevokeOlderSessions-inc-1' }]);
    expect(result.status).toBe('done');
    expect(result.summary).toBe(
      'removed FirebreakRevokeOlderSessions-inc-1 from role web-role: role sessions issued before 2025-06-19T14:40:11.000Z that have not expired yet (instance-role credentials last about 6 hours) are valid again',
    );
  });

  it('treats a policy already removed as done (idempotent)', async () => {
    // Prepare
    iamMock.on(DeleteRolePolicyCommand).rejects(awsError('NoSuchEntityException', { httpStatusCode: 404 }));

    // Act
    const result = await removeRevocationPolicy.run(aReleaseContext(revoked));

    // Assess
    expect(result).toMatchObject({ status: 'done', summary: 'FirebreakRevokeOlderSessions-inc-1 was already gone from role web-role' });
  });

  it('fails on any other error', async () => {
    // Prepare
    iamMock.on(DeleteRolePolicyCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403 }));

    // Act
    const run = removeRevocationPolicy.run(aReleaseContext(revoked));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('removes nothing when no session was revoked (a shared role is only recommended)', async () => {
    // Act
    const result = await removeRevocationPolicy.run(aReleaseContext({ revokeInstanceRoleSessions: contained('skipped', { roleName: 'web-role', recommendation: '…' }) }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(iamMock.calls()).toHaveLength(0);
  });
});

const PROFILE = 'arn:aws:iam::111122223333:instance-profile/web-profile';
const ISOLATION_PROFILE = 'arn:aws:iam::111122223333:instance-profile/firebreak-isolation';
const replaced = (instanceProfileArnBefore: string | null, replacedWith: string | null) => ({
  replaceInstanceProfile: contained('done', { associationIdBefore: 'iip-assoc-1', instanceProfileArnBefore, replacedWith }),
});
const associationNow = (arn?: string) =>
  ec2Mock.on(DescribeIamInstanceProfileAssociationsCommand).resolves({
    IamInstanceProfileAssociations: arn ? [{ AssociationId: 'iip-assoc-2', InstanceId: INSTANCE_ID, State: 'associated', IamInstanceProfile: { Arn: arn } }] : [],
  });

describe('Release step: restoreInstanceProfile', () => {
  it('replaces the isolation profile with the one the instance had before', async () => {
    // Prepare
    associationNow(ISOLATION_PROFILE);
    ec2Mock.on(ReplaceIamInstanceProfileAssociationCommand).resolves({});

    // Act
    const result = await restoreInstanceProfile.run(aReleaseContext(replaced(PROFILE, ISOLATION_PROFILE)));

    // Assess
    expect(ec2Mock.commandCalls(DescribeIamInstanceProfileAssociationsCommand)[0]!.args[0].input).toEqual({
      Filters: [
        { Name: 'instance-id', Values: [INSTANCE_ID] },
        { Name: 'state', Values: ['associating', 'associated'] },
      ],
    });
    expect(ec2Mock.commandCalls(ReplaceIamInstanceProfileAssociationCommand).map((c) => c.args[0].input)).toEqual([{ AssociationId: 'iip-assoc-2', IamInstanceProfile: { Arn: PROFILE } }]);
    expect(result).toMatchObject({ status: 'done', summary: `replaced ${ISOLATION_PROFILE} with ${PROFILE} on ${INSTANCE_ID}`, data: { result: 'replaced' } });
  });

  it('associates the profile again when containment removed it', async () => {
    // Prepare
    associationNow(undefined);
    ec2Mock.on(AssociateIamInstanceProfileCommand).resolves({});

    // Act
    const result = await restoreInstanceProfile.run(aReleaseContext(replaced(PROFILE, null)));

    // Assess
    expect(ec2Mock.commandCalls(AssociateIamInstanceProfileCommand).map((c) => c.args[0].input)).toEqual([{ InstanceId: INSTANCE_ID, IamInstanceProfile: { Arn: PROFILE } }]);
    expect(result.summary).toBe(`associated ${PROFILE} with ${INSTANCE_ID} again`);
  });

  it('does nothing when the instance already has its profile back (idempotent)', async () => {
    // Prepare
    associationNow(PROFILE);

    // Act
    const result = await restoreInstanceProfile.run(aReleaseContext(replaced(PROFILE, ISOLATION_PROFILE)));

    // Assess
    expect(ec2Mock.calls()).toHaveLength(1);
    expect(result).toMatchObject({ status: 'done', summary: `${INSTANCE_ID} already has ${PROFILE}` });
  });

  it('leaves alone a profile someone else put on the instance since', async () => {
    // Prepare
    associationNow('arn:aws:iam::111122223333:instance-profile/forensics');

    // Act
    const result = await restoreInstanceProfile.run(aReleaseContext(replaced(PROFILE, null)));

    // Assess
    expect(ec2Mock.calls()).toHaveLength(1);
    expect(result).toMatchObject({ status: 'skipped', summary: `left alone (changed since containment): ${INSTANCE_ID} now has arn:aws:iam::111122223333:instance-profile/forensics` });
  });

  it('removes the isolation profile from an instance that had none before', async () => {
    // Prepare
    associationNow(ISOLATION_PROFILE);
    ec2Mock.on(DisassociateIamInstanceProfileCommand).resolves({});

    // Act
    const result = await restoreInstanceProfile.run(aReleaseContext(replaced(null, ISOLATION_PROFILE)));

    // Assess
    expect(ec2Mock.commandCalls(DisassociateIamInstanceProfileCommand).map((c) => c.args[0].input)).toEqual([{ AssociationId: 'iip-assoc-2' }]);
    expect(result.status).toBe('done');
  });

  it('restores nothing when the profile was not replaced, or the instance is gone', async () => {
    // Prepare
    associationNow(undefined);

    // Act
    const none = await restoreInstanceProfile.run(aReleaseContext({ replaceInstanceProfile: contained('skipped') }));
    const gone = await restoreInstanceProfile.run(aReleaseContext(replaced(PROFILE, null), { instance: null }));

    // Assess
    expect(none.status).toBe('skipped');
    expect(gone.status).toBe('skipped');
    expect(ec2Mock.commandCalls(AssociateIamInstanceProfileCommand)).toHaveLength(0);
  });
});

describe('Release step: keepProtectionsAndEvidence', () => {
  it('records the protections, the stopped instance and the evidence it leaves as containment left them, changing nothing', async () => {
    // Prepare
    const steps = {
      enableTerminationProtection: contained('done'),
      enableStopProtection: contained('done'),
      setShutdownBehaviourToStop: contained('done'),
      preserveVolumesOnTermination: contained('done', { volumes: [{ volumeId: 'vol-1', deviceName: '/dev/xvda', deleteOnTerminationBefore: true }] }),
      snapshotVolumes: contained('done', { snapshots: [{ volumeId: 'vol-1', snapshotId: 'snap-1' }] }),
      createForensicVolumes: contained('done', { forensicInstanceId: 'i-0f0f0f0f0f0f0f0f0', volumes: [{ snapshotId: 'snap-1', volumeId: 'vol-f1', state: 'attached' }] }),
      copySnapshotsToForensicAccount: contained('done', { forensicAccountId: '999988887777', copies: [{ sourceSnapshotId: 'snap-1', copySnapshotId: 'snap-c1', state: 'completed', shared: true }] }),
    };

    // Act
    const result = await keepProtectionsAndEvidence.run(aReleaseContext(steps, { instance: anInstance({ state: 'stopped' }) }));

    // Assess
    expect(result.status).toBe('done');
    expect(result.data!.keptProtections).toEqual([
      `termination protection, enabled by containment, is left as it is (lift it: aws ec2 modify-instance-attribute --instance-id ${INSTANCE_ID} --no-disable-api-termination)`,
      `stop protection, enabled by containment, is left as it is (lift it: aws ec2 modify-instance-attribute --instance-id ${INSTANCE_ID} --no-disable-api-stop)`,
      'instance-initiated shutdown behaviour, set to "stop" by containment, is left as it is',
      'DeleteOnTermination, turned off by containment, is left off for vol-1',
      `${INSTANCE_ID} stays stopped: release never starts an instance (start it yourself when ready)`,
      `evidence is kept: snapshots snap-1, forensic volumes vol-f1, forensic-account copies snap-c1 and the evidence bucket's objects for ${aReleaseContext().record.incidentId} are not touched`,
    ]);
    expect([ec2Mock.calls(), asgMock.calls(), elbv2Mock.calls(), elbMock.calls(), iamMock.calls()].map((c) => c.length)).toEqual([0, 0, 0, 0, 0]);
  });

  it('names only the evidence when containment set no protection, and notes a vanished instance', async () => {
    // Act
    const result = await keepProtectionsAndEvidence.run(aReleaseContext({ enableStopProtection: contained('skipped') }, { instance: null }));

    // Assess
    expect(result.data!.keptProtections).toEqual([`${INSTANCE_ID} no longer exists`, expect.stringMatching(/^evidence is kept: the evidence bucket's objects for inc-/)]);
  });
});

describe('Release step: tagReleased', () => {
  it('tags the instance released, with when and by whom', async () => {
    // Prepare
    ec2Mock.on(CreateTagsCommand).resolves({});

    // Act
    const result = await tagReleased.run(aReleaseContext({}, { outcomes: { restoreSecurityGroups: released('done') } }));

    // Assess
    expect(ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([
      {
        Resources: [INSTANCE_ID],
        Tags: [
          { Key: 'firebreak:status', Value: 'released' },
          { Key: 'firebreak:released-at', Value: FIXED_NOW.toISOString() },
          { Key: 'firebreak:released-by', Value: RESPONDER },
        ],
      },
    ]);
    expect(result.status).toBe('done');
  });

  it('does not tag while another release step failed', async () => {
    // Act
    const result = await tagReleased.run(aReleaseContext({}, { outcomes: { restoreSecurityGroups: released('failed'), tagReleased: released('skipped') } }));

    // Assess
    expect(ec2Mock.calls()).toHaveLength(0);
    expect(result).toEqual({ status: 'skipped', summary: 'not tagged released while the release is incomplete (restoreSecurityGroups failed); the retry that completes it tags it' });
  });

  it('skips an instance that no longer exists', async () => {
    // Act
    const result = await tagReleased.run(aReleaseContext({}, { instance: null }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});

describe('Playbook: ec2-instance release', () => {
  it('restores security groups before load balancers and the Auto Scaling group send traffic again, and tags last', () => {
    // Act
    const names = ec2InstancePlaybook.release!.map((s) => s.name);

    // Assess
    expect(names).toEqual([
      'restoreInstanceProfile',
      'removeRevocationPolicy',
      'restoreSecurityGroups',
      'reassociateElasticIps',
      'reregisterTargets',
      'reregisterClassicLoadBalancers',
      'reattachToAutoScalingGroup',
      'keepProtectionsAndEvidence',
      'tagReleased',
    ]);
  });

  it("grants the function every action of the release steps", () => {
    // Act
    const actions = iamActionsOf(ec2InstancePlaybook, []);

    // Assess
    expect(actions).toEqual(
      expect.arrayContaining([
        'ec2:ModifyNetworkInterfaceAttribute',
        'ec2:AssociateAddress',
        'ec2:AssociateIamInstanceProfile',
        'ec2:ReplaceIamInstanceProfileAssociation',
        'elasticloadbalancing:RegisterTargets',
        'elasticloadbalancing:RegisterInstancesWithLoadBalancer',
        'autoscaling:AttachInstances',
        'iam:DeleteRolePolicy',
        'iam:PassRole',
      ]),
    );
  });
});
