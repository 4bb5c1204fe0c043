import { AutoScalingClient, DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstanceAttributeCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  EC2Client,
  type Instance,
} from '@aws-sdk/client-ec2';
import { DescribeTargetHealthCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stringify } from 'yaml';
import { custodianEnv, custodianIsolationPolicy, parseCustodianRunLog } from '../../../scripts/lib/custodian.ts';
import { isIsolated, LEFT_BEHIND_QUESTIONS, leftBehindCells, readLeftBehind, type LeftBehind } from '../../../scripts/lib/left-behind.ts';
import { formatTable, median, ratio, spread, summariseRounds } from '../../../scripts/lib/side-by-side.ts';

const ec2Mock = mockClient(EC2Client);
const asgMock = mockClient(AutoScalingClient);
const elbMock = mockClient(ElasticLoadBalancingV2Client);
afterEach(() => {
  ec2Mock.reset();
  asgMock.reset();
  elbMock.reset();
});

const clients = () => ({ ec2: new EC2Client({ region: 'us-east-1' }), autoscaling: new AutoScalingClient({ region: 'us-east-1' }), elbv2: new ElasticLoadBalancingV2Client({ region: 'us-east-1' }) });
const TG = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef';
const target = { instanceId: 'i-victim', asgName: 'web', targetGroupArn: TG, desiredCapacityBefore: 2, tagKeysBefore: ['aws:autoscaling:groupName', 'Name'] };

function world(opts: { eniGroups: Record<string, string[]>; rules: Record<string, number>; member: boolean; desired: number; registered: boolean; protection: boolean; deleteOnTermination: boolean[]; snapshots: number; shared?: number; tags: string[] }) {
  const instance: Instance = {
    InstanceId: 'i-victim',
    NetworkInterfaces: Object.keys(opts.eniGroups).map((NetworkInterfaceId) => ({ NetworkInterfaceId })),
    BlockDeviceMappings: opts.deleteOnTermination.map((DeleteOnTermination, i) => ({ DeviceName: `/dev/sd${'abc'[i]}`, Ebs: { VolumeId: `vol-${i}`, DeleteOnTermination } })),
    Tags: opts.tags.map((Key) => ({ Key, Value: 'v' })),
  };
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance] }] });
  ec2Mock.on(DescribeNetworkInterfacesCommand).resolves({
    NetworkInterfaces: Object.entries(opts.eniGroups).map(([NetworkInterfaceId, groups]) => ({ NetworkInterfaceId, Groups: groups.map((GroupId) => ({ GroupId })) })),
  });
  ec2Mock.on(DescribeSecurityGroupsCommand).callsFake((input: { GroupIds: string[] }) => ({
    SecurityGroups: input.GroupIds.map((GroupId) => ({
      GroupId,
      IpPermissions: [],
      IpPermissionsEgress: Array.from({ length: opts.rules[GroupId] ?? 0 }, () => ({ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] })),
    })),
  }));
  asgMock.on(DescribeAutoScalingGroupsCommand).resolves({
    AutoScalingGroups: [
      {
        AutoScalingGroupName: 'web', MinSize: 2, MaxSize: 4, DesiredCapacity: opts.desired, DefaultCooldown: 300, AvailabilityZones: [], HealthCheckType: 'ELB', CreatedTime: new Date(),
        Instances: [{ InstanceId: 'i-other', AvailabilityZone: 'us-east-1a', LifecycleState: 'InService', HealthStatus: 'Healthy', ProtectedFromScaleIn: false }, ...(opts.member ? [{ InstanceId: 'i-victim', AvailabilityZone: 'us-east-1a', LifecycleState: 'InService' as const, HealthStatus: 'Healthy', ProtectedFromScaleIn: false }] : [])],
      },
    ],
  });
  elbMock.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [{ Target: { Id: 'i-other' } }, ...(opts.registered ? [{ Target: { Id: 'i-victim' } }] : [])] });
  ec2Mock.on(DescribeInstanceAttributeCommand).resolves({ DisableApiTermination: { Value: opts.protection } });
  ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: Array.from({ length: opts.snapshots }, (_, i) => ({ SnapshotId: `snap-${i}` })) });
  // The last `shared` snapshots are copies another account may create volumes from.
  ec2Mock.on(DescribeSnapshotAttributeCommand).callsFake((input: { SnapshotId: string }) => ({
    SnapshotId: input.SnapshotId,
    CreateVolumePermissions: Number(input.SnapshotId.slice(5)) >= opts.snapshots - (opts.shared ?? 0) ? [{ UserId: '222222222222' }] : [],
  }));
}

