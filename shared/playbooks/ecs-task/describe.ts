import { DescribeNetworkInterfacesCommand, type NetworkInterface } from '@aws-sdk/client-ec2';
import {
  DescribeClustersCommand,
  DescribeContainerInstancesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  type ContainerInstance,
  type Task,
  type TaskDefinition,
} from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { rulesOf, SavedRuleSchema, type SavedRule } from '../../actions/security-group-rules.ts';
import type { DescribeContext } from '../../engine/index.ts';
import { hasErrorCode, ResourceNotFoundError } from '../../errors/index.ts';
import type { Incident } from '../../findings/index.ts';

/** A network interface of the task (awsvpc), as EC2 describes it. */
export interface TaskInterface {
  networkInterfaceId: string;
  subnetId: string;
  vpcId: string;
  privateIps: string[];
  groupIds: string[];
  /** Created and managed by ECS (Fargate and awsvpc task ENIs): EC2 refuses to change its groups. */
  requesterManaged: boolean;
  interfaceType?: string;
}

/** A container of the task, with the image digest ECS resolved (what to scan). */
export interface TaskContainer {
  name: string;
  image: string;
  imageDigest?: string;
  runtimeId?: string;
  lastStatus?: string;
  /** Ports the container is reachable on through its host (bridge and host networking). */
  hostPorts: number[];
}

/** An ECS task as the playbook sees it; `kind: 'cluster'` when the finding names only a cluster. */
export interface EcsTask {
  kind: 'task' | 'cluster';
  clusterArn: string;
  taskArn?: string;
  lastStatus?: string;
  desiredStatus?: string;
  launchType?: string;
  /** The task definition's network mode: awsvpc (its own ENI), bridge or host (the host's network), none. */
  networkMode?: string;
  group?: string;
  startedBy?: string;
  taskDefinitionArn?: string;
  family?: string;
  /** The role the containers' credentials come from (a task override wins over the definition). */
  taskRoleArn?: string;
  executionRoleArn?: string;
  containerInstanceArn?: string;
  /** The EC2 instance the task runs on (EC2 launch type), as ECS reports it. */
  hostInstanceId?: string;
  containers: TaskContainer[];
  interfaces: TaskInterface[];
  /** The rules of the interfaces' security groups when described (saved for release before any is revoked). */
  groupRules: SavedRule[];
  tags: Record<string, string>;
  /** ECS's and EC2's answers, verbatim, for the evidence bucket. */
  raw: { task?: Task; taskDefinition?: TaskDefinition; containerInstance?: ContainerInstance; networkInterfaces?: NetworkInterface[] };
}

export const DESCRIBE_IAM_ACTIONS = [
  'ecs:DescribeTasks',
  'ecs:DescribeTaskDefinition',
  'ecs:DescribeContainerInstances',
  'ecs:DescribeClusters',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSecurityGroupRules',
] as const;

const ECS_ARN = /^arn:(aws[a-z-]*):ecs:([a-z0-9-]+):(\d{12}):(task|cluster)\/(.+)$/;

/** The parts of an ECS task or cluster ARN; undefined for anything else. */
export function parseEcsArn(arn: string): { partition: string; region: string; account: string; kind: 'task' | 'cluster'; path: string[] } | undefined {
  const m = ECS_ARN.exec(arn);
  if (!m) return undefined;
  return { partition: m[1]!, region: m[2]!, account: m[3]!, kind: m[4] as 'task' | 'cluster', path: m[5]!.split('/') };
}

/**
 * The cluster the task belongs to. The task ARN's long format names it (`task/<cluster>/<id>`)
 * and wins over the finding's hint; an old-format ARN (`task/<id>`) needs the hint, which must be
 * a cluster of the incident's account and region (hints are the finding's words, not AWS's).
 */
export function clusterOf(incident: Incident): string {
  const arn = parseEcsArn(incident.resource.id);
  const here = (a: ReturnType<typeof parseEcsArn>) => a && a.account === incident.accountId && a.region === incident.region;
  if (!arn || !here(arn)) throw new ResourceNotFoundError(incident.resource.id);
  if (arn.kind === 'cluster') return incident.resource.id;
  if (arn.path.length >= 2) return `arn:${arn.partition}:ecs:${arn.region}:${arn.account}:cluster/${arn.path[0]}`;
  const hinted = incident.resource.hints.clusterArn;
  const hint = typeof hinted === 'string' ? parseEcsArn(hinted) : undefined;
  if (hint?.kind === 'cluster' && here(hint)) return hinted as string;
  // No cluster known: ECS looks in the default cluster.
  return `arn:${arn.partition}:ecs:${arn.region}:${arn.account}:cluster/default`;
}

