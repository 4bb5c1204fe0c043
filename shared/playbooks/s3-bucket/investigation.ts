import { GetQueryResultsCommand, StartQueryCommand } from '@aws-sdk/client-cloudtrail';
import { GetRoleCommand, GetUserCommand, SimulatePrincipalPolicyCommand, type EvaluationResult } from '@aws-sdk/client-iam';
import * as z from 'zod';
import { CLOUDTRAIL_LOOKUP_IAM_ACTIONS, CLOUDTRAIL_RETENTION_DAYS, lookupTrailPage, type TrailEvent } from '../../actions/cloudtrail.ts';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import type { Incident } from '../../findings/index.ts';
import { findingTypeMatches } from './options.ts';
import { s3Step } from './types.ts';

const DAY_MS = 86_400_000;

/** At most this many events are kept in the ledger (all of them go to the evidence bucket). */
export const MAX_EVENTS_KEPT = 500;

/** One call on the bucket, as the review keeps it. */
export const BucketCallSchema = z.object({
  eventTime: z.string(),
  eventName: z.string(),
  eventSource: z.string().optional(),
  principal: z.string().optional(),
  accessKeyId: z.string().optional(),
  sessionIssuer: z.string().optional(),
  sourceIpAddress: z.string().optional(),
  userAgent: z.string().optional(),
  errorCode: z.string().optional(),
  objectKey: z.string().optional(),
});
export type BucketCall = z.infer<typeof BucketCallSchema>;

const compact = (e: TrailEvent): BucketCall => {
  const call: BucketCall = { eventTime: e.eventTime, eventName: e.eventName, eventSource: e.eventSource };
  for (const k of ['principal', 'accessKeyId', 'sessionIssuer', 'sourceIpAddress', 'userAgent', 'errorCode'] as const) if (e[k]) call[k] = e[k] as string;
  return call;
};

/** Who the finding says made the calls (hints from `accessKeyDetails`). */
export interface Actor {
  userType?: string;
  userName?: string;
  principalId?: string;
  accessKeyId?: string;
}

export function actorOf(incident: Incident): Actor {
  const h = incident.resource.hints;
  const str = (k: string) => (typeof h[k] === 'string' ? (h[k] as string) : undefined);
  const actor: Actor = {};
  for (const k of ['userType', 'userName', 'principalId', 'accessKeyId'] as const) {
    const v = str(k);
    if (v) actor[k] = v;
  }
  return actor;
}

/** The review window: `lookback` days before the finding (bounded by CloudTrail's 90 days) until now. */
export function reviewWindow(incident: Incident, lookbackDays: number, now: Date): { start: string; end: string } {
  const created = Date.parse(incident.createdAt);
  const from = (Number.isNaN(created) ? now.getTime() : created) - lookbackDays * DAY_MS;
  const start = new Date(Math.max(from, now.getTime() - CLOUDTRAIL_RETENTION_DAYS * DAY_MS + 60_000));
  return { start: start.toISOString(), end: now.toISOString() };
}

// ---------------------------------------------------------------------------
// Management events (LookupEvents), paced and resumable
// ---------------------------------------------------------------------------

export const ReviewManagementEventsDataSchema = z.object({
  window: z.object({ start: z.string(), end: z.string() }),
  /** Where the next delivery resumes (LookupEvents' NextToken). */
  nextToken: z.string().optional(),
  pages: z.number(),
  complete: z.boolean(),
  /** How many events were read in all. */
  total: z.number(),
  events: z.array(BucketCallSchema),
});

