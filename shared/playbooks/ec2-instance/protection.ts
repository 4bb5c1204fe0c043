import { ModifyInstanceAttributeCommand, type ModifyInstanceAttributeRequest } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { ec2Step } from './types.ts';

// No undo here: release keeps these protections (the release action keepProtectionsAndEvidence
// says so, and how to lift each), because they keep the evidence safe.

/** A containment step that sets one attribute of the instance (ModifyInstanceAttribute takes one per call). */
function setInstanceAttribute(name: string, description: string, attribute: Omit<ModifyInstanceAttributeRequest, 'InstanceId'>, said: (instanceId: string) => string) {
  return ec2Step({
    name,
    stage: 'contain',
    description,
    iamActions: ['ec2:ModifyInstanceAttribute'],
    async run({ clients, resource }) {
      await clients.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: resource.instanceId, ...attribute }));
      return { status: 'done', summary: said(resource.instanceId) };
    },
  });
}

export const enableTerminationProtection = setInstanceAttribute(
  'enableTerminationProtection',
  'Enable termination protection so the instance and its evidence cannot disappear',
  { DisableApiTermination: { Value: true } },
  (id) => `termination protection enabled on ${id}`,
);

export const setShutdownBehaviourToStop = setInstanceAttribute(
  'setShutdownBehaviourToStop',
  'Set the instance-initiated shutdown behaviour to stop, so a shutdown from inside cannot terminate it',
  { InstanceInitiatedShutdownBehavior: { Value: 'stop' } },
  (id) => `shutdown behaviour of ${id} set to stop`,
);

export const enableStopProtection = ec2Step({
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
});

/** The volumes whose DeleteOnTermination containment turned off. */
const PreservedVolumesSchema = z.object({
  volumes: z.array(z.object({ volumeId: z.string(), deviceName: z.string(), deleteOnTerminationBefore: z.boolean() })),
});

export const preserveVolumesOnTermination = ec2Step({
  name: 'preserveVolumesOnTermination',
  stage: 'contain',
  description: 'Turn DeleteOnTermination off on every EBS volume so the disks outlive the instance',
  iamActions: ['ec2:ModifyInstanceAttribute'],
  data: PreservedVolumesSchema,
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
});