const tagsOf = (tags: Array<{ key?: string; value?: string }> | undefined) => Object.fromEntries((tags ?? []).map((t) => [t.key ?? '', t.value ?? '']));

/** The ENI ids ECS attached to the task (awsvpc): its ElasticNetworkInterface attachments. */
export const interfaceIdsOf = (task: Task): string[] =>
  (task.attachments ?? [])
    .filter((a) => a.type === 'ElasticNetworkInterface')
    .flatMap((a) => (a.details ?? []).filter((d) => d.name === 'networkInterfaceId' && d.value).map((d) => d.value!));

async function describeInterfaces(ctx: DescribeContext, ids: string[]): Promise<NetworkInterface[]> {
  if (ids.length === 0) return [];
  try {
    return (await ctx.clients.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ids }))).NetworkInterfaces ?? [];
  } catch (error) {
    // A stopped task's ENI is deleted by ECS: the task is still described, without it.
    if (hasErrorCode(error, 'InvalidNetworkInterfaceID.NotFound')) return [];
    throw error;
  }
}

/**
 * Reads the task the finding names (DescribeTasks in its cluster, with tags), its task definition,
 * its host (EC2 launch type: DescribeContainerInstances), its ENIs (awsvpc) and their groups'
 * rules. A finding that names only a cluster is described as the cluster (DescribeClusters):
 * nothing in it is acted on. Read-only; ResourceNotFoundError when the task or cluster is gone
 * or is not in the incident's account and region.
 */
export async function describeTask(ctx: DescribeContext): Promise<EcsTask> {
  const { incident, clients } = ctx;
  const clusterArn = clusterOf(incident);
  if (parseEcsArn(incident.resource.id)?.kind === 'cluster') {
    const out = await clients.ecs.send(new DescribeClustersCommand({ clusters: [clusterArn], include: ['TAGS'] }));
    const cluster = out.clusters?.find((c) => c.clusterArn === clusterArn);
    if (!cluster || cluster.status === 'INACTIVE') throw new ResourceNotFoundError(clusterArn);
    return { kind: 'cluster', clusterArn, containers: [], interfaces: [], groupRules: [], tags: tagsOf(cluster.tags), raw: {} };
  }
  const taskArn = incident.resource.id;
  const out = await clients.ecs.send(new DescribeTasksCommand({ cluster: clusterArn, tasks: [taskArn], include: ['TAGS'] }));
  // Only the task named: an answer about any other task (a lookup by a partial id) is not it.
  const task = out.tasks?.find((t) => t.taskArn === taskArn);
  if (!task) throw new ResourceNotFoundError(taskArn);
  const taskDefinitionArn = task.taskDefinitionArn;
  const [definition, containerInstance, interfaces] = await Promise.all([
    taskDefinitionArn ? clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: taskDefinitionArn })).then((o) => o.taskDefinition) : Promise.resolve(undefined),
    task.containerInstanceArn
      ? clients.ecs.send(new DescribeContainerInstancesCommand({ cluster: clusterArn, containerInstances: [task.containerInstanceArn] })).then((o) => o.containerInstances?.[0])
      : Promise.resolve(undefined),
    describeInterfaces(ctx, interfaceIdsOf(task)),
  ]);
  const taskInterfaces: TaskInterface[] = interfaces.map((n) => ({
    networkInterfaceId: n.NetworkInterfaceId ?? '',
    subnetId: n.SubnetId ?? '',
    vpcId: n.VpcId ?? '',
    privateIps: (n.PrivateIpAddresses ?? []).map((p) => p.PrivateIpAddress ?? '').filter(Boolean),
    groupIds: (n.Groups ?? []).map((g) => g.GroupId ?? '').filter(Boolean),
    requesterManaged: Boolean(n.RequesterManaged),
    ...(n.InterfaceType ? { interfaceType: n.InterfaceType } : {}),
  }));
  const groupRules = await rulesOf(clients.ec2, [...new Set(taskInterfaces.flatMap((i) => i.groupIds))]);
  const bindings = (name: string | undefined) => (task.containers ?? []).find((c) => c.name === name)?.networkBindings ?? [];
  const taskRoleArn = task.overrides?.taskRoleArn ?? definition?.taskRoleArn;
  const executionRoleArn = task.overrides?.executionRoleArn ?? definition?.executionRoleArn;
  return {
    kind: 'task',
    clusterArn,
    taskArn,
    ...(task.lastStatus ? { lastStatus: task.lastStatus } : {}),
    ...(task.desiredStatus ? { desiredStatus: task.desiredStatus } : {}),
    ...(task.launchType ? { launchType: task.launchType } : {}),
    ...(definition?.networkMode ? { networkMode: definition.networkMode } : {}),
    ...(task.group ? { group: task.group } : {}),
    ...(task.startedBy ? { startedBy: task.startedBy } : {}),
    ...(taskDefinitionArn ? { taskDefinitionArn } : {}),
    ...(definition?.family ? { family: definition.family } : {}),
    ...(taskRoleArn ? { taskRoleArn } : {}),
    ...(executionRoleArn ? { executionRoleArn } : {}),
    ...(task.containerInstanceArn ? { containerInstanceArn: task.containerInstanceArn } : {}),
    ...(containerInstance?.ec2InstanceId ? { hostInstanceId: containerInstance.ec2InstanceId } : {}),
    containers: (task.containers ?? []).map((c) => ({
      name: c.name ?? '',
      image: c.image ?? '',
      ...(c.imageDigest ? { imageDigest: c.imageDigest } : {}),
      ...(c.runtimeId ? { runtimeId: c.runtimeId } : {}),
      ...(c.lastStatus ? { lastStatus: c.lastStatus } : {}),
      hostPorts: bindings(c.name).flatMap((b) => (b.hostPort !== undefined ? [b.hostPort] : [])),
    })),
    interfaces: taskInterfaces,
    groupRules,
    tags: tagsOf(task.tags),
    raw: { task, ...(definition ? { taskDefinition: definition } : {}), ...(containerInstance ? { containerInstance } : {}), networkInterfaces: interfaces },
  };
}

