import { DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { ListInstanceProfilesForRoleCommand } from '@aws-sdk/client-iam';
import * as z from 'zod';
import { findRevocation, otherTrustedPrincipals, releaseRevocation, revocationPolicyName, revokeSessionsIssuedBefore } from '../../actions/role-sessions.ts';
import { matchesPattern } from '../../engine/index.ts';
import { hasErrorCode } from '../../errors/index.ts';
import { notIsolable } from './isolation.ts';
import { ecsStep } from './types.ts';

/** The service principals a task role trusts so that ECS may hand its sessions to tasks. */
export const TASK_ROLE_SERVICE_PRINCIPALS: readonly string[] = ['ecs-tasks.amazonaws.com'];

const familyOf = (taskDefinitionArn: string) => taskDefinitionArn.split('/').pop()!.replace(/:\d+$/, '');

/**
 * The task definition families other than `family` whose ACTIVE definitions use `roleArn` as their
 * task role, reading at most `limit` definitions, newest first. `complete` is false when the
 * account has more: the answer is then not a proof that nobody else uses the role.
 */
export async function otherFamiliesWithRole(ecs: ECSClient, roleArn: string, family: string | undefined, limit: number): Promise<{ families: string[]; complete: boolean }> {
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const out = await ecs.send(new ListTaskDefinitionsCommand({ status: 'ACTIVE', sort: 'DESC', maxResults: 100, ...(nextToken ? { nextToken } : {}) }));
    arns.push(...(out.taskDefinitionArns ?? []));
    nextToken = out.nextToken;
  } while (nextToken && arns.length <= limit);
  const complete = !nextToken && arns.length <= limit;
  const others = arns.slice(0, limit).filter((a) => familyOf(a) !== family);
  const families = new Set<string>();
  // A family's newest ACTIVE revision is read first; its older ones only if it did not name the role.
  for (let i = 0; i < others.length; i += 10) {
    const batch = others.slice(i, i + 10).filter((a) => !families.has(familyOf(a)));
    const definitions = await Promise.all(batch.map((a) => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: a })).then((o) => o.taskDefinition)));
    for (const d of definitions) if (d?.taskRoleArn === roleArn && d.family) families.add(d.family);
  }
  return { families: [...families].sort(), complete };
}

/** What revokeTaskRoleSessions records: the role, and the revocation (done) or why the role was left (skipped). */
const TaskRoleSessionsSchema = z.object({
  roleName: z.string(),
  roleArn: z.string(),
  policyName: z.string().optional(),
  revokedBefore: z.string().nullable().optional(),
  protectedBy: z.string().optional(),
  sharedWith: z.array(z.string()).optional(),
  recommendation: z.string().optional(),
});

export const revokeTaskRoleSessions = ecsStep({
  name: 'revokeTaskRoleSessions',
  stage: 'contain',
  description:
    "Invalidate the task role's temporary credentials (an explicit deny on sessions issued before now, aws:TokenIssueTime), unless another task definition family, an instance profile or another principal uses the role",
  iamActions: ['iam:GetRole', 'iam:GetRolePolicy', 'iam:ListInstanceProfilesForRole', 'iam:PutRolePolicy', 'ecs:ListTaskDefinitions', 'ecs:DescribeTaskDefinition'],
  data: TaskRoleSessionsSchema,
  async run({ clients, resource: task, capture, options, config, incident, now }) {
    const why = notIsolable(task);
    if (why && task.kind === 'cluster') return { status: 'skipped', summary: why };
    const roleArn = capture.taskRoleArn ?? task.taskRoleArn;
    if (!roleArn) return { status: 'skipped', summary: `task ${task.taskArn} has no task role: no role credentials were in its containers` };
    const roleName = roleArn.split('/').pop()!;
    const theRole = { roleName, roleArn };
    const protectedBy = config.protectedPrincipals.find((p) => matchesPattern(p, roleArn));
    if (protectedBy) return { status: 'skipped', summary: `task role ${roleName} is protected (matches ${protectedBy}); its sessions were not revoked`, data: { ...theRole, protectedBy } };
    if (roleName.startsWith(`${config.namePrefix}-`) || roleName === config.members.roleName) {
      return { status: 'skipped', summary: `task role ${roleName} is one of Firebreak's own roles: its sessions were not revoked`, data: { ...theRole, protectedBy: `${config.namePrefix}-*` } };
    }
    const policyName = revocationPolicyName(incident.incidentId);
    const existing = await findRevocation(clients.iam, roleName, policyName);
    if (existing) {
      return {
        status: 'done',
        summary: `sessions of task role ${roleName} issued before ${existing.revokedBefore ?? 'the first delivery'} were already denied by ${policyName}`,
        data: { ...theRole, policyName, revokedBefore: existing.revokedBefore ?? null },
      };
    }
    let profiles: string[];
    try {
      profiles = ((await clients.iam.send(new ListInstanceProfilesForRoleCommand({ RoleName: roleName }))).InstanceProfiles ?? []).map((p) => p.InstanceProfileName ?? '');
    } catch (error) {
      if (hasErrorCode(error, 'NoSuchEntity', 'NoSuchEntityException')) return { status: 'skipped', summary: `task role ${roleName} no longer exists`, data: theRole };
      throw error;
    }
    const [principals, families] = await Promise.all([
      otherTrustedPrincipals(clients.iam, roleName, TASK_ROLE_SERVICE_PRINCIPALS),
      otherFamiliesWithRole(clients.ecs, roleArn, task.family, options.role_share_scan_limit),
    ]);
    const sharedWith = [
      ...families.families.map((f) => `task definition family ${f}`),
      ...(families.complete ? [] : [`possibly task definitions beyond the ${options.role_share_scan_limit} read (role_share_scan_limit)`]),
      ...profiles.map((p) => `instance profile ${p}`),
      ...principals.map((p) => `trusted principal ${p}`),
    ];
    if (sharedWith.length > 0) {
      const recommendation =
        `Task role ${roleName} is also used by ${sharedWith.join(', ')}, so Firebreak did not deny its older sessions: that would break those workloads until their credentials refresh. ` +
        `Give family ${task.family ?? '(the task\'s)'} a role of its own, or, if those workloads may lose their current sessions, attach an inline deny on aws:TokenIssueTime before now to ${roleName} yourself.`;
      return { status: 'skipped', summary: `task role ${roleName} is shared (${sharedWith.join(', ')}); its sessions were not revoked (see the recommendation)`, data: { ...theRole, sharedWith, recommendation } };
    }
    const revokedBefore = await revokeSessionsIssuedBefore(clients.iam, roleName, policyName, now());
    return {
      status: 'done',
      summary: `sessions of task role ${roleName} issued before ${revokedBefore} are denied (inline policy ${policyName}), so credentials taken from the task's containers no longer work; the other tasks of family ${task.family ?? '(the task\'s)'} get new sessions from ECS when their SDKs refresh`,
      data: { ...theRole, policyName, revokedBefore },
    };
  },
  undo: {
    name: 'removeTaskRoleRevocation',
    description: "Remove the inline policy that revoked the task role's older sessions",
    iamActions: ['iam:DeleteRolePolicy'],
    async run({ recorded, incident, clients }) {
      const policyName = recorded.policyName ?? revocationPolicyName(incident.incidentId);
      return releaseRevocation(clients.iam, recorded.roleName, policyName, `task role sessions issued before ${recorded.revokedBefore ?? 'the revocation'} that have not expired yet are valid again, credentials taken from the task included`);
    },
  },
});
