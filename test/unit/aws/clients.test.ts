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

  it('sends every client to an explicit endpoint with explicit credentials when given (the CLI against an emulator)', async () => {
    // Prepare
    const clientsFor = createClientFactory({ endpoint: 'http://127.0.0.1:4566', credentials: { accessKeyId: 'test', secretAccessKey: 'secret' } });

    // Act
    const clients = clientsFor({ accountId: '111122223333', region: 'us-east-1' });

    // Assess
    for (const client of [clients.ec2, clients.iam, clients.ssm, clients.autoScaling]) {
      const endpoint = await client.config.endpoint!();
      expect(`${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`).toBe('http://127.0.0.1:4566');
      expect((await client.config.credentials()).secretAccessKey).toBe('secret');
    }
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
