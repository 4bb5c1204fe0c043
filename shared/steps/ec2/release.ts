import { AttachInstancesCommand, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand } from '@aws-sdk/client-auto-scaling';
import {
  AssociateAddressCommand,
  AssociateIamInstanceProfileCommand,
  CreateTagsCommand,
  DescribeAddressesCommand,
  DescribeNetworkInterfacesCommand,
  DisassociateIamInstanceProfileCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceIamInstanceProfileAssociationCommand,
} from '@aws-sdk/client-ec2';
import { RegisterInstancesWithLoadBalancerCommand } from '@aws-sdk/client-elastic-load-balancing';
import { RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DeleteRolePolicyCommand } from '@aws-sdk/client-iam';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import type { ReleaseStepContext, ReleaseStepDefinition, ReleaseStepResult } from '../../release/types.ts';
import { associationsWhere } from './credentials.ts';
import type { Ec2Instance } from './describe.ts';

// Release restores only what a containment step recorded as `done`, and only where the
// resource still looks the way containment left it: anything a human changed since is
// left alone, and the step says so. Evidence (snapshots, forensic volumes, evidence-bucket
// objects) is never touched; protections that keep evidence safe stay as containment left them.

type Ctx = ReleaseStepContext<Ec2Instance>;

/** What a containment step recorded, when it changed something (status `done`). */
function containedData(ctx: Ctx, step: string): Record<string, unknown> | undefined {
  const outcome = ctx.contained[step];
  return outcome?.status === 'done' ? (outcome.data ?? {}) : undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const records = (v: unknown): Array<Record<string, unknown>> => (Array.isArray(v) ? v.filter((x): x is Record<string, unknown> => x !== null && typeof x === 'object') : []);
const sameSet = (a: string[], b: string[]) => a.length === b.length && new Set([...a, ...b]).size === new Set(a).size;

const nothingToRestore = (ctx: Ctx, step: string, what: string): ReleaseStepResult => ({
  status: 'skipped',
  summary: `${step} did not change ${ctx.record.resourceId}${what}: nothing to restore`,
});
const instanceGone = (ctx: Ctx): ReleaseStepResult => ({ status: 'skipped', summary: `${ctx.record.resourceId} no longer exists: nothing to restore`, data: { instanceGone: true } });

/** Runs the calls concurrently; every call is made even when one fails, then the first failure is thrown. */
async function settleAll<T>(calls: Array<() => Promise<T>>): Promise<T[]> {
  const results = await Promise.allSettled(calls.map((c) => c()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}

/** `done` when something was restored or already was; `skipped` when everything was left alone. */
function verdict(restored: number, already: number, summary: string, data: Record<string, unknown>): ReleaseStepResult {
  return { status: restored + already > 0 ? 'done' : 'skipped', summary, data };
}

type InterfaceResult = 'restored' | 'already-restored' | 'changed-since' | 'moved' | 'gone';

export const restoreSecurityGroups: ReleaseStepDefinition<Ec2Instance> = {
  name: 'restoreSecurityGroups',
  description: 'Put back the security groups each network interface had before isolation, where it still carries only the Firebreak groups',
  iamActions: ['ec2:DescribeNetworkInterfaces', 'ec2:ModifyNetworkInterfaceAttribute'],
  async run(ctx) {
    const data = containedData(ctx, 'isolateNetworkInterfaces');
    const recorded = records(data?.interfaces).flatMap((i) => {
      const id = str(i.networkInterfaceId);
      return id ? [{ networkInterfaceId: id, groupsBefore: strings(i.groupsBefore) }] : [];
    });
    if (!data || recorded.length === 0) return nothingToRestore(ctx, 'isolateNetworkInterfaces', "'s network interfaces");
    // Both are Firebreak's: an ENI left on the untracking group was caught between the two swaps.
    const firebreakGroups = new Set([str(data.isolationGroupId), str(data.untrackingGroupId)].filter((g): g is string => Boolean(g)));
    const out = await ctx.clients.ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'network-interface-id', Values: recorded.map((r) => r.networkInterfaceId) }] }),
    );
    const now = new Map((out.NetworkInterfaces ?? []).map((n) => [n.NetworkInterfaceId, n]));
    const interfaces = await settleAll(
      recorded.map((r) => async () => {
        const eni = now.get(r.networkInterfaceId);
        const groupsNow = (eni?.Groups ?? []).map((g) => g.GroupId ?? '');
        const row = (result: InterfaceResult) => ({ ...r, groupsNow, result });
        if (!eni) return row('gone');
        const attachedTo = eni.Attachment?.InstanceId;
        if (attachedTo && attachedTo !== ctx.record.resourceId) return row('moved');
        if (sameSet(groupsNow, r.groupsBefore)) return row('already-restored');
        if (r.groupsBefore.length === 0 || groupsNow.length === 0 || !groupsNow.every((g) => firebreakGroups.has(g))) return row('changed-since');
        await ctx.clients.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: r.networkInterfaceId, Groups: r.groupsBefore }));
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
    return verdict(by('restored').length, by('already-restored').length, parts.join('; '), { interfaces });
  },
};

