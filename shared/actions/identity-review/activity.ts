/**
 * The activity report of a CloudTrail review, accumulated page by page across deliveries: what
 * was called, from where (IPs, user agents, regions), which errors (an AccessDenied storm is
 * someone enumerating what a key may do) and what was created or changed. It is kept in the
 * step's ledger record between deliveries, so every list is bounded (a DynamoDB item holds at
 * most 400 KB): the events themselves go to the evidence bucket.
 */
import * as z from 'zod';
import type { TrailEvent } from '../cloudtrail.ts';
import { ChangeSchema, changesOf, isDenied, isWrite, type Change } from './changes.ts';

/** How many distinct values each tally keeps; the rest are counted under `dropped`. */
export const ACTIVITY_LIMITS = { calls: 250, sourceIps: 100, userAgents: 30, regions: 40, errorCodes: 40, principals: 40, accessKeys: 60, changes: 100 } as const;

/** The longest value a tally keeps (user agents and ARNs come from the caller). */
const VALUE_MAX = { call: 128, ip: 64, userAgent: 160, region: 32, errorCode: 64, principal: 200, accessKey: 128 } as const;

const Tally = z.record(z.string(), z.number());

export const ActivitySchema = z.object({
  events: z.number(),
  writes: z.number(),
  errors: z.number(),
  denied: z.number(),
  firstEventAt: z.string().optional(),
  lastEventAt: z.string().optional(),
  /** `<eventSource> <eventName>` → calls, errors, denied. */
  calls: z.record(z.string(), z.object({ count: z.number(), errors: z.number(), denied: z.number() })),
  sourceIps: Tally,
  userAgents: Tally,
  regions: Tally,
  errorCodes: Tally,
  principals: Tally,
  accessKeys: Tally,
  /** What successful writes created or changed, in the order seen (at most {@link ACTIVITY_LIMITS}.changes; the rest are counted in `dropped` and are in the evidence parts). */
  changes: z.array(ChangeSchema),
  /** Changes not kept because the list was full (they are in the evidence parts; the resource review does not see them). */
  changesDropped: z.number().default(0),
  /** Distinct values or changes not kept because a list was full (the events themselves are all in the evidence parts). */
  dropped: z.number(),
});
export type Activity = z.infer<typeof ActivitySchema>;

export const emptyActivity = (): Activity => ({
  events: 0,
  writes: 0,
  errors: 0,
  denied: 0,
  calls: {},
  sourceIps: {},
  userAgents: {},
  regions: {},
  errorCodes: {},
  principals: {},
  accessKeys: {},
  changes: [],
  changesDropped: 0,
  dropped: 0,
});

/** Adds one to `key` in a bounded tally; a new key past the limit is only counted as dropped. */
function count(activity: Activity, tally: Record<string, number>, key: string | undefined, limit: number): void {
  if (key === undefined) return;
  if (tally[key] !== undefined) tally[key] += 1;
  else if (Object.keys(tally).length < limit) tally[key] = 1;
  else activity.dropped += 1;
}

/**
 * Adds events to the activity (mutates and returns it).
 *
 * @example
 * ```ts
 * const activity = addEvents(emptyActivity(), page.events);
 * activity.changes // what they created or changed
 * ```
 */
export function addEvents(activity: Activity, events: readonly TrailEvent[]): Activity {
  for (const e of events) {
    activity.events += 1;
    if (!activity.firstEventAt || e.eventTime < activity.firstEventAt) activity.firstEventAt = e.eventTime;
    if (!activity.lastEventAt || e.eventTime > activity.lastEventAt) activity.lastEventAt = e.eventTime;
    const call = `${e.eventSource} ${e.eventName}`.slice(0, VALUE_MAX.call);
    const denied = isDenied(e);
    if (activity.calls[call]) {
      const c = activity.calls[call];
      c.count += 1;
      if (e.errorCode) c.errors += 1;
      if (denied) c.denied += 1;
    } else if (Object.keys(activity.calls).length < ACTIVITY_LIMITS.calls) {
      activity.calls[call] = { count: 1, errors: e.errorCode ? 1 : 0, denied: denied ? 1 : 0 };
    } else activity.dropped += 1;
    if (isWrite(e)) activity.writes += 1;
    if (e.errorCode) activity.errors += 1;
    if (denied) activity.denied += 1;
    count(activity, activity.sourceIps, e.sourceIpAddress?.slice(0, VALUE_MAX.ip), ACTIVITY_LIMITS.sourceIps);
    count(activity, activity.userAgents, e.userAgent?.slice(0, VALUE_MAX.userAgent), ACTIVITY_LIMITS.userAgents);
    count(activity, activity.regions, e.awsRegion?.slice(0, VALUE_MAX.region), ACTIVITY_LIMITS.regions);
    count(activity, activity.errorCodes, e.errorCode?.slice(0, VALUE_MAX.errorCode), ACTIVITY_LIMITS.errorCodes);
    count(activity, activity.principals, e.principal?.slice(0, VALUE_MAX.principal), ACTIVITY_LIMITS.principals);
    count(activity, activity.accessKeys, e.accessKeyId?.slice(0, VALUE_MAX.accessKey), ACTIVITY_LIMITS.accessKeys);
    for (const change of changesOf(e)) {
      if (activity.changes.length < ACTIVITY_LIMITS.changes) activity.changes.push(change);
      else {
        activity.dropped += 1;
        activity.changesDropped += 1;
      }
    }
  }
  return activity;
}

