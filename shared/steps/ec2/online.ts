import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  SendCommandCommand,
  type GetCommandInvocationCommandOutput,
  type SendCommandCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { constants as zlib, gunzipSync } from 'node:zlib';
import type { StepContext, StepDefinition, StepResult } from '../../engine/index.ts';
import { hasErrorCode, StepFailedError } from '../../errors/index.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { replaceInstanceProfile, revokeInstanceRoleSessions } from './credentials.ts';
import type { Ec2Instance } from './describe.ts';
import { isolateNetworkInterfaces, type IsolationEgress } from './isolation.ts';

const SSM_IAM_ACTIONS = ['ssm:DescribeInstanceInformation', 'ssm:SendCommand', 'ssm:GetCommandInvocation'] as const;

/** Run Command returns at most this many characters of a command's stdout. */
export const RUN_COMMAND_STDOUT_LIMIT = 24_000;
const BEGIN = 'FIREBREAK-BEGIN';
const END = 'FIREBREAK-END';
const LOOK_AGAIN_SECONDS = 60;
/** How long SSM may wait for the agent to pick the command up (an isolated agent reconnects through the endpoints; revoked role sessions keep it out until its credentials rotate). */
const DELIVERY_TIMEOUT_SECONDS = 3600;
const IN_PROGRESS = new Set(['Pending', 'InProgress', 'Delayed', 'Cancelling']);

/**
 * Collects volatile state read-only, under section headers. The whole collection is
 * gzip+base64 between markers so that it fits Run Command's 24,000-character stdout.
 * A constant: nothing from a finding (or the instance's tags) is ever put in a script.
 */
export const LINUX_VOLATILE_SCRIPT: readonly string[] = [
  'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin; export PATH',
  'LC_ALL=C; export LC_ALL',
  "section() { printf '\\n===== %s =====\\n' \"$1\"; }",
  'have() { command -v "$1" >/dev/null 2>&1; }',
  'run() { if have "$1"; then "$@"; else echo "($1 not available)"; fi; }',
  '# Files modified or changed (ctime cannot be set back by touch) in the last 24 hours, under the given roots.',
  'recent() {',
  '  if find /dev/null -maxdepth 0 -printf "" >/dev/null 2>&1; then',
  "    find \"$@\" -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run \\) -prune -o -type f \\( -mmin -1440 -o -cmin -1440 \\) -printf '%TY-%Tm-%Td %TH:%TM:%.2TS %u %s %p\\n' 2>/dev/null",
  '  else',
  '    find "$@" -xdev \\( -path /proc -o -path /sys -o -path /dev -o -path /run \\) -prune -o -type f \\( -mmin -1440 -o -cmin -1440 \\) -print 2>/dev/null',
  '  fi',
  '}',
  '# Most telling first: Run Command keeps only the first 24,000 characters, so the file lists come last.',
  'collect() {',
  "  section 'date (UTC)'; date -u",
  "  section 'uptime'; run uptime",
  "  section 'uname -a'; run uname -a",
  "  section 'hostname'; run hostname",
  "  section 'processes (ps auxww)'; run ps auxww",
  "  section 'network connections'; if have ss; then ss -tupan; else run netstat -tupan; fi",
  "  section 'listening sockets'; if have ss; then ss -tulpn; else run netstat -tulpn; fi",
  "  section 'addresses (ip addr)'; run ip addr",
  "  section 'routes (ip route)'; run ip route",
  "  section 'logged-in users (who -a)'; run who -a",
  "  section 'logged-in users (w)'; run w",
  "  section 'last logins (last -n 50)'; run last -n 50",
  "  section 'open network files (lsof -i -n -P, first 1000 lines)'; if have lsof; then lsof -i -n -P | head -n 1000; else echo '(lsof not available)'; fi",
  "  section 'crontabs'",
  '  for f in /etc/crontab /etc/cron.d/* /var/spool/cron/* /var/spool/cron/crontabs/*; do',
  '    if [ -f "$f" ]; then echo "--- $f"; cat "$f"; fi',
  '  done',
  "  section 'kernel modules'; if have lsmod; then lsmod; else cat /proc/modules; fi",
  "  section 'files changed in the last 24 hours in /tmp /var/tmp /dev/shm /root /home /etc (first 500)'",
  '  recent /tmp /var/tmp /dev/shm /root /home /etc | head -n 500',
  "  section 'files changed in the last 24 hours on the root filesystem (first 2000)'",
  '  recent / | head -n 2000',
  '}',
  'if have gzip && have base64; then',
  `  echo '${BEGIN} gzip+base64'`,
  '  collect 2>&1 | gzip -9 -c | base64',
  'else',
  `  echo '${BEGIN} plain'`,
  '  collect 2>&1',
  'fi',
  `echo '${END}'`,
];

