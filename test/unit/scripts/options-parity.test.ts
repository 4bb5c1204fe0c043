import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GENERATED_TF, root } from '../../../scripts/lib/generate.ts';
import { terraformAccepts } from '../../../scripts/lib/terraform-parity.ts';
import { loadOptions } from '../../../shared/config/index.ts';
import { AccountOptionsSchema } from '../../../shared/playbooks/account/options.ts';
import { IamUserOptionsSchema } from '../../../shared/playbooks/iam-user/options.ts';
import { S3OptionsSchema } from '../../../shared/playbooks/s3-bucket/options.ts';
import { Ec2OptionsSchema } from '../../../shared/playbooks/ec2-instance/options.ts';
import { IamRoleOptionsSchema } from '../../../shared/playbooks/iam-role/options.ts';
import { EcsTaskOptionsSchema } from '../../../shared/playbooks/ecs-task/options.ts';
import { ContainerOptionsSchema } from '../../../shared/playbooks/container/options.ts';
import { RdsOptionsSchema } from '../../../shared/playbooks/rds-instance/options.ts';

/** The generated `variable "playbooks"` block, as Terraform reads it. */
const playbooksVariable = () => {
  const text = readFileSync(join(root, GENERATED_TF), 'utf8');
  const start = text.indexOf('variable "playbooks" {');
  return text.slice(start, text.indexOf('\nlocals {', start));
};

/** What the function would say of options Terraform handed it (null = unset, as Terraform's jsonencode writes it). */
const functionAccepts = (options: unknown, schema: Parameters<typeof loadOptions>[0] = Ec2OptionsSchema): boolean => {
  try {
    loadOptions(schema, JSON.parse(JSON.stringify(options, (_k, v) => (v === null ? undefined : v))));
    return true;
  } catch {
    return false;
  }
};

const KEY = 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const LAUNCH = { ami_id: 'ami-0abcdef1234567890', subnet_id: 'subnet-0abcdef1234567890' };

const CASES: Array<{ name: string; options: Record<string, unknown> }> = [
  { name: 'nothing set', options: {} },
  { name: 'forensic instance', options: { forensics: { instance_id: 'i-0abcdef1234567890' } } },
  { name: 'launch with defaults', options: { forensics: { launch: LAUNCH } } },
  { name: 'launch with everything', options: { forensics: { launch: { ...LAUNCH, instance_type: 't3.large', security_group_ids: ['sg-0abcdef1234567890'] }, copy: { account_id: '999988887777', kms_key_arn: KEY } } } },
  { name: 'online capture', options: { online_capture: { enabled: true, memory_capture_command: '/opt/avml /tmp/m.lime', wait_seconds: 30 } } },
  { name: 'own isolation profile', options: { isolation_instance_profile_arn: 'arn:aws:iam::123456789012:instance-profile/ops/iso' } },
  { name: 'created isolation profile', options: { create_isolation_profile: true, release_pass_role_arns: ['arn:aws:iam::*:role/app-*'] } },
  { name: 'instance id not an id', options: { forensics: { instance_id: 'web-01' } } },
  { name: 'instance and launch together', options: { forensics: { instance_id: 'i-0abcdef1234567890', launch: LAUNCH } } },
  { name: 'launch without a subnet', options: { forensics: { launch: { ami_id: LAUNCH.ami_id } } } },
  { name: 'launch with a bad AMI', options: { forensics: { launch: { ...LAUNCH, ami_id: 'ubuntu' } } } },
  { name: 'launch with a bad group', options: { forensics: { launch: { ...LAUNCH, security_group_ids: ['default'] } } } },
  { name: 'launch with a bad instance type', options: { forensics: { launch: { ...LAUNCH, instance_type: 'large' } } } },
  { name: 'copy with an alias instead of a key', options: { forensics: { copy: { account_id: '999988887777', kms_key_arn: 'alias/forensics' } } } },
  { name: 'copy with a short account', options: { forensics: { copy: { account_id: '9999', kms_key_arn: KEY } } } },
  { name: 'wait above 30 s', options: { online_capture: { enabled: true, wait_seconds: 31 } } },
  { name: 'wait below 0 s', options: { online_capture: { wait_seconds: -1 } } },
  { name: 'fractional wait', options: { online_capture: { wait_seconds: 2.5 } } },
  { name: 'empty memory command', options: { online_capture: { enabled: true, memory_capture_command: '' } } },
  { name: 'profile ARN of a role', options: { isolation_instance_profile_arn: 'arn:aws:iam::123456789012:role/iso' } },
  { name: 'own and created profile together', options: { create_isolation_profile: true, isolation_instance_profile_arn: 'arn:aws:iam::123456789012:instance-profile/iso' } },
  { name: 'pass role not a role ARN', options: { release_pass_role_arns: ['app-*'] } },
  { name: 'deployed SSM documents', options: { ssm_documents: { volatile_data: 'fb-prod-volatile-data', memory_capture: 'fb-prod-memory-capture' } } },
  { name: 'AWS shell document as the volatile-data document', options: { ssm_documents: { volatile_data: 'AWS-RunShellScript' } } },
  { name: 'volatile-data document as the memory document', options: { ssm_documents: { memory_capture: 'fb-prod-volatile-data' } } },
];

