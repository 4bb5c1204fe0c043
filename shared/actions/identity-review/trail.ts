/**
 * The CloudTrail review shared by the identity playbooks: every call made with the credentials /
 * by the principal from N days before the finding's first activity until now, read only through
 * the paced `lookupTrailPage`, resumable across follow-up deliveries, written to the evidence
 * bucket as numbered parts and, at the end, as the activity report (JSON and Markdown).
 */
import * as z from 'zod';
import { CLOUDTRAIL_LOOKUP_IAM_ACTIONS, CLOUDTRAIL_RETENTION_DAYS, lookupTrailPage, type TrailEvent } from '../cloudtrail.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import type { PlaybookTypes, Step, StepContext, StepResult, StepSpec } from '../../engine/index.ts';
import { classifyError, StepFailedError } from '../../errors/index.ts';
import type { Incident } from '../../findings/index.ts';
import type { EvidenceRef } from '../../vocabulary/index.ts';
import { ActivitySchema, activityMarkdown, addEvents, emptyActivity, enumerationSign } from './activity.ts';
import { deleteCommands } from './changes.ts';
import { TRAIL_REVIEW_DEFAULTS, type TrailReviewOptions } from './options.ts';

/** The step constructor a playbook gets from `defineStep<T>()`. */
export type StepConstructor<T extends PlaybookTypes> = <D = undefined>(spec: StepSpec<T, D>) => Step<T, D>;

export const LOOKUP_ATTRIBUTES = ['AccessKeyId', 'Username', 'ResourceName', 'ResourceType', 'EventName', 'EventSource', 'EventId', 'ReadOnly'] as const;
export type LookupAttribute = (typeof LOOKUP_ATTRIBUTES)[number];

/** One LookupEvents query of the review (CloudTrail takes one attribute per call). */
export interface ReviewSubject {
  attribute: LookupAttribute;
  value: string;
  /** Why it is looked up, for the report (`the finding's access key`). */
  why: string;
  /**
   * Also look up the temporary credentials the events of this query issued (AssumeRole*,
   * GetSessionToken, GetFederationToken: `responseElements.credentials.accessKeyId`), each as an
   * `AccessKeyId` subject of its own: a role's sessions are found this way.
   */
  followIssuedCredentials?: boolean;
}

/** How many lookups (subject × region) one review makes at most (the issued-credentials ones included). */
export const MAX_SUBJECTS = 80;

/** Where CloudTrail logs the events of global services (IAM, STS's global endpoint, …) in each partition. */
export const GLOBAL_EVENTS_REGION: Readonly<Record<string, string>> = { aws: 'us-east-1', 'aws-cn': 'cn-north-1', 'aws-us-gov': 'us-gov-west-1' };

/** The regions a review reads by default: the incident's, and the one its partition logs global services' events in. */
export function defaultReviewRegions(incident: Pick<Incident, 'region' | 'partition'>): string[] {
  return [...new Set([incident.region, GLOBAL_EVENTS_REGION[incident.partition] ?? incident.region])];
}

const SubjectStateSchema = z.object({
  attribute: z.enum(LOOKUP_ATTRIBUTES),
  value: z.string().max(2048),
  why: z.string().max(300),
  followIssuedCredentials: z.boolean().optional(),
  /** The region whose event history is read (each region keeps its own). */
  region: z.string(),
  state: z.enum(['todo', 'reading', 'done']),
  nextToken: z.string().optional(),
  pages: z.number(),
  events: z.number(),
});

const EvidenceRefSchema = z.object({ bucket: z.string(), key: z.string(), sha256: z.string(), bytes: z.number(), versionId: z.string().optional() });

