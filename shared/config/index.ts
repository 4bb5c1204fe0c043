import { z } from 'zod';
import { ConfigurationError } from '../errors/index.ts';

export const MODES = ['observe', 'contain', 'full'] as const;
export type Mode = (typeof MODES)[number];

const jsonStringList = (name: string) =>
  z
    .string()
    .default('[]')
    .transform((raw, ctx) => {
      try {
        const parsed: unknown = JSON.parse(raw);
        const list = z.array(z.string().min(1)).parse(parsed);
        return list;
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name} must be a JSON array of strings, e.g. ["a","b"]` });
        return z.NEVER;
      }
    });

const numberFrom = (name: string, min: number, max: number, fallback: string) =>
  z
    .string()
    .default(fallback)
    // An empty string is not 0: it would silently switch a gate off.
    .refine((raw) => raw.trim() !== '', { message: `${name} must not be empty` })
    .transform(Number)
    .refine((n) => Number.isFinite(n) && n >= min && n <= max, {
      message: `${name} must be a number between ${min} and ${max}`,
    });

const Ec2OptionsSchema = z
  .object({
    /** Where investigators examine copies of the disks. */
    forensics: z
      .object({
        /** An existing forensic instance: volumes are created in its AZ and attached to it. */
        instanceId: z.string().regex(/^i-[0-9a-f]{8,17}$/, 'forensics.instanceId must be an instance id (i-…)').optional(),
        /** Or launch one forensic instance per incident. */
        launch: z
          .object({
            amiId: z.string().regex(/^ami-[0-9a-f]{8,17}$/, 'forensics.launch.amiId must be an AMI id (ami-…)'),
            subnetId: z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'forensics.launch.subnetId must be a subnet id (subnet-…)'),
            instanceType: z.string().regex(/^[a-z0-9-]+\.[a-z0-9]+$/, 'forensics.launch.instanceType must be an instance type, e.g. m5.large').default('m5.large'),
            securityGroupIds: z.array(z.string().regex(/^sg-[0-9a-f]{8,17}$/)).default([]),
          })
          .optional(),
        /** Copy the snapshots, re-encrypted with this key, and share the copies with a forensic account. */
        copy: z
          .object({
            accountId: z.string().regex(/^\d{12}$/, 'forensics.copy.accountId must be a 12-digit account id'),
            kmsKeyArn: z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/, 'forensics.copy.kmsKeyArn must be a KMS key or alias ARN'),
          })
          .optional(),
      })
      .refine((f) => !(f.instanceId && f.launch), { message: 'forensics: give instanceId or launch, not both' })
      .optional(),
    /** Online investigation through SSM Run Command. */
    onlineCapture: z
      .object({
        enabled: z.boolean().default(false),
        /** A shell command that captures memory to the evidence bucket (e.g. AVML + upload); optional. */
        memoryCaptureCommand: z.string().min(1).max(4096).optional(),
        /** How long one delivery waits for the command before looking again later. */
        waitSeconds: z.number().int().min(0).max(30).default(10),
      })
      .default({ enabled: false, waitSeconds: 10 }),
    /** Start a GuardDuty Malware Protection scan of the instance's volumes (billed per GB scanned). */
    malwareScan: z.boolean().default(true),
    /** Instance profile that replaces the instance's own (none: the profile is removed). */
    isolationInstanceProfileArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:instance-profile\/.+$/, 'isolationInstanceProfileArn must be an instance profile ARN')
      .optional(),
  })
  .strict();

export type Ec2Options = z.infer<typeof Ec2OptionsSchema>;

/** Terraform's jsonencode writes unset optional attributes as null: null means "not set". */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

const jsonObject = <T extends z.ZodType>(name: string, schema: T) =>
  z
    .string()
    .default('{}')
    .transform((raw, ctx): z.infer<T> => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: `${name} must be a JSON object` });
        return z.NEVER;
      }
      const r = schema.safeParse(withoutNulls(parsed));
      if (!r.success) {
        for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: `${name}${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}` });
        return z.NEVER;
      }
      return r.data;
    });

const EnvironmentSchema = z.object({
  FIREBREAK_PLAYBOOK: z.string({ message: 'FIREBREAK_PLAYBOOK is required (the playbook this function runs)' }).min(1, 'FIREBREAK_PLAYBOOK is required (the playbook this function runs)'),
  FIREBREAK_MODE: z.enum(MODES, { message: 'FIREBREAK_MODE must be one of observe | contain | full' }),
  FIREBREAK_ACCOUNT_ID: z.string({ message: 'FIREBREAK_ACCOUNT_ID is required (the 12-digit account id the function acts in)' }).regex(/^\d{12}$/, 'FIREBREAK_ACCOUNT_ID must be the 12-digit account id the function acts in'),
  FIREBREAK_LEDGER_TABLE: z.string({ message: 'FIREBREAK_LEDGER_TABLE is required (the DynamoDB ledger table name)' }).min(3, 'FIREBREAK_LEDGER_TABLE is required (the DynamoDB ledger table name)'),
  FIREBREAK_EVIDENCE_BUCKET: z.string({ message: 'FIREBREAK_EVIDENCE_BUCKET is required (the S3 evidence bucket name)' }).min(3, 'FIREBREAK_EVIDENCE_BUCKET is required (the S3 evidence bucket name)'),
  FIREBREAK_MIN_SEVERITY: numberFrom('FIREBREAK_MIN_SEVERITY', 0, 10, '4'),
  FIREBREAK_FINDING_TYPES_ALLOW: jsonStringList('FIREBREAK_FINDING_TYPES_ALLOW'),
  FIREBREAK_FINDING_TYPES_DENY: jsonStringList('FIREBREAK_FINDING_TYPES_DENY'),
  FIREBREAK_PROTECTED_PRINCIPALS: jsonStringList('FIREBREAK_PROTECTED_PRINCIPALS'),
  FIREBREAK_PROTECTED_RESOURCES: jsonStringList('FIREBREAK_PROTECTED_RESOURCES'),
  FIREBREAK_EXEMPT_TAG: z.string().min(1).default('firebreak:exempt'),
  FIREBREAK_BLAST_RADIUS_LIMIT: numberFrom('FIREBREAK_BLAST_RADIUS_LIMIT', 1, 100000, '10').pipe(z.number().int()),
  FIREBREAK_BLAST_RADIUS_WINDOW_SECONDS: numberFrom('FIREBREAK_BLAST_RADIUS_WINDOW_SECONDS', 60, 31 * 24 * 3600, '3600'),
  FIREBREAK_EC2_OPTIONS: jsonObject('FIREBREAK_EC2_OPTIONS', Ec2OptionsSchema),
  FIREBREAK_QUEUE_URL: z.string().url('FIREBREAK_QUEUE_URL must be the URL of the function\'s own queue').optional(),
  FIREBREAK_FOLLOW_UP_SECONDS: numberFrom('FIREBREAK_FOLLOW_UP_SECONDS', 0, 900, '300').pipe(z.number().int()),
  FIREBREAK_MAX_FOLLOW_UPS: numberFrom('FIREBREAK_MAX_FOLLOW_UPS', 1, 1000, '72').pipe(z.number().int()),
  AWS_REGION: z.string().min(1).default('us-east-1'),
});

/** Validated runtime configuration of one Firebreak function. */
export interface Config {
  playbook: string;
  mode: Mode;
  accountId: string;
  region: string;
  ledgerTable: string;
  evidenceBucket: string;
  minSeverity: number;
  findingTypesAllow: string[];
  findingTypesDeny: string[];
  protectedPrincipals: string[];
  protectedResources: string[];
  exemptTagKey: string;
  blastRadius: { limit: number; windowSeconds: number };
  /** Options of the EC2 playbook (forensics, online capture, isolation profile). */
  ec2: Ec2Options;
  /**
   * Pending steps (snapshots completing, commands running) are looked at again by
   * re-queuing the message on the function's own queue after `delaySeconds`, at
   * most `maxAttempts` times per step. Without a queue URL, GuardDuty's own
   * re-publication of the finding is the only follow-up.
   */
  followUp: { queueUrl?: string; delaySeconds: number; maxAttempts: number };
}

/**
 * Reads and validates the function's configuration from environment variables
 * (set by the Terraform module). Throws a {@link ConfigurationError} listing every
 * problem at once, so a bad deployment fails at start with an actionable message.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env);
 * ```
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const result = EnvironmentSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigurationError(
      result.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)),
    );
  }
  const e = result.data;
  return {
    playbook: e.FIREBREAK_PLAYBOOK,
    mode: e.FIREBREAK_MODE,
    accountId: e.FIREBREAK_ACCOUNT_ID,
    region: e.AWS_REGION,
    ledgerTable: e.FIREBREAK_LEDGER_TABLE,
    evidenceBucket: e.FIREBREAK_EVIDENCE_BUCKET,
    minSeverity: e.FIREBREAK_MIN_SEVERITY,
    findingTypesAllow: e.FIREBREAK_FINDING_TYPES_ALLOW,
    findingTypesDeny: e.FIREBREAK_FINDING_TYPES_DENY,
    protectedPrincipals: e.FIREBREAK_PROTECTED_PRINCIPALS,
    protectedResources: e.FIREBREAK_PROTECTED_RESOURCES,
    exemptTagKey: e.FIREBREAK_EXEMPT_TAG,
    blastRadius: { limit: e.FIREBREAK_BLAST_RADIUS_LIMIT, windowSeconds: e.FIREBREAK_BLAST_RADIUS_WINDOW_SECONDS },
    ec2: e.FIREBREAK_EC2_OPTIONS,
    followUp: {
      ...(e.FIREBREAK_QUEUE_URL ? { queueUrl: e.FIREBREAK_QUEUE_URL } : {}),
      delaySeconds: e.FIREBREAK_FOLLOW_UP_SECONDS,
      maxAttempts: e.FIREBREAK_MAX_FOLLOW_UPS,
    },
  };
}
