import { DescribeInstancesCommand, paginateDescribeInstances, type EC2Client, type Filter, type Instance } from '@aws-sdk/client-ec2';
import { hasErrorCode } from '../errors/index.ts';

/**
 * DescribeInstances for one instance id: the instance, or undefined when EC2 does not know
 * it (never existed, malformed, or terminated long enough ago to be forgotten).
 *
 * @example
 * ```ts
 * const instance = await describeInstanceById(clients.ec2, 'i-0abc…');
 * instance?.State?.Name // 'running'
 * ```
 */
export async function describeInstanceById(ec2: EC2Client, instanceId: string): Promise<Instance | undefined> {
  try {
    const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
    return out.Reservations?.flatMap((r) => r.Instances ?? []).find((i) => i.InstanceId === instanceId);
  } catch (error) {
    if (hasErrorCode(error, 'InvalidInstanceID.NotFound', 'InvalidInstanceID.Malformed')) return undefined;
    throw error;
  }
}

/**
 * Every instance matching `filters`, across pages. Filters (not InstanceIds) never fail for an
 * instance that is gone meanwhile.
 *
 * @example
 * ```ts
 * const stopped = await instancesWhere(clients.ec2, [{ Name: 'instance-state-name', Values: ['stopped'] }]);
 * ```
 */
export async function instancesWhere(ec2: EC2Client, filters: Filter[], pageSize?: number): Promise<Instance[]> {
  const found: Instance[] = [];
  for await (const page of paginateDescribeInstances({ client: ec2, ...(pageSize ? { pageSize } : {}) }, { Filters: filters })) {
    found.push(...(page.Reservations ?? []).flatMap((r) => r.Instances ?? []));
  }
  return found;
}
