import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { cloudTrailBucket, lookupTrailPage, trailEventOf } from '../../../shared/actions/cloudtrail.ts';
import type { Pacer } from '../../../shared/pacing/index.ts';
import { awsError, someClients } from '../helpers/factories.ts';

const ct = mockClient(CloudTrailClient);
beforeEach(() => ct.reset());

const START = new Date('2025-06-12T00:00:00Z');
const END = new Date('2025-06-19T15:00:00Z');
const QUERY = { attribute: 'AccessKeyId', value: 'AKIA4EXAMPLEALICE001', start: START, end: END } as const;

/** A pacer that records the buckets asked for and grants or refuses. */
const aPacer = (grant = true) => {
  const asked: string[] = [];
  const pacer: Pacer = { acquire: async (bucket) => (asked.push(bucket), grant) };
  return { pacer, asked };
};

const RUN_INSTANCES = {
  EventId: 'e-1',
  EventName: 'RunInstances',
  EventSource: 'ec2.amazonaws.com',
  EventTime: new Date('2025-06-19T14:10:00Z'),
  AccessKeyId: 'AKIA4EXAMPLEALICE001',
  ReadOnly: 'false',
  Resources: [{ ResourceType: 'AWS::EC2::Instance', ResourceName: 'i-0feedfacefeedface' }],
  CloudTrailEvent: JSON.stringify({
    eventID: 'e-1',
    awsRegion: 'us-east-1',
    sourceIPAddress: '203.0.113.150',
    userAgent: 'aws-cli/2',
    userIdentity: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/alice', accessKeyId: 'AKIA4EXAMPLEALICE001' },
    requestParameters: { instanceType: 'p4d.24xlarge' },
    responseElements: { instancesSet: { items: [{ instanceId: 'i-0feedfacefeedface' }] } },
  }),
};

describe('CloudTrail review: one paced page of LookupEvents', () => {
  it('takes a token of the account and region’s shared bucket before every call', async () => {
    // Prepare
    ct.on(LookupEventsCommand).resolves({ Events: [RUN_INSTANCES], NextToken: 'next-1' });
    const { pacer, asked } = aPacer();

    // Act
    const page = await lookupTrailPage({ clients: someClients(), pacer, accountId: '111122223333', region: 'us-east-1' }, QUERY, undefined, 5_000);

    // Assess
    expect(asked).toEqual([cloudTrailBucket('111122223333', 'us-east-1')]);
    expect(page).toMatchObject({ kind: 'page', nextToken: 'next-1', events: [{ eventName: 'RunInstances', sourceIpAddress: '203.0.113.150', principal: 'arn:aws:iam::111122223333:user/alice' }] });
    const input = ct.commandCalls(LookupEventsCommand)[0]!.args[0].input;
    expect(input.LookupAttributes).toEqual([{ AttributeKey: 'AccessKeyId', AttributeValue: 'AKIA4EXAMPLEALICE001' }]);
    expect(input.MaxResults).toBe(50);
  });

  it('resumes from the cursor it is given', async () => {
    // Prepare
    ct.on(LookupEventsCommand).resolves({ Events: [] });

    // Act
    const page = await lookupTrailPage({ clients: someClients(), pacer: aPacer().pacer, accountId: '1', region: 'r' }, QUERY, 'cursor-7', 5_000);

    // Assess
    expect(ct.commandCalls(LookupEventsCommand)[0]!.args[0].input.NextToken).toBe('cursor-7');
    expect(page).toEqual({ kind: 'page', events: [] });
  });

  it('calls nothing when no token comes in time, and says so', async () => {
    // Act
    const page = await lookupTrailPage({ clients: someClients(), pacer: aPacer(false).pacer, accountId: '111122223333', region: 'us-east-1' }, QUERY, undefined, 1_000);

    // Assess
    expect(page.kind).toBe('throttled');
    expect(ct.commandCalls(LookupEventsCommand)).toHaveLength(0);
  });

  it('reports CloudTrail throttling as throttled, not as a failure', async () => {
    // Prepare
    ct.on(LookupEventsCommand).rejects(awsError('ThrottlingException', { retryable: true }));

    // Act
    const page = await lookupTrailPage({ clients: someClients(), pacer: aPacer().pacer, accountId: '1', region: 'r' }, QUERY, undefined, 1_000);

    // Assess
    expect(page).toMatchObject({ kind: 'throttled', reason: expect.stringContaining('throttled') });
  });

  it('keeps what it can of a malformed CloudTrailEvent', () => {
    // Act
    const event = trailEventOf({ EventId: 'e-2', EventName: 'ListBuckets', EventSource: 's3.amazonaws.com', CloudTrailEvent: '{not json' });

    // Assess
    expect(event).toMatchObject({ eventId: 'e-2', eventName: 'ListBuckets', resources: [] });
    expect(event.principal).toBeUndefined();
  });

  it('names the role or user that issued a session (federated users, role sessions)', () => {
    // Act
    const event = trailEventOf({
      EventId: 'e-3',
      CloudTrailEvent: JSON.stringify({
        eventName: 'GetCallerIdentity',
        userIdentity: { type: 'FederatedUser', principalId: '111122223333:bob', arn: 'arn:aws:sts::111122223333:federated-user/bob', sessionContext: { sessionIssuer: { type: 'IAMUser', arn: 'arn:aws:iam::111122223333:user/carol' } } },
      }),
    });

    // Assess
    expect(event.sessionIssuer).toBe('arn:aws:iam::111122223333:user/carol');
  });
});