type AddressResult = 'reassociated' | 'already-associated' | 'associated-elsewhere' | 'address-gone' | 'interface-moved' | 'private-ip-gone';

export const reassociateElasticIps: ReleaseStepDefinition<Ec2Instance> = {
  name: 'reassociateElasticIps',
  description: 'Associate each Elastic IP that containment disassociated back to its network interface and private address, unless it is in use elsewhere',
  iamActions: ['ec2:DescribeAddresses', 'ec2:AssociateAddress'],
  async run(ctx) {
    const data = containedData(ctx, 'disassociateElasticIps');
    const recorded = records(data?.addresses).flatMap((a) => {
      const allocationId = str(a.allocationId);
      const networkInterfaceId = str(a.networkInterfaceId);
      return allocationId && networkInterfaceId ? [{ allocationId, networkInterfaceId, publicIp: str(a.publicIp), privateIpAddress: str(a.privateIpAddress) }] : [];
    });
    if (recorded.length === 0) return nothingToRestore(ctx, 'disassociateElasticIps', "'s Elastic IPs");
    const instance = await ctx.resource();
    if (!instance) return instanceGone(ctx);
    const out = await ctx.clients.ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'allocation-id', Values: recorded.map((r) => r.allocationId) }] }));
    const current = new Map((out.Addresses ?? []).map((a) => [a.AllocationId, a]));
    const addresses = await settleAll(
      recorded.map((r) => async () => {
        const row = (result: AddressResult, now?: string) => ({ ...r, result, ...(now ? { associatedWith: now } : {}) });
        const a = current.get(r.allocationId);
        if (!a) return row('address-gone');
        if (a.NetworkInterfaceId === r.networkInterfaceId && (!r.privateIpAddress || a.PrivateIpAddress === r.privateIpAddress)) return row('already-associated');
        if (a.AssociationId) return row('associated-elsewhere', a.NetworkInterfaceId ?? a.InstanceId);
        // Associating to an interface or address the instance no longer has would expose another host.
        const eni = instance.networkInterfaces.find((n) => n.networkInterfaceId === r.networkInterfaceId);
        if (!eni) return row('interface-moved');
        if (r.privateIpAddress && !eni.privateIps.includes(r.privateIpAddress)) return row('private-ip-gone');
        try {
          await ctx.clients.ec2.send(
            new AssociateAddressCommand({
              AllocationId: r.allocationId,
              NetworkInterfaceId: r.networkInterfaceId,
              ...(r.privateIpAddress ? { PrivateIpAddress: r.privateIpAddress } : {}),
              AllowReassociation: false,
            }),
          );
        } catch (error) {
          // Someone associated it between our read and our call.
          if (hasErrorCode(error, 'Resource.AlreadyAssociated')) return row('associated-elsewhere');
          throw error;
        }
        return row('reassociated');
      }),
    );
    const by = (result: AddressResult) => addresses.filter((a) => a.result === result);
    const name = (a: { publicIp?: string | undefined; allocationId: string }) => a.publicIp ?? a.allocationId;
    const parts = [
      by('reassociated').length ? `reassociated ${by('reassociated').map((a) => `${name(a)} → ${a.networkInterfaceId}${a.privateIpAddress ? ` (${a.privateIpAddress})` : ''}`).join(', ')}` : '',
      by('already-associated').length ? `${by('already-associated').map(name).join(', ')} already associated` : '',
      by('associated-elsewhere').length ? `left alone (now associated elsewhere): ${by('associated-elsewhere').map((a) => `${name(a)}${a.associatedWith ? ` with ${a.associatedWith}` : ''}`).join(', ')}` : '',
      by('address-gone').length ? `released from the account since: ${by('address-gone').map(name).join(', ')}` : '',
      by('interface-moved').length ? `left alone (interface no longer on the instance): ${by('interface-moved').map(name).join(', ')}` : '',
      by('private-ip-gone').length ? `left alone (private address no longer on the interface): ${by('private-ip-gone').map(name).join(', ')}` : '',
    ].filter(Boolean);
    return verdict(by('reassociated').length, by('already-associated').length, parts.join('; '), { addresses });
  },
};

