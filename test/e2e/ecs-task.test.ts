// A compromised ECS task through the Terraform-deployed pipeline: a Fargate-style task (awsvpc,
// its ENI requester-managed by ECS, which EC2 refuses to move to another group), behind an IP
// target group, runs a new binary that talks to a remote address; GuardDuty's ECSCluster finding
// reaches the ecs-task function, which contains it by the path that works in AWS — the task's own
// security group emptied, the remote address denied in the subnet's network ACL, out of the
// target group, protected from scale-in, its role's older sessions revoked, tagged — and the
// ledger records each decision. A responder's release puts every rule, entry and registration
// back exactly. Asserted on AWS state.
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeNetworkAclsCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSecurityGroupRulesCommand,
  ModifyNetworkInterfaceAttributeCommand,
  type NetworkAclEntry,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { CreateClusterCommand, DescribeTasksCommand, ECSClient, GetTaskProtectionCommand, ListTagsForResourceCommand, RegisterTaskDefinitionCommand, RunTaskCommand } from '@aws-sdk/client-ecs';
import { CreateTargetGroupCommand, DescribeTargetHealthCommand, RegisterTargetsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateRoleCommand, ListRolePoliciesCommand } from '@aws-sdk/client-iam';
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseRecorded } from '../../shared/engine/index.ts';
import { incidentIdFor } from '../../shared/findings/index.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import { denyRemoteAddressesInNetworkAcl, revokeTaskSecurityGroupRules } from '../../shared/playbooks/ecs-task/isolation.ts';
import { protectTaskFromScaleIn } from '../../shared/playbooks/ecs-task/membership.ts';
import { loadFixture } from '../../scripts/lib/findings.ts';
import { drainAll, endpoint, firebreakAs, outputs, pipeline, responderCredentials, world } from './support.ts';

const main = pipeline('firebreak');
const full = pipeline('full');
const ecsFunction: string = outputs.firebreak.playbooks['ecs-task'].function_name;
const ecs = new ECSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
const REMOTE_IP = '203.0.113.66';

/** A group's rules without their ids (release creates new ones): what must be back exactly. */
const ruleShapes = (rules: SecurityGroupRule[]) =>
  rules
    .map((r) => JSON.stringify({ egress: r.IsEgress, protocol: r.IpProtocol, from: r.FromPort, to: r.ToPort, cidr: r.CidrIpv4 ?? r.CidrIpv6 ?? r.ReferencedGroupInfo?.GroupId, description: r.Description ?? null }))
    .sort();
const groupRules = async (groupId: string) => (await world.ec2.send(new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: 'group-id', Values: [groupId] }] }))).SecurityGroupRules ?? [];
const groupTags = async (groupId: string) => Object.fromEntries(((await world.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }))).SecurityGroups![0]!.Tags ?? []).map((t) => [t.Key!, t.Value!]));
const aclEntries = async (subnetId: string): Promise<NetworkAclEntry[]> =>
  (await world.ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }))).NetworkAcls![0]!.Entries ?? [];
const targets = async (targetGroupArn: string) => ((await world.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }))).TargetHealthDescriptions ?? []).map((t) => `${t.Target!.Id}:${t.Target!.Port}`);
const taskTags = async (taskArn: string) => Object.fromEntries(((await ecs.send(new ListTagsForResourceCommand({ resourceArn: taskArn }))).tags ?? []).map((t) => [t.key!, t.value!]));

