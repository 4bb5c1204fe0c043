import { describe, expect, it } from 'vitest';
import { createClientFactory, createPlatformClients } from '../../../shared/aws/index.ts';

describe('Function: createClientFactory', () => {
  it('builds clients for the target region once and reuses them', async () => {
    // Prepare
    const clientsFor = createClientFactory({ maxAttempts: 5 });

    // Act
    const first = clientsFor({ accountId: '111122223333', region: 'eu-west-1' });
    const again = clientsFor({ accountId: '111122223333', region: 'eu-west-1' });
    const elsewhere = clientsFor({ accountId: '111122223333', region: 'us-east-1' });

    // Assess
    expect(again).toBe(first);
    expect(elsewhere).not.toBe(first);
    expect(await first.ec2.config.region()).toBe('eu-west-1');
    expect(await first.ec2.config.maxAttempts()).toBe(5);
    expect(await elsewhere.elbv2.config.region()).toBe('us-east-1');
  });
});

describe('Function: createPlatformClients', () => {
  it('addresses S3 by path only when a custom endpoint is configured', () => {
    // Act
    const aws = createPlatformClients('us-east-1', {});
    const emulator = createPlatformClients('us-east-1', { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' });

    // Assess
    expect(aws.s3.config.forcePathStyle).toBe(false);
    expect(emulator.s3.config.forcePathStyle).toBe(true);
  });
});
