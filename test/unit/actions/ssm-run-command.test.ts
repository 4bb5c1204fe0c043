import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, ListCommandsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeCaptureOutput, onlineAgent, pollCommand, sendCommand } from '../../../shared/actions/ssm-run-command.ts';
import { StepFailedError } from '../../../shared/errors/index.ts';
import { awsError, INSTANCE_ID, someClients } from '../helpers/factories.ts';

const ssmMock = mockClient(SSMClient);
afterEach(() => {
  ssmMock.reset();
  vi.useRealTimers();
});

const ssm = () => someClients().ssm;
const COMMAND_ID = '2d2b7c8e-0d6a-4a53-9f3e-5c1b0a9e8d7f';
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** What a capture script prints: the collection gzipped and base64-encoded, between markers. */
const encodedStdout = (text: string) => `FIREBREAK-BEGIN gzip+base64\n${gzipSync(Buffer.from(text)).toString('base64').replace(/(.{76})/g, '$1\n')}\nFIREBREAK-END\n`;

describe('Function: onlineAgent', () => {
  it("gives the platform of a node whose agent is online (Linux when SSM does not say)", async () => {
    // Prepare
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: INSTANCE_ID, PingStatus: 'Online', PlatformType: 'Windows' }] })
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: INSTANCE_ID, PingStatus: 'Online' }] });

    // Act
    const windows = await onlineAgent(ssm(), INSTANCE_ID);
    const unsaid = await onlineAgent(ssm(), INSTANCE_ID);

    // Assess
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)[0]!.args[0].input).toEqual({ Filters: [{ Key: 'InstanceIds', Values: [INSTANCE_ID] }] });
    expect(windows).toEqual({ platform: 'Windows' });
    expect(unsaid).toEqual({ platform: 'Linux' });
  });

  it('says why a command cannot be sent: no agent registered, or not online (and when it was last seen)', async () => {
    // Prepare
    ssmMock
      .on(DescribeInstanceInformationCommand)
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: 'i-0ffffffffffffffff', PingStatus: 'Online' }] })
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: INSTANCE_ID, PingStatus: 'Inactive' }] })
      .resolvesOnce({ InstanceInformationList: [{ InstanceId: INSTANCE_ID }] });

    // Act
    const answers = [await onlineAgent(ssm(), INSTANCE_ID), await onlineAgent(ssm(), INSTANCE_ID), await onlineAgent(ssm(), INSTANCE_ID)];

    // Assess
    expect(answers).toEqual([
      { why: `${INSTANCE_ID} is not managed by SSM (no agent registered, or its instance profile lacks the SSM permissions)` },
      { why: `the SSM agent on ${INSTANCE_ID} is Inactive` },
      { why: `the SSM agent on ${INSTANCE_ID} is in an unknown state` },
    ]);
  });
});

