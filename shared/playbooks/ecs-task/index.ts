import { definePlaybook, type Playbook } from '../../engine/index.ts';
import { revokeTaskRoleSessions } from './credentials.ts';
import { captureTask, DESCRIBE_IAM_ACTIONS, describeTask, EcsTaskCaptureSchema } from './describe.ts';
import { handOffHostInstance } from './host.ts';
import { denyRemoteAddressesInNetworkAcl, revokeTaskSecurityGroupRules } from './isolation.ts';
import { deregisterTaskFromTargetGroups, protectTaskFromScaleIn } from './membership.ts';
import { EcsTaskOptionsSchema } from './options.ts';
import type { Ecs } from './types.ts';

/**
 * Compromised ECS task (GuardDuty's ECSCluster findings), as the seeds order it: identify the
 * task the finding names (a finding naming only a cluster is recorded, with what to do, and
 * nothing in the cluster is changed); isolate it — its ENIs are requester-managed, so the
 * security groups only it uses are emptied (saved for release) and the finding's remote
 * addresses denied in its subnet's network ACL — take it out of its target groups, protect a
 * service task from scale-in, revoke its role's older sessions when nobody else uses the role,
 * and hand a host whose network it shares to the EC2 playbook; then preserve the task, its
 * definition, containers, image digests and network configuration, tag it and scan its host;
 * in full mode, stop it.
 */
export const ecsTaskPlaybook: Playbook<Ecs> = definePlaybook<Ecs>({
  name: 'ecs-task',
  options: EcsTaskOptionsSchema,
  describe: describeTask,
  capture: { schema: EcsTaskCaptureSchema, of: captureTask },
  tags: (t) => t.tags,
  identifiers: (incident, t) => [incident.resource.id, t.clusterArn, ...(t.taskArn ? [t.taskArn.split('/').pop()!] : []), ...(t.hostInstanceId ? [t.hostInstanceId] : [])],
  principals: (_incident, t) => (t.taskRoleArn ? [t.taskRoleArn] : []),
  describeIamActions: DESCRIBE_IAM_ACTIONS,
  isolationStep: revokeTaskSecurityGroupRules,
  steps: [
    // Contain — concurrently, before any evidence work.
    revokeTaskSecurityGroupRules,
    denyRemoteAddressesInNetworkAcl,
    deregisterTaskFromTargetGroups,
    protectTaskFromScaleIn,
    revokeTaskRoleSessions,
    handOffHostInstance,
  ],
  // Evidence, investigation and the release order (./later.ts) load once the resource is isolated.
  later: () => import('./later.ts'),
});

export type { Ecs } from './types.ts';
export type { EcsTask } from './describe.ts';
export { EcsTaskOptionsSchema, type EcsTaskOptions } from './options.ts';

/** What the registry and the generated function entry point look for in every playbook folder. */
export const playbook = ecsTaskPlaybook;
