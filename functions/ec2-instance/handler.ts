import { createFindingHandler } from '../../shared/handler/index.ts';
import { ec2InstancePlaybook } from '../../shared/playbooks/index.ts';

/** Compromised EC2 instance: SQS (from the EventBridge rule) → the EC2 playbook. */
export const handler = createFindingHandler(ec2InstancePlaybook);
