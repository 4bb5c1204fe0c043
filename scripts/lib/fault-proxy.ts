// A fault-injecting HTTP proxy in front of the emulator (the test suite's own; docs/decisions.md
// says why not microburst). It recognises each request's service from its SigV4 credential scope
// (…/<region>/<service>/aws4_request) and its action from the Action form field (query and EC2
// protocols), the X-Amz-Target header (JSON protocols) or the method and path (REST), and answers,
// at set rates, with that service's own throttling error in its own protocol's shape, 500 or 503,
// a slow answer, or a dropped connection — before the request reaches the emulator, or after the
// emulator handled it (the response lost: the case that creates things twice). A rate-limit mode
// enforces EC2's documented request token buckets. Decisions are drawn from a seeded generator,
// so a run is reproducible for the same order of requests.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';

/** What a rule does to a request it picks. */
export type FaultKind = 'throttle' | 'http500' | 'http503' | 'delay' | 'drop-before' | 'drop-after';

/** Injects `kind` into `rate` (0–1) of the requests it matches. */
export interface FaultRule {
  kind: FaultKind;
  /** 0 (never) to 1 (every matching request). */
  rate: number;
  /** Signing names (`ec2`, `autoscaling`, `elasticloadbalancing`, `dynamodb`, …); absent or `*`: every service. */
  service?: string | readonly string[];
  /** Actions (`ModifyNetworkInterfaceAttribute`, …) or a pattern; absent: every action. */
  action?: string | readonly string[] | RegExp;
  /** For `delay`: how long the answer is held (default 1000 ms). */
  delayMs?: number;
  /** At most this many injections by this rule (then it lets everything through). */
  limit?: number;
}

/**
 * EC2's request token buckets (docs/decisions.md cites the table): each action draws one token
 * from its category's bucket per account and region, refilled every second; an empty bucket
 * answers `RequestLimitExceeded`. `scale` multiplies capacities and refill rates (0.1: a tenth).
 */
export interface Ec2RateLimitRule {
  kind: 'ec2-rate-limit';
  scale?: number;
}

export type AnyFaultRule = FaultRule | Ec2RateLimitRule;

export interface FaultProxyOptions {
  /** The emulator, e.g. `http://127.0.0.1:4566`. */
  target: string;
  /** Listen port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  rules: readonly AnyFaultRule[];
  /** Seed of the generator that decides which requests are faulted (default 1). */
  seed?: number;
}

/** One request as the proxy saw it. */
export interface SeenRequest {
  at: number;
  service: string;
  action: string;
  fault?: FaultKind | 'rate-limited';
}

