// The cold start on the path to isolation: how long a fresh process of the EC2 function takes,
// from its start, to send its isolation request, and how much memory it holds by then, as ratios
// to a bare Node start of the same binary in the same run.
//
// What is measured (docs/decisions.md, "Cold start off the critical path"), each in a fresh process
// of the Node binary running the benchmark (node_modules/.bin/node), N runs (BENCH_COLD_RUNS,
// default 10), medians compared:
// - bare Node: `node -e` sending one IPC message (its peak RSS); the time is from spawn to that
//   message (the moment a process can run code).
// - cold function: `node -e` importing the deployed dist/ec2-instance.zip, unpacked as Lambda
//   unpacks it, and invoking its handler with one SQS record holding a GuardDuty finding
//   (test/fixtures/guardduty ec2-c-cactivity-b retargeted to a fresh instance of the web-app
//   scenario), with the function's deployed environment and its role's credentials. Every AWS call
//   goes through a timing proxy in front of the emulator. The time is from spawn to the moment the
//   proxy receives the first ModifyNetworkInterfaceAttribute (the isolation step's first change of
//   the instance's network; its group look-ups and creation come before it), minus the time during
//   which at least one earlier request was waiting on the emulator (the union of the intervals from
//   a request's arrival at the proxy to its answer leaving the proxy): what remains is the
//   process's own start, import and work (CPU and loading), not the emulator's. The process's peak
//   RSS (process.resourceUsage().maxRSS) is read at that moment — the proxy holds the request until
//   the process has answered — and again when the handler returns (the whole delivery: evidence
//   steps included), which is what `lambda_memory_mb` is chosen from.
// - bundle sizes: the entry and the chunks the process had resolved before its isolation request
//   (a traced extra run, its timing unused), against the whole bundle.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LambdaClient, paginateListFunctions, type FunctionConfiguration } from '@aws-sdk/client-lambda';
import { serviceRoleCredentials, unpackBundle, unzipEntries } from '../lib/drain.ts';
import { loadFixture, retargetInstanceFinding } from '../lib/findings.ts';
import { root } from '../lib/local.ts';
import { buildWebAppScenario } from '../lib/scenario.ts';
import type { BenchSection } from './context.ts';

const runs = Number(process.env.BENCH_COLD_RUNS ?? 10);
const profileDir = process.env.BENCH_COLD_PROFILE;
/** The targets of issue 16, as ratios to bare Node. */
const TARGET_TIME = 6;
const TARGET_MEMORY = 2.5;
const ISOLATION_ACTION = 'ModifyNetworkInterfaceAttribute';

const BARE = `process.send({ maxRSS: process.resourceUsage().maxRSS }, () => process.exit(0));`;

// Runs in the fresh process: the bundle's import, then one invocation, as Lambda's runtime does.
const PROBE = `
const rss = () => process.resourceUsage().maxRSS;
process.on('message', (m) => {
  if (m === 'rss') process.send({ phase: 'isolating', maxRSS: rss() });
  if (m === 'stop') process.exit(0);
});
const started = performance.now();
const { handler } = await import(process.env.BENCH_BUNDLE_URL);
const imported = performance.now();
process.send({ phase: 'imported', importMs: imported - started, maxRSS: rss() });
const context = { functionName: process.env.AWS_LAMBDA_FUNCTION_NAME, functionVersion: '$LATEST', invokedFunctionArn: process.env.BENCH_FUNCTION_ARN,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, awsRequestId: crypto.randomUUID(), logGroupName: 'bench', logStreamName: 'bench',
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 60000, done() {}, fail() {}, succeed() {} };
let result, error;
try { result = await handler(JSON.parse(process.env.BENCH_EVENT), context); } catch (e) { error = String(e && e.stack || e); }
process.send({ phase: 'done', maxRSS: rss(), result, error }, () => process.exit(0));
`;

