// `firebreak local drain`: does what Lambda's SQS poller does, from what Terraform
// deployed — for every event source mapping, receive batches from its queue, run the
// deployed bundle of its function with that function's environment and the mapping's
// batch size, delete what succeeded, and leave batch-item failures for redelivery.
// Each function runs as its execution role, as in Lambda: the emulator mints the role's
// credentials for lambda.amazonaws.com (refused unless the role trusts that service), with the
// function name as session name, so the emulator's queue and bus policies see the role.
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync, type WriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { GetFunctionCommand, LambdaClient, paginateListEventSourceMappings, type EventSourceMappingConfiguration } from '@aws-sdk/client-lambda';
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, GetQueueUrlCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export interface DrainOptions {
  endpoint: string;
  region: string;
  distDir?: string;
  /** Only mappings whose function name matches (substring). */
  functionFilter?: string;
  /** Give up waiting for in-flight (invisible) messages after this many seconds. */
  timeoutSeconds?: number;
  log?: (line: string) => void;
  /** Extra environment for the functions (overrides nothing the function sets). */
  baseEnvironment?: Record<string, string>;
  /**
   * The endpoint the functions get as AWS_ENDPOINT_URL (e.g. a fault-injecting proxy in front of
   * `endpoint`); the drain's own SQS and Lambda calls, and the role credentials, still go to `endpoint`.
   */
  functionEndpoint?: string;
  /**
   * Workers per queue, each its own warm "Lambda container" receiving batches concurrently, as
   * Lambda's poller scales an SQS event source up to its maximum concurrency (default 1).
   */
  concurrency?: number;
  /**
   * Test hook for SQS's at-least-once delivery: a received message for which this returns true
   * is handed to two workers at once (the second in a container of its own), as when SQS
   * delivers one message twice.
   */
  deliverTwice?: (message: Message) => boolean;
}

export interface FunctionDrainSummary {
  functionName: string;
  queueUrl: string;
  batches: number;
  received: number;
  deleted: number;
  failed: number;
  invocationErrors: number;
  /** Messages handed to two workers at once ({@link DrainOptions.deliverTwice}). */
  deliveredTwice: number;
}

interface MappedFunction {
  mapping: EventSourceMappingConfiguration;
  functionName: string;
  functionArn: string;
  queueUrl: string;
  queueArn: string;
  batchSize: number;
  timeoutSeconds: number;
  memoryMb: number;
  roleArn: string;
  environment: Record<string, string>;
  bundlePath: string;
}

export interface RoleCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** The session's unique id, `AROA…:<session name>` (an SQS message's SenderId). */
  assumedRoleId: string;
}

/**
 * Credentials of a function's execution role as Lambda obtains them: minted by the emulator
 * (POST /firebreak/service-credentials) for a service principal, only if the role's trust
 * policy trusts it; the session is named after the function, as Lambda names it.
 */
export async function serviceRoleCredentials(
  endpoint: string,
  roleArn: string,
  sessionName: string,
  service = 'lambda.amazonaws.com',
  fetchImpl: typeof fetch = fetch,
): Promise<RoleCredentials> {
  const url = `${endpoint.replace(/\/$/, '')}/firebreak/service-credentials`;
  const response = await fetchImpl(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ roleArn, service, sessionName }) });
  const text = await response.text();
  if (response.status === 404) {
    throw new Error(`${endpoint} does not mint role credentials (${url} not found): start Firebreak's emulator with 'make emulator'`);
  }
  if (!response.ok) {
    throw new Error(`${service} may not assume ${roleArn} for ${sessionName}: ${text}`);
  }
  const body = JSON.parse(text) as { AccessKeyId: string; SecretAccessKey: string; SessionToken: string; AssumedRoleId: string };
  return { accessKeyId: body.AccessKeyId, secretAccessKey: body.SecretAccessKey, sessionToken: body.SessionToken, assumedRoleId: body.AssumedRoleId };
}

/** One file of a zip written by our build (deflate or store), read through its central directory. */
export interface ZipEntry {
  name: string;
  data: Buffer;
}

/** Reads every file of a zip (deflate or store), through its central directory as unzip does. */
export function unzipEntries(zip: Buffer): ZipEntry[] {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip: no end of central directory');
  const count = zip.readUInt16LE(eocd + 10);
  let offset = zip.readUInt32LE(eocd + 16);
  const entries: ZipEntry[] = [];
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(offset) !== 0x02014b50) throw new Error(`corrupt zip: central directory entry ${n} not found`);
    const method = zip.readUInt16LE(offset + 10);
    const compressedSize = zip.readUInt32LE(offset + 20);
    const nameLength = zip.readUInt16LE(offset + 28);
    const extraLength = zip.readUInt16LE(offset + 30);
    const commentLength = zip.readUInt16LE(offset + 32);
    const local = zip.readUInt32LE(offset + 42);
    const name = zip.subarray(offset + 46, offset + 46 + nameLength).toString('utf8');
    const dataStart = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    entries.push({ name, data: method === 8 ? inflateRawSync(data) : Buffer.from(data) });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** Reads one file of a zip written by our build. */
