import { AccountClient } from '@aws-sdk/client-account';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GuardDutyClient } from '@aws-sdk/client-guardduty';
import { IAMClient } from '@aws-sdk/client-iam';
import { RDSClient } from '@aws-sdk/client-rds';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { RetryStrategyV2 } from '@smithy/types';
import { AccountNotConfiguredError } from './errors.ts';
import { PATIENT_RETRY_DEFAULTS, patientRetryStrategy } from './retry.ts';
import { assumedRoleCredentials, memberRoleArn, roleSessionName, type MemberRoleSettings } from './member-role.ts';

/** The clients a playbook acts with, bound to one account and region. */
export interface Clients {
  ec2: EC2Client;
  autoScaling: AutoScalingClient;
  elbv2: ElasticLoadBalancingV2Client;
  elb: ElasticLoadBalancingClient;
  /** IAM is global; the client signs for the target's region like the others. */
  iam: IAMClient;
  ssm: SSMClient;
  guardDuty: GuardDutyClient;
  /** CloudTrail `LookupEvents` is throttled per account and region: call it through shared/actions/cloudtrail.ts (paced). */
  cloudTrail: CloudTrailClient;
  secretsManager: SecretsManagerClient;
  /** The Account API (contact information): global, answered in us-east-1 of the partition. */
  account: AccountClient;
  /** The account's buckets (the S3 playbook), by path when an endpoint is configured. */
  s3: S3Client;
  /** Account-level Block Public Access. */
  s3Control: S3ControlClient;
  /** ECS tasks, task definitions, task protection (the ECS playbook). */
  ecs: ECSClient;
  /** DB instances and clusters (the RDS playbook). */
  rds: RDSClient;
}

/** Where a playbook acts: the finding's account and region. */
export interface AccountRegion {
  accountId: string;
  region: string;
  /**
   * The incident the clients act for: in a member account it is the role session's name
   * (`firebreak-<incident id>`), so that CloudTrail ties every call there to its incident.
   */
  incidentId?: string;
}

/** Builds (and caches) the clients for an account and region. */
export type ClientFactory = (where: AccountRegion) => Clients;

export interface ClientOptions {
  /** SDK attempts per call before a step fails (default 5, with the patient strategy of ./retry.ts). */
  maxAttempts?: number;
  /** An explicit endpoint (the CLI against an emulator); functions use the SDK's own configuration. */
  endpoint?: string;
  /** Explicit credentials; otherwise the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * Acting in other accounts: a target account other than `homeAccountId` is reached through its
   * member role (assumed with the external id, the incident in the session name); an account that
   * is not a member gets no clients ({@link AccountNotConfiguredError}). Without it every target
   * is reached with the function's own credentials (the CLI, acting as the responder).
   */
  members?: MemberRoleSettings;
  /** The STS client member roles are assumed with (default: one in the target's region). */
  sts?: Pick<STSClient, 'send'>;
}

/** Clients are cached per account, region and (in a member account) incident session; at most this many. */
const MAX_CACHED = 64;

/**
 * Creates a factory of per-account, per-region clients. Endpoints come from the
 * SDK's own configuration (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`), so
 * the same code runs against AWS and an emulator.
 *
 * @example
 * ```ts
 * const clientsFor = createClientFactory();
 * const { ec2 } = clientsFor({ accountId: '111122223333', region: 'eu-west-1' });
 * ```
 */
export function createClientFactory(options: ClientOptions = {}): ClientFactory {
  const cache = new Map<string, Clients>();
  const maxAttempts = options.maxAttempts ?? PATIENT_RETRY_DEFAULTS.maxAttempts;
  const common = {
    maxAttempts,
    retryStrategy: patientRetryStrategy({ maxAttempts }),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
  };
  const stsClients = new Map<string, Pick<STSClient, 'send'>>();
  const stsFor = (region: string) => {
    if (options.sts) return options.sts;
    let sts = stsClients.get(region);
    if (!sts) {
      sts = new STSClient({ ...common, region });
      stsClients.set(region, sts);
    }
    return sts;
  };
  const members = options.members;
  return (where) => {
    const elsewhere = members !== undefined && where.accountId !== members.homeAccountId;
    if (elsewhere && !members.memberAccountIds.includes(where.accountId)) {
      throw new AccountNotConfiguredError(where.accountId, members.homeAccountId);
    }
    // In a member account each incident has its own role session (its id in the session name);
    // in the function's own account the clients serve every incident.
    const session = elsewhere ? roleSessionName(where.incidentId) : '';
    const key = `${where.accountId}/${where.region}/${session}`;
    let clients = cache.get(key);
    if (!clients) {
      const credentials: AwsCredentialIdentityProvider | undefined = elsewhere
        ? assumedRoleCredentials({
            sts: stsFor(where.region),
            roleArn: memberRoleArn(members.partition, where.accountId, members.roleName),
            accountId: where.accountId,
            sessionName: session,
            ...(members.externalId ? { externalId: members.externalId } : {}),
          })
        : undefined;
      clients = lazyClients({ ...common, region: where.region, ...(credentials ? { credentials } : {}) });
      cache.set(key, clients);
      // A warm function serves many incidents: the oldest sessions are forgotten first.
      if (cache.size > MAX_CACHED) cache.delete(cache.keys().next().value!);
    }
    return clients;
  };
}