describe('Function: readLeftBehind', () => {
  it('reads a fully contained instance: isolated on every ENI, detached with capacity kept, deregistered, protected, volumes kept, snapshotted, tagged', async () => {
    // Prepare
    world({ eniGroups: { 'eni-1': ['sg-iso'], 'eni-2': ['sg-iso'] }, rules: {}, member: false, desired: 2, registered: false, protection: true, deleteOnTermination: [false, false], snapshots: 3, shared: 1, tags: ['aws:autoscaling:groupName', 'Name', 'firebreak:incident-id', 'firebreak:status'] });

    // Act
    const after = await readLeftBehind(clients(), target);

    // Assess
    expect(after).toEqual<LeftBehind>({
      enis: [{ eniId: 'eni-1', groupIds: ['sg-iso'] }, { eniId: 'eni-2', groupIds: ['sg-iso'] }],
      closedGroupIds: ['sg-iso'],
      isolated: true,
      asg: { member: false, desiredCapacity: 2, desiredCapacityBefore: 2 },
      inTargetGroup: false,
      terminationProtection: true,
      volumes: { keptOnTermination: 2, total: 2 },
      snapshots: { total: 3, shared: 1 },
      tagsAdded: ['firebreak:incident-id', 'firebreak:status'],
    });
    expect(ec2Mock.commandCalls(DescribeSnapshotsCommand)[0]!.args[0].input).toEqual({ OwnerIds: ['self'], Filters: [{ Name: 'volume-id', Values: ['vol-0', 'vol-1'] }] });
    expect(leftBehindCells(after)[5]).toBe('3 (1 of them shared with another account)');
    expect(ec2Mock.commandCalls(DescribeSnapshotAttributeCommand).map((c) => c.args[0].input)).toEqual(['snap-0', 'snap-1', 'snap-2'].map((SnapshotId) => ({ SnapshotId, Attribute: 'createVolumePermission' })));
    expect(ec2Mock.commandCalls(DescribeInstanceAttributeCommand)[0]!.args[0].input).toEqual({ InstanceId: 'i-victim', Attribute: 'disableApiTermination' });
  });

  it('reads an instance only isolated: still in its group and its target group, unprotected, volumes deleted on termination', async () => {
    // Prepare
    world({ eniGroups: { 'eni-1': ['sg-iso'], 'eni-2': ['sg-iso'] }, rules: {}, member: true, desired: 2, registered: true, protection: false, deleteOnTermination: [true], snapshots: 1, tags: ['Name'] });

    // Act
    const cells = leftBehindCells(await readLeftBehind(clients(), target));

    // Assess
    expect(Object.fromEntries(LEFT_BEHIND_QUESTIONS.map((q, i) => [q, cells[i]]))).toEqual({
      'isolated (only a rule-less group on every ENI)': 'yes (2/2 ENIs)',
      'out of the Auto Scaling group, capacity kept': 'no: still a member (desired 2 → 2)',
      'out of the target group': 'no: still registered',
      'termination protection': 'off',
      'volumes kept on termination': '0/1',
      'snapshots of its volumes': '1',
      'tags added': 'none',
    });
  });

  it('does not call an instance isolated when one ENI keeps its old group, or its only group has a rule', async () => {
    world({ eniGroups: { 'eni-1': ['sg-iso'], 'eni-2': ['sg-iso', 'sg-web'] }, rules: { 'sg-web': 1 }, member: false, desired: 1, registered: false, protection: false, deleteOnTermination: [], snapshots: 0, tags: [] });
    const after = await readLeftBehind(clients(), target);
    expect(after.isolated).toBe(false);
    expect(leftBehindCells(after).slice(0, 2)).toEqual(['no (1/2 ENIs)', 'out, capacity not kept (desired 2 → 1)']);
    // No volume: no snapshot lookup (an empty filter would list every snapshot of the account).
    expect(ec2Mock.commandCalls(DescribeSnapshotsCommand)).toHaveLength(0);

    expect(isIsolated([{ groupIds: ['sg-open'] }], [])).toBe(false);
    expect(isIsolated([], [])).toBe(false);
  });

  it('says which instance it could not find', async () => {
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    await expect(readLeftBehind(clients(), target)).rejects.toThrow('instance i-victim not found');
  });
});