/** The PowerShell equivalent; gzip+base64 too (a Windows process list alone passes 24,000 characters). */
export const WINDOWS_VOLATILE_SCRIPT: readonly string[] = [
  "$ErrorActionPreference = 'Continue'",
  "$ProgressPreference = 'SilentlyContinue'",
  "function Section([string]$Name) { ''; \"===== $Name =====\" }",
  '$since = (Get-Date).AddDays(-1)',
  '$text = & {',
  "  Section 'date (UTC)'; (Get-Date).ToUniversalTime().ToString('o')",
  "  Section 'uptime and operating system'; Get-CimInstance Win32_OperatingSystem | Format-List CSName, Caption, Version, BuildNumber, LastBootUpTime, LocalDateTime",
  "  Section 'hostname'; hostname",
  "  Section 'processes'; Get-CimInstance Win32_Process | Sort-Object ProcessId | Format-Table ProcessId, ParentProcessId, Name, CreationDate, ExecutablePath, CommandLine -AutoSize -Wrap",
  "  Section 'network connections (TCP)'; Get-NetTCPConnection | Sort-Object State | Format-Table LocalAddress, LocalPort, RemoteAddress, RemotePort, State, OwningProcess, CreationTime -AutoSize",
  "  Section 'UDP endpoints'; Get-NetUDPEndpoint | Format-Table LocalAddress, LocalPort, OwningProcess, CreationTime -AutoSize",
  "  Section 'listening sockets'; Get-NetTCPConnection -State Listen | Format-Table LocalAddress, LocalPort, OwningProcess -AutoSize",
  "  Section 'addresses'; Get-NetIPAddress | Format-Table InterfaceAlias, AddressFamily, IPAddress, PrefixLength -AutoSize",
  "  Section 'routes'; Get-NetRoute | Format-Table DestinationPrefix, NextHop, InterfaceAlias, RouteMetric -AutoSize",
  "  Section 'logged-in users (quser)'; quser 2>&1",
  "  Section 'scheduled tasks'; Get-ScheduledTask | Format-Table TaskPath, TaskName, State -AutoSize",
  "  Section 'services'; Get-CimInstance Win32_Service | Format-Table Name, State, StartMode, PathName -AutoSize",
  "  Section 'running drivers'; Get-CimInstance Win32_SystemDriver | Where-Object { $_.State -eq 'Running' } | Format-Table Name, PathName -AutoSize",
  '  # Last: Run Command keeps only the first 24,000 characters.',
  "  Section 'files changed in the last 24 hours (system drive, first 2000)'",
  '  Get-ChildItem -Path "$env:SystemDrive\\" -Recurse -File -Force -ErrorAction SilentlyContinue | Where-Object { $_.LastWriteTime -gt $since -or $_.CreationTime -gt $since } | Select-Object -First 2000 | Format-Table LastWriteTime, CreationTime, Length, FullName -AutoSize',
  '} 2>&1 | Out-String -Width 4096',
  '$bytes = [Text.Encoding]::UTF8.GetBytes($text)',
  '$buffer = New-Object IO.MemoryStream',
  '$gzip = New-Object IO.Compression.GZipStream($buffer, [IO.Compression.CompressionMode]::Compress)',
  '$gzip.Write($bytes, 0, $bytes.Length)',
  '$gzip.Close()',
  `'${BEGIN} gzip+base64'`,
  '[Convert]::ToBase64String($buffer.ToArray())',
  `'${END}'`,
];

/** The text a capture script produced, recovered from Run Command's stdout. */
export interface DecodedOutput {
  text: string;
  /** `raw`: no markers, or an encoding that could not be read: the stdout as it came. */
  format: 'gzip+base64' | 'plain' | 'raw';
  /** The end marker never arrived: stdout was cut at Run Command's limit. */
  truncated: boolean;
}

/**
 * Recovers the collected text from a capture script's stdout: the part between the
 * markers, gunzipped when it says so. A truncated stream yields what it holds.
 *
 * @example
 * ```ts
 * decodeCaptureOutput('FIREBREAK-BEGIN plain\nhello\nFIREBREAK-END\n') // { text: 'hello\n', format: 'plain', truncated: false }
 * ```
 */
