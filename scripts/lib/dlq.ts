// `firebreak dlq list` / `firebreak dlq redrive`: what failed containment left in each playbook's
// dead-letter queue, and putting it back through the pipeline. A redrive never sends to a queue:
// it re-publishes each message's event on the responders' bus (origin `redrive`), so only the
// EventBridge rules and the function roles ever put messages on a queue, and the queue policies can
// say so. A message is deleted from the DLQ only once PutEvents accepted its event; a message that
// is not an event Firebreak takes stays, with the reason printed. `--incident` picks the messages
// about one incident; the others stay, visible again at once. The listing joins each message
// with the ledger: the incident it is about, its status and why, the steps that failed.
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityBatchCommand,
  QueueDoesNotExist,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { InvalidFindingError } from '../../shared/errors/index.ts';
import { cleanText, generationId, parseMessage, responderResourceType, REDRIVE_DETAIL_TYPE, REDRIVE_SOURCE, type ParsedMessage } from '../../shared/findings/index.ts';
import { settled } from '../../shared/engine/settled.ts';
import type { IgnoredFindingRecord, IncidentRecord, Ledger, RejectedRecord } from '../../shared/ledger/index.ts';

/** EventBridge refuses an entry over 256 KB (the whole entry); keep room for the envelope. */
export const MAX_REDRIVE_DETAIL_BYTES = 250 * 1024;
/** How long a message received for listing or redrive stays invisible to others (it is made visible again when left). */
const VISIBILITY_SECONDS = 60;
/** A guard against a queue that never empties while we read it (10 messages a receive). */
const MAX_RECEIVES = 1000;

/** What a DLQ message is about, for the ledger join and `--incident`. */
export interface MessageSubject {
  kind: ParsedMessage['kind'];
  /** The incidents it names (a finding's, one per resource; a release's or resume's). */
  incidentIds: string[];
  /** A finding no playbook acts on (a sample, an unhandled type): its ledger record is keyed by these. */
  ignored?: { accountId: string; findingId: string };
}

/** One DLQ message, as the CLI reads it: the event it carries and what it asks for, or why it is not one Firebreak takes. */
export type DlqMessage =
  | {
      ok: true;
      messageId: string;
      event: Record<string, unknown>;
      /** The resource type the responders' rules route on. */
      resourceType: string;
      summary: string;
      about: MessageSubject;
      receiveCount: number;
      sentAt?: string;
    }
  | { ok: false; messageId: string; reason: string; receiveCount: number; sentAt?: string };

/** What a parsed message is about. */
function subjectOf(parsed: ParsedMessage): MessageSubject {
  switch (parsed.kind) {
    case 'findings':
      return { kind: parsed.kind, incidentIds: parsed.incidents.map((i) => i.incidentId) };
    case 'release':
      return { kind: parsed.kind, incidentIds: [parsed.release.incidentId] };
    case 'resume':
      return { kind: parsed.kind, incidentIds: [parsed.resume.incidentId] };
    case 'ignored':
      return { kind: parsed.kind, incidentIds: [], ignored: { accountId: parsed.finding.accountId, findingId: parsed.finding.findingId } };
  }
}

/**
 * True when the message is about the incident: any generation of it (`inc-…-g2` names the same
 * finding as `inc-…`, and a delivery of the finding acts on its latest generation).
 */
export function isAbout(message: DlqMessage, incidentId: string): boolean {
  if (!message.ok) return false;
  const base = generationId(incidentId, 1);
  return message.about.incidentIds.some((id) => generationId(id, 1) === base);
}

