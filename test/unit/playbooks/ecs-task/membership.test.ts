import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient, GetTaskProtectionCommand, UpdateTaskProtectionCommand } from '@aws-sdk/client-ecs';
import { DeregisterTargetsCommand, DescribeTargetGroupsCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { deregisterTaskFromTargetGroups, protectTaskFromScaleIn } from '../../../../shared/playbooks/ecs-task/membership.ts';
import { anUndoContext, aTaskStepContext, CLUSTER_ARN, described, ecsOptions, HOST, TASK_ARN, TASK_IP, VPC } from './support.ts';

const ecs = mockClient(ECSClient);
const ec2 = mockClient(EC2Client);
const elbv2 = mockClient(ElasticLoadBalancingV2Client);
afterEach(() => {
  ecs.reset();
  ec2.reset();
  elbv2.reset();
});

const IP_GROUP = 'arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/payments/0123456789abcdef';
const INSTANCE_GROUP = 'arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/payments-bridge/fedcba9876543210';

function givenTargetGroups() {
  elbv2.on(DescribeTargetGroupsCommand).resolves({
    TargetGroups: [
      { TargetGroupArn: IP_GROUP, TargetType: 'ip', VpcId: VPC },
      { TargetGroupArn: INSTANCE_GROUP, TargetType: 'instance', VpcId: VPC },
    ],
  });
  elbv2.on(DescribeTargetHealthCommand, { TargetGroupArn: IP_GROUP }).resolves({
    TargetHealthDescriptions: [
      { Target: { Id: TASK_IP, Port: 8080 }, TargetHealth: { State: 'healthy' } },
      { Target: { Id: '10.0.1.99', Port: 8080 }, TargetHealth: { State: 'healthy' } },
    ],
  });
  elbv2.on(DescribeTargetHealthCommand, { TargetGroupArn: INSTANCE_GROUP }).resolves({
    TargetHealthDescriptions: [
      { Target: { Id: HOST, Port: 32768 }, TargetHealth: { State: 'healthy' } },
      { Target: { Id: HOST, Port: 32769 }, TargetHealth: { State: 'healthy' } },
    ],
  });
}

describe('Take the task out of its load balancers (deregisterTaskFromTargetGroups)', () => {
  it('deregisters the task\'s IP from every IP target group, and nobody else', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenTargetGroups();

    // Act
    const result = await deregisterTaskFromTargetGroups.run(aTaskStepContext(task));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { registrations: [{ targetGroupArn: IP_GROUP, targetType: 'ip', id: TASK_IP, port: 8080 }] } });
    expect(elbv2.commandCalls(DeregisterTargetsCommand).map((c) => c.args[0].input)).toEqual([{ TargetGroupArn: IP_GROUP, Targets: [{ Id: TASK_IP, Port: 8080 }] }]);
  });

  it('deregisters a bridge task\'s host only on the task\'s own host port', async () => {
    // Prepare
    const task = await described({ ecs, ec2 }, { launchType: 'EC2', networkMode: 'bridge' });
    givenTargetGroups();

    // Act
    const result = await deregisterTaskFromTargetGroups.run(aTaskStepContext(task));

    // Assess
    expect(elbv2.commandCalls(DeregisterTargetsCommand).map((c) => c.args[0].input)).toEqual([{ TargetGroupArn: INSTANCE_GROUP, Targets: [{ Id: HOST, Port: 32768 }] }]);
    expect(result.status).toBe('done');
  });

  it('release registers the task again where it still has that address', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenTargetGroups();
    const result = await deregisterTaskFromTargetGroups.run(aTaskStepContext(task));

    // Act
    const released = await deregisterTaskFromTargetGroups.undo!.run(anUndoContext(deregisterTaskFromTargetGroups, result, task));

    // Assess
    expect(released.status).toBe('done');
    expect(elbv2.commandCalls(RegisterTargetsCommand).map((c) => c.args[0].input)).toEqual([{ TargetGroupArn: IP_GROUP, Targets: [{ Id: TASK_IP, Port: 8080 }] }]);
  });

  it('release registers nothing for a task that has stopped (its address may be another task\'s now)', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    givenTargetGroups();
    const result = await deregisterTaskFromTargetGroups.run(aTaskStepContext(task));
    const stopped = await described({ ecs, ec2 }, { lastStatus: 'STOPPED' });

    // Act
    const released = await deregisterTaskFromTargetGroups.undo!.run(anUndoContext(deregisterTaskFromTargetGroups, result, stopped));

    // Assess
    expect(released.status).toBe('skipped');
    expect(elbv2.commandCalls(RegisterTargetsCommand)).toHaveLength(0);
  });
});

