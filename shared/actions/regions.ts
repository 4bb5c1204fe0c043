import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import type { Clients } from '../aws/index.ts';

/** A region of the account as DescribeRegions reports it. */
export interface AccountRegion {
  name: string;
  /** `opt-in-not-required`, `opted-in` or `not-opted-in` (a region the account cannot use). */
  optInStatus: string;
}

/**
 * Every region of the partition with its opt-in status (`AllRegions`: without it DescribeRegions
 * lists the enabled ones only, and the report could not say which were left out and why).
 */
export async function accountRegions(ec2: Pick<EC2Client, 'send'>): Promise<AccountRegion[]> {
  const out = await ec2.send(new DescribeRegionsCommand({ AllRegions: true }));
  return (out.Regions ?? [])
    .flatMap((r) => (r.RegionName ? [{ name: r.RegionName, optInStatus: r.OptInStatus ?? 'opt-in-not-required' }] : []))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A region the account can use: every region that needs no opt-in, and those opted in. */
export const isEnabledRegion = (r: AccountRegion): boolean => r.optInStatus !== 'not-opted-in';

const regional = new WeakMap<EC2Client, Map<string, EC2Client>>();

/**
 * An EC2 client for another region of the same account, with the same credentials (in a member
 * account: the same member-role session), retries and endpoint as `clients.ec2`. The clients of a
 * step are bound to the finding's region; a whole-account sweep needs every enabled region.
 */
export function ec2In(clients: Pick<Clients, 'ec2'>, region: string): EC2Client {
  const base = clients.ec2;
  let byRegion = regional.get(base);
  if (!byRegion) {
    byRegion = new Map();
    regional.set(base, byRegion);
  }
  let client = byRegion.get(region);
  if (!client) {
    const c = base.config;
    // A custom endpoint (the CLI against an emulator) is kept; otherwise the SDK resolves the
    // region's own endpoint (AWS_ENDPOINT_URL included) exactly as for the base client.
    client = new EC2Client({ region, credentials: c.credentials, maxAttempts: c.maxAttempts, ...(c.isCustomEndpoint && c.endpoint ? { endpoint: c.endpoint } : {}) });
    byRegion.set(region, client);
  }
  return client;
}

/**
 * Runs `fn` over `items`, at most `limit` at a time, keeping the order of the results (IAM and
 * EC2 throttle bursts; one call per user or region at a time would be slow in a large account).
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
