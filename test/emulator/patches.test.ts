import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
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
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceIamInstanceProfileAssociationCommand,
  RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CreateInstanceProfileCommand, IAMClient } from '@aws-sdk/client-iam';
import { createHash } from 'node:crypto';
import { CreateBucketCommand, PutObjectCommand, PutObjectLockConfigurationCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateDocumentCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
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
        'instance_shutdown_behaviour_can_be_modified',
        'instance_reports_its_current_instance_profile',
        'run_instances_honours_the_client_token',
        'create_volume_honours_the_client_token',
        'attach_volume_checks_state_zone_and_device',
        'object_lock_accepts_any_checksum_header',
        'send_command_checks_the_document_and_its_parameters',
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
});
