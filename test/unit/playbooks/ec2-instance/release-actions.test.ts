import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import {
  CreateSnapshotsCommand,
  CreateTagsCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DescribeVolumesCommand,
  EC2Client,
  ModifyInstanceAttributeCommand,
  ModifySnapshotAttributeCommand,
} from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { iamActionsOf, releaseNameOf, type AnyStep, type StepResult } from '../../../../shared/engine/index.ts';
import { snapshotVolumes } from '../../../../shared/playbooks/ec2-instance/evidence.ts';
import { copySnapshotsToForensicAccount, createForensicVolumes } from '../../../../shared/playbooks/ec2-instance/forensics.ts';
import { ec2InstancePlaybook } from '../../../../shared/playbooks/ec2-instance/index.ts';
import { enableStopProtection, enableTerminationProtection, preserveVolumesOnTermination, setShutdownBehaviourToStop } from '../../../../shared/playbooks/ec2-instance/protection.ts';
import { keepProtectionsAndEvidence, tagReleased } from '../../../../shared/playbooks/ec2-instance/release-actions.ts';
import type { Ec2 } from '../../../../shared/playbooks/ec2-instance/types.ts';
import type { StepOutcome } from '../../../../shared/vocabulary/index.ts';
import { aConfig, anEc2Options, anIncident, anInstance, aReleaseContext, aStepContext, FIXED_NOW, INSTANCE_ID, RESPONDER } from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
const asgMock = mockClient(AutoScalingClient);
const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
const elbMock = mockClient(ElasticLoadBalancingClient);
const iamMock = mockClient(IAMClient);
afterEach(() => [ec2Mock, asgMock, elbv2Mock, elbMock, iamMock].forEach((m) => m.reset()));

const incident = anIncident();
const SNAPSHOT = 'snap-0aaaaaaaaaaaaaaa1';
const FORENSIC_ID = 'i-0f0f0f0f0f0f0f0f0';
const FORENSIC_VOLUME = 'vol-0ccccccccccccccc1';
const COPY = 'snap-0ddddddddddddddd1';

/** The outcome the engine records for a step's result (its data through DynamoDB's JSON round trip). */
const outcomeOf = (step: AnyStep<Ec2>, result: StepResult<unknown>): StepOutcome => ({
  stage: step.stage,
  status: result.status,
  summary: result.summary,
  attempts: 1,
  ...(result.data !== undefined ? { data: JSON.parse(JSON.stringify(result.data)) } : {}),
});

/** A release step's outcome, earlier in this release. */
const released = (status: StepOutcome['status']): StepOutcome => ({ stage: 'release', status, summary: `release ${status}`, attempts: 1 });

/**
 * Containment as it ran against mocked AWS, in contain mode with a forensic instance and a
 * forensic account: every protection on, the volume's snapshot, its forensic volume
 * (attached) and its shared copy. Returns the outcomes the ledger holds.
 */
