import * as z from 'zod';
import { DEFAULT_NETWORK_ACL_RULES_PER_DIRECTION } from '../../actions/network-acl.ts';

/**
 * Options of the ECS task playbook: Terraform's `playbooks.ecs-task.options`, handed to the
 * function as they are (FIREBREAK_OPTIONS). `make build` renders this schema as the Terraform
 * type and validations of `terraform/playbooks.generated.tf`.
 */
export const EcsTaskOptionsSchema = z
  .object({
    hand_off_host: z
      .boolean()
      .default(true)
      .describe(
        'EC2 launch type with bridge or host networking: the task shares its host\'s network, so hand the host instance to the EC2 playbook (a Firebreak Hand-off on the responders\' bus), which isolates it under its own gates and budget. Off: the host is named in the ledger with a recommendation.',
      ),
    malware_scan: z.boolean().default(true).describe('Where the task runs on an EC2 host, start a GuardDuty Malware Protection scan of the host\'s volumes (billed per GB scanned).'),
    network_acl_deny: z
      .boolean()
      .default(true)
      .describe('Deny the finding\'s remote addresses in the network ACL of the task\'s subnet (inbound by source, outbound by destination), numbered below the ACL\'s lowest rule; release deletes those entries. The deny applies to the whole subnet.'),
    network_acl_rules_per_direction: z
      .number()
      .int()
      .min(20, 'network_acl_rules_per_direction must be between 20 (AWS\'s default quota) and 40 (its maximum)')
      .max(40, 'network_acl_rules_per_direction must be between 20 (AWS\'s default quota) and 40 (its maximum)')
      .default(DEFAULT_NETWORK_ACL_RULES_PER_DIRECTION)
      .describe('Your account\'s quota of rules per network ACL and direction (AWS default 20, adjustable to 40): an ACL that holds this many is recorded as full.'),
    task_protection_minutes: z
      .number()
      .int()
      .min(1, 'task_protection_minutes must be between 1 and 2880 (48 hours, ECS\'s maximum)')
      .max(2880, 'task_protection_minutes must be between 1 and 2880 (48 hours, ECS\'s maximum)')
      .default(2880)
      .describe('How long a service task is protected from scale-in (UpdateTaskProtection expiresInMinutes), so its evidence survives; the expiry is recorded. ECS allows at most 2880 minutes.'),
    role_share_scan_limit: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .describe('How many ACTIVE task definitions (newest first) are read to find another family using the task role; with more than this in the account the role is treated as shared and its sessions are not revoked.'),
  })
  .strict();

export type EcsTaskOptions = z.infer<typeof EcsTaskOptionsSchema>;