export function unzipSingleFile(zip: Buffer, name: string): Buffer {
  const entry = unzipEntries(zip).find((e) => e.name === name);
  if (!entry) throw new Error(`${name} not found in the function's zip`);
  return entry.data;
}

/**
 * Unpacks a function's zip (its entry `index.mjs` and the chunks it imports) into `dir`, as
 * Lambda unpacks a deployment package; returns the entry's path. A directory that already holds
 * the entry is left as it is (it is named after the zip's hash).
 */
export async function unpackBundle(zip: Buffer, dir: string): Promise<string> {
  const entryPath = join(dir, 'index.mjs');
  if (existsSync(entryPath)) return entryPath;
  // Unpacked beside, then renamed: a concurrent drain never sees half a bundle.
  const staging = `${dir}.${process.pid}.tmp`;
  for (const entry of unzipEntries(zip)) {
    const path = resolve(staging, entry.name);
    if (!path.startsWith(`${resolve(staging)}/`)) throw new Error(`${entry.name}: a zip entry outside the bundle`);
    mkdirSync(dirname(path), { recursive: true });
    await writeFile(path, entry.data);
  }
  if (!existsSync(join(staging, 'index.mjs'))) {
    rmSync(staging, { recursive: true, force: true });
    throw new Error("index.mjs not found in the function's zip");
  }
  mkdirSync(dirname(dir), { recursive: true });
  try {
    renameSync(staging, dir);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(entryPath)) throw error;
  }
  return entryPath;
}

async function resolveTargets(lambda: LambdaClient, sqs: SQSClient, opts: DrainOptions): Promise<MappedFunction[]> {
  const distDir = opts.distDir ?? join(root, 'dist');
  const targets: MappedFunction[] = [];
  for await (const page of paginateListEventSourceMappings({ client: lambda }, {})) {
    for (const mapping of page.EventSourceMappings ?? []) {
      if (!mapping.EventSourceArn?.startsWith('arn:aws:sqs:') || !mapping.FunctionArn) continue;
      const fn = await lambda.send(new GetFunctionCommand({ FunctionName: mapping.FunctionArn }));
      const config = fn.Configuration!;
      const functionName = config.FunctionName!;
      if (opts.functionFilter && !functionName.includes(opts.functionFilter)) continue;
      const environment = config.Environment?.Variables ?? {};
      // A playbook's function names its playbook; the catch-all's names itself (FIREBREAK_FUNCTION).
      const bundleName = environment.FIREBREAK_PLAYBOOK ?? environment.FIREBREAK_FUNCTION;
      if (!bundleName) throw new Error(`${functionName} has neither FIREBREAK_PLAYBOOK nor FIREBREAK_FUNCTION: not a Firebreak function`);
      const zipPath = join(distDir, `${bundleName}.zip`);
      const zip = await readFile(zipPath);
      const localSha = createHash('sha256').update(zip).digest('base64');
      // Run exactly what was deployed, or nothing.
      if (localSha !== config.CodeSha256) {
        throw new Error(
          `${functionName} was deployed with CodeSha256 ${config.CodeSha256} but ${zipPath} has ${localSha}: run 'firebreak local deploy' first`,
        );
      }
      const bundleDir = join(root, '.firebreak', 'bundles', createHash('sha256').update(zip).digest('hex').slice(0, 16));
      const bundlePath = await unpackBundle(zip, bundleDir);
      const queueName = mapping.EventSourceArn.split(':').pop()!;
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
      targets.push({
        mapping,
        functionName,
        functionArn: config.FunctionArn!,
        queueUrl: QueueUrl!,
        queueArn: mapping.EventSourceArn,
        batchSize: Math.min(mapping.BatchSize ?? 10, 10),
        timeoutSeconds: config.Timeout ?? 3,
        memoryMb: config.MemorySize ?? 128,
        roleArn: config.Role!,
        environment,
        bundlePath,
      });
    }
  }
  return targets;
}

class Worker {
  #child: ChildProcess | undefined;
  #ready: Promise<void> | undefined;
  readonly #target: MappedFunction;
  readonly #env: Record<string, string>;
  readonly #logStream: WriteStream;

