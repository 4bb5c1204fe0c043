/** What the ECS task playbook's unit tests share: the fixture's task as ECS and EC2 describe it, incidents from the GuardDuty fixture, and typed contexts. */
import { DescribeNetworkInterfacesCommand, DescribeSecurityGroupRulesCommand, EC2Client, type SecurityGroupRule } from '@aws-sdk/client-ec2';
import { DescribeClustersCommand, DescribeContainerInstancesCommand, DescribeTaskDefinitionCommand, DescribeTasksCommand, ECSClient, type Task } from '@aws-sdk/client-ecs';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { outputsReader, parseRecorded, type ReleaseContext, type Step, type StepContext, type UndoContext } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { parseFindingMessage, type Incident } from '../../../../shared/findings/index.ts';
import { localPacer } from '../../../../shared/pacing/index.ts';
import { captureTask, describeTask, type EcsTask } from '../../../../shared/playbooks/ecs-task/describe.ts';
import { EcsTaskOptionsSchema, type EcsTaskOptions } from '../../../../shared/playbooks/ecs-task/options.ts';
import type { Ecs } from '../../../../shared/playbooks/ecs-task/types.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { aConfig, anS3Client, EVIDENCE_BUCKET, FIXED_NOW, fixtureEvent, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';

export const ACCOUNT = '111122223333';
export const CLUSTER_ARN = `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/payments-prod`;
export const TASK_ARN = `arn:aws:ecs:us-east-1:${ACCOUNT}:task/payments-prod/3f6c0b2a9d8e4f7a8b1c2d3e4f5a6b7c`;
export const TASK_DEFINITION_ARN = `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/payments-api:42`;
export const TASK_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/payments-api-task`;
export const ENI = 'eni-0a1b2c3d4e5f60718';
export const SUBNET = 'subnet-0a1b2c3d4e5f60718';
export const VPC = 'vpc-0a1b2c3d4e5f60718';
export const TASK_GROUP = 'sg-0a1b2c3d4e5f60718';
export const TASK_IP = '10.0.1.23';
export const HOST = 'i-0fedcba9876543210';
export const REMOTE_IP = '198.51.100.7';
export const DIGEST = 'sha256:4f2d1c0b9a8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170605f4';

/** The fixture's two rules of the task's group: HTTPS in from the load balancer's subnet, all out. */
export const TASK_GROUP_RULES: SecurityGroupRule[] = [
  { GroupId: TASK_GROUP, SecurityGroupRuleId: 'sgr-0000000000000in01', IsEgress: false, IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, CidrIpv4: '10.0.0.0/24', Description: 'from the ALB' },
  { GroupId: TASK_GROUP, SecurityGroupRuleId: 'sgr-000000000000out01', IsEgress: true, IpProtocol: '-1', FromPort: -1, ToPort: -1, CidrIpv4: '0.0.0.0/0' },
];

export interface TaskCase {
  networkMode?: 'awsvpc' | 'bridge' | 'host';
  launchType?: 'FARGATE' | 'EC2';
  group?: string;
  taskRoleArn?: string | null;
  lastStatus?: string;
  groupRules?: SecurityGroupRule[];
}

/** DescribeTasks' answer for the fixture's task (Fargate, awsvpc, service task), or the case's variant. */
export function awsTask(c: TaskCase = {}): Task {
  const awsvpc = (c.networkMode ?? 'awsvpc') === 'awsvpc';
  const onHost = (c.launchType ?? 'FARGATE') === 'EC2';
  return {
    taskArn: TASK_ARN,
    clusterArn: CLUSTER_ARN,
    taskDefinitionArn: TASK_DEFINITION_ARN,
    lastStatus: c.lastStatus ?? 'RUNNING',
    desiredStatus: 'RUNNING',
    launchType: c.launchType ?? 'FARGATE',
    group: c.group ?? 'service:payments-api',
    startedBy: 'ecs-svc/4736529118273645501',
    ...(onHost ? { containerInstanceArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:container-instance/payments-prod/0123456789abcdef0123456789abcdef` } : {}),
    attachments: awsvpc
      ? [{ id: 'att-1', type: 'ElasticNetworkInterface', status: 'ATTACHED', details: [{ name: 'subnetId', value: SUBNET }, { name: 'networkInterfaceId', value: ENI }, { name: 'privateIPv4Address', value: TASK_IP }] }]
      : [],
    containers: [
      {
        name: 'payments-api',
        image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/payments-api:1.14.2`,
        imageDigest: DIGEST,
        runtimeId: '3f6c0b2a9d8e4f7a8b1c2d3e4f5a6b7c-2814395716',
        lastStatus: 'RUNNING',
        networkBindings: awsvpc ? [] : [{ containerPort: 8080, hostPort: c.networkMode === 'host' ? 8080 : 32768, protocol: 'tcp' }],
      },
    ],
    tags: [{ key: 'Environment', value: 'prod' }],
  };
}

export interface Mocks {
  ecs: AwsClientStub<ECSClient>;
  ec2: AwsClientStub<EC2Client>;
}

/** ECS and EC2 answer describe for the case's task. */
export function givenTask(m: Mocks, c: TaskCase = {}): void {
  const awsvpc = (c.networkMode ?? 'awsvpc') === 'awsvpc';
  m.ecs.on(DescribeTasksCommand).resolves({ tasks: [awsTask(c)], failures: [] });
  m.ecs.on(DescribeTaskDefinitionCommand, { taskDefinition: TASK_DEFINITION_ARN }).resolves({
    taskDefinition: {
      taskDefinitionArn: TASK_DEFINITION_ARN,
      family: 'payments-api',
      revision: 42,
      networkMode: c.networkMode ?? 'awsvpc',
      ...(c.taskRoleArn === null ? {} : { taskRoleArn: c.taskRoleArn ?? TASK_ROLE_ARN }),
      executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/ecsTaskExecutionRole`,
      containerDefinitions: [{ name: 'payments-api', image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/payments-api:1.14.2` }],
    },
  });
  m.ecs.on(DescribeContainerInstancesCommand).resolves({ containerInstances: [{ ec2InstanceId: HOST, status: 'ACTIVE' }] });
  m.ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterArn: CLUSTER_ARN, clusterName: 'payments-prod', status: 'ACTIVE', tags: [{ key: 'Environment', value: 'prod' }] }] });
  m.ec2.on(DescribeNetworkInterfacesCommand, { NetworkInterfaceIds: [ENI] }).resolves({
    NetworkInterfaces: awsvpc
      ? [{ NetworkInterfaceId: ENI, SubnetId: SUBNET, VpcId: VPC, PrivateIpAddress: TASK_IP, PrivateIpAddresses: [{ PrivateIpAddress: TASK_IP, Primary: true }], Groups: [{ GroupId: TASK_GROUP, GroupName: 'payments-api' }], RequesterManaged: true, InterfaceType: 'interface', Status: 'in-use' }]
      : [],
  });
  m.ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: c.groupRules ?? TASK_GROUP_RULES });
}

/**
 * The incident of the GuardDuty fixture (a Fargate task ran a new binary), as the parser makes it,
 * with the finding's remote address (the fixture's runtime finding names none; a network finding would).
 */
export function anIncident(options: { clusterOnly?: boolean; remoteIps?: string[]; hints?: Record<string, string | string[]>; id?: string } = {}): Incident {
  const event = fixtureEvent('ecs-fargate-runtime-newbinaryexecuted.json');
  if (options.clusterOnly) delete event.detail.resource.ecsClusterDetails.taskDetails;
  const [incident] = parseFindingMessage(JSON.stringify(event));
  return {
    ...incident!,
    remoteIps: options.remoteIps ?? [REMOTE_IP],
    resource: { ...incident!.resource, ...(options.id ? { id: options.id } : {}), hints: { ...incident!.resource.hints, ...(options.hints ?? {}) } },
  };
}

/** The task as describe reads it from the mocked ECS and EC2 (so steps get what describe really returns). */
export async function described(m: Mocks, c: TaskCase = {}, incident: Incident = anIncident()): Promise<EcsTask> {
  givenTask(m, c);
  return describeTask({ incident, clients: someClients(), logger: silentLogger() });
}

export const ecsOptions = (overrides: Partial<EcsTaskOptions> = {}): EcsTaskOptions => EcsTaskOptionsSchema.parse(overrides);

type WithOutcomes = { outcomes?: Record<string, StepOutcome> };

export const handOffs: Array<{ target: { resourceType: string; id: string }; reason: string }> = [];

/** A step context for an ECS step: `resource` is what describe returned; the capture is taken from it. */
export function aTaskStepContext<D>(resource: EcsTask, incident: Incident = anIncident(), overrides: Partial<StepContext<Ecs, D>> & WithOutcomes = {}): StepContext<Ecs, D> {
  const { outcomes = {}, ...rest } = overrides;
  return {
    ...outputsReader<Ecs>(() => outcomes),
    incident,
    resource,
    capture: captureTask(resource),
    options: ecsOptions(),
    clients: someClients(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    config: aConfig({ playbook: 'ecs-task', protectedPrincipals: ['arn:aws:iam::*:role/BreakGlass*'] }),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    pacer: localPacer({ sleep: async () => undefined }),
    handOff: async (target, reason) => {
      handOffs.push({ target, reason });
      return { eventId: `handoff-${handOffs.length}` };
    },
    relate: async () => [],
    ...rest,
  } as StepContext<Ecs, D>;
}

/** A release context; `resource` is what describe finds now (undefined: the task is gone). */
export function aTaskReleaseContext(resource: EcsTask | undefined, incident: Incident = anIncident(), capturedFrom: EcsTask | undefined = resource, overrides: WithOutcomes = {}): ReleaseContext<Ecs> {
  return {
    ...outputsReader<Ecs>(() => overrides.outcomes ?? {}),
    incident,
    capture: capturedFrom ? captureTask(capturedFrom) : { kind: 'task', clusterArn: CLUSTER_ARN, interfaces: [], groupRules: [], tags: {} },
    request: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, via: 'cli' },
    resource: async () => resource,
    clients: someClients(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    released: {},
  };
}

/** What a step's undo receives after the step ran: its data through a JSON round trip and the step's schema, as the engine reads it. */
export function recordedBy<D>(step: Step<Ecs, D>, result: { status: string; data?: unknown }): D {
  if (result.status !== 'done') throw new Error(`${step.name} returned ${result.status}: an undo runs only after done`);
  return parseRecorded(step, result.data === undefined ? undefined : JSON.parse(JSON.stringify(result.data)));
}

export function anUndoContext<D>(step: Step<Ecs, D>, result: { status: string; data?: unknown }, resource: EcsTask | undefined, incident: Incident = anIncident()): UndoContext<Ecs, D> {
  return { ...aTaskReleaseContext(resource, incident), recorded: recordedBy(step, result) };
}

/** A recorded outcome, as the engine keeps it. */
export const outcome = (status: StepOutcome['status'], data?: unknown): StepOutcome => ({ stage: 'contain', status, summary: status, attempts: 1, ...(data === undefined ? {} : { data: JSON.parse(JSON.stringify(data)) }) });
