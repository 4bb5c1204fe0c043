import { CloudTrailClient, GetQueryResultsCommand, LookupEventsCommand, StartQueryCommand } from '@aws-sdk/client-cloudtrail';
import { GetRoleCommand, GetUserCommand, IAMClient, SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Pacer } from '../../../../shared/pacing/index.ts';
import {
  assessSourceAuthorisation,
  dataEventsQuery,
  iamActionOfS3Event,
  reviewBucketDataEvents,
  reviewBucketManagementEvents,
} from '../../../../shared/playbooks/s3-bucket/investigation.ts';
import { ACCOUNT_ID, awsError, FIXED_NOW, motoNotImplemented } from '../../helpers/factories.ts';
import { aDoneOutcome, anS3Incident, anS3Options, anS3StepContext, ACCESS_KEY_ID, BUCKET, MIXED_POLICY, ROLE_ARN, ROLE_NAME } from './helpers.ts';

const trailMock = mockClient(CloudTrailClient);
const iamMock = mockClient(IAMClient);
const s3Mock = mockClient(S3Client);
beforeEach(() => s3Mock.on(PutObjectCommand).resolves({}));
afterEach(() => {
  trailMock.reset();
  iamMock.reset();
  s3Mock.reset();
});

const trailEvent = (id: string, name: string, extra: Record<string, unknown> = {}) => ({
  EventId: id,
  EventName: name,
  EventSource: 's3.amazonaws.com',
  EventTime: new Date('2025-06-19T14:00:00Z'),
  AccessKeyId: ACCESS_KEY_ID,
  CloudTrailEvent: JSON.stringify({
    userIdentity: { type: 'AssumedRole', arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${ROLE_NAME}/etl`, sessionContext: { sessionIssuer: { arn: ROLE_ARN } } },
    sourceIPAddress: '198.51.100.7',
    ...extra,
  }),
});

const EDS = `arn:aws:cloudtrail:us-east-1:${ACCOUNT_ID}:eventdatastore/EXAMPLE-f852-4e8f-8bd1`;

describe('Step: reviewBucketManagementEvents', () => {
  it("reads CloudTrail's management events on the bucket, page by page, and saves them as evidence", async () => {
    // Prepare
    trailMock
      .on(LookupEventsCommand)
      .resolvesOnce({ Events: [trailEvent('e1', 'PutBucketPolicy')], NextToken: 't2' })
      .resolvesOnce({ Events: [trailEvent('e2', 'DeleteBucketPublicAccessBlock')] });
    const ctx = anS3StepContext();

    // Act
    const result = await reviewBucketManagementEvents.run(ctx);

    // Assess
    const calls = trailMock.commandCalls(LookupEventsCommand).map((c) => c.args[0].input);
    expect(calls[0]).toMatchObject({ LookupAttributes: [{ AttributeKey: 'ResourceName', AttributeValue: BUCKET }], MaxResults: 50 });
    expect(calls[0]!.StartTime!.toISOString()).toBe('2025-06-12T14:35:02.877Z'); // 7 days before the finding
    expect(calls[1]).toMatchObject({ NextToken: 't2' });
    expect(result).toMatchObject({ status: 'done', data: { complete: true, total: 2, pages: 2 } });
    expect(result.data!.events.map((e) => e.eventName)).toEqual(['PutBucketPolicy', 'DeleteBucketPublicAccessBlock']);
    expect(result.data!.events[0]).toMatchObject({ accessKeyId: ACCESS_KEY_ID, sessionIssuer: ROLE_ARN, sourceIpAddress: '198.51.100.7' });
    expect(s3Mock.commandCalls(PutObjectCommand)[0]!.args[0].input.Key).toBe(`incidents/${ctx.incident.incidentId}/cloudtrail-management-events.json`);
  });

  it('goes pending with its cursor when no token comes (LookupEvents is paced per account and region), and resumes from it', async () => {
    // Prepare: the first page, then no token
    trailMock.on(LookupEventsCommand).resolvesOnce({ Events: [trailEvent('e1', 'PutBucketPolicy')], NextToken: 't2' });
    let tokens = 1;
    const pacer: Pacer = { acquire: async () => tokens-- > 0 };

    // Act
    const first = await reviewBucketManagementEvents.run(anS3StepContext({ pacer }));

    // Assess
    expect(first).toMatchObject({ status: 'pending', data: { nextToken: 't2', pages: 1, total: 1, complete: false } });

    // Act: the next delivery resumes with the recorded cursor and window
    trailMock.on(LookupEventsCommand).resolves({ Events: [trailEvent('e2', 'GetBucketAcl')] });
    const later = () => new Date(FIXED_NOW.getTime() + 600_000);
    const second = await reviewBucketManagementEvents.run(anS3StepContext({ previous: { stage: 'investigate', status: 'pending', summary: '', attempts: 1, data: first.data }, now: later }));

    // Assess
    expect(trailMock.commandCalls(LookupEventsCommand).at(-1)!.args[0].input).toMatchObject({ NextToken: 't2', EndTime: FIXED_NOW });
    expect(second).toMatchObject({ status: 'done', data: { total: 2, pages: 2 } });
  });

  it('goes pending when CloudTrail throttles anyway', async () => {
    trailMock.on(LookupEventsCommand).rejects(awsError('ThrottlingException', { httpStatusCode: 400 }));
    expect((await reviewBucketManagementEvents.run(anS3StepContext())).status).toBe('pending');
  });

  it('stops after cloudtrail_max_pages pages in one delivery', async () => {
    // Prepare
    trailMock.on(LookupEventsCommand).resolves({ Events: [trailEvent('e', 'GetBucketAcl')], NextToken: 'more' });

    // Act
    const result = await reviewBucketManagementEvents.run(anS3StepContext({ options: anS3Options({ cloudtrail_max_pages: 3 }) }));

    // Assess
    expect(trailMock.commandCalls(LookupEventsCommand)).toHaveLength(3);
    expect(result).toMatchObject({ status: 'pending', data: { nextToken: 'more', pages: 3 } });
  });

  it('lets the emulator\'s "not implemented" through, for the engine to record as unsupported', async () => {
    trailMock.on(LookupEventsCommand).rejects(motoNotImplemented('LookupEvents'));
    await expect(reviewBucketManagementEvents.run(anS3StepContext())).rejects.toThrow(/not been implemented/);
  });
});

describe('Step: reviewBucketDataEvents', () => {
  it('records that object-level calls are not visible, and recommends logging them, when no event data store is configured', async () => {
    // Act
    const result = await reviewBucketDataEvents.run(anS3StepContext());

    // Assess
    expect(result).toMatchObject({ status: 'skipped', data: { visible: false } });
    expect(result.summary).toMatch(/LookupEvents serves management events only/);
    expect(result.data!.recommendation).toMatch(/data_events_event_data_store/);
    expect(trailMock.calls()).toHaveLength(0);
  });

  it('queries the CloudTrail Lake event data store, waits while the query runs, then saves the calls as evidence', async () => {
    // Prepare
    trailMock.on(StartQueryCommand).resolves({ QueryId: 'q-1' });
    trailMock.on(GetQueryResultsCommand).resolvesOnce({ QueryStatus: 'RUNNING' });
    const options = anS3Options({ data_events_event_data_store: EDS });

    // Act
    const first = await reviewBucketDataEvents.run(anS3StepContext({ options }));

    // Assess
    expect(first).toMatchObject({ status: 'pending', data: { queryId: 'q-1' } });
    expect(trailMock.commandCalls(StartQueryCommand)[0]!.args[0].input.QueryStatement).toBe(dataEventsQuery('EXAMPLE-f852-4e8f-8bd1', BUCKET, first.data!.window!));

    // Act: the next delivery reads the finished query, without starting another
    trailMock.on(GetQueryResultsCommand).resolves({
      QueryStatus: 'FINISHED',
      QueryResultRows: [[{ eventTime: '2025-06-19 14:01:00.000' }, { eventName: 'GetObject' }, { accessKeyId: ACCESS_KEY_ID }, { objectKey: 'exports/customers.csv' }, { sourceIPAddress: '198.51.100.7' }]],
    });
    const second = await reviewBucketDataEvents.run(anS3StepContext({ options, previous: { stage: 'investigate', status: 'pending', summary: '', attempts: 1, data: first.data } }));

    // Assess
    expect(trailMock.commandCalls(StartQueryCommand)).toHaveLength(1);
    expect(second).toMatchObject({ status: 'done', data: { visible: true, total: 1, events: [{ eventName: 'GetObject', accessKeyId: ACCESS_KEY_ID, objectKey: 'exports/customers.csv', sourceIpAddress: '198.51.100.7' }] } });
  });

  it('asks Lake for S3 data events on this bucket only, in the review window', () => {
    const sql = dataEventsQuery('eds1', BUCKET, { start: '2025-06-12T14:35:02.877Z', end: '2025-06-19T15:00:00.000Z' });
    expect(sql).toContain(`FROM eds1 WHERE eventSource = 's3.amazonaws.com' AND eventCategory = 'Data' AND element_at(requestParameters, 'bucketName') = '${BUCKET}'`);
    expect(sql).toContain("eventTime >= '2025-06-12 14:35:02' AND eventTime <= '2025-06-19 15:00:00'");
  });

  it('fails with the reason when the query fails', async () => {
    trailMock.on(StartQueryCommand).resolves({ QueryId: 'q-1' });
    trailMock.on(GetQueryResultsCommand).resolves({ QueryStatus: 'FAILED', ErrorMessage: 'bad store' });
    await expect(reviewBucketDataEvents.run(anS3StepContext({ options: anS3Options({ data_events_event_data_store: EDS }) }))).rejects.toThrow(/ended FAILED: bad store/);
  });

  it('does not query an event data store of another region (its clients act in the finding\'s region)', async () => {
    const result = await reviewBucketDataEvents.run(anS3StepContext({ options: anS3Options({ data_events_event_data_store: EDS.replace('us-east-1', 'eu-west-1') }) }));
    expect(result).toMatchObject({ status: 'skipped', data: { visible: false } });
    expect(trailMock.calls()).toHaveLength(0);
  });
});

describe('Function: iamActionOfS3Event', () => {
  it.each([
    ['GetObject', 's3:GetObject'],
    ['ListObjectsV2', 's3:ListBucket'],
    ['HeadObject', 's3:GetObject'],
    ['DeleteBucketPublicAccessBlock', 's3:PutBucketPublicAccessBlock'],
    ['CompleteMultipartUpload', 's3:PutObject'],
    ['weird name!', undefined],
  ])('%s → %s', (event, action) => expect(iamActionOfS3Event(event)).toBe(action));
});

describe('Step: assessSourceAuthorisation', () => {
  const managementEvents = { window: { start: 'a', end: 'b' }, pages: 1, complete: true, total: 2, events: [
    { eventTime: '2025-06-19T14:00:00.000Z', eventName: 'PutBucketPolicy', accessKeyId: ACCESS_KEY_ID },
    { eventTime: '2025-06-19T14:00:00.000Z', eventName: 'GetBucketAcl', accessKeyId: 'ASIAOTHERPRINCIPAL01' },
  ] };
  const outcomes = { reviewBucketManagementEvents: aDoneOutcome(managementEvents) };
  const allowed = (...actions: string[]) => ({ EvaluationResults: actions.map((a) => ({ EvalActionName: a, EvalDecision: 'allowed' as const })) });

  beforeEach(() => iamMock.on(GetRoleCommand).resolves({ Role: { Arn: ROLE_ARN, RoleName: ROLE_NAME, Path: '/', RoleId: 'AROA', CreateDate: new Date() } }));

  it('simulates the calls the source made (the finding\'s and CloudTrail\'s) against the bucket and the policy in force then', async () => {
    // Prepare
    iamMock.on(SimulatePrincipalPolicyCommand).resolves({ EvaluationResults: [{ EvalActionName: 's3:GetObject', EvalDecision: 'implicitDeny' }, { EvalActionName: 's3:PutBucketPolicy', EvalDecision: 'explicitDeny' }] });

    // Act
    const result = await assessSourceAuthorisation.run(anS3StepContext({ outcomes }));

    // Assess
    expect(iamMock.commandCalls(SimulatePrincipalPolicyCommand)[0]!.args[0].input).toEqual({
      PolicySourceArn: ROLE_ARN,
      ActionNames: ['s3:GetObject', 's3:PutBucketPolicy'],
      ResourceArns: [`arn:aws:s3:::${BUCKET}`, `arn:aws:s3:::${BUCKET}/*`],
      ResourcePolicy: MIXED_POLICY,
    });
    expect(result).toMatchObject({ status: 'done', data: { principalArn: ROLE_ARN, authorised: false } });
  });

  it('records the recommendation, and hands nothing off, when it was authorised but the finding type is not configured for a hand-off (the default)', async () => {
    // Prepare
    iamMock.on(SimulatePrincipalPolicyCommand).resolves(allowed('s3:GetObject'));
    const handOff = vi.fn(async () => ({ eventId: 'x' }));

    // Act
    const result = await assessSourceAuthorisation.run(anS3StepContext({ outcomes, handOff }));

    // Assess
    expect(handOff).not.toHaveBeenCalled();
    expect(result).toMatchObject({ status: 'done', data: { authorised: true } });
    expect(result.data!.recommendation).toMatch(/firebreak contain IAMRole etl-export-role/);
    expect(result.data!.recommendation).toMatch(/not in hand_off_finding_types/);
  });

  it('hands the principal to the IAM role playbook (IAMRole, the finding\'s accessKeyDetails its hints) when the finding type is configured', async () => {
    // Prepare
    iamMock.on(SimulatePrincipalPolicyCommand).resolves(allowed('s3:GetObject', 's3:PutBucketPolicy'));
    const handOff = vi.fn(async () => ({ eventId: 'evt-1' }));
    const relate = vi.fn(async (key: string) => (key.startsWith('access-key#') ? ['inc-0000000000000001'] : []));

    // Act
    const result = await assessSourceAuthorisation.run(anS3StepContext({ outcomes, handOff, relate, options: anS3Options({ hand_off_finding_types: ['Exfiltration:S3/*'] }) }));

    // Assess
    expect(handOff).toHaveBeenCalledWith(
      {
        resourceType: 'IAMRole',
        id: ROLE_NAME,
        accessKeyDetails: { userType: 'AssumedRole', userName: ROLE_NAME, principalId: 'AROA4EXAMPLEETLJOB01X:etl-nightly-session', accessKeyId: ACCESS_KEY_ID },
      },
      expect.stringMatching(/authorised source of Exfiltration:S3\/AnomalousBehavior/),
    );
    expect(relate).toHaveBeenCalledWith(`access-key#${ACCESS_KEY_ID}`);
    expect(relate).toHaveBeenCalledWith(`principal#${ACCOUNT_ID}#${ROLE_ARN}`);
    expect(result).toMatchObject({ status: 'done', data: { handedOff: { eventId: 'evt-1' }, related: ['inc-0000000000000001'] } });
  });

  it('reads an IAM user\'s ARN (with its path) before simulating', async () => {
    // Prepare
    const userArn = `arn:aws:iam::${ACCOUNT_ID}:user/ops/alice`;
    iamMock.on(GetUserCommand).resolves({ User: { Arn: userArn, UserName: 'alice', Path: '/ops/', UserId: 'AIDA', CreateDate: new Date() } });
    iamMock.on(SimulatePrincipalPolicyCommand).resolves(allowed('s3:GetObject'));
    const incident = anS3Incident({ resource: { type: 'S3Bucket', id: BUCKET, hints: { userType: 'IAMUser', userName: 'alice', accessKeyId: 'AKIAEXAMPLEALICE0001', api: 'GetObject' } } });

    // Act
    const result = await assessSourceAuthorisation.run(anS3StepContext({ incident }));

    // Assess
    expect(iamMock.commandCalls(SimulatePrincipalPolicyCommand)[0]!.args[0].input.PolicySourceArn).toBe(userArn);
    expect(result.data!.recommendation).toMatch(/iam-user playbook/);
  });

  it.each([
    ['no principal (a manual finding)', {}, /names no principal/],
    ['the root user', { userType: 'Root', userName: 'root' }, /account playbook/],
    ['a federated user session', { userType: 'FederatedUser', userName: 'bob' }, /minted it/],
  ])('is skipped for %s, with what to do', async (_name, hints, why) => {
    const result = await assessSourceAuthorisation.run(anS3StepContext({ incident: anS3Incident({ resource: { type: 'S3Bucket', id: BUCKET, hints } }) }));
    expect(result.status).toBe('skipped');
    expect(result.summary).toMatch(why);
    expect(iamMock.commandCalls(SimulatePrincipalPolicyCommand)).toHaveLength(0);
  });

  it('is skipped when the principal no longer exists', async () => {
    iamMock.on(GetRoleCommand).rejects(awsError('NoSuchEntity', { httpStatusCode: 404 }));
    expect((await assessSourceAuthorisation.run(anS3StepContext())).summary).toMatch(/no longer exists/);
  });

  it("lets the emulator's missing SimulatePrincipalPolicy through, for the engine to record as unsupported", async () => {
    iamMock.on(SimulatePrincipalPolicyCommand).rejects(motoNotImplemented('SimulatePrincipalPolicy'));
    await expect(assessSourceAuthorisation.run(anS3StepContext({ outcomes }))).rejects.toThrow(/not been implemented/);
  });
});
