import { EC2Client } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, GetCommandInvocationCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { StepFailedError } from '../../../../shared/errors/index.ts';
import { CONTAINER_CONTROL_DOCUMENT, CONTAINER_REF_PATTERN, containerStatesOf, isContainerRef } from '../../../../shared/playbooks/container/control.ts';
import { captureContainerInspect, suspendContainer } from '../../../../shared/playbooks/container/suspend.ts';
import { describeContainer } from '../../../../shared/playbooks/container/describe.ts';
import { awsError, silentLogger, someClients } from '../../helpers/factories.ts';
import {
  aContainerIncident,
  aContainerStepContext,
  anUndoContext,
  COMMAND_ID,
  CONTAINER_ID,
  containerOptions,
  controlOutput,
  described,
  DOCUMENT,
  givenCommand,
  givenHost,
  HOST,
  INSPECT,
  outcome,
  sentParameters,
} from './support.ts';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
const s3Mock = mockClient(S3Client);
afterEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
  s3Mock.reset();
});

describe('Suspend all processes in the container (suspendContainer)', () => {
  it('pauses the container through Firebreak\'s document, the container id passed as a parameter, while the host\'s agent is online', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'Success', controlOutput('running', 'paused'));

    // Act
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { hostInstanceId: HOST, containerRef: CONTAINER_ID, action: 'pause', document: DOCUMENT, commandId: COMMAND_ID, confirmed: true, before: 'running', after: 'paused' } });
    expect(result.summary).toMatch(/went from running to paused/);
    expect(sentParameters(ssmMock)).toEqual([{ document: DOCUMENT, parameters: { containerId: [CONTAINER_ID], action: ['pause'] }, instances: [HOST] }]);
    expect(ssmMock.commandCalls(GetCommandInvocationCommand)[0]!.args[0].input).toMatchObject({ PluginName: 'containerControl' });
  });

  it('stops the container instead in full mode (the seeds\' other branch)', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'Success', controlOutput('running', 'exited'));

    // Act
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident(), { mode: 'full' }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { action: 'stop', before: 'running', after: 'exited' } });
    expect(sentParameters(ssmMock)[0]!.parameters).toEqual({ containerId: [CONTAINER_ID], action: ['stop'] });
  });

  it('records that the container could not be paused when the host\'s agent cannot be reached, and sends nothing', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock, aContainerIncident(), { ping: 'ConnectionLost' });

    // Act
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { hostInstanceId: HOST, reason: expect.stringMatching(/SSM agent on i-0f9e8d7c6b5a43210 is ConnectionLost; last ping 2025-06-19T14:00:00.000Z/) } });
    expect(result.summary).toMatch(/could not be paused/);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('records why when SSM does not manage the host at all', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock, aContainerIncident(), { registered: false });

    // Act
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { reason: expect.stringMatching(/not managed by SSM/) } });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('goes on without the pause when the endpoint has no DescribeInstanceInformation (the emulator), saying so', async () => {
    // Prepare
    givenHost(ec2Mock, ssmMock);
    ssmMock.on(DescribeInstanceInformationCommand).rejects(awsError('NotImplemented', { httpStatusCode: 501, fault: 'server', message: 'The DescribeInstanceInformation action has not been implemented by this emulator' }));
    const container = await describeContainer({ incident: aContainerIncident(), clients: someClients(), logger: silentLogger() });

    // Act
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));

    // Assess
    expect(container.agent).toMatchObject({ reachable: false, unsupported: true });
    expect(result).toMatchObject({ status: 'skipped', data: { unsupported: true, reason: expect.stringMatching(/DescribeInstanceInformation failed with NotImplemented \(not supported by this endpoint\)/) } });
  });

  it('refuses a hostile container id before anything is sent', async () => {
    for (const hostile of ['$(reboot)', '-rf', "abc'; rm -rf / #", 'a b', '']) {
      // Prepare
      const incident = aContainerIncident({ containerId: hostile });
      const container = await described(ec2Mock, ssmMock, incident);
      givenCommand(ssmMock, 'Success', controlOutput('running', 'paused'));

      // Act
      const run = suspendContainer.run(aContainerStepContext(container, incident));

      // Assess
      await expect(run).rejects.toThrow(StepFailedError);
      await expect(run).rejects.toMatchObject({ code: 'NotAContainerReference', retryable: false });
    }
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('hands the host over without waiting longer when the command has not finished, recording it unconfirmed', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'InProgress');

    // Act
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { confirmed: false, status: 'InProgress', commandId: COMMAND_ID } });
    expect(result.summary).toMatch(/isolation does not stop a command already running/);
  });

  it('records that there is nothing to pause when the container is no longer on the host', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'Success', controlOutput('absent', 'absent', false));

    // Act
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { reason: expect.stringMatching(/no container 5e2f8a1c/) } });
  });

  it('fails, without holding the hand-off, when docker pause fails on the host', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'Failed', 'Error response from daemon');

    // Act / Assess
    await expect(suspendContainer.run(aContainerStepContext(container, aContainerIncident()))).rejects.toMatchObject({ code: 'CommandFailed', retryable: false });
  });

  it('sends nothing for a container runtime the document does not drive, or a stopped host, or without the document', async () => {
    // Prepare
    const containerd = aContainerIncident({ runtime: 'containerd' });
    const cases = [
      aContainerStepContext(await described(ec2Mock, ssmMock, containerd), containerd),
      aContainerStepContext(await described(ec2Mock, ssmMock, aContainerIncident(), { state: 'stopped' }), aContainerIncident()),
      aContainerStepContext(await described(ec2Mock, ssmMock), aContainerIncident(), { options: containerOptions({ ssm_documents: {} }) }),
      aContainerStepContext(await described(ec2Mock, ssmMock), aContainerIncident(), { options: containerOptions({ suspend_container: false }) }),
    ];

    // Act
    const results = await Promise.all(cases.map((ctx) => suspendContainer.run(ctx)));

    // Assess
    expect(results.map((r) => r.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(results[0]!.summary).toMatch(/containerd/);
    expect(results[1]!.summary).toMatch(/is stopped/);
    expect(results[2]!.summary).toMatch(/never falls back to AWS-RunShellScript/);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });
});