describe('Function: custodianIsolationPolicy', () => {
  it('finds the instance by id on the server, isolates it with the given group, snapshots and tags it, in that order', () => {
    // Act
    const policy = custodianIsolationPolicy({ instanceId: 'i-victim', isolationGroupId: 'sg-iso', findingId: 'f-1', findingType: 'Backdoor:EC2/C&CActivity.B' });

    // Assess: what c7n reads, through YAML as custodian does.
    const [p] = parse(stringify(policy)).policies;
    expect(p).toMatchObject({ name: 'isolate-compromised-instance', resource: 'ec2', query: [{ 'instance-id': 'i-victim' }] });
    expect(p.actions.map((a: { type: string }) => a.type)).toEqual(['modify-security-groups', 'snapshot', 'tag']);
    expect(p.actions[0]).toEqual({ type: 'modify-security-groups', remove: 'all', 'isolation-group': 'sg-iso' });
    expect(p.actions[2].tags).toEqual({ 'incident:finding-id': 'f-1', 'incident:finding-type': 'Backdoor:EC2/C&CActivity.B', 'incident:status': 'isolated' });
  });
});

describe('Function: parseCustodianRunLog', () => {
  it('reads when the policy started, what it matched, and when each action finished', () => {
    // Prepare: c7n's custodian-run.log, as c7n 0.9.53 writes it.
    const log = [
      '2026-11-26 08:09:48,177 - custodian.policy - DEBUG - Running policy:isolate-compromised-instance resource:ec2 region:us-east-1 c7n:0.9.53',
      '2026-11-26 08:09:48,445 - custodian.resources.ec2 - DEBUG - Filtered from 1 to 1 ec2',
      '2026-11-26 08:09:48,445 - custodian.policy - INFO - policy:isolate-compromised-instance resource:ec2 region:us-east-1 count:1 time:0.27',
      '2026-11-26 08:09:48,465 - custodian.policy - INFO - policy:isolate-compromised-instance action:ec2modifyvpcsecuritygroups resources:1 execution_time:0.02',
      '2026-11-26 08:09:48,515 - custodian.policy - INFO - policy:isolate-compromised-instance action:tag resources:1 execution_time:0.03',
      'Traceback (most recent call last):',
    ].join('\n');
    const local = (ms: number) => new Date(2026, 10, 26, 8, 9, 48, ms).getTime();

    // Act
    const parsed = parseCustodianRunLog(log);

    // Assess
    expect(parsed).toEqual({
      policyStartedAt: local(177),
      resources: { count: 1, at: local(445), seconds: 0.27 },
      actions: [
        { action: 'ec2modifyvpcsecuritygroups', resources: 1, at: local(465), seconds: 0.02 },
        { action: 'tag', resources: 1, at: local(515), seconds: 0.03 },
      ],
    });
    expect(parseCustodianRunLog('')).toEqual({ actions: [] });
  });
});

describe('Function: custodianEnv', () => {
  it('points every AWS client at the endpoint with test keys, and drops the machine’s own AWS settings', () => {
    const env = custodianEnv('http://127.0.0.1:4575', 'us-east-1', { PATH: '/bin', AWS_PROFILE: 'prod', AWS_SESSION_TOKEN: 'x', AWS_ENDPOINT_URL_EC2: 'https://ec2.amazonaws.com' });
    expect(env).toEqual({
      PATH: '/bin',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4575',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_DEFAULT_REGION: 'us-east-1',
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    });
  });
});

describe('Functions: side by side', () => {
  it('prints a sample as its median and range, and the ratio of two medians', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(3);
    expect(() => median([])).toThrow('empty');
    expect(spread([1200, 900, 1100])).toBe('1100 ms (900–1200)');
    expect(spread([7], 's')).toBe('7 s');
    expect(spread([])).toBe('n/a');
    expect(ratio([3000, 2900, 3100], [1000])).toBe('3.0×');
    expect(ratio([], [1])).toBe('n/a');
    expect(ratio([1], [0])).toBe('n/a');
  });

  it('gives one cell for rounds that agree, and each value with its count when they do not', () => {
    expect(summariseRounds(['yes', 'yes'])).toBe('yes');
    expect(summariseRounds(['yes', 'no', 'yes'])).toBe('yes (2 rounds); no (1 round)');
    expect(summariseRounds([])).toBe('');
  });

  it('pads every column to its widest cell', () => {
    expect(formatTable([['', 'a'], ['x', 'yes']])).toEqual(['   a', 'x  yes']);
  });
});
