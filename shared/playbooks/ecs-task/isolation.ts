import * as z from 'zod';
import { DenyEntrySchema, denyAddressesInNetworkAcl, denyOutcome, NETWORK_ACL_DENY_ACTIONS, NETWORK_ACL_REMOVE_ACTIONS, networkAclOfSubnet, releaseDenyEntries, UndeniedSchema, type DenyEntry, type Undenied } from '../../actions/network-acl.ts';
import {
  describeRule,
  GROUP_RULES_READ_ACTIONS,
  GROUP_RULES_RESTORE_ACTIONS,
  GROUP_RULES_REVOKE_ACTIONS,
  groupsUsedOnlyBy,
  markEmptied,
  unmarkEmptied,
  restoreGroupRules,
  revokeGroupRules,
  rulesOf,
  SavedRuleSchema,
  type SavedRule,
} from '../../actions/security-group-rules.ts';
import type { EcsTask } from './describe.ts';
import { sharesHostNetwork } from './describe.ts';
import { ecsStep } from './types.ts';

/** AWS's guide to what a security-group change leaves running: tracked flows may outlive the rules that admitted them. */
export const CONNECTION_TRACKING_DOC = 'https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/security-group-connection-tracking.html';

/** Why a step does nothing for a task that is not a running task with its own network. */
export function notIsolable(task: EcsTask): string | undefined {
  if (task.kind === 'cluster') {
    return `the finding names cluster ${task.clusterArn} but no task: nothing is changed in a whole cluster blindly — find the task(s) in GuardDuty's runtime findings or the cluster's tasks (aws ecs list-tasks --cluster ${task.clusterArn}) and contain each: firebreak contain ECSTask <task ARN> --ticket <ticket>`;
  }
  if (task.lastStatus === 'STOPPED') return `task ${task.taskArn} is already stopped`;
  return undefined;
}

/** What revokeTaskSecurityGroupRules records. */
const GroupRulesSchema = z.object({
  interfaces: z.array(z.object({ networkInterfaceId: z.string(), requesterManaged: z.boolean(), groupIds: z.array(z.string()) })),
  /** Groups only the task's ENIs use, emptied. */
  emptiedGroups: z.array(z.string()),
  /** Every rule those groups had (before the first delivery and since), restored on release. */
  savedRules: z.array(SavedRuleSchema),
  /** Groups other interfaces use too, left as they were, with some of those interfaces. */
  sharedGroups: z.array(z.object({ groupId: z.string(), interfaceIds: z.array(z.string()) })),
  recommendation: z.string().optional(),
  /** What this control cannot cut. */
  limits: z.array(z.string()),
});

const sameRuleId = (a: SavedRule, b: SavedRule) => a.groupId === b.groupId && a.ruleId === b.ruleId;

export const revokeTaskSecurityGroupRules = ecsStep({
  name: 'revokeTaskSecurityGroupRules',
  stage: 'contain',
  description:
    "Isolate the task: its ENIs are requester-managed (ECS), which AWS refuses to move to another security group, so revoke every ingress and egress rule of the task's security groups that no other network interface uses (saved exactly, restored on release)",
  iamActions: [...GROUP_RULES_READ_ACTIONS, ...GROUP_RULES_REVOKE_ACTIONS],
  data: GroupRulesSchema,
  async run({ clients, resource: task, capture, incident }) {
    const why = notIsolable(task);
    if (why) return { status: 'skipped', summary: why };
    if (task.interfaces.length === 0) {
      const mode = task.networkMode ?? 'unknown';
      return {
        status: 'skipped',
        summary: sharesHostNetwork(task)
          ? `task ${task.taskArn} uses ${mode} networking on host ${task.hostInstanceId}: it has no ENI of its own, only the host's isolation cuts it (handOffHostInstance)`
          : `task ${task.taskArn} has no network interface of its own (network mode ${mode})`,
      };
    }
    const interfaces = task.interfaces.map((i) => ({ networkInterfaceId: i.networkInterfaceId, requesterManaged: i.requesterManaged, groupIds: i.groupIds }));
    const groupIds = [...new Set(task.interfaces.flatMap((i) => i.groupIds))];
    const { own, shared } = await groupsUsedOnlyBy(clients.ec2, groupIds, task.interfaces.map((i) => i.networkInterfaceId));
    // The rules of the first delivery (a redelivery finds the groups already emptied) and any added since.
    const now = await rulesOf(clients.ec2, own);
    const savedRules = [...capture.groupRules.filter((r) => own.includes(r.groupId)), ...now.filter((r) => !capture.groupRules.some((c) => sameRuleId(c, r)))];
    // Marked first: release may put rules back only on a group carrying the mark (shared/iam).
    await markEmptied(clients.ec2, own, incident.incidentId);
    await revokeGroupRules(clients.ec2, now);
    const limits = [
      `flows the revoked rules were tracking may continue until idle (security groups are stateful: ${CONNECTION_TRACKING_DOC}); flows they left untracked end at once`,
      ...(shared.length ? [`groups shared with other interfaces (${shared.map((s) => s.groupId).join(', ')}) still admit what their rules allow`] : []),
    ];
    const managed = interfaces.filter((i) => i.requesterManaged).map((i) => i.networkInterfaceId);
    const whyRules = managed.length ? `ENI ${managed.join(', ')} is requester-managed by ECS (AWS refuses ModifyNetworkInterfaceAttribute on it), so its groups were emptied instead of replaced` : 'the groups were emptied';
    const recommendation = shared.length
      ? `Security group(s) ${shared.map((s) => `${s.groupId} (also on ${s.interfaceIds.join(', ') || 'more interfaces than one page lists'})`).join('; ')} are shared, so Firebreak left their rules: revoking them would cut those workloads too. ` +
        `Give the service a dedicated security group (aws ecs update-service --network-configuration …) and redeploy, or revoke the rules yourself if the other interfaces may be cut.`
      : undefined;
    const data = { interfaces, emptiedGroups: own, savedRules, sharedGroups: shared, ...(recommendation ? { recommendation } : {}), limits };
    if (own.length === 0) {
      return { status: 'skipped', summary: `every security group of task ${task.taskArn} is shared with other interfaces (${shared.map((s) => s.groupId).join(', ')}): no rule revoked (see the recommendation); the network ACL deny still applies`, data };
    }
    return {
      status: 'done',
      summary:
        `${whyRules}: revoked ${savedRules.length} rule(s) of ${own.join(', ')} (${savedRules.map(describeRule).join('; ') || 'no rule left'}), saved for release` +
        `${shared.length ? `; left shared group(s) ${shared.map((s) => s.groupId).join(', ')} (see the recommendation)` : ''}; tracked flows may continue (${CONNECTION_TRACKING_DOC})`,
      data,
    };
  },
  undo: {
    name: 'restoreSecurityGroupRules',
    description: 'Put back every ingress and egress rule containment revoked from the task\'s security groups, exactly as it was, where it is not there already',
    iamActions: [...GROUP_RULES_RESTORE_ACTIONS],
    async run({ recorded, clients, incident }) {
      const rules = await restoreGroupRules(clients.ec2, recorded.savedRules);
      await unmarkEmptied(clients.ec2, [...new Set(rules.filter((r) => r.result !== 'group-gone').map((r) => r.groupId))], incident.incidentId);
      const by = (r: string) => rules.filter((x) => x.result === r);
      const parts = [
        by('restored').length ? `restored ${by('restored').map(describeRule).join('; ')}` : '',
        by('already-present').length ? `${by('already-present').length} rule(s) already there` : '',
        by('group-gone').length ? `group(s) ${[...new Set(by('group-gone').map((r) => r.groupId))].join(', ')} no longer exist` : '',
      ].filter(Boolean);
      const status = by('restored').length + by('already-present').length > 0 || rules.length === 0 ? 'done' : 'skipped';
      return { status, summary: parts.join('; ') || 'no rule to restore', data: { rules } };
    },
  },
});

