import type { GetCommandInvocationCommandOutput, SendCommandCommandInput } from '@aws-sdk/client-ssm';
import * as z from 'zod';
import {
  CAPTURE_BEGIN_MARKER,
  CAPTURE_END_MARKER,
  type CommandDocument,
  type CommandDocumentStep,
  decodeCaptureOutput,
  onlineAgent,
  pollCommand,
  RUN_COMMAND_STDOUT_LIMIT,
  sendCommand,
  SSM_RUN_COMMAND_IAM_ACTIONS,
} from '../../actions/ssm-run-command.ts';
import type { StepContext, StepResult } from '../../engine/index.ts';
import { StepFailedError } from '../../errors/index.ts';
import { EVIDENCE_IAM_ACTIONS } from '../../evidence/index.ts';
import { IncidentIdSchema } from '../../findings/index.ts';
import { replaceInstanceProfile, revokeInstanceRoleSessions } from './credentials.ts';
import { isolateNetworkInterfaces } from './isolation.ts';
import { ec2Step, type Ec2 } from './types.ts';

export { decodeCaptureOutput, RUN_COMMAND_STDOUT_LIMIT, type DecodedOutput } from '../../actions/ssm-run-command.ts';

const LOOK_AGAIN_SECONDS = 60;
/** How long SSM may wait for the agent to pick the command up (an isolated agent reconnects through the endpoints; revoked role sessions keep it out until its credentials rotate). */
const DELIVERY_TIMEOUT_SECONDS = 3600;

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
  `  echo '${CAPTURE_BEGIN_MARKER} gzip+base64'`,
  '  collect 2>&1 | gzip -9 -c | base64',
  'else',
  `  echo '${CAPTURE_BEGIN_MARKER} plain'`,
  '  collect 2>&1',
  'fi',
  `echo '${CAPTURE_END_MARKER}'`,
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
  `'${CAPTURE_BEGIN_MARKER} gzip+base64'`,
  '[Convert]::ToBase64String($buffer.ToArray())',
  `'${CAPTURE_END_MARKER}'`,
];

// ---------------------------------------------------------------------------
// Firebreak's own Command documents: the scripts above, deployed by Terraform
// ---------------------------------------------------------------------------

/** How long each script may run on the instance (what AWS-RunShellScript was given before). */
const VOLATILE_TIMEOUT_SECONDS = 600;
const MEMORY_TIMEOUT_SECONDS = 3600;

/** The volatile-data document's step for each platform it runs on (GetCommandInvocation names the step of a multi-step document). */
export const VOLATILE_DATA_STEPS = { Linux: 'volatileDataLinux', MacOS: 'volatileDataMacOS', Windows: 'volatileDataWindows' } as const;
const MEMORY_CAPTURE_STEP = 'captureMemory';

const shellStep = (name: string, platform: 'Linux' | 'MacOS', timeoutSeconds: number, runCommand: readonly string[]): CommandDocumentStep => ({
  action: 'aws:runShellScript',
  name,
  precondition: { StringEquals: ['platformType', platform] },
  inputs: { timeoutSeconds: String(timeoutSeconds), runCommand: [...runCommand] },
});

/**
 * `<name_prefix>-volatile-data`: the volatile-data scripts as a Command document with no
 * parameters — whoever may send it can only run these scripts. `make build` writes it to
 * terraform/ssm-documents/ec2-instance/volatile-data.json, which Terraform deploys.
 */
