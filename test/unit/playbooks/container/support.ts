/** What the standalone container playbook's unit tests share: the host as EC2 and SSM describe it, the incident of the GuardDuty fixture, Run Command answers, an in-memory reliance counter and typed contexts. */
import { gzipSync } from 'node:zlib';
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { outputsReader, parseRecorded, type ReleaseContext, type RelianceCounter, type Step, type StepContext, type UndoContext } from '../../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../../shared/evidence/index.ts';
import { parseFindingMessage, type Incident } from '../../../../shared/findings/index.ts';
import type { LetGo, RelianceState } from '../../../../shared/ledger/index.ts';
import { localPacer } from '../../../../shared/pacing/index.ts';
import { captureContainer, describeContainer, type StandaloneContainer } from '../../../../shared/playbooks/container/describe.ts';
import { ContainerOptionsSchema, type ContainerOptions } from '../../../../shared/playbooks/container/options.ts';
import type { Container } from '../../../../shared/playbooks/container/types.ts';
import type { Mode, StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { aConfig, anS3Client, EVIDENCE_BUCKET, FIXED_NOW, fixtureEvent, RESPONDER, silentLogger, someClients } from '../../helpers/factories.ts';

/** The fixture's host and container. */
export const HOST = 'i-0f9e8d7c6b5a43210';
export const CONTAINER_ID = '5e2f8a1c4b7d0e3f6a9c2b5d8e1f4a7c0b3d6e9f2a5c8b1d4e7f0a3c6b9d2e5f';
export const DOCUMENT = 'firebreak-container-control';
export const COMMAND_ID = '7d1e4b2a-0c3f-4e5d-8a9b-1c2d3e4f5a6b';

/** The incident of the GuardDuty fixture (a reverse shell in a Docker container), as the parser makes it; `containerId` replaces the container's id (a hostile one, say). */
export function aContainerIncident(overrides: { containerId?: string; runtime?: string; noHost?: boolean } = {}): Incident {
  const event = fixtureEvent('container-runtime-reverseshell.json');
  if (overrides.runtime) event.detail.resource.containerDetails.containerRuntime = overrides.runtime;
  if (overrides.noHost) delete event.detail.resource.instanceDetails;
  const [incident] = parseFindingMessage(JSON.stringify(event));
  // The parser refuses a hostile id; the step must refuse it on its own too (a hand-off, a manual finding, a future parser).
  return overrides.containerId === undefined ? incident! : { ...incident!, resource: { ...incident!.resource, id: overrides.containerId } };
}

/** EC2 and SSM answer describe for the host: `state` the instance's, `ping` the agent's (`registered: false`: SSM does not know the instance). */
export function givenHost(ec2: AwsClientStub<EC2Client>, ssm: AwsClientStub<SSMClient>, options: { state?: string; ping?: 'Online' | 'ConnectionLost' | 'Inactive'; platform?: string; registered?: boolean } = {}): void {
  const { state = 'running', ping = 'Online', platform = 'Linux', registered = true } = options;
  ec2.on(DescribeInstancesCommand).resolves({
    Reservations: [{ Instances: [{ InstanceId: HOST, State: { Name: state as 'running' }, VpcId: 'vpc-0a1b2c3d4e5f60718', PlatformDetails: 'Linux/UNIX', Tags: [{ Key: 'Name', Value: 'legacy-docker-host' }] }] }],
  });
  ssm.on(DescribeInstanceInformationCommand).resolves({
    InstanceInformationList: !registered ? [] : [{ InstanceId: HOST, PingStatus: ping, PlatformType: platform as 'Linux', LastPingDateTime: new Date('2025-06-19T14:00:00Z') }],
  });
}

/** The container as describe reads it from the mocked EC2 and SSM. */
export async function described(ec2: AwsClientStub<EC2Client>, ssm: AwsClientStub<SSMClient>, incident = aContainerIncident(), host: Parameters<typeof givenHost>[2] = {}): Promise<StandaloneContainer> {
  givenHost(ec2, ssm, host);
  return describeContainer({ incident, clients: someClients(), logger: silentLogger() });
}

/** A `docker inspect` as the document's script prints it (an array of one container). */
export const INSPECT = JSON.stringify([{ Id: CONTAINER_ID, Name: '/legacy-php-app', State: { Status: 'running', Pid: 60210 }, Config: { Image: 'php:8.1-fpm' } }], null, 2);

/** The script's stdout: the inspect gzip+base64 between markers (unless `inspect` is false), then the state line. */
export function controlOutput(before: string, after: string, inspect = true): string {
  const capture = inspect ? `FIREBREAK-BEGIN gzip+base64\n${gzipSync(Buffer.from(INSPECT)).toString('base64')}\nFIREBREAK-END\n` : '';
  return `${capture}FIREBREAK-CONTAINER before=${before} after=${after}\n`;
}

/** Run Command accepts the command and reports `status` for it, with `stdout`. */
export function givenCommand(ssm: AwsClientStub<SSMClient>, status: 'Success' | 'InProgress' | 'Pending' | 'Failed' | 'TimedOut', stdout = '', details?: string): void {
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
  ssm.on(GetCommandInvocationCommand).resolves({ CommandId: COMMAND_ID, InstanceId: HOST, Status: status, StatusDetails: details ?? status, StandardOutputContent: stdout, ResponseCode: status === 'Success' ? 0 : status === 'Failed' ? 1 : -1 });
}

/** The parameters of every command sent. */
export const sentParameters = (ssm: AwsClientStub<SSMClient>) => ssm.commandCalls(SendCommandCommand).map((c) => ({ document: c.args[0].input.DocumentName, parameters: c.args[0].input.Parameters, instances: c.args[0].input.InstanceIds }));

/** Container options as the function reads them (schema defaults applied), waiting 0 s, the document deployed. */
export const containerOptions = (overrides: Partial<ContainerOptions> = {}): ContainerOptions =>
  ContainerOptionsSchema.parse({ wait_seconds: 0, ssm_documents: { container_control: DOCUMENT }, ...overrides });

/**
 * The ledger's reliance items in memory, with the semantics of shared/ledger/reliance.ts (a set
 * per key, the value to restore kept from the first change, a claim by the last to let go).
 */
export class InMemoryReliance {
  items = new Map<string, { incidents: Set<string>; restoreTo?: string; claimedBy?: string }>();

  item(key: string) {
    if (!this.items.has(key)) this.items.set(key, { incidents: new Set() });
    return this.items.get(key)!;
  }

  state(key: string): RelianceState {
    const i = this.item(key);
    return { incidents: [...i.incidents].sort(), ...(i.restoreTo !== undefined ? { restoreTo: i.restoreTo } : {}) };
  }

  for(incidentId: string): RelianceCounter {
    return {
      rely: async (key, restoreTo) => {
        const i = this.item(key);
        i.incidents.add(incidentId);
        if (restoreTo !== undefined) i.restoreTo ??= restoreTo;
        return this.state(key);
      },
      letGo: async (key): Promise<LetGo> => {
        const i = this.item(key);
        i.incidents.delete(incidentId);
        const claimed = i.incidents.size === 0 && i.restoreTo !== undefined && (i.claimedBy === undefined || i.claimedBy === incidentId);
        if (claimed) i.claimedBy = incidentId;
        return { ...this.state(key), claimed };
      },
      restored: async (key) => {
        const i = this.item(key);
        if (i.claimedBy !== incidentId) return false;
        i.claimedBy = undefined;
        if (i.incidents.size > 0) return false;
        delete i.restoreTo;
        return true;
      },
    };
  }
}

type WithOutcomes = { outcomes?: Record<string, StepOutcome> };

export const handOffs: Array<{ target: { resourceType: string; id: string }; reason: string }> = [];

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a context serves steps of every data type, as the EC2 factory's
/** A step context for a container step: `resource` is what describe returned; the capture is taken from it. */
export function aContainerStepContext<D = any>(resource: StandaloneContainer, incident: Incident, overrides: Partial<StepContext<Container, D>> & WithOutcomes & { mode?: Mode } = {}): StepContext<Container, D> {
  const { outcomes = {}, mode = 'contain', ...rest } = overrides;
  return {
    ...outputsReader<Container>(() => outcomes),
    incident,
    resource,
    capture: captureContainer(resource),
    options: containerOptions(),
    clients: someClients(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    config: aConfig({ playbook: 'container', mode }),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    pacer: localPacer({ sleep: async () => undefined }),
    handOff: async (target, reason) => {
      handOffs.push({ target, reason });
      return { eventId: `handoff-${handOffs.length}` };
    },
    relate: async () => [],
    ...rest,
  } as StepContext<Container, D>;
}

/** A release context for a container undo or release action; `resource` is what describe finds now (undefined: the host is gone). */
export function aContainerReleaseContext(resource: StandaloneContainer | undefined, incident: Incident, overrides: Partial<Omit<ReleaseContext<Container>, 'resource'>> & WithOutcomes = {}): ReleaseContext<Container> {
  const { outcomes = {}, ...rest } = overrides;
  return {
    ...outputsReader<Container>(() => outcomes),
    incident,
    capture: resource ? captureContainer(resource) : { containerId: incident.resource.id },
    request: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, via: 'cli' },
    resource: async () => resource,
    clients: someClients(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    released: {},
    ...rest,
  };
}

/** What a step's undo receives after the step ran: its data through a JSON round trip and the step's schema, as the engine reads it. */
export function recordedBy<D>(step: Step<Container, D>, result: { status: string; data?: unknown }): D {
  if (result.status !== 'done') throw new Error(`${step.name} returned ${result.status}: an undo runs only after done`);
  return parseRecorded(step, result.data === undefined ? undefined : JSON.parse(JSON.stringify(result.data)));
}

export function anUndoContext<D>(step: Step<Container, D>, result: { status: string; data?: unknown }, resource: StandaloneContainer | undefined, incident: Incident, overrides: Partial<Omit<ReleaseContext<Container>, 'resource'>> & WithOutcomes = {}): UndoContext<Container, D> {
  return { ...aContainerReleaseContext(resource, incident, overrides), recorded: recordedBy(step, result) };
}

/** A recorded outcome, as the engine keeps it. */
export const outcome = (status: StepOutcome['status'], data?: unknown, summary: string = status): StepOutcome => ({ stage: 'contain', status, summary, attempts: 1, ...(data === undefined ? {} : { data: JSON.parse(JSON.stringify(data)) }) });
