import type { DerivedFrom, FindingOrigin, IgnoredFinding, Incident, PlaybookName } from '../findings/index.ts';
import { cleanText } from '../findings/index.ts';
import type { GateResult, IncidentStatus, Mode, ReleaseVia, StepOutcome } from '../vocabulary/index.ts';

/**
 * Version of the incident record this code writes. v1 (up to commit 57b6851) flattened the
 * incident into about twenty top-level attributes; v2 keeps it nested as parsed. Every
 * reader goes through {@link incidentRecordOf}, which upgrades a v1 item on read.
 */
export const INCIDENT_RECORD_VERSION = 2;

/** One request to release an incident (a retry of an incomplete release adds one). */
export interface ReleaseAttempt {
  requestedBy: string;
  reason: string;
  reattach: boolean;
  requestedAt: string;
  via: ReleaseVia;
}

/** How a release of an incident went: who asked, why, and each restore step's outcome. */
export interface ReleaseRecord {
  /** The latest attempt's requester, reason and options (every attempt is in `attempts`). */
  requestedBy: string;
  reason: string;
  reattach: boolean;
  /** When the latest attempt claimed the release (a `releasing` claim older than 15 min may be taken over). */
  requestedAt: string;
  via: ReleaseVia;
  status: 'releasing' | 'released' | 'incomplete';
  /** Identifies the run holding the release: step and finish writes of any other run are refused. */
  claimId?: string;
  attempts?: ReleaseAttempt[];
  releasedBy?: string;
  releasedAt?: string;
  finishedAt?: string;
  summary?: string;
  /** Steps that failed in the latest attempt (a retry runs them again). */
  failures?: string[];
  /** What release deliberately left as containment set it (protections, a stopped instance, evidence). */
  keptProtections?: string[];
  steps: Record<string, StepOutcome>;
}

/** The ledger's record of one incident (finding + resource). */
export interface IncidentRecord {
  pk: string;
  sk: string;
  kind: 'incident';
  schemaVersion: typeof INCIDENT_RECORD_VERSION;
  incidentId: string;
  playbook: PlaybookName;
  /** The incident as the latest delivery parsed it. */
  incident: Incident;
  mode: Mode;
  status: IncidentStatus;
  statusReason?: string;
  gates?: GateResult[];
  firstSeenAt: string;
  lastSeenAt: string;
  deliveries: number;
  lastMessageId: string;
  /** The SQS SenderId of the latest delivery. */
  lastSenderId?: string;
  /** The resource as it was at the first delivery: the "before" of containment (with `capturedAt`). */
  capture?: Record<string, unknown>;
  steps: Record<string, StepOutcome>;
  blastRadiusSlotAt?: string;
  isolatedAt?: string;
  finishedAt?: string;
  release?: ReleaseRecord;
  /** The latest message people were sent about the incident (or that could not be sent). */
  notification?: NotificationRecord;
  /**
   * What opened the incident — GuardDuty, a responder (manual) or another playbook (handoff) — and
   * so whose blast-radius budget it counts against. A redrive or resume never changes it. (Not
   * `origin`: v1 kept the incident's origin there, which a v2 write removes.)
   */
  openedBy?: FindingOrigin;
  /** The incident it was derived from: the source of a hand-off, or the released generation before it. */
  derivedFrom?: DerivedFrom;
  /** Incidents derived from this one (hand-offs it made, the generation after it), by id. */
  derived?: Record<string, DerivedLink>;
  /** The generation opened after this one was released (GuardDuty saw activity after the release). */
  nextGeneration?: string;
  /** Re-deliveries of its finding: from a DLQ (`firebreak dlq redrive`) or after a pause (`firebreak resume`). */
  redeliveries?: RedeliveryRecord[];
  /** The latest `firebreak resume` that re-published it (a second resume leaves it alone until it is held again). */
  resumeRequest?: { at: string; by: string; eventId: string };
}

/** One incident derived from another. */
export interface DerivedLink {
  kind: DerivedFrom['kind'];
  at: string;
  /** For a hand-off: the playbook that received it. */
  playbook?: PlaybookName;
}

/** One re-delivery of an incident's finding. */
export interface RedeliveryRecord {
  origin: 'redrive' | 'resume';
  requestedBy: string;
  at: string;
  messageId: string;
}

/** A notification Firebreak published, or failed to publish, about a record. */
export interface NotificationRecord {
  /** The status it told (`contained`, `held`, `failed`, `released`, `unhandled`). */
  status: string;
  at: string;
  published: boolean;
  /** SNS's message id, when published. */
  messageId?: string;
  /** Why it was not published (bounded). */
  error?: { code: string; message: string };
}

/** A message that was not a finding or release Firebreak can act on, kept for the record (its size bounded). */
export interface RejectedRecord {
  pk: string;
  sk: string;
  kind: 'rejected';
  messageId: string;
  playbook: string;
  /** The first {@link MAX_REJECTION_REASONS} reasons, each at most {@link MAX_REASON_CHARS} characters. */
  reasons: string[];
  /** How many reasons there were in all. */
  reasonCount: number;
  bodySha256: string;
  bodyPreview: string;
  receivedAt: string;
  /** The SQS SenderId of the message: who put it on the queue. */
  senderId?: string;
  expiresAt: number;
}

/** A well-formed finding no playbook acts on (a GuardDuty sample, a resource type no playbook handles), recorded as skipped. */
export interface IgnoredFindingRecord extends IgnoredFinding {
  pk: string;
  sk: string;
  kind: 'ignored';
  status: 'skipped';
  playbook: string;
  messageId: string;
  receivedAt: string;
  deliveries: number;
  expiresAt: number;
  /** For an `unhandled` finding: the one message people were sent about it. */
  notification?: NotificationRecord;
}

