import type { Logger } from '@aws-lambda-powertools/logger';
import type { MessageAttributeValue, SNSClient } from '@aws-sdk/client-sns';
import type { SendOnly } from '../aws/lazy-client.ts';
import { classifyError } from '../errors/index.ts';
import { cleanText, type IgnoredFinding, type Incident } from '../findings/index.ts';
import { STAGES, type IncidentStatus, type Mode, type OutcomeStage, type StepOutcome } from '../vocabulary/index.ts';

/** The incident statuses people are told about: each one asks something of a responder, or answers them. */
export const NOTIFIED_STATUSES = ['contained', 'held', 'failed', 'released'] as const;
export type NotifiedStatus = (typeof NOTIFIED_STATUSES)[number];

/** The `status` attribute of a message: an incident's new status, or an unhandled finding. */
export type NotificationStatus = NotifiedStatus | 'unhandled';

/**
 * Failed steps (and kept protections) listed in a message; the rest are counted. With every
 * piece of free text cut as well, a body stays below 40 KB whatever the ledger holds: far
 * from SNS's 256 KB limit.
 */
export const MAX_LISTED_STEPS = 20;
/** SNS refuses a subject of 100 characters or more, or one that is not ASCII. */
export const MAX_SUBJECT_CHARS = 99;

/** An incident whose status a delivery (or a release) changed. */
export interface IncidentStatusChange {
  kind: 'incident';
  incident: Incident;
  status: NotifiedStatus;
  /** The status before (absent: a new incident). */
  previousStatus?: IncidentStatus;
  /** Why, as the ledger records it (`statusReason`, or the release's summary). */
  reason: string;
  /** Every step's latest outcome: failed ones are listed with their error codes. */
  steps: Record<string, StepOutcome>;
  mode?: Mode;
  /** For `released`: who, why, how and what stays as containment left it. */
  release?: { by: string; reason: string; via: string; keptProtections: string[] };
  at: Date;
}

/** A finding about a resource type no playbook handles: recorded as skipped, and a person must look at it. */
export interface UnhandledFindingNotice {
  kind: 'unhandled';
  finding: IgnoredFinding;
  /** The function whose queue it arrived on. */
  playbook: string;
  at: Date;
}

export type Notice = IncidentStatusChange | UnhandledFindingNotice;

/** What is published: a subject and a plain-text body for people, attributes for subscription filters. */
export interface RenderedMessage {
  subject: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
}

/** How a publication went; never an exception. */
export type NotifyOutcome =
  | { outcome: 'published'; messageId: string }
  | { outcome: 'not-configured' }
  | { outcome: 'failed'; error: { code: string; message: string } };

/**
 * Whether a delivery that ended in `status`, after the incident stood at `previousStatus`,
 * tells people: only a change to a status they must hear about (a redelivery, a follow-up or
 * GuardDuty's re-publication of a contained finding changes nothing and says nothing).
 *
 * @example
 * ```ts
 * isNotifiedChange('contained', undefined) // true: a new incident, contained
 * isNotifiedChange('contained', 'contained') // false: a follow-up delivery
 * isNotifiedChange('skipped', undefined) // false: nothing to tell
 * ```
 */
export function isNotifiedChange(status: IncidentStatus, previousStatus: IncidentStatus | undefined): status is NotifiedStatus {
  return (NOTIFIED_STATUSES as readonly string[]).includes(status) && status !== previousStatus;
}

/**
 * Renders a notice as the message subscribers get: an ASCII subject under 100 characters,
 * a plain-text body bounded far below SNS's 256 KB (every piece of free text cleaned and
 * cut, at most {@link MAX_LISTED_STEPS} failed steps listed), and the message attributes subscription filter policies match on (`status`,
 * `playbook`, `severity` as a Number, `accountId`, `resourceType` and, for an incident,
 * `incidentId`). Pure: the same notice always renders the same message.
 *
 * @example
 * ```ts
 * const { subject } = renderNotice({ kind: 'incident', incident, status: 'contained', reason: 'contained; evidence complete', steps, at: new Date() });
 * subject // 'Firebreak contained: Instance i-0a1b2c3d4e5f67890 in 111122223333 us-east-1'
 * ```
 */
export function renderNotice(notice: Notice): RenderedMessage {
  return notice.kind === 'incident' ? renderStatusChange(notice) : renderUnhandled(notice);
}

const HEADLINE: Record<NotificationStatus, string> = {
  contained: 'contained',
  held: 'HELD, nothing changed',
  failed: 'FAILED, a responder must act',
  released: 'released',
  unhandled: 'unhandled finding',
};

