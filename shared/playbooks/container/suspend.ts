import type { SSMClient } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import { decodeCaptureOutput, pollCommand, RUN_COMMAND_STDOUT_LIMIT, sendCommand, SSM_RUN_COMMAND_IAM_ACTIONS } from '../../actions/ssm-run-command.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { StepFailedError } from '../../errors/index.ts';
import { CONTAINER_CONTROL_STEP, containerStatesOf, isContainerRef, type ContainerAction } from './control.ts';
import type { StandaloneContainer } from './describe.ts';
import { containerStep } from './types.ts';

/** How long SSM may wait for the agent to pick the command up: it must run before isolation cuts the agent's path, or not at all. */
export const SUSPEND_DELIVERY_TIMEOUT_SECONDS = 60;
/** How long a release waits for the unpause. */
const RELEASE_WAIT_SECONDS = 20;

/** Docker states (`State.Status`) and the script's own `absent` / `no-docker`. */
const ContainerStateSchema = z.string().regex(/^[a-z-]{1,20}$/);

/** What suspendContainer records when the command was sent: the command, and the states it reported once it finished (`confirmed`). */
const SuspensionSentSchema = z.object({
  hostInstanceId: z.string(),
  containerRef: z.string(),
  action: z.enum(['pause', 'stop']),
  /** The Firebreak document it was sent with (release sends the unpause with the same). */
  document: z.string(),
  commandId: z.string(),
  sentAt: z.string(),
  /** The command finished within this delivery and reported the states. */
  confirmed: z.boolean(),
  /** SSM's status when it had not finished (Pending: not yet delivered to the agent; InProgress: running on the host). */
  status: z.string().optional(),
  before: ContainerStateSchema.optional(),
  after: ContainerStateSchema.optional(),
});
export type SuspensionSent = z.infer<typeof SuspensionSentSchema>;

/** Why the container could not be suspended (skipped): what the responder reads. */
const NotSuspendedSchema = z.object({ reason: z.string(), hostInstanceId: z.string().optional(), unsupported: z.boolean().optional() });

export const SuspensionSchema = z.union([SuspensionSentSchema, NotSuspendedSchema]);
export type Suspension = z.infer<typeof SuspensionSchema>;

export const wasSent = (s: Suspension | undefined): s is SuspensionSent => s !== undefined && 'commandId' in s;

/** Why no command can go to the container's host now, or undefined when it can (on Linux, with Docker). */
export function whyNotReachable(container: StandaloneContainer): { reason: string; unsupported?: boolean } | undefined {
  const { host, agent } = container;
  if (!host) return { reason: `the finding names no host instance for container ${container.containerId}` };
  if (host.state !== 'running') return { reason: `host ${host.instanceId} is ${host.state}: its containers are not running` };
  if (!agent) return { reason: `the SSM agent of ${host.instanceId} was not checked` };
  if (!agent.reachable) return { reason: agent.why, ...(agent.unsupported ? { unsupported: true } : {}) };
  if (agent.platform !== 'Linux') return { reason: `host ${host.instanceId} runs ${agent.platform}: Firebreak's container document drives the Docker CLI on Linux only` };
  return undefined;
}

/** GuardDuty's runtime for a container Docker runs (or none named: GuardDuty's Container findings are Docker's). */
const DOCKER_RUNTIMES = new Set(['docker']);

export interface ControlRequest {
  step: string;
  ssm: SSMClient;
  document: string;
  instanceId: string;
  containerRef: string;
  action: ContainerAction;
  comment: string;
  deliveryTimeoutSeconds: number;
}

/** Sends the container-control document with the container and the action as its parameters (SSM checks them against the document's patterns). */
export const sendControl = (r: ControlRequest): Promise<string> =>
  sendCommand(r.ssm, {
    step: r.step,
    instanceId: r.instanceId,
    command: { DocumentName: r.document, Parameters: { containerId: [r.containerRef], action: [r.action] } },
    comment: r.comment,
    deliveryTimeoutSeconds: r.deliveryTimeoutSeconds,
  });