describe('Function: sendCommand', () => {
  it('sends the command to the one node with a comment cut to 100 characters, and returns its id', async () => {
    // Prepare
    ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: COMMAND_ID } });

    // Act
    const commandId = await sendCommand(ssm(), {
      step: 'captureVolatileData',
      instanceId: INSTANCE_ID,
      command: { DocumentName: 'firebreak-memory-capture', Parameters: { incidentId: ['inc-0123456789abcdef'] } },
      comment: `Firebreak ${'x'.repeat(200)}`,
      deliveryTimeoutSeconds: 3600,
    });

    // Assess
    expect(commandId).toBe(COMMAND_ID);
    expect(ssmMock.commandCalls(SendCommandCommand)[0]!.args[0].input).toEqual({
      DocumentName: 'firebreak-memory-capture',
      Parameters: { incidentId: ['inc-0123456789abcdef'] },
      InstanceIds: [INSTANCE_ID],
      Comment: `Firebreak ${'x'.repeat(90)}`,
      TimeoutSeconds: 3600,
    });
  });

  it('does not send again what an attempt whose answer was lost already sent (same document, same comment)', async () => {
    // Prepare
    const comment = 'Firebreak inc-0123456789abcdef: memory';
    ssmMock.on(ListCommandsCommand).resolves({
      Commands: [
        { CommandId: 'other-capture', DocumentName: 'firebreak-memory-capture', Comment: 'Firebreak inc-ffff: memory' },
        { CommandId: COMMAND_ID, DocumentName: 'firebreak-memory-capture', Comment: comment },
      ],
    });

    // Act
    const commandId = await sendCommand(ssm(), { step: 'captureMemory', instanceId: INSTANCE_ID, command: { DocumentName: 'firebreak-memory-capture' }, comment, deliveryTimeoutSeconds: 600 });

    // Assess
    expect(commandId).toBe(COMMAND_ID);
    expect(ssmMock.commandCalls(ListCommandsCommand)[0]!.args[0].input).toEqual({ InstanceId: INSTANCE_ID, Filters: [{ key: 'DocumentName', value: 'firebreak-memory-capture' }], MaxResults: 50 });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('fails the step for a retry when SSM returns no command id', async () => {
    // Prepare
    ssmMock.on(SendCommandCommand).resolves({});

    // Act
    const run = sendCommand(ssm(), { step: 'captureMemory', instanceId: INSTANCE_ID, command: { DocumentName: 'firebreak-memory-capture' }, comment: 'c', deliveryTimeoutSeconds: 60 });

    // Assess
    await expect(run).rejects.toBeInstanceOf(StepFailedError);
    await expect(run).rejects.toMatchObject({ step: 'captureMemory', code: 'NoCommandId', retryable: true });
  });

  it.each(['AWS-RunShellScript', 'AWS-RunPowerShellScript', 'aws-runshellscript', 'AWSSupport-RunEC2RescueForLinux', 'AmazonCloudWatch-ManageAgent', ''])(
    'refuses %j, a document AWS owns (or none), before anything is sent: Firebreak runs only its own documents',
    async (DocumentName) => {
      // Act
      const run = sendCommand(ssm(), { step: 'captureVolatileData', instanceId: INSTANCE_ID, command: { DocumentName, Parameters: { commands: ['id'] } }, comment: 'c', deliveryTimeoutSeconds: 60 });

      // Assess
      await expect(run).rejects.toMatchObject({ step: 'captureVolatileData', code: 'NotAFirebreakDocument', retryable: false });
      expect(ssmMock.calls()).toHaveLength(0);
    },
  );

});