describe('Terraform and the EC2 options schema', () => {
  it('accept and reject the same option values', { timeout: 120_000 }, async () => {
    // Act
    const terraform = await terraformAccepts(
      playbooksVariable(),
      CASES.map((c) => ({ name: c.name, value: { 'ec2-instance': { options: c.options } } })),
    );

    // Assess
    const verdicts = CASES.map((c) => ({ case: c.name, terraform: terraform[c.name] === true, functions: functionAccepts(c.options) }));
    expect(verdicts.filter((v) => v.terraform !== v.functions)).toEqual([]);
    // Both sides really reject something and accept something: the cases are not all one way.
    expect(verdicts.filter((v) => v.functions).length).toBe(8);
  });
});

const IAM_ROLE_CASES: Array<{ name: string; options: Record<string, unknown> }> = [
  { name: 'nothing set', options: {} },
  { name: 'no hand-off', options: { hand_off_source_instance: false } },
  { name: 'no identity deny', options: { deny_federated_identity: false } },
  { name: 'both set', options: { hand_off_source_instance: true, deny_federated_identity: true } },
  { name: 'hand-off as a string', options: { hand_off_source_instance: 'yes' } },
  { name: 'identity deny as a list', options: { deny_federated_identity: [true] } },
];

describe('Terraform and the IAM role options schema', () => {
  it('accept and reject the same option values', { timeout: 120_000 }, async () => {
    // Act
    const terraform = await terraformAccepts(
      playbooksVariable(),
      IAM_ROLE_CASES.map((c) => ({ name: c.name, value: { 'iam-role': { options: c.options } } })),
    );

    // Assess
    const functions = (options: unknown) => {
      try {
        loadOptions(IamRoleOptionsSchema, options);
        return true;
      } catch {
        return false;
      }
    };
    const verdicts = IAM_ROLE_CASES.map((c) => ({ case: c.name, terraform: terraform[c.name] === true, functions: functions(c.options) }));
    expect(verdicts.filter((v) => v.terraform !== v.functions)).toEqual([]);
    expect(verdicts.filter((v) => v.functions).length).toBe(4);
  });
});

const ECS_TASK_CASES: Array<{ name: string; options: Record<string, unknown> }> = [
  { name: 'nothing set', options: {} },
  { name: 'no hand-off, no scan', options: { hand_off_host: false, malware_scan: false } },
  { name: 'longest protection, raised ACL quota', options: { task_protection_minutes: 2880, network_acl_rules_per_direction: 40 } },
  { name: 'shortest protection, no ACL deny', options: { task_protection_minutes: 1, network_acl_deny: false, role_share_scan_limit: 1000 } },
  { name: 'protection over 48 hours', options: { task_protection_minutes: 2881 } },
  { name: 'no protection minutes', options: { task_protection_minutes: 0 } },
  { name: 'ACL quota under the default', options: { network_acl_rules_per_direction: 19 } },
  { name: 'fractional minutes', options: { task_protection_minutes: 1.5 } },
  { name: 'hand-off as a string', options: { hand_off_host: 'yes' } },
  { name: 'ACL quota over the maximum', options: { network_acl_rules_per_direction: 41 } },
];

describe('Terraform and the ECS task options schema', () => {
  it('accept and reject the same option values', { timeout: 120_000 }, async () => {
    // Act
    const terraform = await terraformAccepts(
      playbooksVariable(),
      ECS_TASK_CASES.map((c) => ({ name: c.name, value: { 'ecs-task': { options: c.options } } })),
    );

    // Assess
    const functions = (options: unknown) => {
      try {
        loadOptions(EcsTaskOptionsSchema, options);
        return true;
      } catch {
        return false;
      }
    };
    const verdicts = ECS_TASK_CASES.map((c) => ({ case: c.name, terraform: terraform[c.name] === true, functions: functions(c.options) }));
    expect(verdicts.filter((v) => v.terraform !== v.functions)).toEqual([]);
    expect(verdicts.filter((v) => v.functions).length).toBe(4);
  });
});