export const reviewBucketManagementEvents = s3Step({
  name: 'reviewBucketManagementEvents',
  stage: 'investigate',
  description: "Identify the source: read CloudTrail's management events on the bucket (LookupEvents, paced, resumed across deliveries) and save them as evidence",
  iamActions: [...CLOUDTRAIL_LOOKUP_IAM_ACTIONS, ...EVIDENCE_IAM_ACTIONS],
  data: ReviewManagementEventsDataSchema,
  async run({ clients, pacer, incident, resource, options, previous, now, evidence }) {
    const earlier = previous?.status === 'pending' ? previous.data : undefined;
    const window = earlier?.window ?? reviewWindow(incident, options.cloudtrail_lookback_days, now());
    const events = [...(earlier?.events ?? [])];
    let total = earlier?.total ?? 0;
    let pages = earlier?.pages ?? 0;
    let nextToken = earlier?.nextToken;
    const query = { attribute: 'ResourceName' as const, value: resource.name, start: new Date(window.start), end: new Date(window.end) };
    const where = { clients, pacer, accountId: incident.accountId, region: incident.region };
    const elsewhere = resource.region !== incident.region ? ` (the bucket lives in ${resource.region}: its management events are in that region's event history too)` : '';
    for (let read = 0; read < options.cloudtrail_max_pages; read++) {
      const page = await lookupTrailPage(where, query, nextToken, 5_000);
      if (page.kind === 'throttled') {
        return {
          status: 'pending',
          retryAfterSeconds: 60,
          summary: `${total} management event(s) on ${resource.name} read so far; ${page.reason}: resumes on the next delivery`,
          data: { window, ...(nextToken ? { nextToken } : {}), pages, complete: false, total, events },
        };
      }
      pages++;
      total += page.events.length;
      for (const e of page.events) if (events.length < MAX_EVENTS_KEPT) events.push(compact(e));
      nextToken = page.nextToken;
      if (!nextToken) break;
    }
    if (nextToken) {
      return {
        status: 'pending',
        retryAfterSeconds: 30,
        summary: `${total} management event(s) on ${resource.name} read in ${pages} page(s); more remain: resumes on the next delivery`,
        data: { window, nextToken, pages, complete: false, total, events },
      };
    }
    const ref = await evidence.putJson(incident.incidentId, 'cloudtrail-management-events.json', { bucket: resource.name, window, total, events });
    const callers = [...new Set(events.map((e) => e.principal ?? 'unknown'))];
    return {
      status: 'done',
      summary: `${total} management event(s) on ${resource.name} from ${window.start} to ${window.end}, by ${callers.length} principal(s)${callers.length ? `: ${callers.slice(0, 5).join(', ')}${callers.length > 5 ? '…' : ''}` : ''}${elsewhere}`,
      data: { window, pages, complete: true, total, events },
      evidence: [ref],
    };
  },
});

// ---------------------------------------------------------------------------
// Data events (object-level calls): CloudTrail Lake, when configured
// ---------------------------------------------------------------------------

export const ReviewDataEventsDataSchema = z.object({
  /** False: object-level calls are not visible to Firebreak (no event data store configured). */
  visible: z.boolean(),
  queryId: z.string().optional(),
  window: z.object({ start: z.string(), end: z.string() }).optional(),
  total: z.number().optional(),
  events: z.array(BucketCallSchema).default([]),
  recommendation: z.string().optional(),
});

/** Lake's timestamp literal (`2025-06-19 15:00:00`). */
const lakeTime = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');

/** The Lake query of S3 data events on one bucket (bucket names have no quotes; the id is validated by the options). */
export function dataEventsQuery(eventDataStoreId: string, bucket: string, window: { start: string; end: string }): string {
  return [
    "SELECT eventTime, eventName, userIdentity.arn AS principal, userIdentity.accessKeyId AS accessKeyId, userIdentity.sessionContext.sessionIssuer.arn AS sessionIssuer, sourceIPAddress, userAgent, errorCode, element_at(requestParameters, 'key') AS objectKey",
    `FROM ${eventDataStoreId}`,
    `WHERE eventSource = 's3.amazonaws.com' AND eventCategory = 'Data' AND element_at(requestParameters, 'bucketName') = '${bucket}'`,
    `AND eventTime >= '${lakeTime(window.start)}' AND eventTime <= '${lakeTime(window.end)}'`,
    `ORDER BY eventTime DESC LIMIT ${MAX_EVENTS_KEPT}`,
  ].join(' ');
}

const NOT_VISIBLE =
  'object-level calls (GetObject, PutObject, DeleteObject…) are not visible: CloudTrail LookupEvents serves management events only. Recommendation: log S3 data events for this bucket (a trail with data event selectors, or a CloudTrail Lake event data store) and set data_events_event_data_store so Firebreak queries them';