/** What a parsed message asks for, in one line. */
function summaryOf(parsed: ParsedMessage): string {
  switch (parsed.kind) {
    case 'findings':
      return parsed.incidents.map((i) => `${i.origin} ${i.findingType} on ${i.resource.type} ${i.resource.id} (incident ${i.incidentId})`).join('; ');
    case 'release':
      return `release of ${parsed.release.incidentId} (${parsed.release.resource.type} ${parsed.release.resource.id}) requested by ${parsed.release.requestedBy}`;
    case 'resume':
      return `resume of ${parsed.resume.incidentId} (${parsed.resume.resource.type} ${parsed.resume.resource.id})`;
    case 'ignored':
      return `ignored finding ${parsed.finding.findingId}: ${parsed.finding.reason}`;
  }
}

/**
 * Reads one DLQ message: the event it carries (a redrive's inner event, unwrapped, so a message
 * redriven twice is not wrapped twice) and a one-line summary, or why it cannot be redriven.
 */
export function readDlqMessage(message: Message): DlqMessage {
  const base = {
    messageId: message.MessageId ?? '?',
    receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
    ...(message.Attributes?.SentTimestamp ? { sentAt: new Date(Number(message.Attributes.SentTimestamp)).toISOString() } : {}),
  };
  const body = message.Body ?? '';
  let parsed: ParsedMessage;
  try {
    parsed = parseMessage(body);
  } catch (error) {
    const reason = error instanceof InvalidFindingError ? error.reasons.join('; ') : (error as Error).message;
    return { ok: false, ...base, reason: cleanText(reason, 500) };
  }
  let event = JSON.parse(body) as Record<string, unknown>;
  if (event.source === REDRIVE_SOURCE) event = (event.detail as { event: Record<string, unknown> }).event;
  const detail = event.detail as { resource?: { resourceType?: unknown; accessKeyDetails?: { userType?: unknown } } } | undefined;
  // A redrive goes through the responders' rules, which name a resource as Firebreak's own events do.
  const resourceType = event.source === 'aws.guardduty' && detail?.resource ? responderResourceType(detail.resource) : detail?.resource?.resourceType;
  if (typeof resourceType !== 'string') {
    return { ok: false, ...base, reason: 'the event names no resource type a playbook rule takes (detail.resource.resourceType, and for an AccessKey its userType)' };
  }
  return { ok: true, ...base, event, resourceType, summary: summaryOf(parsed), about: subjectOf(parsed) };
}

export interface DlqCommandOptions {
  /** Playbook → its DLQ (URL, or name in this account and region). */
  dlqs: Record<string, string>;
  /** Only this playbook's DLQ. */
  playbook?: string;
  /** Only the messages about this incident (any generation of it); the others stay, visible again at once. */
  incident?: string;
  /** The responders' bus (redrive). */
  bus: string;
  /** Who asks (from STS), recorded in every redriven event. */
  requestedBy: string;
  sqs?: SQSClient;
  events?: EventBridgeClient;
  log?: (line: string) => void;
}

/** The counts of one DLQ's redrive. */
export interface RedriveCounts {
  playbook: string;
  queueUrl: string;
  republished: number;
  unparseable: number;
  refused: number;
  /** With `--incident`: messages about other incidents, left as they were. */
  notSelected: number;
}

function selected(opts: Pick<DlqCommandOptions, 'dlqs' | 'playbook'>): Array<[string, string]> {
  const entries = Object.entries(opts.dlqs);
  if (!opts.playbook) return entries;
  const one = entries.filter(([p]) => p === opts.playbook);
  if (one.length === 0) throw new Error(`no DLQ known for playbook ${opts.playbook} (known: ${entries.map(([p]) => p).join(', ')}); name it with --dlq`);
  return one;
}

