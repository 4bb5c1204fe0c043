import * as z from 'zod';

/** A Firebreak-owned SSM document's name: `<name_prefix>-<suffix>` (so never one of AWS's, such as AWS-RunShellScript). */
const documentName = (suffix: string, option: string) =>
  z
    .string()
    .max(128, `ssm_documents.${option} must be at most 128 characters (SSM's limit)`)
    .regex(new RegExp(`^[A-Za-z0-9_.-]+-${suffix}$`), `ssm_documents.${option} must be the name of the document Terraform deploys, <name_prefix>-${suffix}`);

const InstanceId = z.string().regex(/^i-[0-9a-f]{8,17}$/, 'forensics.instance_id must be an instance id (i-…)');

/**
 * Options of the EC2 playbook: Terraform's `playbooks.ec2-instance.options`, handed to the
 * function as they are (FIREBREAK_OPTIONS) — the keys are Terraform's, so nothing translates
 * them. `make build` renders this schema as the Terraform type and validations of
 * `terraform/playbooks.generated.tf`.
 */
export const Ec2OptionsSchema = z
  .object({
    forensics: z
      .object({
        instance_id: InstanceId.optional().describe('An existing forensic instance: volumes made from the incident\'s snapshots are created in its Availability Zone and attached to it (never mounted).'),
        launch: z
          .object({
            ami_id: z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'forensics.launch.ami_id must be an AMI id (ami-…)'),
            subnet_id: z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'forensics.launch.subnet_id must be a subnet id (subnet-…); it decides the forensic instance\'s Availability Zone'),
            instance_type: z.string().regex(/^[a-z0-9-]+\.[a-z0-9]+$/, 'forensics.launch.instance_type must be an instance type, e.g. m5.large').default('m5.large'),
            security_group_ids: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'forensics.launch.security_group_ids must be security group ids (sg-…)')).default([]),
          })
          .strict()
          .optional()
          .describe('Or launch one forensic instance per incident from ami_id in subnet_id.'),
        copy: z
          .object({
            account_id: z.string().regex(/^\d{12}$/, 'forensics.copy.account_id must be a 12-digit account id'),
            kms_key_arn: z
              .string()
              .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/.+$/, 'forensics.copy.kms_key_arn must be a customer-managed KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>) the forensic account may decrypt with'),
          })
          .strict()
          .optional()
          .describe('Also copy the snapshots, re-encrypted with kms_key_arn, and share the copies with account_id.'),
      })
      .strict()
      .refine((f) => !(f.instance_id && f.launch), { message: 'forensics: set instance_id (an existing forensic instance) or launch (one per incident), not both' })
      .optional(),
    online_capture: z
      .object({
        enabled: z.boolean().default(false).describe('Capture volatile data (processes, connections, users, recent files) through SSM Run Command; the isolation group then allows HTTPS to the VPC\'s SSM endpoints only.'),
        memory_capture_command: z.string().min(1).max(4096).optional().describe('A shell command run on the instance that captures memory (e.g. AVML); its output goes to the evidence bucket.'),
        wait_seconds: z.number().int().min(0).max(30).default(10).describe('How long one delivery waits for a command before looking again later.'),
      })
      .strict()
      .default({ enabled: false, wait_seconds: 10 }),
    ssm_documents: z
      .object({
        volatile_data: documentName('volatile-data', 'volatile_data').optional().describe('The document that collects volatile data (deployed with online_capture.enabled).'),
        memory_capture: documentName('memory-capture', 'memory_capture').optional().describe('The document that runs memory_capture_command (deployed with it).'),
      })
      .strict()
      .default({})
      .describe('Set by Terraform, not by you: the names of the SSM Command documents it deploys for online capture (a value given here is replaced). Run Command is sent only to these, never to AWS-RunShellScript; a step whose document is not deployed is skipped.'),
    malware_scan: z.boolean().default(true).describe('Start a GuardDuty Malware Protection scan of the instance\'s volumes (billed per GB scanned).'),
    isolation_instance_profile_arn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:instance-profile\/.+$/, 'isolation_instance_profile_arn must be an instance profile ARN (arn:aws:iam::<account>:instance-profile/<name>)')
      .optional()
      .describe('Replaces the instance\'s profile during containment (e.g. SSM agent only); without it the profile is removed.'),
    create_isolation_profile: z
      .boolean()
      .default(false)
      .describe('Terraform only: create that profile (a role with only AmazonSSMManagedInstanceCore); Terraform hands the function its ARN as isolation_instance_profile_arn instead.'),
    release_pass_role_arns: z
      .array(z.string().regex(/^arn:aws[a-z-]*:iam::(\d{12}|\*):role\/.+$/, 'release_pass_role_arns must be role ARNs or ARN patterns, e.g. arn:aws:iam::123456789012:role/app-*'))
      .default([])
      .describe('Terraform only: roles a release through the bus may hand back to an instance with its original profile.'),
  })
  .strict()
  .refine((o) => !(o.create_isolation_profile && o.isolation_instance_profile_arn), {
    message: 'set isolation_instance_profile_arn (your own profile) or create_isolation_profile = true, not both',
  });

export type Ec2Options = z.infer<typeof Ec2OptionsSchema>;

/**
 * What Terraform checks that the schema's refinements check too (a refinement cannot be
 * rendered from the schema); the parity test proves both sides agree.
 */
export const EC2_TERRAFORM_VALIDATIONS = [
  {
    condition: 'try(OPTIONS.forensics.instance_id, null) == null || try(OPTIONS.forensics.launch, null) == null',
    error_message: 'forensics: set instance_id (an existing forensic instance) or launch (one per incident), not both.',
  },
  {
    condition: '!(try(OPTIONS.create_isolation_profile, false) == true && try(OPTIONS.isolation_instance_profile_arn, null) != null)',
    error_message: 'set isolation_instance_profile_arn (your own profile) or create_isolation_profile = true, not both.',
  },
] as const;