export const VOLATILE_DATA_DOCUMENT: CommandDocument = {
  schemaVersion: '2.2',
  description: 'Firebreak: collects an instance\'s volatile state read-only (processes, connections, logins, recent files), gzip+base64 between markers. Takes no parameters.',
  mainSteps: [
    shellStep(VOLATILE_DATA_STEPS.Linux, 'Linux', VOLATILE_TIMEOUT_SECONDS, LINUX_VOLATILE_SCRIPT),
    shellStep(VOLATILE_DATA_STEPS.MacOS, 'MacOS', VOLATILE_TIMEOUT_SECONDS, LINUX_VOLATILE_SCRIPT),
    {
      action: 'aws:runPowerShellScript',
      name: VOLATILE_DATA_STEPS.Windows,
      precondition: { StringEquals: ['platformType', 'Windows'] },
      inputs: { timeoutSeconds: String(VOLATILE_TIMEOUT_SECONDS), runCommand: [...WINDOWS_VOLATILE_SCRIPT] },
    },
  ],
};

/** Where the memory capture's output goes, under the evidence bucket. */
const memoryPrefix = (incidentId: string) => `incidents/${incidentId}/online/memory`;

/** An incident id, as every incident id is (the pattern of IncidentIdSchema, anchored). */
export const INCIDENT_ID_ALLOWED_PATTERN: string = (() => {
  const pattern = (z.toJSONSchema(IncidentIdSchema) as { pattern?: string }).pattern;
  if (!pattern?.startsWith('^') || !pattern.endsWith('$')) throw new Error('IncidentIdSchema must be one anchored regex');
  return pattern;
})();

/** What Terraform replaces in the generated memory-capture document: the deployer's command, and the evidence bucket's name as a regex (dots escaped). */
export const MEMORY_CAPTURE_PLACEHOLDERS = { command: '@@FIREBREAK_MEMORY_CAPTURE_COMMAND@@', bucketPattern: '@@FIREBREAK_EVIDENCE_BUCKET_PATTERN@@' } as const;

/**
 * The evidence bucket's name as it appears in a regex (S3 names are [a-z0-9.-]: only dots need escaping).
 * @example bucketNamePattern('evidence.example.org') // 'evidence\\.example\\.org'
 */
export const bucketNamePattern = (bucket: string) => bucket.replaceAll('.', '\\.');

/**
 * `<name_prefix>-memory-capture`: the deployer's memory capture command (fixed at deploy
 * time, never sent at run time) after two exports it may use, filled from the only two
 * parameters, which SSM checks before sending: `incidentId` (an incident id) and `s3Uri`
 * (this incident's memory prefix in this deployment's evidence bucket). They reach the script
 * as environment variables (interpolationType ENV_VAR, SSM Agent 3.3.2746.0 and later); an
 * older agent pastes them into the script instead, which the patterns make harmless.
 * `make build` writes it with {@link MEMORY_CAPTURE_PLACEHOLDERS} to
 * terraform/ssm-documents/ec2-instance/memory-capture.json; Terraform fills them in.
 *
 * @example
 * ```ts
 * memoryCaptureDocument('/opt/avml /tmp/m.lime', bucketNamePattern('fb-evidence')).parameters!.s3Uri!.allowedPattern
 * // '^s3://fb-evidence/incidents/inc-[0-9a-f]{16}/online/memory$'
 * ```
 */