export interface FaultStats {
  requests: number;
  faults: number;
  /** Per service, per action: requests seen and faults injected by kind. */
  byService: Record<string, { requests: number; faults: Partial<Record<FaultKind | 'rate-limited', number>>; actions: Record<string, { requests: number; faults: Partial<Record<FaultKind | 'rate-limited', number>> }> }>;
  /** Every request in order of arrival (service, action, fault, time). */
  log: SeenRequest[];
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`: give it to the clients as their endpoint. */
  url: string;
  setRules(rules: readonly AnyFaultRule[]): void;
  stats(): FaultStats;
  /** Forgets the counts and the log (the rules stay). */
  resetStats(): void;
  close(): Promise<void>;
}

/** A deterministic generator in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The service (SigV4 signing name) and action of a request; `unknown` where nothing says. */
export function identify(req: Pick<IncomingMessage, 'headers' | 'method' | 'url'>, body: string): { service: string; action: string; version?: string } {
  const auth = String(req.headers.authorization ?? '');
  const scope = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth);
  // Presigned URLs carry the scope in the query string.
  const query = new URL(req.url ?? '/', 'http://x').searchParams;
  const presigned = /^[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request$/.exec(query.get('X-Amz-Credential') ?? '');
  const service = scope?.[1] ?? presigned?.[1] ?? 'unknown';
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) return { service, action: target.slice(target.lastIndexOf('.') + 1) };
  const contentType = String(req.headers['content-type'] ?? '');
  if (contentType.startsWith('application/x-www-form-urlencoded') || query.has('Action')) {
    const form = new URLSearchParams(contentType.startsWith('application/x-www-form-urlencoded') ? body : '');
    const action = form.get('Action') ?? query.get('Action');
    const version = form.get('Version') ?? query.get('Version') ?? undefined;
    if (action) return { service, action, ...(version ? { version } : {}) };
  }
  // REST protocols: the method and the first path segment say enough for statistics.
  const path = (req.url ?? '/').split('?')[0]!;
  const first = path.split('/').filter(Boolean)[0] ?? '';
  return { service, action: `${req.method ?? 'GET'} /${service === 's3' ? (first ? '{bucket}' : '') : first}` };
}

type Protocol = 'ec2' | 'query' | 'json' | 'rest-json' | 'rest-xml';

/** Each service's wire protocol (as the AWS SDK for JavaScript v3 speaks it). */
const PROTOCOL: Record<string, Protocol> = {
  ec2: 'ec2',
  autoscaling: 'query',
  elasticloadbalancing: 'query',
  iam: 'query',
  sts: 'query',
  rds: 'query',
  sns: 'query',
  dynamodb: 'json',
  sqs: 'json',
  ecs: 'json',
  ssm: 'json',
  cloudtrail: 'json',
  secretsmanager: 'json',
  events: 'json',
  kms: 'json',
  logs: 'json',
  lambda: 'rest-json',
  guardduty: 'rest-json',
  account: 'rest-json',
  s3: 'rest-xml',
};

/** DynamoDB's data-plane calls answer ProvisionedThroughputExceededException when throttled. */
const DYNAMO_DATA_PLANE = new Set(['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem', 'BatchWriteItem', 'TransactGetItems', 'TransactWriteItems']);

/** The service's own throttling error: code, HTTP status and message (docs/decisions.md cites each). */
export function throttlingError(service: string, action: string): { code: string; status: number; message: string } {
  switch (service) {
    case 'ec2':
      return { code: 'RequestLimitExceeded', status: 503, message: 'Request limit exceeded.' };
    case 'autoscaling':
    case 'iam':
    case 'sts':
    case 'rds':
    case 'sns':
      return { code: 'Throttling', status: 400, message: 'Rate exceeded' };
    case 'elasticloadbalancing':
      return { code: 'ThrottlingException', status: 400, message: 'Rate exceeded' };
    case 'dynamodb':
      return DYNAMO_DATA_PLANE.has(action)
        ? { code: 'ProvisionedThroughputExceededException', status: 400, message: 'The level of configured provisioned throughput for the table was exceeded.' }
        : { code: 'ThrottlingException', status: 400, message: 'Rate of requests exceeds the allowed throughput.' };
    case 'sqs':
      return { code: 'RequestThrottled', status: 400, message: 'Request is throttled.' };
    case 'lambda':
    case 'guardduty':
    case 'account':
      return { code: 'TooManyRequestsException', status: 429, message: 'Rate exceeded' };
    case 's3':
      return { code: 'SlowDown', status: 503, message: 'Please reduce your request rate.' };
    default:
      return { code: 'ThrottlingException', status: 400, message: 'Rate exceeded' };
  }
}

const JSON_NAMESPACE: Record<string, string> = { dynamodb: 'com.amazonaws.dynamodb.v20120810', sqs: 'com.amazonaws.sqs' };

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An error answer in the service's own protocol shape (what its SDK client parses). */
export function errorResponse(service: string, code: string, status: number, message: string): { status: number; headers: Record<string, string>; body: string } {
  const requestId = randomUUID();
  const protocol = PROTOCOL[service] ?? 'json';
  const fault = status >= 500 ? 'Receiver' : 'Sender';
  switch (protocol) {
    case 'ec2':
      return {
        status,
        headers: { 'content-type': 'text/xml;charset=UTF-8' },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
      };
    case 'query':
      return {
        status,
        headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
        body: `<ErrorResponse><Error><Type>${fault}</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
      };
    case 'rest-xml':
      return {
        status,
        headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
        body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${escapeXml(message)}</Message><RequestId>${requestId}</RequestId></Error>`,
      };
    case 'rest-json':
      return {
        status,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': `${code}:http://internal.amazon.com/coral/com.amazon.coral.service/`, 'x-amzn-requestid': requestId },
        body: JSON.stringify({ message: message, Message: message }),
      };
    case 'json': {
      const namespace = JSON_NAMESPACE[service];
      return {
        status,
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amzn-requestid': requestId,
          // SQS speaks JSON but keeps its query-protocol error codes in this header.
          ...(service === 'sqs' ? { 'x-amzn-query-error': `${code};${fault}` } : {}),
        },
        body: JSON.stringify({ __type: namespace ? `${namespace}#${code}` : code, message }),
      };
    }
  }
}