async function containedWithEvidence(): Promise<Record<string, StepOutcome>> {
  const outcomes: Record<string, StepOutcome> = {};
  const options = anEc2Options({ forensics: { instance_id: FORENSIC_ID, copy: { account_id: '999988887777', kms_key_arn: 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' } } });
  const run = async (step: AnyStep<Ec2>) => {
    outcomes[step.name] = outcomeOf(step, await step.run(aStepContext({ incident, options, outcomes })));
  };

  ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
  for (const step of [enableTerminationProtection, enableStopProtection, setShutdownBehaviourToStop, preserveVolumesOnTermination]) await run(step);

  ec2Mock.on(DescribeSnapshotsCommand, { OwnerIds: ['self'] }).resolves({ Snapshots: [] });
  ec2Mock.on(CreateSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: SNAPSHOT, VolumeId: 'vol-0aaaaaaaaaaaaaaa1' }] });
  await run(snapshotVolumes);

  ec2Mock.on(DescribeSnapshotsCommand, { SnapshotIds: [SNAPSHOT] }).resolves({ Snapshots: [{ SnapshotId: SNAPSHOT, State: 'completed' }] });
  ec2Mock.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: FORENSIC_ID, State: { Name: 'running' }, Placement: { AvailabilityZone: 'us-east-1b' } }] }] });
  ec2Mock.on(DescribeVolumesCommand).resolves({
    Volumes: [
      {
        VolumeId: FORENSIC_VOLUME,
        State: 'in-use',
        AvailabilityZone: 'us-east-1b',
        Tags: [{ Key: 'firebreak:source-snapshot', Value: SNAPSHOT }],
        Attachments: [{ InstanceId: FORENSIC_ID, Device: '/dev/sdf', State: 'attached' }],
      },
    ],
  });
  await run(createForensicVolumes);

  ec2Mock
    .on(DescribeSnapshotsCommand, { OwnerIds: ['self'] })
    .resolves({ Snapshots: [{ SnapshotId: COPY, State: 'completed', Tags: [{ Key: 'firebreak:source-snapshot', Value: SNAPSHOT }] }] });
  ec2Mock.on(ModifySnapshotAttributeCommand).resolves({});
  await run(copySnapshotsToForensicAccount);

  ec2Mock.reset();
  return outcomes;
}