/** What denyRemoteAddressesInNetworkAcl records. */
const AclDenySchema = z.object({
  addresses: z.array(z.string()),
  entries: z.array(DenyEntrySchema),
  undenied: z.array(UndeniedSchema),
  limits: z.array(z.string()),
});

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

export const denyRemoteAddressesInNetworkAcl = ecsStep({
  name: 'denyRemoteAddressesInNetworkAcl',
  stage: 'contain',
  description:
    "Deny the finding's remote addresses in the network ACL of the task's subnet (inbound by source, outbound by destination, numbered below the ACL's lowest rule): stateless, so those flows end at once, tracked or not",
  iamActions: [...NETWORK_ACL_DENY_ACTIONS],
  enabledBy: ['network_acl_deny'],
  data: AclDenySchema,
  async run({ clients, resource: task, incident, options, previous }) {
    if (!options.network_acl_deny) return { status: 'skipped', summary: 'network ACL denies are turned off (option network_acl_deny = false)' };
    const why = notIsolable(task);
    if (why) return { status: 'skipped', summary: why };
    const addresses = [...new Set(incident.remoteIps.filter((ip) => IPV4.test(ip)))];
    if (addresses.length === 0) return { status: 'skipped', summary: 'the finding names no remote IPv4 address to deny' };
    const subnets = [...new Set(task.interfaces.map((i) => i.subnetId).filter(Boolean))];
    if (subnets.length === 0) {
      return { status: 'skipped', summary: `task ${task.taskArn} has no subnet of its own (network mode ${task.networkMode ?? 'unknown'}): the host's containment is what cuts it` };
    }
    const seen = new Set<string>();
    const entries: DenyEntry[] = [];
    const undenied: Undenied[] = [];
    for (const subnetId of subnets) {
      const acl = await networkAclOfSubnet(clients.ec2, subnetId);
      if (!acl?.NetworkAclId) {
        undenied.push(...addresses.flatMap((a) => [false, true].map((egress) => ({ cidrBlock: `${a}/32`, egress, reason: `no network ACL is associated with ${subnetId}` }))));
        continue;
      }
      if (seen.has(acl.NetworkAclId)) continue;
      seen.add(acl.NetworkAclId);
      const made = await denyAddressesInNetworkAcl(clients.ec2, acl, addresses, { ruleLimit: options.network_acl_rules_per_direction, previous: previous?.data?.entries ?? [] });
      entries.push(...made.entries);
      undenied.push(...made.undenied);
    }
    const limits = [
      `traffic between the task and other resources of its subnet (${subnets.join(', ')}) never crosses the network ACL`,
      `addresses the finding does not name are not denied (${addresses.length} named)`,
      'the deny applies to every resource in the subnet, not only the task',
    ];
    const data = { addresses, entries, undenied, limits };
    return { ...denyOutcome(entries, undenied, limits[0]!), data };
  },
  undo: {
    name: 'removeNetworkAclDenies',
    description: 'Delete the network ACL entries containment made, where each is still the deny it made',
    iamActions: [...NETWORK_ACL_REMOVE_ACTIONS],
    run: ({ recorded, clients }) => releaseDenyEntries(clients.ec2, recorded.entries),
  },
});
