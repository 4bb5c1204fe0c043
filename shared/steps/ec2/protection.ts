import { ModifyInstanceAttributeCommand } from '@aws-sdk/client-ec2';
import type { StepDefinition } from '../../engine/index.ts';
import type { Ec2Instance } from './describe.ts';

export const enableTerminationProtection: StepDefinition<Ec2Instance> = {
  name: 'enableTerminationProtection',
  stage: 'contain',
  description: 'Enable termination protection so the instance and its evidence cannot disappear',
  iamActions: ['ec2:ModifyInstanceAttribute'],
  async run({ clients, resource }) {
    await clients.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: resource.instanceId, DisableApiTermination: { Value: true } }));
    return { status: 'done', summary: `termination protection enabled on ${resource.instanceId}` };
  },
};

export const setShutdownBehaviourToStop: StepDefinition<Ec2Instance> = {
  name: 'setShutdownBehaviourToStop',
  stage: 'contain',
  description: 'Set the instance-initiated shutdown behaviour to stop, so a shutdown from inside cannot terminate it',
  iamActions: ['ec2:ModifyInstanceAttribute'],
  async run({ clients, resource }) {
    await clients.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: resource.instanceId, InstanceInitiatedShutdownBehavior: { Value: 'stop' } }));
    return { status: 'done', summary: `shutdown behaviour of ${resource.instanceId} set to stop` };
  },
};

export const enableStopProtection: StepDefinition<Ec2Instance> = {
  name: 'enableStopProtection',
  stage: 'contain',
  description: 'Enable stop protection so memory and running state survive for online investigation',
  iamActions: ['ec2:ModifyInstanceAttribute'],
  async run({ clients, resource, config }) {
    if (config.mode === 'full') {
      return { status: 'skipped', summary: 'full mode stops the instance for offline investigation once evidence is safe, so stop protection stays off' };
    }
    await clients.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: resource.instanceId, DisableApiStop: { Value: true } }));
    return { status: 'done', summary: `stop protection enabled on ${resource.instanceId}` };
  },
};

export const preserveVolumesOnTermination: StepDefinition<Ec2Instance> = {
  name: 'preserveVolumesOnTermination',
  stage: 'contain',
  description: 'Turn DeleteOnTermination off on every EBS volume so the disks outlive the instance',
  iamActions: ['ec2:ModifyInstanceAttribute'],
  async run({ clients, resource }) {
    const toChange = resource.volumes.filter((v) => v.deleteOnTermination && v.deviceName);
    if (toChange.length === 0) {
      return { status: 'skipped', summary: 'no attached volume is deleted on termination' };
    }
    await clients.ec2.send(
      new ModifyInstanceAttributeCommand({
        InstanceId: resource.instanceId,
        BlockDeviceMappings: toChange.map((v) => ({ DeviceName: v.deviceName, Ebs: { VolumeId: v.volumeId, DeleteOnTermination: false } })),
      }),
    );
    return {
      status: 'done',
      summary: `DeleteOnTermination turned off for ${toChange.map((v) => `${v.volumeId} (${v.deviceName})`).join(', ')}`,
      data: { volumes: toChange.map((v) => ({ volumeId: v.volumeId, deviceName: v.deviceName, deleteOnTerminationBefore: true })) },
    };
  },
};