function renderStatusChange(n: IncidentStatusChange): RenderedMessage {
  const i = n.incident;
  const what = `${text(i.resource.type, 64)} ${text(i.resource.id, 256)}`;
  const where = `account ${i.accountId} (${i.region})`;
  const opening: Record<NotifiedStatus, string> = {
    contained: `Firebreak contained ${what} in ${where}.`,
    held: `Firebreak did NOT contain ${what} in ${where}: the incident is held and nothing was changed.`,
    failed: `Firebreak could not contain ${what} in ${where}: a responder must act.`,
    released: `${what} in ${where} was released from containment.`,
  };
  const failed = failedSteps(n.steps);
  const lines = [
    opening[n.status],
    '',
    'What happened',
    field('Status', `${n.status} (before: ${n.previousStatus ?? 'new incident'})`),
    field('Why', text(n.reason, 2000)),
    ...(n.mode ? [field('Mode', n.mode)] : []),
    field('At', n.at.toISOString()),
    ...(n.release
      ? [
          field('Released by', text(n.release.by, 512)),
          field('Reason', text(n.release.reason, 512)),
          field('Through', n.release.via === 'event' ? 'a Firebreak Manual Release event' : 'the firebreak CLI'),
          ...(n.release.keptProtections.length ? [field('Kept', n.release.keptProtections.slice(0, MAX_LISTED_STEPS).map((k) => text(k, 200)).join('; '))] : []),
        ]
      : []),
    '',
    'The finding',
    field('Type', text(i.findingType, 256)),
    field('Title', text(i.title, 512)),
    field('Severity', `${i.severity} (${severityLabel(i.severity)})`),
    field('Resource', what),
    field('Account', i.accountId),
    field('Region', i.region),
    field('Finding id', text(i.findingId, 256)),
    field('Origin', i.origin === 'manual' ? `manual${i.ticket ? `, ticket ${text(i.ticket, 128)}` : ''}${i.requestedBy ? `, requested by ${text(i.requestedBy, 512)}` : ''}` : 'GuardDuty'),
    ...(failed.length ? ['', `Failed steps (${failed.length})`, ...listed(failed, failedStepLine)] : []),
    '',
    'The record',
    field('Incident', i.incidentId),
    field('Ledger', '`firebreak incidents` lists every incident and its steps (`--json` for the records)'),
    ...nextStep(n, what),
  ];
  return {
    subject: subject(`Firebreak ${HEADLINE[n.status]}: ${i.resource.type} ${i.resource.id} in ${i.accountId} ${i.region}`),
    body: lines.join('\n'),
    attributes: {
      status: str(n.status),
      playbook: str(i.playbook),
      severity: { DataType: 'Number', StringValue: String(i.severity) },
      accountId: str(i.accountId),
      resourceType: str(i.resource.type),
      incidentId: str(i.incidentId),
    },
  };
}

function nextStep(n: IncidentStatusChange, what: string): string[] {
  const id = n.incident.incidentId;
  if (n.status === 'held') {
    return [
      field('Next', 'the finding is evaluated again when GuardDuty publishes it again; to contain it now:'),
      `    firebreak contain ${n.incident.resource.type} ${n.incident.resource.id} --ticket <ticket>`,
    ];
  }
  if (n.status === 'released') return [];
  return [field('Release', `when ${what} is safe: firebreak release ${id} --reason "<why>"`)];
}

function renderUnhandled(n: UnhandledFindingNotice): RenderedMessage {
  const f = n.finding;
  const lines = [
    `GuardDuty reported a finding about ${text(f.resourceType, 64)} in account ${f.accountId} (${f.region}) that no Firebreak playbook acts on.`,
    'Nothing was read from or changed in AWS: a responder must look at it.',
    '',
    'The finding',
    field('Type', text(f.findingType, 256)),
    field('Title', text(f.title, 512)),
    field('Resource type', text(f.resourceType, 64)),
    field('Account', f.accountId),
    field('Region', f.region),
    field('Finding id', text(f.findingId, 256)),
    field('Why', text(f.reason, 1000)),
    field('Arrived on', `the ${text(n.playbook, 64)} function's queue`),
    field('At', n.at.toISOString()),
    '',
    'The record',
    field('Ledger', '`firebreak incidents` lists it as skipped (unhandled); this message is sent once per finding'),
  ];
  return {
    subject: subject(`Firebreak ${HEADLINE.unhandled}: ${f.resourceType} in ${f.accountId} ${f.region}`),
    body: lines.join('\n'),
    attributes: {
      status: str('unhandled'),
      playbook: str(n.playbook),
      accountId: str(f.accountId),
      resourceType: str(f.resourceType),
    },
  };
}

