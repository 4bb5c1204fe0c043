// `firebreak release`: undo an incident's containment, directly with the caller's
// credentials, or by putting a Firebreak Manual Release event on the bus.
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { createClientFactory } from '../../shared/aws/index.ts';
import { MAX_REASON_LENGTH, releaseIncident, type ReleaseSummary } from '../../shared/engine/index.ts';
import { ReleaseRefusedError } from '../../shared/errors/index.ts';
import { cleanText, MANUAL_RELEASE_DETAIL_TYPE, MANUAL_SOURCE } from '../../shared/findings/index.ts';
import { createLogger } from '../../shared/logging/index.ts';
import { loadPlaybook } from '../../shared/playbooks/registry.ts';
import { ledgerAt, whoIsCalling } from './aws-cli.ts';

export interface ReleaseCommandOptions {
  /** The ledger table of the deployment. */
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

const ICON: Record<string, string> = { done: '✔', skipped: '–', failed: '✘' };

/** The release's outcome for a person: every step, what stays as containment left it, and the verdict. */
export function formatRelease(result: ReleaseSummary): string[] {
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
  const caller = await whoIsCalling();
  const ledger = ledgerAt(opts.table);

  if (opts.viaBus) {
    const reason = cleanText(opts.reason, Number.MAX_SAFE_INTEGER).trim();
    if (!reason || reason.length > MAX_REASON_LENGTH) {
      log(`refused: --reason must be 1-${MAX_REASON_LENGTH} characters`);
      return 1;
    }
    const record = await ledger.get(opts.incidentId);
    if (!record) {
      log(`refused: no incident ${opts.incidentId} in ledger table ${opts.table} (\`firebreak incidents\` lists them)`);
      return 1;
    }
    const { resource } = record.incident;
    const detail = { incidentId: record.incidentId, resource: { resourceType: resource.type, id: resource.id }, reason, requestedBy: caller.arn, reattach: opts.reattach };
    const events = new EventBridgeClient({});
    const out = await events.send(
      new PutEventsCommand({ Entries: [{ Source: MANUAL_SOURCE, DetailType: MANUAL_RELEASE_DETAIL_TYPE, Detail: JSON.stringify(detail), EventBusName: opts.bus }] }),
    );
    const entry = out.Entries?.[0];
    if (out.FailedEntryCount || !entry?.EventId) {
      log(`the bus refused the event: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`);
      return 1;
    }
    log(`Put ${MANUAL_RELEASE_DETAIL_TYPE} ${entry.EventId} on bus ${opts.bus} for ${record.incidentId} (${resource.type} ${resource.id}) as ${caller.arn}.`);
    log(`The ${record.playbook} function releases it (locally: firebreak local drain); \`firebreak incidents\` shows the outcome.`);
    return 0;
  }

  log(`Releasing ${opts.incidentId} as ${caller.arn}${opts.reattach ? ' (with --reattach)' : ''}`);
  try {
    const result = await releaseIncident(
      { ledger, clientsFor: createClientFactory(), logger: quietLogger(), playbookFor: loadPlaybook, ...(opts.now ? { now: opts.now } : {}) },
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
