import { settleAll } from '../../actions/settle.ts';
import { AttachInstancesCommand, DescribeAutoScalingGroupsCommand, DescribeAutoScalingInstancesCommand, DetachInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { AssociateAddressCommand, DescribeAddressesCommand, DisassociateAddressCommand } from '@aws-sdk/client-ec2';
import {
  DeregisterInstancesFromLoadBalancerCommand,
  paginateDescribeLoadBalancers,
  RegisterInstancesWithLoadBalancerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  paginateDescribeTargetGroups,
  RegisterTargetsCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import * as z from 'zod';
import type { ReleaseResult } from '../../engine/index.ts';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import { ec2Step } from './types.ts';
import { targetOf, TargetRegistrationsSchema, type TargetRegistration } from '../../actions/target-registrations.ts';

// Each undo here puts the instance back only where it still belongs: anything a human changed
// since containment is left alone, and the summary says so.

const instanceGone = (instanceId: string): ReleaseResult => ({ status: 'skipped', summary: `${instanceId} no longer exists: nothing to restore`, data: { instanceGone: true } });

/** The Auto Scaling group containment detached the instance from, and its state there. */
const AutoScalingMembershipSchema = z.object({
  autoScalingGroupName: z.string(),
  lifecycleStateBefore: z.string().optional(),
  protectedFromScaleIn: z.boolean().optional(),
});

export const detachFromAutoScalingGroup = ec2Step({
  name: 'detachFromAutoScalingGroup',
  stage: 'contain',
  description: 'Detach the instance from its Auto Scaling group without reducing capacity, so failing health checks cannot get it terminated',
  iamActions: ['autoscaling:DescribeAutoScalingInstances', 'autoscaling:DetachInstances'],
  data: AutoScalingMembershipSchema,
  async run({ clients, resource }) {
    const out = await clients.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [resource.instanceId] }));
    const membership = out.AutoScalingInstances?.find((a) => a.InstanceId === resource.instanceId);
    if (!membership?.AutoScalingGroupName) {
      return { status: 'skipped', summary: `${resource.instanceId} is not in an Auto Scaling group` };
    }
    // Keeping desired capacity makes the group launch a healthy replacement: the service stays up.
    await clients.autoScaling.send(
      new DetachInstancesCommand({
        AutoScalingGroupName: membership.AutoScalingGroupName,
        InstanceIds: [resource.instanceId],
        ShouldDecrementDesiredCapacity: false,
      }),
    );
    return {
      status: 'done',
      summary: `${resource.instanceId} detached from Auto Scaling group ${membership.AutoScalingGroupName}; desired capacity kept, a replacement is launched`,
      data: { autoScalingGroupName: membership.AutoScalingGroupName, lifecycleStateBefore: membership.LifecycleState, protectedFromScaleIn: membership.ProtectedFromScaleIn },
    };
  },
  undo: {
    name: 'reattachToAutoScalingGroup',
    description: 'Attach the instance again to the Auto Scaling group it was detached from (only with --reattach: it raises desired capacity by one)',
    iamActions: ['autoscaling:DescribeAutoScalingInstances', 'autoscaling:DescribeAutoScalingGroups', 'autoscaling:AttachInstances'],
    async run({ recorded, request, incident, clients, resource }) {
      const groupName = recorded.autoScalingGroupName;
      const id = incident.resource.id;
      if (!request.reattach) {
        return {
          status: 'skipped',
          summary: `not asked (--reattach): ${id} stays out of ${groupName}, whose replacement instance keeps serving; release with --reattach to put it back (raises desired capacity by one)`,
          data: { autoScalingGroupName: groupName, notAsked: true },
        };
      }
      const instance = await resource();
      if (!instance) return instanceGone(id);
      const membership = (await clients.autoScaling.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [id] }))).AutoScalingInstances?.find((a) => a.InstanceId === id);
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
        (await clients.autoScaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }))).AutoScalingGroups?.find(
          (g) => g.AutoScalingGroupName === groupName,
        );
      const group = await describeGroup();
      if (!group) return { status: 'skipped', summary: `Auto Scaling group ${groupName} no longer exists: nothing to reattach to`, data: { autoScalingGroupName: groupName, groupGone: true } };
      if (instance.state !== 'running') {
        throw new StepFailedError('reattachToAutoScalingGroup', 'InstanceNotRunning', `${id} is ${instance.state}; Auto Scaling attaches only running instances: start it, then release again with --reattach`);
      }
      const desiredBefore = group.DesiredCapacity ?? 0;
      if (group.MaxSize !== undefined && desiredBefore + 1 > group.MaxSize) {
        throw new StepFailedError(
          'reattachToAutoScalingGroup',
          'GroupAtMaximum',
          `attaching raises ${groupName}'s desired capacity to ${desiredBefore + 1}, above its maximum of ${group.MaxSize}: raise the maximum, then release again with --reattach`,
        );
      }
      await clients.autoScaling.send(new AttachInstancesCommand({ AutoScalingGroupName: groupName, InstanceIds: [id] }));
      const desiredAfter = (await describeGroup())?.DesiredCapacity ?? desiredBefore + 1;
      return {
        status: 'done',
        summary: `${id} attached to ${groupName}; desired capacity ${desiredBefore} → ${desiredAfter} (lower it again if the replacement should go)`,
        data: { autoScalingGroupName: groupName, desiredBefore, desiredAfter },
      };
    },
  },
});