export const reregisterTargets: ReleaseStepDefinition<Ec2Instance> = {
  name: 'reregisterTargets',
  description: 'Register the instance again in every ELBv2 target group it was deregistered from, with the same port and Availability Zone',
  iamActions: ['elasticloadbalancing:RegisterTargets'],
  async run(ctx) {
    const data = containedData(ctx, 'deregisterFromTargetGroups');
    const recorded = records(data?.registrations).flatMap((r) => {
      const targetGroupArn = str(r.targetGroupArn);
      const id = str(r.id);
      return targetGroupArn && id
        ? [{ targetGroupArn, targetType: str(r.targetType) ?? 'instance', id, ...(typeof r.port === 'number' ? { port: r.port } : {}), ...(str(r.availabilityZone) ? { availabilityZone: r.availabilityZone as string } : {}) }]
        : [];
    });
    if (recorded.length === 0) return nothingToRestore(ctx, 'deregisterFromTargetGroups', "'s target registrations");
    const instance = await ctx.resource();
    if (!instance) return instanceGone(ctx);
    const ips = new Set(instance.networkInterfaces.flatMap((n) => n.privateIps));
    const registrations = await settleAll(
      recorded.map((r) => async () => {
        // An IP target is an address, not the instance: only put back one the instance still has.
        if (r.targetType === 'ip' ? !ips.has(r.id) : r.id !== instance.instanceId) return { ...r, result: 'target-not-on-instance' };
        try {
          await ctx.clients.elbv2.send(
            new RegisterTargetsCommand({
              TargetGroupArn: r.targetGroupArn,
              Targets: [{ Id: r.id, ...(r.port !== undefined ? { Port: r.port } : {}), ...(r.availabilityZone ? { AvailabilityZone: r.availabilityZone } : {}) }],
            }),
          );
        } catch (error) {
          if (hasErrorCode(error, 'TargetGroupNotFoundException', 'TargetGroupNotFound')) return { ...r, result: 'target-group-gone' };
          throw error;
        }
        return { ...r, result: 'registered' };
      }),
    );
    const label = (r: (typeof registrations)[number]) => `${r.targetGroupArn.split('/').slice(-2, -1)[0]} (${r.targetType} ${r.id}${r.port !== undefined ? `:${r.port}` : ''})`;
    const registered = registrations.filter((r) => r.result === 'registered');
    const parts = [
      registered.length ? `registered again in ${registered.map(label).join(', ')}` : '',
      ...registrations.filter((r) => r.result === 'target-group-gone').map((r) => `target group ${label(r)} no longer exists`),
      ...registrations.filter((r) => r.result === 'target-not-on-instance').map((r) => `left alone: ${label(r)} is no longer the instance's`),
    ].filter(Boolean);
    return verdict(registered.length, 0, parts.join('; '), { registrations });
  },
};

