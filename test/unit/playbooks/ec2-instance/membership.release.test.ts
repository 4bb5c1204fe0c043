import { AttachInstancesCommand, AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand, DetachInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { AssociateAddressCommand, DescribeAddressesCommand, DisassociateAddressCommand, EC2Client, type Address } from '@aws-sdk/client-ec2';
import {
  DeregisterInstancesFromLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingClient,
  RegisterInstancesWithLoadBalancerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type TargetDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { executeStep, type AnyStep } from '../../../../shared/engine/index.ts';
import { StepFailedError } from '../../../../shared/errors/index.ts';
import { Ec2CaptureSchema, type Ec2Instance } from '../../../../shared/playbooks/ec2-instance/describe.ts';
import {
  deregisterFromClassicLoadBalancers,
  deregisterFromTargetGroups,
  detachFromAutoScalingGroup,
  disassociateElasticIps,
} from '../../../../shared/playbooks/ec2-instance/membership.ts';
import type { Ec2 } from '../../../../shared/playbooks/ec2-instance/types.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import {
  anIncident,
  anInstance,
  anUndoContext,
  aStepContext,
  awsError,
  FIXED_NOW,
  INSTANCE_ID,
  ledgerFixture,
  RESPONDER,
  silentLogger,
  VPC_ID,
  releaseWithStepsOf,
} from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
const asgMock = mockClient(AutoScalingClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const elbMock = mockClient(ElasticLoadBalancingClient);
const resetAll = () => [ec2Mock, asgMock, elbv2Mock, elbMock].forEach((m) => m.reset());
afterEach(resetAll);

const ISO = 'sg-0150150150150150a';
const ENI = 'eni-0b7c1d2e3f4a5b6c7';
const ENI2 = 'eni-0c8d2e3f4a5b6c7d8';
const twoEnis = () =>
  anInstance({
    networkInterfaces: [
      { networkInterfaceId: ENI, groupIds: [ISO], privateIps: ['10.20.1.34'], requesterManaged: false, deviceIndex: 0 },
      { networkInterfaceId: ENI2, groupIds: [ISO], privateIps: ['10.20.2.7', '10.20.2.8'], requesterManaged: false, deviceIndex: 1 },
    ],
  });

/** The instance is gone: the playbook's describe no longer finds it. */
const gone = <C extends object>(ctx: C): C => ({ ...ctx, resource: async () => undefined });

// Elastic IPs

const EIP = { allocationId: 'eipalloc-0123456789abcdef0', publicIp: '203.0.113.10', networkInterfaceId: ENI, privateIpAddress: '10.20.1.34' };
const EIP2 = { allocationId: 'eipalloc-0fedcba9876543210', publicIp: '203.0.113.11', networkInterfaceId: ENI2, privateIpAddress: '10.20.2.8' };
const associatedAt = (e: typeof EIP, n: number): Address => ({
  AllocationId: e.allocationId,
  PublicIp: e.publicIp,
  AssociationId: `eipassoc-${n}`,
  NetworkInterfaceId: e.networkInterfaceId,
  PrivateIpAddress: e.privateIpAddress,
});

/** Runs disassociateElasticIps against mocked EC2 with these addresses associated; returns what it recorded. */
async function disassociate(addresses: Address[], resource: Ec2Instance = twoEnis()) {
  ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: addresses }).on(DisassociateAddressCommand).resolves({});
  const result = await disassociateElasticIps.run(aStepContext({ resource }));
  ec2Mock.reset();
  return result;
}
const reassociate = disassociateElasticIps.undo!;