export const reviewBucketDataEvents = s3Step({
  name: 'reviewBucketDataEvents',
  stage: 'investigate',
  description: 'Identify the source of object-level calls: query S3 data events on the bucket in the configured CloudTrail Lake event data store, or record that they are not visible',
  iamActions: ['cloudtrail:StartQuery', 'cloudtrail:GetQueryResults', ...EVIDENCE_IAM_ACTIONS],
  enabledBy: ['data_events_event_data_store'],
  data: ReviewDataEventsDataSchema,
  async run({ clients, incident, resource, options, previous, now, evidence }) {
    const store = options.data_events_event_data_store;
    if (!store) return { status: 'skipped', summary: NOT_VISIBLE, data: { visible: false, events: [], recommendation: NOT_VISIBLE } };
    const storeId = store.split('/').pop()!;
    const storeRegion = store.split(':')[3];
    if (storeRegion !== incident.region) {
      const why = `the event data store ${store} is in ${storeRegion}; this function queries ${incident.region} only. Recommendation: query it there for object-level calls on ${resource.name}`;
      return { status: 'skipped', summary: why, data: { visible: false, events: [], recommendation: why } };
    }
    const earlier = previous?.status === 'pending' ? previous.data : undefined;
    const window = earlier?.window ?? reviewWindow(incident, options.cloudtrail_lookback_days, now());
    let queryId = earlier?.queryId;
    if (!queryId) {
      const started = await clients.cloudTrail.send(new StartQueryCommand({ QueryStatement: dataEventsQuery(storeId, resource.name, window) }));
      queryId = started.QueryId;
      if (!queryId) throw new StepFailedError('reviewBucketDataEvents', 'NoQueryId', `CloudTrail Lake started no query on ${storeId}`, { retryable: true });
    }
    const rows: Array<Record<string, string>> = [];
    let token: string | undefined;
    for (let page = 0; page < 10; page++) {
      const out = await clients.cloudTrail.send(new GetQueryResultsCommand({ QueryId: queryId, ...(token ? { NextToken: token } : {}) }));
      const status = out.QueryStatus;
      if (status === 'QUEUED' || status === 'RUNNING') {
        return { status: 'pending', retryAfterSeconds: 30, summary: `CloudTrail Lake query ${queryId} on ${storeId} is ${status.toLowerCase()}`, data: { visible: true, queryId, window, events: [] } };
      }
      if (status !== 'FINISHED') {
        throw new StepFailedError('reviewBucketDataEvents', `Query${status ?? 'Unknown'}`, `CloudTrail Lake query ${queryId} ended ${status}: ${out.ErrorMessage ?? 'no reason given'}`, { retryable: false });
      }
      for (const row of out.QueryResultRows ?? []) rows.push(Object.assign({}, ...row) as Record<string, string>);
      token = out.NextToken;
      if (!token) break;
    }
    const events: BucketCall[] = rows.map((r) => {
      const call: BucketCall = { eventTime: r.eventTime ?? '', eventName: r.eventName ?? 'unknown', eventSource: 's3.amazonaws.com' };
      for (const k of ['principal', 'accessKeyId', 'sessionIssuer', 'sourceIPAddress', 'userAgent', 'errorCode', 'objectKey'] as const) {
        const v = r[k];
        if (v) call[k === 'sourceIPAddress' ? 'sourceIpAddress' : k] = v;
      }
      return call;
    });
    const ref = await evidence.putJson(incident.incidentId, 'cloudtrail-data-events.json', { bucket: resource.name, eventDataStore: store, queryId, window, events });
    return {
      status: 'done',
      summary: `${events.length} object-level call(s) on ${resource.name} from ${window.start} to ${window.end} (CloudTrail Lake ${storeId})`,
      data: { visible: true, queryId, window, total: events.length, events },
      evidence: [ref],
    };
  },
});

// ---------------------------------------------------------------------------
// Was the source authorised? SimulatePrincipalPolicy, then the hand-off (when configured)
// ---------------------------------------------------------------------------