// The import before isolation, alone: the entry and every chunk the cold function had loaded before
// its isolation request, imported in the order it loaded them, with no invocation.
const IMPORT_PROBE = `
const started = performance.now();
for (const url of JSON.parse(process.env.BENCH_IMPORTS)) await import(url);
process.send({ phase: 'imported', importMs: performance.now() - started, maxRSS: process.resourceUsage().maxRSS }, () => process.exit(0));
`;

// The traced run: every module the process resolves, with the time (same clock as the proxy's).
const TRACE_HOOK = (log: string) =>
  `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const out = await next(specifier, context);
  if (out.url.startsWith('file:')) appendFileSync(${JSON.stringify(log)}, Date.now() + ' ' + out.url + '\\n');
  return out;
}`,
  )}));`;

interface ProbeMessage {
  phase?: 'imported' | 'isolating' | 'done';
  maxRSS: number;
  importMs?: number;
  result?: { batchItemFailures?: unknown[] };
  error?: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const mib = (kib: number) => kib / 1024;
const fmt = (x: number, digits = 0) => x.toFixed(digits);

/** Total length of the union of [start, end] intervals, each clipped to end by `until`. */
export function unionLength(intervals: Array<[number, number]>, until: number): number {
  const clipped = intervals.map(([a, b]) => [a, Math.min(b, until)] as [number, number]).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let current: [number, number] | undefined;
  for (const [a, b] of clipped) {
    if (!current || a > current[1]) {
      if (current) total += current[1] - current[0];
      current = [a, b];
    } else current[1] = Math.max(current[1], b);
  }
  return total + (current ? current[1] - current[0] : 0);
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self time of a V8 CPU profile by where the code lives (a file of the bundle, Node's own, GC, idle), and its top functions. */
export function summariseProfile(profile: CpuProfile, bundleUrl: string, top = 12): string[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const where = (url: string, fn: string) =>
    url.startsWith(bundleUrl) ? url.slice(bundleUrl.length + 1) : url.startsWith('node:') ? 'node internals' : url ? url.replace(/^.*\//, '') : `(${fn || 'native'})`;
  const byFile = new Map<string, number>();
  const byFn = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, n) => {
    const node = byId.get(id)!;
    const us = profile.timeDeltas[n] ?? 0;
    total += us;
    const { url, functionName, lineNumber } = node.callFrame;
    const file = where(url, functionName);
    byFile.set(file, (byFile.get(file) ?? 0) + us);
    const fn = `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
    byFn.set(fn, (byFn.get(fn) ?? 0) + us);
  });
  const ms = (us: number) => `${(us / 1000).toFixed(1)} ms`;
  const ranked = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return [
    `sampled ${ms(total)} from the process's start to the isolation request; self time by file:`,
    ...ranked(byFile).map(([k, v]) => `  ${ms(v).padStart(9)}  ${k}`),
    'top functions (self time):',
    ...ranked(byFn).map(([k, v]) => `  ${ms(v).padStart(9)}  ${k}`),
  ];
}

function spawnNode(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
}

async function bareRun(): Promise<{ ms: number; maxRSS: number }> {
  const t0 = performance.now();
  const child = spawnNode(['-e', BARE], { PATH: process.env.PATH ?? '' });
  const msg = await new Promise<ProbeMessage>((resolve, reject) => {
    child.once('message', (m) => resolve(m as ProbeMessage));
    child.once('error', reject);
  });
  const ms = performance.now() - t0;
  await new Promise((r) => child.once('exit', r));
  return { ms, maxRSS: msg.maxRSS };
}