/** What the review records, pending (its cursors) and done (the report): never the events themselves. */
export const TrailReviewDataSchema = z.object({
  window: z.object({
    start: z.string(),
    end: z.string(),
    /** What the look-back is counted from: GuardDuty's first sight of the activity, or the finding's creation. */
    anchor: z.string(),
    anchoredOn: z.enum(['activityFirstSeenAt', 'createdAt']),
    /** Set when the window was cut to LookupEvents' 90 days. */
    clamped: z.boolean().optional(),
  }),
  subjects: z.array(SubjectStateSchema),
  /** The regions every subject is looked up in. */
  regions: z.array(z.string()),
  pages: z.number(),
  /** Events kept (a later subject's events that an earlier query already returned are not counted twice). */
  events: z.number(),
  duplicates: z.number(),
  deliveries: z.number(),
  /** The events, as read: `cloudtrail-review/events-<n>.json` in the incident's evidence folder. */
  parts: z.array(EvidenceRefSchema.extend({ events: z.number() })),
  activity: ActivitySchema,
  /** Why the review stopped before reading everything (max_events, too many subjects). */
  truncated: z.string().optional(),
  report: z.object({ json: EvidenceRefSchema, markdown: EvidenceRefSchema }).optional(),
});
export type TrailReviewData = z.infer<typeof TrailReviewDataSchema>;

export interface TrailReviewSpec<T extends PlaybookTypes> {
  /** The ledger name (default `reviewCloudTrail`): never rename once released. */
  name?: string;
  /** What to look up, decided once at the first delivery (the subjects are then kept in the step's data). */
  subjects(ctx: StepContext<T, TrailReviewData>): ReviewSubject[] | Promise<ReviewSubject[]>;
  /** The playbook's `cloudtrail_review` options (absent: the defaults). */
  settings(options: T['options']): Partial<TrailReviewOptions> | undefined;
  /** The regions to read (default {@link defaultReviewRegions}: the incident's, and where global services log). */
  regions?(ctx: StepContext<T, TrailReviewData>): string[];
}

const DAY_MS = 86_400_000;
/** A page waits at most this long for a token of the shared bucket. */
const MAX_TOKEN_WAIT_MS = 5_000;
/** After a throttled page, look again in (seconds): the bucket refills at 2 a second, shared by every function. */
const THROTTLED_RETRY_SECONDS = 30;
/** After spending the delivery's budget, look again in (seconds). */
const BUDGET_RETRY_SECONDS = 5;

/** The review's window: N days before the finding's first activity (or its creation) until now, within LookupEvents' 90 days. */
export function reviewWindow(incident: Pick<Incident, 'activityFirstSeenAt' | 'createdAt'>, lookbackDays: number, now: Date): TrailReviewData['window'] {
  const first = Date.parse(incident.activityFirstSeenAt ?? '');
  const created = Date.parse(incident.createdAt);
  const anchoredOn = Number.isFinite(first) ? 'activityFirstSeenAt' : 'createdAt';
  const anchorMs = Math.min(Number.isFinite(first) ? first : Number.isFinite(created) ? created : now.getTime(), now.getTime());
  const oldest = now.getTime() - CLOUDTRAIL_RETENTION_DAYS * DAY_MS;
  const wanted = anchorMs - lookbackDays * DAY_MS;
  return {
    start: new Date(Math.max(wanted, oldest)).toISOString(),
    end: now.toISOString(),
    anchor: new Date(anchorMs).toISOString(),
    anchoredOn,
    ...(wanted < oldest ? { clamped: true } : {}),
  };
}

/** The temporary credentials an event issued (AssumeRole*, GetSessionToken, GetFederationToken). */
export function issuedAccessKeyOf(event: TrailEvent): string | undefined {
  if (event.errorCode || !/^(AssumeRole|AssumeRoleWithSAML|AssumeRoleWithWebIdentity|GetSessionToken|GetFederationToken)$/.test(event.eventName)) return undefined;
  const credentials = (event.responseElements as { credentials?: { accessKeyId?: unknown } } | undefined)?.credentials;
  const id = credentials?.accessKeyId;
  return typeof id === 'string' && /^[A-Z0-9]{16,128}$/.test(id) ? id : undefined;
}