  constructor(target: MappedFunction, env: Record<string, string>, logStream: WriteStream) {
    this.#target = target;
    this.#env = env;
    this.#logStream = logStream;
  }

  #start(): Promise<void> {
    const child = fork(join(root, 'scripts/lib/bundle-worker.ts'), [this.#target.bundlePath], {
      env: this.#env,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      execPath: process.execPath,
    });
    child.stdout!.pipe(this.#logStream, { end: false });
    child.stderr!.pipe(this.#logStream, { end: false });
    this.#child = child;
    this.#ready = new Promise((resolveReady, reject) => {
      child.once('message', () => resolveReady());
      child.once('exit', (code) => reject(new Error(`worker for ${this.#target.functionName} exited with ${code}`)));
    });
    return this.#ready;
  }

  /** Invokes the function with one SQS event; resolves to the handler's response, or throws. */
  async invoke(event: unknown): Promise<{ batchItemFailures?: Array<{ itemIdentifier: string }> }> {
    if (!this.#child) await this.#start();
    await this.#ready;
    const child = this.#child!;
    return new Promise((resolveInvoke, reject) => {
      const timer = setTimeout(() => {
        // Lambda ends an invocation at its timeout; the whole batch returns to the queue.
        this.stop();
        reject(new Error(`Task timed out after ${this.#target.timeoutSeconds} seconds`));
      }, this.#target.timeoutSeconds * 1000);
      child.once('message', (msg: { ok: boolean; result?: any; error?: { name: string; message: string } }) => {
        clearTimeout(timer);
        if (msg.ok) resolveInvoke(msg.result ?? {});
        else reject(new Error(`${msg.error?.name}: ${msg.error?.message}`));
      });
      child.send({
        event,
        functionName: this.#target.functionName,
        functionArn: this.#target.functionArn,
        memoryMb: this.#target.memoryMb,
        timeoutSeconds: this.#target.timeoutSeconds,
      });
    });
  }

  stop(): void {
    this.#child?.kill();
    this.#child = undefined;
  }
}

function toSqsEvent(messages: Message[], target: MappedFunction, region: string) {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? '',
      attributes: m.Attributes ?? {},
      messageAttributes: lambdaMessageAttributes(m.MessageAttributes),
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: target.queueArn,
      awsRegion: region,
    })),
  };
}

/** Message attributes as Lambda passes them in an SQS event (`stringValue`, `dataType`, …), not as ReceiveMessage returns them. */
export function lambdaMessageAttributes(attributes: Message['MessageAttributes']): Record<string, { stringValue?: string; binaryValue?: string; stringListValues: string[]; binaryListValues: string[]; dataType: string }> {
  return Object.fromEntries(
    Object.entries(attributes ?? {}).map(([name, a]) => [
      name,
      {
        ...(a.StringValue !== undefined ? { stringValue: a.StringValue } : {}),
        ...(a.BinaryValue !== undefined ? { binaryValue: Buffer.from(a.BinaryValue).toString('base64') } : {}),
        stringListValues: a.StringListValues ?? [],
        binaryListValues: (a.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
        dataType: a.DataType ?? 'String',
      },
    ]),
  );
}

/** In flight: invisible after a receive, or delayed (a follow-up delivery the function queued). */
async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  const n = (name: string) => Number(out.Attributes?.[name as keyof typeof out.Attributes] ?? 0);
  return { visible: n('ApproximateNumberOfMessages'), inFlight: n('ApproximateNumberOfMessagesNotVisible') + n('ApproximateNumberOfMessagesDelayed') };
}

/** Where the functions send their AWS calls: `functionEndpoint` when set, else the drain's own endpoint. */
export const functionEndpointOf = (opts: Pick<DrainOptions, 'endpoint' | 'functionEndpoint'>): string => opts.functionEndpoint ?? opts.endpoint;

/**
 * Drains every Firebreak queue through its deployed function until all queues
 * are empty (including messages waiting out a visibility timeout after a
 * reported failure, which end in the DLQ after maxReceiveCount, and delayed
 * follow-up deliveries of findings whose steps wait on AWS).
 */
