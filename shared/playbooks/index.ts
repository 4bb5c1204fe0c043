import type { Playbook } from '../engine/index.ts';
import type { PlaybookName } from '../findings/index.ts';
import { ec2InstancePlaybook } from './ec2-instance.ts';

export { ec2InstancePlaybook };

/** The playbooks implemented so far, by name. */
export const PLAYBOOKS: Partial<Record<PlaybookName, Playbook<any>>> = {
  'ec2-instance': ec2InstancePlaybook,
};
