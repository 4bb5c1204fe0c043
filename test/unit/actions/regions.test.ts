import { DescribeRegionsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { accountRegions, ec2In, isEnabledRegion, mapLimit } from '../../../shared/actions/regions.ts';
import { someClients } from '../helpers/factories.ts';

const ec2 = mockClient(EC2Client);
afterEach(() => ec2.reset());

describe('Action: regions', () => {
  it('lists every region with its opt-in status, asking for all of them; only opted-in and opt-in-free ones are enabled', async () => {
    // Prepare
    ec2.on(DescribeRegionsCommand, { AllRegions: true }).resolves({ Regions: [{ RegionName: 'us-east-1', OptInStatus: 'opt-in-not-required' }, { RegionName: 'af-south-1', OptInStatus: 'not-opted-in' }, { RegionName: 'ap-east-1', OptInStatus: 'opted-in' }, {}] });

    // Act
    const regions = await accountRegions(someClients().ec2);

    // Assess
    expect(regions).toEqual([
      { name: 'af-south-1', optInStatus: 'not-opted-in' },
      { name: 'ap-east-1', optInStatus: 'opted-in' },
      { name: 'us-east-1', optInStatus: 'opt-in-not-required' },
    ]);
    expect(regions.filter(isEnabledRegion).map((r) => r.name)).toEqual(['ap-east-1', 'us-east-1']);
  });

  it('builds one client per region with the same credentials and endpoint, and reuses it', async () => {
    // Prepare
    const clients = { ec2: new EC2Client({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4574', credentials: { accessKeyId: 'AKIAX', secretAccessKey: 's' } }) };

    // Act
    const eu = ec2In(clients, 'eu-west-1');

    // Assess
    expect(ec2In(clients, 'eu-west-1')).toBe(eu);
    expect(await eu.config.region()).toBe('eu-west-1');
    expect((await eu.config.credentials()).accessKeyId).toBe('AKIAX');
    expect(await eu.config.endpoint!()).toMatchObject({ hostname: '127.0.0.1', port: 4574 });
    expect(ec2In(someClients(), 'eu-west-1').config.isCustomEndpoint).toBe(false);
  });

  it('maps with bounded concurrency, keeping the order', async () => {
    // Prepare
    let running = 0;
    let most = 0;

    // Act
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return n * 10;
    });

    // Assess
    expect(out).toEqual([50, 10, 40, 20, 30]);
    expect(most).toBe(2);
    expect(await mapLimit([], 3, async () => 1)).toEqual([]);
  });
});
