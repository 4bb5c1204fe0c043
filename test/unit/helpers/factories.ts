/** Typed factories for the unit tests: events, incidents, configuration, resources and fakes. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { AccountClient } from '@aws-sdk/client-account';
import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECSClient } from '@aws-sdk/client-ecs';
import { RDSClient } from '@aws-sdk/client-rds';
import { ElasticLoadBalancingClient } from '@aws-sdk/client-elastic-load-balancing';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { GuardDutyClient } from '@aws-sdk/client-guardduty';
import { IAMClient } from '@aws-sdk/client-iam';
import { S3Client } from '@aws-sdk/client-s3';
import { S3ControlClient } from '@aws-sdk/client-s3-control';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Clients } from '../../../shared/aws/index.ts';
import type { Config } from '../../../shared/config/index.ts';
import { definePlaybook, outputsReader, parseRecorded, releaseIncident, type AnyStep, type ReleaseContext, type ReleaseLedger, type Step, type StepContext, type UndoContext } from '../../../shared/engine/index.ts';
import { EvidenceStore } from '../../../shared/evidence/index.ts';
import { localPacer } from '../../../shared/pacing/index.ts';
import { budgetOrigin, incidentIdFor, type Incident } from '../../../shared/findings/index.ts';
import type { BeginParams, DerivedLink, BeginReleaseOutcome, BeginReleaseParams, FinishReleaseParams, IncidentRecord, Ledger, LoadedState, SlotOutcome } from '../../../shared/ledger/index.ts';
import { INCIDENT_RECORD_VERSION, RELEASE_STALE_AFTER_SECONDS } from '../../../shared/ledger/index.ts';
import { captureInstance, Ec2CaptureSchema, type Ec2Instance } from '../../../shared/playbooks/ec2-instance/describe.ts';
import { Ec2OptionsSchema, type Ec2Options } from '../../../shared/playbooks/ec2-instance/options.ts';
import type { Ec2 } from '../../../shared/playbooks/ec2-instance/types.ts';
import type { IncidentStatus, StepOutcome } from '../../../shared/vocabulary/index.ts';

export const ACCOUNT_ID = '111122223333';
export const REGION = 'us-east-1';
export const INSTANCE_ID = 'i-0a1b2c3d4e5f67890';
export const VPC_ID = 'vpc-0a1b2c3d4e5f60718';
export const FINDING_ID = 'c6e8a0b2d4f6b8c0e2a4d6f8a0c2e4b6';
export const EVIDENCE_BUCKET = 'firebreak-evidence-test';
export const LEDGER_TABLE = 'firebreak-ledger-test';
export const FIXED_NOW = new Date('2025-06-19T15:00:00.000Z');

const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'guardduty');

/** Every GuardDuty fixture file name (`*.json`). */
export const fixtureNames = (): string[] => readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.json')).sort();

/** The raw SQS body of a fixture, exactly as EventBridge delivers it. */
export const fixtureBody = (name: string): string => readFileSync(join(FIXTURE_DIR, name), 'utf8');

/** A fixture as a mutable object, to derive hostile or redelivered variants from. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const fixtureEvent = (name: string): any => JSON.parse(fixtureBody(name));

/** A `firebreak.manual` event as the CLI puts it on the bus. */
export function manualEvent(detail: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '0',
    id: '0f0e0d0c-0b0a-4909-8807-060504030201',
    'detail-type': 'Firebreak Manual Finding',
    source: 'firebreak.manual',
    account: ACCOUNT_ID,
    time: '2025-06-19T14:50:00Z',
    region: REGION,
    resources: [],
    detail,
    ...overrides,
  };
}

export function aConfig(overrides: Partial<Config> = {}): Config {
  return {
    playbook: 'ec2-instance',
    mode: 'contain',
    accountId: ACCOUNT_ID,
    region: REGION,
    ledgerTable: LEDGER_TABLE,
    evidenceBucket: EVIDENCE_BUCKET,
    minSeverity: 4,
    findingTypesAllow: [],
    findingTypesDeny: [],
    protectedPrincipals: [],
    protectedResources: [],
    exemptTagKey: 'firebreak:exempt',
    blastRadius: { limit: 10, windowSeconds: 3600 },
    options: {},
    followUp: { delaySeconds: 300, maxAttempts: 72 },
    partition: 'aws',
    namePrefix: 'firebreak',
    members: { accountIds: [], roleName: 'firebreak-responder' },
    ...overrides,
  };
}

