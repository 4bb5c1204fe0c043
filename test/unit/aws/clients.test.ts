import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { S3Client } from '@aws-sdk/client-s3';
import { ListBucketsCommand } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { CLIENTS_OF_SERVICE, createClientFactory, createPlatformClients, loadClientsFor, type AccountRegion } from '../../../shared/aws/index.ts';

/** Which SDK clients were constructed, in order: EC2 and SSM are counted (the real clients, subclassed). */
const constructed = vi.hoisted(() => [] as string[]);
vi.mock('@aws-sdk/client-ec2', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@aws-sdk/client-ec2')>();
  class CountedEC2Client extends actual.EC2Client {
    constructor(...args: ConstructorParameters<typeof actual.EC2Client>) {
      super(...args);
      constructed.push('ec2');
    }
  }
  return { ...actual, EC2Client: CountedEC2Client };
});
vi.mock('@aws-sdk/client-ssm', async (importOriginal) => {
  const actual = await importOriginal<typeof import('@aws-sdk/client-ssm')>();
  class CountedSSMClient extends actual.SSMClient {
    constructor(...args: ConstructorParameters<typeof actual.SSMClient>) {
      super(...args);
      constructed.push('ssm');
    }
  }
  return { ...actual, SSMClient: CountedSSMClient };
});
beforeEach(() => {
  constructed.length = 0;
});

const HERE: AccountRegion = { accountId: '111122223333', region: 'eu-west-1' };

// The engine loads a client's package from the IAM actions a step declares; these tests use them all.
beforeAll(() => loadClientsFor(Object.keys(CLIENTS_OF_SERVICE).map((service) => `${service}:*`)));

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

describe('Function: createClientFactory (lazy clients)', () => {
  it('constructs no client until a step first uses one', () => {
    // Prepare
    const clientsFor = createClientFactory();

    // Act
    const clients = clientsFor(HERE);

    // Assess
    expect(Object.keys(clients).sort()).toEqual(['account', 'autoScaling', 'cloudTrail', 'ec2', 'ecs', 'elb', 'elbv2', 'guardDuty', 'iam', 'rds', 's3', 's3Control', 'secretsManager', 'ssm']);
    expect(constructed).toEqual([]);
  });

  it('constructs a client on first use, then hands back the same one', async () => {
    // Prepare
    const clients = createClientFactory({ maxAttempts: 2 })(HERE);

    // Act
    const first = clients.ec2;
    const again = clients.ec2;

    // Assess
    expect(first).toBeInstanceOf(EC2Client);
    expect(again).toBe(first);
    expect(constructed).toEqual(['ec2']);
    expect(await first.config.region()).toBe('eu-west-1');
    expect(await first.config.maxAttempts()).toBe(2);
  });

  it('constructs only the clients that are used', () => {
    // Prepare
    const clients = createClientFactory()(HERE);

    // Act
    void clients.ec2;
    void clients.iam;

    // Assess
    expect(constructed).toEqual(['ec2']);
    expect(constructed).not.toContain('ssm');
  });

  it('keeps the clients built for an account and region across calls of the factory', () => {
    // Prepare
    const clientsFor = createClientFactory();
    const ssm = clientsFor(HERE).ssm;

    // Act
    const again = clientsFor({ ...HERE }).ssm;
    const elsewhere = clientsFor({ ...HERE, region: 'us-east-1' }).ssm;

    // Assess
    expect(again).toBe(ssm);
    expect(again).toBeInstanceOf(SSMClient);
    expect(elsewhere).not.toBe(ssm);
    expect(constructed).toEqual(['ssm', 'ssm']);
  });

  it('gives each factory its own clients', () => {
    // Act
    const a = createClientFactory()(HERE).ec2;
    const b = createClientFactory()(HERE).ec2;

    // Assess
    expect(b).not.toBe(a);
  });
});

describe('Function: createPlatformClients', () => {
  it('addresses S3 by path only when a custom endpoint is configured', async () => {
    // Prepare
    const s3Mock = mockClient(S3Client);
    s3Mock.on(ListBucketsCommand).resolves({});
    const aws = createPlatformClients('us-east-1', {});
    const emulator = createPlatformClients('us-east-1', { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' });

    // Act: the client is built (its package loaded) when it first sends.
    await aws.s3.send(new ListBucketsCommand({}));
    await emulator.s3.send(new ListBucketsCommand({}));

    // Assess
    const built = s3Mock.calls().map((c) => (c.thisValue as S3Client).config.forcePathStyle);
    expect(built).toEqual([false, true]);
    s3Mock.restore();
  });
});

describe('Function: createClientFactory (S3 and S3 Control at a custom endpoint)', () => {
  it('reaches an emulator by path, and keeps the account id out of the S3 Control host', async () => {
    // Prepare
    const clients = createClientFactory({ endpoint: 'http://127.0.0.1:4566' })(HERE);

    // Act
    const s3PathStyle = await clients.s3.config.forcePathStyle;
    const resolved = clients.s3Control.config.endpointProvider({ Region: 'eu-west-1', AccountId: '111122223333', RequiresAccountId: true } as never, {});

    // Assess
    expect(s3PathStyle).toBe(true);
    expect(resolved.url.href).toBe('http://127.0.0.1:4566/');
  });
});