/** EC2's request-rate categories: capacity and refill per second (the documented table). */
const EC2_BUCKETS = {
  'non-mutating': { capacity: 100, refill: 20 },
  'unfiltered-non-mutating': { capacity: 50, refill: 10 },
  mutating: { capacity: 50, refill: 5 },
  'resource-intensive': { capacity: 50, refill: 5 },
} as const;

/** Actions with a bucket of their own (the uncategorized table, those Firebreak may call). */
const EC2_OWN_BUCKETS: Record<string, { capacity: number; refill: number }> = {
  CreateSnapshot: { capacity: 100, refill: 5 },
  CreateSnapshots: { capacity: 100, refill: 5 },
  CreateTags: { capacity: 100, refill: 10 },
  DeleteTags: { capacity: 100, refill: 10 },
  CreateVolume: { capacity: 100, refill: 5 },
  DeleteVolume: { capacity: 100, refill: 5 },
  DeleteSnapshot: { capacity: 100, refill: 5 },
  CreateNetworkInterface: { capacity: 100, refill: 5 },
  ModifyNetworkInterfaceAttribute: { capacity: 100, refill: 5 },
  ModifyInstanceMetadataOptions: { capacity: 100, refill: 5 },
  ModifySnapshotAttribute: { capacity: 100, refill: 5 },
  AssociateIamInstanceProfile: { capacity: 100, refill: 5 },
  DisassociateIamInstanceProfile: { capacity: 100, refill: 5 },
  RunInstances: { capacity: 5, refill: 2 },
  StartInstances: { capacity: 5, refill: 2 },
  TerminateInstances: { capacity: 100, refill: 5 },
};
const RESOURCE_INTENSIVE = new Set([
  'AcceptVpcPeeringConnection',
  'AuthorizeSecurityGroupIngress',
  'CancelSpotInstanceRequests',
  'CreateKeyPair',
  'CreateVpcPeeringConnection',
  'DeleteVpcPeeringConnection',
  'RejectVpcPeeringConnection',
  'RevokeSecurityGroupIngress',
  'RequestSpotInstances',
]);
const UNFILTERED_SUBSET = new Set(['DescribeInstances', 'DescribeInstanceStatus', 'DescribeNetworkInterfaces', 'DescribeSecurityGroups', 'DescribeSnapshots', 'DescribeSpotInstanceRequests', 'DescribeVolumes']);

/** The bucket an EC2 request draws from: its own, or its category's (by name, filter and pagination). */
export function ec2Bucket(action: string, body: string): { key: string; capacity: number; refill: number } {
  const own = EC2_OWN_BUCKETS[action];
  if (own) return { key: action, ...own };
  if (RESOURCE_INTENSIVE.has(action)) return { key: 'resource-intensive', ...EC2_BUCKETS['resource-intensive'] };
  if (/^(Describe|List|Search|Get)/.test(action)) {
    const form = new URLSearchParams(body);
    const narrowed = [...form.keys()].some((k) => /^(Filter\.|MaxResults|NextToken|InstanceId\.|GroupId\.|NetworkInterfaceId\.|SnapshotId\.|VolumeId\.|GroupName\.)/.test(k));
    if (UNFILTERED_SUBSET.has(action) && !narrowed) return { key: 'unfiltered-non-mutating', ...EC2_BUCKETS['unfiltered-non-mutating'] };
    return { key: 'non-mutating', ...EC2_BUCKETS['non-mutating'] };
  }
  return { key: 'mutating', ...EC2_BUCKETS.mutating };
}

/** Token buckets keyed by bucket name (one account and region: the emulator's). */
export function tokenBuckets(now: () => number = Date.now) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  return {
    take(key: string, capacity: number, refillPerSecond: number): boolean {
      const t = now();
      const b = buckets.get(key) ?? { tokens: capacity, at: t };
      b.tokens = Math.min(capacity, b.tokens + ((t - b.at) / 1000) * refillPerSecond);
      b.at = t;
      buckets.set(key, b);
      if (b.tokens < 1) return false;
      b.tokens -= 1;
      return true;
    },
  };
}

const matches = (rule: FaultRule, service: string, action: string): boolean => {
  const services = rule.service === undefined ? undefined : typeof rule.service === 'string' ? [rule.service] : rule.service;
  if (services && !services.includes('*') && !services.includes(service)) return false;
  if (rule.action === undefined) return true;
  if (rule.action instanceof RegExp) return rule.action.test(action);
  return (typeof rule.action === 'string' ? [rule.action] : rule.action).includes(action);
};

