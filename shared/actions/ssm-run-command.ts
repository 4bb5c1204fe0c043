/**
 * SSM Run Command, for every playbook that collects from inside a managed node (EC2
 * instances, container hosts): is the agent online, send a command once, poll its
 * invocation for a bounded time, and recover what a capture script printed (gzip+base64
 * between markers, to fit Run Command's stdout limit) with its SHA-256.
 *
 * Commands run only through Firebreak's own Command documents (deployed by Terraform from
 * what the playbooks define here), never through AWS's shell documents: a function that may
 * send `AWS-RunShellScript` holds a root shell on every managed node of the account.
 */
import { createHash } from 'node:crypto';
import { constants as zlib, gunzipSync } from 'node:zlib';
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  type GetCommandInvocationCommandOutput,
  type SendCommandCommandInput,
  type SSMClient,
} from '@aws-sdk/client-ssm';
import { once } from '../aws/retry.ts';
import { hasErrorCode, StepFailedError } from '../errors/index.ts';

/** The IAM actions the functions of this module call. */
export const SSM_RUN_COMMAND_IAM_ACTIONS = ['ssm:DescribeInstanceInformation', 'ssm:ListCommands', 'ssm:SendCommand', 'ssm:GetCommandInvocation'] as const;

/** Run Command returns at most this many characters of a command's stdout. */
export const RUN_COMMAND_STDOUT_LIMIT = 24_000;

/** What a capture script prints before its output (followed by ` gzip+base64` or ` plain`) and after it. */
export const CAPTURE_BEGIN_MARKER = 'FIREBREAK-BEGIN';
export const CAPTURE_END_MARKER = 'FIREBREAK-END';

/**
 * AWS's documents that run whatever commands the caller passes: never sent by Firebreak
 * ({@link sendCommand} refuses them; the playbooks send their own documents' names).
 */
export const AWS_SHELL_DOCUMENTS: ReadonlySet<string> = new Set(['AWS-RunShellScript', 'AWS-RunPowerShellScript']);

/** Prefixes SSM reserves for documents AWS owns (nobody else can create one named so). */
const AWS_OWNED_DOCUMENT = /^(AWS-|AWSEC2-|AWSSupport-|Amazon|amzn)/i;

/** A parameter of a Firebreak Command document: a string SSM checks against `allowedPattern` before it sends the command, handed to the script as the environment variable `SSM_<name>`. */
export interface CommandDocumentParameter {
  type: 'String';
  description: string;
  allowedPattern: string;
  interpolationType: 'ENV_VAR';
}

/** One step of a Command document: a script for one platform. */
export interface CommandDocumentStep {
  action: 'aws:runShellScript' | 'aws:runPowerShellScript';
  name: string;
  precondition: { StringEquals: ['platformType', 'Linux' | 'MacOS' | 'Windows'] };
  inputs: { timeoutSeconds: string; runCommand: string[] };
}

/** An SSM Command document (schema 2.2), as Terraform deploys it (`aws_ssm_document.content`). */
export interface CommandDocument {
  schemaVersion: '2.2';
  description: string;
  parameters?: Record<string, CommandDocumentParameter>;
  mainSteps: CommandDocumentStep[];
}

/** Invocation statuses that are not final. */
const IN_PROGRESS: ReadonlySet<string> = new Set(['Pending', 'InProgress', 'Delayed', 'Cancelling']);

/** The managed node's platform (`Linux`, `Windows`, `MacOS`) when its agent is online; otherwise why not. */
export type AgentCheck = { platform: string } | { why: string };

/**
 * Whether SSM manages the node and its agent answers: its platform, or a sentence saying
 * why a command cannot be sent (not registered, or not online and when it was last seen).
 *
 * @example
 * ```ts
 * const agent = await onlineAgent(clients.ssm, 'i-0abc…');
 * if ('why' in agent) return skipped(agent.why);
 * ```
 */