export function memoryCaptureDocument(command: string, bucketPattern: string): CommandDocument {
  const incidentCore = INCIDENT_ID_ALLOWED_PATTERN.slice(1, -1);
  return {
    schemaVersion: '2.2',
    description: 'Firebreak: runs the memory capture command configured in Terraform (online_capture.memory_capture_command), with FIREBREAK_INCIDENT_ID and FIREBREAK_MEMORY_S3_URI exported for it.',
    parameters: {
      incidentId: {
        type: 'String',
        description: 'The Firebreak incident id (exported as FIREBREAK_INCIDENT_ID).',
        allowedPattern: INCIDENT_ID_ALLOWED_PATTERN,
        interpolationType: 'ENV_VAR',
      },
      s3Uri: {
        type: 'String',
        description: 'Where the dump goes: the incident\'s memory prefix in Firebreak\'s evidence bucket (exported as FIREBREAK_MEMORY_S3_URI).',
        allowedPattern: `^s3://${bucketPattern}/${memoryPrefix(incidentCore)}$`,
        interpolationType: 'ENV_VAR',
      },
    },
    mainSteps: [
      shellStep(MEMORY_CAPTURE_STEP, 'Linux', MEMORY_TIMEOUT_SECONDS, [
        // SSM Agent 3.3.2746.0 and later set SSM_<parameter>; an older one pastes the (validated) value here.
        'if [ -z "${SSM_incidentId+x}" ]; then SSM_incidentId=\'{{ incidentId }}\'; fi',
        'if [ -z "${SSM_s3Uri+x}" ]; then SSM_s3Uri=\'{{ s3Uri }}\'; fi',
        'FIREBREAK_INCIDENT_ID="$SSM_incidentId"; export FIREBREAK_INCIDENT_ID',
        'FIREBREAK_MEMORY_S3_URI="$SSM_s3Uri"; export FIREBREAK_MEMORY_S3_URI',
        command,
      ]),
    ],
  };
}

/** The generated documents' text: what terraform/ssm-documents/ec2-instance/ holds (placeholders in the memory one). */
export const EC2_COMMAND_DOCUMENTS: Readonly<Record<string, CommandDocument>> = {
  'volatile-data': VOLATILE_DATA_DOCUMENT,
  'memory-capture': memoryCaptureDocument(MEMORY_CAPTURE_PLACEHOLDERS.command, MEMORY_CAPTURE_PLACEHOLDERS.bucketPattern),
};

// ---------------------------------------------------------------------------
// What the online-capture steps record
// ---------------------------------------------------------------------------

/** The command a step is waiting on, recorded in its pending outcome (a later delivery polls it instead of sending another). */
const SentCommandSchema = z.object({ commandId: z.string(), sentAt: z.string(), platform: z.string() });
type SentCommand = z.infer<typeof SentCommandSchema>;

/** Why capture was not possible (skipped): no route, no agent, or not on this platform. */
const NotPossibleSchema = z.object({ reason: z.string(), platform: z.string().optional() });
type NotPossible = z.infer<typeof NotPossibleSchema>;

/** What captureVolatileData records when done. */
const VolatileCapturedSchema = z.object({ commandId: z.string(), platform: z.string(), bytes: z.number(), truncated: z.boolean(), format: z.enum(['gzip+base64', 'plain', 'raw']) });

/** What captureMemory records when done. */
const MemoryCapturedSchema = z.object({ commandId: z.string(), s3Prefix: z.string(), note: z.string() });

/** What captureVolatileData records: what it captured (done), the command it waits on (pending), or why it could not (skipped). */
export const VolatileDataSchema = z.union([VolatileCapturedSchema, SentCommandSchema, NotPossibleSchema]);

/** What captureMemory records: where the dump went (done), the command it waits on (pending), or why it could not (skipped). */
export const MemoryCaptureSchema = z.union([MemoryCapturedSchema, SentCommandSchema, NotPossibleSchema]);

// ---------------------------------------------------------------------------
// One online capture: gate, send once, track to the end
// ---------------------------------------------------------------------------

/** What an online-capture step records: `Done` when it captured, otherwise the command it waits on or why it could not. */
type CaptureData<Done> = Done | SentCommand | NotPossible;
type Ctx<Done> = StepContext<Ec2, CaptureData<Done>>;

/** One online-capture step: what it needs configured, what it runs, and what it keeps. */
interface OnlineCapture<Done> {
  step: string;
  what: string;
  /** Why the step is not configured to run, if it is not. */
  notConfigured(ctx: Ctx<Done>): string | undefined;
  /** The command to send (a Firebreak document and its parameters), or why it cannot run on this platform. */
  command(ctx: Ctx<Done>, platform: string): Omit<SendCommandCommandInput, 'InstanceIds' | 'Comment' | 'TimeoutSeconds'> | string;
  /** The document's step that runs on `platform` (GetCommandInvocation needs it for a document of several steps). */
  plugin(platform: string): string;
  succeeded(ctx: Ctx<Done>, invocation: GetCommandInvocationCommandOutput, sent: SentCommand): Promise<StepResult<Done>>;
}