/**
 * Starts the proxy on 127.0.0.1.
 *
 * @example
 * ```ts
 * const proxy = await startFaultProxy({ target: 'http://127.0.0.1:4566', rules: [{ kind: 'throttle', rate: 0.3, service: ['ec2', 'autoscaling'] }], seed: 7 });
 * new EC2Client({ endpoint: proxy.url }); // 30 % of its calls answer RequestLimitExceeded
 * await proxy.close();
 * ```
 */
export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  let rules: readonly AnyFaultRule[] = options.rules;
  const random = seededRandom(options.seed ?? 1);
  const injected = new Map<FaultRule, number>();
  let buckets = tokenBuckets();
  let stats: FaultStats = { requests: 0, faults: 0, byService: {}, log: [] };

  const count = (service: string, action: string, fault?: SeenRequest['fault']) => {
    stats.requests++;
    const s = (stats.byService[service] ??= { requests: 0, faults: {}, actions: {} });
    const a = (s.actions[action] ??= { requests: 0, faults: {} });
    s.requests++;
    a.requests++;
    if (fault) {
      stats.faults++;
      s.faults[fault] = (s.faults[fault] ?? 0) + 1;
      a.faults[fault] = (a.faults[fault] ?? 0) + 1;
    }
    stats.log.push({ at: Date.now(), service, action, ...(fault ? { fault } : {}) });
  };

  /** The fault for this request, if any: rate limits first, then the first rule whose draw hits. */
  const decide = (service: string, action: string, body: string): { kind: FaultKind | 'rate-limited'; rule?: FaultRule } | undefined => {
    for (const rule of rules) {
      if (rule.kind !== 'ec2-rate-limit' || service !== 'ec2') continue;
      const scale = rule.scale ?? 1;
      const bucket = ec2Bucket(action, body);
      if (!buckets.take(bucket.key, Math.max(1, bucket.capacity * scale), bucket.refill * scale)) return { kind: 'rate-limited' };
    }
    for (const rule of rules) {
      if (rule.kind === 'ec2-rate-limit' || !matches(rule, service, action)) continue;
      if (rule.limit !== undefined && (injected.get(rule) ?? 0) >= rule.limit) continue;
      // One draw per matching rule keeps the sequence reproducible whatever the outcome.
      if (random() < rule.rate) {
        injected.set(rule, (injected.get(rule) ?? 0) + 1);
        return { kind: rule.kind, rule };
      }
    }
    return undefined;
  };

  const sockets = new Set<Socket>();
  const send = (res: ServerResponse, answer: { status: number; headers: Record<string, string>; body: string }) => {
    res.writeHead(answer.status, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)) });
    res.end(answer.body);
  };

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const upstream = httpRequest(
        { host: target.hostname, port: target.port || 80, method: req.method, path: req.url, headers: { ...req.headers, 'content-length': String(body.length) } },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      upstream.on('error', reject);
      upstream.end(body);
    });

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const { service, action } = identify(req, body.toString('utf8'));
      const fault = decide(service, action, body.toString('utf8'));
      count(service, action, fault?.kind);
      try {
        switch (fault?.kind) {
          case 'drop-before':
            // The emulator never sees it: the client's socket is cut before any answer.
            req.socket.destroy();
            return;
          case 'throttle':
          case 'rate-limited': {
            const t = throttlingError(service, action);
            return send(res, errorResponse(service, t.code, t.status, t.message));
          }
          case 'http500':
            return send(res, errorResponse(service, 'InternalError', 500, 'We encountered an internal error. Please try again.'));
          case 'http503':
            return send(res, errorResponse(service, 'ServiceUnavailable', 503, 'Service is unavailable. Please try again.'));
          case 'delay':
            await new Promise((r) => setTimeout(r, fault.rule?.delayMs ?? 1000));
            break;
        }
        const answer = await forward(req, body);
        if (fault?.kind === 'drop-after') {
          // The emulator did it; the client never learns (the response is lost).
          req.socket.destroy();
          return;
        }
        const headers = { ...answer.headers };
        delete headers['transfer-encoding'];
        res.writeHead(answer.status, { ...headers, 'content-length': String(answer.body.length) });
        res.end(answer.body);
      } catch (error) {
        if (!res.headersSent) send(res, { status: 502, headers: { 'content-type': 'text/plain' }, body: `fault proxy: ${(error as Error).message}` });
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    setRules(next) {
      rules = next;
      injected.clear();
      buckets = tokenBuckets();
    },
    stats: () => structuredClone(stats),
    resetStats() {
      stats = { requests: 0, faults: 0, byService: {}, log: [] };
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
