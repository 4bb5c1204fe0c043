import { DescribeInstancesCommand, ModifyInstanceAttributeCommand, StopInstancesCommand, type EC2Client, type Instance } from '@aws-sdk/client-ec2';
import type { StepDefinition } from '../../engine/index.ts';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import type { Ec2Instance } from './describe.ts';

const STEP = 'stopForOfflineInvestigation';

async function describe(ec2: EC2Client, instanceId: string): Promise<Instance | undefined> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
}

export const stopForOfflineInvestigation: StepDefinition<Ec2Instance> = {
  name: STEP,
  stage: 'investigate',
  description: 'Stop the instance for offline investigation, once its disks are snapshotted and every live capture has finished',
  // Nothing more: Firebreak never terminates, and a test holds this list to that.
  iamActions: ['ec2:DescribeInstances', 'ec2:ModifyInstanceAttribute', 'ec2:StopInstances'],
  minimumMode: 'full',
  // A snapshot holds the disk as of its start, even while it is still pending, so the
  // instance may stop as soon as snapshotVolumes is done.
  requires: ['snapshotVolumes', 'preserveInstanceMetadata'],
  // Stopping loses memory and the live console: every live capture must have ended first.
  after: ['captureVolatileData', 'captureMemory', 'captureConsoleOutput', 'captureConsoleScreenshot'],
  async run({ clients, resource, now, previous }) {
    const id = resource.instanceId;
    const carried = previous?.data ?? {};
    const instance = await describe(clients.ec2, id);
    const state = instance?.State?.Name ?? 'missing';
    const stateBefore = typeof carried.stateBefore === 'string' ? carried.stateBefore : state;
    let stopRequestedAt = typeof carried.stopRequestedAt === 'string' ? carried.stopRequestedAt : null;
    const data = (finalState: string) => ({ stateBefore, finalState, stopRequestedAt });
    const lifted = 'stop protection was lifted first; termination protection stays on';

    if (state === 'missing' || state === 'terminated' || state === 'shutting-down') {
      throw new StepFailedError(STEP, 'InstanceGone', `${id} is ${state === 'missing' ? 'no longer described by EC2' : state}: there is nothing to stop; the evidence is in the snapshots`, false);
    }
    if (instance?.RootDeviceType === 'instance-store') {
      throw new StepFailedError(STEP, 'CannotStopInstanceStoreBacked', `${id} has an instance-store root device and cannot be stopped (only terminated, which Firebreak never does): keep it isolated`, false);
    }
    if (state === 'stopped') {
      return {
        status: 'done',
        summary: stopRequestedAt ? `${id} stopped for offline investigation (${lifted})` : `${id} was already stopped; nothing to do`,
        data: data(state),
      };
    }
    if (state === 'stopping') {
      return { status: 'pending', retryAfterSeconds: 15, summary: `waiting for ${id} to finish stopping`, data: data(state) };
    }

    // StopInstances is refused while stop protection is on, which contain mode turns on.
    await clients.ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiStop: { Value: false } }));
    // A plain stop: never Terminate (evidence), never Force (no clean unmount of the very disks an
    // investigator may later restore) and never Hibernate (it writes memory to the root volume,
    // after the snapshot). The snapshots already hold the disks, so what the OS does while
    // shutting down cannot touch the evidence.
    try {
      await clients.ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
    } catch (error) {
      // A `pending` instance cannot be stopped yet: look again once it runs.
      if (!hasErrorCode(error, 'IncorrectInstanceState')) throw error;
      return { status: 'pending', retryAfterSeconds: 15, summary: `${id} is ${state} and cannot be stopped yet (${lifted})`, data: data(state) };
    }
    stopRequestedAt = now().toISOString();
    const after = (await describe(clients.ec2, id))?.State?.Name ?? 'unknown';
    if (after === 'stopped') {
      return { status: 'done', summary: `${id} stopped for offline investigation (${lifted})`, data: data(after) };
    }
    return { status: 'pending', retryAfterSeconds: 15, summary: `stop requested for ${id}, now ${after} (${lifted})`, data: data(after) };
  },
};