export function decodeCaptureOutput(stdout: string): DecodedOutput {
  const begin = stdout.indexOf(BEGIN);
  if (begin < 0) return { text: stdout, format: 'raw', truncated: stdout.length >= RUN_COMMAND_STDOUT_LIMIT };
  const lineEnd = stdout.indexOf('\n', begin);
  const header = stdout.slice(begin, lineEnd < 0 ? undefined : lineEnd).trim();
  const bodyStart = lineEnd < 0 ? stdout.length : lineEnd + 1;
  const end = stdout.indexOf(END, bodyStart);
  const body = stdout.slice(bodyStart, end < 0 ? undefined : end);
  const truncated = end < 0;
  if (!header.endsWith('gzip+base64')) return { text: body.replace(/\r\n/g, '\n'), format: 'plain', truncated };
  // Stop at the first character that is not base64 (a truncation notice, say), then decode
  // leniently: a gzip stream cut short still yields everything before the cut.
  const base64 = /^[A-Za-z0-9+/=\s]*/.exec(body)![0].replace(/\s/g, '');
  try {
    const text = gunzipSync(Buffer.from(base64, 'base64'), { finishFlush: zlib.Z_SYNC_FLUSH }).toString('utf8');
    return { text, format: 'gzip+base64', truncated };
  } catch {
    return { text: stdout, format: 'raw', truncated };
  }
}

/** The command a step is waiting on, recorded in its pending outcome. */
interface SentCommand {
  commandId: string;
  sentAt: string;
  platform: string;
}

/** One online-capture step: what it needs configured, what it runs, and what it keeps. */
interface OnlineCapture {
  step: string;
  what: string;
  /** Why the step is not configured to run, if it is not. */
  notConfigured(ctx: StepContext<Ec2Instance>): string | undefined;
  /** The command to send, or why it cannot run on this platform. */
  command(ctx: StepContext<Ec2Instance>, platform: string): Omit<SendCommandCommandInput, 'InstanceIds' | 'Comment' | 'TimeoutSeconds'> | string;
  succeeded(ctx: StepContext<Ec2Instance>, invocation: GetCommandInvocationCommandOutput, sent: SentCommand): Promise<StepResult>;
}

/** Why the isolation step left the SSM agent no way out, if it did. */
function isolationBlocksSsm(ctx: StepContext<Ec2Instance>): string | undefined {
  const isolation = ctx.outcomes[isolateNetworkInterfaces.name];
  if (isolation?.status !== 'done') return undefined;
  const egress = isolation.data?.egress as IsolationEgress | undefined;
  if (egress && egress.allowed.length > 0) return undefined;
  return egress?.reason ?? `the isolation group of ${ctx.resource.vpcId} allows no egress`;
}

/** Containment that takes the agent's credentials away too, if it ran: the likely reason it is gone. */
function credentialsCut(ctx: StepContext<Ec2Instance>): string {
  const ran = [revokeInstanceRoleSessions.name, replaceInstanceProfile.name].filter((name) => ctx.outcomes[name]?.status === 'done');
  if (ran.length === 0) return '';
  return ` (${ran.join(' and ')} also cut the agent's role credentials: give the isolation profile AmazonSSMManagedInstanceCore, or enable Default Host Management Configuration)`;
}

/** The agent's platform when SSM manages the instance and its agent is online; otherwise why not. */
async function onlineAgent(ssm: SSMClient, instanceId: string): Promise<{ platform: string } | { why: string }> {
  const out = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }));
  const info = out.InstanceInformationList?.find((i) => i.InstanceId === instanceId);
  if (!info) return { why: `${instanceId} is not managed by SSM (no agent registered, or its instance profile lacks the SSM permissions)` };
  if (info.PingStatus !== 'Online') {
    const seen = info.LastPingDateTime ? `; last ping ${new Date(info.LastPingDateTime).toISOString()}` : '';
    return { why: `the SSM agent on ${instanceId} is ${info.PingStatus ?? 'in an unknown state'}${seen}` };
  }
  return { platform: info.PlatformType ?? 'Linux' };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls the invocation about once a second for up to `waitSeconds` (at least once),
 * until it finishes. Undefined: SSM does not show it yet (normal right after sending).
 */