describe('Protect the task from scale-in (protectTaskFromScaleIn)', () => {
  const expiry = new Date('2025-06-21T15:00:00.000Z');

  it('protects a service task for task_protection_minutes (at most 48 h) and records the expiry', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    ecs.on(UpdateTaskProtectionCommand).resolves({ protectedTasks: [{ taskArn: TASK_ARN, protectionEnabled: true, expirationDate: expiry }], failures: [] });

    // Act
    const result = await protectTaskFromScaleIn.run(aTaskStepContext(task, undefined, { options: ecsOptions({ task_protection_minutes: 2880 }) }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { service: 'payments-api', expiresInMinutes: 2880, expirationDate: expiry.toISOString() } });
    expect(ecs.commandCalls(UpdateTaskProtectionCommand)[0]!.args[0].input).toEqual({ cluster: CLUSTER_ARN, tasks: [TASK_ARN], protectionEnabled: true, expiresInMinutes: 2880 });
  });

  it('does not protect a standalone task, and records ECS\'s TASK_NOT_VALID', async () => {
    // Prepare
    const standalone = await described({ ecs, ec2 }, { group: 'family:payments-api' });
    const inService = await described({ ecs, ec2 });
    ecs.on(UpdateTaskProtectionCommand).resolves({ protectedTasks: [], failures: [{ arn: TASK_ARN, reason: 'TASK_NOT_VALID' }] });

    // Act
    const skipped = await protectTaskFromScaleIn.run(aTaskStepContext(standalone));
    const refused = await protectTaskFromScaleIn.run(aTaskStepContext(inService));

    // Assess
    expect(skipped).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/service tasks only/) });
    expect(refused).toMatchObject({ status: 'skipped', data: { failure: 'TASK_NOT_VALID' } });
    expect(ecs.commandCalls(UpdateTaskProtectionCommand)).toHaveLength(1);
  });

  it('release lifts the protection it set, and leaves one someone extended since', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    ecs.on(UpdateTaskProtectionCommand).resolves({ protectedTasks: [{ taskArn: TASK_ARN, protectionEnabled: true, expirationDate: expiry }], failures: [] });
    const result = await protectTaskFromScaleIn.run(aTaskStepContext(task));
    ecs.on(GetTaskProtectionCommand).resolvesOnce({ protectedTasks: [{ taskArn: TASK_ARN, protectionEnabled: true, expirationDate: expiry }] }).resolvesOnce({ protectedTasks: [{ taskArn: TASK_ARN, protectionEnabled: true, expirationDate: new Date('2025-06-22T15:00:00.000Z') }] });

    // Act
    const lifted = await protectTaskFromScaleIn.undo!.run(anUndoContext(protectTaskFromScaleIn, result, task));
    const left = await protectTaskFromScaleIn.undo!.run(anUndoContext(protectTaskFromScaleIn, result, task));

    // Assess
    expect(lifted).toMatchObject({ status: 'done', data: { result: 'lifted' } });
    expect(left).toMatchObject({ status: 'skipped', data: { result: 'changed-since' } });
    expect(ecs.commandCalls(UpdateTaskProtectionCommand).slice(1).map((c) => c.args[0].input)).toEqual([{ cluster: CLUSTER_ARN, tasks: [TASK_ARN], protectionEnabled: false }]);
  });
});
