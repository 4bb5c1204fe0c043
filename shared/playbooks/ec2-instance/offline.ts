import { ModifyInstanceAttributeCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import * as z from 'zod';
import { describeInstanceById } from '../../actions/instances.ts';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import { captureConsoleOutput, captureConsoleScreenshot, preserveInstanceMetadata, snapshotVolumes } from './evidence.ts';
import { captureMemory, captureVolatileData } from './online.ts';
import { ec2Step } from './types.ts';

const STEP = 'stopForOfflineInvestigation';

/** What stopForOfflineInvestigation records (pending or done): the state it found first, the last it saw, and when it asked EC2 to stop (null: it never had to). */
export const StopDataSchema = z.object({
  stateBefore: z.string(),
  finalState: z.string(),
  stopRequestedAt: z.string().nullable(),
});

export const stopForOfflineInvestigation = ec2Step({
  name: STEP,
  stage: 'investigate',
  description: 'Stop the instance for offline investigation, once its disks are snapshotted and every live capture has finished',
  // Nothing more: Firebreak never terminates, and a test holds this list to that.
  iamActions: ['ec2:DescribeInstances', 'ec2:ModifyInstanceAttribute', 'ec2:StopInstances'],
  minimumMode: 'full',
  // A snapshot holds the disk as of its start, even while it is still pending, so the
  // instance may stop as soon as snapshotVolumes is done.
  requires: [snapshotVolumes, preserveInstanceMetadata],
  // Stopping loses memory and the live console: every live capture must have ended first.
  after: [captureVolatileData, captureMemory, captureConsoleOutput, captureConsoleScreenshot],
  data: StopDataSchema,
  async run({ clients, resource, now, previous }) {
    const id = resource.instanceId;
    // What an earlier delivery of this step recorded (undefined for the engine's own `waitingOn` record).
    const carried = previous?.data;
    const instance = await describeInstanceById(clients.ec2, id);
    const state = instance?.State?.Name ?? 'missing';
    const stateBefore = carried?.stateBefore ?? state;
    let stopRequestedAt = carried?.stopRequestedAt ?? null;
    const data = (finalState: string) => ({ stateBefore, finalState, stopRequestedAt });
    const lifted = 'stop protection was lifted first; termination protection stays on';

    if (state === 'missing' || state === 'terminated' || state === 'shutting-down') {
      throw new StepFailedError(STEP, 'InstanceGone', `${id} is ${state === 'missing' ? 'no longer described by EC2' : state}: there is nothing to stop; the evidence is in the snapshots`);
    }
    if (instance?.RootDeviceType === 'instance-store') {
      throw new StepFailedError(STEP, 'CannotStopInstanceStoreBacked', `${id} has an instance-store root device and cannot be stopped (only terminated, which Firebreak never does): keep it isolated`);
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
    const after = (await describeInstanceById(clients.ec2, id))?.State?.Name ?? 'unknown';
    if (after === 'stopped') {
      return { status: 'done', summary: `${id} stopped for offline investigation (${lifted})`, data: data(after) };
    }
    return { status: 'pending', retryAfterSeconds: 15, summary: `stop requested for ${id}, now ${after} (${lifted})`, data: data(after) };
  },
});
