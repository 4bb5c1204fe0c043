import { CloudTrailClient, LookupEventsCommand } from '@aws-sdk/client-cloudtrail';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executeStep } from '../../../../shared/engine/index.ts';
import { defaultReviewRegions, reviewWindow, trailReview, type TrailReviewData } from '../../../../shared/actions/identity-review/index.ts';
import { awsError, FIXED_NOW, motoNotImplemented, silentLogger, someClients } from '../../helpers/factories.ts';
import { createAccessKey, createUser, PERSISTENCE } from './events.ts';
import { anIdentContext, identOptions, identStep, KEY, outcomeOf, readCalls, trailEvent, USER } from './helpers.ts';

const cloudTrail = mockClient(CloudTrailClient);
const s3 = mockClient(S3Client);

beforeEach(() => {
  cloudTrail.reset();
  s3.reset();
  s3.on(PutObjectCommand).resolves({ VersionId: 'v1' });
});
afterEach(() => {
  cloudTrail.reset();
  s3.reset();
});

const review = trailReview(identStep, {
  subjects: ({ resource }) => [
    { attribute: 'AccessKeyId', value: resource.accessKeyId, why: "the finding's access key" },
    { attribute: 'Username', value: resource.userName, why: 'the user' },
  ],
  settings: (o) => o.cloudtrail_review,
});

const lookups = () => cloudTrail.commandCalls(LookupEventsCommand).map((c) => c.args[0].input);
const written = () =>
  s3.commandCalls(PutObjectCommand).map((c) => {
    const key = c.args[0].input.Key!;
    const text = String(c.args[0].input.Body);
    return { key, text, body: (key.endsWith('.json') ? JSON.parse(text) : {}) as Record<string, unknown> };
  });
const throttled = () => awsError('ThrottlingException', { message: 'Rate exceeded' });