type Registration = TargetRegistration;

/** Target groups whose targets can be this instance: by instance id, or by one of its private IPs. */
const takesInstanceTargets = (g: TargetGroup): g is TargetGroup & { TargetGroupArn: string; TargetType: 'instance' | 'ip' } =>
  Boolean(g.TargetGroupArn) && (g.TargetType === 'instance' || g.TargetType === 'ip');

const targetGroupName = (arn: string) => arn.split('/').slice(-2, -1)[0];

export const deregisterFromTargetGroups = ec2Step({
  name: 'deregisterFromTargetGroups',
  stage: 'contain',
  description: 'Deregister the instance from every ELBv2 target group, as an instance target and by its private IPs',
  iamActions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:DeregisterTargets'],
  data: TargetRegistrationsSchema,
  async run({ clients, resource }) {
    const ips = new Set(resource.networkInterfaces.flatMap((n) => n.privateIps));
    const candidates: Array<TargetGroup & { TargetGroupArn: string; TargetType: 'instance' | 'ip' }> = [];
    for await (const page of paginateDescribeTargetGroups({ client: clients.elbv2 }, { PageSize: 400 })) {
      candidates.push(...(page.TargetGroups ?? []).filter(takesInstanceTargets).filter((g) => !g.VpcId || g.VpcId === resource.vpcId));
    }
    const registrations: Registration[] = [];
    await Promise.all(
      candidates.map(async (g) => {
        const health = await clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }));
        for (const d of health.TargetHealthDescriptions ?? []) {
          const t = d.Target;
          if (!t?.Id) continue;
          const mine = g.TargetType === 'instance' ? t.Id === resource.instanceId : ips.has(t.Id);
          if (mine && d.TargetHealth?.State !== 'draining') {
            registrations.push({
              targetGroupArn: g.TargetGroupArn,
              targetType: g.TargetType,
              id: t.Id,
              ...(t.Port !== undefined ? { port: t.Port } : {}),
              ...(t.AvailabilityZone ? { availabilityZone: t.AvailabilityZone } : {}),
            });
          }
        }
      }),
    );
    if (registrations.length === 0) {
      return { status: 'skipped', summary: `${resource.instanceId} is not registered in any target group` };
    }
    await Promise.all(registrations.map((r) => clients.elbv2.send(new DeregisterTargetsCommand({ TargetGroupArn: r.targetGroupArn, Targets: [targetOf(r)] }))));
    return {
      status: 'done',
      summary: `deregistered from ${registrations.length} target registration(s): ${registrations.map((r) => `${targetGroupName(r.targetGroupArn)} (${r.targetType} ${r.id})`).join(', ')}`,
      data: { registrations },
    };
  },
  undo: {
    name: 'reregisterTargets',
    description: 'Register the instance again in every ELBv2 target group it was deregistered from, with the same port and Availability Zone',
    iamActions: ['elasticloadbalancing:RegisterTargets'],
    async run({ recorded, clients, incident, resource }) {
      const instance = await resource();
      if (!instance) return instanceGone(incident.resource.id);
      const ips = new Set(instance.networkInterfaces.flatMap((n) => n.privateIps));
      type Row = Registration & { result: 'registered' | 'target-group-gone' | 'target-not-on-instance' };
      const registrations = await settleAll(
        recorded.registrations.map(async (r): Promise<Row> => {
          // An IP target is an address, not the instance: only put back one the instance still has.
          if (r.targetType === 'ip' ? !ips.has(r.id) : r.id !== instance.instanceId) return { ...r, result: 'target-not-on-instance' };
          try {
            await clients.elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: r.targetGroupArn, Targets: [targetOf(r)] }));
          } catch (error) {
            if (hasErrorCode(error, 'TargetGroupNotFoundException', 'TargetGroupNotFound')) return { ...r, result: 'target-group-gone' };
            throw error;
          }
          return { ...r, result: 'registered' };
        }),
      );
      const label = (r: Row) => `${targetGroupName(r.targetGroupArn)} (${r.targetType} ${r.id}${r.port !== undefined ? `:${r.port}` : ''})`;
      const registered = registrations.filter((r) => r.result === 'registered');
      const parts = [
        registered.length ? `registered again in ${registered.map(label).join(', ')}` : '',
        ...registrations.filter((r) => r.result === 'target-group-gone').map((r) => `target group ${label(r)} no longer exists`),
        ...registrations.filter((r) => r.result === 'target-not-on-instance').map((r) => `left alone: ${label(r)} is no longer the instance's`),
      ].filter(Boolean);
      return { status: registered.length > 0 ? 'done' : 'skipped', summary: parts.join('; '), data: { registrations } };
    },
  },
});

