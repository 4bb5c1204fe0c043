// What the end-to-end tests share: the deployed pipelines, the emulator, and
// reads of AWS state (the tests assert on AWS, not on logs).
import { DescribeAutoScalingGroupsCommand } from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstanceAttributeCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSnapshotsCommand,
  DescribeInstancesCommand,
  DescribeAddressesCommand,
} from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { SNSClient, SubscribeCommand, UnsubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, DeleteQueueCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { CreateAccessKeyCommand, CreateUserCommand, GetRoleCommand } from '@aws-sdk/client-iam';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { spawnSync } from 'node:child_process';
import { inject } from 'vitest';
import { parseRecorded, type Step } from '../../shared/engine/index.ts';
import { incidentIdFor } from '../../shared/findings/index.ts';
import type { IncidentRecord } from '../../shared/ledger/index.ts';
import type { Ec2 } from '../../shared/playbooks/ec2-instance/index.ts';
import { drain, serviceRoleCredentials } from '../../scripts/lib/drain.ts';
import { loadFixture, retargetInstanceFinding, type FindingEvent } from '../../scripts/lib/findings.ts';
import { buildWebAppScenario, type WebAppScenario, type WebAppScenarioOptions } from '../../scripts/lib/scenario.ts';
import { emulatorWorld } from '../../scripts/lib/world.ts';

export const endpoint = inject('endpoint');
export const outputs = inject('outputs');
export const world = emulatorWorld(endpoint);

export interface Pipeline {
  prefix: string;
  bus: string;
  /** Where responders put manual findings and releases (only they may, in AWS). */
  respondersBus: string;
  ledgerTable: string;
  evidenceBucket: string;
  functionName: string;
  queueName: string;
  dlqName: string;
}

export function pipeline(name: 'firebreak' | 'observe' | 'limited' | 'retry' | 'full' | 'storm'): Pipeline {
  const o = outputs[name];
  const pb = o.playbooks['ec2-instance'];
  return {
    prefix: name,
    bus: o.event_bus_name,
    respondersBus: o.responders_bus_name,
    ledgerTable: o.ledger_table_name,
    evidenceBucket: o.evidence_bucket_name,
    functionName: pb.function_name,
    queueName: pb.queue_url.split('/').pop(),
    dlqName: pb.dlq_url.split('/').pop(),
  };
}

export const buildScenario = (options: WebAppScenarioOptions = {}) =>
  buildWebAppScenario({ ec2: world.ec2, autoscaling: world.autoscaling, elbv2: world.elbv2, elb: world.elb, iam: world.iam }, options);

/** A GuardDuty fixture rewritten to name the scenario's victim (or another of its instances). */
export async function findingFor(scenario: WebAppScenario, fixture = 'ec2-c-cactivity-b', overrides: { findingId?: string; count?: number; instanceIndex?: 0 | 1 } = {}): Promise<FindingEvent> {
  const accountId = await world.accountId();
  const instanceId = scenario.instanceIds[overrides.instanceIndex ?? 0];
  const isVictim = instanceId === scenario.victim.instanceId;
  return retargetInstanceFinding(
    loadFixture(fixture),
    {
      accountId,
      region: 'us-east-1',
      instanceId,
      vpcId: scenario.vpcId,
      ...(isVictim ? { subnetId: scenario.victim.subnetId, eniIds: scenario.victim.eniIds } : {}),
      securityGroupIds: [scenario.webAppSecurityGroupId],
    },
    overrides,
  );
}

export async function incidentRecord(p: Pipeline, event: FindingEvent) {
  const id = incidentIdFor(event.detail.accountId, event.detail.id, event.detail.resource.instanceDetails?.instanceId ?? event.detail.resource.id);
  return world.ledger(p.ledgerTable).get(id);
}

/** The ledger's record of a finding no playbook acted on (a sample, an unhandled type). */
export async function ignoredRecord(p: Pipeline, event: FindingEvent) {
  const items = await world.ledger(p.ledgerTable).list();
  return items.find((r) => r.kind === 'ignored' && r.findingId === event.detail.id && r.accountId === event.detail.accountId);
}

export const drainAll = (functionFilter?: string) =>
  drain({ endpoint, region: 'us-east-1', log: () => undefined, timeoutSeconds: 60, ...(functionFilter ? { functionFilter } : {}) });

export async function eniGroups(instanceId: string): Promise<Record<string, string[]>> {
  const out = await world.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }));
  return Object.fromEntries(out.NetworkInterfaces!.map((n) => [n.NetworkInterfaceId!, n.Groups!.map((g) => g.GroupId!).sort()]));
}

export async function securityGroup(groupId: string) {
  const out = await world.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
  return out.SecurityGroups![0]!;
}

export async function asgState(asgName: string) {
  const out = await world.autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [asgName] }));
  const g = out.AutoScalingGroups![0]!;
  return { desired: g.DesiredCapacity!, members: g.Instances!.map((i) => i.InstanceId!) };
}

export async function targetIds(targetGroupArn: string): Promise<string[]> {
  const out = await world.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  return (out.TargetHealthDescriptions ?? []).map((t) => t.Target!.Id!);
}

export async function classicElbInstances(name: string): Promise<string[]> {
  const out = await world.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerNames: [name] }));
  return (out.LoadBalancerDescriptions![0]!.Instances ?? []).map((i) => i.InstanceId!);
}