async function waitForInvocation(ssm: SSMClient, commandId: string, instanceId: string, waitSeconds: number): Promise<GetCommandInvocationCommandOutput | undefined> {
  let last: GetCommandInvocationCommandOutput | undefined;
  for (let attempt = 0; attempt <= waitSeconds; attempt++) {
    if (attempt > 0) await sleep(1000);
    try {
      last = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
    } catch (error) {
      if (!hasErrorCode(error, 'InvocationDoesNotExist')) throw error;
      continue;
    }
    if (!IN_PROGRESS.has(last.Status ?? '')) return last;
  }
  return last;
}

function previousCommand(ctx: StepContext<Ec2Instance>): SentCommand | undefined {
  const data = ctx.previous?.status === 'pending' ? ctx.previous.data : undefined;
  if (typeof data?.commandId !== 'string') return undefined;
  return { commandId: data.commandId, sentAt: String(data.sentAt ?? ''), platform: String(data.platform ?? 'Linux') };
}

/**
 * Gates, sends (once: a later delivery polls the command recorded in the pending
 * outcome) and tracks one Run Command to its end.
 */
async function runOnlineCapture(capture: OnlineCapture, ctx: StepContext<Ec2Instance>): Promise<StepResult> {
  const { resource, incident, clients, config } = ctx;
  const notConfigured = capture.notConfigured(ctx);
  if (notConfigured) return { status: 'skipped', summary: `${capture.what} capture is not configured (${notConfigured})` };

  let sent = previousCommand(ctx);
  if (!sent) {
    const blocked = isolationBlocksSsm(ctx);
    if (blocked) return { status: 'skipped', summary: `capture was not possible: isolation leaves the SSM agent no route (${blocked})`, data: { reason: blocked } };
    const agent = await onlineAgent(clients.ssm, resource.instanceId);
    if ('why' in agent) {
      const why = `${agent.why}${credentialsCut(ctx)}`;
      return { status: 'skipped', summary: `capture was not possible: ${why}`, data: { reason: why } };
    }
    const command = capture.command(ctx, agent.platform);
    if (typeof command === 'string') return { status: 'skipped', summary: `capture was not possible: ${command}`, data: { reason: command, platform: agent.platform } };
    const out = await clients.ssm.send(
      new SendCommandCommand({
        ...command,
        InstanceIds: [resource.instanceId],
        Comment: `Firebreak ${incident.incidentId}: ${capture.what}`.slice(0, 100),
        TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
      }),
    );
    const commandId = out.Command?.CommandId;
    if (!commandId) throw new StepFailedError(capture.step, 'NoCommandId', 'SendCommand returned no command id', true);
    sent = { commandId, sentAt: ctx.now().toISOString(), platform: agent.platform };
  }

  const invocation = await waitForInvocation(clients.ssm, sent.commandId, resource.instanceId, config.ec2.onlineCapture.waitSeconds);
  const status = invocation?.Status ?? 'not yet visible';
  if (invocation?.Status === 'Success') return capture.succeeded(ctx, invocation, sent);
  if (!invocation || IN_PROGRESS.has(status)) {
    return {
      status: 'pending',
      retryAfterSeconds: LOOK_AGAIN_SECONDS,
      summary: `Run Command ${sent.commandId} (${capture.what}) on ${resource.instanceId} is ${status}; looking again in ${LOOK_AGAIN_SECONDS}s`,
      data: { ...sent },
    };
  }
  const stderr = (invocation.StandardErrorContent ?? '').trim().slice(0, 500);
  throw new StepFailedError(
    capture.step,
    `Command${status}`,
    `Run Command ${sent.commandId} on ${resource.instanceId} ended ${status}${invocation.StatusDetails && invocation.StatusDetails !== status ? ` (${invocation.StatusDetails})` : ''}` +
      `${invocation.ResponseCode !== undefined && invocation.ResponseCode >= 0 ? `, exit code ${invocation.ResponseCode}` : ''}${stderr ? `; stderr: ${stderr}` : ''}`,
    false,
  );
}

const onlineCaptureDisabled = (ctx: StepContext<Ec2Instance>) => (ctx.config.ec2.onlineCapture.enabled ? undefined : 'ec2.onlineCapture.enabled is false');