const STAGE_ORDER: readonly OutcomeStage[] = [...STAGES, 'release'];

/** Failed steps, containment first (the stages' order), then by name. */
function failedSteps(steps: Record<string, StepOutcome>): Array<[string, StepOutcome]> {
  const rank = (o: StepOutcome) => STAGE_ORDER.indexOf(o.stage);
  return Object.entries(steps)
    .filter(([, o]) => o.status === 'failed')
    .sort(([a, x], [b, y]) => rank(x) - rank(y) || a.localeCompare(b));
}

/** `  - isolateNetworkInterfaces [contain]: UnauthorizedOperation (permanent): You are not authorized…` */
function failedStepLine([name, o]: [string, StepOutcome]): string {
  const kind = o.error ? (o.error.retryable ? ' (retryable)' : ' (permanent)') : '';
  return `  - ${text(name, 128)} [${o.stage}]: ${text(o.error?.code ?? 'failed', 128)}${kind}: ${text(o.error?.message ?? o.summary, 300)}`;
}

function listed<T>(items: T[], line: (item: T) => string): string[] {
  const lines = items.slice(0, MAX_LISTED_STEPS).map(line);
  return items.length > MAX_LISTED_STEPS ? [...lines, `  … and ${items.length - MAX_LISTED_STEPS} more (the ledger has them all)`] : lines;
}

/** GuardDuty's severity levels. */
function severityLabel(severity: number): string {
  if (severity >= 9) return 'critical';
  if (severity >= 7) return 'high';
  if (severity >= 4) return 'medium';
  return 'low';
}

const field = (name: string, value: string) => `  ${`${name}:`.padEnd(14)}${value}`;
// Cut before cleaning (it maps one unit to one): a huge value costs nothing.
const text = (value: string, max: number) => cleanText(value.slice(0, max), max);
const str = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: text(value, 256) || '-' });
/** SNS subjects must be printable ASCII, on one line, under 100 characters. */
const subject = (value: string) => value.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_SUBJECT_CHARS);


export interface NotifierOptions {
  /** A publication that takes longer is abandoned (and recorded as failed): default 5000 ms. */
  timeoutMs?: number;
}

/**
 * Publishes notices on the deployment's SNS topic. It never throws and never retries for
 * long: a message is published after a delivery has finished, so telling people can
 * neither fail nor hold up a containment. Without a topic it publishes nothing.
 *
 * @example
 * ```ts
 * const notifier = new Notifier(new SNSClient({}), config.notificationTopicArn, logger);
 * const sent = await notifier.notify({ kind: 'incident', incident, status: 'held', reason, steps: {}, at: new Date() });
 * sent.outcome // 'published' | 'not-configured' | 'failed'
 * ```
 */
export class Notifier {
  readonly #sns: SendOnly<SNSClient>;
  readonly #topicArn: string | undefined;
  readonly #logger: Logger;
  readonly #timeoutMs: number;

  constructor(sns: SendOnly<SNSClient>, topicArn: string | undefined, logger: Logger, options: NotifierOptions = {}) {
    this.#sns = sns;
    this.#topicArn = topicArn;
    this.#logger = logger;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  /** Whether a topic is configured (otherwise {@link notify} publishes nothing). */
  get configured(): boolean {
    return this.#topicArn !== undefined;
  }

  async notify(notice: Notice): Promise<NotifyOutcome> {
    if (this.#topicArn === undefined) return { outcome: 'not-configured' };
    const status = notice.kind === 'incident' ? notice.status : 'unhandled';
    const about = notice.kind === 'incident' ? { incidentId: notice.incident.incidentId } : { findingId: notice.finding.findingId };
    try {
      const message = renderNotice(notice);
      const out = await this.#sns.send(
        new (await import('../aws/sdk/client-sns.ts')).PublishCommand({ TopicArn: this.#topicArn, Subject: message.subject, Message: message.body, MessageAttributes: message.attributes }),
        { abortSignal: AbortSignal.timeout(this.#timeoutMs) },
      );
      const messageId = out.MessageId ?? 'unknown';
      this.#logger.info('Notification published', { ...about, status, messageId });
      return { outcome: 'published', messageId };
    } catch (error) {
      const c = classifyError(error);
      const failure = { code: text(c.code, 128), message: text(c.message, 300) };
      // Telling people failed; the containment did not: log it loudly, never throw.
      this.#logger.error('Notification could not be published; the delivery itself is unaffected', { ...about, status, topicArn: this.#topicArn, error: failure });
      return { outcome: 'failed', error: failure };
    }
  }
}
