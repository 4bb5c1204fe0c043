import type { Instance, SecurityGroup } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { describeInstanceById } from '../../actions/instances.ts';
import { findFirebreakGroups } from '../../actions/vpc-isolation.ts';
import type { DescribeContext } from '../../engine/index.ts';
import { ResourceNotFoundError } from '../../errors/index.ts';

export interface NetworkInterfaceState {
  networkInterfaceId: string;
  groupIds: string[];
  privateIps: string[];
  requesterManaged: boolean;
  deviceIndex: number;
}

export interface VolumeState {
  volumeId: string;
  deviceName: string;
  deleteOnTermination: boolean;
}

/** An EC2 instance as the playbook sees it. */
export interface Ec2Instance {
  instanceId: string;
  state: string;
  vpcId: string;
  subnetId?: string;
  availabilityZone?: string;
  instanceProfileArn?: string;
  keyName?: string;
  networkInterfaces: NetworkInterfaceState[];
  volumes: VolumeState[];
  tags: Record<string, string>;
  /** The isolation and untracking groups of the instance's VPC, if they exist already. */
  firebreakGroups: SecurityGroup[];
  /** DescribeInstances' answer, kept verbatim for the evidence bucket. */
  raw: Instance;
}

export const DESCRIBE_IAM_ACTIONS = ['ec2:DescribeInstances', 'ec2:DescribeSecurityGroups'] as const;

/**
 * Describes the instance and, in parallel, looks up the isolation groups of the
 * VPC the finding names, so that isolation needs no further read.
 */
export async function describeInstance({ incident, clients }: DescribeContext): Promise<Ec2Instance> {
  const instanceId = incident.resource.id;
  const hintedVpc = typeof incident.resource.hints.vpcId === 'string' ? incident.resource.hints.vpcId : undefined;
  const [instance, hintedGroups] = await Promise.all([
    describeInstanceById(clients.ec2, instanceId),
    hintedVpc ? findFirebreakGroups(clients.ec2, hintedVpc) : Promise.resolve(undefined),
  ]);
  if (!instance || instance.State?.Name === 'terminated' || instance.State?.Name === 'shutting-down') {
    throw new ResourceNotFoundError(instanceId);
  }
  const vpcId = instance.VpcId ?? '';
  // The finding's VPC is a hint; when it is wrong (or absent) look again in the real one.
  const firebreakGroups = hintedVpc === vpcId && hintedGroups ? hintedGroups : vpcId ? await findFirebreakGroups(clients.ec2, vpcId) : [];
  return {
    instanceId,
    state: instance.State?.Name ?? 'unknown',
    vpcId,
    ...(instance.SubnetId ? { subnetId: instance.SubnetId } : {}),
    ...(instance.Placement?.AvailabilityZone ? { availabilityZone: instance.Placement.AvailabilityZone } : {}),
    ...(instance.IamInstanceProfile?.Arn ? { instanceProfileArn: instance.IamInstanceProfile.Arn } : {}),
    ...(instance.KeyName ? { keyName: instance.KeyName } : {}),
    networkInterfaces: (instance.NetworkInterfaces ?? []).map((n) => ({
      networkInterfaceId: n.NetworkInterfaceId ?? '',
      groupIds: (n.Groups ?? []).map((g) => g.GroupId ?? ''),
      privateIps: (n.PrivateIpAddresses ?? []).map((p) => p.PrivateIpAddress ?? '').filter(Boolean),
      requesterManaged: Boolean((n as { RequesterManaged?: boolean }).RequesterManaged),
      deviceIndex: n.Attachment?.DeviceIndex ?? 0,
    })),
    volumes: (instance.BlockDeviceMappings ?? []).flatMap((b) =>
      b.Ebs?.VolumeId ? [{ volumeId: b.Ebs.VolumeId, deviceName: b.DeviceName ?? '', deleteOnTermination: Boolean(b.Ebs.DeleteOnTermination) }] : [],
    ),
    tags: Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
    firebreakGroups,
    raw: instance,
  };
}

const NetworkInterfaceStateSchema = z
  .object({
    networkInterfaceId: z.string(),
    groupIds: z.array(z.string()),
    privateIps: z.array(z.string()).default([]),
    requesterManaged: z.boolean().default(false),
    deviceIndex: z.number().default(0),
  });

/**
 * The "before" state kept in the ledger at the first delivery (the engine adds
 * `capturedAt`): what release restores and later deliveries compare with.
 */
export const Ec2CaptureSchema = z
  .object({
    instanceId: z.string(),
    state: z.string().optional(),
    vpcId: z.string().optional(),
    subnetId: z.string().optional(),
    availabilityZone: z.string().optional(),
    instanceProfileArn: z.string().optional(),
    keyName: z.string().optional(),
    networkInterfaces: z.array(NetworkInterfaceStateSchema).default([]),
    volumes: z.array(z.object({ volumeId: z.string(), deviceName: z.string(), deleteOnTermination: z.boolean() })).default([]),
    tags: z.record(z.string(), z.string()).default({}),
    capturedAt: z.string().optional(),
  })
  .loose();

export type Ec2Capture = z.infer<typeof Ec2CaptureSchema>;

export function captureInstance(i: Ec2Instance): Ec2Capture {
  return {
    instanceId: i.instanceId,
    state: i.state,
    vpcId: i.vpcId,
    ...(i.subnetId ? { subnetId: i.subnetId } : {}),
    ...(i.availabilityZone ? { availabilityZone: i.availabilityZone } : {}),
    ...(i.instanceProfileArn ? { instanceProfileArn: i.instanceProfileArn } : {}),
    ...(i.keyName ? { keyName: i.keyName } : {}),
    networkInterfaces: i.networkInterfaces,
    volumes: i.volumes,
    tags: i.tags,
  };
}