/** The environment the Terraform module gives a function (all required variables set). */
export function validEnv(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    FIREBREAK_PLAYBOOK: 'ec2-instance',
    FIREBREAK_MODE: 'contain',
    FIREBREAK_ACCOUNT_ID: ACCOUNT_ID,
    FIREBREAK_LEDGER_TABLE: LEDGER_TABLE,
    FIREBREAK_EVIDENCE_BUCKET: EVIDENCE_BUCKET,
    AWS_REGION: REGION,
    ...overrides,
  };
}

export function anIncident(overrides: Partial<Incident> = {}): Incident {
  const resourceId = overrides.resource?.id ?? INSTANCE_ID;
  const accountId = overrides.accountId ?? ACCOUNT_ID;
  const findingId = overrides.findingId ?? FINDING_ID;
  return {
    incidentId: incidentIdFor(accountId, findingId, resourceId),
    playbook: 'ec2-instance',
    origin: 'guardduty',
    findingId,
    findingType: 'Backdoor:EC2/C&CActivity.B',
    title: `EC2 instance ${resourceId} is communicating with a known command and control server.`,
    severity: 8,
    accountId,
    region: REGION,
    partition: 'aws',
    resource: { type: 'Instance', id: resourceId, hints: { eniIds: ['eni-0b7c1d2e3f4a5b6c7'], vpcId: VPC_ID } },
    archived: false,
    sample: false,
    count: 1,
    createdAt: '2025-06-19T14:35:02.877Z',
    updatedAt: '2025-06-19T14:35:02.877Z',
    eventId: '1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a',
    eventTime: '2025-06-19T14:40:09Z',
    remoteIps: ['198.51.100.23'],
    ...overrides,
  };
}

export function anInstance(overrides: Partial<Ec2Instance> = {}): Ec2Instance {
  return {
    instanceId: INSTANCE_ID,
    state: 'running',
    vpcId: VPC_ID,
    subnetId: 'subnet-0f1e2d3c4b5a69788',
    availabilityZone: 'us-east-1a',
    networkInterfaces: [
      { networkInterfaceId: 'eni-0b7c1d2e3f4a5b6c7', groupIds: ['sg-0123456789abcdef0'], privateIps: ['10.20.1.34'], requesterManaged: false, deviceIndex: 0 },
    ],
    volumes: [{ volumeId: 'vol-0aaaaaaaaaaaaaaa1', deviceName: '/dev/xvda', deleteOnTermination: true }],
    tags: { Name: 'web-frontend-01' },
    firebreakGroups: [],
    raw: { InstanceId: INSTANCE_ID },
    ...overrides,
  };
}

/** A logger that writes nothing (the tests assert on AWS calls and the ledger, not on logs). */
export const silentLogger = (): Logger => new Logger({ serviceName: 'firebreak-test', logLevel: 'SILENT' });

const clientConfig = { region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 };

/** Real SDK clients; tests intercept them with `mockClient(EC2Client)` and friends. */
export function someClients(): Clients {
  return {
    ec2: new EC2Client(clientConfig),
    autoScaling: new AutoScalingClient(clientConfig),
    elbv2: new ElasticLoadBalancingV2Client(clientConfig),
    elb: new ElasticLoadBalancingClient(clientConfig),
    iam: new IAMClient(clientConfig),
    ssm: new SSMClient(clientConfig),
    guardDuty: new GuardDutyClient(clientConfig),
    cloudTrail: new CloudTrailClient(clientConfig),
    secretsManager: new SecretsManagerClient(clientConfig),
    account: new AccountClient(clientConfig),
    s3: new S3Client({ ...clientConfig, forcePathStyle: true }),
    s3Control: new S3ControlClient(clientConfig),
    ecs: new ECSClient(clientConfig),
    rds: new RDSClient(clientConfig),
  };
}

export const anS3Client = (): S3Client => new S3Client(clientConfig);

/** EC2 options as the function reads them (schema defaults applied); online capture waits 0 s and no malware scan, unless overridden. */
export function anEc2Options(overrides: Record<string, unknown> = {}): Ec2Options {
  return Ec2OptionsSchema.parse({ online_capture: { enabled: false, wait_seconds: 0 }, malware_scan: false, ...overrides });
}

/** What the engine hands steps and undos: every step's latest outcome, read through the steps' schemas. */
type WithOutcomes = { outcomes?: Record<string, StepOutcome> };