describe('Release action: keepProtectionsAndEvidence', () => {
  it('records the protections, the stopped instance and the evidence it leaves as containment left them, changing nothing', async () => {
    // Prepare
    const outcomes = await containedWithEvidence();

    // Act
    const result = await keepProtectionsAndEvidence.run(aReleaseContext({ incident, outcomes, resource: anInstance({ state: 'stopped' }) }));

    // Assess
    expect(Object.values(outcomes).map((o) => o.status)).toEqual(['done', 'done', 'done', 'done', 'done', 'done', 'done']);
    expect(result.status).toBe('done');
    expect(result.keptProtections).toEqual([
      `termination protection, enabled by containment, is left as it is (lift it: aws ec2 modify-instance-attribute --instance-id ${INSTANCE_ID} --no-disable-api-termination)`,
      `stop protection, enabled by containment, is left as it is (lift it: aws ec2 modify-instance-attribute --instance-id ${INSTANCE_ID} --no-disable-api-stop)`,
      'instance-initiated shutdown behaviour, set to "stop" by containment, is left as it is',
      'DeleteOnTermination, turned off by containment, is left off for vol-0aaaaaaaaaaaaaaa1',
      `${INSTANCE_ID} stays stopped: release never starts an instance (start it yourself when ready)`,
      `evidence is kept: snapshots ${SNAPSHOT}, forensic volumes ${FORENSIC_VOLUME}, forensic-account copies ${COPY} and the evidence bucket's objects for ${incident.incidentId} are not touched`,
    ]);
    expect(result.summary).toBe(`kept as containment left them: ${result.keptProtections!.join('; ')}`);
    expect([ec2Mock.calls(), asgMock.calls(), elbv2Mock.calls(), elbMock.calls(), iamMock.calls()].map((c) => c.length)).toEqual([0, 0, 0, 0, 0]);
  });

  it('names only the evidence when containment set no protection, and notes a vanished instance', async () => {
    // Prepare
    const skipped = await enableStopProtection.run(aStepContext({ config: aConfig({ mode: 'full' }) }));
    const outcomes = { enableStopProtection: outcomeOf(enableStopProtection, skipped) };

    // Act
    const result = await keepProtectionsAndEvidence.run({ ...aReleaseContext({ outcomes }), resource: async () => undefined });

    // Assess
    expect(skipped.status).toBe('skipped');
    expect(result.keptProtections).toEqual([`${INSTANCE_ID} no longer exists`, expect.stringMatching(/^evidence is kept: the evidence bucket's objects for inc-/)]);
  });

  it('says nothing of the state of an instance that runs, and names only the snapshots EC2 took', async () => {
    // Prepare
    ec2Mock.on(DescribeSnapshotsCommand).resolves({ Snapshots: [] });
    ec2Mock.on(CreateSnapshotsCommand).resolves({ Snapshots: [{ SnapshotId: SNAPSHOT, VolumeId: 'vol-0aaaaaaaaaaaaaaa1' }] });
    const twoVolumes = anInstance({
      volumes: [
        { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', deleteOnTermination: false },
        { volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb', deleteOnTermination: false },
      ],
    });
    const snapshotted = await snapshotVolumes.run(aStepContext({ incident, resource: twoVolumes }));
    ec2Mock.reset();

    // Act
    const result = await keepProtectionsAndEvidence.run(aReleaseContext({ incident, outcomes: { snapshotVolumes: outcomeOf(snapshotVolumes, snapshotted) } }));

    // Assess
    expect(result.keptProtections).toEqual([`evidence is kept: snapshots ${SNAPSHOT} and the evidence bucket's objects for ${incident.incidentId} are not touched`]);
  });
});

describe('Release action: tagReleased', () => {
  it('tags the instance released, with when and by whom', async () => {
    // Prepare
    ec2Mock.on(CreateTagsCommand).resolves({});

    // Act
    const result = await tagReleased.run(aReleaseContext({ released: { restoreSecurityGroups: released('done') } }));

    // Assess
    expect(ec2Mock.commandCalls(CreateTagsCommand).map((c) => c.args[0].input)).toEqual([
      {
        Resources: [INSTANCE_ID],
        Tags: [
          { Key: 'firebreak:status', Value: 'released' },
          { Key: 'firebreak:released-at', Value: FIXED_NOW.toISOString() },
          { Key: 'firebreak:released-by', Value: RESPONDER },
        ],
      },
    ]);
    expect(result).toEqual({
      status: 'done',
      summary: `tagged ${INSTANCE_ID} firebreak:status, firebreak:released-at, firebreak:released-by`,
      data: { tags: { 'firebreak:status': 'released', 'firebreak:released-at': FIXED_NOW.toISOString(), 'firebreak:released-by': RESPONDER } },
    });
  });

  it('does not tag while another release step failed', async () => {
    // Act
    const result = await tagReleased.run(aReleaseContext({ released: { restoreSecurityGroups: released('failed'), tagReleased: released('skipped') } }));

    // Assess
    expect(ec2Mock.calls()).toHaveLength(0);
    expect(result).toEqual({ status: 'skipped', summary: 'not tagged released while the release is incomplete (restoreSecurityGroups failed); the retry that completes it tags it' });
  });

  it('skips an instance that no longer exists', async () => {
    // Act
    const result = await tagReleased.run({ ...aReleaseContext(), resource: async () => undefined });

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: `${INSTANCE_ID} no longer exists: nothing to restore`, data: { instanceGone: true } });
    expect(ec2Mock.calls()).toHaveLength(0);
  });

  it('tags again after its own failure in an earlier attempt', async () => {
    // Prepare
    ec2Mock.on(CreateTagsCommand).resolves({});

    // Act
    const result = await tagReleased.run(aReleaseContext({ released: { restoreSecurityGroups: released('done'), tagReleased: released('failed') } }));

    // Assess
    expect(result.status).toBe('done');
    expect(ec2Mock.commandCalls(CreateTagsCommand)).toHaveLength(1);
  });
});

describe('Playbook: ec2-instance release', () => {
  it('keeps protections and evidence after every undo, and tags the instance released last', async () => {
    // Act
    const names = (await ec2InstancePlaybook.load()).release.map(releaseNameOf);

    // Assess
    expect(names.slice(-2)).toEqual(['keepProtectionsAndEvidence', 'tagReleased']);
    expect((await ec2InstancePlaybook.load()).release.slice(-2)).toEqual([keepProtectionsAndEvidence, tagReleased]);
  });

  it('grants the function what the release actions call', async () => {
    // Act
    const actions = iamActionsOf(await ec2InstancePlaybook.load(), []);

    // Assess
    expect(keepProtectionsAndEvidence.iamActions).toEqual([]);
    expect(tagReleased.iamActions).toEqual(['ec2:CreateTags']);
    expect(actions).toContain('ec2:CreateTags');
  });
});