describe('Release: docker unpause (unpauseContainer)', () => {
  it('unpauses the container Firebreak paused, through the same document', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'Success', controlOutput('running', 'paused'));
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));
    ssmMock.reset();
    givenCommand(ssmMock, 'Success', controlOutput('paused', 'running', false));

    // Act
    const released = await suspendContainer.undo!.run(anUndoContext(suspendContainer, result, container, aContainerIncident()));

    // Assess
    expect(released).toMatchObject({ status: 'done', data: { before: 'paused', after: 'running' } });
    expect(sentParameters(ssmMock)).toEqual([{ document: DOCUMENT, parameters: { containerId: [CONTAINER_ID], action: ['unpause'] }, instances: [HOST] }]);
  });

  it('leaves a container paused that was paused before Firebreak', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'Success', controlOutput('paused', 'paused'));
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));
    ssmMock.resetHistory();

    // Act
    const released = await suspendContainer.undo!.run(anUndoContext(suspendContainer, result, container, aContainerIncident()));

    // Assess
    expect(released).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/already paused before Firebreak/) });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('does not restart a stopped container: recorded and recommended', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'Success', controlOutput('running', 'exited'));
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident(), { mode: 'full' }));
    ssmMock.resetHistory();

    // Act
    const released = await suspendContainer.undo!.run(anUndoContext(suspendContainer, result, container, aContainerIncident()));

    // Assess
    expect(released).toMatchObject({ status: 'skipped', keptProtections: [expect.stringMatching(/stays stopped.*docker start/)] });
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it('fails with the way out while the host is still contained (its agent cut off): release the host first', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'Success', controlOutput('running', 'paused'));
    const result = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));
    const isolatedNow = await described(ec2Mock, ssmMock, aContainerIncident(), { ping: 'ConnectionLost' });
    ssmMock.resetHistory();

    // Act / Assess
    await expect(suspendContainer.undo!.run(anUndoContext(suspendContainer, result, isolatedNow, aContainerIncident()))).rejects.toThrow(/release that one first/);
    expect(ssmMock.commandCalls(SendCommandCommand)).toHaveLength(0);
  });
});