/** Why the isolation step left the SSM agent no way out, if it did. */
function isolationBlocksSsm<Done>(ctx: Ctx<Done>): string | undefined {
  const isolation = ctx.outputOf(isolateNetworkInterfaces);
  if (!isolation) return undefined;
  const egress = isolation.egress;
  if (egress && egress.allowed.length > 0) return undefined;
  return egress?.reason ?? `the isolation group of ${ctx.resource.vpcId} allows no egress`;
}

/** Containment that takes the agent's credentials away too, if it ran: the likely reason it is gone. */
function credentialsCut<Done>(ctx: Ctx<Done>): string {
  const ran = [revokeInstanceRoleSessions, replaceInstanceProfile].filter((step) => ctx.outcomeOf(step)?.status === 'done').map((step) => step.name);
  if (ran.length === 0) return '';
  return ` (${ran.join(' and ')} also cut the agent's role credentials: give the isolation profile AmazonSSMManagedInstanceCore, or enable Default Host Management Configuration)`;
}

/** The command an earlier delivery sent and recorded in this step's pending outcome. */
function previousCommand<Done>(ctx: Ctx<Done>): SentCommand | undefined {
  if (ctx.previous?.status !== 'pending') return undefined;
  const sent = SentCommandSchema.safeParse(ctx.previous.data);
  return sent.success ? sent.data : undefined;
}

/**
 * Gates, sends (once: a later delivery polls the command recorded in the pending
 * outcome) and tracks one Run Command to its end.
 */
async function runOnlineCapture<Done>(capture: OnlineCapture<Done>, ctx: Ctx<Done>): Promise<StepResult<CaptureData<Done>>> {
  const { resource, incident, clients, options } = ctx;
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
    const commandId = await sendCommand(clients.ssm, {
      step: capture.step,
      instanceId: resource.instanceId,
      command,
      comment: `Firebreak ${incident.incidentId}: ${capture.what}`,
      deliveryTimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
    });
    sent = { commandId, sentAt: ctx.now().toISOString(), platform: agent.platform };
  }

  const polled = await pollCommand(clients.ssm, {
    commandId: sent.commandId,
    instanceId: resource.instanceId,
    pluginName: capture.plugin(sent.platform),
    waitSeconds: options.online_capture.wait_seconds,
  });
  if (polled.state === 'succeeded') return capture.succeeded(ctx, polled.invocation, sent);
  if (polled.state === 'running') {
    return {
      status: 'pending',
      retryAfterSeconds: LOOK_AGAIN_SECONDS,
      summary: `Run Command ${sent.commandId} (${capture.what}) on ${resource.instanceId} is ${polled.status}; looking again in ${LOOK_AGAIN_SECONDS}s`,
      data: { ...sent },
    };
  }
  throw new StepFailedError(capture.step, `Command${polled.status}`, polled.message);
}

const onlineCaptureDisabled = <Done>(ctx: Ctx<Done>) => (ctx.options.online_capture.enabled ? undefined : 'online_capture.enabled is false');

/** Why a step cannot run without its Firebreak document: never fall back to AWS's shell documents. */
const documentNotDeployed = (name: string | undefined, key: string, option: string) =>
  name ? undefined : `no Firebreak SSM document for it is deployed: ssm_documents.${key} is unset, and Terraform sets it when it deploys the document (with ${option}); Firebreak never falls back to AWS-RunShellScript`;

const isVolatilePlatform = (platform: string): platform is keyof typeof VOLATILE_DATA_STEPS => Object.hasOwn(VOLATILE_DATA_STEPS, platform);