/**
 * A step context for an EC2 step, with real (mockable) clients and a real evidence store.
 * `outcomes` are the other steps' recorded outcomes (read typed with `outputOf`).
 */
export function aStepContext<D = any>(overrides: Partial<StepContext<Ec2, D>> & WithOutcomes = {}): StepContext<Ec2, D> {
  const { outcomes = {}, ...rest } = overrides;
  return {
    ...outputsReader<Ec2>(() => outcomes),
    incident: anIncident(),
    resource: anInstance(),
    capture: { instanceId: INSTANCE_ID, networkInterfaces: [], volumes: [], tags: {} },
    options: anEc2Options(),
    clients: someClients(),
    evidence: new EvidenceStore(anS3Client(), EVIDENCE_BUCKET),
    config: aConfig(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    pacer: localPacer({ sleep: async () => undefined }),
    handOff: async () => ({ eventId: 'handoff-event-id' }),
    relate: async () => [],
    ...rest,
  } as StepContext<Ec2, D>;
}

export const RESPONDER = 'arn:aws:sts::111122223333:assumed-role/Responder/alice';

/**
 * A release context for an EC2 undo or release action. `resource` is what the playbook's
 * describe finds now (undefined: the instance is gone); `outcomes` the containment steps' outcomes.
 */
export function aReleaseContext(
  overrides: Partial<Omit<ReleaseContext<Ec2>, 'resource'>> & WithOutcomes & { resource?: Ec2Instance | undefined } = {},
): ReleaseContext<Ec2> {
  const { outcomes = {}, resource: given, ...rest } = overrides;
  // An explicit `resource: undefined` means the instance is gone; no key means the usual instance.
  const resource = 'resource' in overrides ? given : anInstance();
  return {
    ...outputsReader<Ec2>(() => outcomes),
    incident: anIncident(),
    capture: { instanceId: INSTANCE_ID, networkInterfaces: [], volumes: [], tags: {} },
    request: { requestedBy: RESPONDER, reason: 'false positive', reattach: false, via: 'cli' },
    resource: async () => resource,
    clients: someClients(),
    logger: silentLogger(),
    now: () => FIXED_NOW,
    released: {},
    ...rest,
  };
}

/**
 * What a step's undo receives after the step ran: its data through a JSON round trip (as
 * DynamoDB stores it) and the step's schema (as the engine reads it). Release tests use
 * it on the data the step really returned against mocked AWS, never on invented data.
 */
export function recordedBy<D>(step: Step<Ec2, D>, result: { status: string; data?: unknown }): D {
  if (result.status !== 'done') throw new Error(`${step.name} returned ${result.status}: an undo runs only after done`);
  return parseRecorded(step, result.data === undefined ? undefined : JSON.parse(JSON.stringify(result.data)));
}

/** An undo context from what the step really recorded. */
export function anUndoContext<D>(step: Step<Ec2, D>, result: { status: string; data?: unknown }, overrides: Parameters<typeof aReleaseContext>[0] = {}): UndoContext<Ec2, D> {
  return { ...aReleaseContext(overrides), recorded: recordedBy(step, result) };
}

/** An error shaped like the ones AWS SDK v3 throws. */
export function awsError(
  name: string,
  options: { httpStatusCode?: number; fault?: 'client' | 'server'; message?: string; retryable?: boolean } = {},
): Error {
  return Object.assign(new Error(options.message ?? `${name} error`), {
    name,
    $fault: options.fault ?? ((options.httpStatusCode ?? 400) >= 500 ? 'server' : 'client'),
    $metadata: { httpStatusCode: options.httpStatusCode ?? 400 },
    ...(options.retryable ? { $retryable: { throttling: true } } : {}),
  });
}

/** The error moto returns for an API it does not implement (HTTP 500). */
export const motoNotImplemented = (operation: string): Error =>
  awsError('InternalFailure', { httpStatusCode: 500, fault: 'server', message: `The ${operation} action has not been implemented` });

export function anSqsRecord(body: string, messageId: string): SQSRecord {
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1750344009000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1750344009000',
    },
    messageAttributes: {},
    md5OfBody: 'unused',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:${REGION}:${ACCOUNT_ID}:firebreak-ec2-instance`,
    awsRegion: REGION,
  };
}

export const anSqsEvent = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

export function aLambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: 'firebreak-ec2-instance',
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT_ID}:function:firebreak-ec2-instance`,
    memoryLimitInMB: '512',
    awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
    logGroupName: '/aws/lambda/firebreak-ec2-instance',
    logStreamName: '2025/06/19/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/**
 * An in-memory ledger with the engine-facing surface of {@link Ledger}: it keeps
 * every call, so tests can assert on what was recorded and in which order.
 */
export class FakeLedger {
  records = new Map<string, IncidentRecord>();
  begins: BeginParams[] = [];
  recorded: Array<{ incidentId: string; name: string; outcome: StepOutcome }> = [];
  finished: Array<{ incidentId: string; status: IncidentStatus; reason: string; isolatedAt?: string }> = [];
  slot: SlotOutcome = 'taken';

  /** Seeds a record from an earlier delivery. */
  withRecord(incident: Incident, record: Partial<IncidentRecord>): this {
    this.records.set(incident.incidentId, { incidentId: incident.incidentId, incident, steps: {}, status: 'received', ...record } as IncidentRecord);
    return this;
  }

  async load(incidentId: string, _accountId: string, _origin?: string): Promise<LoadedState> {
    const record = this.records.get(incidentId);
    return { ...(record ? { record } : {}), window: { version: 0, entries: [] } };
  }

  async begin(params: BeginParams): Promise<SlotOutcome> {
    this.begins.push(params);
    return params.blastRadius ? this.slot : 'not-needed';
  }

  async recordStep(incidentId: string, name: string, outcome: StepOutcome): Promise<void> {
    this.recorded.push({ incidentId, name, outcome });
  }

  async finish(incidentId: string, status: IncidentStatus, reason: string, _now: Date, isolatedAt?: string): Promise<void> {
    this.finished.push({ incidentId, status, reason, ...(isolatedAt ? { isolatedAt } : {}) });
  }

  links: Array<{ source: string; derived: string; link: DerivedLink }> = [];

  async linkDerived(source: string, derived: string, link: DerivedLink): Promise<boolean> {
    this.links.push({ source, derived, link });
    return this.records.has(source);
  }

  /** The fake, typed as the real ledger for {@link EngineDeps}. */
  asLedger(): Ledger {
    return this as unknown as Ledger;
  }

  outcome(name: string): StepOutcome | undefined {
    return this.recorded.find((r) => r.name === name)?.outcome;
  }
}

/** A DynamoDB document client configured as the functions' (`removeUndefinedValues`), for `mockClient(DynamoDBDocumentClient)`. */
export const aDocumentClient = (): DynamoDBDocumentClient =>
  DynamoDBDocumentClient.from(new DynamoDBClient(clientConfig), { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });

/** A recorded step outcome: `done` in the `contain` stage after one attempt, unless overridden. */
export function aStepOutcome(overrides: Partial<StepOutcome> = {}): StepOutcome {
  return { stage: 'contain', status: 'done', summary: 'done', attempts: 1, ...overrides };
}

const LEDGER_FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'ledger');

