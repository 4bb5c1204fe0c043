/**
 * Reading CloudTrail's event history (`LookupEvents`: 90 days of management events in one
 * account and region, one lookup attribute per call, about 2 requests a second per account and
 * region). Every call takes a token from the bucket of its account and region, shared by every
 * function of the deployment (shared/pacing), so reviews running side by side never exceed the
 * limit together; a page that gets no token in time, or is throttled anyway, is reported as such
 * and the caller resumes from its cursor on a later delivery. Never on the containment path.
 */
import { LookupEventsCommand, type LookupAttributeKey } from '@aws-sdk/client-cloudtrail';
import type { Clients } from '../aws/index.ts';
import { hasErrorCode } from '../errors/index.ts';
import type { BucketRate, Pacer } from '../pacing/index.ts';

/** IAM actions a lookup needs (`cloudtrail:LookupEvents` has no resource-level permission). */
export const CLOUDTRAIL_LOOKUP_IAM_ACTIONS = ['cloudtrail:LookupEvents'] as const;

/** AWS's documented quota for LookupEvents: 2 transactions per second per account and region. */
export const CLOUDTRAIL_LOOKUP_RATE: BucketRate = { ratePerSecond: 2, burst: 2 };

/** The shared bucket of one account and region. */
export const cloudTrailBucket = (accountId: string, region: string): string => `cloudtrail-lookup#${accountId}#${region}`;

/** LookupEvents serves at most 90 days back. */
export const CLOUDTRAIL_RETENTION_DAYS = 90;

/** One lookup: a single attribute (CloudTrail takes one per call) over a time window. */
export interface TrailQuery {
  attribute: LookupAttributeKey | `${LookupAttributeKey}`;
  value: string;
  start: Date;
  end: Date;
}

/** What a review keeps of one CloudTrail event: what was called, by whom, from where, on what. */
export interface TrailEvent {
  eventId: string;
  eventTime: string;
  eventName: string;
  eventSource: string;
  awsRegion?: string;
  sourceIpAddress?: string;
  userAgent?: string;
  readOnly?: boolean;
  errorCode?: string;
  /** `userIdentity.arn` (or `type:principalId` when there is no ARN). */
  principal?: string;
  accessKeyId?: string;
  /** For a role session or federated user: the ARN of the role or user that issued it (`sessionContext.sessionIssuer.arn`). */
  sessionIssuer?: string;
  resources: Array<{ type?: string; name?: string }>;
  requestParameters?: unknown;
  responseElements?: unknown;
}

export type TrailPage = { kind: 'page'; events: TrailEvent[]; nextToken?: string } | { kind: 'throttled'; reason: string };

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

/** Parses the `CloudTrailEvent` JSON of one event (tolerant: a field it lacks is left out). */
export function trailEventOf(raw: { EventId?: string; EventName?: string; EventSource?: string; EventTime?: Date; AccessKeyId?: string; ReadOnly?: string; Resources?: Array<{ ResourceType?: string; ResourceName?: string }>; CloudTrailEvent?: string }): TrailEvent {
  let body: Record<string, any> = {};
  try {
    body = raw.CloudTrailEvent ? (JSON.parse(raw.CloudTrailEvent) as Record<string, any>) : {};
  } catch {
    body = {};
  }
  const identity = (body.userIdentity ?? {}) as Record<string, any>;
  const principal = str(identity.arn) ?? (str(identity.type) && str(identity.principalId) ? `${identity.type}:${identity.principalId}` : undefined);
  const issuer = str(identity.sessionContext?.sessionIssuer?.arn);
  const readOnly = raw.ReadOnly === 'true' ? true : raw.ReadOnly === 'false' ? false : typeof body.readOnly === 'boolean' ? body.readOnly : undefined;
  const event: TrailEvent = {
    eventId: raw.EventId ?? str(body.eventID) ?? 'unknown',
    eventTime: (raw.EventTime ?? (str(body.eventTime) ? new Date(body.eventTime) : new Date(0))).toISOString(),
    eventName: raw.EventName ?? str(body.eventName) ?? 'unknown',
    eventSource: raw.EventSource ?? str(body.eventSource) ?? 'unknown',
    resources: (raw.Resources ?? []).map((r) => ({ ...(r.ResourceType ? { type: r.ResourceType } : {}), ...(r.ResourceName ? { name: r.ResourceName } : {}) })),
  };
  const optional: Partial<TrailEvent> = {
    awsRegion: str(body.awsRegion),
    sourceIpAddress: str(body.sourceIPAddress),
    userAgent: str(body.userAgent),
    readOnly,
    errorCode: str(body.errorCode),
    principal,
    accessKeyId: raw.AccessKeyId ?? str(identity.accessKeyId),
    sessionIssuer: issuer,
    requestParameters: body.requestParameters ?? undefined,
    responseElements: body.responseElements ?? undefined,
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined && v !== null) (event as unknown as Record<string, unknown>)[k] = v;
  return event;
}

/**
 * Reads one page of events (at most 50, LookupEvents' maximum) for the query, after taking a
 * token of the account and region's shared bucket. `throttled` when no token came within
 * `maxWaitMs` or CloudTrail throttled the call anyway: resume with the same `nextToken` later.
 *
 * @example
 * ```ts
 * const page = await lookupTrailPage({ clients, pacer, accountId, region }, { attribute: 'AccessKeyId', value: 'AKIA…', start, end }, undefined, 5_000);
 * if (page.kind === 'page') for (const e of page.events) …
 * ```
 */
export async function lookupTrailPage(
  where: { clients: Pick<Clients, 'cloudTrail'>; pacer: Pacer; accountId: string; region: string },
  query: TrailQuery,
  nextToken: string | undefined,
  maxWaitMs: number,
): Promise<TrailPage> {
  const bucket = cloudTrailBucket(where.accountId, where.region);
  if (!(await where.pacer.acquire(bucket, CLOUDTRAIL_LOOKUP_RATE, maxWaitMs))) {
    return { kind: 'throttled', reason: `no LookupEvents token for ${where.accountId}/${where.region} within ${maxWaitMs} ms (2 requests a second per account and region, shared by every function)` };
  }
  try {
    const out = await where.clients.cloudTrail.send(
      new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: query.attribute as LookupAttributeKey, AttributeValue: query.value }],
        StartTime: query.start,
        EndTime: query.end,
        MaxResults: 50,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    return { kind: 'page', events: (out.Events ?? []).map(trailEventOf), ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
  } catch (error) {
    if (hasErrorCode(error, 'ThrottlingException', 'Throttling', 'TooManyRequestsException')) {
      return { kind: 'throttled', reason: `CloudTrail throttled LookupEvents in ${where.accountId}/${where.region}` };
    }
    throw error;
  }
}