/** Whether LookupEvents would return `event` for `subject` (so a later query does not count it again). */
export function matchesSubject(subject: Pick<ReviewSubject, 'attribute' | 'value'>, event: TrailEvent): boolean {
  switch (subject.attribute) {
    case 'AccessKeyId':
      return event.accessKeyId === subject.value;
    case 'Username':
      return (event.principal?.split('/').pop() ?? '') === subject.value;
    case 'ResourceName':
      return event.resources.some((r) => r.name === subject.value);
    case 'ResourceType':
      return event.resources.some((r) => r.type === subject.value);
    case 'EventName':
      return event.eventName === subject.value;
    case 'EventSource':
      return event.eventSource === subject.value;
    case 'EventId':
      return event.eventId === subject.value;
    case 'ReadOnly':
      return String(event.readOnly) === subject.value;
  }
}

const EVIDENCE_FOLDER = 'cloudtrail-review';

/**
 * The CloudTrail review step (stage `evidence`: it never blocks containment). Resumes from its
 * pending cursors on every follow-up delivery; done when every subject is read or `max_events`
 * is reached (then the report says truncated). On an endpoint without LookupEvents (the
 * emulator) it fails, flagged unsupported, and the rest of the playbook runs.
 *
 * @example
 * ```ts
 * export const reviewCloudTrail = trailReview(iamUserStep, {
 *   subjects: ({ incident, resource }) => [
 *     { attribute: 'AccessKeyId', value: String(incident.resource.hints.accessKeyId), why: "the finding's access key", followIssuedCredentials: true },
 *     { attribute: 'Username', value: resource.userName, why: 'the user' },
 *   ],
 *   settings: (options) => options.cloudtrail_review,
 * });
 * ```
 */
export function trailReview<T extends PlaybookTypes>(define: StepConstructor<T>, spec: TrailReviewSpec<T>): Step<T, TrailReviewData> {
  return define<TrailReviewData>({
    name: spec.name ?? 'reviewCloudTrail',
    stage: 'evidence',
    description: "Review CloudTrail for every call made with the credentials and by the principal since before the finding's first activity: what was called, from where, what it created or changed",
    iamActions: [...CLOUDTRAIL_LOOKUP_IAM_ACTIONS, ...EVIDENCE_IAM_ACTIONS],
    data: TrailReviewDataSchema,
    run: (ctx) => runTrailReview(ctx, spec, spec.name ?? 'reviewCloudTrail'),
  });
}

