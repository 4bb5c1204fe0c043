/**
 * Instance profiles: which profile an instance has now, and which instances hold a role's
 * credentials through any of its profiles. For every playbook that contains an instance or a
 * role an instance may carry.
 */
import { instancesWhere } from './instances.ts';
import {
  paginateDescribeIamInstanceProfileAssociations,
  type EC2Client,
  type Filter,
  type IamInstanceProfileAssociation,
} from '@aws-sdk/client-ec2';
import { paginateListInstanceProfilesForRole, type IAMClient } from '@aws-sdk/client-iam';

/** DescribeInstances filters accept at most 200 values each. */
const FILTER_VALUES_LIMIT = 200;

/** The association states in which the instance metadata service serves (or is about to serve) the profile's credentials. */
const LIVE_STATES = ['associating', 'associated'];

/** Every instance profile association matching `filters`, across pages. */
export async function associationsWhere(ec2: EC2Client, filters: Filter[]): Promise<IamInstanceProfileAssociation[]> {
  const associations: IamInstanceProfileAssociation[] = [];
  for await (const page of paginateDescribeIamInstanceProfileAssociations({ client: ec2 }, { Filters: filters })) {
    associations.push(...(page.IamInstanceProfileAssociations ?? []));
  }
  return associations;
}

/**
 * The instance's live association (associating or associated), if any: the profile whose role
 * credentials its metadata service serves.
 *
 * @example
 * ```ts
 * (await liveAssociationOf(clients.ec2, 'i-0abc…'))?.IamInstanceProfile?.Arn // 'arn:aws:iam::…:instance-profile/web'
 * ```
 */
export async function liveAssociationOf(ec2: EC2Client, instanceId: string): Promise<IamInstanceProfileAssociation | undefined> {
  const associations = await associationsWhere(ec2, [
    { Name: 'instance-id', Values: [instanceId] },
    { Name: 'state', Values: LIVE_STATES },
  ]);
  // Checked again here: the filters are a request, and an emulator may not apply them.
  return associations.find((a) => a.InstanceId === instanceId && LIVE_STATES.includes(a.State ?? ''));
}

/** The ARNs of every instance profile that carries the role. */
export async function instanceProfilesOfRole(iam: IAMClient, roleName: string): Promise<string[]> {
  const arns: string[] = [];
  for await (const page of paginateListInstanceProfilesForRole({ client: iam }, { RoleName: roleName })) {
    arns.push(...(page.InstanceProfiles ?? []).flatMap((p) => (p.Arn ? [p.Arn] : [])));
  }
  return arns;
}

/** The name of an instance profile from its ARN (`…:instance-profile/<path>/<name>`). */
export const instanceProfileName = (instanceProfileArn: string): string => instanceProfileArn.slice(instanceProfileArn.lastIndexOf('/') + 1);

/**
 * The pending or running instances (but `except`) whose instance profile carries `roleName`,
 * through any of the role's profiles: they hold live credentials of the role. Stopped instances
 * hold none. Sorted.
 */
export async function liveInstancesWithRole(ec2: EC2Client, iam: IAMClient, roleName: string, { except }: { except?: string } = {}): Promise<string[]> {
  const [profileArns, associations] = await Promise.all([instanceProfilesOfRole(iam, roleName), associationsWhere(ec2, [{ Name: 'state', Values: ['associated'] }])]);
  const profiles = new Set(profileArns);
  const candidates = [
    ...new Set(associations.filter((a) => a.InstanceId && a.InstanceId !== except && profiles.has(a.IamInstanceProfile?.Arn ?? '')).map((a) => a.InstanceId!)),
  ];
  const live: string[] = [];
  for (let i = 0; i < candidates.length; i += FILTER_VALUES_LIMIT) {
    // Filtering by instance-id (not InstanceIds) so an instance gone meanwhile is not an error.
    const filters: Filter[] = [
      { Name: 'instance-id', Values: candidates.slice(i, i + FILTER_VALUES_LIMIT) },
      { Name: 'instance-state-name', Values: ['pending', 'running'] },
    ];
    live.push(...(await instancesWhere(ec2, filters)).flatMap((x) => (x.InstanceId ? [x.InstanceId] : [])));
  }
  return [...new Set(live)].sort();
}
