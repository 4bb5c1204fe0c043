import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateEventBusCommand, EventBridgeClient, PutEventsCommand, PutPermissionCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  AssociateIamInstanceProfileCommand,
  AttachNetworkInterfaceCommand,
  AttachVolumeCommand,
  CreateVolumeCommand,
  CreateNetworkInterfaceCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeInstanceAttributeCommand,
  DescribeSecurityGroupsCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  CreateKeyPairCommand,
  DeleteKeyPairCommand,
  DescribeKeyPairsCommand,
  ReplaceIamInstanceProfileAssociationCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateAccessKeyCommand, CreateInstanceProfileCommand, CreateLoginProfileCommand, CreateRoleCommand, CreateUserCommand, GetLoginProfileCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { CreateDBClusterCommand, CreateDBInstanceCommand, CreateDBSubnetGroupCommand, DescribeDBClustersCommand, DescribeDBInstancesCommand, DownloadDBLogFilePortionCommand, ModifyDBClusterCommand, ModifyDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { classifyError } from '../../shared/errors/index.ts';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { createHash } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand, PutObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateDocumentCommand, DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { CreateClusterCommand, ECSClient, GetTaskProtectionCommand, RegisterTaskDefinitionCommand, RunTaskCommand, UpdateTaskProtectionCommand } from '@aws-sdk/client-ecs';
import { beforeAll, describe, expect, it } from 'vitest';
import { memoryCaptureDocument, VOLATILE_DATA_DOCUMENT } from '../../shared/playbooks/ec2-instance/online.ts';
import { emulatorClientConfig, emulatorEndpoint, uniqueSuffix } from './helpers.ts';

const IMAGE_ID = 'ami-12c6146b';

describe('Emulator: moto patches', () => {
  const ec2 = new EC2Client(emulatorClientConfig);
  let subnetId: string;
  let webGroupId: string;
  let secondGroupId: string;
  let isolationGroupId: string;

  const createGroup = async (vpcId: string, name: string): Promise<string> => {
    const { GroupId } = await ec2.send(
      new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `${name}-${uniqueSuffix()}`, Description: name }),
    );
    return GroupId!;
  };

  const runInstance = async (): Promise<string> => {
    const { Instances } = await ec2.send(
      new RunInstancesCommand({
        ImageId: IMAGE_ID,
        MinCount: 1,
        MaxCount: 1,
        SubnetId: subnetId,
        SecurityGroupIds: [webGroupId],
      }),
    );
    return Instances![0]!.InstanceId!;
  };

  const runInstanceWithTwoEnis = async (): Promise<string> => {
    const instanceId = await runInstance();
    const { NetworkInterface } = await ec2.send(
      new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: [secondGroupId] }),
    );
    await ec2.send(
      new AttachNetworkInterfaceCommand({
        InstanceId: instanceId,
        NetworkInterfaceId: NetworkInterface!.NetworkInterfaceId!,
        DeviceIndex: 1,
      }),
    );
    return instanceId;
  };

  const describeInstance = async (instanceId: string) => {
    const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return Reservations![0]!.Instances![0]!;
  };

  /** Group ids per ENI of the instance, as DescribeNetworkInterfaces reports them. */
  const eniGroupsFromDescribeNetworkInterfaces = async (instanceId: string) => {
    const { NetworkInterfaces } = await ec2.send(
      new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }),
    );
    return Object.fromEntries(
      NetworkInterfaces!.map((eni) => [eni.NetworkInterfaceId!, eni.Groups!.map((g) => g.GroupId!).sort()]),
    );
  };

  /** Group ids per ENI of the instance, as DescribeInstances reports them. */
  const eniGroupsFromDescribeInstances = async (instanceId: string) => {
    const instance = await describeInstance(instanceId);
    return Object.fromEntries(
      instance.NetworkInterfaces!.map((eni) => [eni.NetworkInterfaceId!, eni.Groups!.map((g) => g.GroupId!).sort()]),
    );
  };

  beforeAll(async () => {
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const vpcId = Vpc!.VpcId!;
    const { Subnet } = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-east-1a' }),
    );
    subnetId = Subnet!.SubnetId!;
    webGroupId = await createGroup(vpcId, 'web');
    secondGroupId = await createGroup(vpcId, 'second-eni');
    isolationGroupId = await createGroup(vpcId, 'isolation');
  });

  it('reports an attached ENI with only its own security groups after ModifyNetworkInterfaceAttribute', async () => {
    // Prepare
    const instanceId = await runInstanceWithTwoEnis();
    const eniIds = Object.keys(await eniGroupsFromDescribeNetworkInterfaces(instanceId));
    expect(eniIds).toHaveLength(2);

    // Act
    for (const eniId of eniIds) {
      await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Groups: [isolationGroupId] }));
    }

    // Assess
    const expected = Object.fromEntries(eniIds.map((id) => [id, [isolationGroupId]]));
    expect(await eniGroupsFromDescribeNetworkInterfaces(instanceId)).toEqual(expected);
    expect(await eniGroupsFromDescribeInstances(instanceId)).toEqual(expected);
    const instance = await describeInstance(instanceId);
    expect(instance.SecurityGroups!.map((g) => g.GroupId)).toEqual([isolationGroupId]);
  });

  it('reports an ENI attached later with its own groups, not the instance groups', async () => {
    // Prepare
    const instanceId = await runInstanceWithTwoEnis();

    // Act
    const groups = Object.values(await eniGroupsFromDescribeNetworkInterfaces(instanceId));

    // Assess
    expect(groups.sort()).toEqual([[secondGroupId], [webGroupId]].sort());
  });

  it('refuses ModifyInstanceAttribute(Groups) on an instance with two ENIs, as AWS does', async () => {
    // Prepare
    const instanceId = await runInstanceWithTwoEnis();

    // Act
    const modify = ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, Groups: [isolationGroupId] }));

    // Assess
    await expect(modify).rejects.toMatchObject({
      name: 'InvalidInstanceID',
      message: `There are multiple interfaces attached to instance '${instanceId}'. Please specify an interface ID for the operation instead.`,
    });
    const groups = Object.values(await eniGroupsFromDescribeNetworkInterfaces(instanceId));
    expect(groups.sort()).toEqual([[secondGroupId], [webGroupId]].sort());
  });

  it('applies ModifyInstanceAttribute(Groups) to the only ENI of a one-ENI instance', async () => {
    // Prepare
    const instanceId = await runInstance();

    // Act
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, Groups: [isolationGroupId] }));

    // Assess
    expect(Object.values(await eniGroupsFromDescribeNetworkInterfaces(instanceId))).toEqual([[isolationGroupId]]);
    expect(Object.values(await eniGroupsFromDescribeInstances(instanceId))).toEqual([[isolationGroupId]]);
    const instance = await describeInstance(instanceId);
    expect(instance.SecurityGroups!.map((g) => g.GroupId)).toEqual([isolationGroupId]);
  });

  it('identifies itself as the patched Firebreak emulator on GET /firebreak/emulator', async () => {
    // Act
    const response = await fetch(new URL('/firebreak/emulator', emulatorEndpoint));

    // Assess
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      firebreak: true,
      moto: '5.2.5',
      patches: [
        'eni_security_groups_are_the_enis_own',
        'instance_security_groups_are_the_primary_enis',
        'instance_level_group_change_needs_a_single_interface',
        'queue_redrive_policy_is_compact_json',
        'eventbridge_targets_receive_the_account_field',
        'dynamodb_item_writes_are_atomic',
        'security_group_names_are_unique_under_concurrency',
        'instance_shutdown_behaviour_can_be_modified',
        'instance_reports_its_current_instance_profile',
        'run_instances_honours_the_client_token',
        'create_volume_honours_the_client_token',
        'attach_volume_checks_state_zone_and_device',
        'object_lock_accepts_any_checksum_header',
        'assume_role_checks_the_trust_policy',
        'sqs_sender_id_is_the_callers_unique_id',
        'sqs_send_message_honours_the_queue_policy',
        'eventbridge_put_events_honours_the_bus_policy',
        'send_command_checks_the_document_and_its_parameters',
        'delete_key_pair_takes_the_key_pair_id',
        'create_login_profile_keeps_password_reset_required',
        'ecs_awsvpc_tasks_get_a_requester_managed_interface',
        'requester_managed_interfaces_refuse_group_changes',
        'ecs_task_protection_is_supported',
        'aurora_members_refuse_cluster_managed_settings',
        'aurora_members_report_the_cluster_subnet_group',
        'modify_db_cluster_enables_iam_authentication',
        'auto_scaling_registers_only_new_members_in_target_groups',
        'missing_apis_answer_not_implemented',
      ],
    });
  });

  it('stores an object sent with only an x-amz-checksum-sha256 header in a bucket with Object Lock, as AWS does', async () => {
    // Prepare: a bucket with default retention, as the evidence bucket is
    const s3 = new S3Client({ ...emulatorClientConfig, forcePathStyle: true });
    const Bucket = `fb-lock-${uniqueSuffix()}`;
    await s3.send(new CreateBucketCommand({ Bucket, ObjectLockEnabledForBucket: true }));
    await s3.send(new PutObjectLockConfigurationCommand({ Bucket, ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } } } }));
    const Body = Buffer.from('evidence');

    // Act: what the evidence store sends (the SDK then sends x-amz-checksum-sha256, and no Content-MD5)
    const put = s3.send(new PutObjectCommand({ Bucket, Key: 'incidents/inc-0/console.txt', Body, ChecksumSHA256: createHash('sha256').update(Body).digest('base64') }));

    // Assess
    await expect(put).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  });

  it('changes the shutdown behaviour of a two-ENI instance with ModifyInstanceAttribute, as AWS does', async () => {
    // Prepare
    const instanceId = await runInstanceWithTwoEnis();
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, InstanceInitiatedShutdownBehavior: { Value: 'terminate' } }));

    // Act
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, InstanceInitiatedShutdownBehavior: { Value: 'stop' } }));

    // Assess
    const before = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: 'instanceInitiatedShutdownBehavior' }));
    expect(before.InstanceInitiatedShutdownBehavior?.Value).toBe('stop');
    await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: instanceId, InstanceInitiatedShutdownBehavior: { Value: 'terminate' } }));
    const after = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instanceId, Attribute: 'instanceInitiatedShutdownBehavior' }));
    expect(after.InstanceInitiatedShutdownBehavior?.Value).toBe('terminate');
  });

  it('reports the instance profile associated now after ReplaceIamInstanceProfileAssociation, as AWS does', async () => {
    // Prepare
    const iam = new IAMClient(emulatorClientConfig);
    const profile = async (name: string) => {
      const { InstanceProfile } = await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: `${name}-${uniqueSuffix()}` }));
      return InstanceProfile!;
    };
    const [original, isolation] = [await profile('original'), await profile('isolation')];
    const instanceId = await runInstance();
    const { IamInstanceProfileAssociation } = await ec2.send(new AssociateIamInstanceProfileCommand({ InstanceId: instanceId, IamInstanceProfile: { Arn: original.Arn } }));

    // Act
    await ec2.send(new ReplaceIamInstanceProfileAssociationCommand({ AssociationId: IamInstanceProfileAssociation!.AssociationId, IamInstanceProfile: { Arn: isolation.Arn } }));

    // Assess
    const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    expect(Reservations![0]!.Instances![0]!.IamInstanceProfile).toEqual({ Arn: isolation.Arn, Id: isolation.InstanceProfileId });
  });

  it('launches once for one RunInstances ClientToken, as AWS does', async () => {
    // Prepare
    const launch = () => ec2.send(new RunInstancesCommand({ ImageId: IMAGE_ID, MinCount: 1, MaxCount: 1, SubnetId: subnetId, ClientToken: `token-${uniqueSuffix()}` }));
    const token = `forensic-${uniqueSuffix()}`;
    const again = () => ec2.send(new RunInstancesCommand({ ImageId: IMAGE_ID, MinCount: 1, MaxCount: 1, SubnetId: subnetId, ClientToken: token }));

    // Act
    const [first, second, other] = [await again(), await again(), await launch()];

    // Assess
    expect(second.Instances![0]!.InstanceId).toBe(first.Instances![0]!.InstanceId);
    expect(other.Instances![0]!.InstanceId).not.toBe(first.Instances![0]!.InstanceId);
  });

  it('creates one volume per CreateVolume ClientToken and refuses the token with other parameters, as AWS does', async () => {
    // Prepare
    const token = `volume-${uniqueSuffix()}`;
    const create = (zone: string) => ec2.send(new CreateVolumeCommand({ AvailabilityZone: zone, Size: 8, ClientToken: token }));

    // Act
    const [first, second] = [await create('us-east-1b'), await create('us-east-1b')];

    // Assess
    expect(second.VolumeId).toBe(first.VolumeId);
    await expect(create('us-east-1a')).rejects.toMatchObject({ name: 'IdempotentParameterMismatch' });
  });

  it('refuses AttachVolume for an attached volume, another zone, or a device in use, as AWS does', async () => {
    // Prepare
    const [one, two] = [await runInstance(), await runInstance()];
    const { Reservations } = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [one] }));
    const zone = Reservations![0]!.Instances![0]!.Placement!.AvailabilityZone!;
    const volume = async (az: string) => (await ec2.send(new CreateVolumeCommand({ AvailabilityZone: az, Size: 8 }))).VolumeId!;
    const [attached, elsewhere, spare] = [await volume(zone), await volume(zone === 'us-east-1a' ? 'us-east-1b' : 'us-east-1a'), await volume(zone)];
    await ec2.send(new AttachVolumeCommand({ VolumeId: attached, InstanceId: one, Device: '/dev/sdf' }));

    // Act / Assess
    await expect(ec2.send(new AttachVolumeCommand({ VolumeId: attached, InstanceId: two, Device: '/dev/sdg' }))).rejects.toMatchObject({ name: 'VolumeInUse' });
    await expect(ec2.send(new AttachVolumeCommand({ VolumeId: elsewhere, InstanceId: one, Device: '/dev/sdg' }))).rejects.toMatchObject({ name: 'InvalidVolume.ZoneMismatch' });
    await expect(ec2.send(new AttachVolumeCommand({ VolumeId: spare, InstanceId: one, Device: '/dev/sdf' }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    await ec2.send(new AttachVolumeCommand({ VolumeId: spare, InstanceId: one, Device: '/dev/sdg' }));
  });

  it('returns a queue RedrivePolicy as compact JSON, as AWS does', async () => {
    // Prepare
    const sqs = new SQSClient(emulatorClientConfig);
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `dlq-${uniqueSuffix()}` }));
    const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;

    // Act
    const q = await sqs.send(new CreateQueueCommand({ QueueName: `q-${uniqueSuffix()}`, Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }) } }));

    // Assess
    const attrs = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl, AttributeNames: ['RedrivePolicy'] }));
    expect(attrs.Attributes!.RedrivePolicy).toBe(`{"deadLetterTargetArn":"${dlqArn}","maxReceiveCount":3}`);
  });

  it('delivers the account field of an event to an SQS rule target, as AWS does', async () => {
    // Prepare
    const sqs = new SQSClient(emulatorClientConfig);
    const events = new EventBridgeClient(emulatorClientConfig);
    const name = `acct-${uniqueSuffix()}`;
    const q = await sqs.send(new CreateQueueCommand({ QueueName: name }));
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    await events.send(new PutRuleCommand({ Name: name, EventPattern: JSON.stringify({ source: [name] }) }));
    await events.send(new PutTargetsCommand({ Rule: name, Targets: [{ Id: 'q', Arn: arn }] }));

    // Act
    await events.send(new PutEventsCommand({ Entries: [{ Source: name, DetailType: 'test', Detail: '{"a":1}' }] }));

    // Assess
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.QueueUrl, MaxNumberOfMessages: 1 }));
    const body = JSON.parse(out.Messages![0]!.Body!);
    expect(body.account).toMatch(/^\d{12}$/);
    expect(body).toMatchObject({ source: name, 'detail-type': 'test', detail: { a: 1 } });
  });

  it('applies concurrent UpdateItem calls on one item without losing any, as AWS does', async () => {
    // Prepare
    const ddb = new DynamoDBClient(emulatorClientConfig);
    const table = `atomic-${uniqueSuffix()}`;
    await ddb.send(new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }], AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }] }));
    await ddb.send(new PutItemCommand({ TableName: table, Item: { pk: { S: 'x' }, steps: { M: {} } } }));

    // Act: 40 writers, each its own key of one map attribute, with a large value to widen the race
    const big = 'v'.repeat(2000);
    await Promise.all(
      Array.from({ length: 40 }, (_, n) =>
        ddb.send(new UpdateItemCommand({ TableName: table, Key: { pk: { S: 'x' } }, UpdateExpression: 'SET steps.#n = :v', ExpressionAttributeNames: { '#n': `s${n}` }, ExpressionAttributeValues: { ':v': { M: { big: { S: big }, n: { N: String(n) } } } } })),
      ),
    );

    // Assess
    const item = await ddb.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'x' } }, ConsistentRead: true }));
    expect(Object.keys(item.Item!.steps!.M!)).toHaveLength(40);
  });

  it('creates one security group of a name per VPC when many create it at once, answering the others InvalidGroup.Duplicate, as AWS does', async () => {
    // Act: ten VPCs, twenty concurrent creates of one name in each (unpatched, one round in ten made two)
    const rounds = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.77.0.0/16' }));
        const results = await Promise.allSettled(
          Array.from({ length: 20 }, () => ec2.send(new CreateSecurityGroupCommand({ VpcId: Vpc!.VpcId!, GroupName: 'firebreak-isolation', Description: 'race' }))),
        );
        const refusals = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).name] : []));
        const groups = await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'vpc-id', Values: [Vpc!.VpcId!] }, { Name: 'group-name', Values: ['firebreak-isolation'] }] }));
        return { created: results.length - refusals.length, refusals: [...new Set(refusals)], groups: groups.SecurityGroups!.length };
      }),
    );

    // Assess
    for (const round of rounds) expect(round).toEqual({ created: 1, refusals: ['InvalidGroup.Duplicate'], groups: 1 });
  });
  it('refuses SendCommand for a document that does not exist or parameters its document does not admit, and names invocations after the steps, as AWS does', async () => {
    // Prepare
    const ssm = new SSMClient(emulatorClientConfig);
    const suffix = uniqueSuffix();
    const memory = `fb-${suffix}-memory-capture`;
    const volatile = `fb-${suffix}-volatile-data`;
    await ssm.send(new CreateDocumentCommand({ Name: memory, DocumentType: 'Command', DocumentFormat: 'JSON', Content: JSON.stringify(memoryCaptureDocument('true', 'evidence')) }));
    await ssm.send(new CreateDocumentCommand({ Name: volatile, DocumentType: 'Command', DocumentFormat: 'JSON', Content: JSON.stringify(VOLATILE_DATA_DOCUMENT) }));
    const instanceId = 'i-0123456789abcdef0';
    const uri = 's3://evidence/incidents/inc-0123456789abcdef/online/memory';
    const send = (DocumentName: string, Parameters?: Record<string, string[]>) => ssm.send(new SendCommandCommand({ DocumentName, InstanceIds: [instanceId], Parameters }));

    // Act + Assess: refused
    await expect(send(`fb-${suffix}-missing`)).rejects.toMatchObject({ name: 'InvalidDocument' });
    await expect(send(memory, { incidentId: ['inc-0123456789abcdef'], s3Uri: [`${uri}'; reboot; '`] })).rejects.toMatchObject({ name: 'InvalidParameters' });
    await expect(send(memory, { incidentId: ['inc-0123456789abcdef$(id)'], s3Uri: [uri] })).rejects.toMatchObject({ name: 'InvalidParameters' });
    await expect(send(memory, { incidentId: ['inc-0123456789abcdef'] })).rejects.toMatchObject({ name: 'InvalidParameters' });
    await expect(send(volatile, { commands: ['id'] })).rejects.toMatchObject({ name: 'InvalidParameters' });

    // Act + Assess: admitted, each step its own plugin
    const sent = await send(memory, { incidentId: ['inc-0123456789abcdef'], s3Uri: [uri] });
    const invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: instanceId, PluginName: 'captureMemory' }));
    expect(invocation).toMatchObject({ Status: 'Success', DocumentName: memory, PluginName: 'captureMemory' });
    const collected = await send(volatile);
    const windows = await ssm.send(new GetCommandInvocationCommand({ CommandId: collected.Command!.CommandId!, InstanceId: instanceId, PluginName: 'volatileDataWindows' }));
    expect(windows.PluginName).toBe('volatileDataWindows');
  });

  it('keeps PasswordResetRequired of a new login profile, as AWS does', async () => {
    // Prepare
    const iam = new IAMClient(emulatorClientConfig);
    const UserName = `reset-${uniqueSuffix()}`;
    await iam.send(new CreateUserCommand({ UserName }));

    // Act
    const created = await iam.send(new CreateLoginProfileCommand({ UserName, Password: 'A-new-Passw0rd!x', PasswordResetRequired: true }));

    // Assess
    expect(created.LoginProfile?.PasswordResetRequired).toBe(true);
    expect((await iam.send(new GetLoginProfileCommand({ UserName }))).LoginProfile?.PasswordResetRequired).toBe(true);
  });
});