export const reregisterClassicLoadBalancers: ReleaseStepDefinition<Ec2Instance> = {
  name: 'reregisterClassicLoadBalancers',
  description: 'Register the instance again with every Classic Load Balancer it was deregistered from',
  iamActions: ['elasticloadbalancing:RegisterInstancesWithLoadBalancer'],
  async run(ctx) {
    const names = strings(containedData(ctx, 'deregisterFromClassicLoadBalancers')?.loadBalancerNames);
    if (names.length === 0) return nothingToRestore(ctx, 'deregisterFromClassicLoadBalancers', "'s Classic Load Balancer registrations");
    const instance = await ctx.resource();
    if (!instance) return instanceGone(ctx);
    const loadBalancers = await settleAll(
      names.map((loadBalancerName) => async () => {
        try {
          await ctx.clients.elb.send(new RegisterInstancesWithLoadBalancerCommand({ LoadBalancerName: loadBalancerName, Instances: [{ InstanceId: instance.instanceId }] }));
        } catch (error) {
          if (hasErrorCode(error, 'AccessPointNotFoundException', 'LoadBalancerNotFound')) return { loadBalancerName, result: 'load-balancer-gone' };
          throw error;
        }
        return { loadBalancerName, result: 'registered' };
      }),
    );
    const registered = loadBalancers.filter((l) => l.result === 'registered').map((l) => l.loadBalancerName);
    const gone = loadBalancers.filter((l) => l.result !== 'registered').map((l) => l.loadBalancerName);
    const summary = [registered.length ? `registered again with ${registered.join(', ')}` : '', gone.length ? `no longer exist: ${gone.join(', ')}` : ''].filter(Boolean).join('; ');
    return verdict(registered.length, 0, summary, { loadBalancers });
  },
};

export const reattachToAutoScalingGroup: ReleaseStepDefinition<Ec2Instance> = {
  name: 'reattachToAutoScalingGroup',
  description: 'Attach the instance again to the Auto Scaling group it was detached from (only with --reattach: it raises desired capacity by one)',
  iamActions: ['autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeAutoScalingGroups', 'autoscaling:AttachInstances'],
  async run(ctx) {
    const groupName = str(containedData(ctx, 'detachFromAutoScalingGroup')?.autoScalingGroupName);
    if (!groupName) return nothingToRestore(ctx, 'detachFromAutoScalingGroup', "'s Auto Scaling group membership");
    const id = ctx.record.resourceId;
    if (!ctx.request.reattach) {
      return {
        status: 'skipped',
        summary: `not asked (--reattach): ${id} stays out of ${groupName}, whose replacement instance keeps serving; release with --reattach to put it back (raises desired capacity by one)`,
        data: { autoScalingGroupName: groupName, notAsked: true },
      };
    }
    const instance = await ctx.resource();
    if (!instance) return instanceGone(ctx);
    const membership = (await ctx.clients.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [id] }))).AutoScalingInstances?.find(
      (a) => a.InstanceId === id,
    );
    if (membership?.AutoScalingGroupName === groupName) {
      return { status: 'done', summary: `${id} is already in ${groupName}`, data: { autoScalingGroupName: groupName } };
    }
    if (membership?.AutoScalingGroupName) {
      return {
        status: 'skipped',
        summary: `left alone: ${id} is now in another Auto Scaling group, ${membership.AutoScalingGroupName}`,
        data: { autoScalingGroupName: groupName, nowIn: membership.AutoScalingGroupName },
      };
    }
    const describeGroup = async () =>
      (await ctx.clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }))).AutoScalingGroups?.find(
        (g) => g.AutoScalingGroupName === groupName,
      );
    const group = await describeGroup();
    if (!group) return { status: 'skipped', summary: `Auto Scaling group ${groupName} no longer exists: nothing to reattach to`, data: { autoScalingGroupName: groupName, groupGone: true } };
    if (instance.state !== 'running') {
      throw new StepFailedError('reattachToAutoScalingGroup', 'InstanceNotRunning', `${id} is ${instance.state}; Auto Scaling attaches only running instances: start it, then release again with --reattach`, false);
    }
    const desiredBefore = group.DesiredCapacity ?? 0;
    if (group.MaxSize !== undefined && desiredBefore + 1 > group.MaxSize) {
      throw new StepFailedError(
        'reattachToAutoScalingGroup',
        'GroupAtMaximum',
        `attaching raises ${groupName}'s desired capacity to ${desiredBefore + 1}, above its maximum of ${group.MaxSize}: raise the maximum, then release again with --reattach`,
        false,
      );
    }
    await ctx.clients.autoScaling.send(new AttachInstancesCommand({ AutoScalingGroupName: groupName, InstanceIds: [id] }));
    const desiredAfter = (await describeGroup())?.DesiredCapacity ?? desiredBefore + 1;
    return {
      status: 'done',
      summary: `${id} attached to ${groupName}; desired capacity ${desiredBefore} → ${desiredAfter} (lower it again if the replacement should go)`,
      data: { autoScalingGroupName: groupName, desiredBefore, desiredAfter },
    };
  },
};

