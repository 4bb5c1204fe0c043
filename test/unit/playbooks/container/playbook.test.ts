import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ResourceNotFoundError } from '../../../../shared/errors/index.ts';
import { incidentIdFor } from '../../../../shared/findings/index.ts';
import { containerPlaybook } from '../../../../shared/playbooks/container/index.ts';
import { describeContainer } from '../../../../shared/playbooks/container/describe.ts';
import { handOffHost } from '../../../../shared/playbooks/container/host.ts';
import { keepHostAndEvidence } from '../../../../shared/playbooks/container/release-actions.ts';
import { suspendContainer } from '../../../../shared/playbooks/container/suspend.ts';
import { awsError, silentLogger, someClients } from '../../helpers/factories.ts';
import {
  aContainerIncident,
  aContainerReleaseContext,
  aContainerStepContext,
  containerOptions,
  CONTAINER_ID,
  controlOutput,
  described,
  givenCommand,
  handOffs,
  HOST,
  outcome,
} from './support.ts';

const ec2Mock = mockClient(EC2Client);
const ssmMock = mockClient(SSMClient);
beforeEach(() => handOffs.splice(0));
afterEach(() => {
  ec2Mock.reset();
  ssmMock.reset();
});

describe('Identify the container and its host (describeContainer)', () => {
  it('reads the container from the finding and the host from EC2, with its SSM agent\'s reachability', async () => {
    // Act
    const container = await described(ec2Mock, ssmMock);

    // Assess
    expect(container).toEqual({
      containerId: CONTAINER_ID,
      containerName: 'legacy-php-app',
      image: 'docker.io/library/php:8.1-fpm',
      runtime: 'docker',
      host: { instanceId: HOST, state: 'running', vpcId: 'vpc-0a1b2c3d4e5f60718', platform: 'Linux/UNIX', tags: { Name: 'legacy-docker-host' } },
      agent: { reachable: true, platform: 'Linux' },
    });
    expect(ssmMock.commandCalls(DescribeInstanceInformationCommand)[0]!.args[0].input).toEqual({ Filters: [{ Key: 'InstanceIds', Values: [HOST] }] });
  });

  it('finds the container gone with a terminated host', async () => {
    // Prepare
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: HOST, State: { Name: 'terminated' } }] }] });

    // Act / Assess
    await expect(describeContainer({ incident: aContainerIncident(), clients: someClients(), logger: silentLogger() })).rejects.toThrow(ResourceNotFoundError);
  });

  it('asks the SSM agent nothing of a stopped host, and retries a throttled DescribeInstanceInformation rather than giving up the pause', async () => {
    // Prepare
    const stopped = await described(ec2Mock, ssmMock, aContainerIncident(), { state: 'stopped' });
    ec2Mock.reset();
    ssmMock.reset();
    ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: HOST, State: { Name: 'running' } }] }] });
    ssmMock.on(DescribeInstanceInformationCommand).rejects(awsError('ThrottlingException', { httpStatusCode: 400, retryable: true }));

    // Act / Assess
    expect(stopped.agent).toBeUndefined();
    await expect(describeContainer({ incident: aContainerIncident(), clients: someClients(), logger: silentLogger() })).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});

describe('Isolate: hand the host to the EC2 playbook (handOffHost)', () => {
  it('hands the host over after the pause, naming the EC2 incident it opens', async () => {
    // Prepare
    const incident = aContainerIncident();
    const container = await described(ec2Mock, ssmMock, incident);
    givenCommand(ssmMock, 'Success', controlOutput('running', 'paused'));
    const paused = await suspendContainer.run(aContainerStepContext(container, incident));

    // Act
    const result = await handOffHost.run(aContainerStepContext(container, incident, { outcomes: { suspendContainer: outcome('done', paused.data) } }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { instanceId: HOST, hostIncidentId: incidentIdFor(incident.accountId, `handoff-${incident.incidentId}`, HOST), suspension: 'paused', eventId: 'handoff-1' } });
    expect(handOffs).toEqual([{ target: { resourceType: 'Instance', id: HOST }, reason: expect.stringMatching(/host of compromised container legacy-php-app/) }]);
  });

  it('hands the host over anyway when the agent could not be reached, recording that the container could not be paused', async () => {
    // Prepare
    const incident = aContainerIncident();
    const container = await described(ec2Mock, ssmMock, incident, { ping: 'ConnectionLost' });
    const skipped = await suspendContainer.run(aContainerStepContext(container, incident));

    // Act
    const result = await handOffHost.run(aContainerStepContext(container, incident, { outcomes: { suspendContainer: outcome('skipped', skipped.data, skipped.summary) } }));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { suspension: 'not-suspended' } });
    expect(result.summary).toMatch(/could not be suspended \(container .* could not be paused: the SSM agent on i-0f9e8d7c6b5a43210 is ConnectionLost/);
    expect(handOffs).toHaveLength(1);
  });

  it('names the host with a recommendation, without a hand-off, when hand_off_host is off', async () => {
    // Prepare
    const incident = aContainerIncident();
    const container = await described(ec2Mock, ssmMock, incident);

    // Act
    const result = await handOffHost.run(aContainerStepContext(container, incident, { options: containerOptions({ hand_off_host: false }) }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { instanceId: HOST, recommendation: expect.stringMatching(`firebreak contain Instance ${HOST}`) } });
    expect(handOffs).toEqual([]);
  });

  it('says how to find the host when the finding names none', async () => {
    // Prepare
    const incident = aContainerIncident({ noHost: true });
    const container = await describeContainer({ incident, clients: someClients(), logger: silentLogger() });

    // Act
    const result = await handOffHost.run(aContainerStepContext(container, incident));

    // Assess
    expect(result.status).toBe('skipped');
    expect(result.summary).toMatch(/names no host instance/);
    expect(handOffs).toEqual([]);
  });
});

describe('The standalone container playbook', () => {
  it('pauses before it hands the host over (the pause needs the path isolation cuts), then the evidence', async () => {
    // Assess
    expect((await containerPlaybook.load()).steps.map((s) => [s.name, s.stage])).toEqual([
      ['suspendContainer', 'contain'],
      ['handOffHost', 'contain'],
      ['captureContainerInspect', 'evidence'],
      ['retainMalwareScanSnapshots', 'evidence'],
    ]);
    expect(handOffHost.after).toContain(suspendContainer);
    expect(containerPlaybook.isolationStep).toBe(handOffHost);
  });

  it('protects a container when its host is protected, and exempts it by its host\'s tags', async () => {
    // Prepare
    const incident = aContainerIncident();
    const container = await described(ec2Mock, ssmMock, incident);

    // Assess
    expect(containerPlaybook.identifiers(incident, container)).toEqual([CONTAINER_ID, 'legacy-php-app', HOST, `arn:aws:ec2:us-east-1:111122223333:instance/${HOST}`]);
    expect(containerPlaybook.tags(container)).toEqual({ Name: 'legacy-docker-host' });
  });

  it('release says the host stays contained by its own incident, and how to release it', async () => {
    // Prepare
    const incident = aContainerIncident();
    const container = await described(ec2Mock, ssmMock, incident);
    const handed = await handOffHost.run(aContainerStepContext(container, incident));

    // Act
    const result = await keepHostAndEvidence.run(aContainerReleaseContext(container, incident, { outcomes: { handOffHost: outcome('done', handed.data) } }));

    // Assess
    expect(result.keptProtections![0]).toMatch(new RegExp(`host ${HOST} stays contained by its own incident inc-[0-9a-f]{16}.*firebreak release inc-`));
  });
});
