import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { hasErrorCode } from '../errors/index.ts';
import type { Incident } from '../findings/index.ts';
import type { GateResult } from '../engine/gates.ts';
import type { IncidentStatus, StepOutcome } from '../engine/types.ts';

/** IAM actions the ledger needs on its table. */
export const LEDGER_IAM_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:ConditionCheckItem',
] as const;

/** How a release of an incident went: who asked, why, and each restore step's outcome. */
export interface ReleaseRecord {
  requestedBy: string;
  reason: string;
  reattach: boolean;
  requestedAt: string;
  /** `cli` (firebreak release) or `event` (a Firebreak Manual Release on the bus). */
  via: string;
  status: 'releasing' | 'released' | 'incomplete';
  releasedBy?: string;
  releasedAt?: string;
  steps: Record<string, StepOutcome>;
}

/** The ledger's record of one incident (finding + resource). */
export interface IncidentRecord {
  pk: string;
  sk: string;
  kind: 'incident';
  incidentId: string;
  playbook: string;
  origin: string;
  findingId: string;
  findingArn?: string;
  findingType: string;
  title: string;
  severity: number;
  accountId: string;
  region: string;
  resourceType: string;
  resourceId: string;
  ticket?: string;
  requestedBy?: string;
  remoteIps: string[];
  mode: string;
  status: IncidentStatus;
  statusReason?: string;
  gates?: GateResult[];
  firstSeenAt: string;
  lastSeenAt: string;
  eventTime: string;
  findingUpdatedAt: string;
  findingCount: number;
  deliveries: number;
  lastMessageId: string;
  capture?: Record<string, unknown>;
  steps: Record<string, StepOutcome>;
  blastRadiusSlotAt?: string;
  isolatedAt?: string;
  finishedAt?: string;
  release?: ReleaseRecord;
}

/** A message that was not a finding, kept for the record. */
export interface RejectedRecord {
  pk: string;
  sk: string;
  kind: 'rejected';
  messageId: string;
  playbook: string;
  reasons: string[];
  bodySha256: string;
  bodyPreview: string;
  receivedAt: string;
  expiresAt: number;
}

interface WindowEntry {
  incidentId: string;
  at: number;
}
interface BlastRadiusWindow {
  version: number;
  entries: WindowEntry[];
}

export interface LoadedState {
  record?: IncidentRecord;
  window: BlastRadiusWindow;
}

export interface BeginParams {
  incident: Incident;
  mode: string;
  messageId: string;
  now: Date;
  capture?: Record<string, unknown>;
  gates: GateResult[];
  /** Take a blast-radius slot (a containment) unless this incident already holds one. */
  blastRadius?: { limit: number; windowSeconds: number; window: BlastRadiusWindow };
}

export type SlotOutcome = 'taken' | 'already-held' | 'limit-reached' | 'not-needed';

const incidentKey = (incidentId: string) => ({ pk: `incident#${incidentId}`, sk: 'incident' });
const windowKey = (accountId: string) => ({ pk: `blast-radius#${accountId}`, sk: 'window' });
const MAX_SLOT_ATTEMPTS = 6;

/**
 * The DynamoDB ledger: one record per finding + resource, with every step's
 * outcome, and the per-account blast-radius window.
 *
 * @example
 * ```ts
 * const ledger = new Ledger(documentClient, 'firebreak-ledger');
 * const { record } = await ledger.load('inc-…', '111122223333');
 * ```
 */
export class Ledger {
  readonly #db: DynamoDBDocumentClient;
  readonly table: string;

  constructor(db: DynamoDBDocumentClient, table: string) {
    this.#db = db;
    this.table = table;
  }