/** The Classic Load Balancers containment deregistered the instance from. */
const ClassicLoadBalancersSchema = z.object({ loadBalancerNames: z.array(z.string()) });

export const deregisterFromClassicLoadBalancers = ec2Step({
  name: 'deregisterFromClassicLoadBalancers',
  stage: 'contain',
  description: 'Deregister the instance from every Classic Load Balancer',
  iamActions: ['elasticloadbalancing:DescribeLoadBalancers', 'elasticloadbalancing:DeregisterInstancesFromLoadBalancer'],
  data: ClassicLoadBalancersSchema,
  async run({ clients, resource }) {
    const names: string[] = [];
    for await (const page of paginateDescribeLoadBalancers({ client: clients.elb }, { PageSize: 400 })) {
      for (const lb of page.LoadBalancerDescriptions ?? []) {
        if (lb.LoadBalancerName && (lb.Instances ?? []).some((i) => i.InstanceId === resource.instanceId)) names.push(lb.LoadBalancerName);
      }
    }
    if (names.length === 0) return { status: 'skipped', summary: `${resource.instanceId} is not registered with any Classic Load Balancer` };
    await Promise.all(
      names.map((LoadBalancerName) => clients.elb.send(new DeregisterInstancesFromLoadBalancerCommand({ LoadBalancerName, Instances: [{ InstanceId: resource.instanceId }] }))),
    );
    return { status: 'done', summary: `deregistered from Classic Load Balancer(s) ${names.join(', ')}`, data: { loadBalancerNames: names } };
  },
  undo: {
    name: 'reregisterClassicLoadBalancers',
    description: 'Register the instance again with every Classic Load Balancer it was deregistered from',
    iamActions: ['elasticloadbalancing:RegisterInstancesWithLoadBalancer'],
    async run({ recorded, clients, incident, resource }) {
      const instance = await resource();
      if (!instance) return instanceGone(incident.resource.id);
      const loadBalancers = await settleAll(
        recorded.loadBalancerNames.map(async (loadBalancerName) => {
          try {
            await clients.elb.send(new RegisterInstancesWithLoadBalancerCommand({ LoadBalancerName: loadBalancerName, Instances: [{ InstanceId: instance.instanceId }] }));
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
      return { status: registered.length > 0 ? 'done' : 'skipped', summary, data: { loadBalancers } };
    },
  },
});

/** The Elastic IPs containment disassociated, with where each was associated (EC2-Classic addresses have no allocation id). */
const DisassociatedAddressesSchema = z.object({
  addresses: z.array(
    z.object({
      allocationId: z.string().optional(),
      publicIp: z.string().optional(),
      networkInterfaceId: z.string().optional(),
      privateIpAddress: z.string().optional(),
    }),
  ),
});

type AddressResult = 'reassociated' | 'already-associated' | 'associated-elsewhere' | 'address-gone' | 'interface-moved' | 'private-ip-gone';

export const disassociateElasticIps = ec2Step({
  name: 'disassociateElasticIps',
  stage: 'contain',
  description: "Disassociate the instance's Elastic IPs so it is no longer reachable at its public addresses",
  iamActions: ['ec2:DescribeAddresses', 'ec2:DisassociateAddress'],
  data: DisassociatedAddressesSchema,
  async run({ clients, resource }) {
    const eniIds = resource.networkInterfaces.map((n) => n.networkInterfaceId);
    if (eniIds.length === 0) return { status: 'skipped', summary: `${resource.instanceId} has no network interface` };
    const out = await clients.ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'network-interface-id', Values: eniIds }] }));
    const associated = (out.Addresses ?? []).filter((a) => a.AssociationId);
    if (associated.length === 0) return { status: 'skipped', summary: `no Elastic IP is associated with ${resource.instanceId}` };
    await Promise.all(
      associated.map(async (a) => {
        try {
          await clients.ec2.send(new DisassociateAddressCommand({ AssociationId: a.AssociationId }));
        } catch (error) {
          if (!hasErrorCode(error, 'InvalidAssociationID.NotFound')) throw error;
        }
      }),
    );
    return {
      status: 'done',
      summary: `disassociated Elastic IP(s) ${associated.map((a) => a.PublicIp).join(', ')}`,
      data: {
        addresses: associated.map((a) => ({
          allocationId: a.AllocationId,
          publicIp: a.PublicIp,
          networkInterfaceId: a.NetworkInterfaceId,
          privateIpAddress: a.PrivateIpAddress,
        })),
      },
    };
  },
  undo: {
    name: 'reassociateElasticIps',
    description: 'Associate each Elastic IP that containment disassociated back to its network interface and private address, unless it is in use elsewhere',
    iamActions: ['ec2:DescribeAddresses', 'ec2:AssociateAddress'],
    async run({ recorded, clients, incident, resource }) {
      const id = incident.resource.id;
      // Only an address with an allocation id can be associated again (by that id), and only to the interface it was on.
      const wanted = recorded.addresses.flatMap(({ allocationId, networkInterfaceId, publicIp, privateIpAddress }) =>
        allocationId && networkInterfaceId ? [{ allocationId, networkInterfaceId, publicIp, privateIpAddress }] : [],
      );
      const name = (a: { publicIp?: string | undefined; allocationId?: string | undefined }) => a.publicIp ?? a.allocationId ?? 'an address';
      const unassociable = recorded.addresses.filter((a) => !a.allocationId || !a.networkInterfaceId);
      const leftAlone = unassociable.length ? `left alone (no allocation id and interface recorded to associate it back to): ${unassociable.map(name).join(', ')}` : '';
      if (wanted.length === 0) return { status: 'skipped', summary: leftAlone };
      const instance = await resource();
      if (!instance) return instanceGone(id);
      const out = await clients.ec2.send(new DescribeAddressesCommand({ Filters: [{ Name: 'allocation-id', Values: wanted.map((r) => r.allocationId) }] }));
      const current = new Map((out.Addresses ?? []).map((a) => [a.AllocationId, a]));
      const addresses = await settleAll(
        wanted.map(async (r) => {
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
            await clients.ec2.send(
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
      const parts = [
        by('reassociated').length ? `reassociated ${by('reassociated').map((a) => `${name(a)} → ${a.networkInterfaceId}${a.privateIpAddress ? ` (${a.privateIpAddress})` : ''}`).join(', ')}` : '',
        by('already-associated').length ? `${by('already-associated').map(name).join(', ')} already associated` : '',
        by('associated-elsewhere').length ? `left alone (now associated elsewhere): ${by('associated-elsewhere').map((a) => `${name(a)}${a.associatedWith ? ` with ${a.associatedWith}` : ''}`).join(', ')}` : '',
        by('address-gone').length ? `released from the account since: ${by('address-gone').map(name).join(', ')}` : '',
        by('interface-moved').length ? `left alone (interface no longer on the instance): ${by('interface-moved').map(name).join(', ')}` : '',
        by('private-ip-gone').length ? `left alone (private address no longer on the interface): ${by('private-ip-gone').map(name).join(', ')}` : '',
        leftAlone,
      ].filter(Boolean);
      const restored = by('reassociated').length + by('already-associated').length;
      return { status: restored > 0 ? 'done' : 'skipped', summary: parts.join('; '), data: { addresses } };
    },
  },
});