/** Clients of another emulated account (moto's `x-moto-account-id` header), to build cross-account fixtures. */
function inAccount<C extends { middlewareStack: { add: (...args: any[]) => void } }>(client: C, accountId: string): C {
  client.middlewareStack.add(
    (next: any) => async (args: any) => {
      args.request.headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccount' },
  );
  return client;
}

/** What the SDK throws for a refused call: its error code and HTTP status. */
async function refusal(call: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error('the call was not refused');
}

describe('Emulator: trust boundaries (AssumeRole)', () => {
  const iam = new IAMClient(emulatorClientConfig);
  const sts = new STSClient(emulatorClientConfig);
  let accountId: string;
  let defaultCallerArn: string;

  const createRole = async (trustPolicy: unknown, client: IAMClient = iam) => {
    const { Role } = await client.send(new CreateRoleCommand({ RoleName: `trust-${uniqueSuffix()}`, Path: '/firebreak-test/', AssumeRolePolicyDocument: JSON.stringify(trustPolicy) }));
    return Role!;
  };
  const trusting = (principal: unknown, condition?: unknown) => ({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: principal, Action: 'sts:AssumeRole', ...(condition ? { Condition: condition } : {}) }],
  });
  /** An IAM user of the emulator's default account with its own access key, and an STS client signed by it. */
  const userWithKey = async (name: string) => {
    const { User } = await iam.send(new CreateUserCommand({ UserName: `${name}-${uniqueSuffix()}` }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: User!.UserName! }));
    const credentials = { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! };
    return { user: User!, credentials, sts: new STSClient({ ...emulatorClientConfig, credentials }) };
  };

  beforeAll(async () => {
    const me = await sts.send(new GetCallerIdentityCommand({}));
    accountId = me.Account!;
    defaultCallerArn = me.Arn!;
  });

  it('refuses to assume a role that does not exist, as AWS does', async () => {
    // Act
    const roleArn = `arn:aws:iam::${accountId}:role/does-not-exist-${uniqueSuffix()}`;
    const error = await refusal(sts.send(new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'probe' })));

    // Assess
    expect(error).toEqual({ name: 'AccessDenied', status: 403, message: `User: ${defaultCallerArn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}` });
  });

  it('refuses a caller the trust policy does not name, and admits one it names through its account', async () => {
    // Prepare
    const other = await createRole(trusting({ AWS: `arn:aws:iam::${accountId}:role/someone-else` }));
    const mine = await createRole(trusting({ AWS: `arn:aws:iam::${accountId}:root` }));
    const service = await createRole(trusting({ Service: 'lambda.amazonaws.com' }));

    // Act
    const refused = await refusal(sts.send(new AssumeRoleCommand({ RoleArn: other.Arn!, RoleSessionName: 'probe' })));
    const refusedService = await refusal(sts.send(new AssumeRoleCommand({ RoleArn: service.Arn!, RoleSessionName: 'probe' })));
    const admitted = await sts.send(new AssumeRoleCommand({ RoleArn: mine.Arn!, RoleSessionName: 'probe' }));

    // Assess
    expect(refused).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(refusedService).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(admitted.AssumedRoleUser!.AssumedRoleId).toBe(`${mine.RoleId}:probe`);
    const session = new STSClient({ ...emulatorClientConfig, credentials: { accessKeyId: admitted.Credentials!.AccessKeyId!, secretAccessKey: admitted.Credentials!.SecretAccessKey!, sessionToken: admitted.Credentials!.SessionToken! } });
    expect((await session.send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/${mine.RoleName}/probe`);
  });

  it('requires the ExternalId the trust policy asks for', async () => {
    // Prepare
    const role = await createRole(trusting({ AWS: accountId }, { StringEquals: { 'sts:ExternalId': 'firebreak-42' } }));

    // Act
    const missing = await refusal(sts.send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: 'probe' })));
    const wrong = await refusal(sts.send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: 'probe', ExternalId: 'firebreak-41' })));
    const right = await sts.send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: 'probe', ExternalId: 'firebreak-42' }));

    // Assess
    expect(missing).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(wrong).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(right.Credentials!.AccessKeyId).toMatch(/^ASIA/);
  });

  it('admits by aws:PrincipalArn (ArnLike) only the principals the condition names, and honours a role ARN as Principal', async () => {
    // Prepare
    const allowed = await userWithKey('responder');
    const stranger = await userWithKey('stranger');
    const byCondition = await createRole(trusting({ AWS: '*' }, { ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${accountId}:user/responder-*` } }));
    const hop = await createRole(trusting({ AWS: `arn:aws:iam::${accountId}:root` }));
    const byRole = await createRole(trusting({ AWS: hop.Arn! }));

    // Act
    const admitted = await allowed.sts.send(new AssumeRoleCommand({ RoleArn: byCondition.Arn!, RoleSessionName: 'probe' }));
    const refused = await refusal(stranger.sts.send(new AssumeRoleCommand({ RoleArn: byCondition.Arn!, RoleSessionName: 'probe' })));
    const hopSession = await sts.send(new AssumeRoleCommand({ RoleArn: hop.Arn!, RoleSessionName: 'hop' }));
    const chained = await new STSClient({ ...emulatorClientConfig, credentials: { accessKeyId: hopSession.Credentials!.AccessKeyId!, secretAccessKey: hopSession.Credentials!.SecretAccessKey!, sessionToken: hopSession.Credentials!.SessionToken! } }).send(
      new AssumeRoleCommand({ RoleArn: byRole.Arn!, RoleSessionName: 'chained' }),
    );
    const notTheRole = await refusal(sts.send(new AssumeRoleCommand({ RoleArn: byRole.Arn!, RoleSessionName: 'probe' })));

    // Assess
    expect(admitted.AssumedRoleUser!.AssumedRoleId).toBe(`${byCondition.RoleId}:probe`);
    expect(refused).toEqual({ name: 'AccessDenied', status: 403, message: `User: ${stranger.user.Arn} is not authorized to perform: sts:AssumeRole on resource: ${byCondition.Arn}` });
    expect(chained.AssumedRoleUser!.AssumedRoleId).toBe(`${byRole.RoleId}:chained`);
    expect(notTheRole).toMatchObject({ name: 'AccessDenied', status: 403 });
  });

  it('assumes a role of another account that trusts this one, and the credentials act in that account', async () => {
    // Prepare
    const memberAccount = '111122223333';
    const memberIam = inAccount(new IAMClient(emulatorClientConfig), memberAccount);
    const role = await createRole(trusting({ AWS: `arn:aws:iam::${accountId}:root` }), memberIam);
    const closed = await createRole(trusting({ AWS: 'arn:aws:iam::444455556666:root' }), memberIam);

    // Act
    const session = await sts.send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: 'member' }));
    const refused = await refusal(sts.send(new AssumeRoleCommand({ RoleArn: closed.Arn!, RoleSessionName: 'member' })));

    // Assess
    const asMember = new STSClient({ ...emulatorClientConfig, credentials: { accessKeyId: session.Credentials!.AccessKeyId!, secretAccessKey: session.Credentials!.SecretAccessKey!, sessionToken: session.Credentials!.SessionToken! } });
    expect((await asMember.send(new GetCallerIdentityCommand({}))).Account).toBe(memberAccount);
    expect(refused).toMatchObject({ name: 'AccessDenied', status: 403 });
  });
});

