import * as z from 'zod';
import { ConfigurationError } from '../errors/index.ts';

import { MODES, type Mode } from '../vocabulary/index.ts';

export { MODES, type Mode };

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

/** Terraform's jsonencode writes unset optional attributes as null: null means "not set". */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)]));
}

const jsonObject = (name: string) =>
  z
    .string()
    .default('{}')
    .transform((raw, ctx): Record<string, unknown> => {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) return withoutNulls(parsed) as Record<string, unknown>;
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: `${name} must be a JSON object` });
      return z.NEVER;
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
  FIREBREAK_OPTIONS: jsonObject('FIREBREAK_OPTIONS'),
  FIREBREAK_QUEUE_URL: z.string().url('FIREBREAK_QUEUE_URL must be the URL of the function\'s own queue').optional(),
  FIREBREAK_FOLLOW_UP_SECONDS: numberFrom('FIREBREAK_FOLLOW_UP_SECONDS', 0, 900, '300').pipe(z.number().int()),
  FIREBREAK_MAX_FOLLOW_UPS: numberFrom('FIREBREAK_MAX_FOLLOW_UPS', 1, 1000, '72').pipe(z.number().int()),
  // A standard topic: a FIFO topic would refuse every publication without a message group.
  FIREBREAK_TOPIC_ARN: z
    .string()
    .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'FIREBREAK_TOPIC_ARN must be the ARN of a standard SNS topic (arn:aws:sns:<region>:<account>:<name>)')
    .optional(),
  /** The responders' bus: where a playbook hands a resource over to another (origin `handoff`). */
  FIREBREAK_RESPONDERS_BUS: z.string().regex(/^[A-Za-z0-9._\/-]{1,256}$/, 'FIREBREAK_RESPONDERS_BUS must be an event bus name').optional(),
  /** The playbooks this deployment runs (JSON list): a hand-off to any other has no one to take it. Unset: not known (the CLI, older deployments). */
  FIREBREAK_DEPLOYED_PLAYBOOKS: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined || raw === '') return undefined;
      try {
        const parsed: unknown = JSON.parse(raw);
        if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string' && /^[a-z0-9-]{1,64}$/.test(p))) return parsed as string[];
      } catch {
        // reported below
      }
      ctx.addIssue({ code: 'custom', message: 'FIREBREAK_DEPLOYED_PLAYBOOKS must be a JSON list of playbook names' });
      return z.NEVER;
    }),
  /** The SSM parameter `firebreak pause` and `resume` flip (the kill switch). */
  FIREBREAK_PAUSE_PARAMETER: z.string().regex(/^\/[A-Za-z0-9_.\/-]{1,1010}$/, 'FIREBREAK_PAUSE_PARAMETER must be an SSM parameter name starting with /').optional(),
  /** Organization: the member accounts whose findings this deployment acts on, through their member role. */
  FIREBREAK_MEMBER_ACCOUNT_IDS: jsonStringList('FIREBREAK_MEMBER_ACCOUNT_IDS').pipe(
    z.array(z.string().regex(/^\d{12}$/, 'FIREBREAK_MEMBER_ACCOUNT_IDS must hold 12-digit account ids')),
  ),
  FIREBREAK_MEMBER_ROLE_NAME: z
    .string()
    .regex(/^[\w+=,.@-]{1,64}$/, 'FIREBREAK_MEMBER_ROLE_NAME must be an IAM role name (1-64 characters of letters, digits and +=,.@_-)')
    .default('firebreak-responder'),
  FIREBREAK_MEMBER_EXTERNAL_ID: z
    .string()
    .regex(/^[\w+=,.@:\/-]{2,1224}$/, 'FIREBREAK_MEMBER_EXTERNAL_ID must be 2-1224 characters of letters, digits and +=,.@:/_-')
    .optional(),
  FIREBREAK_PARTITION: z.string().regex(/^aws(-[a-z]+)*$/, 'FIREBREAK_PARTITION must be an AWS partition (aws, aws-cn, aws-us-gov)').default('aws'),
  /** The module's `name_prefix`: every role the deployment creates is named `<prefix>-…`. */
  FIREBREAK_NAME_PREFIX: z.string().regex(/^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$/, 'FIREBREAK_NAME_PREFIX must be the module\'s name_prefix (1-24 lowercase letters, digits and hyphens)').default('firebreak'),
  /** Which function of the playbook this is: containment (findings) or release (releases); unset: both, as the CLI and tests run it. */
  FIREBREAK_FUNCTION_ROLE: z.enum(['contain', 'release'], { message: 'FIREBREAK_FUNCTION_ROLE must be contain or release' }).optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
}).refine((e) => e.FIREBREAK_MEMBER_ACCOUNT_IDS.every((id) => id === e.FIREBREAK_ACCOUNT_ID) || e.FIREBREAK_MEMBER_EXTERNAL_ID !== undefined, {
  message: 'FIREBREAK_MEMBER_EXTERNAL_ID is required with FIREBREAK_MEMBER_ACCOUNT_IDS (the member roles trust only callers that present it)',
  path: ['FIREBREAK_MEMBER_EXTERNAL_ID'],
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
  /**
   * The playbook's options as Terraform wrote them (`playbooks.<name>.options`, unset
   * attributes removed); the handler validates them with the playbook's own schema.
   */
  options: Record<string, unknown>;
  /**
   * Pending steps (snapshots completing, commands running) are looked at again by
   * re-queuing the message on the function's own queue after `delaySeconds`, at
   * most `maxAttempts` times per step. Without a queue URL, GuardDuty's own
   * re-publication of the finding is the only follow-up.
   */
  followUp: { queueUrl?: string; delaySeconds: number; maxAttempts: number };
  /**
   * The SNS topic people are told on (an incident contained, held, failed or released; a
   * finding no playbook handles). Without it nothing is published.
   */
  notificationTopicArn?: string;
  /** The kill switch's SSM parameter; without it the function cannot be paused. */
  pauseParameter?: string;
  /** The AWS partition the deployment runs in (for the member roles' ARNs). */
  partition: string;
  /**
   * The deployment's `name_prefix`: its own roles are named `<prefix>-…` (and, in member accounts,
   * `members.roleName`); no playbook ever acts on them.
   */
  namePrefix: string;
  /**
   * Organization: findings of these accounts are acted on by assuming `roleName` there with
   * `externalId`; a finding of any other account than `accountId` and these is refused.
   */
  members: { accountIds: string[]; roleName: string; externalId?: string };
  /**
   * `contain`: this function handles findings only; `release`: releases only (each has a role
   * that holds only its own steps). Unset: both.
   */
  functionRole?: 'contain' | 'release';
  /** The responders' bus (`FIREBREAK_RESPONDERS_BUS`): where hand-offs between playbooks are put. */
  respondersBus?: string;
  /** The playbooks the deployment runs (`FIREBREAK_DEPLOYED_PLAYBOOKS`); undefined when not known. */
  deployedPlaybooks?: readonly string[];
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
    options: e.FIREBREAK_OPTIONS,
    followUp: {
      ...(e.FIREBREAK_QUEUE_URL ? { queueUrl: e.FIREBREAK_QUEUE_URL } : {}),
      delaySeconds: e.FIREBREAK_FOLLOW_UP_SECONDS,
      maxAttempts: e.FIREBREAK_MAX_FOLLOW_UPS,
    },
    ...(e.FIREBREAK_TOPIC_ARN ? { notificationTopicArn: e.FIREBREAK_TOPIC_ARN } : {}),
    ...(e.FIREBREAK_PAUSE_PARAMETER ? { pauseParameter: e.FIREBREAK_PAUSE_PARAMETER } : {}),
    partition: e.FIREBREAK_PARTITION,
    namePrefix: e.FIREBREAK_NAME_PREFIX,
    members: {
      // The deployment's own account is never a member: its own credentials act there.
      accountIds: [...new Set(e.FIREBREAK_MEMBER_ACCOUNT_IDS)].filter((id) => id !== e.FIREBREAK_ACCOUNT_ID),
      roleName: e.FIREBREAK_MEMBER_ROLE_NAME,
      ...(e.FIREBREAK_MEMBER_EXTERNAL_ID ? { externalId: e.FIREBREAK_MEMBER_EXTERNAL_ID } : {}),
    },
    ...(e.FIREBREAK_FUNCTION_ROLE ? { functionRole: e.FIREBREAK_FUNCTION_ROLE } : {}),
    ...(e.FIREBREAK_RESPONDERS_BUS ? { respondersBus: e.FIREBREAK_RESPONDERS_BUS } : {}),
    ...(e.FIREBREAK_DEPLOYED_PLAYBOOKS ? { deployedPlaybooks: e.FIREBREAK_DEPLOYED_PLAYBOOKS } : {}),
  };
}

/**
 * Whether the deployment acts in an account: its own, or one of its member accounts.
 *
 * @example
 * ```ts
 * actsIn(config, '222233334444') // true when 222233334444 is in member_account_ids
 * ```
 */
export function actsIn(config: Pick<Config, 'accountId' | 'members'>, accountId: string): boolean {
  return accountId === config.accountId || config.members.accountIds.includes(accountId);
}

/**
 * Validates a playbook's options with its schema. Throws a {@link ConfigurationError}
 * naming every problem by its path, as Terraform spells it (`options.forensics.launch.ami_id`).
 *
 * @example
 * ```ts
 * const options = loadOptions(ec2InstancePlaybook.options, config.options);
 * ```
 */
export function loadOptions<O>(schema: z.ZodType<O>, raw: unknown): O {
  const r = schema.safeParse(raw);
  if (!r.success) throw new ConfigurationError(r.error.issues.map((i) => `FIREBREAK_OPTIONS${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`));
  return r.data;
}
