/**
 * Cloud Custodian (c7n) as the benchmark's peer: the policy a security team would write to
 * contain one compromised Auto Scaling group member with c7n's own actions, a `custodian run`
 * of it against an endpoint (the emulator), and what c7n says about its own run.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

const ROOT = new URL('../..', import.meta.url).pathname;
/** The venv scripts/custodian.sh installs c7n into. */
export const CUSTODIAN_VENV = join(ROOT, '.venv-bench');

/** What the policy acts on: one instance, named by the finding. */
export interface CustodianTarget {
  instanceId: string;
  /** A security group with no rules, in the instance's VPC, made beforehand (c7n does not create one). */
  isolationGroupId: string;
  findingId: string;
  findingType: string;
}

/** c7n's name for the policy (its output folder too). */
export const CUSTODIAN_POLICY_NAME = 'isolate-compromised-instance';

/**
 * The policy: find the instance by id (server-side `query`, not a scan of the account), put only
 * the isolation group on each of its ENIs, snapshot its volumes, and tag it. c7n 0.9.53 has no
 * action that detaches an instance from its Auto Scaling group, deregisters it from a target
 * group, enables termination protection or keeps its volumes on termination (docs/decisions.md,
 * "Cloud Custodian as the peer").
 *
 * @example
 * ```ts
 * const policy = custodianIsolationPolicy({ instanceId: 'i-0abc', isolationGroupId: 'sg-0iso', findingId: 'f1', findingType: 'Backdoor:EC2/C&CActivity.B' });
 * writeFileSync('policy.yml', stringify(policy));
 * ```
 */
export function custodianIsolationPolicy(target: CustodianTarget) {
  const incidentTags = { 'incident:finding-id': target.findingId, 'incident:finding-type': target.findingType };
  return {
    policies: [
      {
        name: CUSTODIAN_POLICY_NAME,
        resource: 'ec2',
        description: `GuardDuty ${target.findingType} on ${target.instanceId}: isolate, snapshot, tag`,
        query: [{ 'instance-id': target.instanceId }],
        actions: [
          { type: 'modify-security-groups', remove: 'all', 'isolation-group': target.isolationGroupId },
          { type: 'snapshot', 'copy-tags': ['Name'], tags: incidentTags },
          { type: 'tag', tags: { ...incidentTags, 'incident:status': 'isolated' } },
        ],
      },
    ],
  };
}

/** One action c7n reports in its run log: when it finished and how long it took. */
export interface CustodianActionLog {
  action: string;
  resources: number;
  /** Epoch ms of the log line (the action's end). */
  at: number;
  seconds: number;
}

export interface CustodianRunLog {
  /** Epoch ms c7n started the policy (its "Running policy" line), when logged. */
  policyStartedAt?: number;
  /** Resources the policy matched and how long c7n took to find them. */
  resources?: { count: number; at: number; seconds: number };
  actions: CustodianActionLog[];
}

// Python's logging asctime: local time, milliseconds after a comma.
const LINE = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) - \S+ - \w+ - (.*)$/;

/**
 * Reads c7n's `custodian-run.log` (its output folder's log of one policy run).
 *
 * @example
 * ```ts
 * parseCustodianRunLog('2026-11-26 08:09:48,465 - custodian.policy - INFO - policy:p action:tag resources:1 execution_time:0.02')
 * // { actions: [{ action: 'tag', resources: 1, at: <08:09:48.465 local>, seconds: 0.02 }] }
 * ```
 */
export function parseCustodianRunLog(text: string): CustodianRunLog {
  const out: CustodianRunLog = { actions: [] };
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const [, y, mo, d, h, mi, s, ms, message] = m;
    const at = new Date(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, +ms!).getTime();
    const action = /\baction:(\S+) resources:(\d+) execution_time:([\d.]+)/.exec(message!);
    if (action) {
      out.actions.push({ action: action[1]!, resources: +action[2]!, at, seconds: +action[3]! });
      continue;
    }
    const found = /\bcount:(\d+) time:([\d.]+)/.exec(message!);
    if (found && !out.resources) out.resources = { count: +found[1]!, at, seconds: +found[2]! };
    else if (/^Running policy:/.test(message!) && out.policyStartedAt === undefined) out.policyStartedAt = at;
  }
  return out;
}

/** What c7n writes in metadata.json about one run, the parts the benchmark reads. */
export interface CustodianMetadata {
  version: string;
  execution: { start: number; end_time: number; duration: number };
  'api-stats': Record<string, number>;
}

export interface CustodianRun {
  exitCode: number | null;
  /** Epoch ms just before the process was spawned. */
  spawnedAt: number;
  /** Process start → exit, ms (interpreter start and c7n's imports included). */
  wallMs: number;
  log: CustodianRunLog;
  /** Absent when c7n exited before running the policy. */
  metadata?: CustodianMetadata;
  stderr: string;
  outputDir: string;
}

/** Installs c7n into {@link CUSTODIAN_VENV} when it is missing (scripts/custodian.sh). */
export async function ensureCustodian(): Promise<string> {
  // Its progress ("installing c7n==…", about half a minute) goes to the terminal.
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(join(ROOT, 'scripts/custodian.sh'), ['ensure-venv'], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.on('error', reject);
    child.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`scripts/custodian.sh ensure-venv exited ${code}`);
  const { stdout } = await promisify(execFile)(join(ROOT, 'scripts/custodian.sh'), ['version']);
  return stdout.trim();
}

/** The environment c7n runs in: boto3 honours AWS_ENDPOINT_URL for every service, and static test keys. */
export function custodianEnv(endpoint: string, region: string, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  for (const key of Object.keys(env)) if (/^AWS_/.test(key)) delete env[key];
  return {
    ...env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: region,
    // No shared config or credentials file of the machine's may redirect or sign differently.
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/**
 * `custodian run` of one policy file against `endpoint`, timed from process start to exit.
 * The cache is off (`--cache-period 0`): every run describes the instance afresh.
 */
export async function runCustodian(opts: { endpoint: string; region: string; policy: object; outputDir: string }): Promise<CustodianRun> {
  const { endpoint, region, policy, outputDir } = opts;
  if (existsSync(outputDir)) rmSync(outputDir, { recursive: true, force: true });
  mkdirSync(outputDir, { recursive: true });
  const policyFile = join(outputDir, 'policy.yml');
  writeFileSync(policyFile, stringify(policy));
  const args = ['run', '--cache-period', '0', '--region', region, '--output-dir', join(outputDir, 'out'), policyFile];
  let stderr = '';
  const spawnedAt = Date.now();
  const started = performance.now();
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(join(CUSTODIAN_VENV, 'bin/custodian'), args, { env: custodianEnv(endpoint, region), stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve(code));
  });
  const wallMs = Math.round(performance.now() - started);
  writeFileSync(join(outputDir, 'stderr.log'), stderr);
  const runDir = join(outputDir, 'out', CUSTODIAN_POLICY_NAME);
  const read = (name: string) => (existsSync(join(runDir, name)) ? readFileSync(join(runDir, name), 'utf8') : undefined);
  const metadata = read('metadata.json');
  return {
    exitCode,
    spawnedAt,
    wallMs,
    log: parseCustodianRunLog(read('custodian-run.log') ?? ''),
    ...(metadata ? { metadata: JSON.parse(metadata) as CustodianMetadata } : {}),
    stderr,
    outputDir,
  };
}