async function runTrailReview<T extends PlaybookTypes>(ctx: StepContext<T, TrailReviewData>, spec: TrailReviewSpec<T>, name: string): Promise<StepResult<TrailReviewData>> {
  const settings = { ...TRAIL_REVIEW_DEFAULTS, ...(spec.settings(ctx.options) ?? {}) };
  const { incident } = ctx;
  const carried = ctx.previous?.status === 'pending' ? ctx.previous.data : undefined;
  let data: TrailReviewData;
  if (carried?.window) {
    data = structuredClone(carried);
  } else {
    const regions = [...new Set(spec.regions?.(ctx) ?? defaultReviewRegions(incident))];
    const subjects = dedupe(await spec.subjects(ctx)).flatMap((s) => regions.map((region) => ({ ...s, region })));
    if (subjects.length === 0) return { status: 'skipped', summary: 'nothing to look up in CloudTrail: the finding names no access key or principal' };
    data = {
      window: reviewWindow(incident, settings.lookback_days, ctx.now()),
      subjects: subjects.slice(0, MAX_SUBJECTS).map((s) => ({ ...s, state: 'todo' as const, pages: 0, events: 0 })),
      regions,
      pages: 0,
      events: 0,
      duplicates: 0,
      deliveries: 0,
      parts: [],
      activity: emptyActivity(),
      ...(subjects.length > MAX_SUBJECTS ? { truncated: `only the first ${MAX_SUBJECTS} of ${subjects.length} subjects are looked up` } : {}),
    };
  }
  data.deliveries += 1;

  const window = { start: new Date(data.window.start), end: new Date(data.window.end) };
  const started = Date.now();
  const budgetMs = settings.seconds_per_delivery * 1000;
  // LookupEvents serves 2 a second: a delivery cannot read more than that in its budget anyway.
  const pageBudget = settings.seconds_per_delivery * 2;
  const read: TrailEvent[] = [];
  let pagesNow = 0;
  let waiting: { reason: string; retryAfterSeconds: number } | undefined;

  for (;;) {
    const index = data.subjects.findIndex((s) => s.state !== 'done');
    if (index < 0) break;
    if (data.events >= settings.max_events) {
      data.truncated ??= `stopped at max_events (${settings.max_events}): ${data.subjects.filter((s) => s.state !== 'done').length} lookups not finished`;
      break;
    }
    const remaining = budgetMs - (Date.now() - started);
    if (pagesNow >= pageBudget || remaining <= 0) {
      waiting = { reason: `this delivery's review budget (${settings.seconds_per_delivery} s) is spent`, retryAfterSeconds: BUDGET_RETRY_SECONDS };
      break;
    }
    const subject = data.subjects[index]!;
    const clients = subject.region === incident.region ? ctx.clients : ctx.clientsIn?.(subject.region);
    if (!clients) {
      subject.state = 'done';
      data.truncated ??= `${subject.region} was not read: this context has clients for ${incident.region} only`;
      continue;
    }
    const where = { clients, pacer: ctx.pacer, accountId: incident.accountId, region: subject.region };
    let page;
    try {
      page = await lookupTrailPage(where, { attribute: subject.attribute, value: subject.value, ...window }, subject.nextToken, Math.min(MAX_TOKEN_WAIT_MS, remaining));
    } catch (error) {
      const c = classifyError(error);
      // An answer that is not CloudTrail's at all (the emulator's HTML 500 for an API it lacks) is
      // no transient failure: waiting for it would only follow up until max_follow_ups.
      if (/Deserialization error/.test(c.message)) {
        throw new StepFailedError(name, 'LookupEventsUnavailable', `LookupEvents answered HTTP ${c.httpStatus ?? '?'} with a body that is not CloudTrail's: this endpoint does not serve the CloudTrail event history (the emulator has no LookupEvents)`, { retryable: false, cause: error });
      }
      // A transient failure keeps what was read: the next delivery goes on from the same cursor.
      if (!c.retryable || c.unsupported) throw error;
      waiting = { reason: `LookupEvents failed with ${c.code}`, retryAfterSeconds: THROTTLED_RETRY_SECONDS };
      break;
    }
    if (page.kind === 'throttled') {
      waiting = { reason: page.reason, retryAfterSeconds: THROTTLED_RETRY_SECONDS };
      break;
    }
    pagesNow += 1;
    data.pages += 1;
    subject.pages += 1;
    subject.state = page.nextToken ? 'reading' : 'done';
    if (page.nextToken) subject.nextToken = page.nextToken;
    else delete subject.nextToken;
    // Each region keeps its own history: only an earlier lookup of the same region returned the same event.
    const earlier = data.subjects.slice(0, index).filter((s) => s.region === subject.region);
    for (const event of page.events) {
      if (earlier.some((s) => matchesSubject(s, event))) {
        data.duplicates += 1;
        continue;
      }
      if (data.events >= settings.max_events) {
        data.truncated ??= `stopped at max_events (${settings.max_events}) in the middle of a page`;
        break;
      }
      data.events += 1;
      subject.events += 1;
      read.push(event);
      const issued = subject.followIssuedCredentials ? issuedAccessKeyOf(event) : undefined;
      if (issued && !data.subjects.some((s) => s.attribute === 'AccessKeyId' && s.value === issued)) {
        // A session's calls land in whichever regions it used: look its key up in every region read.
        for (const region of data.regions) {
          if (data.subjects.length < MAX_SUBJECTS) {
            data.subjects.push({ attribute: 'AccessKeyId', value: issued, why: `temporary credentials issued by ${event.eventName} at ${event.eventTime}`, region, state: 'todo', pages: 0, events: 0 });
          } else {
            data.truncated ??= `more temporary credentials were issued than the ${MAX_SUBJECTS} lookups a review makes: the later ones are not looked up`;
          }
        }
      }
    }
    if (data.truncated && data.events >= settings.max_events) break;
  }

  addEvents(data.activity, read);
  const evidence: EvidenceRef[] = [];
  if (read.length > 0) {
    const n = data.parts.length + 1;
    const ref = await ctx.evidence.putJson(incident.incidentId, `${EVIDENCE_FOLDER}/events-${String(n).padStart(4, '0')}.json`, { part: n, window: data.window, events: read });
    data.parts.push({ ...ref, events: read.length });
    evidence.push(ref);
  }

  if (waiting) {
    const next = data.subjects.find((s) => s.state !== 'done');
    return {
      status: 'pending',
      retryAfterSeconds: waiting.retryAfterSeconds,
      summary: `read ${data.pages} CloudTrail pages (${data.events} events) so far; continuing with ${next?.attribute} ${next?.value} in ${next?.region} on the next delivery (${waiting.reason})`,
      data,
      ...(evidence.length ? { evidence } : {}),
    };
  }

  const report = {
    kind: 'firebreak-cloudtrail-review',
    incidentId: incident.incidentId,
    accountId: incident.accountId,
    region: incident.region,
    window: data.window,
    subjects: data.subjects.map(({ nextToken: _cursor, state: _state, ...s }) => s),
    pages: data.pages,
    events: data.events,
    duplicates: data.duplicates,
    truncated: data.truncated ?? null,
    enumeration: enumerationSign(data.activity) ?? null,
    activity: data.activity,
    deleteCommands: data.activity.changes.map((c) => ({ kind: c.kind, id: c.id, eventName: c.eventName, commands: deleteCommands(c) })).filter((c) => c.commands.length),
    parts: data.parts,
    notes: [
      `LookupEvents serves the management events of one region: ${data.regions.join(' and ')} were read (global services such as IAM log in ${GLOBAL_EVENTS_REGION[incident.partition] ?? 'us-east-1'}); calls in other regions, and data events (S3 objects, Lambda invocations), are only in a trail that records them.`,
    ],
  };
  const json = await ctx.evidence.putJson(incident.incidentId, `${EVIDENCE_FOLDER}/report.json`, report);
  const markdown = await ctx.evidence.putText(
    incident.incidentId,
    `${EVIDENCE_FOLDER}/report.md`,
    activityMarkdown({ title: `CloudTrail review of ${incident.resource.id} (${incident.incidentId})`, window: data.window, subjects: data.subjects, activity: data.activity, ...(data.truncated ? { truncated: data.truncated } : {}) }),
    'text/markdown; charset=utf-8',
  );
  data.report = { json, markdown };
  const a = data.activity;
  const from = Object.keys(a.sourceIps).slice(0, 3).join(', ');
  const enumeration = enumerationSign(a);
  return {
    status: 'done',
    summary:
      `${data.events} CloudTrail events from ${data.window.start} to ${data.window.end} in ${data.regions.join(', ')} over ${data.subjects.length} lookups: ${a.writes} writes, ${a.errors} errors (${a.denied} denied), ${a.changes.length} created or changed resources` +
      `${from ? `; from ${from}` : ''}${enumeration ? `; ${enumeration}` : ''}${data.truncated ? `; truncated: ${data.truncated}` : ''}; report at ${markdown.key}`,
    data,
    evidence: [...evidence, json, markdown],
  };
}

function dedupe(subjects: ReviewSubject[]): ReviewSubject[] {
  const seen = new Set<string>();
  return subjects.filter((s) => {
    if (!s.value) return false;
    const key = `${s.attribute}=${s.value}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