/** Denied calls on this many distinct APIs, at least {@link ENUMERATION_MIN_DENIED} of them, read as enumeration. */
export const ENUMERATION_MIN_APIS = 5;
export const ENUMERATION_MIN_DENIED = 10;

/** What the denied calls suggest: a storm of AccessDenied on many APIs is someone finding out what the credentials may do. */
export function enumerationSign(activity: Activity): string | undefined {
  const apis = Object.values(activity.calls).filter((c) => c.denied > 0).length;
  if (activity.denied >= ENUMERATION_MIN_DENIED && apis >= ENUMERATION_MIN_APIS) {
    return `${activity.denied} calls on ${apis} APIs were denied: the pattern of someone enumerating what the credentials may do`;
  }
  return undefined;
}

const top = (tally: Record<string, number>, n: number): Array<[string, number]> => Object.entries(tally).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, n);

/** Markdown cells: values come from CloudTrail (attacker-controlled user agents, names): no pipes, no newlines, no markup. */
const cell = (value: string): string => value.replace(/[\r\n]+/g, ' ').replace(/([|`*_[\]<>])/g, '\\$1');

/** The readable summary of a review: the same facts as the JSON report. */
export function activityMarkdown(input: {
  title: string;
  window: { start: string; end: string };
  subjects: Array<{ attribute: string; value: string; why: string; events: number; region?: string }>;
  activity: Activity;
  truncated?: string;
  changeCommands?: (change: Change) => string[];
}): string {
  const { activity: a } = input;
  const lines: string[] = [`# ${cell(input.title)}`, '', `Window: ${input.window.start} → ${input.window.end}`, ''];
  if (input.truncated) lines.push(`**Truncated**: ${cell(input.truncated)}`, '');
  lines.push('## What was looked up', '', '| Attribute | Value | Region | Why | Events |', '|---|---|---|---|---|');
  for (const s of input.subjects) lines.push(`| ${cell(s.attribute)} | ${cell(s.value)} | ${cell(s.region ?? '')} | ${cell(s.why)} | ${s.events} |`);
  lines.push('', '## Summary', '', `${a.events} events (${a.writes} writes, ${a.errors} errors of which ${a.denied} denied)${a.firstEventAt ? `, from ${a.firstEventAt} to ${a.lastEventAt}` : ''}.`);
  const enumeration = enumerationSign(a);
  if (enumeration) lines.push('', `**Enumeration**: ${enumeration}.`);
  if (a.dropped) lines.push('', `${a.dropped} distinct values or changes were past the report's limits (${a.changesDropped} changes beyond the first ${ACTIVITY_LIMITS.changes}, which the resource review does not see); every event is in the evidence parts.`);
  const section = (title: string, tally: Record<string, number>, n = 20) => {
    const rows = top(tally, n);
    if (!rows.length) return;
    lines.push('', `## ${title}`, '', '| Value | Events |', '|---|---|', ...rows.map(([k, v]) => `| ${cell(k)} | ${v} |`));
  };
  const calls = Object.entries(a.calls).sort((x, y) => y[1].count - x[1].count || x[0].localeCompare(y[0]));
  if (calls.length) {
    lines.push('', '## Calls', '', '| Call | Count | Errors | Denied |', '|---|---|---|---|', ...calls.slice(0, 50).map(([k, v]) => `| ${cell(k)} | ${v.count} | ${v.errors} | ${v.denied} |`));
  }
  section('Source IP addresses', a.sourceIps);
  section('User agents', a.userAgents, 10);
  section('Regions', a.regions);
  section('Errors', a.errorCodes);
  section('Principals', a.principals);
  section('Access keys', a.accessKeys);
  if (a.changes.length) {
    lines.push('', '## Created or changed', '', '| Time | Call | Kind | Resource |', '|---|---|---|---|');
    for (const c of a.changes) lines.push(`| ${c.eventTime} | ${cell(c.eventName)} | ${c.kind} | ${cell([c.user ?? c.role ?? c.group, c.id].filter(Boolean).join(': '))} |`);
  }
  return `${lines.join('\n')}\n`;
}
