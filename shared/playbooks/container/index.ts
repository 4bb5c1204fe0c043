import { definePlaybook, type Playbook } from '../../engine/index.ts';
import { captureContainer, ContainerCaptureSchema, containerIdentifiers, DESCRIBE_IAM_ACTIONS, describeContainer } from './describe.ts';
import { handOffHost } from './host.ts';
import { ContainerOptionsSchema } from './options.ts';
import { suspendContainer } from './suspend.ts';
import type { Container } from './types.ts';

/**
 * Compromised standalone container (Docker on an EC2 host), as the seeds order it: identify it
 * from GuardDuty; suspend its processes (docker pause; docker stop in full mode) while the host's
 * SSM agent can still be reached; isolate it — a container shares its host's network, so the host
 * is handed to the EC2 playbook, which isolates, detaches, protects, snapshots and scans it; keep
 * its docker inspect, and the snapshots GuardDuty's malware scan takes of the host (snapshot
 * retention), for the evaluation of what ran.
 */
export const containerPlaybook: Playbook<Container> = definePlaybook<Container>({
  name: 'container',
  options: ContainerOptionsSchema,
  describe: describeContainer,
  capture: { schema: ContainerCaptureSchema, of: captureContainer },
  // The host's tags: an exempt host exempts its containers.
  tags: (c) => c.host?.tags ?? {},
  identifiers: containerIdentifiers,
  principals: () => [],
  describeIamActions: DESCRIBE_IAM_ACTIONS,
  isolationStep: handOffHost,
  steps: [
    // Contain: pause first (quick, and it needs the agent's path the host's isolation cuts), then the host.
    suspendContainer,
    handOffHost,
  ],
  // Evidence, investigation and the release order (./later.ts) load once the resource is isolated.
  later: () => import('./later.ts'),
});

export type { Container } from './types.ts';
export type { StandaloneContainer } from './describe.ts';
export { ContainerOptionsSchema, type ContainerOptions } from './options.ts';

/** What the registry and the generated function entry point look for in every playbook folder. */
export const playbook = containerPlaybook;
/** Its Command documents, for the build to deploy. */
export const commandDocuments = async () => (await import('./control.ts')).CONTAINER_COMMAND_DOCUMENTS;