const CONTAINER_CASES: Array<{ name: string; options: Record<string, unknown> }> = [
  { name: 'nothing set', options: {} },
  { name: 'no hand-off, no retention', options: { hand_off_host: false, snapshot_retention: false } },
  { name: 'no suspension', options: { suspend_container: false } },
  { name: 'wait 30 s', options: { wait_seconds: 30 } },
  { name: 'the deployed document', options: { ssm_documents: { container_control: 'firebreak-container-control' } } },
  { name: 'wait 31 s', options: { wait_seconds: 31 } },
  { name: 'wait 1.5 s', options: { wait_seconds: 1.5 } },
  { name: 'AWS shell document', options: { ssm_documents: { container_control: 'AWS-RunShellScript' } } },
  { name: 'hand-off as a string', options: { hand_off_host: 'yes' } },
];

describe('Terraform and the standalone container options schema', () => {
  it('accept and reject the same option values', { timeout: 120_000 }, async () => {
    // Act
    const terraform = await terraformAccepts(
      playbooksVariable(),
      CONTAINER_CASES.map((c) => ({ name: c.name, value: { container: { options: c.options } } })),
    );

    // Assess
    const functions = (options: unknown) => {
      try {
        loadOptions(ContainerOptionsSchema, options);
        return true;
      } catch {
        return false;
      }
    };
    const verdicts = CONTAINER_CASES.map((c) => ({ case: c.name, terraform: terraform[c.name] === true, functions: functions(c.options) }));
    expect(verdicts.filter((v) => v.terraform !== v.functions)).toEqual([]);
    expect(verdicts.filter((v) => v.functions).length).toBe(5);
  });
});

const ACCOUNT_CASES: Array<{ name: string; options: Record<string, unknown> }> = [
  { name: 'nothing set', options: {} },
  { name: 'sweep enabled', options: { credential_sweep: { enabled: true } } },
  { name: 'sweep of keys only', options: { credential_sweep: { enabled: true, console_passwords: false, key_pairs: false } } },
  { name: 'inventory of 30 days in two regions', options: { inventory_days: 30, regions: ['us-east-1', 'eu-west-1'] } },
  { name: 'inventory of 0 days', options: { inventory_days: 0 } },
  { name: 'inventory of 91 days', options: { inventory_days: 91 } },
  { name: 'fractional inventory days', options: { inventory_days: 1.5 } },
  { name: 'region not a region', options: { regions: ['Europe'] } },
  { name: 'sweep enabled as a string', options: { credential_sweep: { enabled: 'yes' } } },
  { name: 'sweep as a bare boolean', options: { credential_sweep: true } },
];

describe('Terraform and the account options schema', () => {
  it('accept and reject the same option values', { timeout: 120_000 }, async () => {
    // Act
    const terraform = await terraformAccepts(
      playbooksVariable(),
      ACCOUNT_CASES.map((c) => ({ name: c.name, value: { account: { options: c.options } } })),
    );

    // Assess
    const verdicts = ACCOUNT_CASES.map((c) => ({ case: c.name, terraform: terraform[c.name] === true, functions: functionAccepts(c.options, AccountOptionsSchema) }));
    expect(verdicts.filter((v) => v.terraform !== v.functions)).toEqual([]);
    expect(verdicts.filter((v) => v.functions).length).toBe(4);
  });
});

const IAM_USER_CASES: Array<{ name: string; options: Record<string, unknown> }> = [
  { name: 'nothing set', options: {} },
  { name: 'replacement key and other keys deactivated', options: { create_replacement_key: true, deactivate_other_keys: true } },
  { name: 'federation lookup bounds', options: { federation_lookup_hours: 2160, federation_lookup_attempts: 1 } },
  { name: 'federation lookup beyond 90 days', options: { federation_lookup_hours: 2161 } },
  { name: 'federation lookup of no hours', options: { federation_lookup_hours: 0 } },
  { name: 'fractional federation lookup', options: { federation_lookup_hours: 1.5 } },
  { name: 'no federation lookup attempt', options: { federation_lookup_attempts: 0 } },
  { name: 'too many federation lookup attempts', options: { federation_lookup_attempts: 21 } },
];

