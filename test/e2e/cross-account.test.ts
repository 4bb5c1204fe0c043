// Organization, end to end on the emulator: the pipeline of terraform/examples/local/member.tf
// (module.org, bus fb-org) runs in this account, as in GuardDuty's delegated administrator
// account, and acts in its member accounts through their member role.
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, DescribeNetworkInterfacesCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import { incidentIdFor } from '../../shared/findings/index.ts';
import { loadFixture, retargetInstanceFinding, type FindingEvent } from '../../scripts/lib/findings.ts';
import { ORGANIZATION_ACCESS_ROLE } from '../../scripts/lib/member-account.ts';
import { buildWebAppScenario, type WebAppScenario } from '../../scripts/lib/scenario.ts';
import { drainAll, endpoint, notificationsAbout, outputs, subscribedQueue, world } from './support.ts';

const org = outputs.org;
const MEMBER: string = org.member_with_role;
const MEMBER_WITHOUT_ROLE: string = org.member_without_role;
const functionName: string = org.playbooks['ec2-instance'].function_name;
const region = world.region;

/** Clients acting in a member account, as its administrators would (through the role Organizations made there). */
async function memberClients(accountId: string) {
  const sts = new STSClient({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const { Credentials: c } = await sts.send(
    new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${accountId}:role/${ORGANIZATION_ACCESS_ROLE}`, RoleSessionName: 'e2e-member-admin' }),
  );
  const config = { region, endpoint, credentials: { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! } };
  return {
    ec2: new EC2Client(config),
    autoscaling: new AutoScalingClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    elb: new ElasticLoadBalancingClient(config),
    iam: new IAMClient(config),
  };
}

/** A GuardDuty finding about the scenario's victim in a member account, as the administrator's bus receives it. */
function memberFinding(scenario: WebAppScenario, accountId: string): FindingEvent {
  return retargetInstanceFinding(
    loadFixture('ec2-c-cactivity-b'),
    {
      accountId,
      region,
      instanceId: scenario.victim.instanceId,
      vpcId: scenario.vpcId,
      subnetId: scenario.victim.subnetId,
      eniIds: scenario.victim.eniIds,
      securityGroupIds: [scenario.webAppSecurityGroupId],
    },
    {},
  );
}

describe('Organization: one pipeline contains resources in member accounts', () => {
  it("contains an instance of a member account through the member role: isolated in the member's EC2, recorded in the pipeline's ledger and evidence bucket, the session named after the incident", async () => {
    // Prepare: a web app in the member account; the finding, as GuardDuty delivers a member's
    // finding to the administrator's bus (event.account: the administrator; detail.accountId: the member)
    const member = await memberClients(MEMBER);
    const scenario = await buildWebAppScenario(member, {});
    const event = memberFinding(scenario, MEMBER);
    const instanceId = scenario.victim.instanceId;
    const incidentId = incidentIdFor(MEMBER, event.detail.id, instanceId);
    const home = await world.accountId();
    expect(home).not.toBe(MEMBER);

    // Act
    await world.putFinding(event, org.event_bus_name);
    await drainAll(functionName);

    // Assess: the ledger, in the pipeline's account, says contained
    const record = await world.ledger(org.ledger_table_name).get(incidentId);
    expect(record?.status, record?.statusReason).toBe('contained');
    expect(record?.incident.accountId).toBe(MEMBER);
    // ...and says which session acted in the member account (CloudTrail's userIdentity.arn there)
    const session = `arn:aws:sts::${MEMBER}:assumed-role/firebreak-responder/firebreak-${incidentId}`;
    expect(record?.gates).toContainEqual({ gate: 'account-in-scope', passed: true, reason: `the finding is for member account ${MEMBER} (member_account_ids): acting there as ${session}` });

    // ...every ENI of the instance, in the member account, is in the member VPC's isolation group
    const { NetworkInterfaces } = await member.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }));
    const groupIds = [...new Set(NetworkInterfaces!.flatMap((n) => n.Groups!.map((g) => g.GroupId!)))];
    expect(groupIds).toHaveLength(1);
    const { SecurityGroups } = await member.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groupIds }));
    expect(SecurityGroups![0]!.VpcId).toBe(scenario.vpcId);
    expect(SecurityGroups![0]!.OwnerId).toBe(MEMBER);
    expect(SecurityGroups![0]!.IpPermissions).toEqual([]);
    expect(SecurityGroups![0]!.IpPermissionsEgress).toEqual([]);
    const { Reservations } = await member.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    expect(Reservations![0]!.Instances![0]!.Tags).toContainEqual({ Key: 'firebreak:incident-id', Value: incidentId });

    // ...nothing of it exists in the pipeline's own account
    await expect(world.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }))).rejects.toMatchObject({ name: 'InvalidInstanceID.NotFound' });

    // ...the evidence is in the pipeline's bucket, in its account
    const { Contents } = await world.s3.send(new ListObjectsV2Command({ Bucket: org.evidence_bucket_name, Prefix: `incidents/${incidentId}/` }));
    expect((Contents ?? []).length).toBeGreaterThan(0);
  });

  it('records a finding of a member account without a member role as failed, with the reason, changes nothing and does not retry', async () => {
    // Prepare: an instance id the member account would have; nothing can be read there
    const member = await memberClients(MEMBER);
    const scenario = await buildWebAppScenario(member, {});
    const event = memberFinding(scenario, MEMBER_WITHOUT_ROLE);
    const incidentId = incidentIdFor(MEMBER_WITHOUT_ROLE, event.detail.id, scenario.victim.instanceId);
    const groupsBefore = await member.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: scenario.victim.eniIds }));
    const told = await subscribedQueue(org.notification_topic_arn);

    // Act
    await world.putFinding(event, org.event_bus_name);
    const [summary] = await drainAll(functionName);
    const notifications = await notificationsAbout(told.url, incidentId).finally(() => told.remove());

    // Assess
    const record = await world.ledger(org.ledger_table_name).get(incidentId);
    expect(record?.status).toBe('failed');
    expect(record?.statusReason).toContain(`cannot assume arn:aws:iam::${MEMBER_WITHOUT_ROLE}:role/firebreak-responder to act in member account ${MEMBER_WITHOUT_ROLE} (AccessDenied:`);
    expect(record?.gates?.at(-1)).toMatchObject({ gate: 'member-role', passed: false });
    expect(record?.steps ?? {}).toEqual({});
    // People are told it failed, and why
    expect(notifications.map((n) => n.MessageAttributes?.status?.Value)).toEqual(['failed']);
    expect(notifications[0]!.Message).toContain(`cannot assume arn:aws:iam::${MEMBER_WITHOUT_ROLE}:role/firebreak-responder`);
    // Permanent: the message was deleted, not left for redelivery.
    expect(summary).toMatchObject({ failed: 0 });
    const groupsAfter = await member.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: scenario.victim.eniIds }));
    expect(groupsAfter.NetworkInterfaces!.map((n) => n.Groups)).toEqual(groupsBefore.NetworkInterfaces!.map((n) => n.Groups));
  });

  it('skips a finding of an account that is neither the pipeline\'s nor a member, without reading anything', async () => {
    // Prepare
    const member = await memberClients(MEMBER);
    const scenario = await buildWebAppScenario(member, {});
    const stranger = '999988887777';
    const event = memberFinding(scenario, stranger);
    const incidentId = incidentIdFor(stranger, event.detail.id, scenario.victim.instanceId);

    // Act
    await world.putFinding(event, org.event_bus_name);
    await drainAll(functionName);

    // Assess
    const record = await world.ledger(org.ledger_table_name).get(incidentId);
    expect(record?.status).toBe('skipped');
    expect(record?.gates).toEqual([expect.objectContaining({ gate: 'account-in-scope', passed: false })]);
  });
});
