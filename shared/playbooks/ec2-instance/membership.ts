import { DescribeAutoScalingInstancesCommand, DetachInstancesCommand } from '@aws-sdk/client-auto-scaling';
import { DescribeAddressesCommand, DisassociateAddressCommand } from '@aws-sdk/client-ec2';
import { DeregisterInstancesFromLoadBalancerCommand, DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing';
import {
  DeregisterTargetsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { hasErrorCode } from '../../errors/index.ts';
import type { StepDefinition } from '../../engine/index.ts';
import type { Ec2Instance } from './describe.ts';

export const detachFromAutoScalingGroup: StepDefinition<Ec2Instance> = {
  name: 'detachFromAutoScalingGroup',
  stage: 'contain',
  description: 'Detach the instance from its Auto Scaling group without reducing capacity, so failing health checks cannot get it terminated',
  iamActions: ['autoscaling:DescribeAutoScalingInstances', 'autoscaling:DetachInstances'],
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
};

interface TargetRegistration {
  targetGroupArn: string;
  targetType: string;
  id: string;
  port?: number;
  availabilityZone?: string;
}

async function allTargetGroups(elbv2: Parameters<StepDefinition<Ec2Instance>['run']>[0]['clients']['elbv2']): Promise<TargetGroup[]> {
  const groups: TargetGroup[] = [];
  let marker: string | undefined;
  do {
    const out = await elbv2.send(new DescribeTargetGroupsCommand({ Marker: marker, PageSize: 400 }));
    groups.push(...(out.TargetGroups ?? []));
    marker = out.NextMarker;
  } while (marker);
  return groups;
}

export const deregisterFromTargetGroups: StepDefinition<Ec2Instance> = {
  name: 'deregisterFromTargetGroups',
  stage: 'contain',
  description: 'Deregister the instance from every ELBv2 target group, as an instance target and by its private IPs',
  iamActions: ['elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth', 'elasticloadbalancing:DeregisterTargets'],
  async run({ clients, resource }) {
    const ips = new Set(resource.networkInterfaces.flatMap((n) => n.privateIps));
    const candidates = (await allTargetGroups(clients.elbv2)).filter(
      (g) => (g.TargetType === 'instance' || g.TargetType === 'ip') && (!g.VpcId || g.VpcId === resource.vpcId),
    );
    const registrations: TargetRegistration[] = [];
    await Promise.all(
      candidates.map(async (g) => {
        const health = await clients.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }));
        for (const d of health.TargetHealthDescriptions ?? []) {
          const t = d.Target;
          if (!t?.Id) continue;
          const mine = g.TargetType === 'instance' ? t.Id === resource.instanceId : ips.has(t.Id);
          if (mine && d.TargetHealth?.State !== 'draining') {
            registrations.push({
              targetGroupArn: g.TargetGroupArn!,
              targetType: g.TargetType!,
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
    await Promise.all(
      registrations.map((r) =>
        clients.elbv2.send(
          new DeregisterTargetsCommand({
            TargetGroupArn: r.targetGroupArn,
            Targets: [{ Id: r.id, ...(r.port !== undefined ? { Port: r.port } : {}), ...(r.availabilityZone ? { AvailabilityZone: r.availabilityZone } : {}) }],
          }),
        ),
      ),
    );
    return {
      status: 'done',
      summary: `deregistered from ${registrations.length} target registration(s): ${registrations.map((r) => `${r.targetGroupArn.split('/').slice(-2, -1)[0]} (${r.targetType} ${r.id})`).join(', ')}`,
      data: { registrations },
    };
  },
};

export const deregisterFromClassicLoadBalancers: StepDefinition<Ec2Instance> = {
  name: 'deregisterFromClassicLoadBalancers',
  stage: 'contain',
  description: 'Deregister the instance from every Classic Load Balancer',
  iamActions: ['elasticloadbalancing:DescribeLoadBalancers', 'elasticloadbalancing:DeregisterInstancesFromLoadBalancer'],
  async run({ clients, resource }) {
    const names: string[] = [];
    let marker: string | undefined;
    do {
      const out = await clients.elb.send(new DescribeLoadBalancersCommand({ Marker: marker, PageSize: 400 }));
      for (const lb of out.LoadBalancerDescriptions ?? []) {
        if (lb.LoadBalancerName && (lb.Instances ?? []).some((i) => i.InstanceId === resource.instanceId)) names.push(lb.LoadBalancerName);
      }
      marker = out.NextMarker;
    } while (marker);
    if (names.length === 0) return { status: 'skipped', summary: `${resource.instanceId} is not registered with any Classic Load Balancer` };
    await Promise.all(
      names.map((LoadBalancerName) =>
        clients.elb.send(new DeregisterInstancesFromLoadBalancerCommand({ LoadBalancerName, Instances: [{ InstanceId: resource.instanceId }] })),
      ),
    );
    return { status: 'done', summary: `deregistered from Classic Load Balancer(s) ${names.join(', ')}`, data: { loadBalancerNames: names } };
  },
};

export const disassociateElasticIps: StepDefinition<Ec2Instance> = {
  name: 'disassociateElasticIps',
  stage: 'contain',
  description: "Disassociate the instance's Elastic IPs so it is no longer reachable at its public addresses",
  iamActions: ['ec2:DescribeAddresses', 'ec2:DisassociateAddress'],
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
};
