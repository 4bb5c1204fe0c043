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

/** A release step's recorded outcome: like a containment step's, in the `release` stage. */
export type ReleaseStepOutcome = Omit<StepOutcome, 'stage' | 'retryAfterSeconds'> & { stage: 'release' };

/** One request to release an incident (a retry of an incomplete release adds one). */
export interface ReleaseAttempt {
  requestedBy: string;
  reason: string;
  reattach: boolean;
  requestedAt: string;
  via: string;
}

/** How a release of an incident went: who asked, why, and each restore step's outcome. */
export interface ReleaseRecord {
  /** The latest attempt's requester, reason and options (every attempt is in `attempts`). */
  requestedBy: string;
  reason: string;
  reattach: boolean;
  /** When the latest attempt claimed the release (a `releasing` claim older than 15 min may be taken over). */
  requestedAt: string;
  /** `cli` (firebreak release) or `event` (a Firebreak Manual Release on the bus). */
  via: string;
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
  steps: Record<string, ReleaseStepOutcome>;
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

/** A `releasing` claim idle for longer than this may be taken over (its run is presumed dead). */
export const RELEASE_STALE_AFTER_SECONDS = 15 * 60;

export interface BeginReleaseParams {
  incidentId: string;
  requestedBy: string;
  reason: string;
  reattach: boolean;
  via: string;
  /** A fresh id for this run; later writes are conditional on it. */
  claimId: string;
  now: Date;
  /** The release the caller read, when there is one: the claim succeeds only if it is unchanged. */
  seen?: { claimId: string };
  staleAfterSeconds?: number;
}

export type BeginReleaseOutcome = { claimed: true; record: IncidentRecord } | { claimed: false };

export interface FinishReleaseParams {
  status: 'released' | 'incomplete';
  now: Date;
  /** Who released it (for `released`). */
  releasedBy: string;
  summary: string;
  failures: string[];
  keptProtections: string[];
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

  /**
   * Sets the incident's status after a delivery; `isolatedAt` is kept from the first
   * isolation. A released incident keeps its status (the write is skipped).
   */
  async finish(incidentId: string, status: IncidentStatus, reason: string, now: Date, isolatedAt?: string): Promise<void> {
    const values: Record<string, unknown> = { ':s': status, ':r': reason, ':f': now.toISOString() };
    let expr = 'SET #status = :s, statusReason = :r, finishedAt = :f';
    if (isolatedAt) {
      expr += ', isolatedAt = if_not_exists(isolatedAt, :i)';
      values[':i'] = isolatedAt;
    }
    // A delivery that started before a responder released the incident must not write
    // `contained` over `released` when it finishes.
    const guarded = status !== 'released';
    if (guarded) values[':released'] = 'released';
    try {
      await this.#db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: incidentKey(incidentId),
          UpdateExpression: expr,
          ...(guarded ? { ConditionExpression: 'attribute_not_exists(#status) OR #status <> :released' } : {}),
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (!hasErrorCode(error, 'ConditionalCheckFailedException')) throw error;
    }
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

  /**
   * Claims the release of an incident, so two releases never run at once. Succeeds only
   * if the incident exists, is not released, and the release the caller read (`seen`;
   * none for a first release) is still the ledger's and is either incomplete or a
   * `releasing` claim idle for longer than `staleAfterSeconds`. Earlier attempts' step
   * outcomes are kept. Returns the record as claimed, or `{ claimed: false }`.
   */
  async beginRelease(p: BeginReleaseParams): Promise<BeginReleaseOutcome> {
    const now = p.now.toISOString();
    const attempt: ReleaseAttempt = { requestedBy: p.requestedBy, reason: p.reason, reattach: p.reattach, requestedAt: now, via: p.via };
    const names: Record<string, string> = { '#status': 'status', '#release': 'release' };
    const values: Record<string, unknown> = { ':released': 'released' };
    let update: string;
    let condition = 'attribute_exists(pk) AND #status <> :released';
    if (!p.seen) {
      const release: ReleaseRecord = { ...attempt, status: 'releasing', claimId: p.claimId, attempts: [attempt], steps: {} };
      update = 'SET #release = :release';
      values[':release'] = release;
      condition += ' AND attribute_not_exists(#release)';
    } else {
      const set: Record<string, unknown> = { ...attempt, status: 'releasing', claimId: p.claimId };
      const parts = Object.entries(set).map(([k, v]) => {
        names[`#r_${k}`] = k;
        values[`:r_${k}`] = v;
        return `#release.#r_${k} = :r_${k}`;
      });
      names['#attempts'] = 'attempts';
      names['#failures'] = 'failures';
      values[':attempt'] = [attempt];
      values[':none'] = [];
      values[':seen'] = p.seen.claimId;
      values[':incomplete'] = 'incomplete';
      values[':releasing'] = 'releasing';
      values[':stale'] = new Date(p.now.getTime() - (p.staleAfterSeconds ?? RELEASE_STALE_AFTER_SECONDS) * 1000).toISOString();
      parts.push('#release.#attempts = list_append(if_not_exists(#release.#attempts, :none), :attempt)');
      update = `SET ${parts.join(', ')} REMOVE #release.#failures`;
      condition +=
        ' AND #release.#r_claimId = :seen AND (#release.#r_status = :incomplete OR (#release.#r_status = :releasing AND #release.#r_requestedAt < :stale))';
    }
    try {
      const out = await this.#db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: incidentKey(p.incidentId),
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { claimed: true, record: out.Attributes as IncidentRecord };
    } catch (error) {
      if (hasErrorCode(error, 'ConditionalCheckFailedException')) return { claimed: false };
      throw error;
    }
  }

  /** Records one release step's outcome; refused (ConditionalCheckFailedException) once another run took the release over. */
  async recordReleaseStep(incidentId: string, claimId: string, name: string, outcome: ReleaseStepOutcome): Promise<void> {
    await this.#db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: incidentKey(incidentId),
        UpdateExpression: 'SET #release.#steps.#n = :o',
        ConditionExpression: '#release.#claim = :claim',
        ExpressionAttributeNames: { '#release': 'release', '#steps': 'steps', '#claim': 'claimId', '#n': name },
        ExpressionAttributeValues: { ':o': outcome, ':claim': claimId },
      }),
    );
  }

  /**
   * Ends a release run: `released` sets the incident's status to released (who, when,
   * why); `incomplete` keeps the incident's status and lists the failed steps, which
   * the next release retries. Refused once another run took the release over.
   */
  async finishRelease(incidentId: string, claimId: string, p: FinishReleaseParams): Promise<void> {
    const now = p.now.toISOString();
    const set: Record<string, unknown> = { status: p.status, finishedAt: now, summary: p.summary, keptProtections: p.keptProtections, failures: p.failures };
    if (p.status === 'released') Object.assign(set, { releasedBy: p.releasedBy, releasedAt: now });
    const names: Record<string, string> = { '#release': 'release', '#claim': 'claimId' };
    const values: Record<string, unknown> = { ':claim': claimId };
    const parts = Object.entries(set).map(([k, v]) => {
      names[`#r_${k}`] = k;
      values[`:r_${k}`] = v;
      return `#release.#r_${k} = :r_${k}`;
    });
    if (p.status === 'released') {
      names['#status'] = 'status';
      values[':released'] = 'released';
      values[':reason'] = p.summary;
      parts.push('#status = :released', 'statusReason = :reason');
    }
    await this.#db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: incidentKey(incidentId),
        UpdateExpression: `SET ${parts.join(', ')}`,
        ConditionExpression: '#release.#claim = :claim',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      }),
    );
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
