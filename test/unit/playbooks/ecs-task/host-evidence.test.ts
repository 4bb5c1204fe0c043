import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient, StopTaskCommand, TagResourceCommand } from '@aws-sdk/client-ecs';
import { GuardDutyClient, StartMalwareScanCommand } from '@aws-sdk/client-guardduty';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { preserveTaskEvidence, tagTask } from '../../../../shared/playbooks/ecs-task/evidence.ts';
import { handOffHostInstance, startHostMalwareScan } from '../../../../shared/playbooks/ecs-task/host.ts';
import { ecsTaskPlaybook } from '../../../../shared/playbooks/ecs-task/index.ts';
import { stopTask } from '../../../../shared/playbooks/ecs-task/stop.ts';
import { awsError } from '../../helpers/factories.ts';
import { ACCOUNT, anIncident, aTaskStepContext, CLUSTER_ARN, described, DIGEST, ecsOptions, handOffs, HOST, TASK_ARN } from './support.ts';

const ecs = mockClient(ECSClient);
const ec2 = mockClient(EC2Client);
const guardDuty = mockClient(GuardDutyClient);
const s3 = mockClient(S3Client);
beforeEach(() => handOffs.splice(0));
afterEach(() => {
  ecs.reset();
  ec2.reset();
  guardDuty.reset();
  s3.reset();
});

describe('A task that shares its host\'s network (handOffHostInstance)', () => {
  it('hands the host of a bridge task to the EC2 playbook (the default)', async () => {
    // Prepare
    const task = await described({ ecs, ec2 }, { launchType: 'EC2', networkMode: 'bridge' });

    // Act
    const result = await handOffHostInstance.run(aTaskStepContext(task));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { hostInstanceId: HOST, networkMode: 'bridge', eventId: 'handoff-1' } });
    expect(handOffs).toEqual([{ target: { resourceType: 'Instance', id: HOST }, reason: expect.stringMatching(/host of compromised ECS task/) }]);
  });

  it('names the host and recommends containing it when hand_off_host is off', async () => {
    // Prepare
    const task = await described({ ecs, ec2 }, { launchType: 'EC2', networkMode: 'host' });

    // Act
    const result = await handOffHostInstance.run(aTaskStepContext(task, undefined, { options: ecsOptions({ hand_off_host: false }) }));

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { recommendation: expect.stringMatching(`firebreak contain Instance ${HOST}`) } });
    expect(handOffs).toEqual([]);
  });

  it('hands over no host for a Fargate task, an awsvpc task on EC2, or a hostile instance hint', async () => {
    // Prepare
    const fargate = await described({ ecs, ec2 }, {}, anIncident({ hints: { instanceId: 'i-0aaaaaaaaaaaaaaaa' } }));
    const awsvpcOnEc2 = await described({ ecs, ec2 }, { launchType: 'EC2', networkMode: 'awsvpc' });

    // Act
    const a = await handOffHostInstance.run(aTaskStepContext(fargate, anIncident({ hints: { instanceId: 'i-0aaaaaaaaaaaaaaaa' } })));
    const b = await handOffHostInstance.run(aTaskStepContext(awsvpcOnEc2));

    // Assess
    expect(a.status).toBe('skipped');
    expect(b).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/its own ENI/) });
    expect(handOffs).toEqual([]);
  });
});

describe('Evaluate the presence of malware: the host\'s volumes (startHostMalwareScan)', () => {
  it('starts a GuardDuty scan of the host instance', async () => {
    // Prepare
    const task = await described({ ecs, ec2 }, { launchType: 'EC2', networkMode: 'bridge' });
    guardDuty.on(StartMalwareScanCommand).resolves({ ScanId: 'scan-1' });

    // Act
    const result = await startHostMalwareScan.run(aTaskStepContext(task));

    // Assess
    expect(result).toMatchObject({ status: 'done', data: { resourceArn: `arn:aws:ec2:us-east-1:${ACCOUNT}:instance/${HOST}`, scanId: 'scan-1' } });
  });

  it('records a host GuardDuty scanned within the hour (the EC2 playbook after the hand-off), and a Fargate task with no host', async () => {
    // Prepare
    const onHost = await described({ ecs, ec2 }, { launchType: 'EC2', networkMode: 'bridge' });
    const fargate = await described({ ecs, ec2 });
    guardDuty.on(StartMalwareScanCommand).rejects(awsError('BadRequestException', { message: 'The request is rejected because the resource was recently scanned' }));

    // Act
    const recent = await startHostMalwareScan.run(aTaskStepContext(onHost));
    const none = await startHostMalwareScan.run(aTaskStepContext(fargate));

    // Assess
    expect(recent).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/less than an hour ago/) });
    expect(none).toMatchObject({ status: 'skipped', summary: expect.stringMatching(/no EC2 host.*image digests/) });
  });
});

