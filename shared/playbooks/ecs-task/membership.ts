import { DeregisterTargetsCommand, DescribeTargetHealthCommand, paginateDescribeTargetGroups, RegisterTargetsCommand, type TargetGroup } from '@aws-sdk/client-elastic-load-balancing-v2';
import { UpdateTaskProtectionCommand, GetTaskProtectionCommand } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { settleAll } from '../../actions/settle.ts';
import { hasErrorCode } from '../../errors/index.ts';
import { notIsolable } from './isolation.ts';
import { serviceOf } from './describe.ts';
import { ecsStep } from './types.ts';
import { targetOf, TargetRegistrationsSchema, type TargetRegistration } from '../../actions/target-registrations.ts';

type Registration = TargetRegistration;

const targetGroupName = (arn: string) => arn.split('/').slice(-2, -1)[0];

export const deregisterTaskFromTargetGroups = ecsStep({
  name: 'deregisterTaskFromTargetGroups',
  stage: 'contain',
  description: "Deregister the task from every ELBv2 target group that holds it: its private IPs (awsvpc), or its host instance on the task's host ports (bridge, host)",
  iamActions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:DeregisterTargets'],
  data: TargetRegistrationsSchema,
  async run({ clients, resource: task }) {
    const why = notIsolable(task);
    if (why) return { status: 'skipped', summary: why };
    const ips = new Set(task.interfaces.flatMap((i) => i.privateIps));
    const vpcs = new Set(task.interfaces.map((i) => i.vpcId));
    const hostPorts = new Set(task.containers.flatMap((c) => c.hostPorts));
    const host = task.interfaces.length === 0 ? task.hostInstanceId : undefined;
    if (ips.size === 0 && !host) return { status: 'skipped', summary: `task ${task.taskArn} has no private IP and no host to be a target by` };
    const groups: Array<TargetGroup & { TargetGroupArn: string }> = [];
    for await (const page of paginateDescribeTargetGroups({ client: clients.elbv2 }, { PageSize: 400 })) {
      groups.push(
        ...(page.TargetGroups ?? []).filter(
          (g): g is TargetGroup & { TargetGroupArn: string } =>
            Boolean(g.TargetGroupArn) && ((g.TargetType === 'ip' && ips.size > 0 && (!g.VpcId || vpcs.has(g.VpcId))) || (g.TargetType === 'instance' && Boolean(host))),
        ),
      );
    }
    const registrations: Registration[] = [];
    await settleAll(
      groups.map(async (g) => {
        const health = await clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }));
        for (const d of health.TargetHealthDescriptions ?? []) {
          const t = d.Target;
          if (!t?.Id || d.TargetHealth?.State === 'draining') continue;
          // A bridge task is its host on the task's own host ports: the host's other ports serve other tasks.
          const mine = g.TargetType === 'ip' ? ips.has(t.Id) : t.Id === host && t.Port !== undefined && hostPorts.has(t.Port);
          if (mine) registrations.push({ targetGroupArn: g.TargetGroupArn, targetType: g.TargetType as 'ip' | 'instance', id: t.Id, ...(t.Port !== undefined ? { port: t.Port } : {}), ...(t.AvailabilityZone ? { availabilityZone: t.AvailabilityZone } : {}) });
        }
      }),
    );
    if (registrations.length === 0) return { status: 'skipped', summary: `task ${task.taskArn} is not registered in any target group` };
    await settleAll(registrations.map((r) => clients.elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: r.targetGroupArn, Targets: [targetOf(r)] }))));
    return {
      status: 'done',
      summary: `deregistered from ${registrations.length} target registration(s): ${registrations.map((r) => `${targetGroupName(r.targetGroupArn)} (${r.targetType} ${r.id}${r.port !== undefined ? `:${r.port}` : ''})`).join(', ')}`,
      data: { registrations },
    };
  },
  undo: {
    name: 'reregisterTaskTargets',
    description: 'Register the task again in every target group it was deregistered from, with the same port, while it still runs with that address',
    iamActions: ['elasticloadbalancing:RegisterTargets'],
    async run({ recorded, clients, resource }) {
      const task = await resource();
      if (!task || task.kind !== 'task' || task.lastStatus === 'STOPPED') {
        return { status: 'skipped', summary: 'the task no longer runs: its addresses may belong to another task now, so nothing was registered again', data: { taskGone: true } };
      }
      const ips = new Set(task.interfaces.flatMap((i) => i.privateIps));
      type Row = Registration & { result: 'registered' | 'target-group-gone' | 'not-the-task-any-more' };
      const rows = await settleAll(
        recorded.registrations.map(async (r): Promise<Row> => {
          if (r.targetType === 'ip' ? !ips.has(r.id) : r.id !== task.hostInstanceId) return { ...r, result: 'not-the-task-any-more' };
          try {
            await clients.elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: r.targetGroupArn, Targets: [targetOf(r)] }));
          } catch (error) {
            if (hasErrorCode(error, 'TargetGroupNotFoundException', 'TargetGroupNotFound')) return { ...r, result: 'target-group-gone' };
            throw error;
          }
          return { ...r, result: 'registered' };
        }),
      );
      const registered = rows.filter((r) => r.result === 'registered');
      const others = rows.filter((r) => r.result !== 'registered');
      const summary = [
        registered.length ? `registered again in ${registered.map((r) => `${targetGroupName(r.targetGroupArn)} (${r.id}${r.port !== undefined ? `:${r.port}` : ''})`).join(', ')}` : '',
        others.length ? `left: ${others.map((r) => `${targetGroupName(r.targetGroupArn)} ${r.id} (${r.result})`).join(', ')}` : '',
      ].filter(Boolean).join('; ');
      return { status: registered.length ? 'done' : 'skipped', summary, data: { registrations: rows } };
    },
  },
});