/** The names of the ledger item fixtures in `test/fixtures/ledger/<dir>` (`*.json`). */
export const ledgerFixtureNames = (dir: string): string[] => readdirSync(join(LEDGER_FIXTURE_DIR, dir)).filter((f) => f.endsWith('.json')).sort();

/** A ledger item fixture (`v1/ec2-released.json`), as the document client returns it: a fresh copy each call. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const ledgerFixture = (path: string): Record<string, any> => JSON.parse(readFileSync(join(LEDGER_FIXTURE_DIR, path), 'utf8'));

/** The expression parts of a DynamoDB request (Update, ConditionCheck, Put with a condition). */
export interface ExpressionInput {
  UpdateExpression?: string | undefined;
  ConditionExpression?: string | undefined;
  ExpressionAttributeNames?: Record<string, string> | undefined;
  ExpressionAttributeValues?: Record<string, unknown> | undefined;
}

/**
 * What DynamoDB would refuse in a request's expressions: a `#name` or `:value` defined but
 * not used, or used but not defined. Empty when the request is consistent.
 *
 * @example
 * ```ts
 * expect(expressionProblems(input)).toEqual([]);
 * ```
 */
export function expressionProblems(input: ExpressionInput): string[] {
  const expr = `${input.UpdateExpression ?? ''} ${input.ConditionExpression ?? ''}`;
  const used = (prefix: '#' | ':') => new Set(expr.match(new RegExp(`${prefix}[A-Za-z0-9_]+`, 'g')) ?? []);
  const problems: string[] = [];
  for (const [prefix, defined, what] of [
    ['#', Object.keys(input.ExpressionAttributeNames ?? {}), 'name'],
    [':', Object.keys(input.ExpressionAttributeValues ?? {}), 'value'],
  ] as const) {
    const inExpr = used(prefix);
    problems.push(...defined.filter((d) => !inExpr.has(d)).map((d) => `unused ${what} ${d}`));
    problems.push(...[...inExpr].filter((u) => !defined.includes(u)).map((u) => `undefined ${what} ${u}`));
  }
  return problems;
}