/** CloudTrail event names of S3 whose IAM action has another name. */
const ACTION_OF_EVENT: Readonly<Record<string, string>> = {
  ListObjects: 's3:ListBucket',
  ListObjectsV2: 's3:ListBucket',
  HeadBucket: 's3:ListBucket',
  ListObjectVersions: 's3:ListBucketVersions',
  HeadObject: 's3:GetObject',
  GetObjectAttributes: 's3:GetObjectAttributes',
  CopyObject: 's3:PutObject',
  CreateMultipartUpload: 's3:PutObject',
  UploadPart: 's3:PutObject',
  UploadPartCopy: 's3:PutObject',
  CompleteMultipartUpload: 's3:PutObject',
  DeleteObjects: 's3:DeleteObject',
  ListMultipartUploads: 's3:ListBucketMultipartUploads',
  ListParts: 's3:ListMultipartUploadParts',
  DeleteBucketPublicAccessBlock: 's3:PutBucketPublicAccessBlock',
  DeleteBucketOwnershipControls: 's3:PutBucketOwnershipControls',
  DeleteBucketTagging: 's3:PutBucketTagging',
  PutBucketEncryption: 's3:PutEncryptionConfiguration',
  DeleteBucketEncryption: 's3:PutEncryptionConfiguration',
  GetBucketEncryption: 's3:GetEncryptionConfiguration',
  PutBucketLifecycle: 's3:PutLifecycleConfiguration',
  PutBucketLifecycleConfiguration: 's3:PutLifecycleConfiguration',
  DeleteBucketLifecycle: 's3:PutLifecycleConfiguration',
  GetBucketLifecycle: 's3:GetLifecycleConfiguration',
  GetBucketLifecycleConfiguration: 's3:GetLifecycleConfiguration',
  PutBucketReplication: 's3:PutReplicationConfiguration',
  DeleteBucketReplication: 's3:PutReplicationConfiguration',
  GetBucketReplication: 's3:GetReplicationConfiguration',
  PutBucketCors: 's3:PutBucketCORS',
  DeleteBucketCors: 's3:PutBucketCORS',
  GetBucketCors: 's3:GetBucketCORS',
};

/** The IAM action of an S3 call as CloudTrail names it (`ListObjects` → `s3:ListBucket`). */
export const iamActionOfS3Event = (eventName: string): string | undefined =>
  ACTION_OF_EVENT[eventName] ?? (/^[A-Za-z]{1,128}$/.test(eventName) ? `s3:${eventName}` : undefined);

export const AssessAuthorisationDataSchema = z.object({
  principalArn: z.string().optional(),
  userType: z.string().optional(),
  decisions: z.array(z.object({ action: z.string(), decision: z.string() })).default([]),
  authorised: z.boolean().optional(),
  handedOff: z.object({ eventId: z.string(), target: z.string() }).optional(),
  recommendation: z.string().optional(),
  related: z.array(z.string()).default([]),
});

