/**
 * The seed scenario, built on the emulator for the demo and the end-to-end tests:
 * one VPC across two Availability Zones, an internet-facing ALB, and two instances of an
 * Auto Scaling group behind it, all in a `WebApp` security group.
 *
 * Every resource carries a unique suffix (and the tag `firebreak:scenario=<suffix>`), so
 * the scenario can be built many times in one emulator by test files running in parallel.
 */
import type { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CreateAutoScalingGroupCommand, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import type { EC2Client, Instance, Tag } from '@aws-sdk/client-ec2';
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AttachInternetGatewayCommand,
  AttachNetworkInterfaceCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateLaunchTemplateCommand,
  CreateNetworkInterfaceCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  AssociateIamInstanceProfileCommand,
  CreateVpcEndpointCommand,
  DescribeRouteTablesCommand,
} from '@aws-sdk/client-ec2';
import type { IAMClient } from '@aws-sdk/client-iam';
import { describeInstanceById } from '../../shared/actions/instances.ts';
import { AddRoleToInstanceProfileCommand, CreateInstanceProfileCommand, CreateRoleCommand } from '@aws-sdk/client-iam';
import type { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import {
  CreateLoadBalancerCommand as CreateClassicLoadBalancerCommand,
  RegisterInstancesWithLoadBalancerCommand,
} from '@aws-sdk/client-elastic-load-balancing';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';

export type ScenarioClients = {
  ec2: EC2Client;
  autoscaling: AutoScalingClient;
  elbv2: ElasticLoadBalancingV2Client;
  /** Needed only for `classicElb`. */
  elb?: ElasticLoadBalancingClient;
  /** Needed only for `instanceRole`. */
  iam?: IAMClient;
};

export type WebAppScenarioOptions = {
  /** Attach a second ENI (in the WebApp security group) to the victim. */
  secondEni?: boolean;
  /** Allocate an Elastic IP and associate it with the victim's primary ENI. */
  elasticIp?: boolean;
  /** Add an IP-type target group with the victim's private IP registered. */
  ipTargetGroup?: boolean;
  /** Add a classic ELB with both instances registered (needs `clients.elb`). */
  classicElb?: boolean;
  /**
   * Give the victim an instance role (needs `clients.iam`): `own` — only the victim uses it;
   * `shared` — the other Auto Scaling instance uses the same role (through its own profile).
   */
  instanceRole?: 'own' | 'shared';
  /** Launch both Auto Scaling instances with this EC2 key pair. */
  keyName?: string;
  /** Add interface VPC endpoints for ssm, ssmmessages and ec2messages, in their own security group. */
  ssmEndpoints?: boolean;
  /** Extra tags on the victim, e.g. `{ 'firebreak:exempt': 'true' }`. */
  tags?: Record<string, string>;
  /** Defaults to a fresh random suffix. */
  suffix?: string;
  /** Defaults to `ami-12c6146b`, an image moto knows. */
  imageId?: string;
  /** Upper bound for each wait on the emulator (default 20 s). */
  timeoutMs?: number;
};

export type ScenarioVictim = {
  instanceId: string;
  /** Primary ENI first (ordered by device index). */
  eniIds: string[];
  volumeIds: string[];
  privateIp: string;
  subnetId: string;
  availabilityZone: string;
  allocationId?: string;
  publicIp?: string;
};

export type WebAppScenario = {
  suffix: string;
  region: 'us-east-1';
  vpcId: string;
  subnetIds: [string, string];
  internetGatewayId: string;
  albSecurityGroupId: string;
  webAppSecurityGroupId: string;
  albArn: string;
  targetGroupArn: string;
  listenerArn: string;
  launchTemplateId: string;
  asgName: string;
  /** The victim first. */
  instanceIds: [string, string];
  victim: ScenarioVictim;
  ipTargetGroupArn?: string;
  classicElbName?: string;
  /** With `instanceRole`. */
  role?: { roleName: string; roleArn: string; instanceProfileArn: string; otherInstanceProfileArn?: string };
  /** With `ssmEndpoints`. */
  ssmEndpoints?: { endpointIds: string[]; securityGroupId: string };
};

export class ScenarioBuildError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ScenarioBuildError';
  }
}