/** A proxy in front of the emulator that times every request and stops the clock at the isolation request. */
function timingProxy(target: URL) {
  const intervals: Array<[number, number]> = [];
  let isolationAt: number | undefined;
  let onIsolation: (() => Promise<void>) | undefined;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const arrived = performance.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (isolationAt === undefined && body.includes(`Action=${ISOLATION_ACTION}`)) {
        isolationAt = arrived;
        await onIsolation?.();
      }
      const upstream = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        answer.on('end', () => intervals.push([arrived, performance.now()]));
      });
      upstream.on('error', (e) => {
        res.writeHead(502);
        res.end(String(e));
      });
      upstream.end(body);
    });
  });
  return {
    listen: () => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`))),
    reset(hook: () => Promise<void>) {
      intervals.length = 0;
      isolationAt = undefined;
      onIsolation = hook;
    },
    isolationAt: () => isolationAt,
    waitedBefore: (until: number) => unionLength(intervals, until),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function ec2ContainmentFunction(lambda: LambdaClient): Promise<FunctionConfiguration> {
  for await (const page of paginateListFunctions({ client: lambda }, {})) {
    const fn = page.Functions?.find((f) => f.Environment?.Variables?.FIREBREAK_PLAYBOOK === 'ec2-instance' && f.Environment.Variables.FIREBREAK_FUNCTION_ROLE !== 'release');
    if (fn) return fn;
  }
  throw new Error('no deployed ec2-instance containment function');
}

/** The files of the unpacked bundle, with their sizes. */
function bundleFiles(dir: string, entries: string[]): Map<string, number> {
  return new Map(entries.map((name) => [name, statSync(join(dir, name)).size]));
}

export const section: BenchSection = {
  title: `Cold start of the EC2 function to its isolation request (${runs} fresh processes each, medians, ratios to bare Node)`,
  async run({ endpoint, region, world, outputs, print }) {
    await outputs();
    const accountId = await world.accountId();
    const lambda = new LambdaClient({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const fn = await ec2ContainmentFunction(lambda);
    const zip = readFileSync(join(root, 'dist', 'ec2-instance.zip'));
    const dir = mkdtempSync(join(tmpdir(), 'firebreak-cold-'));
    const proxy = timingProxy(new URL(endpoint));
    try {
      const bundleDir = join(dir, 'bundle');
      const entry = await unpackBundle(zip, bundleDir);
      const files = bundleFiles(bundleDir, unzipEntries(zip).map((e) => e.name));
      const proxyUrl = await proxy.listen();
      const role = await serviceRoleCredentials(endpoint, fn.Role!, fn.FunctionName!);
      const { FIREBREAK_QUEUE_URL: _noFollowUps, ...deployed } = fn.Environment?.Variables ?? {};
      const baseEnv = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        TZ: 'UTC',
        AWS_ENDPOINT_URL: proxyUrl,
        AWS_ACCESS_KEY_ID: role.accessKeyId,
        AWS_SECRET_ACCESS_KEY: role.secretAccessKey,
        AWS_SESSION_TOKEN: role.sessionToken,
        AWS_REGION: region,
        AWS_DEFAULT_REGION: region,
        AWS_LAMBDA_FUNCTION_NAME: fn.FunctionName!,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.MemorySize ?? 512),
        BENCH_FUNCTION_ARN: fn.FunctionArn!,
        BENCH_BUNDLE_URL: pathToFileURL(entry).href,
        // Every run is a new incident: the benchmark's own runs must not fill the blast radius.
        ...deployed,
        FIREBREAK_BLAST_RADIUS_LIMIT: '100000',
        // Logs are not measured (Lambda ships them asynchronously); the function still writes them.
        POWERTOOLS_LOG_LEVEL: 'WARN',
      };

      const coldRun = async (extraArgs: string[] = [], stopAtIsolation = false) => {
        const scenario = await buildWebAppScenario({ ec2: world.ec2, autoscaling: world.autoscaling, elbv2: world.elbv2, elb: world.elb }, { secondEni: true });
        const event = retargetInstanceFinding(loadFixture('ec2-c-cactivity-b'), { accountId, region, instanceId: scenario.victim.instanceId, vpcId: scenario.vpcId });
        const sqsEvent = {
          Records: [
            {
              messageId: randomUUID(),
              receiptHandle: 'bench',
              body: JSON.stringify(event),
              attributes: {},
              messageAttributes: {},
              md5OfBody: '',
              eventSource: 'aws:sqs',
              eventSourceARN: `arn:aws:sqs:${region}:${accountId}:bench`,
              awsRegion: region,
            },
          ],
        };
        const t0 = performance.now();
        const child = spawnNode([...extraArgs, '--input-type=module', '-e', PROBE], { ...baseEnv, BENCH_EVENT: JSON.stringify(sqsEvent) });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const messages: ProbeMessage[] = [];
        const waiters: Array<(m: ProbeMessage) => void> = [];
        child.on('message', (m) => {
          messages.push(m as ProbeMessage);
          waiters.splice(0).forEach((w) => w(m as ProbeMessage));
        });
        const next = (phase: ProbeMessage['phase']) =>
          new Promise<ProbeMessage>((resolve, reject) => {
            const found = messages.find((m) => m.phase === phase);
            if (found) return resolve(found);
            const wait = (m: ProbeMessage) => (m.phase === phase ? resolve(m) : waiters.push(wait));
            waiters.push(wait);
            child.once('exit', (code) => setTimeout(() => reject(new Error(`the function's process exited (${code}) before ${phase}: ${stderr.slice(-2000)}`)), 50));
          });
        proxy.reset(async () => {
          child.send('rss');
          await next('isolating');
          if (stopAtIsolation) child.send('stop');
        });
        const imported = await next('imported');
        if (stopAtIsolation) {
          await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
          return undefined;
        }
        const done = await next('done');
        await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
        const isolationAt = proxy.isolationAt();
        if (done.error || isolationAt === undefined) throw new Error(`cold run did not isolate: ${done.error ?? JSON.stringify(done.result)} ${stderr.slice(-2000)}`);
        const isolating = messages.find((m) => m.phase === 'isolating')!;
        const wall = isolationAt - t0;
        const waited = proxy.waitedBefore(isolationAt);
        return { wall, waited, own: wall - waited, importMs: imported.importMs!, rssAtIsolation: isolating.maxRSS, rssPeak: done.maxRSS, isolationEpoch: performance.timeOrigin + isolationAt };
      };

      const measuredRun = async (extraArgs: string[] = []) => (await coldRun(extraArgs))!;
      // Warm the file cache and the emulator's code paths once (not counted), then alternate.
      await bareRun();
      await coldRun();
      const bare: Array<{ ms: number; maxRSS: number }> = [];
      const cold: Array<Awaited<ReturnType<typeof measuredRun>>> = [];
      for (let n = 0; n < runs; n++) {
        bare.push(await bareRun());
        cold.push(await measuredRun());
      }

      // Which files the process resolved before its isolation request (one traced run).
      const traceLog = join(dir, 'trace.log');
      const hook = join(dir, 'trace-hook.mjs');
      writeFileSync(hook, TRACE_HOOK(traceLog));
      const traced = await measuredRun(['--import', pathToFileURL(hook).href]);
      const resolved = existsSync(traceLog)
        ? readFileSync(traceLog, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => ({ at: Number(l.slice(0, l.indexOf(' '))), url: l.slice(l.indexOf(' ') + 1) }))
        : [];
      const loadedBefore = new Set(
        resolved
          .filter((r) => r.at <= traced.isolationEpoch && r.url.startsWith(pathToFileURL(bundleDir).href))
          .map((r) => relative(bundleDir, new URL(r.url).pathname)),
      );
      // The issue's measure: the import (static and dynamic) the cold function does before its first
      // isolation call, alone, in fresh processes alternating with bare Node again.
      const importOrder = [...new Set(resolved.filter((r) => r.at <= traced.isolationEpoch && r.url.startsWith(pathToFileURL(bundleDir).href)).map((r) => r.url))];
      const importRuns: number[] = [];
      const bareAgain: number[] = [];
      for (let n = 0; n < runs; n++) {
        bareAgain.push((await bareRun()).ms);
        const child = spawnNode(['--input-type=module', '-e', IMPORT_PROBE], { ...baseEnv, BENCH_IMPORTS: JSON.stringify(importOrder) });
        let stderr = '';
        child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
        const msg = await new Promise<ProbeMessage>((resolve, reject) => {
          child.once('message', (m) => resolve(m as ProbeMessage));
          child.once('exit', (code) => setTimeout(() => reject(new Error(`the import probe exited (${code}): ${stderr.slice(-2000)}`)), 50));
        });
        await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(undefined)));
        importRuns.push(msg.importMs!);
      }
      const total = [...files.values()].reduce((a, b) => a + b, 0);
      const before = [...files].filter(([name]) => loadedBefore.has(name)).reduce((a, [, size]) => a + size, 0);

      const bareMs = median(bare.map((b) => b.ms));
      const bareRss = median(bare.map((b) => b.maxRSS));
      const own = median(cold.map((c) => c.own));
      const rssIso = median(cold.map((c) => c.rssAtIsolation));
      const rssPeak = Math.max(...cold.map((c) => c.rssPeak));
      const importMs = median(importRuns);
      const bareImportMs = median(bareAgain);
      print(`  bare Node (spawn → first line ran):                   ${fmt(bareMs, 1)} ms, peak RSS ${fmt(mib(bareRss))} MiB`);
      print(`  import before isolation (entry + the ${importOrder.length - 1} chunks loaded before the isolation call, alone): ${fmt(importMs)} ms = ${fmt(importMs / bareImportMs, 1)}× bare Node (${fmt(bareImportMs, 1)} ms in the same runs; target ≤ ${TARGET_TIME}×)`);
      print(`  cold EC2 function, spawn → isolation request:         ${fmt(median(cold.map((c) => c.wall)))} ms wall, of which ${fmt(median(cold.map((c) => c.waited)))} ms waiting on the emulator`);
      print(`    own time (start + import + work, emulator excluded): ${fmt(own)} ms = ${fmt(own / bareMs, 1)}× bare Node (stricter: the handler's own work too)`);
      print(`    of which the entry's static import:                  ${fmt(median(cold.map((c) => c.importMs)))} ms`);
      print(`    peak RSS at the isolation request:                   ${fmt(mib(rssIso))} MiB = ${fmt(rssIso / bareRss, 2)}× bare Node (target ≤ ${TARGET_MEMORY}×)`);
      print(`    peak RSS of the whole delivery (max of ${runs}):          ${fmt(mib(rssPeak))} MiB`);
      print(`  bundle: ${files.size} file(s), ${fmt(total / 1024)} KiB; loaded before isolation: ${loadedBefore.size} file(s), ${fmt(before / 1024)} KiB (${fmt((100 * before) / total)} %); zip ${fmt(zip.length / 1024)} KiB`);

      // BENCH_COLD_PROFILE=dir: one more run, stopped at its isolation request, with a V8 CPU profile
      // of everything before it (where the own time goes), summarised by file of the bundle.
      if (profileDir) {
        mkdirSync(profileDir, { recursive: true });
        const before = new Set(readdirSync(profileDir));
        await coldRun(['--cpu-prof', '--cpu-prof-dir', profileDir, '--cpu-prof-interval', '250'], true);
        const written = readdirSync(profileDir).filter((f) => !before.has(f) && f.endsWith('.cpuprofile'));
        for (const name of written) {
          print(`  CPU profile to the isolation request: ${join(profileDir, name)}`);
          for (const line of summariseProfile(JSON.parse(readFileSync(join(profileDir, name), 'utf8')), pathToFileURL(bundleDir).href)) print(`    ${line}`);
        }
      }
    } finally {
      await proxy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