/** The queue's URL, or undefined when no queue has that name here (the playbook is not deployed). */
async function queueUrlOf(sqs: SQSClient, nameOrUrl: string): Promise<string | undefined> {
  if (/^https?:\/\//.test(nameOrUrl)) return nameOrUrl;
  try {
    return (await sqs.send(new GetQueueUrlCommand({ QueueName: nameOrUrl }))).QueueUrl!;
  } catch (error) {
    if (error instanceof QueueDoesNotExist || (error as { name?: string }).name === 'AWS.SimpleQueueService.NonExistentQueue') return undefined;
    throw error;
  }
}

/**
 * The DLQs to read. A queue named by convention (`<prefix>-<playbook>-dlq`) that does not exist
 * is a playbook this deployment does not run: skipped, and said once; one asked for by
 * `--playbook` must exist.
 */
async function queuesOf(sqs: SQSClient, opts: Pick<DlqCommandOptions, 'dlqs' | 'playbook'>): Promise<{ queues: Array<{ playbook: string; queueUrl: string }>; missing: Array<{ playbook: string; queue: string }> }> {
  const queues: Array<{ playbook: string; queueUrl: string }> = [];
  const missing: Array<{ playbook: string; queue: string }> = [];
  for (const [playbook, dlq] of selected(opts)) {
    const queueUrl = await queueUrlOf(sqs, dlq);
    if (queueUrl) queues.push({ playbook, queueUrl });
    else if (opts.playbook) throw new Error(`no queue ${dlq} in this account and region: is the ${playbook} playbook deployed here (check --prefix, --terraform or --dlq)?`);
    else missing.push({ playbook, queue: dlq });
  }
  return { queues, missing };
}

/** Receives every message of a queue once (each stays invisible for a while: the caller deletes it or makes it visible again). */
async function receiveAll(sqs: SQSClient, queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  const seen = new Set<string>();
  for (let n = 0; n < MAX_RECEIVES; n++) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: VISIBILITY_SECONDS, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'] }),
    );
    const fresh = (out.Messages ?? []).filter((m) => !seen.has(m.MessageId!));
    if (fresh.length === 0) break;
    for (const m of fresh) seen.add(m.MessageId!);
    all.push(...fresh);
  }
  return all;
}

/** Makes messages visible again at once (what was listed, or left in the DLQ). */
async function release(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  for (let i = 0; i < messages.length; i += 10) {
    const batch = messages.slice(i, i + 10);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: batch.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle!, VisibilityTimeout: 0 })) }),
    );
  }
}

// ---------------------------------------------------------------------------
// The ledger join
// ---------------------------------------------------------------------------

/** The ledger reads the listing joins with (the real {@link Ledger}, or a fake in tests). */
export type DlqLedger = Pick<Ledger, 'get' | 'rejected' | 'ignored'> & { readonly table: string };

/** A step that failed, as the ledger recorded it. */
export interface FailedStep {
  step: string;
  code: string;
  message: string;
  retryable: boolean;
  attempts: number;
}

/** What the ledger says of one incident a message is about. */
export type IncidentJoin =
  | { incidentId: string; inLedger: false }
  | {
      /** The incident the ledger acts on: the one the message names, or its latest containment generation. */
      incidentId: string;
      inLedger: true;
      /** The id the message names, when the ledger has moved on to a later generation. */
      namedAs?: string;
      status: IncidentRecord['status'];
      reason?: string;
      deliveries: number;
      /** The latest write the record shows (a delivery, a step, the finish, a release). */
      lastUpdate: string;
      failedSteps: FailedStep[];
      pendingSteps: string[];
      /** Re-deliveries already made (redrives, resumes). */
      redeliveries: number;
      /** Contained with every recorded step final: a redrive only counts the delivery. */
      settled: boolean;
      release?: { status: string; summary?: string };
    };

/** A message listed with what the ledger says of it. */
export type ListedMessage = (Omit<Extract<DlqMessage, { ok: true }>, 'event'> | Extract<DlqMessage, { ok: false }>) & {
  /** Each incident the message is about (none for an unparseable message or an ignored finding). */
  incidents: IncidentJoin[];
  /** The function rejected this message (the ledger keeps it by message id). */
  rejected?: { playbook: string; reasons: string[]; receivedAt: string };
  /** A finding no playbook acts on, as the ledger recorded it. */
  ignored?: { why: string; reason: string; deliveries: number };
};