export async function drain(opts: DrainOptions): Promise<FunctionDrainSummary[]> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const clientConfig = { region: opts.region, endpoint: opts.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const lambda = new LambdaClient(clientConfig);
  const sqs = new SQSClient(clientConfig);
  const targets = await resolveTargets(lambda, sqs, opts);
  const logDir = join(root, '.firebreak', 'logs');
  mkdirSync(logDir, { recursive: true });
  const deadline = Date.now() + (opts.timeoutSeconds ?? 120) * 1000;

  const summaries = await Promise.all(
    targets.map(async (target) => {
      const summary: FunctionDrainSummary = { functionName: target.functionName, queueUrl: target.queueUrl, batches: 0, received: 0, deleted: 0, failed: 0, invocationErrors: 0, deliveredTwice: 0 };
      const role = await serviceRoleCredentials(opts.endpoint, target.roleArn, target.functionName);
      const logStream = createWriteStream(join(logDir, `${target.functionName}.log`), { flags: 'a' });
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        TZ: 'UTC',
        AWS_ENDPOINT_URL: functionEndpointOf(opts),
        AWS_ACCESS_KEY_ID: role.accessKeyId,
        AWS_SECRET_ACCESS_KEY: role.secretAccessKey,
        AWS_SESSION_TOKEN: role.sessionToken,
        AWS_REGION: opts.region,
        AWS_DEFAULT_REGION: opts.region,
        AWS_LAMBDA_FUNCTION_NAME: target.functionName,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(target.memoryMb),
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        ...opts.baseEnvironment,
        ...target.environment,
      };
      const workers: Worker[] = [];
      // Every worker (and a twin) pipes its stdout and stderr into the function's one log.
      logStream.setMaxListeners(4 * (Math.max(1, opts.concurrency ?? 1) + 1) + 10);
      const newWorker = () => {
        const w = new Worker(target, env, logStream);
        workers.push(w);
        return w;
      };
      try {
        await Promise.all(
          Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, () => pollWithWorker({ sqs, target, region: opts.region, deadline, log, summary, worker: newWorker(), twin: lazily(newWorker), ...(opts.deliverTwice ? { deliverTwice: opts.deliverTwice } : {}) })),
        );
      } finally {
        for (const w of workers) w.stop();
        logStream.end();
      }
      return summary;
    }),
  );
  return summaries;
}

const lazily = <T>(make: () => T): (() => T) => {
  let made: T | undefined;
  return () => (made ??= make());
};

interface Poller {
  sqs: SQSClient;
  target: MappedFunction;
  region: string;
  deadline: number;
  log: (line: string) => void;
  summary: FunctionDrainSummary;
  worker: Worker;
  /** A second container, started when a message is delivered twice. */
  twin: () => Worker;
  deliverTwice?: (message: Message) => boolean;
}

/**
 * One worker's loop, as one concurrent Lambda invocation stream of an event source: receive a
 * batch, invoke, delete what succeeded; until every queue of the function is empty and nothing
 * is in flight (another worker's batch included).
 */
async function pollWithWorker(p: Poller): Promise<void> {
  const { sqs, target, summary } = p;
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: target.queueUrl, MaxNumberOfMessages: target.batchSize, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) {
      const depth = await queueDepth(sqs, target.queueUrl);
      if (depth.visible === 0 && depth.inFlight === 0) break;
      if (Date.now() > p.deadline) {
        p.log(`  ${target.functionName}: gave up waiting for ${depth.inFlight} in-flight message(s)`);
        break;
      }
      await new Promise((r) => setTimeout(r, 500));
      continue;
    }
    summary.batches++;
    summary.received += messages.length;
    const twice = p.deliverTwice ? messages.filter((m) => p.deliverTwice!(m)) : [];
    const [deleted] = await Promise.all([invokeAndDelete(p, p.worker, messages), twice.length ? invokeAndDelete(p, p.twin(), twice) : Promise.resolve(0)]);
    summary.deliveredTwice += twice.length;
    summary.received += twice.length;
    summary.deleted += deleted;
  }
}

/** One invocation with a batch; deletes what succeeded (a message delivered twice is deleted by whichever finishes first). Returns how many it deleted. */
async function invokeAndDelete(p: Poller, worker: Worker, messages: Message[]): Promise<number> {
  const { sqs, target, summary } = p;
  let failedIds = new Set<string>();
  try {
    const response = await worker.invoke(toSqsEvent(messages, target, p.region));
    failedIds = new Set((response.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  } catch (error) {
    summary.invocationErrors++;
    failedIds = new Set(messages.map((m) => m.MessageId!));
    p.log(`  ${target.functionName}: invocation failed: ${(error as Error).message}`);
  }
  const succeeded = messages.filter((m) => !failedIds.has(m.MessageId!));
  summary.failed += messages.length - succeeded.length;
  if (succeeded.length === 0) return 0;
  const out = await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: target.queueUrl, Entries: succeeded.map((m, n) => ({ Id: String(n), ReceiptHandle: m.ReceiptHandle! })) }));
  return out.Successful?.length ?? succeeded.length;
}
