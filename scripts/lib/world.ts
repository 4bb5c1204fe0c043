// Clients and small helpers for talking to the emulator from the demo and the tests.
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SSMClient } from '@aws-sdk/client-ssm';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Ledger } from '../../shared/ledger/index.ts';
import type { FindingEvent } from './findings.ts';

export interface World {
  endpoint: string;
  region: string;
  ec2: EC2Client;
  autoscaling: AutoScalingClient;
  elbv2: ElasticLoadBalancingV2Client;
  elb: ElasticLoadBalancingClient;
  iam: IAMClient;
  ssm: SSMClient;
  events: EventBridgeClient;
  sqs: SQSClient;
  s3: S3Client;
  dynamo: DynamoDBDocumentClient;
  ledger: (table: string) => Ledger;
  accountId: () => Promise<string>;
  /** Who the emulator says is calling (what the CLI records as the requester). */
  callerArn: () => Promise<string>;
  putFinding: (event: FindingEvent, busName?: string) => Promise<void>;
}

export function emulatorWorld(endpoint: string, region = 'us-east-1'): World {
  const config = { region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient(config));
  const events = new EventBridgeClient(config);
  const sts = new STSClient(config);
  let account: Promise<string> | undefined;
  return {
    endpoint,
    region,
    ec2: new EC2Client(config),
    autoscaling: new AutoScalingClient(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    elb: new ElasticLoadBalancingClient(config),
    iam: new IAMClient(config),
    ssm: new SSMClient(config),
    events,
    sqs: new SQSClient(config),
    s3: new S3Client({ ...config, forcePathStyle: true }),
    dynamo,
    ledger: (table) => new Ledger(dynamo, table),
    accountId: () => (account ??= sts.send(new GetCallerIdentityCommand({})).then((r) => r.Account!)),
    callerArn: () => sts.send(new GetCallerIdentityCommand({})).then((r) => r.Arn!),
    // In AWS only GuardDuty can put aws.guardduty events on a bus; the emulator lets us.
    putFinding: async (event, busName = 'default') => {
      const out = await events.send(
        new PutEventsCommand({
          Entries: [{ Source: event.source, DetailType: event['detail-type'], Detail: JSON.stringify(event.detail), EventBusName: busName, Time: new Date(event.time), Resources: event.resources }],
        }),
      );
      if (out.FailedEntryCount) throw new Error(`PutEvents failed: ${JSON.stringify(out.Entries)}`);
    },
  };
}