const volatileData: OnlineCapture<z.infer<typeof VolatileCapturedSchema>> = {
  step: 'captureVolatileData',
  what: 'volatile data',
  notConfigured: (ctx) => onlineCaptureDisabled(ctx) ?? documentNotDeployed(ctx.options.ssm_documents.volatile_data, 'volatile_data', 'online_capture.enabled'),
  command: ({ options }, platform) =>
    isVolatilePlatform(platform)
      ? { DocumentName: options.ssm_documents.volatile_data! }
      : `the volatile-data document has no script for ${platform} (it runs on ${Object.keys(VOLATILE_DATA_STEPS).join(', ')})`,
  plugin: (platform) => (isVolatilePlatform(platform) ? VOLATILE_DATA_STEPS[platform] : VOLATILE_DATA_STEPS.Linux),
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


const memory: OnlineCapture<z.infer<typeof MemoryCapturedSchema>> = {
  step: 'captureMemory',
  what: 'memory',
  notConfigured: (ctx) =>
    onlineCaptureDisabled(ctx) ??
    (ctx.options.online_capture.memory_capture_command ? undefined : 'no online_capture.memory_capture_command') ??
    documentNotDeployed(ctx.options.ssm_documents.memory_capture, 'memory_capture', 'online_capture.memory_capture_command'),
  command({ config, options, incident, resource }, platform) {
    if (platform !== 'Linux') return `the memory capture document runs the configured shell command on Linux only and ${resource.instanceId} runs ${platform}`;
    const prefix = memoryPrefix(incident.incidentId);
    // The deployer's command is in the document (Terraform put it there); only these two
    // values travel, and SSM refuses them unless they match the document's patterns.
    return {
      DocumentName: options.ssm_documents.memory_capture!,
      Parameters: { incidentId: [incident.incidentId], s3Uri: [`s3://${config.evidenceBucket}/${prefix}`] },
      OutputS3BucketName: config.evidenceBucket,
      OutputS3KeyPrefix: prefix,
    };
  },
  plugin: () => MEMORY_CAPTURE_STEP,
  async succeeded({ config, incident, resource }, _invocation, sent) {
    const s3Prefix = `s3://${config.evidenceBucket}/incidents/${incident.incidentId}/online/memory/`;
    return {
      status: 'done',
      summary: `memory capture command ${sent.commandId} succeeded on ${resource.instanceId}; its output and dump are under ${s3Prefix}`,
      data: {
        commandId: sent.commandId,
        s3Prefix,
        note:
          "the instance itself uploads to S3 (Run Command output and the dump): it needs a route to S3 (an S3 interface endpoint sharing the SSM endpoints' group, since isolation allows nothing else) and s3:PutObject on this prefix in its instance profile; the command finds the destination in $FIREBREAK_MEMORY_S3_URI",
      },
    };
  },
};

export const captureMemory = ec2Step({
  name: memory.step,
  stage: 'evidence',
  description: 'Run the configured memory capture command through SSM Run Command, its output going to the evidence bucket',
  iamActions: [...SSM_RUN_COMMAND_IAM_ACTIONS],
  enabledBy: ['online_capture.enabled', 'online_capture.memory_capture_command'],
  data: MemoryCaptureSchema,
  run: (ctx) => runOnlineCapture(memory, ctx),
});

export const captureVolatileData = ec2Step({
  name: volatileData.step,
  stage: 'evidence',
  // Order of volatility (RFC 3227): memory first — listing processes and walking the disk
  // would overwrite some of it.
  after: [captureMemory],
  description: 'Collect volatile data (processes, connections, logins, recent files) through SSM Run Command and save it to the evidence bucket',
  iamActions: [...SSM_RUN_COMMAND_IAM_ACTIONS, ...EVIDENCE_IAM_ACTIONS],
  enabledBy: ['online_capture.enabled'],
  data: VolatileDataSchema,
  run: (ctx) => runOnlineCapture(volatileData, ctx),
});