export type LedgerRecord = IncidentRecord | RejectedRecord | IgnoredFindingRecord;

export const MAX_REJECTION_REASONS = 10;
export const MAX_REASON_CHARS = 300;
export const MAX_PREVIEW_CHARS = 2048;
/** Rejected and ignored messages are kept this long (DynamoDB TTL), incidents forever. */
export const RECORD_RETENTION_SECONDS = 400 * 24 * 3600;

export const incidentKey = (incidentId: string) => ({ pk: `incident#${incidentId}`, sk: 'incident' });
/** A rejected message, by its SQS message id (a message moved to a DLQ keeps it). */
export const rejectedKey = (messageId: string) => ({ pk: `rejected#${messageId}`, sk: 'rejected' });
/** One record per ignored finding, however often it is published. */
export const ignoredKey = (accountId: string, findingId: string) => ({ pk: `ignored#${accountId}#${findingId}`, sk: 'ignored' });
/**
 * Each origin that starts incidents has its own blast-radius budget in an account: a flood of
 * manual findings or of hand-offs cannot use up what GuardDuty's findings need, nor the other way
 * round. GuardDuty's keeps the key it always had (`blast-radius#<account>`); the others add their
 * origin (`#manual`, `#handoff`). A redrive or resume has none of its own: it re-delivers a
 * finding and counts against that finding's budget (see `budgetOrigin`).
 */
export const windowKey = (accountId: string, origin: FindingOrigin = 'guardduty') => ({ pk: origin === 'guardduty' ? `blast-radius#${accountId}` : `blast-radius#${accountId}#${origin}`, sk: 'window' });

/** The attributes v1 kept at the top level that v2 keeps inside `incident`; a v2 write removes them. */
export const V1_INCIDENT_ATTRIBUTES = [
  'origin',
  'findingId',
  'findingArn',
  'findingType',
  'title',
  'severity',
  'accountId',
  'region',
  'resourceType',
  'resourceId',
  'ticket',
  'requestedBy',
  'remoteIps',
  'eventTime',
  'findingUpdatedAt',
  'findingCount',
] as const;

/**
 * An incident record as this code works with it, whichever version wrote it: a v1 item
 * is upgraded (its incident rebuilt from the flattened attributes); a v2 item is returned
 * as it is. Anything else is not an incident record.
 *
 * @example
 * ```ts
 * const record = incidentRecordOf(item); // item from GetItem, v1 or v2
 * record?.incident.resource.id // 'i-0abc…'
 * ```
 */
export function incidentRecordOf(item: Record<string, unknown> | undefined): IncidentRecord | undefined {
  if (!item || item.kind !== 'incident') return undefined;
  if (item.schemaVersion === INCIDENT_RECORD_VERSION) return item as unknown as IncidentRecord;
  // Only v1 has no version: a record from a newer Firebreak must not be "upgraded" into an empty incident.
  if (item.schemaVersion !== undefined) {
    throw new Error(`incident record ${String(item.incidentId)} has schemaVersion ${String(item.schemaVersion)}; this Firebreak reads versions 1-${INCIDENT_RECORD_VERSION}: upgrade it`);
  }
  return upgradeV1(item);
}

function upgradeV1(item: Record<string, unknown>): IncidentRecord {
  const s = (k: string) => (typeof item[k] === 'string' ? (item[k] as string) : undefined);
  const findingArn = s('findingArn');
  const incident: Incident = {
    incidentId: s('incidentId') ?? '',
    playbook: item.playbook as PlaybookName,
    origin: s('origin') === 'manual' ? 'manual' : 'guardduty',
    findingId: s('findingId') ?? '',
    ...(findingArn ? { findingArn } : {}),
    findingType: s('findingType') ?? '',
    title: s('title') ?? '',
    severity: Number(item.severity ?? 0),
    accountId: s('accountId') ?? '',
    region: s('region') ?? '',
    partition: /^arn:(aws[a-z-]*):/.exec(findingArn ?? '')?.[1] ?? 'aws',
    resource: { type: s('resourceType') ?? '', id: s('resourceId') ?? '', hints: {} },
    archived: false,
    sample: false,
    count: Number(item.findingCount ?? 1),
    createdAt: s('firstSeenAt') ?? '',
    updatedAt: s('findingUpdatedAt') ?? '',
    eventId: s('lastMessageId') ?? '',
    eventTime: s('eventTime') ?? '',
    ...(s('ticket') ? { ticket: s('ticket')! } : {}),
    ...(s('requestedBy') ? { requestedBy: s('requestedBy')! } : {}),
    remoteIps: Array.isArray(item.remoteIps) ? (item.remoteIps as string[]) : [],
  };
  const rest = Object.fromEntries(Object.entries(item).filter(([k]) => !(V1_INCIDENT_ATTRIBUTES as readonly string[]).includes(k)));
  return { ...(rest as unknown as IncidentRecord), schemaVersion: INCIDENT_RECORD_VERSION, incident, steps: (item.steps as IncidentRecord['steps']) ?? {} };
}

/** Reasons bounded in count and length, so a message listing thousands of problems stays far below DynamoDB's 400 KB item limit. */
export function boundedReasons(reasons: string[]): { reasons: string[]; reasonCount: number } {
  const kept = reasons.slice(0, MAX_REJECTION_REASONS).map((r) => cleanText(r, MAX_REASON_CHARS));
  if (reasons.length > MAX_REJECTION_REASONS) kept.push(`… and ${reasons.length - MAX_REJECTION_REASONS} more`);
  return { reasons: kept, reasonCount: reasons.length };
}
