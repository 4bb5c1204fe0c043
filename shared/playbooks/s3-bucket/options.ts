import * as z from 'zod';

/** A CloudTrail Lake event data store: its ARN (the query names it by the id at the end). */
const EventDataStoreArn = z
  .string()
  .regex(
    /^arn:aws[a-z-]*:cloudtrail:[a-z0-9-]+:\d{12}:eventdatastore\/[A-Za-z0-9-]{1,128}$/,
    'data_events_event_data_store must be a CloudTrail Lake event data store ARN (arn:aws:cloudtrail:<region>:<account>:eventdatastore/<id>) that collects S3 data events',
  );

/** A GuardDuty finding type, or a prefix of types ending in `*` (`Exfiltration:S3/*`). */
const FindingTypePattern = z
  .string()
  .regex(/^[A-Za-z0-9]+:[A-Za-z0-9]+\/[A-Za-z0-9.!&_*-]*$/, 'hand_off_finding_types must be GuardDuty finding types, or prefixes ending in * (e.g. Exfiltration:S3/*)');

/**
 * Options of the S3 bucket playbook: Terraform's `playbooks.s3-bucket.options`, handed to the
 * function as they are (FIREBREAK_OPTIONS).
 */
export const S3OptionsSchema = z
  .object({
    account_block_public_access: z
      .boolean()
      .default(false)
      .describe('Also turn on every Block Public Access setting of the whole account (S3 Control); release restores what the account had. Off by default: it affects every bucket of the account.'),
    cloudtrail_lookback_days: z
      .number()
      .int()
      .min(1)
      .max(90)
      .default(7)
      .describe("How many days before the finding's first activity the CloudTrail review of the bucket reads (LookupEvents keeps 90)."),
    cloudtrail_max_pages: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(20)
      .describe('At most this many LookupEvents pages (50 events each) per delivery; the review resumes on the next delivery.'),
    data_events_event_data_store: EventDataStoreArn.optional().describe(
      'A CloudTrail Lake event data store that collects S3 data events: the object-level calls on the bucket are queried there. Without it they are recorded as not visible (LookupEvents serves management events only).',
    ),
    hand_off_finding_types: z
      .array(FindingTypePattern)
      .default([])
      .describe(
        'Finding types for which a source that was authorised for its calls is handed to the IAM user or role playbook (its credentials are the compromise). Empty by default: an administrator\'s session must not be revoked because of a bucket finding; the recommendation is recorded instead.',
      ),
  })
  .strict();

export type S3Options = z.infer<typeof S3OptionsSchema>;

/** True when the finding type is one `patterns` names (exactly, or by a prefix ending in `*`). */
export function findingTypeMatches(type: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.endsWith('*') ? type.startsWith(p.slice(0, -1)) : type === p));
}
