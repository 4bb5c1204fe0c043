// The member account of terraform/examples/local/member.tf, as AWS Organizations leaves a new
// account: with OrganizationAccountAccessRole, trusted by the management account, through which
// Terraform's member provider (assume_role) deploys the member role. The emulator has no
// Organizations-made accounts with a known id, so the role is created here, in that account,
// before `terraform apply` (moto takes the account of a request from its x-moto-account-id header).
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';

/** The accounts member.tf deploys the member role into. */
export const LOCAL_MEMBER_ACCOUNT_IDS = ['444455556666'] as const;

export const ORGANIZATION_ACCESS_ROLE = 'OrganizationAccountAccessRole';

/**
 * Creates OrganizationAccountAccessRole in a member account of the emulator (idempotent),
 * trusted by `managementAccountId` as Organizations makes it.
 *
 * @example
 * ```ts
 * await ensureOrganizationAccessRole('http://127.0.0.1:4566', '444455556666', '123456789012');
 * ```
 */
export async function ensureOrganizationAccessRole(endpoint: string, accountId: string, managementAccountId: string): Promise<void> {
  const iam = new IAMClient({ region: 'us-east-1', endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  iam.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-moto-account-id'] = accountId;
      return next(args);
    },
    { step: 'build', name: 'motoAccount' },
  );
  try {
    await iam.send(new GetRoleCommand({ RoleName: ORGANIZATION_ACCESS_ROLE }));
    return;
  } catch (error) {
    if ((error as { name?: string }).name !== 'NoSuchEntityException') throw error;
  }
  await iam.send(
    new CreateRoleCommand({
      RoleName: ORGANIZATION_ACCESS_ROLE,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${managementAccountId}:root` }, Action: 'sts:AssumeRole' }],
      }),
    }),
  );
}
