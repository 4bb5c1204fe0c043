import { createHash } from 'node:crypto';

/** Every playbook Firebreak knows, one per resource type of the seeds. */
export const PLAYBOOK_NAMES = [
  'ec2-instance',
  's3-bucket',
  'ecs-task',
  'container',
  'rds-instance',
  'iam-user',
  'iam-role',
  'account',
] as const;
export type PlaybookName = (typeof PLAYBOOK_NAMES)[number];

/** The origins that start an incident: each has its own blast-radius budget in an account. */
export const FINDING_ORIGINS = ['guardduty', 'manual', 'handoff'] as const;
export type FindingOrigin = (typeof FINDING_ORIGINS)[number];

/**
 * How a delivery reached the function: a GuardDuty finding (findings bus), a responder's manual
 * finding, a playbook's hand-off, or a re-delivery of a finding Firebreak already had — from a
 * DLQ (`firebreak dlq redrive`) or held while paused (`firebreak resume`). Everything but
 * `guardduty` comes from the responders' bus.
 */
export const ORIGINS = [...FINDING_ORIGINS, 'redrive', 'resume'] as const;
export type Origin = (typeof ORIGINS)[number];

/** A re-delivery: who asked, and the origin of the finding it re-delivers (whose budget it counts against). */
export interface Redelivery {
  origin: 'redrive' | 'resume';
  of: FindingOrigin;
  requestedBy: string;
}

/** What an incident was derived from: another playbook's incident (a hand-off) or the released generation before it. */
export type DerivedFrom = { kind: 'handoff'; incidentId: string; playbook: PlaybookName } | { kind: 'generation'; incidentId: string };

/** What the finding says about the resource to act on (validated identifiers only). */
export interface IncidentResource {
  /** GuardDuty resource type (`Instance`, `S3Bucket`, …). */
  type: string;
  /** The identifier the playbook acts on (instance id, bucket name, user name, …). */
  id: string;
  /** Hints from the finding (VPC id, ENI ids…); the playbook re-reads the truth from AWS. */
  hints: Record<string, string | string[]>;
}

/**
 * One finding about one resource, validated and normalised. Data flows one way:
 * event → Incident → plan → execution → ledger; no step reads the raw event.
 */
export interface Incident {
  /** Stable id: the same finding about the same resource always maps to the same incident. */
  incidentId: string;
  playbook: PlaybookName;
  origin: Origin;
  findingId: string;
  findingArn?: string;
  findingType: string;
  title: string;
  severity: number;
  accountId: string;
  region: string;
  partition: string;
  resource: IncidentResource;
  archived: boolean;
  sample: boolean;
  /** GuardDuty `service.count`: how many times the activity was seen. */
  count: number;
  createdAt: string;
  updatedAt: string;
  eventId: string;
  eventTime: string;
  ticket?: string;
  requestedBy?: string;
  /** Remote IPs named by the finding (for the record and later blocking). */
  remoteIps: string[];
  /** GuardDuty `service.eventFirstSeen`: when the activity was first seen (an identity review's CloudTrail window ends its look-back here). */
  activityFirstSeenAt?: string;
  /** GuardDuty `service.eventLastSeen`: when the activity was last seen (a later one than a release opens a new generation). */
  activityLastSeenAt?: string;
  /** Set for origins `redrive` and `resume`. */
  redelivery?: Redelivery;
  derivedFrom?: DerivedFrom;
  /** The containment generation (absent: 1, the first). */
  generation?: number;
}

/**
 * The origin whose blast-radius budget an incident counts against: a re-delivery counts against
 * the budget of the finding it re-delivers, never one of its own (it would escape the limit),
 * and an incident holds one slot however often it is delivered (it is never counted twice).
 */
export function budgetOrigin(incident: Pick<Incident, 'origin' | 'redelivery'>): FindingOrigin {
  if (incident.redelivery) return incident.redelivery.of;
  return (FINDING_ORIGINS as readonly string[]).includes(incident.origin) ? (incident.origin as FindingOrigin) : 'guardduty';
}

/**
 * The id of a containment generation: the first is the incident id itself, the next ones add
 * `-g<n>` — letters, digits and `-` only, so it is valid in tags, role session names, client
 * tokens and ledger keys alike (`#` is not allowed in a role session name).
 *
 * @example
 * ```ts
 * generationId('inc-0123456789abcdef', 2) // 'inc-0123456789abcdef-g2'
 * ```
 */
export function generationId(incidentId: string, generation: number): string {
  const base = incidentId.replace(/-g\d+$/, '');
  return generation <= 1 ? base : `${base}-g${generation}`;
}

/** The generation an incident id names (1 for an id without `-g<n>`). */
export function generationOf(incidentId: string): number {
  const m = /-g(\d+)$/.exec(incidentId);
  return m ? Number(m[1]) : 1;
}

/**
 * Derives the incident id from account, finding id and resource id, so that
 * redeliveries and GuardDuty's re-publications of a finding land on one record.
 *
 * @example
 * ```ts
 * incidentIdFor('111122223333', 'a1b2…', 'i-0abc') // 'inc-3f9c2e…' (16 hex)
 * ```
 */
export function incidentIdFor(accountId: string, findingId: string, resourceId: string): string {
  const digest = createHash('sha256').update(`${accountId}|${findingId}|${resourceId}`).digest('hex');
  return `inc-${digest.slice(0, 16)}`;
}
