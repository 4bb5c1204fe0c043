import { StopTaskCommand } from '@aws-sdk/client-ecs';
import * as z from 'zod';
import { preserveTaskEvidence } from './evidence.ts';
import { serviceOf } from './describe.ts';
import { ecsStep } from './types.ts';

const StopSchema = z.object({ stoppedReason: z.string(), lastStatus: z.string().optional() });

export const stopTask = ecsStep({
  name: 'stopTask',
  stage: 'investigate',
  description: 'Full mode, once the evidence is saved: stop the task (its service, if any, starts a replacement); never before',
  iamActions: ['ecs:StopTask'],
  minimumMode: 'full',
  requires: [preserveTaskEvidence],
  data: StopSchema,
  async run({ clients, resource: task, incident }) {
    if (task.kind === 'cluster') return { status: 'skipped', summary: 'the finding names no task: nothing is stopped in a whole cluster' };
    if (task.lastStatus === 'STOPPED') return { status: 'done', summary: `task ${task.taskArn} is already stopped`, data: { stoppedReason: 'already stopped', lastStatus: 'STOPPED' } };
    const stoppedReason = `Firebreak incident ${incident.incidentId}: ${incident.findingType}`.slice(0, 255);
    const out = await clients.ecs.send(new StopTaskCommand({ cluster: task.clusterArn, task: task.taskArn!, reason: stoppedReason }));
    const service = serviceOf(task);
    return {
      status: 'done',
      summary: `task ${task.taskArn} stopped after its evidence was saved${service ? `; service ${service} starts a replacement` : ''}; release does not start it again`,
      data: { stoppedReason, ...(out.task?.lastStatus ? { lastStatus: out.task.lastStatus } : {}) },
    };
  },
});
