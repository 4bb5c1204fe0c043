import * as z from 'zod';
import { ExpectedAccountInformationSchema, ResourceReviewOptionsSchema, TrailReviewOptionsSchema } from '../../actions/identity-review/index.ts';

/**
 * Options of the IAM user playbook: Terraform's `playbooks.iam-user.options`, handed to the
 * function as they are (FIREBREAK_OPTIONS). Defaults change no more than the finding requires:
 * no replacement key, the user's other keys listed as a recommendation, not deactivated.
 */
export const IamUserOptionsSchema = z
  .object({
    create_replacement_key: z
      .boolean()
      .default(false)
      .describe('Create a new access key for the user once the exposed one is inactive, kept in Secrets Manager (firebreak/iam-user/<user>/<incident>) for its owner; refused, and recorded, when the user already has two keys.'),
    deactivate_other_keys: z
      .boolean()
      .default(false)
      .describe("Also deactivate the user's other active access keys (otherwise each is listed as a recommendation)."),
    federation_lookup_hours: z
      .number()
      .int()
      .min(1)
      .max(2160)
      .default(36)
      .describe('FederatedUser findings: how far back (hours, at most 90 days) to look in CloudTrail for the GetFederationToken call that minted the session (federation tokens last at most 36 hours).'),
    federation_lookup_attempts: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(5)
      .describe('FederatedUser findings: deliveries that may wait for a CloudTrail LookupEvents token before the issuing user is declared unknown (and nothing is changed).'),
    cloudtrail_review: TrailReviewOptionsSchema,
    resource_review: ResourceReviewOptionsSchema,
    expected_account_information: ExpectedAccountInformationSchema,
  })
  .strict();

export type IamUserOptions = z.infer<typeof IamUserOptionsSchema>;
