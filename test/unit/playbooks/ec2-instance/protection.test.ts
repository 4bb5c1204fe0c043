import { EC2Client, ModifyInstanceAttributeCommand } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import {
  enableStopProtection,
  enableTerminationProtection,
  preserveVolumesOnTermination,
  setShutdownBehaviourToStop,
} from '../../../../shared/steps/ec2/index.ts';
import { aConfig, anInstance, aStepContext, INSTANCE_ID } from '../../helpers/factories.ts';

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
});

describe('Step: setShutdownBehaviourToStop', () => {
  it('sets the instance-initiated shutdown behaviour to stop', async () => {
    // Prepare
    ec2Mock.on(ModifyInstanceAttributeCommand).resolves({});

    // Act
    const result = await setShutdownBehaviourToStop.run(aStepContext());

    // Assess
    expect(modifications()).toEqual([{ InstanceId: INSTANCE_ID, InstanceInitiatedShutdownBehavior: { Value: 'stop' } }]);
    expect(result.status).toBe('done');
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
    expect(result.status).toBe('done');
  });

  it('leaves stop protection off in full mode, which stops the instance once evidence is safe', async () => {
    // Act
    const result = await enableStopProtection.run(aStepContext({ config: aConfig({ mode: 'full' }) }));

    // Assess
    expect(result.status).toBe('skipped');
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
    expect(result.data).toEqual({
      volumes: [
        { volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', deleteOnTerminationBefore: true },
        { volumeId: 'vol-0aaaaaaaaaaaaaaa3', deviceName: '/dev/xvdc', deleteOnTerminationBefore: true },
      ],
    });
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