export const assessSourceAuthorisation = s3Step({
  name: 'assessSourceAuthorisation',
  stage: 'investigate',
  description:
    "Assess whether the source was authorised for the calls it made (SimulatePrincipalPolicy against the bucket and its policy); when it was, its credentials are the compromise: hand it to the IAM user or role playbook for the configured finding types, otherwise recommend it",
  iamActions: ['iam:GetUser', 'iam:GetRole', 'iam:SimulatePrincipalPolicy'],
  after: [reviewBucketManagementEvents, reviewBucketDataEvents],
  data: AssessAuthorisationDataSchema,
  async run(ctx) {
    const { clients, incident, resource, capture, options } = ctx;
    const actor = actorOf(incident);
    if (!actor.userName || !actor.userType) {
      return { status: 'skipped', summary: 'the finding names no principal (a manual finding, or no accessKeyDetails): see the CloudTrail review for who called the bucket', data: { decisions: [], related: [] } };
    }
    const related = actor.accessKeyId ? await ctx.relate(`access-key#${actor.accessKeyId}`) : [];
    if (actor.userType !== 'IAMUser' && actor.userType !== 'AssumedRole') {
      const recommendation =
        actor.userType === 'Root'
          ? 'the root user made the calls: no policy limits root; recommend the account playbook (firebreak contain Account) and root credential rotation'
          : `a ${actor.userType} session (${actor.userName}) made the calls: the IAM user who minted it is found in CloudTrail by the iam-user playbook; recommend firebreak contain IAMUser <that user>`;
      return { status: 'skipped', summary: recommendation, data: { userType: actor.userType, decisions: [], recommendation, related } };
    }
    let principalArn: string | undefined;
    try {
      principalArn =
        actor.userType === 'IAMUser'
          ? (await clients.iam.send(new GetUserCommand({ UserName: actor.userName }))).User?.Arn
          : (await clients.iam.send(new GetRoleCommand({ RoleName: actor.userName }))).Role?.Arn;
    } catch (error) {
      if (!hasErrorCode(error, 'NoSuchEntity', 'NoSuchEntityException')) throw error;
    }
    if (!principalArn) {
      return { status: 'skipped', summary: `${actor.userType} ${actor.userName} no longer exists: nothing to simulate`, data: { userType: actor.userType, decisions: [], related } };
    }
    related.push(...(await ctx.relate(`principal#${incident.accountId}#${principalArn}`)).filter((id) => !related.includes(id)));
    // The calls it made: the finding's own, and those CloudTrail shows with its key or as it.
    const byActor = (e: BucketCall) => (actor.accessKeyId && e.accessKeyId === actor.accessKeyId) || e.principal === principalArn || e.sessionIssuer === principalArn;
    const seen = [...(ctx.outputOf(reviewBucketManagementEvents)?.events ?? []), ...(ctx.outputOf(reviewBucketDataEvents)?.events ?? [])].filter(byActor);
    const api = typeof incident.resource.hints.api === 'string' ? incident.resource.hints.api : undefined;
    const actions = [...new Set([...(api ? [api] : []), ...seen.map((e) => e.eventName)].map(iamActionOfS3Event).filter((a): a is string => Boolean(a)))].sort();
    if (actions.length === 0) {
      return { status: 'skipped', summary: `no call by ${principalArn} on ${resource.name} is known (neither the finding nor CloudTrail names one)`, data: { principalArn, userType: actor.userType, decisions: [], related } };
    }
    const bucketArn = `arn:${incident.partition}:s3:::${resource.name}`;
    const results: EvaluationResult[] = [];
    let marker: string | undefined;
    do {
      const out = await clients.iam.send(
        new SimulatePrincipalPolicyCommand({
          PolicySourceArn: principalArn,
          ActionNames: actions,
          ResourceArns: [bucketArn, `${bucketArn}/*`],
          // The policy in force when the calls were made: the one before containment.
          ...(capture.policy ? { ResourcePolicy: capture.policy } : {}),
          ...(marker ? { Marker: marker } : {}),
        }),
      );
      results.push(...(out.EvaluationResults ?? []));
      marker = out.IsTruncated ? out.Marker : undefined;
    } while (marker);
    const decisions = results.map((r) => ({ action: r.EvalActionName ?? 'unknown', decision: r.EvalDecision ?? 'unknown' }));
    const allowed = decisions.filter((d) => d.decision === 'allowed').map((d) => d.action);
    const authorised = allowed.length > 0;
    const base = { principalArn, userType: actor.userType, decisions, authorised, related };
    if (!authorised) {
      return {
        status: 'done',
        summary: `${principalArn} was not authorised for ${actions.join(', ')} on ${resource.name} (${decisions.map((d) => `${d.action}: ${d.decision}`).join(', ')}): the calls failed, or a grant outside its policies (ACL, access point) allowed them`,
        data: base,
      };
    }
    const playbook = actor.userType === 'IAMUser' ? 'iam-user' : 'iam-role';
    if (!findingTypeMatches(incident.findingType, options.hand_off_finding_types)) {
      const recommendation = `${principalArn} was authorised for ${allowed.join(', ')}: if the calls were not its owner's, its credentials are the compromise — contain it with the ${playbook} playbook (firebreak contain ${actor.userType === 'IAMUser' ? 'IAMUser' : 'IAMRole'} ${actor.userName}); not handed off automatically: ${incident.findingType} is not in hand_off_finding_types`;
      return { status: 'done', summary: recommendation, data: { ...base, recommendation } };
    }
    const { eventId } = await ctx.handOff(
      {
        // Named as the responders' rules route it (IAMUser, IAMRole), with what the finding said of it.
        resourceType: actor.userType === 'AssumedRole' ? 'IAMRole' : 'IAMUser',
        id: actor.userName,
        accessKeyDetails: { userType: actor.userType, userName: actor.userName, ...(actor.principalId ? { principalId: actor.principalId } : {}), ...(actor.accessKeyId ? { accessKeyId: actor.accessKeyId } : {}) },
      },
      `authorised source of ${incident.findingType} on S3 bucket ${resource.name} (${allowed.join(', ')})`,
    );
    return {
      status: 'done',
      summary: `${principalArn} was authorised for ${allowed.join(', ')}: its credentials are the compromise; handed to the ${playbook} playbook (event ${eventId})`,
      data: { ...base, handedOff: { eventId, target: `${actor.userType === 'AssumedRole' ? 'IAMRole' : 'IAMUser'} ${actor.userName} (${actor.userType})` } },
    };
  },
});
