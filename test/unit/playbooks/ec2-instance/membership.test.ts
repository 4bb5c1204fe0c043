import { AutoScalingClient, DescribeAutoScalingInstancesCommand, DetachInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeAddressesCommand, DisassociateAddressCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DeregisterInstancesFromLoadBalancerCommand, DescribeLoadBalancersCommand, ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deregisterFromClassicLoadBalancers,
  deregisterFromTargetGroups,
  detachFromAutoScalingGroup,
  disassociateElasticIps,
} from '../../../../shared/playbooks/ec2-instance/membership.ts';
import { anInstance, aStepContext, awsError, INSTANCE_ID, recordedBy, VPC_ID } from '../../helpers/factories.ts';

const asgMock = mockClient(AutoScalingClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const elbMock = mockClient(ElasticLoadBalancingClient);
const ec2Mock = mockClient(EC2Client);
afterEach(() => {
  asgMock.reset();
  elbv2Mock.reset();
  elbMock.reset();
  ec2Mock.reset();
});

const tgArn = (name: string) => `arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/${name}/0123456789abcdef`;

describe('Step: detachFromAutoScalingGroup', () => {
  it('detaches the instance from its Auto Scaling group without reducing capacity', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand, { InstanceIds: [INSTANCE_ID] }).resolves({
      AutoScalingInstances: [
        { InstanceId: INSTANCE_ID, AutoScalingGroupName: 'web-asg', LifecycleState: 'InService', ProtectedFromScaleIn: false, AvailabilityZone: 'us-east-1a', HealthStatus: 'HEALTHY' },
      ],
    });
    asgMock.on(DetachInstancesCommand).resolves({});

    // Act
    const result = await detachFromAutoScalingGroup.run(aStepContext());

    // Assess
    expect(asgMock.commandCalls(DetachInstancesCommand).map((c) => c.args[0].input)).toEqual([
      { AutoScalingGroupName: 'web-asg', InstanceIds: [INSTANCE_ID], ShouldDecrementDesiredCapacity: false },
    ]);
    expect(result.status).toBe('done');
    expect(result.data).toEqual({ autoScalingGroupName: 'web-asg', lifecycleStateBefore: 'InService', protectedFromScaleIn: false });
    expect(result.summary).toBe(`${INSTANCE_ID} detached from Auto Scaling group web-asg; desired capacity kept, a replacement is launched`);
    expect(recordedBy(detachFromAutoScalingGroup, result)).toEqual(result.data);
  });

  it('records a membership Auto Scaling reports without lifecycle state as the ledger keeps it', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE_ID, AutoScalingGroupName: 'web-asg' } as never] });
    asgMock.on(DetachInstancesCommand).resolves({});

    // Act
    const result = await detachFromAutoScalingGroup.run(aStepContext());

    // Assess
    expect(recordedBy(detachFromAutoScalingGroup, result)).toEqual({ autoScalingGroupName: 'web-asg' });
  });

  it('skips an instance that is in no Auto Scaling group', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });

    // Act
    const result = await detachFromAutoScalingGroup.run(aStepContext());

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} is not in an Auto Scaling group` });
    expect(asgMock.commandCalls(DetachInstancesCommand)).toHaveLength(0);
  });

  it('lets a detach failure through for the engine to classify', async () => {
    // Prepare
    asgMock.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [{ InstanceId: INSTANCE_ID, AutoScalingGroupName: 'web-asg' } as never] });
    asgMock.on(DetachInstancesCommand).rejects(awsError('Throttling', { httpStatusCode: 400 }));

    // Act
    const run = detachFromAutoScalingGroup.run(aStepContext());

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'Throttling' });
  });
});

describe('Step: deregisterFromTargetGroups', () => {
  it('deregisters the instance target and its IP targets, each with its port and zone', async () => {
    // Prepare
    elbv2Mock.on(DescribeTargetGroupsCommand).resolves({
      TargetGroups: [
        { TargetGroupArn: tgArn('web-instance'), TargetType: 'instance', VpcId: VPC_ID },
        { TargetGroupArn: tgArn('web-ip'), TargetType: 'ip', VpcId: VPC_ID },
        { TargetGroupArn: tgArn('lambda'), TargetType: 'lambda' },
        { TargetGroupArn: tgArn('other-vpc'), TargetType: 'instance', VpcId: 'vpc-0ffffffffffffffff' },
      ],
    });
    elbv2Mock
      .on(DescribeTargetHealthCommand, { TargetGroupArn: tgArn('web-instance') })
      .resolves({
        TargetHealthDescriptions: [
          { Target: { Id: INSTANCE_ID, Port: 80 }, TargetHealth: { State: 'healthy' } },
          { Target: { Id: 'i-0ffffffffffffffff', Port: 80 }, TargetHealth: { State: 'healthy' } },
        ],
      })
      .on(DescribeTargetHealthCommand, { TargetGroupArn: tgArn('web-ip') })
      .resolves({
        TargetHealthDescriptions: [
          { Target: { Id: '10.20.1.34', Port: 8080, AvailabilityZone: 'all' }, TargetHealth: { State: 'healthy' } },
          { Target: { Id: '10.20.9.9', Port: 8080 }, TargetHealth: { State: 'healthy' } },
        ],
      });
    elbv2Mock.on(DeregisterTargetsCommand).resolves({});

    // Act
    const result = await deregisterFromTargetGroups.run(aStepContext());

    // Assess
    const deregistered = elbv2Mock.commandCalls(DeregisterTargetsCommand).map((c) => c.args[0].input);
    expect(deregistered).toHaveLength(2);
    expect(deregistered).toEqual(
      expect.arrayContaining([
        { TargetGroupArn: tgArn('web-instance'), Targets: [{ Id: INSTANCE_ID, Port: 80 }] },
        { TargetGroupArn: tgArn('web-ip'), Targets: [{ Id: '10.20.1.34', Port: 8080, AvailabilityZone: 'all' }] },
      ]),
    );
    expect(elbv2Mock.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input.TargetGroupArn).sort()).toEqual([tgArn('web-instance'), tgArn('web-ip')]);
    expect(result.status).toBe('done');
    expect(result.summary).toContain('web-instance (instance i-0a1b2c3d4e5f67890)');
    expect(result.summary).toContain('web-ip (ip 10.20.1.34)');
    expect(recordedBy(deregisterFromTargetGroups, result).registrations).toEqual(
      expect.arrayContaining([
        { targetGroupArn: tgArn('web-instance'), targetType: 'instance', id: INSTANCE_ID, port: 80 },
        { targetGroupArn: tgArn('web-ip'), targetType: 'ip', id: '10.20.1.34', port: 8080, availabilityZone: 'all' },
      ]),
    );
  });

  it('follows the pages of target groups', async () => {
    // Prepare
    // The SDK's paginator reuses one input for every page, so the mock answers by marker
    // (matched when called) rather than the test reading the markers back afterwards.
    elbv2Mock
      .on(DescribeTargetGroupsCommand)
      .resolves({ TargetGroups: [{ TargetGroupArn: tgArn('page-1'), TargetType: 'instance' }], NextMarker: 'm1' })
      .on(DescribeTargetGroupsCommand, { Marker: 'm1' })
      .resolves({ TargetGroups: [{ TargetGroupArn: tgArn('page-2'), TargetType: 'instance' }] });
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ Target: { Id: INSTANCE_ID } }] });
    elbv2Mock.on(DeregisterTargetsCommand).resolves({});

    // Act
    await deregisterFromTargetGroups.run(aStepContext());

    // Assess
    expect(elbv2Mock.commandCalls(DescribeTargetGroupsCommand)).toHaveLength(2);
    expect(elbv2Mock.commandCalls(DescribeTargetGroupsCommand)[0]!.args[0].input.PageSize).toBe(400);
    expect(elbv2Mock.commandCalls(DeregisterTargetsCommand).map((c) => c.args[0].input.TargetGroupArn).sort()).toEqual([tgArn('page-1'), tgArn('page-2')]);
  });

  it('skips an instance registered in no target group (or only draining)', async () => {
    // Prepare
    elbv2Mock.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: tgArn('web'), TargetType: 'instance' }] });
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [{ Target: { Id: INSTANCE_ID, Port: 80 }, TargetHealth: { State: 'draining' } }, { TargetHealth: { State: 'healthy' } }],
    });

    // Act
    const result = await deregisterFromTargetGroups.run(aStepContext());

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} is not registered in any target group` });
    expect(elbv2Mock.commandCalls(DeregisterTargetsCommand)).toHaveLength(0);
  });

  it('looks only at target groups of instance or IP targets that have an ARN', async () => {
    // Prepare
    elbv2Mock.on(DescribeTargetGroupsCommand).resolves({
      TargetGroups: [{ TargetType: 'instance' }, { TargetGroupArn: tgArn('alb'), TargetType: 'alb' }, { TargetGroupArn: tgArn('web'), TargetType: 'instance' }],
    });
    elbv2Mock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });

    // Act
    const result = await deregisterFromTargetGroups.run(aStepContext());

    // Assess
    expect(elbv2Mock.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input.TargetGroupArn)).toEqual([tgArn('web')]);
    expect(result.status).toBe('skipped');
  });

  it('skips when the account has no target group at all', async () => {
    // Prepare
    elbv2Mock.on(DescribeTargetGroupsCommand).resolves({});

    // Act
    const result = await deregisterFromTargetGroups.run(aStepContext());

    // Assess
    expect(result.status).toBe('skipped');
    expect(elbv2Mock.commandCalls(DescribeTargetHealthCommand)).toHaveLength(0);
  });
});

