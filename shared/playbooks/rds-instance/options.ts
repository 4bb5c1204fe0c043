import * as z from 'zod';
import { DEFAULT_NETWORK_ACL_RULES_PER_DIRECTION } from '../../actions/network-acl.ts';

const CIDR = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\/(3[0-2]|[12]?\d)$/;

/**
 * Options of the RDS playbook: Terraform's `playbooks.rds-instance.options`, handed to the
 * function as they are (FIREBREAK_OPTIONS). `make build` renders this schema as the Terraform
 * type and validations of `terraform/playbooks.generated.tf`.
 */
export const RdsOptionsSchema = z
  .object({
    legitimate_users: z
      .array(z.string().min(1).max(128))
      .default([])
      .describe('Database users whose logins are legitimate behaviour: a finding about one of them (from a legitimate network, when legitimate_networks is set) is recorded and nothing else is done.'),
    legitimate_networks: z
      .array(z.string().regex(CIDR, 'legitimate_networks must be IPv4 CIDR blocks, e.g. 10.0.0.0/8'))
      .default([])
      .describe('IPv4 CIDR blocks logins legitimately come from: a finding whose remote addresses all lie in them (by a legitimate user, when legitimate_users is set) is recorded and nothing else is done.'),
    function_security_group_ids: z
      .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'function_security_group_ids must be security group ids (sg-…)'))
      .default([])
      .describe('Set by Terraform, not by you (from rds_function_security_group_ids): the RDS function\'s own security groups, the only source the RDS isolation group admits, on the database port (a value given here is replaced).'),
    network_acl_deny: z
      .boolean()
      .default(true)
      .describe('Deny the finding\'s remote addresses in the network ACL of every subnet of the DB subnet group (inbound by source, outbound by destination), numbered below each ACL\'s lowest rule; release deletes those entries. The deny applies to the whole subnets. Off: recorded as a recommendation.'),
    network_acl_rules_per_direction: z
      .number()
      .int()
      .min(20, 'network_acl_rules_per_direction must be between 20 (AWS\'s default quota) and 40 (its maximum)')
      .max(40, 'network_acl_rules_per_direction must be between 20 (AWS\'s default quota) and 40 (its maximum)')
      .default(DEFAULT_NETWORK_ACL_RULES_PER_DIRECTION)
      .describe('Your account\'s quota of rules per network ACL and direction (AWS default 20, adjustable to 40): an ACL that holds this many is recorded as full.'),
    restrict_database_user: z
      .boolean()
      .default(true)
      .describe('Inside the database: refuse the suspected user\'s logins (PostgreSQL NOLOGIN, MySQL/MariaDB ACCOUNT LOCK) and end its sessions and those from the finding\'s remote addresses, with the admin credentials from Secrets Manager. Off, or unreachable: the SQL is recorded as a recommendation.'),
    rotate_password: z
      .boolean()
      .default(true)
      .describe('Rotate the suspected user\'s password: RotateSecret for a secret with rotation (tagged firebreak:db-user), RDS-managed rotation for the master user, otherwise a new random password kept in a firebreak/ secret.'),
    enable_iam_authentication: z.boolean().default(true).describe('Enable IAM database authentication on the instance (the cluster for Aurora): hardening, kept after release.'),
    download_logs: z
      .object({
        enabled: z.boolean().default(true).describe('Copy the audit and error logs to the evidence bucket (DescribeDBLogFiles, DownloadDBLogFilePortion).'),
        max_files: z.number().int().min(1).max(100).default(20).describe('At most this many log files, newest first, per DB instance.'),
        max_bytes_per_file: z.number().int().min(1024).max(104857600).default(10485760).describe('At most this many bytes of one log file.'),
      })
      .strict()
      .default({ enabled: true, max_files: 20, max_bytes_per_file: 10485760 }),
    connect_timeout_ms: z.number().int().min(500).max(30000).default(5000).describe('How long the database connection may take before the database counts as unreachable.'),
  })
  .strict();

export type RdsOptions = z.infer<typeof RdsOptionsSchema>;