/**
 * "Suspend all processes in the container: pause the container" — while the host's SSM agent can
 * still be reached, before the host is handed over (the EC2 playbook's isolation and credential
 * revocation cut the agent's path). `docker pause` freezes every process in the container's
 * cgroup: nothing runs, memory and connections stay for the investigation. In `full` mode the
 * seeds' other branch, `docker stop`. The same command prints `docker inspect` from before the
 * change (captureContainerInspect keeps it). Sent once; waited for `wait_seconds`; a command not
 * finished by then is recorded and followed up by the evidence step.
 */
export const suspendContainer = containerStep({
  name: 'suspendContainer',
  stage: 'contain',
  description: "Suspend the container's processes (docker pause; docker stop in full mode) through SSM Run Command with Firebreak's container document, while the host's agent can be reached",
  iamActions: [...SSM_RUN_COMMAND_IAM_ACTIONS],
  enabledBy: ['suspend_container'],
  data: SuspensionSchema,
  async run({ resource: container, incident, options, config, clients, now }) {
    const action: 'pause' | 'stop' = config.mode === 'full' ? 'stop' : 'pause';
    const hostInstanceId = container.host?.instanceId;
    const notSuspended = (reason: string, extra: { unsupported?: boolean } = {}) => ({
      status: 'skipped' as const,
      summary: `container ${container.containerId} could not be ${action === 'pause' ? 'paused' : 'stopped'}: ${reason}`,
      data: { reason, ...(hostInstanceId ? { hostInstanceId } : {}), ...extra },
    });
    if (!options.suspend_container) return { status: 'skipped', summary: 'suspend_container is off: no command is sent to the host', data: { reason: 'suspend_container is off' } };
    // The finding's id is hostile text: only a Docker id or name is ever sent (SSM and the script check again).
    if (!isContainerRef(container.containerId)) {
      throw new StepFailedError('suspendContainer', 'NotAContainerReference', `refusing to send ${JSON.stringify(container.containerId.slice(0, 80))}: not a Docker container id or name ([a-zA-Z0-9][a-zA-Z0-9_.-]*); nothing was sent to the host`, { retryable: false });
    }
    if (container.runtime && !DOCKER_RUNTIMES.has(container.runtime)) {
      return notSuspended(`its runtime is ${container.runtime}, and Firebreak's container document drives the Docker CLI only (with containerd: ctr --namespace <ns> task pause <id> on the host)`);
    }
    const unreachable = whyNotReachable(container);
    if (unreachable) return notSuspended(unreachable.reason, unreachable.unsupported ? { unsupported: true } : {});
    const document = options.ssm_documents.container_control;
    if (!document) return notSuspended('no Firebreak container document is deployed (ssm_documents.container_control is unset; Terraform sets it with suspend_container); Firebreak never falls back to AWS-RunShellScript');
    const instanceId = hostInstanceId!;
    const commandId = await sendControl({
      step: 'suspendContainer',
      ssm: clients.ssm,
      document,
      instanceId,
      containerRef: container.containerId,
      action,
      comment: `Firebreak ${incident.incidentId}: docker ${action} ${container.containerId.slice(0, 12)}`,
      deliveryTimeoutSeconds: SUSPEND_DELIVERY_TIMEOUT_SECONDS,
    });
    const sent = { hostInstanceId: instanceId, containerRef: container.containerId, action, document, commandId, sentAt: now().toISOString() };
    const polled = await pollCommand(clients.ssm, { commandId, instanceId, pluginName: CONTAINER_CONTROL_STEP, waitSeconds: options.wait_seconds });
    if (polled.state === 'running') {
      return {
        status: 'done',
        summary: `docker ${action} of ${container.containerId} sent to ${instanceId} (Run Command ${commandId}) and ${polled.status} after ${options.wait_seconds}s: the host is handed over without waiting longer (${polled.status === 'InProgress' ? 'the agent has it, and isolation does not stop a command already running' : 'if isolation cuts the agent before it picks the command up, the command times out'}); captureContainerInspect follows it up`,
        data: { ...sent, confirmed: false, status: polled.status },
      };
    }
    if (polled.state === 'ended') throw new StepFailedError('suspendContainer', `Command${polled.status}`, polled.message, { retryable: false });
    const states = containerStatesOf(polled.invocation.StandardOutputContent ?? '');
    if (!states) throw new StepFailedError('suspendContainer', 'NoContainerState', `Run Command ${commandId} on ${instanceId} succeeded but printed no container state: check the document ${document}`, { retryable: false });
    if (states.before === 'no-docker') return notSuspended(`there is no Docker CLI on ${instanceId} (Run Command ${commandId})`);
    if (states.before === 'absent') return notSuspended(`there is no container ${container.containerId} on ${instanceId} now (removed since the finding?; Run Command ${commandId})`);
    const data = { ...sent, confirmed: true, ...states };
    const wanted = action === 'pause' ? 'paused' : 'exited';
    const what = states.before === states.after ? `was already ${states.after}` : `went from ${states.before} to ${states.after}`;
    return {
      status: 'done',
      summary: `docker ${action} of container ${container.containerId} on ${instanceId} (Run Command ${commandId}): it ${what}${states.after === wanted ? '' : ` (not ${wanted}: look at it)`}`,
      data,
    };
  },
  undo: {
    name: 'unpauseContainer',
    description: 'Unpause the container if Firebreak paused it (a stopped container is not restarted: recorded and recommended)',
    iamActions: [...SSM_RUN_COMMAND_IAM_ACTIONS],
    async run(ctx) {
      const { recorded, incident } = ctx;
      if (!wasSent(recorded)) return { status: 'skipped', summary: 'containment sent no command to the container: nothing to undo' };
      const { containerRef, hostInstanceId } = recorded;
      if (recorded.action === 'stop') {
        const kept = `container ${containerRef} on ${hostInstanceId} stays stopped (full mode): start it after review with docker start ${containerRef}, or replace it from a clean image`;
        return { status: 'skipped', summary: kept, keptProtections: [kept] };
      }
      const inspected = ctx.outputOf(captureContainerInspect);
      const before = recorded.before ?? (inspected && 'before' in inspected ? inspected.before : undefined);
      if (before === 'paused') return { status: 'skipped', summary: `container ${containerRef} was already paused before Firebreak: left paused` };
      const current = await ctx.resource();
      if (!current) return { status: 'skipped', summary: `host ${hostInstanceId} no longer exists: no container to unpause` };
      const unreachable = whyNotReachable(current);
      if (unreachable) {
        throw new StepFailedError(
          'unpauseContainer',
          'AgentUnreachable',
          `cannot unpause container ${containerRef}: ${unreachable.reason}. The host is contained by its own incident (handed to the EC2 playbook): release that one first (firebreak release <host incident> --reason …), then release ${incident.incidentId} again`,
          { retryable: true },
        );
      }
      const { document } = recorded;
      const commandId = await sendControl({
        step: 'unpauseContainer',
        ssm: ctx.clients.ssm,
        document,
        instanceId: hostInstanceId,
        containerRef,
        action: 'unpause',
        comment: `Firebreak release ${incident.incidentId}: docker unpause ${containerRef.slice(0, 12)}`,
        deliveryTimeoutSeconds: SUSPEND_DELIVERY_TIMEOUT_SECONDS,
      });
      const polled = await pollCommand(ctx.clients.ssm, { commandId, instanceId: hostInstanceId, pluginName: CONTAINER_CONTROL_STEP, waitSeconds: RELEASE_WAIT_SECONDS });
      if (polled.state === 'running') throw new StepFailedError('unpauseContainer', 'CommandNotFinished', `Run Command ${commandId} (docker unpause) on ${hostInstanceId} is ${polled.status} after ${RELEASE_WAIT_SECONDS}s: release again to confirm`, { retryable: true });
      if (polled.state === 'ended') throw new StepFailedError('unpauseContainer', `Command${polled.status}`, polled.message, { retryable: true });
      const states = containerStatesOf(polled.invocation.StandardOutputContent ?? '');
      if (!states || states.before === 'absent' || states.before === 'no-docker') {
        return { status: 'skipped', summary: `container ${containerRef} is no longer on ${hostInstanceId} (Run Command ${commandId}): nothing to unpause`, data: { commandId } };
      }
      if (states.before !== 'paused') return { status: 'skipped', summary: `container ${containerRef} is ${states.before}, not paused (someone changed it since): left as it is`, data: { commandId, ...states } };
      return { status: 'done', summary: `container ${containerRef} on ${hostInstanceId} unpaused (Run Command ${commandId}): ${states.before} → ${states.after}`, data: { commandId, ...states } };
    },
  },
});