/** Generations a listing follows before it stops (a loop guard, as the engine's). */
const MAX_GENERATIONS = 1000;

const latest = (...times: Array<string | undefined>): string => times.filter((t): t is string => typeof t === 'string' && t !== '').sort().pop() ?? '?';

/** The ledger's view of one incident: its latest generation, status and why, the failed and pending steps. */
export async function joinIncident(ledger: Pick<DlqLedger, 'get'>, incidentId: string): Promise<IncidentJoin> {
  let record = await ledger.get(incidentId);
  if (!record) return { incidentId, inLedger: false };
  for (let hops = 0; record.nextGeneration && hops < MAX_GENERATIONS; hops++) {
    const next = await ledger.get(record.nextGeneration);
    if (!next) break;
    record = next;
  }
  const steps = Object.entries(record.steps ?? {});
  const failedSteps = steps
    .filter(([, o]) => o.status === 'failed')
    .map(([step, o]) => ({ step, code: o.error?.code ?? '?', message: o.error?.message ?? o.summary, retryable: o.error?.retryable ?? false, attempts: o.attempts }));
  const release = record.release;
  return {
    incidentId: record.incidentId,
    inLedger: true,
    ...(record.incidentId !== incidentId ? { namedAs: incidentId } : {}),
    status: record.status,
    ...(record.statusReason ? { reason: record.statusReason } : {}),
    deliveries: record.deliveries,
    lastUpdate: latest(record.lastSeenAt, record.finishedAt, release?.finishedAt, release?.requestedAt, ...steps.map(([, o]) => o.finishedAt)),
    failedSteps,
    pendingSteps: steps.filter(([, o]) => o.status === 'pending').map(([step]) => step),
    redeliveries: record.redeliveries?.length ?? 0,
    settled: settled(steps.map(([name]) => ({ name })), record),
    ...(release ? { release: { status: release.status, ...(release.summary ? { summary: release.summary } : {}) } } : {}),
  };
}

/** Joins one DLQ message with the ledger (incident reads shared through `cache`). */
export async function joinMessage(ledger: DlqLedger, message: DlqMessage, cache = new Map<string, Promise<IncidentJoin>>()): Promise<ListedMessage> {
  const joined = (id: string) => {
    if (!cache.has(id)) cache.set(id, joinIncident(ledger, id));
    return cache.get(id)!;
  };
  const { event: _event, ...shown } = message.ok ? message : { ...message, event: undefined };
  const [incidents, rejected, ignored] = await Promise.all([
    Promise.all((message.ok ? message.about.incidentIds : []).map(joined)),
    ledger.rejected(message.messageId),
    message.ok && message.about.ignored ? ledger.ignored(message.about.ignored.accountId, message.about.ignored.findingId) : Promise.resolve(undefined),
  ]);
  return {
    ...shown,
    incidents,
    ...(rejected ? { rejected: rejectionOf(rejected) } : {}),
    ...(ignored ? { ignored: ignoredOf(ignored) } : {}),
  } as ListedMessage;
}

const rejectionOf = (r: RejectedRecord) => ({ playbook: r.playbook, reasons: r.reasons, receivedAt: r.receivedAt });
const ignoredOf = (r: IgnoredFindingRecord) => ({ why: r.why, reason: r.reason, deliveries: r.deliveries });

