import { EC2Client, ModifyInstanceAttributeCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  enableStopProtection,
  enableTerminationProtection,
  preserveVolumesOnTermination,
  setShutdownBehaviourToStop,
} from '../../../../shared/playbooks/ec2-instance/protection.ts';
import { aConfig, anInstance, aStepContext, awsError, INSTANCE_ID, recordedBy } from '../../helpers/factories.ts';

const ec2Mock = mockClient(EC2Client);
afterEach(() => ec2Mock.reset());

const modifications = () => ec2Mock.commandCalls(ModifyInstanceAttributeCommand).map((c) => c.args[0].input);

describe('Step: enableTerminationProtection', () => {
  it('enables termination protection with DisableApiTermination {Value: true}', async () => {
    // Prepare
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});

    // Act
    const result = await enableTerminationProtection.run(aStepContext());

    // Assess
    expect(modifications()).toEqual([{ InstanceId: INSTANCE_ID, DisableApiTermination: { Value: true } }]);
    expect(result).toEqual({ status: 'done', summary: `termination protection enabled on ${INSTANCE_ID}` });
  });

  it('lets an EC2 failure through for the engine to classify', async () => {
    // Prepare
    ec2Mock.on(ModifyInstanceAttributeCommand).rejects(awsError('UnauthorizedOperation', { httpStatusCode: 403 }));

    // Act
    const run = enableTerminationProtection.run(aStepContext());

    // Assess
    await expect(run).rejects.toMatchObject({ name: 'UnauthorizedOperation' });
  });
});

describe('Step: setShutdownBehaviourToStop', () => {
  it('sets the instance-initiated shutdown behaviour to stop', async () => {
    // Prepare
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});

    // Act
    const result = await setShutdownBehaviourToStop.run(aStepContext());

    // Assess
    expect(modifications()).toEqual([{ InstanceId: INSTANCE_ID, InstanceInitiatedShutdownBehavior: { Value: 'stop' } }]);
    expect(result).toEqual({ status: 'done', summary: `shutdown behaviour of ${INSTANCE_ID} set to stop` });
  });
});

describe('Step: enableStopProtection', () => {
  it('enables stop protection in contain mode', async () => {
    // Prepare
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});

    // Act
    const result = await enableStopProtection.run(aStepContext({ config: aConfig({ mode: 'contain' }) }));

    // Assess
    expect(modifications()).toEqual([{ InstanceId: INSTANCE_ID, DisableApiStop: { Value: true } }]);
    expect(result).toEqual({ status: 'done', summary: `stop protection enabled on ${INSTANCE_ID}` });
  });

  it('leaves stop protection off in full mode, which stops the instance once evidence is safe', async () => {
    // Act
    const result = await enableStopProtection.run(aStepContext({ config: aConfig({ mode: 'full' }) }));

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: 'full mode stops the instance for offline investigation once evidence is safe, so stop protection stays off' });
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});

describe('Step: preserveVolumesOnTermination', () => {
  it('turns DeleteOnTermination off for every volume that has it on', async () => {
    // Prepare
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    const resource = anInstance({
      volumes: [
        { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', deleteOnTermination: true },
        { volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb', deleteOnTermination: false },
        { volumeId: 'vol-0aaaaaaaaaaaaaaa3', deviceName: '/dev/xvdc', deleteOnTermination: true },
      ],
    });

    // Act
    const result = await preserveVolumesOnTermination.run(aStepContext({ resource }));

    // Assess
    expect(modifications()).toEqual([
      {
        InstanceId: INSTANCE_ID,
        BlockDeviceMappings: [
          { DeviceName: '/dev/xvda', Ebs: { VolumeId: 'vol-0aaaaaaaaaaaaaaa1', DeleteOnTermination: false } },
          { DeviceName: '/dev/xvdc', Ebs: { VolumeId: 'vol-0aaaaaaaaaaaaaaa3', DeleteOnTermination: false } },
        ],
      },
    ]);
    expect(result).toEqual({
      status: 'done',
      summary: 'DeleteOnTermination turned off for vol-0aaaaaaaaaaaaaaa1 (/dev/xvda), vol-0aaaaaaaaaaaaaaa3 (/dev/xvdc)',
      data: {
        volumes: [
          { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', deleteOnTerminationBefore: true },
          { volumeId: 'vol-0aaaaaaaaaaaaaaa3', deviceName: '/dev/xvdc', deleteOnTerminationBefore: true },
        ],
      },
    });
    // What release reads back to say which volumes stay preserved.
    expect(recordedBy(preserveVolumesOnTermination, result)).toEqual(result.data);
  });

  it('leaves out a volume without a device name, which a block device mapping cannot name', async () => {
    // Prepare
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});
    const resource = anInstance({
      volumes: [
        { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '', deleteOnTermination: true },
        { volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb', deleteOnTermination: true },
      ],
    });

    // Act
    const result = await preserveVolumesOnTermination.run(aStepContext({ resource }));

    // Assess
    expect(modifications()).toEqual([
      { InstanceId: INSTANCE_ID, BlockDeviceMappings: [{ DeviceName: '/dev/xvdb', Ebs: { VolumeId: 'vol-0aaaaaaaaaaaaaaa2', DeleteOnTermination: false } }] },
    ]);
    expect(result.data!.volumes.map((v) => v.volumeId)).toEqual(['vol-0aaaaaaaaaaaaaaa2']);
  });

  it('skips when no volume is deleted on termination', async () => {
    // Prepare
    const resource = anInstance({ volumes: [{ volumeId: 'vol-0aaaaaaaaaaaaaaa2', deviceName: '/dev/xvdb', deleteOnTermination: false }] });

    // Act
    const result = await preserveVolumesOnTermination.run(aStepContext({ resource }));

    // Assess
    expect(result).toEqual({ status: 'skipped', summary: 'no attached volume is deleted on termination' });
    expect(ec2Mock.calls()).toHaveLength(0);
  });
});

describe('Steps: protections', () => {
  it.each([
    ['enableTerminationProtection', enableTerminationProtection],
    ['setShutdownBehaviourToStop', setShutdownBehaviourToStop],
    ['enableStopProtection', enableStopProtection],
    ['preserveVolumesOnTermination', preserveVolumesOnTermination],
  ])('%s is kept on release, so it has no undo', (name, step) => {
    // Assess
    expect(step.name).toBe(name);
    expect(step.stage).toBe('contain');
    expect(step.undo).toBeUndefined();
    expect(step.iamActions).toEqual(['ec2:ModifyInstanceAttribute']);
  });
});