export const removeRevocationPolicy: ReleaseStepDefinition<Ec2Instance> = {
  name: 'removeRevocationPolicy',
  description: "Remove the inline policy that revoked the instance role's older sessions",
  iamActions: ['iam:DeleteRolePolicy'],
  async run(ctx) {
    const data = containedData(ctx, 'revokeInstanceRoleSessions');
    const roleName = str(data?.roleName);
    const policyName = str(data?.policyName);
    if (!roleName || !policyName) return nothingToRestore(ctx, 'revokeInstanceRoleSessions', "'s role sessions");
    const revokedBefore = str(data?.revokedBefore);
    // Removing the deny revives every unexpired session it denied, the copied credentials included.
    const caveat = `role sessions issued before ${revokedBefore ?? 'the revocation'} that have not expired yet (instance-role credentials last about 6 hours) are valid again`;
    try {
      await ctx.clients.iam.send(new DeleteRolePolicyCommand({ RoleName: roleName, PolicyName: policyName }));
    } catch (error) {
      if (!hasErrorCode(error, 'NoSuchEntityException', 'NoSuchEntity')) throw error;
      return { status: 'done', summary: `${policyName} was already gone from role ${roleName}`, data: { roleName, policyName, result: 'already-removed' } };
    }
    return { status: 'done', summary: `removed ${policyName} from role ${roleName}: ${caveat}`, data: { roleName, policyName, result: 'removed', caveat } };
  },
};

/** Profile ARNs as containment may record them: a string, or an object with an ARN. */
function arnOf(v: unknown): string | undefined {
  if (typeof v === 'string') return str(v);
  if (v && typeof v === 'object') return str((v as Record<string, unknown>).arn) ?? str((v as Record<string, unknown>).Arn) ?? str((v as Record<string, unknown>).instanceProfileArn);
  return undefined;
}

export const restoreInstanceProfile: ReleaseStepDefinition<Ec2Instance> = {
  name: 'restoreInstanceProfile',
  description: 'Give the instance back the instance profile it had before containment, where it still has the one containment left',
  iamActions: [
    'ec2:DescribeIamInstanceProfileAssociations',
    'ec2:AssociateIamInstanceProfile',
    'ec2:ReplaceIamInstanceProfileAssociation',
    'ec2:DisassociateIamInstanceProfile',
    'iam:PassRole',
  ],
  async run(ctx) {
    const data = containedData(ctx, 'replaceInstanceProfile');
    if (!data) return nothingToRestore(ctx, 'replaceInstanceProfile', "'s instance profile");
    const before = arnOf(data.instanceProfileArnBefore);
    const replacedWith = arnOf(data.replacedWith);
    const id = ctx.record.resourceId;
    const associations = await associationsWhere(ctx.clients.ec2, [{ Name: 'instance-id', Values: [id] }, { Name: 'state', Values: ['associating', 'associated'] }]);
    const current = associations.find((a) => a.InstanceId === id);
    const currentArn = current?.IamInstanceProfile?.Arn;
    const base = { instanceProfileArnBefore: before ?? null, replacedWith: replacedWith ?? null, arnNow: currentArn ?? null };
    if (currentArn === before) {
      return { status: 'done', summary: before ? `${id} already has ${before}` : `${id} already has no instance profile, as before`, data: { ...base, result: 'already-restored' } };
    }
    // Only undo Firebreak's own change: a profile nobody recorded was put there by a human.
    if (currentArn && currentArn !== replacedWith) {
      return { status: 'skipped', summary: `left alone (changed since containment): ${id} now has ${currentArn}`, data: { ...base, result: 'changed-since' } };
    }
    if (!before) {
      await ctx.clients.ec2.send(new DisassociateIamInstanceProfileCommand({ AssociationId: current!.AssociationId }));
      return { status: 'done', summary: `removed ${currentArn} from ${id}, which had no instance profile before`, data: { ...base, result: 'disassociated' } };
    }
    if (current?.AssociationId) {
      await ctx.clients.ec2.send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: current.AssociationId, IamInstanceProfile: { Arn: before } }));
      return { status: 'done', summary: `replaced ${currentArn} with ${before} on ${id}`, data: { ...base, result: 'replaced' } };
    }
    const instance = await ctx.resource();
    if (!instance) return instanceGone(ctx);
    await ctx.clients.ec2.send(new AssociateIamInstanceProfileCommand({ InstanceId: id, IamInstanceProfile: { Arn: before } }));
    return { status: 'done', summary: `associated ${before} with ${id} again`, data: { ...base, result: 'associated' } };
  },
};

