/**
 * Tags Firebreak writes on what it touches or creates for an incident (the instance, its
 * snapshots, forensic volumes and copies), so a redelivery finds them again and a
 * responder sees at a glance which incident they belong to.
 */
import { cleanText, type Incident } from '../findings/index.ts';

/** A tag as EC2 (and most AWS APIs) take it. */
export interface ResourceTag {
  Key: string;
  Value: string;
}

/** Tag values: EC2 accepts at most 256 characters. */
export const TAG_VALUE_MAX_LENGTH = 256;

/** The tag every resource Firebreak creates for an incident carries; lookups filter on it. */
export const INCIDENT_ID_TAG = 'firebreak:incident-id';

/** On a snapshot copy or a volume made from a snapshot: the evidence snapshot it comes from. */
export const SOURCE_SNAPSHOT_TAG = 'firebreak:source-snapshot';

/**
 * Tags from a map, in its order; values are cleaned (control characters become spaces) and
 * cut to {@link TAG_VALUE_MAX_LENGTH}, since some come from a finding.
 *
 * @example
 * ```ts
 * tagList({ 'firebreak:status': 'released' }) // [{ Key: 'firebreak:status', Value: 'released' }]
 * ```
 */
export function tagList(tags: Readonly<Record<string, string>>): ResourceTag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value: cleanText(Value, TAG_VALUE_MAX_LENGTH) }));
}

/**
 * The incident's tags (its id, the finding's id and type, the ticket when there is one)
 * followed by `extra`, whose keys win.
 *
 * @example
 * ```ts
 * incidentTags(incident, { 'firebreak:instance-id': 'i-0abc…' }).map((t) => t.Key)
 * // ['firebreak:incident-id', 'firebreak:finding-id', 'firebreak:finding-type', 'firebreak:instance-id']
 * ```
 */
export function incidentTags(incident: Incident, extra: Readonly<Record<string, string>> = {}): ResourceTag[] {
  return tagList({
    [INCIDENT_ID_TAG]: incident.incidentId,
    'firebreak:finding-id': incident.findingId,
    'firebreak:finding-type': incident.findingType,
    ...(incident.ticket ? { 'firebreak:ticket': incident.ticket } : {}),
    ...extra,
  });
}
