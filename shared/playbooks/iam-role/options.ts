import * as z from 'zod';
import { ExpectedAccountInformationSchema, ResourceReviewOptionsSchema, TrailReviewOptionsSchema } from '../../actions/identity-review/index.ts';

/**
 * Options of the IAM role playbook: Terraform's `playbooks.iam-role.options`, handed to the
 * function as they are (FIREBREAK_OPTIONS). `make build` renders this schema as the Terraform
 * type and validations of `terraform/playbooks.generated.tf`.
 */
export const IamRoleOptionsSchema = z
  .object({
    hand_off_source_instance: z
      .boolean()
      .default(true)
      .describe(
        'InstanceCredentialExfiltration findings: hand the instance the role\'s credentials were taken from to the EC2 playbook (a Firebreak Hand-off on the responders\' bus), which contains it under its own gates and budget. Off: the instance is named in the ledger with a recommendation.',
      ),
    deny_federated_identity: z
      .boolean()
      .default(true)
      .describe(
        'SAML-federated roles: besides revoking the role\'s older sessions, deny the identity behind the finding\'s session (aws:userid <role id>:<session name>, which the identity provider asserts) every session of the role, new ones included, until release. OIDC session names are chosen by the caller and IAM Identity Center roles cannot be changed: for those the identity and the provider are recorded with a recommendation.',
      ),
    cloudtrail_review: TrailReviewOptionsSchema,
    resource_review: ResourceReviewOptionsSchema,
    expected_account_information: ExpectedAccountInformationSchema,
  })
  .strict();

export type IamRoleOptions = z.infer<typeof IamRoleOptionsSchema>;