describe('Undo: reassociateElasticIps', () => {
  it('associates each Elastic IP back to its interface and private address, never taking it from elsewhere', async () => {
    // Prepare
    const disassociated = await disassociate([associatedAt(EIP, 1), associatedAt(EIP2, 2)]);
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId, PublicIp: EIP.publicIp }, { AllocationId: EIP2.allocationId, PublicIp: EIP2.publicIp }] });
    ec2Mock.on(AssociateAddressCommand).resolves({ AssociationId: 'eipassoc-1' });

    // Act
    const result = await reassociate.run(anUndoContext(disassociateElasticIps, disassociated, { resource: twoEnis() }));

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
    const disassociated = await disassociate([associatedAt(EIP, 1), associatedAt(EIP2, 2)]);
    ec2Mock.on(DescribeAddressesCommand).resolves({
      Addresses: [{ AllocationId: EIP.allocationId, PublicIp: EIP.publicIp, AssociationId: 'eipassoc-9', NetworkInterfaceId: 'eni-0999999999999999a' }],
    });

    // Act
    const result = await reassociate.run(anUndoContext(disassociateElasticIps, disassociated, { resource: twoEnis() }));

    // Assess
    expect(ec2Mock.commandCalls(AssociateAddressCommand)).toHaveLength(0);
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe('left alone (now associated elsewhere): 203.0.113.10 with eni-0999999999999999a; released from the account since: 203.0.113.11');
    expect(result.data!.addresses).toEqual([
      { ...EIP, result: 'associated-elsewhere', associatedWith: 'eni-0999999999999999a' },
      { ...EIP2, result: 'address-gone' },
    ]);
  });

  it('names the instance an Elastic IP is associated with now when it has no interface', async () => {
    // Prepare
    const disassociated = await disassociate([associatedAt(EIP, 1)]);
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId, PublicIp: EIP.publicIp, AssociationId: 'eipassoc-9', InstanceId: 'i-0ffffffffffffffff' }] });

    // Act
    const result = await reassociate.run(anUndoContext(disassociateElasticIps, disassociated, { resource: twoEnis() }));

    // Assess
    expect(result.summary).toBe('left alone (now associated elsewhere): 203.0.113.10 with i-0ffffffffffffffff');
  });

  it('changes nothing for an Elastic IP already back on its interface (idempotent)', async () => {
    // Prepare
    const disassociated = await disassociate([associatedAt(EIP, 1)]);
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId, AssociationId: 'eipassoc-1', NetworkInterfaceId: ENI, PrivateIpAddress: '10.20.1.34' }] });

    // Act
    const result = await reassociate.run(anUndoContext(disassociateElasticIps, disassociated, { resource: twoEnis() }));

    // Assess
    expect(ec2Mock.commandCalls(AssociateAddressCommand)).toHaveLength(0);
    expect(result).toMatchObject({ status: 'done', summary: '203.0.113.10 already associated' });
  });

  it('does not expose another host: leaves an address whose interface or private address the instance no longer has', async () => {
    // Prepare
    const disassociated = await disassociate([associatedAt(EIP, 1), associatedAt(EIP2, 2)]);
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId }, { AllocationId: EIP2.allocationId }] });
    const now = anInstance({ networkInterfaces: [{ networkInterfaceId: ENI2, groupIds: [ISO], privateIps: ['10.20.2.7'], requesterManaged: false, deviceIndex: 0 }] });

    // Act
    const result = await reassociate.run(anUndoContext(disassociateElasticIps, disassociated, { resource: now }));

    // Assess
    expect(ec2Mock.commandCalls(AssociateAddressCommand)).toHaveLength(0);
    expect(result.summary).toBe('left alone (interface no longer on the instance): 203.0.113.10; left alone (private address no longer on the interface): 203.0.113.11');
  });

  it('leaves an Elastic IP that someone associated between the check and the call', async () => {
    // Prepare
    const disassociated = await disassociate([associatedAt(EIP, 1)]);
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId }] });
    ec2Mock.on(AssociateAddressCommand).rejects(awsError('Resource.AlreadyAssociated'));

    // Act
    const result = await reassociate.run(anUndoContext(disassociateElasticIps, disassociated, { resource: twoEnis() }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', summary: 'left alone (now associated elsewhere): 203.0.113.10' });
  });

  it('fails on any other error', async () => {
    // Prepare
    const disassociated = await disassociate([associatedAt(EIP, 1)]);
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId }] });
    ec2Mock.on(AssociateAddressCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));

    // Act
    const run = reassociate.run(anUndoContext(disassociateElasticIps, disassociated, { resource: twoEnis() }));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });

  it('restores nothing when the instance is gone', async () => {
    // Prepare
    const disassociated = await disassociate([associatedAt(EIP, 1)]);

    // Act
    const result = await reassociate.run(gone(anUndoContext(disassociateElasticIps, disassociated)));

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} no longer exists: nothing to restore`, data: { instanceGone: true } });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('leaves alone an address recorded without an allocation id, which cannot be associated back', async () => {
    // Prepare
    const classic = { PublicIp: '198.51.100.7', AssociationId: 'eipassoc-c', NetworkInterfaceId: ENI };
    const onlyClassic = await disassociate([classic]);
    const mixed = await disassociate([classic, associatedAt(EIP2, 2)]);
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP2.allocationId }] });
    ec2Mock.on(AssociateAddressCommand).resolves({ AssociationId: 'eipassoc-2' });

    // Act
    const nothing = await reassociate.run(anUndoContext(disassociateElasticIps, onlyClassic, { resource: twoEnis() }));
    const some = await reassociate.run(anUndoContext(disassociateElasticIps, mixed, { resource: twoEnis() }));

    // Assess
    expect(nothing).toEqual({ status: 'skipped', summary: 'left alone (no allocation id and interface recorded to associate it back to): 198.51.100.7' });
    expect(some).toMatchObject({
      status: 'done',
      summary: `reassociated 203.0.113.11 → ${ENI2} (10.20.2.8); left alone (no allocation id and interface recorded to associate it back to): 198.51.100.7`,
    });
    expect(ec2Mock.commandCalls(AssociateAddressCommand).map((c) => c.args[0].input.AllocationId)).toEqual([EIP2.allocationId]);
  });
});

// ELBv2 target groups

const tg = (name: string) => `arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/${name}/0123456789abcdef`;

/** Runs deregisterFromTargetGroups against mocked ELBv2, the instance registered as these targets; returns what it recorded. */
async function deregister(resource: Ec2Instance, registered: Array<{ name: string; type: 'instance' | 'ip'; target: TargetDescription }>) {
  elbv2Mock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: registered.map((r) => ({ TargetGroupArn: tg(r.name), TargetType: r.type, VpcId: VPC_ID })) });
  for (const r of registered) elbv2Mock.on(DescribeTargetHealthCommand, { TargetGroupArn: tg(r.name) }).resolves({ TargetHealthDescriptions: [{ Target: r.target, TargetHealth: { State: 'healthy' } }] });
  elbv2Mock.on(DeregisterTargetsCommand).resolves({});
  const result = await deregisterFromTargetGroups.run(aStepContext({ resource }));
  elbv2Mock.reset();
  return result;
}
const reregister = deregisterFromTargetGroups.undo!;

describe('Undo: reregisterTargets', () => {
  it('registers the instance again with the same port, and its IP targets with their Availability Zone', async () => {
    // Prepare
    const deregistered = await deregister(twoEnis(), [
      { name: 'web', type: 'instance', target: { Id: INSTANCE_ID, Port: 8080 } },
      { name: 'by-ip', type: 'ip', target: { Id: '10.20.2.8', Port: 443, AvailabilityZone: 'all' } },
    ]);
    elbv2Mock.on(RegisterTargetsCommand).resolves({});

    // Act
    const result = await reregister.run(anUndoContext(deregisterFromTargetGroups, deregistered, { resource: twoEnis() }));

    // Assess
    expect(elbv2Mock.commandCalls(RegisterTargetsCommand).map((c) => c.args[0].input)).toEqual([
      { TargetGroupArn: tg('web'), Targets: [{ Id: INSTANCE_ID, Port: 8080 }] },
      { TargetGroupArn: tg('by-ip'), Targets: [{ Id: '10.20.2.8', Port: 443, AvailabilityZone: 'all' }] },
    ]);
    expect(result).toMatchObject({ status: 'done', summary: `registered again in web (instance ${INSTANCE_ID}:8080), by-ip (ip 10.20.2.8:443)` });
  });

  it('does not register an IP the instance no longer has, and notes a deleted target group', async () => {
    // Prepare
    const then = anInstance({ networkInterfaces: [{ networkInterfaceId: ENI, groupIds: [ISO], privateIps: ['10.20.9.9'], requesterManaged: false, deviceIndex: 0 }] });
    const deregistered = await deregister(then, [
      { name: 'by-ip', type: 'ip', target: { Id: '10.20.9.9' } },
      { name: 'web', type: 'instance', target: { Id: INSTANCE_ID } },
    ]);
    elbv2Mock.on(RegisterTargetsCommand).rejects(awsError('TargetGroupNotFoundException'));

    // Act
    const result = await reregister.run(anUndoContext(deregisterFromTargetGroups, deregistered, { resource: twoEnis() }));

    // Assess
    expect(elbv2Mock.commandCalls(RegisterTargetsCommand).map((c) => c.args[0].input.TargetGroupArn)).toEqual([tg('web')]);
    expect(result).toMatchObject({ status: 'skipped', summary: `target group web (instance ${INSTANCE_ID}) no longer exists; left alone: by-ip (ip 10.20.9.9) is no longer the instance's` });
  });

  it('fails on any other error', async () => {
    // Prepare
    const deregistered = await deregister(anInstance(), [{ name: 'web', type: 'instance', target: { Id: INSTANCE_ID } }]);
    elbv2Mock.on(RegisterTargetsCommand).rejects(awsError('Throttling'));

    // Act
    const run = reregister.run(anUndoContext(deregisterFromTargetGroups, deregistered));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'Throttling' });
  });

  it('restores nothing when the instance is gone', async () => {
    // Prepare
    const deregistered = await deregister(anInstance(), [{ name: 'web', type: 'instance', target: { Id: INSTANCE_ID } }]);

    // Act
    const result = await reregister.run(gone(anUndoContext(deregisterFromTargetGroups, deregistered)));

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} no longer exists: nothing to restore`, data: { instanceGone: true } });
    expect(elbv2Mock.calls()).toHaveLength(0);
  });
});

// Classic Load Balancers

/** Runs deregisterFromClassicLoadBalancers against mocked ELB, the instance registered with `names`; returns what it recorded. */
async function deregisterClassic(names: string[]) {
  elbMock.on(DescribeLoadBalancersCommand).resolves({ LoadBalancerDescriptions: names.map((LoadBalancerName) => ({ LoadBalancerName, Instances: [{ InstanceId: INSTANCE_ID }] })) });
  elbMock.on(DeregisterInstancesFromLoadBalancerCommand).resolves({});
  const result = await deregisterFromClassicLoadBalancers.run(aStepContext());
  elbMock.reset();
  return result;
}
const reregisterClassic = deregisterFromClassicLoadBalancers.undo!;

describe('Undo: reregisterClassicLoadBalancers', () => {
  it('registers the instance again with each Classic Load Balancer, noting those deleted since', async () => {
    // Prepare
    const deregistered = await deregisterClassic(['legacy', 'gone']);
    elbMock
      .on(RegisterInstancesWithLoadBalancerCommand, { LoadBalancerName: 'legacy' })
      .resolves({})
      .on(RegisterInstancesWithLoadBalancerCommand, { LoadBalancerName: 'gone' })
      .rejects(awsError('AccessPointNotFoundException'));

    // Act
    const result = await reregisterClassic.run(anUndoContext(deregisterFromClassicLoadBalancers, deregistered));

    // Assess
    expect(elbMock.commandCalls(RegisterInstancesWithLoadBalancerCommand).map((c) => c.args[0].input)).toEqual([
      { LoadBalancerName: 'legacy', Instances: [{ InstanceId: INSTANCE_ID }] },
      { LoadBalancerName: 'gone', Instances: [{ InstanceId: INSTANCE_ID }] },
    ]);
    expect(result).toMatchObject({ status: 'done', summary: 'registered again with legacy; no longer exist: gone' });
  });

  it('restores nothing, and says so, when every load balancer was deleted since', async () => {
    // Prepare
    const deregistered = await deregisterClassic(['gone']);
    elbMock.on(RegisterInstancesWithLoadBalancerCommand).rejects(awsError('LoadBalancerNotFound'));

    // Act
    const result = await reregisterClassic.run(anUndoContext(deregisterFromClassicLoadBalancers, deregistered));

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: 'no longer exist: gone', data: { loadBalancers: [{ loadBalancerName: 'gone', result: 'load-balancer-gone' }] } });
  });

  it('fails on any other error', async () => {
    // Prepare
    const deregistered = await deregisterClassic(['legacy']);
    elbMock.on(RegisterInstancesWithLoadBalancerCommand).rejects(awsError('Throttling'));

    // Act
    const run = reregisterClassic.run(anUndoContext(deregisterFromClassicLoadBalancers, deregistered));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'Throttling' });
  });

  it('restores nothing when the instance is gone', async () => {
    // Prepare
    const deregistered = await deregisterClassic(['legacy']);

    // Act
    const result = await reregisterClassic.run(gone(anUndoContext(deregisterFromClassicLoadBalancers, deregistered)));

    // Assess
    expect(result.status).toBe('skipped');
    expect(elbMock.calls()).toHaveLength(0);
  });
});

// Auto Scaling

/** Runs detachFromAutoScalingGroup against mocked Auto Scaling, the instance InService in web-asg; returns what it recorded. */
async function detach() {
  asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE_ID, AutoScalingGroupName: 'web-asg', LifecycleState: 'InService' } as never] });
  asgMock.on(DetachInstancesCommand).resolves({});
  const result = await detachFromAutoScalingGroup.run(aStepContext());
  asgMock.reset();
  return result;
}
const reattach = detachFromAutoScalingGroup.undo!;
const asked = { requestedBy: RESPONDER, reason: 'false positive', reattach: true, via: 'cli' as const };

describe('Undo: reattachToAutoScalingGroup', () => {
  it('leaves the instance out of its group unless asked (--reattach)', async () => {
    // Prepare
    const detached = await detach();

    // Act
    const result = await reattach.run(anUndoContext(detachFromAutoScalingGroup, detached));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toMatch(/^not asked \(--reattach\): i-0a1b2c3d4e5f67890 stays out of web-asg/);
    expect(result.data).toEqual({ autoScalingGroupName: 'web-asg', notAsked: true });
    expect(asgMock.calls()).toHaveLength(0);
  });

  it('attaches the instance again when asked, recording that desired capacity rose by one', async () => {
    // Prepare
    const detached = await detach();
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce({ AutoScalingGroups: [{ AutoScalingGroupName: 'web-asg', DesiredCapacity: 2, MaxSize: 4 } as never] })
      .resolves({ AutoScalingGroups: [{ AutoScalingGroupName: 'web-asg', DesiredCapacity: 3, MaxSize: 4 } as never] });
    asgMock.on(AttachInstancesCommand).resolves({});

    // Act
    const result = await reattach.run(anUndoContext(detachFromAutoScalingGroup, detached, { request: asked }));

    // Assess
    expect(asgMock.commandCalls(AttachInstancesCommand).map((c) => c.args[0].input)).toEqual([{ AutoScalingGroupName: 'web-asg', InstanceIds: [INSTANCE_ID] }]);
    expect(result).toEqual({
      status: 'done',
      summary: `${INSTANCE_ID} attached to web-asg; desired capacity 2 → 3 (lower it again if the replacement should go)`,
      data: { autoScalingGroupName: 'web-asg', desiredBefore: 2, desiredAfter: 3 },
    });
  });

  it('assumes desired capacity rose by one when the group cannot be read again after attaching', async () => {
    // Prepare
    const detached = await detach();
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({});
    asgMock
      .on(DescribeAutoScalingGroupsCommand)
      .resolvesOnce({ AutoScalingGroups: [{ AutoScalingGroupName: 'web-asg' } as never] })
      .resolves({ AutoScalingGroups: [] });
    asgMock.on(AttachInstancesCommand).resolves({});

    // Act
    const result = await reattach.run(anUndoContext(detachFromAutoScalingGroup, detached, { request: asked }));

    // Assess
    expect(result.data).toEqual({ autoScalingGroupName: 'web-asg', desiredBefore: 0, desiredAfter: 1 });
  });

  it('does nothing when the instance is already back in its group (idempotent)', async () => {
    // Prepare
    const detached = await detach();
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE_ID, AutoScalingGroupName: 'web-asg' } as never] });

    // Act
    const result = await reattach.run(anUndoContext(detachFromAutoScalingGroup, detached, { request: asked }));

    // Assess
    expect(asgMock.commandCalls(AttachInstancesCommand)).toHaveLength(0);
    expect(result).toMatchObject({ status: 'done', summary: `${INSTANCE_ID} is already in web-asg` });
  });

  it('leaves alone an instance someone put in another group', async () => {
    // Prepare
    const detached = await detach();
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE_ID, AutoScalingGroupName: 'quarantine-asg' } as never] });

    // Act
    const result = await reattach.run(anUndoContext(detachFromAutoScalingGroup, detached, { request: asked }));

    // Assess
    expect(asgMock.commandCalls(AttachInstancesCommand)).toHaveLength(0);
    expect(result).toMatchObject({ status: 'skipped', summary: `left alone: ${INSTANCE_ID} is now in another Auto Scaling group, quarantine-asg` });
  });

  it('fails permanently, saying what to do, for a stopped instance or a group at its maximum', async () => {
    // Prepare
    const detached = await detach();
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({});
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ AutoScalingGroupName: 'web-asg', DesiredCapacity: 4, MaxSize: 4 } as never] });

    // Act
    const stopped = reattach.run(anUndoContext(detachFromAutoScalingGroup, detached, { request: asked, resource: anInstance({ state: 'stopped' }) }));
    const full = reattach.run(anUndoContext(detachFromAutoScalingGroup, detached, { request: asked }));

    // Assess
    await expect(stopped).rejects.toThrow(StepFailedError);
    await expect(stopped).rejects.toMatchObject({ code: 'InstanceNotRunning', retryable: false, message: expect.stringContaining('start it, then release again with --reattach') });
    await expect(full).rejects.toMatchObject({ code: 'GroupAtMaximum', retryable: false, message: expect.stringContaining('above its maximum of 4') });
    expect(asgMock.commandCalls(AttachInstancesCommand)).toHaveLength(0);
  });

  it('notes a group deleted since, and restores nothing for an instance that is gone', async () => {
    // Prepare
    const detached = await detach();
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({});
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });

    // Act
    const groupGone = await reattach.run(anUndoContext(detachFromAutoScalingGroup, detached, { request: asked }));
    const instanceGone = await reattach.run(gone(anUndoContext(detachFromAutoScalingGroup, detached, { request: asked })));

    // Assess
    expect(groupGone).toMatchObject({ status: 'skipped', summary: 'Auto Scaling group web-asg no longer exists: nothing to reattach to', data: { groupGone: true } });
    expect(instanceGone).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} no longer exists: nothing to restore`, data: { instanceGone: true } });
    expect(asgMock.commandCalls(AttachInstancesCommand)).toHaveLength(0);
  });
});