/** The service a task belongs to: ECS sets a service task's group to `service:<name>`. */
export const serviceOf = (task: Pick<EcsTask, 'group'>): string | undefined => (task.group?.startsWith('service:') ? task.group.slice('service:'.length) : undefined);

/** Whether the task shares its host's network (EC2 launch type, bridge or host mode): no control on the task alone cuts it. */
export const sharesHostNetwork = (task: Pick<EcsTask, 'networkMode' | 'hostInstanceId'>): boolean => Boolean(task.hostInstanceId) && (task.networkMode === 'bridge' || task.networkMode === 'host');

/**
 * The "before" state kept in the ledger at the first delivery (the engine adds `capturedAt`):
 * the task's interfaces and their groups' rules before any was revoked.
 */
export const EcsTaskCaptureSchema = z
  .object({
    kind: z.enum(['task', 'cluster']),
    clusterArn: z.string(),
    taskArn: z.string().optional(),
    networkMode: z.string().optional(),
    hostInstanceId: z.string().optional(),
    taskRoleArn: z.string().optional(),
    interfaces: z
      .array(z.object({ networkInterfaceId: z.string(), subnetId: z.string(), vpcId: z.string(), privateIps: z.array(z.string()), groupIds: z.array(z.string()), requesterManaged: z.boolean() }))
      .default([]),
    groupRules: z.array(SavedRuleSchema).default([]),
    tags: z.record(z.string(), z.string()).default({}),
    capturedAt: z.string().optional(),
  })
  .loose();

export type EcsTaskCapture = z.infer<typeof EcsTaskCaptureSchema>;

export function captureTask(t: EcsTask): EcsTaskCapture {
  return {
    kind: t.kind,
    clusterArn: t.clusterArn,
    ...(t.taskArn ? { taskArn: t.taskArn } : {}),
    ...(t.networkMode ? { networkMode: t.networkMode } : {}),
    ...(t.hostInstanceId ? { hostInstanceId: t.hostInstanceId } : {}),
    ...(t.taskRoleArn ? { taskRoleArn: t.taskRoleArn } : {}),
    interfaces: t.interfaces.map(({ interfaceType: _t, ...i }) => i),
    groupRules: t.groupRules,
    tags: t.tags,
  };
}