/** How long a later delivery waits before looking at the command again. */
const LOOK_AGAIN_SECONDS = 60;

/** What captureContainerInspect records: where the inspect output went and the states the command reported (done), or why there is none (skipped). */
const InspectSchema = z.union([
  z.object({ commandId: z.string(), key: z.string(), bytes: z.number(), sha256: z.string(), truncated: z.boolean(), before: ContainerStateSchema, after: ContainerStateSchema }),
  z.object({ reason: z.string() }),
]);

/**
 * "Capture its metadata": the `docker inspect` the suspension's command printed before it changed
 * anything (configuration, mounts, network settings, the image digest, the process id) goes to
 * the evidence bucket with its SHA-256, read back from Run Command's output as the EC2 online
 * capture does. When containment handed the host over before the command finished, this follows it
 * to its end.
 */
export const captureContainerInspect = containerStep({
  name: 'captureContainerInspect',
  stage: 'evidence',
  description: "Save the container's docker inspect, printed by the suspension's Run Command before it changed anything, to the evidence bucket",
  iamActions: ['ssm:GetCommandInvocation', ...EVIDENCE_IAM_ACTIONS],
  enabledBy: ['suspend_container'],
  data: InspectSchema,
  async run({ outputOf, outcomeOf, clients, evidence, incident, options }) {
    const suspension = outputOf(suspendContainer);
    if (!wasSent(suspension)) {
      const outcome = outcomeOf(suspendContainer);
      const why = (outcome?.data as { reason?: string } | undefined)?.reason ?? outcome?.summary ?? 'the suspension did not run';
      return { status: 'skipped', summary: `docker inspect could not be captured: no command reached the host (${why})`, data: { reason: why } };
    }
    const { commandId, hostInstanceId } = suspension;
    const polled = await pollCommand(clients.ssm, { commandId, instanceId: hostInstanceId, pluginName: CONTAINER_CONTROL_STEP, waitSeconds: options.wait_seconds });
    if (polled.state === 'running') {
      return { status: 'pending', retryAfterSeconds: LOOK_AGAIN_SECONDS, summary: `Run Command ${commandId} on ${hostInstanceId} is ${polled.status}; looking again in ${LOOK_AGAIN_SECONDS}s` };
    }
    if (polled.state === 'ended') {
      const undelivered = /Delivery|Undeliverable/i.test(polled.message) ? ' (it never reached the agent: the host was isolated first, or its agent went away)' : '';
      throw new StepFailedError('captureContainerInspect', `Command${polled.status}`, `${polled.message}${undelivered}`, { retryable: false });
    }
    const stdout = polled.invocation.StandardOutputContent ?? '';
    const states = containerStatesOf(stdout);
    if (!states || states.before === 'absent' || states.before === 'no-docker') {
      const reason = `Run Command ${commandId} found ${states?.before === 'no-docker' ? 'no Docker CLI' : `no container ${suspension.containerRef}`} on ${hostInstanceId}`;
      return { status: 'skipped', summary: `docker inspect could not be captured: ${reason}`, data: { reason } };
    }
    const decoded = decodeCaptureOutput(stdout);
    const ref = await evidence.putText(incident.incidentId, 'container/docker-inspect.json', decoded.text, 'application/json');
    const cut = decoded.truncated ? `; truncated at Run Command's ${RUN_COMMAND_STDOUT_LIMIT.toLocaleString('en')}-character stdout limit` : '';
    return {
      status: 'done',
      summary: `docker inspect of ${suspension.containerRef} on ${hostInstanceId} saved (${ref.bytes} bytes, sha256 ${ref.sha256.slice(0, 12)}…${cut}); the container went from ${states.before} to ${states.after}`,
      data: { commandId, key: ref.key, bytes: ref.bytes, sha256: ref.sha256, truncated: decoded.truncated, ...states },
      evidence: [ref],
    };
  },
});
