// `firebreak release`: undo an incident's containment, directly with the caller's
// credentials, or by putting a Firebreak Manual Release event on the bus.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createClientFactory, type ClientFactory } from '../../shared/aws/index.ts';
import { ReleaseRefusedError } from '../../shared/errors/index.ts';
import { MANUAL_RELEASE_DETAIL_TYPE, MANUAL_SOURCE } from '../../shared/findings/index.ts';
import { Ledger } from '../../shared/ledger/index.ts';
import { createLogger } from '../../shared/logging/index.ts';
import { PLAYBOOKS } from '../../shared/playbooks/index.ts';
import { MAX_REASON_LENGTH, releaseIncident, type ReleaseResult } from '../../shared/release/index.ts';

export interface ReleaseCommandOptions {
  endpoint: string;
  region: string;
  table: string;
  incidentId: string;
  reason: string;
  reattach: boolean;
  /** Put a Firebreak Manual Release event on `bus` instead of releasing here. */
  viaBus: boolean;
  bus: string;
  log?: (line: string) => void;
  now?: () => Date;
}

type AwsCredentialIdentity = { accessKeyId: string; secretAccessKey: string };

const EMULATOR_KEYS: AwsCredentialIdentity = { accessKeyId: 'test', secretAccessKey: 'test' };

interface Caller {
  arn: string;
  accountId: string;
  credentials?: AwsCredentialIdentity;
}

/**
 * Who is asking: the caller's ARN from STS, with the SDK's usual credential chain.
 * Only when that chain finds nothing are the emulator's test keys used (and said so).
 */
async function whoIsCalling(endpoint: string, region: string, log: (l: string) => void): Promise<Caller> {
  const ask = async (credentials?: AwsCredentialIdentity): Promise<Caller> => {
    const out = await new STSClient({ region, endpoint, ...(credentials ? { credentials } : {}) }).send(new GetCallerIdentityCommand({}));
    return { arn: out.Arn!, accountId: out.Account!, ...(credentials ? { credentials } : {}) };
  };
  try {
    return await ask();
  } catch (error) {
    if ((error as Error).name !== 'CredentialsProviderError') throw error;
    log(`No AWS credentials found: using the emulator's test keys against ${endpoint}.`);
    return ask(EMULATOR_KEYS);
  }
}

const clientsAt = (endpoint: string, credentials?: AwsCredentialIdentity): ClientFactory =>
  createClientFactory({ endpoint, ...(credentials ? { credentials } : {}) });

const ICON: Record<string, string> = { done: '✔', skipped: '–', failed: '✘' };

/** The release's outcome for a person: every step, what stays as containment left it, and the verdict. */
export function formatRelease(result: ReleaseResult): string[] {
  const ranNow = new Set(result.ran);
  const lines = Object.entries(result.steps).map(([name, o]) => {
    const err = o.error ? ` [${o.error.code}${o.error.retryable ? ', retryable' : ''}${o.error.unsupported ? ', unsupported here' : ''}]` : '';
    const when = result.outcome === 'already-released' || ranNow.has(name) ? '' : ' (earlier attempt)';
    return `    ${ICON[o.status] ?? '?'} ${name.padEnd(32)} ${o.status.padEnd(7)}${when}  ${o.summary}${err}`;
  });
  if (result.keptProtections.length) lines.push('  kept:', ...result.keptProtections.map((k) => `    - ${k}`));
  const verdict = { released: 'RELEASED', incomplete: 'INCOMPLETE', 'already-released': 'ALREADY RELEASED' }[result.outcome];
  lines.push(`${verdict}: ${result.summary}`);
  return lines;
}

/**
 * Runs `firebreak release`. Returns the exit code: 0 released (or already released, or
 * the event was put on the bus), 1 incomplete or refused.
 */
export async function releaseCommand(opts: ReleaseCommandOptions): Promise<number> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const caller = await whoIsCalling(opts.endpoint, opts.region, log);
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region: opts.region, endpoint: opts.endpoint, ...(caller.credentials ? { credentials: caller.credentials } : {}) }), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
  });
  const ledger = new Ledger(db, opts.table);

  if (opts.viaBus) {
    const reason = opts.reason.replace(/[\u0000-\u001f\u007f]/g, ' ').trim();
    if (!reason || reason.length > MAX_REASON_LENGTH) {
      log(`refused: --reason must be 1-${MAX_REASON_LENGTH} characters`);
      return 1;
    }
    const record = await ledger.get(opts.incidentId);
    if (!record) {
      log(`refused: no incident ${opts.incidentId} in ledger table ${opts.table} (\`firebreak incidents\` lists them)`);
      return 1;
    }
    const detail = { incidentId: record.incidentId, resource: { resourceType: record.resourceType, id: record.resourceId }, reason, requestedBy: caller.arn, reattach: opts.reattach };
    const events = new EventBridgeClient({ region: opts.region, endpoint: opts.endpoint, ...(caller.credentials ? { credentials: caller.credentials } : {}) });
    const out = await events.send(
      new PutEventsCommand({ Entries: [{ Source: MANUAL_SOURCE, DetailType: MANUAL_RELEASE_DETAIL_TYPE, Detail: JSON.stringify(detail), EventBusName: opts.bus }] }),
    );
    const entry = out.Entries?.[0];
    if (out.FailedEntryCount || !entry?.EventId) {
      log(`the bus refused the event: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`);
      return 1;
    }
    log(`Put ${MANUAL_RELEASE_DETAIL_TYPE} ${entry.EventId} on bus ${opts.bus} for ${record.incidentId} (${record.resourceType} ${record.resourceId}) as ${caller.arn}.`);
    log(`The ${record.playbook} function releases it (locally: firebreak local drain); \`firebreak incidents\` shows the outcome.`);
    return 0;
  }

  log(`Releasing ${opts.incidentId} as ${caller.arn}${opts.reattach ? ' (with --reattach)' : ''}`);
  try {
    const result = await releaseIncident(
      { ledger, clientsFor: clientsAt(opts.endpoint, caller.credentials), logger: quietLogger(), playbooks: PLAYBOOKS, ...(opts.now ? { now: opts.now } : {}) },
      { incidentId: opts.incidentId, reason: opts.reason, reattach: opts.reattach, requestedBy: caller.arn, via: 'cli', expect: { accountId: caller.accountId } },
    );
    for (const line of formatRelease(result)) log(line);
    return result.outcome === 'incomplete' ? 1 : 0;
  } catch (error) {
    if (error instanceof ReleaseRefusedError) {
      log(`refused: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

/** The steps' own log lines would bury the summary: the CLI prints the ledger's outcomes instead. */
function quietLogger() {
  const logger = createLogger();
  logger.setLogLevel(process.env.POWERTOOLS_LOG_LEVEL ? (process.env.POWERTOOLS_LOG_LEVEL as never) : 'SILENT');
  return logger;
}
