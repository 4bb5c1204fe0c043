import * as z from 'zod';
import { describeInstanceById } from '../../actions/instances.ts';
import { onlineAgent } from '../../actions/ssm-run-command.ts';
import type { DescribeContext } from '../../engine/index.ts';
import { classifyError, ResourceNotFoundError } from '../../errors/index.ts';
import { InstanceIdSchema, type Incident } from '../../findings/index.ts';

/** Whether a command can be sent to the host's SSM agent now, as DescribeInstanceInformation's PingStatus says. */
export const AgentSchema = z.union([
  z.object({ reachable: z.literal(true), platform: z.string() }),
  z.object({ reachable: z.literal(false), why: z.string(), unsupported: z.boolean().optional() }),
]);
export type Agent = z.infer<typeof AgentSchema>;

/** The EC2 instance the container runs on, as DescribeInstances says now. */
export const ContainerHostSchema = z.object({
  instanceId: z.string(),
  state: z.string(),
  vpcId: z.string().optional(),
  platform: z.string().optional(),
  tags: z.record(z.string(), z.string()),
});
export type ContainerHost = z.infer<typeof ContainerHostSchema>;

/** A standalone container (Docker on an EC2 host) as the playbook sees it. */
export interface StandaloneContainer {
  /** The container id GuardDuty reports (Docker's 64-hex id), or a name: hostile text until checked. */
  containerId: string;
  containerName?: string;
  image?: string;
  /** GuardDuty's `containerRuntime` (`docker`, `containerd`…); absent when the finding says nothing. */
  runtime?: string;
  /** The host, when the finding names one (`instanceDetails.instanceId`). */
  host?: ContainerHost;
  /** The host's SSM agent, read once per delivery (absent without a running host). */
  agent?: Agent;
}

export const DESCRIBE_IAM_ACTIONS = ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'] as const;

const hint = (incident: Incident, name: string): string | undefined => {
  const value = incident.resource.hints[name];
  return typeof value === 'string' ? value : undefined;
};

/** The host instance the finding names, if it is an instance id. */
export const hostInstanceIdOf = (incident: Incident): string | undefined => {
  const id = hint(incident, 'instanceId');
  return id && InstanceIdSchema.safeParse(id).success ? id : undefined;
};

/**
 * The host's SSM agent: reachable (Online) with its platform, or why not. An answer that will not
 * change by asking again (no such API on this endpoint, access denied) is "not reachable" with the
 * reason — containment goes on without the pause; a throttle or a 5xx is thrown (the delivery is
 * retried, the agent may well be there).
 */
export async function agentOf(ctx: Pick<DescribeContext, 'clients'>, instanceId: string): Promise<Agent> {
  try {
    const agent = await onlineAgent(ctx.clients.ssm, instanceId);
    return 'why' in agent ? { reachable: false, why: agent.why } : { reachable: true, platform: agent.platform };
  } catch (error) {
    const c = classifyError(error);
    if (c.retryable) throw error;
    return {
      reachable: false,
      why: `the SSM agent's state on ${instanceId} could not be read: DescribeInstanceInformation failed with ${c.code}${c.unsupported ? ' (not supported by this endpoint)' : ''}: ${c.message}`,
      ...(c.unsupported ? { unsupported: true } : {}),
    };
  }
}

/**
 * Describes the container from the finding and its host from EC2: the host must exist (a
 * terminated host took its containers with it: ResourceNotFoundError); when it runs, whether its
 * SSM agent answers (DescribeInstanceInformation's PingStatus), which decides whether the
 * container can be paused before the host is isolated. Read-only.
 */
export async function describeContainer(ctx: DescribeContext): Promise<StandaloneContainer> {
  const { incident, clients } = ctx;
  const container: StandaloneContainer = {
    containerId: incident.resource.id,
    ...(hint(incident, 'containerName') ? { containerName: hint(incident, 'containerName')! } : {}),
    ...(hint(incident, 'image') ? { image: hint(incident, 'image')! } : {}),
    ...(hint(incident, 'containerRuntime') ? { runtime: hint(incident, 'containerRuntime')! } : {}),
  };
  const hostId = hostInstanceIdOf(incident);
  if (!hostId) return container;
  const instance = await describeInstanceById(clients.ec2, hostId);
  if (!instance || instance.State?.Name === 'terminated' || instance.State?.Name === 'shutting-down') {
    // A terminated host took its containers with it.
    throw new ResourceNotFoundError(hostId);
  }
  const host: ContainerHost = {
    instanceId: hostId,
    state: instance.State?.Name ?? 'unknown',
    ...(instance.VpcId ? { vpcId: instance.VpcId } : {}),
    ...(instance.PlatformDetails ? { platform: instance.PlatformDetails } : {}),
    tags: Object.fromEntries((instance.Tags ?? []).flatMap((t) => (t.Key ? [[t.Key, t.Value ?? '']] : []))),
  };
  return { ...container, host, ...(host.state === 'running' ? { agent: await agentOf(ctx, hostId) } : {}) };
}

/** The "before" kept at the first delivery: the container as GuardDuty named it, its host and the agent then. */
export const ContainerCaptureSchema = z.object({
  containerId: z.string(),
  containerName: z.string().optional(),
  image: z.string().optional(),
  runtime: z.string().optional(),
  host: ContainerHostSchema.optional(),
  agent: AgentSchema.optional(),
});
export type ContainerCapture = z.infer<typeof ContainerCaptureSchema>;

export const captureContainer = (c: StandaloneContainer): ContainerCapture => ({ ...c });

/** Identifiers the protected-resource list is matched against: the container's id and name, and its host (protecting a host protects its containers). */
export function containerIdentifiers(incident: Incident, c: StandaloneContainer): string[] {
  const host = c.host?.instanceId ?? hostInstanceIdOf(incident);
  return [
    c.containerId,
    ...(c.containerName ? [c.containerName] : []),
    ...(host ? [host, `arn:${incident.partition}:ec2:${incident.region}:${incident.accountId}:instance/${host}`] : []),
  ];
}