/** A VPC with one subnet, a payments service's Fargate task in its own security group, registered by IP in a target group. */
async function aFargateService() {
  const suffix = randomBytes(3).toString('hex');
  const { Vpc } = await world.ec2.send(new CreateVpcCommand({ CidrBlock: '10.77.0.0/16' }));
  const vpcId = Vpc!.VpcId!;
  const { Subnet } = await world.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.77.1.0/24', AvailabilityZone: 'us-east-1a' }));
  const subnetId = Subnet!.SubnetId!;
  const { GroupId: groupId } = await world.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `payments-api-${suffix}`, Description: 'payments-api tasks' }));
  await world.ec2.send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId!, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: '10.77.0.0/24', Description: 'from the ALB subnet' }] }] }),
  );
  const { Role } = await world.iam.send(
    new CreateRoleCommand({
      RoleName: `payments-api-task-${suffix}`,
      AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
    }),
  );
  const cluster = `payments-prod-${suffix}`;
  await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const { taskDefinition } = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: `payments-api-${suffix}`,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      taskRoleArn: Role!.Arn!,
      containerDefinitions: [{ name: 'payments-api', image: 'public.ecr.aws/nginx/nginx:1.27', essential: true, cpu: 256, memory: 512, portMappings: [{ containerPort: 8080 }] }],
    }),
  );
  const { tasks } = await ecs.send(
    new RunTaskCommand({
      cluster,
      taskDefinition: taskDefinition!.taskDefinitionArn!,
      launchType: 'FARGATE',
      group: `service:payments-api-${suffix}`,
      networkConfiguration: { awsvpcConfiguration: { subnets: [subnetId], securityGroups: [groupId!] } },
    }),
  );
  const task = tasks![0]!;
  const detail = (name: string) => task.attachments![0]!.details!.find((d) => d.name === name)!.value!;
  const { TargetGroups } = await world.elbv2.send(new CreateTargetGroupCommand({ Name: `payments-${suffix}`, Protocol: 'HTTP', Port: 8080, VpcId: vpcId, TargetType: 'ip' }));
  const targetGroupArn = TargetGroups![0]!.TargetGroupArn!;
  await world.elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: [{ Id: detail('privateIPv4Address'), Port: 8080 }] }));
  return { suffix, vpcId, subnetId, groupId: groupId!, roleName: Role!.RoleName!, cluster, task, eniId: detail('networkInterfaceId'), taskIp: detail('privateIPv4Address'), targetGroupArn, taskDefinitionArn: taskDefinition!.taskDefinitionArn! };
}

/** The GuardDuty fixture (a new binary run in a Fargate task), pointed at the scenario's task, with the address it connected to. */
async function findingFor(s: Awaited<ReturnType<typeof aFargateService>>) {
  const event = loadFixture('ecs-fargate-runtime-newbinaryexecuted') as any;
  const accountId = await world.accountId();
  event.id = crypto.randomUUID();
  event.account = accountId;
  event.detail.accountId = accountId;
  event.detail.id = randomBytes(16).toString('hex');
  event.detail.arn = `arn:aws:guardduty:us-east-1:${accountId}:detector/6cc4a1f0e3b2d5a7c9e8f1b0a2d4c6e8/finding/${event.detail.id}`;
  const details = event.detail.resource.ecsClusterDetails;
  details.name = s.cluster;
  details.arn = s.task.clusterArn;
  details.taskDetails.arn = s.task.taskArn;
  details.taskDetails.definitionArn = s.taskDefinitionArn;
  details.taskDetails.group = s.task.group;
  // The runtime finding's process connected out to REMOTE_IP (a network finding names it so).
  event.detail.service.action = { actionType: 'NETWORK_CONNECTION', networkConnectionAction: { connectionDirection: 'OUTBOUND', protocol: 'TCP', blocked: false, remoteIpDetails: { ipAddressV4: REMOTE_IP }, remotePortDetails: { port: 3333 } } };
  return event;
}

