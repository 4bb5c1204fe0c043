import { settleAll } from '../../actions/settle.ts';
import { DescribeNetworkInterfacesCommand, ModifyNetworkInterfaceAttributeCommand } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { egressPermissions, ensureFirebreakGroups, findSsmEgress, isolateInterface, type IsolationEgress } from '../../actions/vpc-isolation.ts';
import { classifyError } from '../../errors/index.ts';
import { ec2Step } from './types.ts';

/** What the isolation group lets out (`IsolationEgress`), recorded when online capture is enabled. */
const IsolationEgressSchema = z.object({
  allowed: z.array(z.object({ protocol: z.literal('tcp'), port: z.literal(443), groupId: z.string() })),
  ssmEndpointIds: z.array(z.string()),
  reason: z.string(),
});

/** What isolation recorded: the VPC's Firebreak groups, and each interface's groups before it was isolated. */
const IsolatedInterfacesSchema = z.object({
  isolationGroupId: z.string(),
  untrackingGroupId: z.string(),
  vpcId: z.string(),
  interfaces: z.array(
    z.object({
      networkInterfaceId: z.string(),
      groupsBefore: z.array(z.string()),
      requesterManaged: z.boolean(),
      result: z.enum(['isolated', 'already-isolated']),
    }),
  ),
  egress: IsolationEgressSchema.optional(),
});

const sameSet = (a: string[], b: string[]) => a.length === b.length && new Set([...a, ...b]).size === new Set(a).size;

type InterfaceResult = 'restored' | 'already-restored' | 'changed-since' | 'moved' | 'gone';