describe('Preserve the task as evidence (preserveTaskEvidence, tagTask)', () => {
  it('saves the task, definition, containers and network configuration, and records the image digests for scanning', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    s3.on(PutObjectCommand).resolves({});

    // Act
    const result = await preserveTaskEvidence.run(aTaskStepContext(task));

    // Assess
    expect(result.data!.images).toEqual([{ container: 'payments-api', image: `${ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/payments-api:1.14.2`, imageDigest: DIGEST }]);
    const body = JSON.parse(String(s3.commandCalls(PutObjectCommand)[0]!.args[0].input.Body));
    expect(body).toMatchObject({ task: { taskArn: TASK_ARN }, taskDefinition: { family: 'payments-api' }, networkInterfaces: [{ RequesterManaged: true }], captureBeforeContainment: { groupRules: [{}, {}] } });
    expect(result.summary).toMatch(`payments-api@${DIGEST}`);
  });

  it('tags the task with the incident, and never a cluster', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    const cluster = await described({ ecs, ec2 }, {}, anIncident({ clusterOnly: true }));

    // Act
    const tagged = await tagTask.run(aTaskStepContext(task));
    const notTagged = await tagTask.run(aTaskStepContext(cluster, anIncident({ clusterOnly: true })));

    // Assess
    expect(tagged.status).toBe('done');
    const input = ecs.commandCalls(TagResourceCommand)[0]!.args[0].input;
    expect(input.resourceArn).toBe(TASK_ARN);
    expect(input.tags).toEqual(expect.arrayContaining([{ key: 'firebreak:status', value: 'contained' }, { key: 'firebreak:incident-id', value: anIncident().incidentId }]));
    expect(notTagged.status).toBe('skipped');
    expect(ecs.commandCalls(TagResourceCommand)).toHaveLength(1);
  });
});

describe('Full mode: stop the task once evidence is saved (stopTask)', () => {
  it('runs only in full mode, after the evidence, and stops the task with the incident as reason', async () => {
    // Prepare
    const task = await described({ ecs, ec2 });
    ecs.on(StopTaskCommand).resolves({ task: { lastStatus: 'STOPPING' } });

    // Act
    const result = await stopTask.run(aTaskStepContext(task));

    // Assess
    expect(stopTask.minimumMode).toBe('full');
    expect(stopTask.requires).toEqual([preserveTaskEvidence]);
    expect(result).toMatchObject({ status: 'done', data: { lastStatus: 'STOPPING' } });
    expect(ecs.commandCalls(StopTaskCommand)[0]!.args[0].input).toMatchObject({ cluster: CLUSTER_ARN, task: TASK_ARN, reason: expect.stringMatching(/^Firebreak incident/) });
  });
});

describe('The ECS task playbook', () => {
  it('contains before it gathers evidence, and releases the role, then the network, then the protection', async () => {
    const names = (await ecsTaskPlaybook.load()).steps.map((s) => `${s.stage}:${s.name}`);
    expect(names.indexOf('contain:revokeTaskSecurityGroupRules')).toBeLessThan(names.indexOf('evidence:preserveTaskEvidence'));
    expect(ecsTaskPlaybook.isolationStep.name).toBe('revokeTaskSecurityGroupRules');
    expect((await ecsTaskPlaybook.load()).release.map((e) => (e.kind === 'step' ? e.undo!.name : e.name))).toEqual([
      'removeTaskRoleRevocation',
      'removeNetworkAclDenies',
      'restoreSecurityGroupRules',
      'reregisterTaskTargets',
      'removeTaskProtection',
      'keepEvidence',
      'tagReleased',
    ]);
  });
});