export const keepProtectionsAndEvidence: ReleaseStepDefinition<Ec2Instance> = {
  name: 'keepProtectionsAndEvidence',
  description: 'Leave termination and stop protection, shutdown behaviour, DeleteOnTermination, a stopped instance and all evidence as containment left them',
  iamActions: [],
  async run(ctx) {
    const id = ctx.record.resourceId;
    const done = (step: string) => ctx.contained[step]?.status === 'done';
    const kept: string[] = [];
    // Said as "left as it is", not "on": a responder (or a later step) may have lifted one already.
    if (done('enableTerminationProtection')) kept.push(`termination protection, enabled by containment, is left as it is (lift it: aws ec2 modify-instance-attribute --instance-id ${id} --no-disable-api-termination)`);
    if (done('enableStopProtection')) kept.push(`stop protection, enabled by containment, is left as it is (lift it: aws ec2 modify-instance-attribute --instance-id ${id} --no-disable-api-stop)`);
    if (done('setShutdownBehaviourToStop')) kept.push('instance-initiated shutdown behaviour, set to "stop" by containment, is left as it is');
    const volumes = records(containedData(ctx, 'preserveVolumesOnTermination')?.volumes).flatMap((v) => (str(v.volumeId) ? [v.volumeId as string] : []));
    if (volumes.length) kept.push(`DeleteOnTermination, turned off by containment, is left off for ${volumes.join(', ')}`);
    const instance = await ctx.resource();
    if (!instance) kept.push(`${id} no longer exists`);
    else if (instance.state !== 'running') kept.push(`${id} stays ${instance.state}: release never starts an instance (start it yourself when ready)`);
    const ids = (step: string, list: string, key: string) => records(containedData(ctx, step)?.[list]).flatMap((r) => (str(r[key]) ? [r[key] as string] : []));
    const snapshots = ids('snapshotVolumes', 'snapshots', 'snapshotId');
    const forensicVolumes = ids('createForensicVolumes', 'volumes', 'volumeId');
    const copies = ids('copySnapshotsToForensicAccount', 'copies', 'copySnapshotId');
    const named = [
      snapshots.length ? `snapshots ${snapshots.join(', ')}` : '',
      forensicVolumes.length ? `forensic volumes ${forensicVolumes.join(', ')}` : '',
      copies.length ? `forensic-account copies ${copies.join(', ')}` : '',
    ].filter(Boolean);
    kept.push(`evidence is kept: ${named.length ? `${named.join(', ')} and ` : ''}the evidence bucket's objects for ${ctx.record.incidentId} are not touched`);
    return { status: 'done', summary: `kept as containment left them: ${kept.join('; ')}`, data: { keptProtections: kept } };
  },
};

export const tagReleased: ReleaseStepDefinition<Ec2Instance> = {
  name: 'tagReleased',
  description: 'Tag the instance as released, with when and by whom',
  iamActions: ['ec2:CreateTags'],
  async run(ctx) {
    const failed = Object.entries(ctx.outcomes).filter(([name, o]) => name !== 'tagReleased' && o.status === 'failed').map(([name]) => name);
    if (failed.length) {
      return { status: 'skipped', summary: `not tagged released while the release is incomplete (${failed.join(', ')} failed); the retry that completes it tags it` };
    }
    const instance = await ctx.resource();
    if (!instance) return instanceGone(ctx);
    const tags = {
      'firebreak:status': 'released',
      'firebreak:released-at': ctx.now().toISOString(),
      'firebreak:released-by': ctx.request.requestedBy.slice(0, 256),
    };
    await ctx.clients.ec2.send(new CreateTagsCommand({ Resources: [instance.instanceId], Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }));
    return { status: 'done', summary: `tagged ${instance.instanceId} ${Object.keys(tags).join(', ')}`, data: { tags } };
  },
};