const conditionFailed = () => awsError('ConditionalCheckFailedException', { message: 'The conditional request failed' });
/** What DynamoDB gives back: a copy, with what JSON cannot hold (undefined, functions) gone. */
const stored = <V>(value: V): V => JSON.parse(JSON.stringify(value)) as V;

/**
 * An in-memory ledger that behaves like the real one for containment and release: one
 * v2 incident record per incident, the first capture kept, a released incident never
 * overwritten by a delivery, and release claims with the real conditions (a claim only on
 * an unreleased incident whose release is absent, incomplete or idle too long; step and
 * finish writes refused with ConditionalCheckFailedException once another run holds the
 * claim). Release tests contain an incident through it (`runPlaybook`) and release what
 * it recorded. `writes` keeps every write, so a test can prove a no-op wrote nothing.
 */
export class InMemoryLedger {
  records = new Map<string, IncidentRecord>();
  writes: Array<{ method: string; args: unknown[] }> = [];
  /** The blast-radius limit is reached for every incident that holds no slot yet. */
  limitReached = false;

  /** The stored record (live: a test may change it, as another writer would). */
  record(incidentId: string): IncidentRecord {
    const r = this.records.get(incidentId);
    if (!r) throw new Error(`no record of ${incidentId}`);
    return r;
  }

  async load(incidentId: string, _accountId: string): Promise<LoadedState> {
    const record = this.records.get(incidentId);
    return { ...(record ? { record: stored(record) } : {}), window: { version: 0, entries: [] } };
  }

  async get(incidentId: string): Promise<IncidentRecord | undefined> {
    const r = this.records.get(incidentId);
    return r ? stored(r) : undefined;
  }

  async begin(p: BeginParams): Promise<SlotOutcome> {
    this.writes.push({ method: 'begin', args: [p] });
    const i = p.incident;
    const now = p.now.toISOString();
    const r: IncidentRecord = this.records.get(i.incidentId) ?? ({ firstSeenAt: now, steps: {}, status: 'received', deliveries: 0 } as IncidentRecord);
    Object.assign(r, {
      pk: `incident#${i.incidentId}`,
      sk: 'incident',
      kind: 'incident',
      schemaVersion: INCIDENT_RECORD_VERSION,
      incidentId: i.incidentId,
      playbook: i.playbook,
      incident: stored(i),
      mode: p.mode,
      gates: stored(p.gates),
      lastSeenAt: now,
      lastMessageId: p.messageId,
      deliveries: r.deliveries + 1,
    });
    if (p.capture && !r.capture) r.capture = stored(p.capture);
    r.openedBy ??= budgetOrigin(i);
    if (i.derivedFrom) r.derivedFrom ??= stored(i.derivedFrom);
    this.records.set(i.incidentId, r);
    if (!p.blastRadius) return 'not-needed';
    if (r.blastRadiusSlotAt) return 'already-held';
    if (this.limitReached) return 'limit-reached';
    r.blastRadiusSlotAt = now;
    return 'taken';
  }

  async recordStep(incidentId: string, name: string, outcome: StepOutcome): Promise<void> {
    this.writes.push({ method: 'recordStep', args: [incidentId, name, outcome] });
    this.record(incidentId).steps[name] = stored(outcome);
  }

  async finish(incidentId: string, status: IncidentStatus, reason: string, now: Date, isolatedAt?: string): Promise<void> {
    this.writes.push({ method: 'finish', args: [incidentId, status, reason, now, isolatedAt] });
    const r = this.record(incidentId);
    if (r.status === 'released' && status !== 'released') return;
    Object.assign(r, { status, statusReason: reason, finishedAt: now.toISOString() });
    if (isolatedAt && !r.isolatedAt) r.isolatedAt = isolatedAt;
  }

