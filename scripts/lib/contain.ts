// `firebreak contain <resource-type> <id> --ticket T`: puts a Firebreak Manual Finding on the
// bus; the playbook's function contains the resource (the same safety gates as GuardDuty's).
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { cleanText, MANUAL_DETAIL_TYPE, MANUAL_RESOURCE_TYPES, MANUAL_SOURCE } from '../../shared/findings/index.ts';
import { registryEntry } from '../../shared/playbooks/registry.ts';
import { whoIsCalling } from './aws-cli.ts';

export interface ContainCommandOptions {
  resourceType: string;
  id: string;
  ticket: string;
  reason?: string;
  severity?: number;
  bus: string;
  log?: (line: string) => void;
}

/** Resource types `firebreak contain` takes: those whose playbook this version deploys. */
export const containableTypes = (): string[] => Object.entries(MANUAL_RESOURCE_TYPES).filter(([, playbook]) => registryEntry(playbook)).map(([type]) => type);

/** Puts the manual finding on the bus. Returns the exit code: 0 put, 1 refused. */
export async function containCommand(opts: ContainCommandOptions): Promise<number> {
  const log = opts.log ?? ((l: string) => console.log(l));
  if (!containableTypes().includes(opts.resourceType)) {
    log(`refused: firebreak contain takes ${containableTypes().join(', ')}; not ${JSON.stringify(opts.resourceType.slice(0, 64))}`);
    return 1;
  }
  const caller = await whoIsCalling();
  const detail = {
    resource: { resourceType: opts.resourceType, id: opts.id },
    ticket: opts.ticket,
    requestedBy: caller.arn,
    ...(opts.reason ? { reason: cleanText(opts.reason, 512) } : {}),
    ...(opts.severity !== undefined ? { severity: opts.severity } : {}),
  };
  const out = await new EventBridgeClient({}).send(
    new PutEventsCommand({ Entries: [{ Source: MANUAL_SOURCE, DetailType: MANUAL_DETAIL_TYPE, Detail: JSON.stringify(detail), EventBusName: opts.bus }] }),
  );
  const entry = out.Entries?.[0];
  if (out.FailedEntryCount || !entry?.EventId) {
    log(`the bus refused the event: ${entry?.ErrorCode ?? 'unknown'} ${entry?.ErrorMessage ?? ''}`);
    return 1;
  }
  const playbook = MANUAL_RESOURCE_TYPES[opts.resourceType];
  log(`Put ${MANUAL_DETAIL_TYPE} ${entry.EventId} on bus ${opts.bus}: ${opts.resourceType} ${opts.id}, ticket ${opts.ticket}, as ${caller.arn}.`);
  log(`The ${playbook} function contains it (its safety gates apply); \`firebreak incidents\` shows the outcome.`);
  return 0;
}
