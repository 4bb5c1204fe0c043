import * as z from 'zod';
import { ExpectedAccountInformationSchema, TrailReviewOptionsSchema } from '../../actions/identity-review/index.ts';

const Region = z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'regions must be region names, e.g. eu-west-1');

/**
 * Options of the whole-account playbook: Terraform's `playbooks.account.options`, handed to the
 * function as they are (FIREBREAK_OPTIONS). The credential sweep is account-wide and disruptive:
 * it runs only in `full` mode AND with `credential_sweep.enabled`, so that a low-severity root
 * finding never deactivates every key of the account by default.
 */
export const AccountOptionsSchema = z
  .object({
    credential_sweep: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            'Account-wide credential sweep (full mode only): deactivate every IAM user access key, reset every console password and delete every EC2 key pair, except those of protected principals. Off by default: without it (or outside full mode) the function is not even granted those actions.',
          ),
        access_keys: z.boolean().default(true).describe('With the sweep: deactivate every IAM user access key (release reactivates the keys the sweep deactivated).'),
        console_passwords: z
          .boolean()
          .default(true)
          .describe('With the sweep: give every console user a new random password, kept in Secrets Manager for the account owners, with a reset required at next sign-in (release cannot bring old passwords back).'),
        key_pairs: z
          .boolean()
          .default(true)
          .describe('With the sweep: delete every EC2 key pair in every enabled region after recording its fingerprint and public key in the evidence bucket (release imports them again).'),
      })
      .strict()
      .default({ enabled: false, access_keys: true, console_passwords: true, key_pairs: true }),
    inventory_days: z
      .number()
      .int()
      .min(1, 'inventory_days must be from 1 to 90')
      .max(90, 'inventory_days must be from 1 to 90')
      .default(7)
      .describe('The inventory lists the IAM users, roles, access keys, policies, identity providers and EC2 instances created in this many days before the finding.'),
    regions: z
      .array(Region)
      .max(64)
      .optional()
      .describe('Only these regions for the key pairs and instances (default: every enabled region of the account, from DescribeRegions).'),
    cloudtrail_review: TrailReviewOptionsSchema,
    expected_account_information: ExpectedAccountInformationSchema,
  })
  .strict();

export type AccountOptions = z.infer<typeof AccountOptionsSchema>;

/** The option paths that must all be set for a sweep step to run (and for its actions to be granted). */
export const SWEEP_SWITCHES = {
  accessKeys: ['credential_sweep.enabled', 'credential_sweep.access_keys'],
  consolePasswords: ['credential_sweep.enabled', 'credential_sweep.console_passwords'],
  keyPairs: ['credential_sweep.enabled', 'credential_sweep.key_pairs'],
} as const;

/** Why a sweep part does not run with these options, or undefined when it does. */
export function sweepOff(options: AccountOptions, part: 'access_keys' | 'console_passwords' | 'key_pairs'): string | undefined {
  if (!options.credential_sweep.enabled) return 'the credential sweep is not enabled (playbooks.account.options.credential_sweep.enabled)';
  if (!options.credential_sweep[part]) return `credential_sweep.${part} is off`;
  return undefined;
}