describe('Function: pollCommand', () => {
  const poll = (waitSeconds = 0) => pollCommand(ssm(), { commandId: COMMAND_ID, instanceId: INSTANCE_ID, waitSeconds });

  it('reads the named step of a document with several steps', async () => {
    // Prepare
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: 'ok' });

    // Act
    const polled = await pollCommand(ssm(), { commandId: COMMAND_ID, instanceId: INSTANCE_ID, pluginName: 'volatileDataWindows', waitSeconds: 0 });

    // Assess
    expect(polled.state).toBe('succeeded');
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input).toEqual({ CommandId: COMMAND_ID, InstanceId: INSTANCE_ID, PluginName: 'volatileDataWindows' });
  });

  it('returns the invocation of a command that succeeded', async () => {
    // Prepare
    ssmMock.on(GetCommandInvocationCommand).resolves({ Status: 'Success', StandardOutputContent: 'ok' });

    // Act
    const polled = await poll();

    // Assess
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input).toEqual({ CommandId: COMMAND_ID, InstanceId: INSTANCE_ID });
    expect(polled).toEqual({ state: 'succeeded', invocation: { Status: 'Success', StandardOutputContent: 'ok' } });
  });

  it('polls about once a second through InvocationDoesNotExist and in-progress answers, within the wait', async () => {
    // Prepare
    vi.useFakeTimers();
    ssmMock
      .on(GetCommandInvocationCommand)
      .rejectsOnce(awsError('InvocationDoesNotExist'))
      .resolvesOnce({ Status: 'Delayed' })
      .resolves({ Status: 'Success' });

    // Act
    const polling = poll(5);
    await vi.advanceTimersByTimeAsync(1999);
    const pollsBeforeTwoSeconds = ssmMock.commandCalls(GetCommandInvocationCommand).length;
    await vi.advanceTimersByTimeAsync(1);
    const polled = await polling;

    // Assess
    expect(pollsBeforeTwoSeconds).toBe(2);
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)).toHaveLength(3);
    expect(polled.state).toBe('succeeded');
  });

  it('says the command is still running, or not yet visible, when the wait is over', async () => {
    // Prepare
    ssmMock.on(GetCommandInvocationCommand).resolvesOnce({ Status: 'InProgress' }).rejectsOnce(awsError('InvocationDoesNotExist'));

    // Act
    const running = await poll();
    const invisible = await poll();

    // Assess
    expect(running).toEqual({ state: 'running', status: 'InProgress' });
    expect(invisible).toEqual({ state: 'running', status: 'not yet visible' });
  });

  it('says how a command ended otherwise: status, details, exit code and the start of stderr', async () => {
    // Prepare
    ssmMock
      .on(GetCommandInvocationCommand)
      .resolvesOnce({ Status: 'Failed', StatusDetails: 'Failed', ResponseCode: 127, StandardErrorContent: `sh: gzip: Permission denied\n${'x'.repeat(2000)}` })
      .resolvesOnce({ Status: 'TimedOut', StatusDetails: 'DeliveryTimedOut', ResponseCode: -1 })
      .resolvesOnce({ Status: 'Cancelled' });

    // Act
    const failed = await poll();
    const timedOut = await poll();
    const cancelled = await poll();

    // Assess
    expect(failed).toMatchObject({ state: 'ended', status: 'Failed' });
    expect((failed as { message: string }).message).toMatch(new RegExp(`^Run Command ${COMMAND_ID} on ${INSTANCE_ID} ended Failed, exit code 127; stderr: sh: gzip: Permission denied\\nx{472}$`));
    expect(timedOut).toEqual({ state: 'ended', status: 'TimedOut', message: `Run Command ${COMMAND_ID} on ${INSTANCE_ID} ended TimedOut (DeliveryTimedOut)` });
    expect(cancelled).toEqual({ state: 'ended', status: 'Cancelled', message: `Run Command ${COMMAND_ID} on ${INSTANCE_ID} ended Cancelled` });
  });

  it('lets any other error through', async () => {
    // Prepare
    ssmMock.on(GetCommandInvocationCommand).rejects(awsError('AccessDeniedException'));

    // Act
    const polling = poll();

    // Assess
    await expect(polling).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('Function: decodeCaptureOutput', () => {
  it('recovers the gzip+base64 collection with the SHA-256 of its text', () => {
    // Prepare
    const collected = '\n===== processes =====\nwww 4242 ./xmrig\n';

    // Act
    const decoded = decodeCaptureOutput(encodedStdout(collected));

    // Assess
    expect(decoded).toEqual({ text: collected, format: 'gzip+base64', truncated: false, sha256: sha256(collected) });
  });

  it('recovers what a truncated gzip+base64 stream holds and says it was truncated', () => {
    // Prepare
    const long = Array.from({ length: 4000 }, (_, n) => `line ${n} ${createHash('md5').update(String(n)).digest('hex')}`).join('\n');
    const stdout = encodedStdout(long).slice(0, 24_000);

    // Act
    const decoded = decodeCaptureOutput(`${stdout}\n---Output truncated---`);

    // Assess
    expect(decoded.format).toBe('gzip+base64');
    expect(decoded.truncated).toBe(true);
    expect(decoded.text.length).toBeGreaterThan(1000);
    expect(long.startsWith(decoded.text)).toBe(true);
    expect(decoded.sha256).toBe(sha256(decoded.text));
  });

  it('reads plain output between the markers', () => {
    // Act
    const decoded = decodeCaptureOutput('noise\nFIREBREAK-BEGIN plain\r\nhello\r\nFIREBREAK-END\r\n');

    // Assess
    expect(decoded).toEqual({ text: 'hello\n', format: 'plain', truncated: false, sha256: sha256('hello\n') });
  });

  it('reads a header cut short as an empty, truncated collection', () => {
    // Act
    const decoded = decodeCaptureOutput('FIREBREAK-BEGIN plain');

    // Assess
    expect(decoded).toEqual({ text: '', format: 'plain', truncated: true, sha256: sha256('') });
  });

  it('keeps output without markers as it came', () => {
    // Act
    const decoded = decodeCaptureOutput('sh: 1: collect: not found\n');

    // Assess
    expect(decoded).toEqual({ text: 'sh: 1: collect: not found\n', format: 'raw', truncated: false, sha256: sha256('sh: 1: collect: not found\n') });
  });

  it('keeps the stdout as it came when the compressed part cannot be read', () => {
    // Prepare
    const stdout = 'FIREBREAK-BEGIN gzip+base64\nbm90IGd6aXA=\nFIREBREAK-END\n';

    // Act
    const decoded = decodeCaptureOutput(stdout);

    // Assess
    expect(decoded).toEqual({ text: stdout, format: 'raw', truncated: false, sha256: sha256(stdout) });
  });
});