export const isolateNetworkInterfaces = ec2Step({
  name: 'isolateNetworkInterfaces',
  stage: 'contain',
  description: "Isolate every network interface with the VPC's isolation group, cutting tracked connections",
  iamActions: [
    'ec2:DescribeSecurityGroups',
    'ec2:DescribeVpcEndpoints',
    'ec2:CreateSecurityGroup',
    'ec2:CreateTags',
    'ec2:RevokeSecurityGroupIngress',
    'ec2:RevokeSecurityGroupEgress',
    'ec2:AuthorizeSecurityGroupIngress',
    'ec2:AuthorizeSecurityGroupEgress',
    'ec2:ModifyNetworkInterfaceAttribute',
  ],
  // The SSM endpoints are looked up only to let online capture through the isolation group.
  iamWhen: { 'ec2:DescribeVpcEndpoints': ['online_capture.enabled'] },
  data: IsolatedInterfacesSchema,
  async run({ clients, resource, capture, options, incident, logger }) {
    if (resource.networkInterfaces.length === 0) {
      return { status: 'skipped', summary: `${resource.instanceId} has no network interface attached` };
    }
    // Online capture is a convenience: a failed lookup must never hold containment, so it
    // leaves the isolation group rule-less (and the capture steps then say why they cannot run).
    const egressLookup = options.online_capture.enabled
      ? findSsmEgress(clients.ec2, resource.vpcId, incident.region).catch((error: unknown): IsolationEgress => {
          const { code } = classifyError(error);
          logger.warn('SSM endpoint lookup failed; the isolation group allows no egress', { vpcId: resource.vpcId, errorCode: code });
          return { allowed: [], ssmEndpointIds: [], reason: `the SSM endpoint lookup in ${resource.vpcId} failed (${code})` };
        })
      : undefined;
    const groups = await ensureFirebreakGroups(clients.ec2, resource.vpcId, resource.firebreakGroups, egressLookup?.then(egressPermissions) ?? []);
    const egress = await egressLookup;
    // The groups of the first delivery: on a redelivery an interface may already sit in a Firebreak group.
    const before = new Map(capture.networkInterfaces.map((n) => [n.networkInterfaceId, n.groupIds]));
    const results = await settleAll(resource.networkInterfaces.map((eni) => isolateInterface(clients.ec2, eni, groups)));
    const interfaces = resource.networkInterfaces.map((eni, n) => ({
      networkInterfaceId: eni.networkInterfaceId,
      groupsBefore: before.get(eni.networkInterfaceId) ?? eni.groupIds,
      requesterManaged: eni.requesterManaged,
      result: results[n]!,
    }));
    const changed = interfaces.filter((i) => i.result === 'isolated').length;
    const isolated =
      changed === 0
        ? `every interface of ${resource.instanceId} already carries only ${groups.isolationGroupId}`
        : `${changed} interface(s) of ${resource.instanceId} moved to ${groups.untrackingGroupId} then isolated in ${groups.isolationGroupId}`;
    return {
      // Already isolated is still isolated: the goal of the step holds.
      status: 'done',
      summary: egress ? `${isolated}; ${egressSentence(egress)}` : isolated,
      data: { ...groups, vpcId: resource.vpcId, interfaces, ...(egress ? { egress } : {}) },
    };
  },
  undo: {
    name: 'restoreSecurityGroups',
    description: 'Put back the security groups each network interface had before isolation, where it still carries only the Firebreak groups',
    iamActions: ['ec2:DescribeNetworkInterfaces', 'ec2:ModifyNetworkInterfaceAttribute'],
    async run({ recorded, clients, incident }) {
      const instanceId = incident.resource.id;
      const wanted = recorded.interfaces.map((i) => ({ networkInterfaceId: i.networkInterfaceId, groupsBefore: i.groupsBefore }));
      // Both are Firebreak's: an ENI left on the untracking group was caught between the two swaps.
      const firebreakGroups = new Set([recorded.isolationGroupId, recorded.untrackingGroupId]);
      const out = await clients.ec2.send(
        new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'network-interface-id', Values: wanted.map((r) => r.networkInterfaceId) }] }),
      );
      const now = new Map((out.NetworkInterfaces ?? []).map((n) => [n.NetworkInterfaceId, n]));
      const interfaces = await settleAll(
        wanted.map(async (r) => {
          const eni = now.get(r.networkInterfaceId);
          const groupsNow = (eni?.Groups ?? []).map((g) => g.GroupId ?? '');
          const row = (result: InterfaceResult) => ({ ...r, groupsNow, result });
          if (!eni) return row('gone');
          const attachedTo = eni.Attachment?.InstanceId;
          if (attachedTo && attachedTo !== instanceId) return row('moved');
          if (sameSet(groupsNow, r.groupsBefore)) return row('already-restored');
          if (r.groupsBefore.length === 0 || groupsNow.length === 0 || !groupsNow.every((g) => firebreakGroups.has(g))) return row('changed-since');
          await clients.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: r.networkInterfaceId, Groups: r.groupsBefore }));
          return { ...row('restored'), groupsNow: r.groupsBefore };
        }),
      );
      const by = (result: InterfaceResult) => interfaces.filter((i) => i.result === result);
      const parts = [
        by('restored').length ? `restored ${by('restored').map((i) => `${i.networkInterfaceId} → ${i.groupsBefore.join(', ')}`).join('; ')}` : '',
        by('already-restored').length ? `${by('already-restored').map((i) => i.networkInterfaceId).join(', ')} already had their groups back` : '',
        by('changed-since').length
          ? `left alone (changed since containment): ${by('changed-since').map((i) => `${i.networkInterfaceId} now has ${i.groupsNow.join(', ') || 'no group'}`).join('; ')}`
          : '',
        by('moved').length ? `left alone (now attached to another instance): ${by('moved').map((i) => i.networkInterfaceId).join(', ')}` : '',
        by('gone').length ? `no longer exist: ${by('gone').map((i) => i.networkInterfaceId).join(', ')}` : '',
      ].filter(Boolean);
      // `done` when something was restored or already was; `skipped` when every interface was left alone.
      const status = by('restored').length + by('already-restored').length > 0 ? 'done' : 'skipped';
      return { status, summary: parts.join('; '), data: { interfaces } };
    },
  },
});

function egressSentence(egress: IsolationEgress): string {
  if (egress.allowed.length === 0) return `isolation group allows no egress, so online capture is not possible (${egress.reason})`;
  const groups = egress.allowed.map((a) => a.groupId).join(', ');
  return `isolation group allows HTTPS only to the SSM endpoints' group${egress.allowed.length > 1 ? 's' : ''} ${groups} for online capture`;
}