// Through the engine: an undo runs only after its step finished `done`.

/** Releases through the engine what containment recorded, with a playbook of only `playbookSteps`; describe finds two ENIs unless told otherwise. */
const releaseThroughEngine = (steps: Record<string, StepOutcome>, playbookSteps: AnyStep<Ec2>[], options: Parameters<typeof releaseWithStepsOf>[2] = {}) =>
  releaseWithStepsOf(steps, playbookSteps, { resource: twoEnis(), ...options });

/** A step's outcome as the engine records it from the step's run against the mocks set up now. */
const outcomeOf = (step: AnyStep<Ec2>, resource = twoEnis()): Promise<StepOutcome> =>
  executeStep({ name: step.name, description: step.description, stage: 'contain', now: () => FIXED_NOW, logger: silentLogger() }, () => step.run(aStepContext({ resource })));

const MEMBERSHIP = [detachFromAutoScalingGroup, deregisterFromTargetGroups, deregisterFromClassicLoadBalancers, disassociateElasticIps];
const undoNames = MEMBERSHIP.map((s) => s.undo!.name);
const anyCalls = () => [ec2Mock, asgMock, elbv2Mock, elbMock].reduce((n, m) => n + m.calls().length, 0);

describe('Release: membership undos through the engine', () => {
  it('keeps the names the ledger records the undos under', () => {
    // Assess
    expect(MEMBERSHIP.map((s) => [s.name, s.undo?.name])).toEqual([
      ['detachFromAutoScalingGroup', 'reattachToAutoScalingGroup'],
      ['deregisterFromTargetGroups', 'reregisterTargets'],
      ['deregisterFromClassicLoadBalancers', 'reregisterClassicLoadBalancers'],
      ['disassociateElasticIps', 'reassociateElasticIps'],
    ]);
    expect(MEMBERSHIP.map((s) => s.undo!.iamActions)).toEqual([
      ['autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeAutoScalingGroups', 'autoscaling:AttachInstances'],
      ['elasticloadbalancing:RegisterTargets'],
      ['elasticloadbalancing:RegisterInstancesWithLoadBalancer'],
      ['ec2:DescribeAddresses', 'ec2:AssociateAddress'],
    ]);
  });

  it('puts the instance back everywhere containment took it out, from the outcomes it recorded', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE_ID, AutoScalingGroupName: 'web-asg', LifecycleState: 'InService' } as never] });
    asgMock.on(DetachInstancesCommand).resolves({});
    const detached = await outcomeOf(detachFromAutoScalingGroup);
    elbv2Mock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tg('web'), TargetType: 'instance' }] });
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ Target: { Id: INSTANCE_ID, Port: 80 } }] });
    elbv2Mock.on(DeregisterTargetsCommand).resolves({});
    const deregistered = await outcomeOf(deregisterFromTargetGroups);
    elbMock.on(DescribeLoadBalancersCommand).resolves({ LoadBalancerDescriptions: [{ LoadBalancerName: 'legacy', Instances: [{ InstanceId: INSTANCE_ID }] }] });
    elbMock.on(DeregisterInstancesFromLoadBalancerCommand).resolves({});
    const deregisteredClassic = await outcomeOf(deregisterFromClassicLoadBalancers);
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [associatedAt(EIP, 1)] }).on(DisassociateAddressCommand).resolves({});
    const disassociated = await outcomeOf(disassociateElasticIps);
    resetAll();
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({});
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ AutoScalingGroupName: 'web-asg', DesiredCapacity: 2, MaxSize: 4 } as never] });
    asgMock.on(AttachInstancesCommand).resolves({});
    elbv2Mock.on(RegisterTargetsCommand).resolves({});
    elbMock.on(RegisterInstancesWithLoadBalancerCommand).resolves({});
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AllocationId: EIP.allocationId }] }).on(AssociateAddressCommand).resolves({});
    const steps = {
      detachFromAutoScalingGroup: detached,
      deregisterFromTargetGroups: deregistered,
      deregisterFromClassicLoadBalancers: deregisteredClassic,
      disassociateElasticIps: disassociated,
    };

    // Act
    const summary = await releaseThroughEngine(steps, MEMBERSHIP, { reattach: true });

    // Assess
    expect(summary.outcome).toBe('released');
    expect(undoNames.map((name) => summary.steps[name]?.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(asgMock.commandCalls(AttachInstancesCommand)).toHaveLength(1);
    expect(elbv2Mock.commandCalls(RegisterTargetsCommand).map((c) => c.args[0].input)).toEqual([{ TargetGroupArn: tg('web'), Targets: [{ Id: INSTANCE_ID, Port: 80 }] }]);
    expect(elbMock.commandCalls(RegisterInstancesWithLoadBalancerCommand)).toHaveLength(1);
    expect(ec2Mock.commandCalls(AssociateAddressCommand)).toHaveLength(1);
  });

  it('puts the instance back from a record the previous version wrote (test/fixtures/ledger/v1/ec2-contained.json)', async () => {
    // Prepare
    const v1 = ledgerFixture('v1/ec2-contained.json');
    const capture = Ec2CaptureSchema.parse(v1.capture);
    const incident = anIncident({ resource: { type: 'Instance', id: v1.resourceId, hints: {} } });
    const resource = anInstance({ instanceId: v1.resourceId, vpcId: capture.vpcId!, networkInterfaces: capture.networkInterfaces });
    const { autoScalingGroupName } = v1.steps.detachFromAutoScalingGroup.data as { autoScalingGroupName: string };
    const { addresses } = v1.steps.disassociateElasticIps.data as { addresses: Array<{ allocationId: string; networkInterfaceId: string; privateIpAddress: string }> };
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({});
    asgMock.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [{ AutoScalingGroupName: autoScalingGroupName, DesiredCapacity: 1, MaxSize: 3 } as never] });
    asgMock.on(AttachInstancesCommand).resolves({});
    elbv2Mock.on(RegisterTargetsCommand).resolves({});
    elbMock.on(RegisterInstancesWithLoadBalancerCommand).resolves({});
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: addresses.map((a) => ({ AllocationId: a.allocationId })) }).on(AssociateAddressCommand).resolves({});

    // Act
    const summary = await releaseThroughEngine(v1.steps, MEMBERSHIP, { incident, resource, reattach: true });

    // Assess
    expect(undoNames.map((name) => summary.steps[name]?.status)).toEqual(['done', 'done', 'done', 'done']);
    expect(asgMock.commandCalls(AttachInstancesCommand).map((c) => c.args[0].input)).toEqual([{ AutoScalingGroupName: autoScalingGroupName, InstanceIds: [v1.resourceId] }]);
    expect(elbv2Mock.commandCalls(RegisterTargetsCommand).map((c) => c.args[0].input.Targets)).toEqual(
      expect.arrayContaining([[{ Id: '10.0.1.4', Port: 80 }], [{ Id: v1.resourceId, Port: 80 }]]),
    );
    expect(elbMock.commandCalls(RegisterInstancesWithLoadBalancerCommand).map((c) => c.args[0].input.LoadBalancerName)).toEqual(v1.steps.deregisterFromClassicLoadBalancers.data.loadBalancerNames);
    expect(ec2Mock.commandCalls(AssociateAddressCommand).map((c) => c.args[0].input)).toEqual(
      addresses.map((a) => ({ AllocationId: a.allocationId, NetworkInterfaceId: a.networkInterfaceId, PrivateIpAddress: a.privateIpAddress, AllowReassociation: false })),
    );
  });

  it('restores nothing, touching nothing, where containment found nothing to take the instance out of', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    elbv2Mock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [] });
    elbMock.on(DescribeLoadBalancersCommand).resolves({ LoadBalancerDescriptions: [] });
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [] });
    const steps: Record<string, StepOutcome> = {};
    for (const step of MEMBERSHIP) steps[step.name] = await outcomeOf(step);
    resetAll();

    // Act
    const summary = await releaseThroughEngine(steps, MEMBERSHIP, { reattach: true });

    // Assess
    expect(MEMBERSHIP.map((s) => steps[s.name]!.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(undoNames.map((name) => summary.steps[name]!.summary)).toEqual(MEMBERSHIP.map((s) => `${s.name} did not change ${INSTANCE_ID} (skipped): nothing to restore`));
    expect(anyCalls()).toBe(0);
  });

  it('restores nothing, touching nothing, where containment failed, was only planned, or never ran', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403 }));
    elbv2Mock.on(DescribeTargetGroupsCommand).rejects(awsError('AccessDenied', { httpStatusCode: 403 }));
    const steps: Record<string, StepOutcome> = {
      detachFromAutoScalingGroup: await outcomeOf(detachFromAutoScalingGroup),
      deregisterFromTargetGroups: await outcomeOf(deregisterFromTargetGroups),
      // What observe mode records: the step's IAM actions, which its schema does not describe and release never reads.
      deregisterFromClassicLoadBalancers: {
        stage: 'contain',
        status: 'planned',
        summary: `${deregisterFromClassicLoadBalancers.description} (planned in observe mode)`,
        attempts: 0,
        data: { iamActions: [...deregisterFromClassicLoadBalancers.iamActions] },
      },
    };
    resetAll();

    // Act
    const summary = await releaseThroughEngine(steps, MEMBERSHIP, { reattach: true });

    // Assess
    expect(undoNames.map((name) => summary.steps[name]!.summary)).toEqual([
      `detachFromAutoScalingGroup did not change ${INSTANCE_ID} (failed): nothing to restore`,
      `deregisterFromTargetGroups did not change ${INSTANCE_ID} (failed): nothing to restore`,
      `deregisterFromClassicLoadBalancers did not change ${INSTANCE_ID} (planned): nothing to restore`,
      `disassociateElasticIps did not change ${INSTANCE_ID} (never ran): nothing to restore`,
    ]);
    expect(summary.outcome).toBe('released');
    expect(anyCalls()).toBe(0);
  });
});