describe('Identity review: the CloudTrail review', () => {
  it('resumes across three deliveries from the cursors it recorded, through a throttled page, and writes the report at the end', async () => {
    // Prepare: the key's history is two pages; the user's one page repeats an event the key's query returned.
    const [first, second] = [readCalls(50), [createUser, createAccessKey, ...readCalls(3, 'GetCallerIdentity')]];
    cloudTrail
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: first, NextToken: 'key-page-2' })
      .rejectsOnce(throttled())
      .resolvesOnce({ Events: second })
      .rejectsOnce(throttled())
      .resolvesOnce({ Events: [second[0]!, trailEvent({ eventName: 'ConsoleLogin', eventSource: 'signin.amazonaws.com', accessKeyId: 'ASIACONSOLEEXAMPLE01' })] });

    // Act: delivery 1 reads page 1 and is throttled; delivery 2 resumes from its cursor; delivery 3 finishes.
    const one = await review.run(anIdentContext());
    const two = await review.run(anIdentContext({ previous: outcomeOf(review, { ...one, status: 'pending' }) }));
    const three = await review.run(anIdentContext({ previous: outcomeOf(review, two) }));

    // Assess
    expect(one).toMatchObject({ status: 'pending', retryAfterSeconds: 30 });
    expect(one.summary).toMatch(/read 1 CloudTrail pages \(50 events\) so far; continuing with AccessKeyId AKIA/);
    expect(two.status).toBe('pending');
    expect(three.status).toBe('done');
    expect(lookups().map((l) => [l.LookupAttributes![0]!.AttributeKey, l.LookupAttributes![0]!.AttributeValue, l.NextToken])).toEqual([
      ['AccessKeyId', KEY, undefined],
      ['AccessKeyId', KEY, 'key-page-2'],
      ['AccessKeyId', KEY, 'key-page-2'],
      ['Username', USER, undefined],
      ['Username', USER, undefined],
    ]);
    // The window is fixed at the first delivery: 7 days before GuardDuty first saw the activity, until then-now.
    for (const l of lookups()) expect([l.StartTime?.toISOString(), l.EndTime?.toISOString()]).toEqual(['2025-06-12T14:22:31.000Z', FIXED_NOW.toISOString()]);
    const data = three.data!;
    expect(data).toMatchObject({ pages: 3, events: 56, duplicates: 1, deliveries: 3 });
    expect(data.subjects.map((s) => [s.attribute, s.state, s.pages, s.events])).toEqual([
      ['AccessKeyId', 'done', 2, 55],
      ['Username', 'done', 1, 1],
    ]);
    expect(written().map((w) => w.key)).toEqual([
      expect.stringMatching(/cloudtrail-review\/events-0001\.json$/),
      expect.stringMatching(/cloudtrail-review\/events-0002\.json$/),
      expect.stringMatching(/cloudtrail-review\/events-0003\.json$/),
      expect.stringMatching(/cloudtrail-review\/report\.json$/),
      expect.stringMatching(/cloudtrail-review\/report\.md$/),
    ]);
    expect(data.parts.map((p) => p.events)).toEqual([50, 5, 1]);
    expect(data.activity.changes.map((c) => [c.kind, c.id])).toEqual([
      ['iam-user', 'svc-backup'],
      ['access-key', 'AKIA2BACKDOOREXAMPLE'],
      ['other', '(see the event)'],
    ]);
    const report = written().find((w) => w.key.endsWith('report.json'))!.body;
    expect(report).toMatchObject({ events: 56, truncated: null, deleteCommands: [expect.objectContaining({ kind: 'iam-user' }), expect.objectContaining({ kind: 'access-key' })] });
    expect(three.summary).toMatch(/^56 CloudTrail events from 2025-06-12T14:22:31.000Z to .* over 2 lookups: 3 writes, 0 errors \(0 denied\), 3 created or changed resources; from 198.51.100.23; report at incidents\/.*\/cloudtrail-review\/report.md$/);
    expect(three.evidence?.map((e) => e.key.split('/').pop())).toEqual(['events-0003.json', 'report.json', 'report.md']);
    // What the ledger keeps between deliveries is small: cursors and tallies, never the events.
    expect(JSON.stringify(one.data).length).toBeLessThan(10_000);
  });

  it('stops at max_events and says the report is truncated', async () => {
    // Prepare
    cloudTrail.on(LookupEventsCommand).resolves({ Events: readCalls(50), NextToken: 'more' });

    // Act
    const result = await review.run(anIdentContext({ options: identOptions({ cloudtrail_review: { max_events: 100 } }) }));

    // Assess
    expect(result.status).toBe('done');
    expect(lookups()).toHaveLength(2);
    expect(result.data).toMatchObject({ events: 100, truncated: 'stopped at max_events (100): 2 lookups not finished' });
    expect(result.summary).toMatch(/truncated: stopped at max_events \(100\)/);
    expect(written().find((w) => w.key.endsWith('report.json'))!.body).toMatchObject({ truncated: 'stopped at max_events (100): 2 lookups not finished' });
  });

  it("goes pending with its cursor when the delivery's budget is spent, and goes on from there", async () => {
    // Prepare: 5 seconds a delivery allow 10 pages at LookupEvents' 2 a second.
    cloudTrail.on(LookupEventsCommand).resolves({ Events: readCalls(1), NextToken: 'next' });
    const options = identOptions({ cloudtrail_review: { seconds_per_delivery: 5 } });

    // Act
    const first = await review.run(anIdentContext({ options }));
    cloudTrail.reset();
    cloudTrail.on(LookupEventsCommand).resolves({ Events: readCalls(1) });
    const second = await review.run(anIdentContext({ options, previous: outcomeOf(review, first) }));

    // Assess
    expect(first).toMatchObject({ status: 'pending', retryAfterSeconds: 5 });
    expect(first.summary).toMatch(/budget \(5 s\) is spent/);
    expect(first.data!.pages).toBe(10);
    expect(lookups()[0]!.NextToken).toBe('next');
    expect(second.status).toBe('done');
    expect(second.data!.pages).toBe(12);
  });

  it("follows the temporary credentials AssumeRole issued on the role, and looks up each session's key", async () => {
    // Prepare
    const roleArn = 'arn:aws:iam::111122223333:role/deploy';
    const roleReview = trailReview(identStep, { subjects: () => [{ attribute: 'ResourceName', value: roleArn, why: 'sessions of the role', followIssuedCredentials: true }], settings: () => undefined });
    const assumeRole = trailEvent({
      eventName: 'AssumeRole',
      eventSource: 'sts.amazonaws.com',
      readOnly: true,
      requestParameters: { roleArn, roleSessionName: 'mallory' },
      responseElements: { credentials: { accessKeyId: 'ASIAMALLORYSESSION01', sessionToken: '<redacted>', expiration: 'Jun 19, 2025 3:30:00 PM' }, assumedRoleUser: { arn: 'arn:aws:sts::111122223333:assumed-role/deploy/mallory' } },
      resources: [{ ResourceType: 'AWS::IAM::Role', ResourceName: roleArn }],
    });
    cloudTrail
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: roleArn }] })
      .resolves({ Events: [assumeRole] })
      .on(LookupEventsCommand, { LookupAttributes: [{ AttributeKey: 'AccessKeyId', AttributeValue: 'ASIAMALLORYSESSION01' }] })
      .resolves({ Events: [createUser] });

    // Act
    const result = await roleReview.run(anIdentContext());

    // Assess
    expect(result.status).toBe('done');
    expect(result.data!.subjects.map((s) => [s.attribute, s.value, s.why])).toEqual([
      ['ResourceName', roleArn, 'sessions of the role'],
      ['AccessKeyId', 'ASIAMALLORYSESSION01', 'temporary credentials issued by AssumeRole at 2025-06-19T14:30:00.000Z'],
    ]);
    expect(result.data!.activity.changes.map((c) => c.kind)).toEqual(['iam-user']);
  });

  it('records that the emulator has no LookupEvents as an unsupported failure, which neither holds the message nor retries', async () => {
    // Prepare
    cloudTrail.on(LookupEventsCommand).rejects(motoNotImplemented('LookupEvents'));

    // Act
    const outcome = await executeStep({ name: review.name, description: review.description, stage: review.stage, now: () => FIXED_NOW, logger: silentLogger() }, () => review.run(anIdentContext()));

    // Assess
    expect(outcome.status).toBe('failed');
    expect(outcome.summary).toMatch(/the API is not supported by this endpoint/);
    expect(outcome.error).toMatchObject({ unsupported: true, retryable: false });
    expect(review.stage).toBe('evidence');
  });

  it("fails at once, not retryable, on the emulator's real answer (an HTML page with HTTP 500 the SDK cannot parse), so no follow-up waits for it", async () => {
    // Prepare: what moto 5.2.5 answers for LookupEvents (NotImplementedError → werkzeug's HTML 500), as the SDK throws it.
    const html500 = Object.assign(new SyntaxError(`Unexpected token '<', "<!doctype "... is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.`), {
      $metadata: { httpStatusCode: 500 },
    });
    cloudTrail.on(LookupEventsCommand).rejects(html500);

    // Act
    const outcome = await executeStep({ name: review.name, description: review.description, stage: review.stage, now: () => FIXED_NOW, logger: silentLogger() }, () => review.run(anIdentContext()));

    // Assess
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'LookupEventsUnavailable', retryable: false } });
    expect(outcome.error!.message).toMatch(/the emulator has no LookupEvents/);
  });

  it('keeps what it read when AWS fails for a moment, and goes on from the same cursor later', async () => {
    // Prepare
    cloudTrail
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: readCalls(2), NextToken: 'p2' })
      .rejectsOnce(awsError('InternalServerError', { httpStatusCode: 500, message: 'We encountered an internal error' }));

    // Act
    const result = await review.run(anIdentContext());

    // Assess
    expect(result).toMatchObject({ status: 'pending', retryAfterSeconds: 30 });
    expect(result.summary).toMatch(/LookupEvents failed with InternalServerError/);
    expect(result.data!.subjects[0]).toMatchObject({ state: 'reading', nextToken: 'p2', events: 2 });
    expect(result.data!.parts).toHaveLength(1);
  });

  it('goes pending, reading nothing, when the shared bucket has no token in time', async () => {
    const result = await review.run(anIdentContext({ pacer: { acquire: async () => false } }));
    expect(result).toMatchObject({ status: 'pending', retryAfterSeconds: 30 });
    expect(result.summary).toMatch(/no LookupEvents token/);
    expect(lookups()).toEqual([]);
    expect(written()).toEqual([]);
  });

  it('fails on a permanent error (access denied): the ledger says why', async () => {
    cloudTrail.on(LookupEventsCommand).rejects(awsError('AccessDeniedException', { message: 'not authorized to perform: cloudtrail:LookupEvents' }));
    await expect(review.run(anIdentContext())).rejects.toThrow(/cloudtrail:LookupEvents/);
  });

  it('skips when there is nothing to look up', async () => {
    const none = trailReview(identStep, { subjects: () => [{ attribute: 'AccessKeyId', value: '', why: 'no key' }], settings: () => undefined });
    expect(await none.run(anIdentContext())).toMatchObject({ status: 'skipped' });
    expect(lookups()).toEqual([]);
  });

  it('starts afresh when the earlier outcome is not its own pending data (a failure, or the engine waiting)', async () => {
    cloudTrail.on(LookupEventsCommand).resolves({ Events: PERSISTENCE });
    const result = await review.run(anIdentContext({ previous: { stage: 'evidence', status: 'failed', summary: 'x', attempts: 1 } }));
    expect(result.status).toBe('done');
    expect((result.data as TrailReviewData).deliveries).toBe(1);
  });
});