describe('Step: deregisterFromClassicLoadBalancers', () => {
  it('deregisters the instance from every Classic Load Balancer it is registered with, across pages', async () => {
    // Prepare
    elbMock
      .on(DescribeLoadBalancersCommand)
      .resolves({
        LoadBalancerDescriptions: [
          { LoadBalancerName: 'legacy-web', Instances: [{ InstanceId: 'i-0ffffffffffffffff' }, { InstanceId: INSTANCE_ID }] },
          { LoadBalancerName: 'legacy-api', Instances: [{ InstanceId: 'i-0ffffffffffffffff' }] },
        ],
        NextMarker: 'next',
      })
      .on(DescribeLoadBalancersCommand, { Marker: 'next' })
      .resolves({ LoadBalancerDescriptions: [{ LoadBalancerName: 'legacy-admin', Instances: [{ InstanceId: INSTANCE_ID }] }] });
    elbMock.on(DeregisterInstancesFromLoadBalancerCommand).resolves({});

    // Act
    const result = await deregisterFromClassicLoadBalancers.run(aStepContext());

    // Assess
    expect(elbMock.commandCalls(DeregisterInstancesFromLoadBalancerCommand).map((c) => c.args[0].input)).toEqual([
      { LoadBalancerName: 'legacy-web', Instances: [{ InstanceId: INSTANCE_ID }] },
      { LoadBalancerName: 'legacy-admin', Instances: [{ InstanceId: INSTANCE_ID }] },
    ]);
    expect(elbMock.commandCalls(DescribeLoadBalancersCommand)).toHaveLength(2);
    expect(result).toEqual({ status: 'done', summary: 'deregistered from Classic Load Balancer(s) legacy-web, legacy-admin', data: { loadBalancerNames: ['legacy-web', 'legacy-admin'] } });
    expect(recordedBy(deregisterFromClassicLoadBalancers, result)).toEqual(result.data);
  });

  it('skips when no Classic Load Balancer has the instance', async () => {
    // Prepare
    elbMock.on(DescribeLoadBalancersCommand).resolves({ LoadBalancerDescriptions: [] });

    // Act
    const result = await deregisterFromClassicLoadBalancers.run(aStepContext());

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} is not registered with any Classic Load Balancer` });
    expect(elbMock.commandCalls(DeregisterInstancesFromLoadBalancerCommand)).toHaveLength(0);
  });
});

describe('Step: disassociateElasticIps', () => {
  it("disassociates every Elastic IP associated with the instance's interfaces", async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({
      Addresses: [
        { AllocationId: 'eipalloc-1', AssociationId: 'eipassoc-1', PublicIp: '54.210.33.17', NetworkInterfaceId: 'eni-0b7c1d2e3f4a5b6c7', PrivateIpAddress: '10.20.1.34' },
        { AllocationId: 'eipalloc-2', PublicIp: '54.210.33.18' },
      ],
    });
    ec2Mock.on(DisassociateAddressCommand).resolves({});

    // Act
    const result = await disassociateElasticIps.run(aStepContext());

    // Assess
    expect(ec2Mock.commandCalls(DescribeAddressesCommand)[0]!.args[0].input).toEqual({ Filters: [{ Name: 'network-interface-id', Values: ['eni-0b7c1d2e3f4a5b6c7'] }] });
    expect(ec2Mock.commandCalls(DisassociateAddressCommand).map((c) => c.args[0].input)).toEqual([{ AssociationId: 'eipassoc-1' }]);
    expect(result).toEqual({
      status: 'done',
      summary: 'disassociated Elastic IP(s) 54.210.33.17',
      data: { addresses: [{ allocationId: 'eipalloc-1', publicIp: '54.210.33.17', networkInterfaceId: 'eni-0b7c1d2e3f4a5b6c7', privateIpAddress: '10.20.1.34' }] },
    });
  });

  it('treats an association that disappeared meanwhile as done, but fails on other errors', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [{ AssociationId: 'eipassoc-1', PublicIp: '54.210.33.17' }] });
    ec2Mock.on(DisassociateAddressCommand).rejectsOnce(awsError('InvalidAssociationID.NotFound')).rejectsOnce(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));

    // Act
    const first = await disassociateElasticIps.run(aStepContext());
    const second = disassociateElasticIps.run(aStepContext());

    // Assess
    expect(first.status).toBe('done');
    // An address without allocation id or interface (EC2-Classic) is recorded as AWS described it.
    expect(recordedBy(disassociateElasticIps, first)).toEqual({ addresses: [{ publicIp: '54.210.33.17' }] });
    await expect(second).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });

  it('skips when no Elastic IP is associated', async () => {
    // Prepare
    ec2Mock.on(DescribeAddressesCommand).resolves({ Addresses: [] });

    // Act
    const result = await disassociateElasticIps.run(aStepContext());

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `no Elastic IP is associated with ${INSTANCE_ID}` });
    expect(ec2Mock.commandCalls(DisassociateAddressCommand)).toHaveLength(0);
  });

  it('skips an instance without network interfaces without calling EC2', async () => {
    // Act
    const result = await disassociateElasticIps.run(aStepContext({ resource: anInstance({ networkInterfaces: [] }) }));

    // Assess
    expect(result.status).toBe('skipped');
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});