describe('Emulator: trust boundaries (queue and bus policies, service credentials)', () => {
  const iam = new IAMClient(emulatorClientConfig);
  const sqs = new SQSClient(emulatorClientConfig);
  const events = new EventBridgeClient(emulatorClientConfig);
  let accountId: string;
  let defaultCallerArn: string;

  const lambdaRole = async () => {
    const { Role } = await iam.send(
      new CreateRoleCommand({
        RoleName: `fn-${uniqueSuffix()}`,
        Path: '/service-role/',
        AssumeRolePolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] }),
      }),
    );
    return Role!;
  };
  /** Credentials of a role as Lambda gets them, from the emulator's service-credentials endpoint. */
  const asService = async (roleArn: string, sessionName: string, service = 'lambda.amazonaws.com') =>
    fetch(`${emulatorEndpoint}/firebreak/service-credentials`, { method: 'POST', body: JSON.stringify({ roleArn, service, sessionName }) });
  type Session = { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; AssumedRoleId: string };
  const mint = async (roleArn: string, sessionName: string): Promise<Session> => (await asService(roleArn, sessionName)).json() as Promise<Session>;
  const credentialsOf = (c: Session) => ({ accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken });
  const userWithKey = async (name: string) => {
    const { User } = await iam.send(new CreateUserCommand({ UserName: `${name}-${uniqueSuffix()}` }));
    const { AccessKey } = await iam.send(new CreateAccessKeyCommand({ UserName: User!.UserName! }));
    return { user: User!, credentials: { accessKeyId: AccessKey!.AccessKeyId!, secretAccessKey: AccessKey!.SecretAccessKey! } };
  };
  const queueWithPolicy = async (policy: (queueArn: string) => unknown) => {
    const name = `policy-${uniqueSuffix()}`;
    const arn = `arn:aws:sqs:us-east-1:${accountId}:${name}`;
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: { Policy: JSON.stringify(policy(arn)) } }));
    return { url: QueueUrl!, arn };
  };
  const senderIds = async (url: string) => {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageSystemAttributeNames: ['SenderId'] }));
    return (out.Messages ?? []).map((m) => m.Attributes!.SenderId);
  };

  beforeAll(async () => {
    const me = await new STSClient(emulatorClientConfig).send(new GetCallerIdentityCommand({}));
    accountId = me.Account!;
    defaultCallerArn = me.Arn!;
  });

  it('mints a role\'s credentials for a service its trust policy trusts, and for no other', async () => {
    // Prepare
    const role = await lambdaRole();

    // Act
    const minted = await asService(role.Arn!, 'fb-function');
    const otherService = await asService(role.Arn!, 'fb-function', 'ec2.amazonaws.com');
    const missing = await asService(`arn:aws:iam::${accountId}:role/nobody-${uniqueSuffix()}`, 'fb-function');

    // Assess
    expect(minted.status).toBe(200);
    const session = (await minted.json()) as Session;
    expect(session.AssumedRoleId).toBe(`${role.RoleId}:fb-function`);
    const asRole = new STSClient({ ...emulatorClientConfig, credentials: credentialsOf(session) });
    expect((await asRole.send(new GetCallerIdentityCommand({}))).Arn).toBe(`arn:aws:sts::${accountId}:assumed-role/${role.RoleName}/fb-function`);
    expect(otherService.status).toBe(403);
    expect(missing.status).toBe(403);
  });

  it('records the sender\'s unique id as SenderId: a role session AROA…:<session>, a user AIDA…', async () => {
    // Prepare
    const role = await lambdaRole();
    const session = await mint(role.Arn!, 'fb-sender');
    const user = await userWithKey('sender');
    const { url } = await queueWithPolicy((arn) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: accountId }, Action: 'sqs:SendMessage', Resource: arn }] }));

    // Act
    await new SQSClient({ ...emulatorClientConfig, credentials: credentialsOf(session) }).send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'from the role' }));
    await new SQSClient({ ...emulatorClientConfig, credentials: user.credentials }).send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'from the user' }] }));

    // Assess
    expect((await senderIds(url)).sort()).toEqual([`${role.RoleId}:fb-sender`, user.user.UserId].sort());
  });

  it('refuses SendMessage and SendMessageBatch that the queue policy explicitly denies, and lets the named role through', async () => {
    // Prepare: Firebreak's queue policy, for a rule and a function role
    const role = await lambdaRole();
    const ruleArn = `arn:aws:events:us-east-1:${accountId}:rule/fb-${uniqueSuffix()}`;
    const { url, arn } = await queueWithPolicy((queueArn) => ({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Rule', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sqs:SendMessage', Resource: queueArn, Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } } },
        { Sid: 'DenyOthers', Effect: 'Deny', Principal: '*', Action: 'sqs:SendMessage', Resource: queueArn, Condition: { ArnNotEquals: { 'aws:SourceArn': ruleArn, 'aws:PrincipalArn': role.Arn! } } },
      ],
    }));
    const forger = await userWithKey('forger');
    const session = await mint(role.Arn!, 'fb-function');
    const asForger = new SQSClient({ ...emulatorClientConfig, credentials: forger.credentials });

    // Act
    const single = await refusal(asForger.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'forged' })));
    const batch = await refusal(asForger.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: [{ Id: 'a', MessageBody: 'forged' }] })));
    const byDefault = await refusal(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'forged' })));
    await new SQSClient({ ...emulatorClientConfig, credentials: credentialsOf(session) }).send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'follow-up' }));

    // Assess
    expect(single).toEqual({ name: 'AccessDenied', status: 403, message: `User: ${forger.user.Arn} is not authorized to perform: sqs:sendmessage on resource: ${arn} with an explicit deny in a resource-based policy` });
    expect(batch).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(byDefault).toEqual({ name: 'AccessDenied', status: 403, message: `User: ${defaultCallerArn} is not authorized to perform: sqs:sendmessage on resource: ${arn} with an explicit deny in a resource-based policy` });
    expect(await senderIds(url)).toEqual([`${role.RoleId}:fb-function`]);
  });

  it('evaluates StringNotLike, ArnLike, IfExists and Bool conditions with AWS\'s rule for a missing key', async () => {
    // Prepare
    const user = await userWithKey('cond');
    const asUser = new SQSClient({ ...emulatorClientConfig, credentials: user.credentials });
    const deny = (condition: unknown) => (queueArn: string) => ({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sqs:*', Resource: queueArn, Condition: condition }] });
    const send = async (condition: unknown) => {
      const { url } = await queueWithPolicy(deny(condition));
      return asUser.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' })).then(() => 'sent', (e: Error) => e.name);
    };

    // Act / Assess: a negated operator holds for a missing key; a positive one does not, unless IfExists
    expect(await send({ StringNotLike: { 'aws:SourceAccount': 'x*' } })).toBe('AccessDenied');
    expect(await send({ StringLike: { 'aws:SourceAccount': '*' } })).toBe('sent');
    expect(await send({ StringLikeIfExists: { 'aws:SourceAccount': 'nothing' } })).toBe('AccessDenied');
    expect(await send({ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${accountId}:user/cond-*` } })).toBe('AccessDenied');
    expect(await send({ ArnLike: { 'aws:PrincipalArn': `arn:aws:iam::${accountId}:role/*` } })).toBe('sent');
    expect(await send({ StringEquals: { 'aws:PrincipalAccount': accountId } })).toBe('AccessDenied');
    expect(await send({ StringNotEquals: { 'aws:PrincipalAccount': accountId } })).toBe('sent');
    expect(await send({ Bool: { 'aws:SecureTransport': 'false' } })).toBe('sent');
  });

  it('fails a PutEvents entry whose bus policy explicitly denies the caller, and puts the others', async () => {
    // Prepare: Firebreak's responders' bus policy, naming one responder
    const busName = `responders-${uniqueSuffix()}`;
    const { EventBusArn } = await events.send(new CreateEventBusCommand({ Name: busName }));
    const responder = await userWithKey('responder');
    const stranger = await userWithKey('stranger');
    await events.send(
      new PutPermissionCommand({
        EventBusName: busName,
        Policy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Sid: 'OnlyResponders', Effect: 'Deny', Principal: '*', Action: 'events:PutEvents', Resource: EventBusArn, Condition: { ArnNotLike: { 'aws:PrincipalArn': [responder.user.Arn!] } } }],
        }),
      }),
    );
    const q = await sqs.send(new CreateQueueCommand({ QueueName: busName }));
    const queueArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
    await events.send(new PutRuleCommand({ Name: busName, EventBusName: busName, EventPattern: JSON.stringify({ source: ['firebreak.test'] }) }));
    await events.send(new PutTargetsCommand({ Rule: busName, EventBusName: busName, Targets: [{ Id: 'q', Arn: queueArn }] }));
    const entry = (detail: string) => ({ Source: 'firebreak.test', DetailType: 'test', Detail: JSON.stringify({ detail }), EventBusName: busName });

    // Act
    const refused = await new EventBridgeClient({ ...emulatorClientConfig, credentials: stranger.credentials }).send(
      new PutEventsCommand({ Entries: [entry('stranger'), { ...entry('default bus'), EventBusName: undefined }] }),
    );
    const admitted = await new EventBridgeClient({ ...emulatorClientConfig, credentials: responder.credentials }).send(new PutEventsCommand({ Entries: [entry('responder')] }));

    // Assess
    expect(refused.FailedEntryCount).toBe(1);
    expect(refused.Entries![0]).toEqual({
      ErrorCode: 'AccessDeniedException',
      ErrorMessage: `User: ${stranger.user.Arn} is not authorized to perform: events:PutEvents on resource: ${EventBusArn} with an explicit deny in a resource-based policy`,
    });
    expect(refused.Entries![1]!.EventId).toBeDefined();
    expect(admitted.FailedEntryCount).toBe(0);
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10 }));
    expect((out.Messages ?? []).map((m) => JSON.parse(m.Body!).detail.detail)).toEqual(['responder']);
  });
  it('deletes the key pair a DeleteKeyPair names by KeyPairId alone, and answers an unknown id without error, as AWS does', async () => {
    // Prepare
    const ec2 = new EC2Client(emulatorClientConfig);
    const KeyName = `fb-kp-${uniqueSuffix()}`;
    const { KeyPairId } = await ec2.send(new CreateKeyPairCommand({ KeyName }));
    const names = async () => ((await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []).map((k) => k.KeyName);

    // Act
    await ec2.send(new DeleteKeyPairCommand({ KeyPairId }));
    const again = ec2.send(new DeleteKeyPairCommand({ KeyPairId }));

    // Assess
    expect(await names()).not.toContain(KeyName);
    await expect(again).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  });
});

describe('Emulator: APIs moto lacks answer as an endpoint without them (missing_apis_answer_not_implemented)', () => {
  it('answers SimulatePrincipalPolicy, LookupEvents and SSM DescribeInstanceInformation with HTTP 501 NotImplemented in the service\'s error shape, which the SDK parses and Firebreak records as unsupported', async () => {
    // Act
    const simulate = await new IAMClient({ ...emulatorClientConfig, maxAttempts: 1 })
      .send(new SimulatePrincipalPolicyCommand({ PolicySourceArn: 'arn:aws:iam::123456789012:role/etl', ActionNames: ['s3:GetObject'] }))
      .catch((e: unknown) => e);
    const lookup = await new CloudTrailClient({ ...emulatorClientConfig, maxAttempts: 1 }).send(new LookupEventsCommand({})).catch((e: unknown) => e);
    const agents = await new SSMClient({ ...emulatorClientConfig, maxAttempts: 1 })
      .send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: ['i-0123456789abcdef0'] }] }))
      .catch((e: unknown) => e);

    // Assess: a parsed service error (not an HTML page read as a retryable 500)
    for (const error of [simulate, lookup, agents]) {
      expect(error).toMatchObject({ name: 'NotImplemented', $metadata: { httpStatusCode: 501 } });
      expect(classifyError(error)).toMatchObject({ code: 'NotImplemented', retryable: false, unsupported: true });
    }
  });
});

describe('Emulator: ECS tasks with their own network interface (awsvpc)', () => {
  const ec2 = new EC2Client(emulatorClientConfig);
  const ecs = new ECSClient(emulatorClientConfig);

  /** A Fargate-style task in a fresh VPC: RunTask with awsvpc networking in one subnet and security group. */
  async function anAwsvpcTask(group?: string) {
    const suffix = uniqueSuffix();
    const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.42.0.0/16' }));
    const { Subnet } = await ec2.send(new CreateSubnetCommand({ VpcId: Vpc!.VpcId!, CidrBlock: '10.42.3.0/24' }));
    const { GroupId } = await ec2.send(new CreateSecurityGroupCommand({ VpcId: Vpc!.VpcId!, GroupName: `task-${suffix}`, Description: 'task' }));
    const cluster = `cluster-${suffix}`;
    await ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    const { taskDefinition } = await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: `app-${suffix}`,
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: '256',
        memory: '512',
        containerDefinitions: [{ name: 'app', image: 'public.ecr.aws/nginx/nginx:1.27', essential: true, cpu: 256, memory: 512 }],
      }),
    );
    const { tasks } = await ecs.send(
      new RunTaskCommand({
        cluster,
        taskDefinition: taskDefinition!.taskDefinitionArn!,
        launchType: 'FARGATE',
        ...(group ? { group } : {}),
        networkConfiguration: { awsvpcConfiguration: { subnets: [Subnet!.SubnetId!], securityGroups: [GroupId!] } },
      }),
    );
    return { cluster, task: tasks![0]!, subnetId: Subnet!.SubnetId!, groupId: GroupId! };
  }

  const detail = (task: { attachments?: Array<{ details?: Array<{ name?: string; value?: string }> }> }, name: string) =>
    task.attachments?.[0]?.details?.find((d) => d.name === name)?.value;

  it('RunTask with awsvpc creates the task a requester-managed ENI in its subnet, with its groups, named by the task\'s attachment (ecs_awsvpc_tasks_get_a_requester_managed_interface)', async () => {
    // Act
    const { task, subnetId, groupId } = await anAwsvpcTask();

    // Assess
    const attachment = task.attachments?.[0];
    expect(attachment).toMatchObject({ type: 'ElasticNetworkInterface', status: 'ATTACHED' });
    const eniId = detail(task, 'networkInterfaceId')!;
    const { NetworkInterfaces } = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }));
    const eni = NetworkInterfaces![0]!;
    expect(eni).toMatchObject({
      SubnetId: subnetId,
      RequesterManaged: true,
      InterfaceType: 'interface',
      Status: 'in-use',
      Description: `arn:aws:ecs:us-east-1:${task.taskArn!.split(':')[4]}:attachment/${attachment!.id}`,
      Groups: [expect.objectContaining({ GroupId: groupId })],
    });
    expect(eni.PrivateIpAddress).toMatch(/^10\.42\.3\.\d+$/);
    expect(detail(task, 'privateIPv4Address')).toBe(eni.PrivateIpAddress);
    expect(detail(task, 'subnetId')).toBe(subnetId);
    expect(detail(task, 'privateDnsName')).toBe(`ip-${eni.PrivateIpAddress!.replaceAll('.', '-')}.ec2.internal`);
  });

  it('refuses to change the security groups of a requester-managed ENI, even for an administrator, as AWS does (requester_managed_interfaces_refuse_group_changes)', async () => {
    // Prepare
    const { task, groupId } = await anAwsvpcTask();
    const eniId = detail(task, 'networkInterfaceId')!;
    const { GroupId: other } = await ec2.send(new CreateSecurityGroupCommand({ VpcId: (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }))).NetworkInterfaces![0]!.VpcId!, GroupName: `iso-${uniqueSuffix()}`, Description: 'iso' }));

    // Act
    const refused = await refusal(ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Groups: [other!] })));

    // Assess
    expect(refused).toMatchObject({ name: 'AuthFailure', message: 'You do not have permission to access the specified resource.' });
    const { NetworkInterfaces } = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }));
    expect(NetworkInterfaces![0]!.Groups!.map((g) => g.GroupId)).toEqual([groupId]);
  });

  it('protects a service task from scale-in for at most 2880 minutes, refuses a standalone task (TASK_NOT_VALID), and reads it back (ecs_task_protection_is_supported)', async () => {
    // Prepare
    const service = await anAwsvpcTask('service:payments-api');
    const standalone = await anAwsvpcTask();
    const before = Date.now();

    // Act
    const protectedOut = await ecs.send(new UpdateTaskProtectionCommand({ cluster: service.cluster, tasks: [service.task.taskArn!], protectionEnabled: true, expiresInMinutes: 2880 }));
    const refusedOut = await ecs.send(new UpdateTaskProtectionCommand({ cluster: standalone.cluster, tasks: [standalone.task.taskArn!], protectionEnabled: true, expiresInMinutes: 60 }));
    const tooLong = await refusal(ecs.send(new UpdateTaskProtectionCommand({ cluster: service.cluster, tasks: [service.task.taskArn!], protectionEnabled: true, expiresInMinutes: 2881 })));

    // Assess
    const expiry = protectedOut.protectedTasks![0]!.expirationDate!.getTime();
    expect(protectedOut.protectedTasks![0]).toMatchObject({ taskArn: service.task.taskArn, protectionEnabled: true });
    expect(expiry).toBeGreaterThanOrEqual(before + 2880 * 60_000 - 5_000);
    expect(expiry).toBeLessThanOrEqual(Date.now() + 2880 * 60_000 + 5_000);
    expect(refusedOut).toMatchObject({ protectedTasks: [], failures: [{ arn: standalone.task.taskArn, reason: 'TASK_NOT_VALID' }] });
    expect(tooLong.name).toBe('InvalidParameterException');
    expect((await ecs.send(new GetTaskProtectionCommand({ cluster: service.cluster, tasks: [service.task.taskArn!] }))).protectedTasks![0]).toMatchObject({ protectionEnabled: true });

    // Act: clear it, as release does
    await ecs.send(new UpdateTaskProtectionCommand({ cluster: service.cluster, tasks: [service.task.taskArn!], protectionEnabled: false }));

    // Assess
    expect((await ecs.send(new GetTaskProtectionCommand({ cluster: service.cluster, tasks: [service.task.taskArn!] }))).protectedTasks![0]).toEqual({ taskArn: service.task.taskArn, protectionEnabled: false });
  });
});