const DEFAULT_IMAGE_ID = 'ami-12c6146b';
const AVAILABILITY_ZONES = ['us-east-1a', 'us-east-1b'] as const;
const POLL_INTERVAL_MS = 250;

const randomSuffix = (): string =>
  `${Date.now().toString(36).slice(-5)}${Math.random().toString(36).slice(2, 6)}`;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns a value, for at most `timeoutMs`. */
async function pollUntil<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new ScenarioBuildError(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_INTERVAL_MS);
  }
}

const required = <T>(value: T | undefined | null, what: string): T => {
  if (value === undefined || value === null) throw new ScenarioBuildError(`The emulator returned no ${what}`);
  return value;
};

/**
 * Builds the seed scenario in us-east-1 and waits until both Auto Scaling instances are
 * InService and registered in the target group.
 *
 * @example
 * ```ts
 * const scenario = await buildWebAppScenario({ ec2, autoscaling, elbv2, elb }, { secondEni: true });
 * console.log(scenario.victim.instanceId, scenario.victim.eniIds);
 * ```
 */
export async function buildWebAppScenario(
  clients: ScenarioClients,
  opts: WebAppScenarioOptions = {},
): Promise<WebAppScenario> {
  const { ec2, autoscaling, elbv2 } = clients;
  const suffix = opts.suffix ?? randomSuffix();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const name = (base: string): string => `fb-${base}-${suffix}`;
  const tagSpec = (resourceType: 'vpc' | 'subnet' | 'security-group' | 'internet-gateway' | 'network-interface' | 'elastic-ip', nameTag: string) => [
    {
      ResourceType: resourceType,
      Tags: [
        { Key: 'Name', Value: nameTag },
        { Key: 'firebreak:scenario', Value: suffix },
      ],
    },
  ];
  if (opts.classicElb && !clients.elb) {
    throw new ScenarioBuildError('classicElb needs an ElasticLoadBalancingClient in clients.elb');
  }

  // Network: one VPC, two subnets in two AZs, an internet gateway as the default route.
  const { Vpc } = await ec2.send(
    new CreateVpcCommand({ CidrBlock: '10.0.0.0/16', TagSpecifications: tagSpec('vpc', name('vpc')) }),
  );
  const vpcId = required(Vpc?.VpcId, 'VPC id');
  const subnetIds: string[] = [];
  for (const [index, zone] of AVAILABILITY_ZONES.entries()) {
    const { Subnet } = await ec2.send(
      new CreateSubnetCommand({
        VpcId: vpcId,
        CidrBlock: `10.0.${index + 1}.0/24`,
        AvailabilityZone: zone,
        TagSpecifications: tagSpec('subnet', name(`subnet-${zone}`)),
      }),
    );
    subnetIds.push(required(Subnet?.SubnetId, 'subnet id'));
  }
  const [subnetA, subnetB] = subnetIds as [string, string];
  const { InternetGateway } = await ec2.send(
    new CreateInternetGatewayCommand({ TagSpecifications: tagSpec('internet-gateway', name('igw')) }),
  );
  const internetGatewayId = required(InternetGateway?.InternetGatewayId, 'internet gateway id');
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: internetGatewayId, VpcId: vpcId }));
  const { RouteTables } = await ec2.send(
    new DescribeRouteTablesCommand({
      Filters: [
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'association.main', Values: ['true'] },
      ],
    }),
  );
  const mainRouteTableId = required(RouteTables?.[0]?.RouteTableId, 'main route table');
  await ec2.send(
    new CreateRouteCommand({
      RouteTableId: mainRouteTableId,
      DestinationCidrBlock: '0.0.0.0/0',
      GatewayId: internetGatewayId,
    }),
  );

  // Security groups: the ALB takes HTTP from anywhere; WebApp takes HTTP from the ALB only.
  const { GroupId: albSecurityGroupId } = await ec2.send(
    new CreateSecurityGroupCommand({
      VpcId: vpcId,
      GroupName: name('alb'),
      Description: 'Firebreak demo: internet-facing ALB',
      TagSpecifications: tagSpec('security-group', name('alb')),
    }),
  );
  const { GroupId: webAppSecurityGroupId } = await ec2.send(
    new CreateSecurityGroupCommand({
      VpcId: vpcId,
      GroupName: `WebApp-${suffix}`,
      Description: 'Firebreak demo: WebApp instances',
      TagSpecifications: tagSpec('security-group', 'WebApp'),
    }),
  );
  const albSg = required(albSecurityGroupId, 'ALB security group id');
  const webAppSg = required(webAppSecurityGroupId, 'WebApp security group id');
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: albSg,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
    }),
  );
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: webAppSg,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: albSg }] },
      ],
    }),
  );

  // Load balancer: internet-facing ALB across both subnets, instance target group, HTTP listener.
  const { LoadBalancers } = await elbv2.send(
    new CreateLoadBalancerCommand({
      Name: name('alb'),
      Type: 'application',
      Scheme: 'internet-facing',
      Subnets: [subnetA, subnetB],
      SecurityGroups: [albSg],
      Tags: [{ Key: 'firebreak:scenario', Value: suffix }],
    }),
  );
  const albArn = required(LoadBalancers?.[0]?.LoadBalancerArn, 'ALB ARN');
  const { TargetGroups } = await elbv2.send(
    new CreateTargetGroupCommand({
      Name: name('web'),
      Protocol: 'HTTP',
      Port: 80,
      VpcId: vpcId,
      TargetType: 'instance',
      HealthCheckPath: '/',
    }),
  );
  const targetGroupArn = required(TargetGroups?.[0]?.TargetGroupArn, 'target group ARN');
  const { Listeners } = await elbv2.send(
    new CreateListenerCommand({
      LoadBalancerArn: albArn,
      Protocol: 'HTTP',
      Port: 80,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
    }),
  );
  const listenerArn = required(Listeners?.[0]?.ListenerArn, 'listener ARN');

  // Compute: launch template + Auto Scaling group of 2 across both subnets.
  const { LaunchTemplate } = await ec2.send(
    new CreateLaunchTemplateCommand({
      LaunchTemplateName: name('web'),
      LaunchTemplateData: {
        ImageId: opts.imageId ?? DEFAULT_IMAGE_ID,
        InstanceType: 't3.micro',
        SecurityGroupIds: [webAppSg],
        ...(opts.keyName ? { KeyName: opts.keyName } : {}),
        MetadataOptions: { HttpTokens: 'required' },
      },
    }),
  );
  const launchTemplateId = required(LaunchTemplate?.LaunchTemplateId, 'launch template id');
  const asgName = name('web');
  await autoscaling.send(
    new CreateAutoScalingGroupCommand({
      AutoScalingGroupName: asgName,
      LaunchTemplate: { LaunchTemplateId: launchTemplateId, Version: '$Latest' },
      MinSize: 2,
      MaxSize: 4,
      DesiredCapacity: 2,
      VPCZoneIdentifier: `${subnetA},${subnetB}`,
      TargetGroupARNs: [targetGroupArn],
      HealthCheckType: 'ELB',
      HealthCheckGracePeriod: 300,
      Tags: [{ Key: 'firebreak:scenario', Value: suffix, PropagateAtLaunch: true }],
    }),
  );
  const instanceIds = await pollUntil(`2 InService instances in ${asgName}`, timeoutMs, async () => {
    const { AutoScalingGroups } = await autoscaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgName] }),
    );
    const inService = (AutoScalingGroups?.[0]?.Instances ?? [])
      .filter((instance) => instance.LifecycleState === 'InService')
      .map((instance) => instance.InstanceId)
      .filter((id): id is string => id !== undefined);
    return inService.length >= 2 ? ([inService[0], inService[1]] as [string, string]) : undefined;
  });

  await ensureRegistered(elbv2, targetGroupArn, instanceIds, timeoutMs);

  const [victimId] = instanceIds;
  let victimInstance = await describeInstance(ec2, victimId);
  const victimSubnetId = required(victimInstance.SubnetId, 'victim subnet');
  const victimPrivateIp = required(victimInstance.PrivateIpAddress, 'victim private IP');

  if (opts.tags && Object.keys(opts.tags).length > 0) {
    const tags: Tag[] = Object.entries(opts.tags).map(([Key, Value]) => ({ Key, Value }));
    await ec2.send(new CreateTagsCommand({ Resources: [victimId], Tags: tags }));
  }

  let allocationId: string | undefined;
  let publicIp: string | undefined;
  if (opts.elasticIp) {
    const address = await ec2.send(
      new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: tagSpec('elastic-ip', name('eip')) }),
    );
    allocationId = required(address.AllocationId, 'EIP allocation id');
    publicIp = required(address.PublicIp, 'EIP public IP');
    // Associated by instance while it has a single ENI (AWS refuses that once there are
    // several): moto 5.2.5 leaves DescribeAddresses' InstanceId empty for an address
    // associated by NetworkInterfaceId, which AWS fills in.
    await ec2.send(new AssociateAddressCommand({ AllocationId: allocationId, InstanceId: victimId }));
  }

  if (opts.secondEni) {
    const { NetworkInterface } = await ec2.send(
      new CreateNetworkInterfaceCommand({
        SubnetId: victimSubnetId,
        Groups: [webAppSg],
        Description: 'Firebreak demo: second interface of the victim',
        TagSpecifications: tagSpec('network-interface', name('eni')),
      }),
    );
    await ec2.send(
      new AttachNetworkInterfaceCommand({
        InstanceId: victimId,
        NetworkInterfaceId: required(NetworkInterface?.NetworkInterfaceId, 'second ENI id'),
        DeviceIndex: 1,
      }),
    );
  }

  let ipTargetGroupArn: string | undefined;
  if (opts.ipTargetGroup) {
    const { TargetGroups: ipGroups } = await elbv2.send(
      new CreateTargetGroupCommand({ Name: name('ip'), Protocol: 'HTTP', Port: 80, VpcId: vpcId, TargetType: 'ip' }),
    );
    ipTargetGroupArn = required(ipGroups?.[0]?.TargetGroupArn, 'IP target group ARN');
    await elbv2.send(
      new RegisterTargetsCommand({ TargetGroupArn: ipTargetGroupArn, Targets: [{ Id: victimPrivateIp, Port: 80 }] }),
    );
  }

  let classicElbName: string | undefined;
  if (opts.classicElb && clients.elb) {
    classicElbName = name('clb');
    await clients.elb.send(
      new CreateClassicLoadBalancerCommand({
        LoadBalancerName: classicElbName,
        Listeners: [{ Protocol: 'HTTP', LoadBalancerPort: 80, InstanceProtocol: 'HTTP', InstancePort: 80 }],
        Subnets: [subnetA, subnetB],
        SecurityGroups: [albSg],
        Tags: [{ Key: 'firebreak:scenario', Value: suffix }],
      }),
    );
    await clients.elb.send(
      new RegisterInstancesWithLoadBalancerCommand({
        LoadBalancerName: classicElbName,
        Instances: instanceIds.map((InstanceId) => ({ InstanceId })),
      }),
    );
  }

  let role: WebAppScenario['role'];
  if (opts.instanceRole && clients.iam) {
    role = await giveInstanceRole(clients.iam, ec2, name, opts.instanceRole === 'shared' ? instanceIds : [victimId]);
  }

  let ssmEndpoints: WebAppScenario['ssmEndpoints'];
  if (opts.ssmEndpoints) {
    const { GroupId } = await ec2.send(
      new CreateSecurityGroupCommand({ GroupName: name('ssm-endpoints'), Description: 'SSM interface endpoints: HTTPS from the VPC', VpcId: vpcId }),
    );
    const securityGroupId = required(GroupId, 'endpoint security group id');
    const endpointIds: string[] = [];
    for (const service of ['ssm', 'ssmmessages', 'ec2messages']) {
      const { VpcEndpoint } = await ec2.send(
        new CreateVpcEndpointCommand({
          VpcId: vpcId,
          ServiceName: `com.amazonaws.us-east-1.${service}`,
          VpcEndpointType: 'Interface',
          SubnetIds: [subnetA, subnetB],
          SecurityGroupIds: [securityGroupId],
          PrivateDnsEnabled: true,
        }),
      );
      endpointIds.push(required(VpcEndpoint?.VpcEndpointId, `${service} endpoint id`));
    }
    ssmEndpoints = { endpointIds, securityGroupId };
  }

  victimInstance = await describeInstance(ec2, victimId);
  const eniIds = [...(victimInstance.NetworkInterfaces ?? [])]
    .sort((a, b) => (a.Attachment?.DeviceIndex ?? 0) - (b.Attachment?.DeviceIndex ?? 0))
    .map((eni) => required(eni.NetworkInterfaceId, 'ENI id'));
  const volumeIds = (victimInstance.BlockDeviceMappings ?? [])
    .map((mapping) => mapping.Ebs?.VolumeId)
    .filter((id): id is string => id !== undefined);

  return {
    suffix,
    region: 'us-east-1',
    vpcId,
    subnetIds: [subnetA, subnetB],
    internetGatewayId,
    albSecurityGroupId: albSg,
    webAppSecurityGroupId: webAppSg,
    albArn,
    targetGroupArn,
    listenerArn,
    launchTemplateId,
    asgName,
    instanceIds,
    victim: {
      instanceId: victimId,
      eniIds,
      volumeIds,
      privateIp: victimPrivateIp,
      subnetId: victimSubnetId,
      availabilityZone: required(victimInstance.Placement?.AvailabilityZone, 'victim AZ'),
      ...(allocationId === undefined ? {} : { allocationId }),
      ...(publicIp === undefined ? {} : { publicIp }),
    },
    ...(ipTargetGroupArn === undefined ? {} : { ipTargetGroupArn }),
    ...(classicElbName === undefined ? {} : { classicElbName }),
    ...(role === undefined ? {} : { role }),
    ...(ssmEndpoints === undefined ? {} : { ssmEndpoints }),
  };
}