describe('Capture its metadata: docker inspect (captureContainerInspect)', () => {
  it('saves the inspect output the suspension printed to the evidence bucket, with its SHA-256', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'Success', controlOutput('running', 'paused'));
    const suspended = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));
    s3Mock.on(PutObjectCommand).resolves({ VersionId: 'v1' });

    // Act
    const result = await captureContainerInspect.run(aContainerStepContext(container, aContainerIncident(), { outcomes: { suspendContainer: outcome('done', suspended.data) } }));

    // Assess
    const sha256 = createHash('sha256').update(INSPECT).digest('hex');
    expect(result).toMatchObject({ status: 'done', data: { commandId: COMMAND_ID, sha256, before: 'running', after: 'paused', truncated: false } });
    const put = s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(put.Key).toMatch(/container\/docker-inspect\.json$/);
    expect(Buffer.from(put.Body as Uint8Array).toString('utf8')).toBe(INSPECT);
  });

  it('follows up a command containment did not wait for, and says when it never reached the agent', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock);
    givenCommand(ssmMock, 'Pending');
    const suspended = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));
    const ctx = aContainerStepContext(container, aContainerIncident(), { outcomes: { suspendContainer: outcome('done', suspended.data) } });

    // Act
    const pending = await captureContainerInspect.run(ctx);
    givenCommand(ssmMock, 'TimedOut', '', 'DeliveryTimedOut');
    const timedOut = captureContainerInspect.run(ctx);

    // Assess
    expect(pending.status).toBe('pending');
    await expect(timedOut).rejects.toThrow(/never reached the agent/);
  });

  it('records that no inspect could be captured when the container was not paused', async () => {
    // Prepare
    const container = await described(ec2Mock, ssmMock, aContainerIncident(), { ping: 'ConnectionLost' });
    const skipped = await suspendContainer.run(aContainerStepContext(container, aContainerIncident()));

    // Act
    const result = await captureContainerInspect.run(aContainerStepContext(container, aContainerIncident(), { outcomes: { suspendContainer: outcome('skipped', skipped.data) } }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { reason: expect.stringMatching(/ConnectionLost/) } });
  });
});

describe('The container-control document', () => {
  it('admits only Docker ids and names as its container parameter, and three actions', () => {
    // Assess
    expect(CONTAINER_CONTROL_DOCUMENT.parameters!.containerId!.allowedPattern).toBe(CONTAINER_REF_PATTERN);
    expect(CONTAINER_CONTROL_DOCUMENT.parameters!.action!.allowedPattern).toBe('^(pause|stop|unpause)$');
    for (const ok of [CONTAINER_ID, 'legacy-php-app', 'web_1.blue']) expect(isContainerRef(ok)).toBe(true);
    for (const bad of ['-rm', '.hidden', '$(id)', '`id`', 'a;b', 'a b', 'a\nb', 'x'.repeat(129), '']) expect(isContainerRef(bad)).toBe(false);
  });

  it('never puts an SSM parameter placeholder into the script except the two fallbacks, and never calls a shell document', () => {
    // Assess
    const script = CONTAINER_CONTROL_DOCUMENT.mainSteps[0]!.inputs.runCommand.join('\n');
    expect(script.match(/\{\{[^}]*\}\}/g)).toEqual(['{{ containerId }}', '{{ action }}']);
    expect(CONTAINER_CONTROL_DOCUMENT.mainSteps[0]!.precondition).toEqual({ StringEquals: ['platformType', 'Linux'] });
  });

  it('reads the states the script prints', () => {
    // Assess
    expect(containerStatesOf(controlOutput('running', 'paused'))).toEqual({ before: 'running', after: 'paused' });
    expect(containerStatesOf('nothing')).toBeUndefined();
  });
});
