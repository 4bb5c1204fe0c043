import { StartMalwareScanCommand } from '@aws-sdk/client-guardduty';
import * as z from 'zod';
import { clientToken } from '../../actions/client-token.ts';
import { hasErrorCode } from '../../errors/index.ts';
import { sharesHostNetwork } from './describe.ts';
import { ecsStep } from './types.ts';

/** What handOffHostInstance records: the host, and the hand-off's event (done) or the recommendation (skipped). */
const HostHandOffSchema = z.object({
  hostInstanceId: z.string(),
  networkMode: z.string(),
  eventId: z.string().optional(),
  recommendation: z.string().optional(),
});

export const handOffHostInstance = ecsStep({
  name: 'handOffHostInstance',
  stage: 'contain',
  description:
    "EC2 launch type with bridge or host networking: the task shares its host's network, so hand the host instance to the EC2 playbook (isolation, protections, snapshots) when configured (hand_off_host)",
  // events:PutEvents on the responders' bus is granted to every function by the module (the hand-off channel).
  iamActions: [],
  data: HostHandOffSchema,
  async run({ resource: task, incident, options, handOff }) {
    if (task.kind === 'cluster') return { status: 'skipped', summary: 'the finding names no task, so no host' };
    if (!task.hostInstanceId) return { status: 'skipped', summary: `task ${task.taskArn} runs on ${task.launchType ?? 'no'} launch type without an EC2 host of the account: nothing to hand over` };
    const networkMode = task.networkMode ?? 'unknown';
    if (!sharesHostNetwork(task)) {
      return {
        status: 'skipped',
        summary: `task ${task.taskArn} runs on host ${task.hostInstanceId} with ${networkMode} networking (its own ENI, isolated on its own); the host was not handed over — contain it too if the container may have escaped: firebreak contain Instance ${task.hostInstanceId} --ticket <ticket>`,
        data: { hostInstanceId: task.hostInstanceId, networkMode },
      };
    }
    if (!options.hand_off_host) {
      const recommendation = `Task ${task.taskArn} uses ${networkMode} networking on instance ${task.hostInstanceId}: no control on the task alone cuts its traffic. Contain the host: firebreak contain Instance ${task.hostInstanceId} --ticket <ticket>`;
      return { status: 'skipped', summary: `host ${task.hostInstanceId} shares the task's network; hand_off_host is off, so it was not handed to the EC2 playbook (see the recommendation)`, data: { hostInstanceId: task.hostInstanceId, networkMode, recommendation } };
    }
    const { eventId } = await handOff({ resourceType: 'Instance', id: task.hostInstanceId }, `host of compromised ECS task ${task.taskArn} (${networkMode} networking shares the host's network; ${incident.findingType}, incident ${incident.incidentId})`);
    return { status: 'done', summary: `host ${task.hostInstanceId}, whose network the task shares (${networkMode}), was handed to the EC2 playbook (event ${eventId})`, data: { hostInstanceId: task.hostInstanceId, networkMode, eventId } };
  },
});

/** GuardDuty refuses a scan within an hour of the previous one on the same instance. */
const RECENTLY_SCANNED = /recently/i;

const HostScanSchema = z.object({ resourceArn: z.string(), scanId: z.string().optional() });

export const startHostMalwareScan = ecsStep({
  name: 'startHostMalwareScan',
  stage: 'evidence',
  description: "Where the task runs on an EC2 host, start a GuardDuty Malware Protection scan of the host's EBS volumes (malware found arrives as new findings)",
  iamActions: ['guardduty:StartMalwareScan', 'iam:CreateServiceLinkedRole'],
  enabledBy: ['malware_scan'],
  data: HostScanSchema,
  async run({ clients, resource: task, incident, options }) {
    if (!options.malware_scan) return { status: 'skipped', summary: 'malware scans are turned off (option malware_scan = false)' };
    if (!task.hostInstanceId) {
      return { status: 'skipped', summary: task.kind === 'cluster' ? 'the finding names no task, so no host' : `task ${task.taskArn} has no EC2 host to scan (${task.launchType ?? 'unknown'} launch type); its image digests are recorded for scanning` };
    }
    const resourceArn = `arn:${incident.partition}:ec2:${incident.region}:${incident.accountId}:instance/${task.hostInstanceId}`;
    try {
      const out = await clients.guardDuty.send(new StartMalwareScanCommand({ ResourceArn: resourceArn, ClientToken: clientToken(incident.incidentId, 'host-malware-scan') }));
      return { status: 'done', summary: `GuardDuty malware scan ${out.ScanId} started on host ${task.hostInstanceId}'s volumes`, data: { resourceArn, ...(out.ScanId ? { scanId: out.ScanId } : {}) } };
    } catch (error) {
      // The EC2 playbook (a hand-off) may have scanned the host already: GuardDuty then refuses a second.
      if (hasErrorCode(error, 'BadRequestException') && RECENTLY_SCANNED.test((error as Error).message)) {
        return { status: 'skipped', summary: `GuardDuty scanned host ${task.hostInstanceId} less than an hour ago (the EC2 playbook's scan after the hand-off, or another): see that scan's results`, data: { resourceArn } };
      }
      throw error;
    }
  },
});
