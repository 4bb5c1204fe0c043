// `firebreak dlq list` / `firebreak dlq redrive`: what failed containment left in each playbook's
// dead-letter queue, and putting it back through the pipeline. A redrive never sends to a queue:
// it re-publishes each message's event on the responders' bus (origin `redrive`), so only the
// EventBridge rules and the function roles ever put messages on a queue, and the queue policies can
// say so. A message is deleted from the DLQ only once PutEvents accepted its event; a message that
// is not an event Firebreak takes stays, with the reason printed.
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { InvalidFindingError } from '../../shared/errors/index.ts';
import { cleanText, parseMessage, responderResourceType, REDRIVE_DETAIL_TYPE, REDRIVE_SOURCE, type ParsedMessage } from '../../shared/findings/index.ts';

/** EventBridge refuses an entry over 256 KB (the whole entry); keep room for the envelope. */
export const MAX_REDRIVE_DETAIL_BYTES = 250 * 1024;
/** How long a message received for listing or redrive stays invisible to others (it is made visible again when left). */
const VISIBILITY_SECONDS = 60;
/** A guard against a queue that never empties while we read it (10 messages a receive). */
const MAX_RECEIVES = 1000;

/** One DLQ message, as the CLI reads it: the event it carries and what it asks for, or why it is not one Firebreak takes. */
export type DlqMessage =
  | { ok: true; messageId: string; event: Record<string, unknown>; /** The resource type the responders' rules route on. */ resourceType: string; summary: string; receiveCount: number; sentAt?: string }
  | { ok: false; messageId: string; reason: string; receiveCount: number; sentAt?: string };

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
  return { ok: true, ...base, event, resourceType, summary: summaryOf(parsed) };
}

export interface DlqCommandOptions {
  /** Playbook → its DLQ (URL, or name in this account and region). */
  dlqs: Record<string, string>;
  /** Only this playbook's DLQ. */
  playbook?: string;
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
}

function selected(opts: Pick<DlqCommandOptions, 'dlqs' | 'playbook'>): Array<[string, string]> {
  const entries = Object.entries(opts.dlqs);
  if (!opts.playbook) return entries;
  const one = entries.filter(([p]) => p === opts.playbook);
  if (one.length === 0) throw new Error(`no DLQ known for playbook ${opts.playbook} (known: ${entries.map(([p]) => p).join(', ')}); name it with --dlq`);
  return one;
}

async function queueUrlOf(sqs: SQSClient, nameOrUrl: string): Promise<string> {
  if (/^https?:\/\//.test(nameOrUrl)) return nameOrUrl;
  return (await sqs.send(new GetQueueUrlCommand({ QueueName: nameOrUrl }))).QueueUrl!;
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

/** `firebreak dlq list`: each playbook's DLQ, its depth and every message in it. Returns the exit code. */
export async function dlqList(opts: Omit<DlqCommandOptions, 'bus' | 'requestedBy' | 'events'> & { json?: boolean }): Promise<number> {
  const sqs = opts.sqs ?? new SQSClient({});
  const log = opts.log ?? ((l: string) => console.log(l));
  const report: Array<{ playbook: string; queueUrl: string; messages: DlqMessage[] }> = [];
  for (const [playbook, dlq] of selected(opts)) {
    const queueUrl = await queueUrlOf(sqs, dlq);
    const received = await receiveAll(sqs, queueUrl);
    await release(sqs, queueUrl, received);
    report.push({ playbook, queueUrl, messages: received.map(readDlqMessage) });
  }
  if (opts.json) {
    log(JSON.stringify(report.map((r) => ({ ...r, messages: r.messages.map((m) => (m.ok ? { ...m, event: undefined } : m)) })), null, 2));
    return 0;
  }
  for (const r of report) {
    log(`${r.playbook}: ${r.messages.length} message(s) in ${r.queueUrl}`);
    for (const m of r.messages) {
      log(`  ${m.messageId}  sent ${m.sentAt ?? '?'}  received ${m.receiveCount}x  ${m.ok ? m.summary : `UNPARSEABLE (stays): ${m.reason}`}`);
    }
  }
  return 0;
}

/**
 * `firebreak dlq redrive`: re-publishes each DLQ message's event on the responders' bus with
 * origin `redrive`, deleting the message only once PutEvents accepted it. Messages that are not
 * an event Firebreak takes, and those the bus refused, stay in the DLQ (visible again at once),
 * each with its reason printed. Returns the counts per DLQ.
 */
export async function dlqRedrive(opts: DlqCommandOptions): Promise<RedriveCounts[]> {
  const sqs = opts.sqs ?? new SQSClient({});
  const events = opts.events ?? new EventBridgeClient({});
  const log = opts.log ?? ((l: string) => console.log(l));
  const counts: RedriveCounts[] = [];
  for (const [playbook, dlq] of selected(opts)) {
    const queueUrl = await queueUrlOf(sqs, dlq);
    const received = await receiveAll(sqs, queueUrl);
    const c: RedriveCounts = { playbook, queueUrl, republished: 0, unparseable: 0, refused: 0 };
    const left: Message[] = [];
    const ready: Array<{ message: Message; read: Extract<DlqMessage, { ok: true }>; detail: string }> = [];
    for (const message of received) {
      const read = readDlqMessage(message);
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
    log(`${playbook}: re-published ${c.republished} on ${opts.bus} (origin redrive), left ${c.unparseable + c.refused} (${c.unparseable} unparseable, ${c.refused} refused) in ${queueUrl}`);
    counts.push(c);
  }
  return counts;
}