/** The lines that say what the ledger knows of a listed message. */
export function describeJoin(m: ListedMessage, table: string): string[] {
  const lines: string[] = [];
  const kind = m.ok ? m.about.kind : undefined;
  for (const j of m.incidents) {
    if (!j.inLedger) {
      lines.push(`incident ${j.incidentId}: not in the ledger ${table} (no delivery got as far as recording it, or it is another deployment's)`);
      continue;
    }
    const named = j.namedAs ? ` (latest generation of ${j.namedAs})` : '';
    lines.push(`incident ${j.incidentId}${named}: ${j.status}, ${j.deliveries} deliveries, last update ${j.lastUpdate}${j.redeliveries ? `, ${j.redeliveries} re-deliveries` : ''}${j.reason ? `: ${j.reason}` : ''}`);
    for (const f of j.failedSteps) lines.push(`  failed ${f.step}: ${f.code} (${f.retryable ? 'retryable' : 'permanent'}, ${f.attempts} attempts): ${cleanText(f.message, 300)}`);
    if (j.pendingSteps.length) lines.push(`  pending: ${j.pendingSteps.join(', ')}`);
    if (j.release) lines.push(`  release ${j.release.status}${j.release.summary ? `: ${cleanText(j.release.summary, 300)}` : ''}`);
    if (kind === 'release') lines.push(`  (a release request: run \`firebreak release ${j.incidentId}\` again rather than redrive it)`);
    else if (j.settled) lines.push('  (a redrive changes nothing: the incident is contained and every step has finished)');
    else if (j.status === 'released') lines.push('  (a redrive changes nothing: the incident was released)');
  }
  if (m.rejected) lines.push(`rejected by the ${m.rejected.playbook} function at ${m.rejected.receivedAt}: ${m.rejected.reasons.join('; ')} (a redrive would be rejected again)`);
  if (m.ignored) lines.push(`ignored finding (${m.ignored.why}), ${m.ignored.deliveries} deliveries: ${m.ignored.reason}`);
  if (m.ok && m.incidents.length === 0 && !m.ignored && !m.rejected && m.about.ignored) lines.push('ignored finding: not in the ledger');
  return lines;
}

// ---------------------------------------------------------------------------
// The commands
// ---------------------------------------------------------------------------

/** One DLQ as `firebreak dlq list` reports it. */
export interface DlqReport {
  playbook: string;
  queueUrl: string;
  messages: ListedMessage[];
}

/**
 * `firebreak dlq list`: each playbook's DLQ, every message in it (or only those about
 * `incident`), what it asks for and what the ledger says of it; each message is visible again
 * at once. Returns the exit code.
 */
export async function dlqList(opts: Omit<DlqCommandOptions, 'bus' | 'requestedBy' | 'events'> & { json?: boolean; ledger: DlqLedger }): Promise<number> {
  const sqs = opts.sqs ?? new SQSClient({});
  const log = opts.log ?? ((l: string) => console.log(l));
  const report: DlqReport[] = [];
  const { queues, missing } = await queuesOf(sqs, opts);
  const cache = new Map<string, Promise<IncidentJoin>>();
  for (const { playbook, queueUrl } of queues) {
    const received = await receiveAll(sqs, queueUrl);
    await release(sqs, queueUrl, received);
    const read = received.map(readDlqMessage).filter((m) => !opts.incident || isAbout(m, opts.incident));
    const messages: ListedMessage[] = [];
    for (const m of read) messages.push(await joinMessage(opts.ledger, m, cache));
    report.push({ playbook, queueUrl, messages });
  }
  if (opts.json) {
    log(JSON.stringify({ ledgerTable: opts.ledger.table, ...(opts.incident ? { incident: opts.incident } : {}), dlqs: report, notDeployed: missing }, null, 2));
    return 0;
  }
  for (const r of report) {
    log(`${r.playbook}: ${r.messages.length} message(s)${opts.incident ? ` about ${opts.incident}` : ''} in ${r.queueUrl}`);
    for (const m of r.messages) {
      log(`  ${m.messageId}  sent ${m.sentAt ?? '?'}  received ${m.receiveCount}x  ${m.ok ? m.summary : `UNPARSEABLE (stays): ${m.reason}`}`);
      for (const line of describeJoin(m, opts.ledger.table)) log(`    ${line}`);
    }
  }
  if (missing.length) log(`no DLQ here (playbook not deployed): ${missing.map((m) => `${m.playbook} (${m.queue})`).join(', ')}`);
  return 0;
}