const volatileData: OnlineCapture = {
  step: 'captureVolatileData',
  what: 'volatile data',
  notConfigured: onlineCaptureDisabled,
  command: (_ctx, platform) =>
    platform === 'Windows'
      ? { DocumentName: 'AWS-RunPowerShellScript', Parameters: { commands: [...WINDOWS_VOLATILE_SCRIPT], executionTimeout: ['600'] } }
      : { DocumentName: 'AWS-RunShellScript', Parameters: { commands: [...LINUX_VOLATILE_SCRIPT], executionTimeout: ['600'] } },
  async succeeded({ evidence, incident, resource }, invocation, sent) {
    const decoded = decodeCaptureOutput(invocation.StandardOutputContent ?? '');
    const ref = await evidence.putText(incident.incidentId, 'online/volatile-data.txt', decoded.text);
    const notes = [
      decoded.truncated ? `truncated at Run Command's ${RUN_COMMAND_STDOUT_LIMIT.toLocaleString('en')}-character stdout limit` : '',
      decoded.format === 'raw' ? 'the output had no capture markers or could not be decoded: saved as it came' : '',
    ].filter(Boolean);
    return {
      status: 'done',
      summary: `volatile data of ${resource.instanceId} captured by Run Command ${sent.commandId} (${ref.bytes} bytes, sha256 ${ref.sha256.slice(0, 12)}…)${notes.length ? `; ${notes.join('; ')}` : ''}`,
      data: { commandId: sent.commandId, platform: sent.platform, bytes: ref.bytes, truncated: decoded.truncated, format: decoded.format },
      evidence: [ref],
    };
  },
};

/** Incident ids and bucket names are ours (hash-derived, validated), never a finding's text. */
const SHELL_SAFE = /^[A-Za-z0-9._-]+$/;

const memory: OnlineCapture = {
  step: 'captureMemory',
  what: 'memory',
  notConfigured: (ctx) => onlineCaptureDisabled(ctx) ?? (ctx.config.ec2.onlineCapture.memoryCaptureCommand ? undefined : 'no ec2.onlineCapture.memoryCaptureCommand'),
  command({ config, incident, resource }, platform) {
    if (platform === 'Windows') return `the memory capture command is a shell command and ${resource.instanceId} runs Windows`;
    const prefix = `incidents/${incident.incidentId}/online/memory`;
    // The deployer's command (from Terraform) runs as given; it may use these to name its upload.
    const exports = SHELL_SAFE.test(incident.incidentId) && SHELL_SAFE.test(config.evidenceBucket)
      ? [`FIREBREAK_INCIDENT_ID='${incident.incidentId}'; export FIREBREAK_INCIDENT_ID`, `FIREBREAK_MEMORY_S3_URI='s3://${config.evidenceBucket}/${prefix}'; export FIREBREAK_MEMORY_S3_URI`]
      : [];
    return {
      DocumentName: 'AWS-RunShellScript',
      Parameters: { commands: [...exports, config.ec2.onlineCapture.memoryCaptureCommand!], executionTimeout: ['3600'] },
      OutputS3BucketName: config.evidenceBucket,
      OutputS3KeyPrefix: prefix,
    };
  },
  async succeeded({ config, incident, resource }, _invocation, sent) {
    const s3Prefix = `s3://${config.evidenceBucket}/incidents/${incident.incidentId}/online/memory/`;
    return {
      status: 'done',
      summary: `memory capture command ${sent.commandId} succeeded on ${resource.instanceId}; its output and dump are under ${s3Prefix}`,
      data: {
        commandId: sent.commandId,
        s3Prefix,
        note:
          'the instance itself uploads to S3 (Run Command output and the dump): it needs a route to S3 (an S3 interface endpoint sharing the SSM endpoints\' group, since isolation allows nothing else) and s3:PutObject on this prefix in its instance profile; the command finds the destination in $FIREBREAK_MEMORY_S3_URI',
      },
    };
  },
};

export const captureVolatileData: StepDefinition<Ec2Instance> = {
  name: volatileData.step,
  stage: 'evidence',
  // Order of volatility (RFC 3227): memory first — listing processes and walking the disk
  // would overwrite some of it.
  after: [memory.step],
  description: 'Collect volatile data (processes, connections, logins, recent files) through SSM Run Command and save it to the evidence bucket',
  iamActions: [...SSM_IAM_ACTIONS, ...EVIDENCE_IAM_ACTIONS],
  run: (ctx) => runOnlineCapture(volatileData, ctx),
};

export const captureMemory: StepDefinition<Ec2Instance> = {
  name: memory.step,
  stage: 'evidence',
  description: "Run the configured memory capture command through SSM Run Command, its output going to the evidence bucket",
  iamActions: [...SSM_IAM_ACTIONS],
  run: (ctx) => runOnlineCapture(memory, ctx),
};