export async function onlineAgent(ssm: SSMClient, instanceId: string): Promise<AgentCheck> {
  const out = await ssm.send(new DescribeInstanceInformationCommand({ Filters: [{ Key: 'InstanceIds', Values: [instanceId] }] }));
  const info = out.InstanceInformationList?.find((i) => i.InstanceId === instanceId);
  if (!info) return { why: `${instanceId} is not managed by SSM (no agent registered, or its instance profile lacks the SSM permissions)` };
  if (info.PingStatus !== 'Online') {
    const seen = info.LastPingDateTime ? `; last ping ${new Date(info.LastPingDateTime).toISOString()}` : '';
    return { why: `the SSM agent on ${instanceId} is ${info.PingStatus ?? 'in an unknown state'}${seen}` };
  }
  return { platform: info.PlatformType ?? 'Linux' };
}

/** One command for one managed node. */
export interface CommandRequest {
  /** The step sending it (named in a failure). */
  step: string;
  instanceId: string;
  /** The document, its parameters and where its output goes. */
  command: Omit<SendCommandCommandInput, 'InstanceIds' | 'Comment' | 'TimeoutSeconds'>;
  /** Shown in the SSM console (cut to SSM's 100 characters). */
  comment: string;
  /** How long SSM may wait for the agent to pick the command up. */
  deliveryTimeoutSeconds: number;
}

/**
 * Sends the command and returns its id; no id in the answer is a retryable failure of `step`.
 * A document AWS owns (`AWS-RunShellScript` above all) is refused before anything is sent: a
 * permanent failure of `step`.
 */
export async function sendCommand(ssm: SSMClient, request: CommandRequest): Promise<string> {
  const document = request.command.DocumentName ?? '';
  if (!document || AWS_OWNED_DOCUMENT.test(document) || AWS_SHELL_DOCUMENTS.has(document)) {
    throw new StepFailedError(request.step, 'NotAFirebreakDocument', `refusing to send ${document || 'a command without a document'}: Firebreak runs commands only through the Command documents its deployment owns`);
  }
  const comment = request.comment.slice(0, 100);
  // SendCommand has no idempotency token: an attempt whose answer was lost may have sent it.
  const earlier = await sentEarlier(ssm, request.instanceId, document, comment);
  if (earlier) return earlier;
  const out = await ssm.send(
    once(
      new SendCommandCommand({
        ...request.command,
        InstanceIds: [request.instanceId],
        Comment: comment,
        TimeoutSeconds: request.deliveryTimeoutSeconds,
      }),
      'SendCommand',
    ),
  );
  const commandId = out.Command?.CommandId;
  if (!commandId) throw new StepFailedError(request.step, 'NoCommandId', 'SendCommand returned no command id', { retryable: true });
  return commandId;
}

/**
 * The command an earlier attempt sent to the instance with this document and comment (the
 * comment names the incident and the capture), when its answer was lost: found, it is not sent
 * again. Commands are listed for 30 days; the first page of the document's commands suffices.
 */
async function sentEarlier(ssm: SSMClient, instanceId: string, document: string, comment: string): Promise<string | undefined> {
  const out = await ssm.send(new ListCommandsCommand({ InstanceId: instanceId, Filters: [{ key: 'DocumentName', value: document }], MaxResults: 50 }));
  return out?.Commands?.find((c) => c.Comment === comment && c.DocumentName === document)?.CommandId;
}

/** Where a command stands after {@link pollCommand}. */
export type CommandState =
  /** It finished with status `Success`. */
  | { state: 'succeeded'; invocation: GetCommandInvocationCommandOutput }
  /** Not finished yet (`status` is SSM's, or `not yet visible` right after sending): look again later. */
  | { state: 'running'; status: string }
  /** It ended otherwise (`Failed`, `TimedOut`, `Cancelled`…); `message` says how, with the exit code and an excerpt of stderr. */
  | { state: 'ended'; status: string; message: string };

export interface PollRequest {
  commandId: string;
  instanceId: string;
  /** The document's step to read (required by SSM when the document has several steps). */
  pluginName?: string;
  /** How long to keep polling, about once a second (at least one look). */
  waitSeconds: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls the command's invocation about once a second for up to `waitSeconds` (at least
 * once) until it finishes. SSM answers `InvocationDoesNotExist` for a while right after
 * sending; that is "not yet visible", not an error.
 *
 * @example
 * ```ts
 * const polled = await pollCommand(clients.ssm, { commandId, instanceId, waitSeconds: 10 });
 * if (polled.state === 'running') return pending(`is ${polled.status}`);
 * ```
 */
