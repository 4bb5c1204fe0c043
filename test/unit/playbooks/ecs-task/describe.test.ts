import { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, DescribeContainerInstancesCommand, DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { ResourceNotFoundError } from '../../../../shared/errors/index.ts';
import { clusterOf, describeTask } from '../../../../shared/playbooks/ecs-task/describe.ts';
import { ecsTaskPlaybook } from '../../../../shared/playbooks/ecs-task/index.ts';
import { silentLogger, someClients } from '../../helpers/factories.ts';
import { ACCOUNT, anIncident, CLUSTER_ARN, described, DIGEST, ENI, givenTask, HOST, SUBNET, TASK_ARN, TASK_GROUP, TASK_IP, TASK_ROLE_ARN, VPC } from './support.ts';

const ecs = mockClient(ECSClient);
const ec2 = mockClient(EC2Client);
afterEach(() => {
  ecs.reset();
  ec2.reset();
});

describe('Identify the affected ECS task (describeTask)', () => {
  it('reads the Fargate task the finding names: its ENI (requester-managed), groups and their rules, containers with image digests, task role', async () => {
    // Act
    const task = await described({ ecs, ec2 });

    // Assess
    expect(task).toMatchObject({
      kind: 'task',
      clusterArn: CLUSTER_ARN,
      taskArn: TASK_ARN,
      launchType: 'FARGATE',
      networkMode: 'awsvpc',
      family: 'payments-api',
      taskRoleArn: TASK_ROLE_ARN,
      interfaces: [{ networkInterfaceId: ENI, subnetId: SUBNET, vpcId: VPC, privateIps: [TASK_IP], groupIds: [TASK_GROUP], requesterManaged: true }],
      containers: [{ name: 'payments-api', imageDigest: DIGEST }],
      tags: { Environment: 'prod' },
    });
    expect(task.groupRules.map((r) => r.ruleId)).toEqual(['sgr-0000000000000in01', 'sgr-000000000000out01']);
    expect(task.hostInstanceId).toBeUndefined();
    expect(ecs.commandCalls(DescribeTasksCommand)[0]!.args[0].input).toMatchObject({ cluster: CLUSTER_ARN, tasks: [TASK_ARN] });
  });

  it('names the host of an EC2 launch type task from its container instance, never from the finding', async () => {
    // Act
    const task = await described({ ecs, ec2 }, { launchType: 'EC2', networkMode: 'bridge' }, anIncident({ hints: { instanceId: 'i-0aaaaaaaaaaaaaaaa' } }));

    // Assess
    expect(task).toMatchObject({ hostInstanceId: HOST, networkMode: 'bridge', interfaces: [], containers: [{ hostPorts: [32768] }] });
    expect(ecs.commandCalls(DescribeContainerInstancesCommand)).toHaveLength(1);
  });

  it('describes a finding that names only a cluster as the cluster, and acts on no task', async () => {
    // Prepare
    givenTask({ ecs, ec2 });
    const incident = anIncident({ clusterOnly: true });

    // Act
    const cluster = await describeTask({ incident, clients: someClients(), logger: silentLogger() });

    // Assess
    expect(incident.resource.id).toBe(CLUSTER_ARN);
    expect(cluster).toMatchObject({ kind: 'cluster', clusterArn: CLUSTER_ARN, interfaces: [], containers: [] });
    expect(ecs.commandCalls(DescribeTasksCommand)).toHaveLength(0);
    expect(ecs.commandCalls(DescribeClustersCommand)).toHaveLength(1);
  });

  it('takes the cluster from the task ARN, not from a hostile hint naming another cluster or account', () => {
    // Act + Assess
    expect(clusterOf(anIncident({ hints: { clusterArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/other` } }))).toBe(CLUSTER_ARN);
    const oldFormat = `arn:aws:ecs:us-east-1:${ACCOUNT}:task/3f6c0b2a9d8e4f7a8b1c2d3e4f5a6b7c`;
    expect(clusterOf(anIncident({ id: oldFormat, hints: { clusterArn: 'arn:aws:ecs:us-east-1:999999999999:cluster/payments-prod' } }))).toBe(`arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/default`);
    expect(clusterOf(anIncident({ id: oldFormat }))).toBe(CLUSTER_ARN);
    expect(() => clusterOf(anIncident({ id: 'arn:aws:ecs:us-east-1:999999999999:task/payments-prod/3f6c0b2a9d8e4f7a8b1c2d3e4f5a6b7c' }))).toThrow(ResourceNotFoundError);
  });

  it('is not found when ECS answers about another task than the one named (or none)', async () => {
    // Prepare
    givenTask({ ecs, ec2 });
    ecs.on(DescribeTasksCommand).resolves({ tasks: [{ taskArn: `${TASK_ARN}0` }], failures: [] });

    // Act + Assess
    await expect(describeTask({ incident: anIncident(), clients: someClients(), logger: silentLogger() })).rejects.toBeInstanceOf(ResourceNotFoundError);
  });

  it('never lets a hostile host hint become an identifier: the gates match the task, its cluster and the real host', async () => {
    // Prepare
    const task = await described({ ecs, ec2 }, { launchType: 'EC2', networkMode: 'host' }, anIncident({ hints: { instanceId: 'i-0aaaaaaaaaaaaaaaa' } }));

    // Act
    const ids = ecsTaskPlaybook.identifiers(anIncident(), task);

    // Assess
    expect(ids).toEqual([TASK_ARN, CLUSTER_ARN, '3f6c0b2a9d8e4f7a8b1c2d3e4f5a6b7c', HOST]);
  });
});