/** One role; one instance profile per instance (sharing the role, as separate launch templates would). */
async function giveInstanceRole(iam: IAMClient, ec2: EC2Client, name: (what: string) => string, instanceIds: readonly string[]) {
  const roleName = name('role');
  const { Role } = await iam.send(
    new CreateRoleCommand({
      RoleName: roleName,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    }),
  );
  const profileArns: string[] = [];
  for (const [n, instanceId] of instanceIds.entries()) {
    const profileName = name(`profile-${n}`);
    const { InstanceProfile } = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: profileName }));
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: profileName, RoleName: roleName }));
    const arn = required(InstanceProfile?.Arn, 'instance profile ARN');
    await ec2.send(new AssociateIamInstanceProfileCommand({ InstanceId: instanceId, IamInstanceProfile: { Arn: arn } }));
    profileArns.push(arn);
  }
  return {
    roleName,
    roleArn: required(Role?.Arn, 'role ARN'),
    instanceProfileArn: profileArns[0]!,
    ...(profileArns[1] ? { otherInstanceProfileArn: profileArns[1] } : {}),
  };
}

async function describeInstance(ec2: EC2Client, instanceId: string): Promise<Instance> {
  return required(await describeInstanceById(ec2, instanceId), `instance ${instanceId}`);
}

/**
 * moto 5.2.5 registers an Auto Scaling group's instances in its target groups itself, as
 * AWS does; register any that are missing so the scenario never depends on it.
 */
async function ensureRegistered(
  elbv2: ElasticLoadBalancingV2Client,
  targetGroupArn: string,
  instanceIds: readonly string[],
  timeoutMs: number,
): Promise<void> {
  const registered = async (): Promise<Set<string>> => {
    const { TargetHealthDescriptions } = await elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
    return new Set((TargetHealthDescriptions ?? []).map((d) => d.Target?.Id).filter((id): id is string => id !== undefined));
  };
  const alreadyRegistered = await registered();
  const missing = instanceIds.filter((id) => !alreadyRegistered.has(id));
  if (missing.length > 0) {
    await elbv2.send(
      new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: missing.map((Id) => ({ Id, Port: 80 })) }),
    );
  }
  await pollUntil(`${instanceIds.join(', ')} registered in ${targetGroupArn}`, timeoutMs, async () => {
    const now = await registered();
    return instanceIds.every((id) => now.has(id)) ? true : undefined;
  });
}