/**
 * `firebreak dlq redrive`: re-publishes each DLQ message's event (or only those about
 * `incident`) on the responders' bus with origin `redrive`, deleting the message only once
 * PutEvents accepted it. Messages that are not an event Firebreak takes, those the bus refused and
 * those about other incidents stay in the DLQ (visible again at once), the first two with their
 * reason printed. Returns the counts per DLQ.
 */
export async function dlqRedrive(opts: DlqCommandOptions): Promise<RedriveCounts[]> {
  const sqs = opts.sqs ?? new SQSClient({});
  const events = opts.events ?? new EventBridgeClient({});
  const log = opts.log ?? ((l: string) => console.log(l));
  const counts: RedriveCounts[] = [];
  const { queues } = await queuesOf(sqs, opts);
  for (const { playbook, queueUrl } of queues) {
    const received = await receiveAll(sqs, queueUrl);
    const c: RedriveCounts = { playbook, queueUrl, republished: 0, unparseable: 0, refused: 0, notSelected: 0 };
    const left: Message[] = [];
    const ready: Array<{ message: Message; read: Extract<DlqMessage, { ok: true }>; detail: string }> = [];
    for (const message of received) {
      const read = readDlqMessage(message);
      if (opts.incident && !isAbout(read, opts.incident)) {
        c.notSelected++;
        left.push(message);
        continue;
      }
      if (!read.ok) {
        c.unparseable++;
        left.push(message);
        log(`  left ${read.messageId} in ${playbook}'s DLQ: ${read.reason}`);
        continue;
      }
      const detail = JSON.stringify({ resource: { resourceType: read.resourceType }, event: read.event, requestedBy: opts.requestedBy, queue: queueUrl, messageId: read.messageId });
      if (Buffer.byteLength(detail) > MAX_REDRIVE_DETAIL_BYTES) {
        c.refused++;
        left.push(message);
        log(`  left ${read.messageId} in ${playbook}'s DLQ: its event is too large to re-publish (${Buffer.byteLength(detail)} bytes; EventBridge takes 256 KB)`);
        continue;
      }
      ready.push({ message, read, detail });
    }
    // The messages left alone are visible again before anything is re-published.
    await release(sqs, queueUrl, left.splice(0));
    // PutEvents takes at most 10 entries a call, and answers for each.
    for (let i = 0; i < ready.length; i += 10) {
      const batch = ready.slice(i, i + 10);
      const out = await events.send(new PutEventsCommand({ Entries: batch.map((b) => ({ Source: REDRIVE_SOURCE, DetailType: REDRIVE_DETAIL_TYPE, Detail: b.detail, EventBusName: opts.bus })) }));
      for (const [n, b] of batch.entries()) {
        const entry = out.Entries?.[n];
        if (!entry?.EventId || entry.ErrorCode) {
          c.refused++;
          left.push(b.message);
          log(`  left ${b.read.messageId} in ${playbook}'s DLQ: the bus refused it (${entry?.ErrorCode ?? 'no answer'} ${entry?.ErrorMessage ?? ''})`.trimEnd());
          continue;
        }
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: b.message.ReceiptHandle! }));
        c.republished++;
        log(`  re-published ${b.read.messageId} as ${entry.EventId}: ${b.read.summary}`);
      }
    }
    await release(sqs, queueUrl, left);
    const others = opts.incident ? `; ${c.notSelected} about other incidents stay as they were` : '';
    log(`${playbook}: re-published ${c.republished}${opts.incident ? ` about ${opts.incident}` : ''} on ${opts.bus} (origin redrive), left ${c.unparseable + c.refused} (${c.unparseable} unparseable, ${c.refused} refused) in ${queueUrl}${others}`);
    counts.push(c);
  }
  if (opts.incident && counts.every((c) => c.republished + c.unparseable + c.refused === 0)) {
    log(`no message about ${opts.incident} in ${counts.length ? counts.map((c) => c.playbook).join(', ') : 'any'} DLQ: nothing was re-published`);
  }
  return counts;
}