/** What protectTaskFromScaleIn records: the protection and its expiry (done), or why not (skipped). */
const TaskProtectionSchema = z.object({
  service: z.string().optional(),
  expiresInMinutes: z.number().optional(),
  expirationDate: z.string().optional(),
  failure: z.string().optional(),
});

export const protectTaskFromScaleIn = ecsStep({
  name: 'protectTaskFromScaleIn',
  stage: 'contain',
  description: 'Protect a service task from scale-in and deployments (task scale-in protection, at most 48 hours), so its evidence survives; its expiry is recorded',
  iamActions: ['ecs:UpdateTaskProtection'],
  data: TaskProtectionSchema,
  async run({ clients, resource: task, options }) {
    const why = notIsolable(task);
    if (why) return { status: 'skipped', summary: why };
    const service = serviceOf(task);
    if (!service) {
      return { status: 'skipped', summary: `task ${task.taskArn} belongs to no service (group ${task.group ?? 'none'}): task scale-in protection applies to service tasks only, and nothing scales a standalone task in` };
    }
    const expiresInMinutes = options.task_protection_minutes;
    const out = await clients.ecs.send(new UpdateTaskProtectionCommand({ cluster: task.clusterArn, tasks: [task.taskArn!], protectionEnabled: true, expiresInMinutes }));
    const failure = out.failures?.find((f) => !f.arn || f.arn === task.taskArn);
    const mine = out.protectedTasks?.find((p) => p.taskArn === task.taskArn);
    if (!mine?.protectionEnabled) {
      const reason = failure ? `${failure.reason ?? 'failed'}${failure.detail ? `: ${failure.detail}` : ''}` : 'ECS reported no protection';
      return { status: 'skipped', summary: `ECS did not protect task ${task.taskArn} (${reason})`, data: { service, failure: reason } };
    }
    const expirationDate = mine.expirationDate?.toISOString();
    return {
      status: 'done',
      summary: `task ${task.taskArn} of service ${service} protected from scale-in and deployments until ${expirationDate ?? `${expiresInMinutes} minutes from now`} (ECS allows at most 48 hours: extend it by hand if the investigation needs longer)`,
      data: { service, expiresInMinutes, ...(expirationDate ? { expirationDate } : {}) },
    };
  },
  undo: {
    name: 'removeTaskProtection',
    description: 'Lift the scale-in protection containment set, where it is still the one containment set',
    iamActions: ['ecs:GetTaskProtection', 'ecs:UpdateTaskProtection'],
    async run({ recorded, clients, incident, capture }) {
      const taskArn = incident.resource.id;
      const cluster = capture.clusterArn;
      let now;
      try {
        now = (await clients.ecs.send(new GetTaskProtectionCommand({ cluster, tasks: [taskArn] }))).protectedTasks?.find((p) => p.taskArn === taskArn);
      } catch (error) {
        if (hasErrorCode(error, 'ClusterNotFoundException', 'ResourceNotFoundException')) return { status: 'skipped', summary: `task ${taskArn} no longer exists: nothing to lift`, data: { result: 'gone' } };
        throw error;
      }
      if (!now?.protectionEnabled) return { status: 'done', summary: `task ${taskArn} is no longer protected (expired or lifted)`, data: { result: 'already-lifted' } };
      const expiry = now.expirationDate?.getTime();
      const ours = recorded.expirationDate ? Date.parse(recorded.expirationDate) : undefined;
      // Someone extended or set it since: their protection, not ours.
      if (ours !== undefined && expiry !== undefined && Math.abs(expiry - ours) > 60_000) {
        return { status: 'skipped', summary: `left alone: task ${taskArn}'s protection now expires ${now.expirationDate!.toISOString()}, not when containment set it to (${recorded.expirationDate})`, data: { result: 'changed-since' } };
      }
      await clients.ecs.send(new UpdateTaskProtectionCommand({ cluster, tasks: [taskArn], protectionEnabled: false }));
      return { status: 'done', summary: `scale-in protection lifted from task ${taskArn}`, data: { result: 'lifted' } };
    },
  },
});