describe('Emulator: RDS as AWS answers it (Aurora clusters and their members)', () => {
  const rds = new RDSClient(emulatorClientConfig);
  const ec2 = new EC2Client(emulatorClientConfig);

  /** An Aurora PostgreSQL cluster in its own VPC and subnet group, with one member. */
  async function auroraWithMember() {
    const suffix = uniqueSuffix();
    const vpcId = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc!.VpcId!;
    const subnets = await Promise.all(
      ['us-east-1a', 'us-east-1b'].map(async (AvailabilityZone, n) => (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.40.${n}.0/24`, AvailabilityZone }))).Subnet!.SubnetId!),
    );
    const groupId = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `db-${suffix}`, Description: 'db' }))).GroupId!;
    const otherGroupId = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: `other-${suffix}`, Description: 'other' }))).GroupId!;
    await rds.send(new CreateDBSubnetGroupCommand({ DBSubnetGroupName: `db-${suffix}`, DBSubnetGroupDescription: 'db', SubnetIds: subnets }));
    const cluster = `cluster-${suffix}`;
    const member = `member-${suffix}`;
    await rds.send(new CreateDBClusterCommand({ DBClusterIdentifier: cluster, Engine: 'aurora-postgresql', MasterUsername: 'postgres', MasterUserPassword: 'password123', VpcSecurityGroupIds: [groupId], DBSubnetGroupName: `db-${suffix}` }));
    await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: member, DBClusterIdentifier: cluster, Engine: 'aurora-postgresql', DBInstanceClass: 'db.r6g.large' }));
    return { vpcId, groupId, otherGroupId, cluster, member };
  }

  it('refuses ModifyDBInstance VpcSecurityGroupIds on an Aurora member with InvalidParameterCombination, as AWS does', async () => {
    // Prepare
    const { member, otherGroupId, groupId } = await auroraWithMember();

    // Act
    const refused = await refusal(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: member, VpcSecurityGroupIds: [otherGroupId], ApplyImmediately: true })));

    // Assess
    expect(refused).toEqual({ name: 'InvalidParameterCombination', status: 400, message: 'The specified DB Instance is a member of a cluster. Modify vpc security group for the DB Cluster using the ModifyDbCluster API' });
    const after = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: member }))).DBInstances![0]!;
    expect(after.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)).toEqual([groupId]);
  });

  it("changes a member's groups through ModifyDBCluster, and reports the cluster's subnet group (its VPC) on the member, as AWS does", async () => {
    // Prepare
    const { cluster, member, otherGroupId, vpcId } = await auroraWithMember();

    // Act
    await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: cluster, VpcSecurityGroupIds: [otherGroupId], ApplyImmediately: true }));

    // Assess
    const after = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: member }))).DBInstances![0]!;
    expect(after.VpcSecurityGroups?.map((g) => g.VpcSecurityGroupId)).toEqual([otherGroupId]);
    expect(after.DBSubnetGroup?.VpcId).toBe(vpcId);
  });

  it('reports IAM database authentication enabled after ModifyDBCluster EnableIAMDatabaseAuthentication, as AWS does', async () => {
    // Prepare
    const { cluster } = await auroraWithMember();

    // Act
    await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: cluster, EnableIAMDatabaseAuthentication: true, ApplyImmediately: true }));

    // Assess
    expect((await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: cluster }))).DBClusters![0]!.IAMDatabaseAuthenticationEnabled).toBe(true);
  });

  it('answers DownloadDBLogFilePortion 501 NotImplemented (an endpoint without the API), not a retryable 500', async () => {
    // Prepare
    const { member } = await auroraWithMember();

    // Act
    const refused = await refusal(rds.send(new DownloadDBLogFilePortionCommand({ DBInstanceIdentifier: member, LogFileName: 'error/postgresql.log', Marker: '0' })));

    // Assess
    expect(refused).toMatchObject({ name: 'NotImplemented', status: 501 });
  });
});
