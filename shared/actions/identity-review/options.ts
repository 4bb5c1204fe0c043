/**
 * The option fragments an identity playbook embeds in its own options (snake_case, strict,
 * described: `make build` renders them as Terraform types like the rest of the playbook's options).
 */
import * as z from 'zod';
import { CLOUDTRAIL_RETENTION_DAYS } from '../cloudtrail.ts';

/** The CloudTrail review's defaults, also what an absent `cloudtrail_review` means. */
export const TRAIL_REVIEW_DEFAULTS = { lookback_days: 7, max_events: 10_000, seconds_per_delivery: 20 } as const;

/**
 * `cloudtrail_review`: how far back and how much of the principal's CloudTrail history the review reads.
 *
 * @example
 * ```ts
 * export const IamUserOptionsSchema = z.strictObject({ cloudtrail_review: TrailReviewOptionsSchema, … });
 * ```
 */
export const TrailReviewOptionsSchema = z
  .object({
    lookback_days: z
      .number()
      .int()
      .min(1)
      .max(CLOUDTRAIL_RETENTION_DAYS)
      .default(TRAIL_REVIEW_DEFAULTS.lookback_days)
      .describe("Days of CloudTrail event history read before the finding's first activity (GuardDuty's eventFirstSeen), up to now; LookupEvents keeps 90."),
    max_events: z
      .number()
      .int()
      .min(50)
      .max(100_000)
      .default(TRAIL_REVIEW_DEFAULTS.max_events)
      .describe('The most events one review reads (50 per LookupEvents page); past it the report says it is truncated.'),
    seconds_per_delivery: z
      .number()
      .int()
      .min(5)
      .max(600)
      .default(TRAIL_REVIEW_DEFAULTS.seconds_per_delivery)
      .describe('How long one delivery reads before it records its cursors and continues on a follow-up delivery (keep it well under lambda_timeout_seconds).'),
  })
  .strict()
  .default({ ...TRAIL_REVIEW_DEFAULTS })
  .describe("The CloudTrail review of the principal's activity (LookupEvents, 2 requests a second per account and region shared by every function).");

export type TrailReviewOptions = z.infer<typeof TrailReviewOptionsSchema>;

const contactField = (what: string, max: number) => z.string().min(1).max(max).optional().describe(what);

/** One alternate contact as expected (absent fields are not compared). */
const AlternateContactSchema = z
  .object({
    name: contactField('The contact\'s name.', 64),
    title: contactField('The contact\'s title.', 50),
    email_address: contactField('The contact\'s email address.', 254),
    phone_number: contactField('The contact\'s phone number.', 25),
  })
  .strict();

/**
 * `expected_account_information`: the account's primary contact and alternate contacts as they
 * should be. A field left out is only recorded, never compared; absent altogether, the step
 * records what the account says and reports no drift.
 */
export const ExpectedAccountInformationSchema = z
  .object({
    primary_contact: z
      .object({
        full_name: contactField('The primary contact\'s full name.', 50),
        company_name: contactField('The company name.', 50),
        phone_number: contactField('The phone number.', 20),
        address_line_1: contactField('The first line of the address.', 60),
        city: contactField('The city.', 50),
        state_or_region: contactField('The state or region.', 50),
        postal_code: contactField('The postal code.', 20),
        country_code: z.string().regex(/^[A-Z]{2}$/, 'expected_account_information.primary_contact.country_code must be an ISO 3166-1 alpha-2 code, e.g. US').optional().describe('The ISO 3166-1 alpha-2 country code.'),
        website_url: contactField('The website URL.', 256),
      })
      .strict()
      .optional()
      .describe('The primary contact (Account API GetContactInformation) as it should be.'),
    alternate_contacts: z
      .object({
        billing: AlternateContactSchema.optional().describe('The BILLING alternate contact as it should be.'),
        operations: AlternateContactSchema.optional().describe('The OPERATIONS alternate contact as it should be.'),
        security: AlternateContactSchema.optional().describe('The SECURITY alternate contact as it should be.'),
      })
      .strict()
      .optional()
      .describe('Alternate contacts (Account API GetAlternateContact) as they should be; a type given here that the account lacks is drift.'),
  })
  .strict()
  .optional()
  .describe("The account's contact information as it should be: an attacker who owns the account changes it to keep it. Absent: recorded, not compared.");

export type ExpectedAccountInformation = NonNullable<z.infer<typeof ExpectedAccountInformationSchema>>;

/**
 * `resource_review`: what the resource review does with the suspects it finds. Listing them (and
 * the commands to delete them) always happens; tagging in every containing mode; neutralising
 * only in `full` mode and only with `neutralise` (the release function's grants to undo it —
 * re-attaching policies among them — follow the same switch).
 */
export const ResourceReviewOptionsSchema = z
  .object({
    tag_suspects: z.boolean().default(true).describe('Tag what the principal created or changed (instances, users, roles, policies, MFA devices, key pairs, security groups) firebreak:suspect = <incident id>.'),
    neutralise: z
      .boolean()
      .default(true)
      .describe('In full mode, neutralise the suspects reversibly: instances stopped, access keys, SSH keys, service-specific credentials and signing certificates deactivated, login profiles removed, attached policies detached, created users and roles denied everything. Never deleted; release restores each.'),
  })
  .strict()
  .default({ tag_suspects: true, neutralise: true })
  .describe('What the resource review does with what the principal created or changed (it always lists them, with the commands to delete them).');

export type ResourceReviewOptions = z.infer<typeof ResourceReviewOptionsSchema>;