describe('Identity review: the regions CloudTrail is read in', () => {
  it("reads the incident's region and us-east-1, where IAM and the other global services log, each with its own clients and bucket", async () => {
    // Prepare: the key was used in eu-west-1; the backdoor user was created through IAM (logged in us-east-1).
    const incident = { ...anIdentContext().incident, region: 'eu-west-1' };
    const asked: string[] = [];
    const clientsIn = (region: string) => (asked.push(region), someClients());
    cloudTrail
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: readCalls(2, 'DescribeInstances') })
      .resolvesOnce({ Events: [createUser] })
      .resolvesOnce({ Events: [] })
      .resolvesOnce({ Events: [createUser] });
    const buckets: string[] = [];

    // Act
    const result = await review.run(anIdentContext({ incident, clientsIn, pacer: { acquire: async (bucket) => (buckets.push(bucket), true) } }));

    // Assess
    expect(result.data!.regions).toEqual(['eu-west-1', 'us-east-1']);
    expect(result.data!.subjects.map((s) => [s.attribute, s.region, s.events])).toEqual([
      ['AccessKeyId', 'eu-west-1', 2],
      ['AccessKeyId', 'us-east-1', 1],
      ['Username', 'eu-west-1', 0],
      ['Username', 'us-east-1', 0],
    ]);
    // The user's query in us-east-1 returned the event the key's query there already had: counted once.
    expect(result.data!.duplicates).toBe(1);
    expect(asked).toEqual(['us-east-1', 'us-east-1']);
    expect(buckets).toEqual(['cloudtrail-lookup#111122223333#eu-west-1', 'cloudtrail-lookup#111122223333#us-east-1', 'cloudtrail-lookup#111122223333#eu-west-1', 'cloudtrail-lookup#111122223333#us-east-1']);
    expect(result.summary).toMatch(/ in eu-west-1, us-east-1 over 4 lookups/);
  });

  it('says which region it could not read when the context has no clients for it', async () => {
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    const incident = { ...anIdentContext().incident, region: 'eu-west-1' };
    const result = await review.run(anIdentContext({ incident }));
    expect(result.status).toBe('done');
    expect(result.data!.truncated).toBe('us-east-1 was not read: this context has clients for eu-west-1 only');
    expect(lookups()).toHaveLength(2);
  });

  it('reads the regions the playbook names, and the China partition logs global services in cn-north-1', async () => {
    const oneRegion = trailReview(identStep, { subjects: () => [{ attribute: 'Username', value: USER, why: 'the user' }], settings: () => undefined, regions: () => ['us-east-1'] });
    cloudTrail.on(LookupEventsCommand).resolves({ Events: [] });
    expect((await oneRegion.run(anIdentContext())).data!.regions).toEqual(['us-east-1']);
    expect(defaultReviewRegions({ region: 'cn-northwest-1', partition: 'aws-cn' })).toEqual(['cn-northwest-1', 'cn-north-1']);
    expect(defaultReviewRegions({ region: 'us-east-1', partition: 'aws' })).toEqual(['us-east-1']);
  });
});