export async function instanceAttribute(instanceId: string, attribute: 'disableApiTermination' | 'disableApiStop' | 'instanceInitiatedShutdownBehavior') {
  const out = await world.ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: attribute }));
  return (out as any)[attribute[0]!.toUpperCase() + attribute.slice(1)]?.Value;
}

export async function instance(instanceId: string) {
  const out = await world.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return out.Reservations![0]!.Instances![0]!;
}

/** The incident's snapshots of the instance's volumes (not the copies made for the forensic account). */
export async function snapshotsOf(incidentId: string) {
  const out = await world.ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ['self'], Filters: [{ Name: 'tag:firebreak:incident-id', Values: [incidentId] }] }));
  return (out.Snapshots ?? []).filter((s) => !s.Tags?.some((t) => t.Key === 'firebreak:source-snapshot'));
}

export async function addressOf(allocationId: string) {
  const out = await world.ec2.send(new DescribeAddressesCommand({ AllocationIds: [allocationId] }));
  return out.Addresses![0]!;
}

export async function queueCounts(queueName: string) {
  const { QueueUrl } = await world.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
  const out = await world.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
  );
  return { url: QueueUrl!, visible: Number(out.Attributes!.ApproximateNumberOfMessages), inFlight: Number(out.Attributes!.ApproximateNumberOfMessagesNotVisible) };
}

/** What a step recorded for an incident, read through the step's own schema (as release reads it). */
export const recorded = <D>(record: IncidentRecord, step: Step<Ec2, D>): D => parseRecorded(step, record.steps[step.name]?.data);

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** A principal of the account that is neither a responder nor a Firebreak role: an IAM user with its own access key. */
export async function outsider(name: string) {
  const { User } = await world.iam.send(new CreateUserCommand({ UserName: `${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}` }));
  const { AccessKey } = await world.iam.send(new CreateAccessKeyCommand({ UserName: User!.UserName! }));
  const credentials: Credentials = { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
  const config = { endpoint, region: 'us-east-1', credentials };
  return { arn: User!.Arn!, userId: User!.UserId!, credentials, sqs: new SQSClient(config), events: new EventBridgeClient(config) };
}

/** The pipeline function's execution role, and its credentials as Lambda gets them (session name = the function name). */
export async function functionRole(p: Pipeline) {
  const lambda = new LambdaClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const { Configuration } = await lambda.send(new GetFunctionCommand({ FunctionName: p.functionName }));
  const roleArn = Configuration!.Role!;
  const { Role } = await world.iam.send(new GetRoleCommand({ RoleName: roleArn.split('/').pop()! }));
  const session = await serviceRoleCredentials(endpoint, roleArn, p.functionName);
  const credentials: Credentials = { accessKeyId: session.accessKeyId, secretAccessKey: session.secretAccessKey, sessionToken: session.sessionToken };
  return { roleArn, roleId: Role!.RoleId!, senderId: `${Role!.RoleId!}:${p.functionName}`, credentials, sqs: new SQSClient({ endpoint, region: 'us-east-1', credentials }) };
}

/** `firebreak <args>` as a given principal runs it (the SDK's default chain reads these credentials). */
export function firebreakAs(credentials: Credentials, ...args: string[]) {
  const env: Record<string, string | undefined> = { ...process.env, AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey };
  if (credentials.sessionToken) env.AWS_SESSION_TOKEN = credentials.sessionToken;
  else delete env.AWS_SESSION_TOKEN;
  const out = spawnSync(process.execPath, ['scripts/firebreak.ts', ...args], { encoding: 'utf8', env });
  return { code: out.status, stdout: out.stdout, stderr: out.stderr };
}

/** The credentials the CLI and the tests use on the emulator: the responder the local example names. */
export const responderCredentials: Credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

// ---------------------------------------------------------------------------
// Notifications: what a subscriber of a pipeline's topic receives
// ---------------------------------------------------------------------------

const sns = new SNSClient({ region: world.region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

/** What an SQS subscriber of the topic receives: SNS's envelope around Firebreak's message. */
export interface Envelope {
  Type: string;
  TopicArn: string;
  Subject?: string;
  Message: string;
  MessageAttributes?: Record<string, { Type: string; Value: string }>;
}

/** A queue subscribed to the notification topic, as a ticketing hook or a chat bridge would be. */
export async function subscribedQueue(topic: string) {
  const name = `e2e-notifications-${Date.now()}`;
  const { QueueUrl } = await world.sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await world.sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  const queueArn = Attributes!.QueueArn!;
  const { SubscriptionArn } = await sns.send(new SubscribeCommand({ TopicArn: topic, Protocol: 'sqs', Endpoint: queueArn, ReturnSubscriptionArn: true }));
  return {
    url: QueueUrl!,
    remove: async () => {
      await sns.send(new UnsubscribeCommand({ SubscriptionArn }));
      await world.sqs.send(new DeleteQueueCommand({ QueueUrl }));
    },
  };
}

/**
 * Every notification waiting on the queue about one incident (others' follow-ups may publish
 * about theirs), read until the queue is empty and deleted once read.
 */
export async function notificationsAbout(queueUrl: string, incidentId: string): Promise<Envelope[]> {
  const received: Envelope[] = [];
  for (;;) {
    const out = await world.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    received.push(...messages.map((m) => JSON.parse(m.Body!) as Envelope));
    await world.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
  }
  return received.filter((e) => e.MessageAttributes?.incidentId?.Value === incidentId);
}