export async function pollCommand(ssm: SSMClient, request: PollRequest): Promise<CommandState> {
  const { commandId, instanceId, pluginName, waitSeconds } = request;
  let last: GetCommandInvocationCommandOutput | undefined;
  for (let attempt = 0; attempt <= waitSeconds; attempt++) {
    if (attempt > 0) await sleep(1000);
    try {
      last = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId, ...(pluginName ? { PluginName: pluginName } : {}) }));
    } catch (error) {
      if (!hasErrorCode(error, 'InvocationDoesNotExist')) throw error;
      continue;
    }
    if (!IN_PROGRESS.has(last.Status ?? '')) break;
  }
  const status = last?.Status ?? 'not yet visible';
  if (last?.Status === 'Success') return { state: 'succeeded', invocation: last };
  if (!last || IN_PROGRESS.has(status)) return { state: 'running', status };
  const stderr = (last.StandardErrorContent ?? '').trim().slice(0, 500);
  const details = last.StatusDetails && last.StatusDetails !== status ? ` (${last.StatusDetails})` : '';
  const exitCode = last.ResponseCode !== undefined && last.ResponseCode >= 0 ? `, exit code ${last.ResponseCode}` : '';
  return { state: 'ended', status, message: `Run Command ${commandId} on ${instanceId} ended ${status}${details}${exitCode}${stderr ? `; stderr: ${stderr}` : ''}` };
}

/** The text a capture script produced, recovered from Run Command's stdout. */
export interface DecodedOutput {
  text: string;
  /** `raw`: no markers, or an encoding that could not be read: the stdout as it came. */
  format: 'gzip+base64' | 'plain' | 'raw';
  /** The end marker never arrived: stdout was cut at Run Command's limit. */
  truncated: boolean;
  /** SHA-256 (hex) of `text` as UTF-8: what the evidence bucket's copy must hash to. */
  sha256: string;
}

const decoded = (text: string, format: DecodedOutput['format'], truncated: boolean): DecodedOutput => ({
  text,
  format,
  truncated,
  sha256: createHash('sha256').update(text, 'utf8').digest('hex'),
});

/**
 * Recovers the collected text from a capture script's stdout: the part between the
 * markers, gunzipped when it says so. A truncated stream yields what it holds.
 *
 * @example
 * ```ts
 * decodeCaptureOutput('FIREBREAK-BEGIN plain\nhello\nFIREBREAK-END\n') // { text: 'hello\n', format: 'plain', truncated: false, sha256: '5891b5b5…' }
 * ```
 */
export function decodeCaptureOutput(stdout: string): DecodedOutput {
  const begin = stdout.indexOf(CAPTURE_BEGIN_MARKER);
  if (begin < 0) return decoded(stdout, 'raw', stdout.length >= RUN_COMMAND_STDOUT_LIMIT);
  const lineEnd = stdout.indexOf('\n', begin);
  const header = stdout.slice(begin, lineEnd < 0 ? undefined : lineEnd).trim();
  const bodyStart = lineEnd < 0 ? stdout.length : lineEnd + 1;
  const end = stdout.indexOf(CAPTURE_END_MARKER, bodyStart);
  const body = stdout.slice(bodyStart, end < 0 ? undefined : end);
  const truncated = end < 0;
  if (!header.endsWith('gzip+base64')) return decoded(body.replace(/\r\n/g, '\n'), 'plain', truncated);
  // Stop at the first character that is not base64 (a truncation notice, say), then decode
  // leniently: a gzip stream cut short still yields everything before the cut.
  const base64 = /^[A-Za-z0-9+/=\s]*/.exec(body)![0].replace(/\s/g, '');
  try {
    return decoded(gunzipSync(Buffer.from(base64, 'base64'), { finishFlush: zlib.Z_SYNC_FLUSH }).toString('utf8'), 'gzip+base64', truncated);
  } catch {
    return decoded(stdout, 'raw', truncated);
  }
}