describe('Identity review: the CloudTrail window', () => {
  it('counts the look-back from GuardDuty\'s first sight of the activity, else from the finding', () => {
    const now = new Date('2025-06-19T15:00:00.000Z');
    expect(reviewWindow({ activityFirstSeenAt: '2025-06-19T14:22:31.000Z', createdAt: '2025-06-19T14:35:02.877Z' }, 7, now)).toEqual({
      start: '2025-06-12T14:22:31.000Z',
      end: '2025-06-19T15:00:00.000Z',
      anchor: '2025-06-19T14:22:31.000Z',
      anchoredOn: 'activityFirstSeenAt',
    });
    expect(reviewWindow({ createdAt: '2025-06-19T14:35:02.877Z' }, 1, now)).toMatchObject({ start: '2025-06-18T14:35:02.877Z', anchoredOn: 'createdAt' });
  });

  it('never asks for more than the 90 days LookupEvents keeps, and says so', () => {
    const now = new Date('2025-06-19T15:00:00.000Z');
    expect(reviewWindow({ activityFirstSeenAt: '2025-04-01T00:00:00.000Z', createdAt: '2025-06-19T14:35:02.877Z' }, 90, now)).toMatchObject({ start: '2025-03-21T15:00:00.000Z', clamped: true });
  });
});