describe('Terraform and the IAM user options schema', () => {
  it('accept and reject the same option values', { timeout: 120_000 }, async () => {
    // Act
    const terraform = await terraformAccepts(
      playbooksVariable(),
      IAM_USER_CASES.map((c) => ({ name: c.name, value: { 'iam-user': { options: c.options } } })),
    );

    // Assess
    const verdicts = IAM_USER_CASES.map((c) => ({ case: c.name, terraform: terraform[c.name] === true, functions: functionAccepts(c.options, IamUserOptionsSchema) }));
    expect(verdicts.filter((v) => v.terraform !== v.functions)).toEqual([]);
    expect(verdicts.filter((v) => v.functions).length).toBe(3);
  });
});

const EDS = 'arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/EXAMPLE-f852-4e8f-8bd1-bcf6cEXAMPLE';

const S3_CASES: Array<{ name: string; options: Record<string, unknown> }> = [
  { name: 'nothing set', options: {} },
  { name: 'account-level block', options: { account_block_public_access: true } },
  { name: 'everything', options: { account_block_public_access: true, cloudtrail_lookback_days: 90, cloudtrail_max_pages: 100, data_events_event_data_store: EDS, hand_off_finding_types: ['Exfiltration:S3/AnomalousBehavior', 'UnauthorizedAccess:S3/*'] } },
  { name: 'one day, one page', options: { cloudtrail_lookback_days: 1, cloudtrail_max_pages: 1 } },
  { name: 'lookback of 0 days', options: { cloudtrail_lookback_days: 0 } },
  { name: 'lookback past CloudTrail\'s 90 days', options: { cloudtrail_lookback_days: 91 } },
  { name: 'fractional lookback', options: { cloudtrail_lookback_days: 1.5 } },
  { name: 'no pages', options: { cloudtrail_max_pages: 0 } },
  { name: 'event data store by id', options: { data_events_event_data_store: 'EXAMPLE-f852-4e8f' } },
  { name: 'trail ARN instead of an event data store', options: { data_events_event_data_store: 'arn:aws:cloudtrail:us-east-1:123456789012:trail/main' } },
  { name: 'hand-off type not a finding type', options: { hand_off_finding_types: ['exfiltration'] } },
];

describe('Terraform and the S3 bucket options schema', () => {
  it('accept and reject the same option values', { timeout: 120_000 }, async () => {
    // Act
    const terraform = await terraformAccepts(
      playbooksVariable(),
      S3_CASES.map((c) => ({ name: c.name, value: { 's3-bucket': { options: c.options } } })),
    );

    // Assess
    const verdicts = S3_CASES.map((c) => ({ case: c.name, terraform: terraform[c.name] === true, functions: functionAccepts(c.options, S3OptionsSchema) }));
    expect(verdicts.filter((v) => v.terraform !== v.functions)).toEqual([]);
    expect(verdicts.filter((v) => v.functions).length).toBe(4);
  });
});

const RDS_CASES: Array<{ name: string; options: Record<string, unknown> }> = [
  { name: 'nothing set', options: {} },
  { name: 'legitimate users and networks', options: { legitimate_users: ['etl_nightly'], legitimate_networks: ['10.20.0.0/16', '192.0.2.7/32'] } },
  { name: 'everything off', options: { restrict_database_user: false, rotate_password: false, enable_iam_authentication: false, download_logs: { enabled: false } } },
  { name: 'logs bounded', options: { download_logs: { max_files: 5, max_bytes_per_file: 2048 }, connect_timeout_ms: 1000 } },
  { name: 'network ACL deny off, raised quota', options: { network_acl_deny: false, network_acl_rules_per_direction: 40 } },
  { name: 'network ACL quota above 40', options: { network_acl_rules_per_direction: 41 } },
  { name: 'network not a CIDR', options: { legitimate_networks: ['10.20.0.0'] } },
  { name: 'too many log files', options: { download_logs: { max_files: 101 } } },
  { name: 'function group not a group', options: { function_security_group_ids: ['default'] } },
  { name: 'timeout as a string', options: { connect_timeout_ms: 'soon' } },
];

describe('Terraform and the RDS options schema', () => {
  it('accept and reject the same option values', { timeout: 120_000 }, async () => {
    // Act
    const terraform = await terraformAccepts(
      playbooksVariable(),
      RDS_CASES.map((c) => ({ name: c.name, value: { 'rds-instance': { options: c.options } } })),
    );

    // Assess
    const verdicts = RDS_CASES.map((c) => ({ case: c.name, terraform: terraform[c.name] === true, functions: functionAccepts(c.options, RdsOptionsSchema) }));
    expect(verdicts.filter((v) => v.terraform !== v.functions)).toEqual([]);
    expect(verdicts.filter((v) => v.functions).length).toBe(5);
  });
});