describe('Compromised ECS task, end to end', () => {
  it('contains a Fargate task whose ENI refuses group changes by the path that works, records each decision, and release restores exactly', async () => {
    // Prepare
    const s = await aFargateService();
    const rulesBefore = ruleShapes(await groupRules(s.groupId));
    const aclBefore = await aclEntries(s.subnetId);
    const event = await findingFor(s);
    const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, s.task.taskArn!);

    // Act: GuardDuty's finding reaches the ECS task function
    await world.putFinding(event, main.bus);
    await drainAll(ecsFunction);

    // Assess: contained, each decision in the ledger
    const record = (await world.ledger(main.ledgerTable).get(incidentId)) as IncidentRecord;
    expect(record).toMatchObject({ status: 'contained', incident: { playbook: 'ecs-task', resource: { type: 'ECSTask', id: s.task.taskArn }, remoteIps: [REMOTE_IP] } });
    expect(record.steps).toMatchObject({
      revokeTaskSecurityGroupRules: { status: 'done' },
      denyRemoteAddressesInNetworkAcl: { status: 'done' },
      deregisterTaskFromTargetGroups: { status: 'done' },
      protectTaskFromScaleIn: { status: 'done' },
      revokeTaskRoleSessions: { status: 'done' },
      handOffHostInstance: { status: 'skipped' },
      preserveTaskEvidence: { status: 'done' },
      tagTask: { status: 'done' },
      startHostMalwareScan: { status: 'skipped' },
    });
    expect(record.steps.stopTask).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/runs only in full mode/) });

    // …the task's ENI is ECS's: its groups are unchanged, and EC2 refuses to change them even for us
    const { NetworkInterfaces } = await world.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [s.eniId] }));
    expect(NetworkInterfaces![0]).toMatchObject({ RequesterManaged: true, Groups: [expect.objectContaining({ GroupId: s.groupId })] });
    await expect(world.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: s.eniId, Groups: [s.groupId] }))).rejects.toMatchObject({ name: 'AuthFailure' });
    const isolation = parseRecorded(revokeTaskSecurityGroupRules, record.steps.revokeTaskSecurityGroupRules!.data);
    expect(isolation).toMatchObject({ emptiedGroups: [s.groupId], sharedGroups: [], interfaces: [{ networkInterfaceId: s.eniId, requesterManaged: true }] });
    expect(record.steps.revokeTaskSecurityGroupRules!.summary).toMatch(/requester-managed/);

    // …so the group it alone uses has no rule left, in or out, and carries the mark release needs to put them back
    expect(await groupRules(s.groupId)).toEqual([]);
    expect(await groupTags(s.groupId)).toMatchObject({ 'firebreak:emptied-by': incidentId });

    // …the remote address is denied both ways in the subnet's ACL, below every other rule
    const entries = await aclEntries(s.subnetId);
    const denies = entries.filter((e) => e.CidrBlock === `${REMOTE_IP}/32`);
    expect(denies.map((e) => ({ egress: e.Egress, action: e.RuleAction })).sort((a, b) => Number(a.egress) - Number(b.egress))).toEqual([
      { egress: false, action: 'deny' },
      { egress: true, action: 'deny' },
    ]);
    for (const d of denies) expect(d.RuleNumber).toBeLessThan(Math.min(...aclBefore.filter((e) => e.Egress === d.Egress).map((e) => e.RuleNumber!)));
    expect(parseRecorded(denyRemoteAddressesInNetworkAcl, record.steps.denyRemoteAddressesInNetworkAcl!.data).limits.join(' ')).toMatch(/never crosses the network ACL/);

    // …out of the target group, protected from scale-in (expiry recorded), tagged, its role's older sessions denied
    expect(await targets(s.targetGroupArn)).toEqual([]);
    const protection = (await ecs.send(new GetTaskProtectionCommand({ cluster: s.cluster, tasks: [s.task.taskArn!] }))).protectedTasks![0]!;
    expect(protection.protectionEnabled).toBe(true);
    expect(parseRecorded(protectTaskFromScaleIn, record.steps.protectTaskFromScaleIn!.data).expirationDate).toBe(protection.expirationDate!.toISOString());
    expect(await taskTags(s.task.taskArn!)).toMatchObject({ 'firebreak:incident-id': incidentId, 'firebreak:status': 'contained' });
    expect((await world.iam.send(new ListRolePoliciesCommand({ RoleName: s.roleName }))).PolicyNames).toEqual([`FirebreakRevokeOlderSessions-${incidentId}`]);

    // Act: a responder releases the incident
    const released = firebreakAs(responderCredentials, 'release', incidentId, '--reason', 'red-team exercise RT-12', '--table', main.ledgerTable);

    // Assess: every rule, entry, registration and the protection back as they were; tagged released
    expect(released.code, released.stderr + released.stdout).toBe(0);
    expect(ruleShapes(await groupRules(s.groupId))).toEqual(rulesBefore);
    expect(await groupTags(s.groupId)).not.toHaveProperty('firebreak:emptied-by');
    expect((await aclEntries(s.subnetId)).map((e) => `${e.Egress}|${e.RuleNumber}|${e.RuleAction}|${e.CidrBlock}`).sort()).toEqual(aclBefore.map((e) => `${e.Egress}|${e.RuleNumber}|${e.RuleAction}|${e.CidrBlock}`).sort());
    expect(await targets(s.targetGroupArn)).toEqual([`${s.taskIp}:8080`]);
    expect((await ecs.send(new GetTaskProtectionCommand({ cluster: s.cluster, tasks: [s.task.taskArn!] }))).protectedTasks![0]!.protectionEnabled).toBe(false);
    expect((await world.iam.send(new ListRolePoliciesCommand({ RoleName: s.roleName }))).PolicyNames).toEqual([]);
    expect(await taskTags(s.task.taskArn!)).toMatchObject({ 'firebreak:incident-id': incidentId, 'firebreak:status': 'released' });
    expect((await world.ledger(main.ledgerTable).get(incidentId))!.status).toBe('released');
  });

  it('a finding that names only a cluster changes nothing in it, and says what to do', async () => {
    // Prepare
    const s = await aFargateService();
    const event = await findingFor(s);
    delete event.detail.resource.ecsClusterDetails.taskDetails;
    const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, s.task.clusterArn!);
    const rulesBefore = ruleShapes(await groupRules(s.groupId));

    // Act
    await world.putFinding(event, main.bus);
    await drainAll(ecsFunction);

    // Assess
    const record = (await world.ledger(main.ledgerTable).get(incidentId)) as IncidentRecord;
    expect(record.incident.resource).toMatchObject({ type: 'ECSTask', id: s.task.clusterArn });
    expect(record.steps.revokeTaskSecurityGroupRules).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/no task: nothing is changed in a whole cluster blindly/) });
    expect(ruleShapes(await groupRules(s.groupId))).toEqual(rulesBefore);
    expect(await groupTags(s.groupId)).not.toHaveProperty('firebreak:emptied-by');
    expect((await aclEntries(s.subnetId)).some((e) => e.CidrBlock === `${REMOTE_IP}/32`)).toBe(false);
    expect(await targets(s.targetGroupArn)).toEqual([`${s.taskIp}:8080`]);
  });

  it('full mode stops the task, after its evidence is saved', async () => {
    // Prepare
    const s = await aFargateService();
    const event = await findingFor(s);
    const incidentId = incidentIdFor(event.detail.accountId, event.detail.id, s.task.taskArn!);

    // Act
    await world.putFinding(event, full.bus);
    await drainAll(outputs.full.playbooks['ecs-task'].function_name);

    // Assess
    const record = (await world.ledger(full.ledgerTable).get(incidentId)) as IncidentRecord;
    expect(record.steps).toMatchObject({ preserveTaskEvidence: { status: 'done' }, stopTask: { status: 'done' } });
    expect(Date.parse(record.steps.stopTask!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(record.steps.preserveTaskEvidence!.finishedAt!));
    const { tasks } = await ecs.send(new DescribeTasksCommand({ cluster: s.cluster, tasks: [s.task.taskArn!] }));
    expect(tasks![0]).toMatchObject({ desiredStatus: 'STOPPED', stoppedReason: expect.stringMatching(`Firebreak incident ${incidentId}`) });
  });
});