type ClientConfig = { region: string; maxAttempts: number; retryStrategy?: RetryStrategyV2; endpoint?: string; credentials?: ClientOptions['credentials'] | AwsCredentialIdentityProvider };

/** An endpoint set for the SDK (an emulator, a VPC endpoint): explicit, or from the SDK's own environment variables. */
const customEndpoint = (config: ClientConfig, service: string, env: Record<string, string | undefined> = process.env): string | undefined =>
  config.endpoint ?? env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;

const CONSTRUCTORS: { [K in keyof Clients]: (config: ClientConfig) => Clients[K] } = {
  ec2: (c) => new EC2Client(c),
  autoScaling: (c) => new AutoScalingClient(c),
  elbv2: (c) => new ElasticLoadBalancingV2Client(c),
  elb: (c) => new ElasticLoadBalancingClient(c),
  iam: (c) => new IAMClient(c),
  ssm: (c) => new SSMClient(c),
  guardDuty: (c) => new GuardDutyClient(c),
  cloudTrail: (c) => new CloudTrailClient(c),
  secretsManager: (c) => new SecretsManagerClient(c),
  account: (c) => new AccountClient(c),
  // Virtual-hosted addressing needs DNS for <bucket>.<host>; a custom endpoint is reached by path.
  // A bucket of another region answers 301: the SDK follows it to the bucket's region (the S3 playbook acts on buckets wherever they live).
  s3: (c) => new S3Client({ ...c, forcePathStyle: Boolean(customEndpoint(c, 'S3')), followRegionRedirects: true }),
  s3Control: (c) => s3ControlClient(c),
  ecs: (c) => new ECSClient(c),
  rds: (c) => new RDSClient(c),
};

/**
 * S3 Control puts the account id in front of the host (`<account>.s3-control.<region>.amazonaws.com`);
 * with a custom endpoint that makes `123456789012.127.0.0.1`, not a host. There the endpoint is
 * used as it is, and the account id travels in its header as in AWS.
 */
function s3ControlClient(config: ClientConfig): S3ControlClient {
  const endpoint = customEndpoint(config, 'S3_CONTROL');
  if (!endpoint) return new S3ControlClient(config);
  const { endpoint: _ignored, ...rest } = config;
  return new S3ControlClient({ ...rest, endpointProvider: () => ({ url: new URL(endpoint) }) });
}

/** Each client is built when a step first uses it: a playbook that never calls SSM never builds its client. */
function lazyClients(config: ClientConfig): Clients {
  const built: Partial<Clients> = {};
  const clients = {} as Clients;
  for (const name of Object.keys(CONSTRUCTORS) as Array<keyof Clients>) {
    Object.defineProperty(clients, name, {
      enumerable: true,
      get: () => (built[name] ??= CONSTRUCTORS[name](config) as never),
    });
  }
  return clients;
}

/** Clients for Firebreak's own state (ledger and evidence bucket) in its home region. */
export interface PlatformClients {
  dynamo: DynamoDBDocumentClient;
  s3: S3Client;
  /** For follow-up deliveries on the function's own queue. */
  sqs: SQSClient;
  /** For notifications on the deployment's topic. */
  sns: SNSClient;
  /** For the deployment's pause parameter (the kill switch). */
  ssm: SSMClient;
  /** For hand-offs on the responders' bus. */
  events: EventBridgeClient;
}

export function createPlatformClients(region: string, env: Record<string, string | undefined> = process.env): PlatformClients {
  return {
    // The ledger is on the isolation path (load, claim, record): patient like the playbook clients.
    dynamo: DynamoDBDocumentClient.from(new DynamoDBClient({ region, maxAttempts: 6, retryStrategy: patientRetryStrategy({ maxAttempts: 6 }) }), {
      marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
    }),
    // Virtual-hosted addressing needs DNS for <bucket>.<host>; custom endpoints
    // (VPC endpoints, emulators) are reached by path.
    s3: new S3Client({ region, forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL) }),
    sqs: new SQSClient({ region, maxAttempts: 5, retryStrategy: patientRetryStrategy() }),
    // Telling people must never hold up a batch: one retry, then the failure is recorded.
    sns: new SNSClient({ region, maxAttempts: 2 }),
    ssm: new SSMClient({ region, maxAttempts: 2 }),
    events: new EventBridgeClient({ region }),
  };
}