  /** Reads the incident record and the account's blast-radius window in one call. */
  async load(incidentId: string, accountId: string): Promise<LoadedState> {
    const keys = [incidentKey(incidentId), windowKey(accountId)];
    const out = await this.#db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }));
    let items = out.Responses?.[this.table] ?? [];
    if (Object.keys(out.UnprocessedKeys ?? {}).length > 0) {
      const rest = await Promise.all(keys.map((Key) => this.#db.send(new GetCommand({ TableName: this.table, Key, ConsistentRead: true }))));
      items = rest.flatMap((r) => (r.Item ? [r.Item] : []));
    }
    const record = items.find((i) => i.pk === incidentKey(incidentId).pk) as IncidentRecord | undefined;
    const win = items.find((i) => i.pk === windowKey(accountId).pk);
    return {
      ...(record ? { record } : {}),
      window: { version: Number(win?.version ?? 0), entries: (win?.entries as WindowEntry[] | undefined) ?? [] },
    };
  }

  /**
   * Opens (or updates) the incident record for this delivery, keeps the first
   * capture, and — when asked — atomically takes a blast-radius slot in the same
   * transaction. Concurrent containments in one account serialise on the window
   * item's version, so the limit holds exactly.
   */
  async begin(params: BeginParams): Promise<SlotOutcome> {
    const update = this.#openIncidentUpdate(params);
    const br = params.blastRadius;
    if (!br) {
      await this.#db.send(new UpdateCommand(update));
      return 'not-needed';
    }
    let window = br.window;
    const { incident, now } = params;
    for (let attempt = 1; attempt <= MAX_SLOT_ATTEMPTS; attempt++) {
      const cutoff = now.getTime() - br.windowSeconds * 1000;
      const live = window.entries.filter((e) => e.at > cutoff);
      if (live.some((e) => e.incidentId === incident.incidentId)) {
        await this.#db.send(new UpdateCommand(update));
        return 'already-held';
      }
      if (live.length >= br.limit) {
        await this.#db.send(new UpdateCommand(update));
        return 'limit-reached';
      }
      try {
        await this.#db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  ...update,
                  UpdateExpression: `${update.UpdateExpression}, blastRadiusSlotAt = if_not_exists(blastRadiusSlotAt, :now)`,
                },
              },
              {
                Put: {
                  TableName: this.table,
                  Item: {
                    ...windowKey(incident.accountId),
                    kind: 'blast-radius-window',
                    version: window.version + 1,
                    entries: [...live, { incidentId: incident.incidentId, at: now.getTime() }],
                  },
                  ConditionExpression: 'attribute_not_exists(pk) OR version = :v',
                  ExpressionAttributeValues: { ':v': window.version },
                },
              },
            ],
          }),
        );
        return 'taken';
      } catch (error) {
        if (!hasErrorCode(error, 'TransactionCanceledException', 'ConditionalCheckFailedException') || attempt === MAX_SLOT_ATTEMPTS) throw error;
        // Another containment in this account took a slot first: re-read and re-decide.
        window = (await this.load(incident.incidentId, incident.accountId)).window;
      }
    }
    /* c8 ignore next */
    throw new Error('unreachable');
  }

  #openIncidentUpdate(p: BeginParams) {
    const i = p.incident;
    const now = p.now.toISOString();
    const set: Record<string, unknown> = {
      kind: 'incident',
      incidentId: i.incidentId,
      playbook: i.playbook,
      origin: i.origin,
      findingId: i.findingId,
      findingType: i.findingType,
      title: i.title,
      severity: i.severity,
      accountId: i.accountId,
      region: i.region,
      resourceType: i.resource.type,
      resourceId: i.resource.id,
      remoteIps: i.remoteIps,
      mode: p.mode,
      gates: p.gates,
      lastSeenAt: now,
      eventTime: i.eventTime,
      findingUpdatedAt: i.updatedAt,
      findingCount: i.count,
      lastMessageId: p.messageId,
      ...(i.findingArn ? { findingArn: i.findingArn } : {}),
      ...(i.ticket ? { ticket: i.ticket } : {}),
      ...(i.requestedBy ? { requestedBy: i.requestedBy } : {}),
    };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':now': now, ':one': 1, ':empty': {}, ':received': 'received' };
    const parts = Object.entries(set).map(([k, v], n) => {
      names[`#a${n}`] = k;
      values[`:a${n}`] = v;
      return `#a${n} = :a${n}`;
    });
    parts.push('firstSeenAt = if_not_exists(firstSeenAt, :now)');
    parts.push('steps = if_not_exists(steps, :empty)');
    parts.push('#status = if_not_exists(#status, :received)');
    parts.push('deliveries = if_not_exists(deliveries, :zero) + :one');
    values[':zero'] = 0;
    names['#status'] = 'status';
    if (p.capture) {
      parts.push('capture = if_not_exists(capture, :capture)');
      values[':capture'] = p.capture;
    }
    return {
      TableName: this.table,
      Key: incidentKey(i.incidentId),
      UpdateExpression: `SET ${parts.join(', ')}`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    };
  }

  /** Records one step's outcome (steps of a stage finish concurrently; each writes its own key). */
  async recordStep(incidentId: string, name: string, outcome: StepOutcome): Promise<void> {
    await this.#db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: incidentKey(incidentId),
        UpdateExpression: 'SET steps.#n = :o',
        ExpressionAttributeNames: { '#n': name },
        ExpressionAttributeValues: { ':o': outcome },
      }),
    );
  }

  /** Sets the incident's status after a delivery; `isolatedAt` is kept from the first isolation. */
  async finish(incidentId: string, status: IncidentStatus, reason: string, now: Date, isolatedAt?: string): Promise<void> {
    const values: Record<string, unknown> = { ':s': status, ':r': reason, ':f': now.toISOString() };
    let expr = 'SET #status = :s, statusReason = :r, finishedAt = :f';
    if (isolatedAt) {
      expr += ', isolatedAt = if_not_exists(isolatedAt, :i)';
      values[':i'] = isolatedAt;
    }
    await this.#db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: incidentKey(incidentId),
        UpdateExpression: expr,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: values,
      }),
    );
  }

  /** Keeps a message that was not a valid finding, with why, for the audit trail. */
  async recordRejected(r: Omit<RejectedRecord, 'pk' | 'sk' | 'kind' | 'expiresAt'>): Promise<void> {
    const item: RejectedRecord = {
      ...r,
      pk: `rejected#${r.messageId}`,
      sk: 'rejected',
      kind: 'rejected',
      expiresAt: Math.floor(Date.parse(r.receivedAt) / 1000) + 400 * 24 * 3600,
    };
    await this.#db.send(new PutCommand({ TableName: this.table, Item: item }));
  }

  async get(incidentId: string): Promise<IncidentRecord | undefined> {
    const out = await this.#db.send(new GetCommand({ TableName: this.table, Key: incidentKey(incidentId), ConsistentRead: true }));
    return out.Item as IncidentRecord | undefined;
  }

  /** Every incident and rejected message (for the CLI and tests; not used by the functions). */
  async list(): Promise<Array<IncidentRecord | RejectedRecord>> {
    const items: Array<IncidentRecord | RejectedRecord> = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.#db.send(new ScanCommand({ TableName: this.table, ExclusiveStartKey: start, ConsistentRead: true }));
      for (const item of out.Items ?? []) if (item.kind === 'incident' || item.kind === 'rejected') items.push(item as IncidentRecord | RejectedRecord);
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }
}