  async linkDerived(source: string, derived: string, link: DerivedLink): Promise<boolean> {
    this.writes.push({ method: 'linkDerived', args: [source, derived, link] });
    const r = this.records.get(source);
    if (!r) return false;
    r.derived = { [derived]: stored(link), ...r.derived };
    if (link.kind === 'generation') r.nextGeneration ??= derived;
    return true;
  }

  async beginRelease(p: BeginReleaseParams): Promise<BeginReleaseOutcome> {
    this.writes.push({ method: 'beginRelease', args: [p] });
    const r = this.records.get(p.incidentId);
    if (!r || r.status === 'released') return { claimed: false };
    const now = p.now.toISOString();
    const attempt = { requestedBy: p.requestedBy, reason: p.reason, reattach: p.reattach, requestedAt: now, via: p.via };
    if (!p.seen) {
      if (r.release) return { claimed: false };
      r.release = { ...attempt, status: 'releasing', claimId: p.claimId, attempts: [attempt], steps: {} };
    } else {
      const rel = r.release;
      const staleBefore = p.now.getTime() - (p.staleAfterSeconds ?? RELEASE_STALE_AFTER_SECONDS) * 1000;
      const stale = rel?.status === 'releasing' && Date.parse(rel.requestedAt) < staleBefore;
      if (!rel || rel.claimId !== p.seen.claimId || !(rel.status === 'incomplete' || stale)) return { claimed: false };
      const { failures: _failures, ...kept } = rel;
      r.release = { ...kept, ...attempt, status: 'releasing', claimId: p.claimId, attempts: [...(rel.attempts ?? []), attempt] };
    }
    return { claimed: true, record: stored(r) };
  }

  async recordReleaseStep(incidentId: string, claimId: string, name: string, outcome: StepOutcome): Promise<void> {
    this.writes.push({ method: 'recordReleaseStep', args: [incidentId, claimId, name, outcome] });
    const release = this.records.get(incidentId)?.release;
    if (release?.claimId !== claimId) throw conditionFailed();
    release.steps[name] = stored(outcome);
  }

  async finishRelease(incidentId: string, claimId: string, p: FinishReleaseParams): Promise<void> {
    this.writes.push({ method: 'finishRelease', args: [incidentId, claimId, p] });
    const r = this.records.get(incidentId);
    if (r?.release?.claimId !== claimId) throw conditionFailed();
    const now = p.now.toISOString();
    Object.assign(r.release, { status: p.status, finishedAt: now, summary: p.summary, keptProtections: p.keptProtections, failures: p.failures });
    if (p.status === 'released') {
      Object.assign(r.release, { releasedBy: p.releasedBy, releasedAt: now });
      Object.assign(r, { status: 'released', statusReason: p.summary });
    }
  }

  /** The fake, typed as the real ledger. */
  asLedger(): Ledger {
    return this as unknown as Ledger;
  }
}

/** Releases, through the engine, an incident whose containment recorded `steps`, with an EC2 playbook of only `playbookSteps` (their undos, in that order); describe finds `resource`. */
export async function releaseWithStepsOf(
  steps: Record<string, StepOutcome>,
  playbookSteps: AnyStep<Ec2>[],
  { incident = anIncident(), resource = anInstance(), reattach = false }: { incident?: Incident; resource?: Ec2Instance; reattach?: boolean } = {},
) {
  const record = { incidentId: incident.incidentId, incident, playbook: 'ec2-instance', status: 'contained', steps, capture: { instanceId: INSTANCE_ID } } as unknown as IncidentRecord;
  const ledger: ReleaseLedger = {
    get: async () => record,
    beginRelease: async () => ({ claimed: true, record }),
    recordReleaseStep: async () => undefined,
    finishRelease: async () => undefined,
  };
  const playbook = definePlaybook<Ec2>({
    name: 'ec2-instance',
    options: Ec2OptionsSchema,
    describe: async () => resource,
    capture: { schema: Ec2CaptureSchema, of: captureInstance },
    tags: (i) => i.tags,
    identifiers: (_incident, i) => [i.instanceId],
    principals: () => [],
    describeIamActions: [],
    isolationStep: playbookSteps[0]!,
    steps: playbookSteps,
    release: playbookSteps,
  });
  return releaseIncident(
    { ledger, clientsFor: () => someClients(), logger: silentLogger(), now: () => FIXED_NOW, playbookFor: () => playbook },
    { incidentId: incident.incidentId, reason: 'false positive', reattach, requestedBy: RESPONDER, via: 'cli' },
  );
}

