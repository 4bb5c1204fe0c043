// The firebreak command line: local pipeline (deploy, drain), the ledger, release, the demo.
import { parseArgs } from 'node:util';
import { PLAYBOOK_REGISTRY } from '../shared/playbooks/registry.ts';
import { ledgerAt, resolveDeployment, useEmulator } from './lib/aws-cli.ts';
import { containableTypes } from './lib/contain.ts';
import { formatLedger } from './lib/report.ts';

const USAGE = `usage:
  Against the account you deployed to (the SDK's credentials: AWS_PROFILE, SSO, roles, env;
  the region from AWS_REGION or the profile):
  firebreak incidents [--json] [--table NAME | --terraform DIR]
                                      the ledger: incident, resource, status, each step's outcome
  firebreak contain <resource-type> <id> --ticket T [--reason "why"] [--severity N] [--bus NAME | --terraform DIR]
                                      put a Firebreak Manual Finding on the bus: the playbook's function
                                      contains the resource (safety gates apply). Resource types:
                                      ${containableTypes().join(', ')}
  firebreak release <incident-id> --reason "why" [--reattach] [--table NAME | --terraform DIR]
                                      undo the incident's containment with your credentials, from what the
                                      ledger recorded (for EC2: security groups, Elastic IPs, load balancer
                                      targets, instance profile, role-session revocation; --reattach also
                                      puts the instance back in its Auto Scaling group, desired capacity +1).
                                      Protections and evidence stay. Exits 1 if the release is refused or
                                      incomplete (run it again to retry).
  firebreak release <incident-id> --reason "why" --via-bus [--bus NAME] [--reattach] [--table NAME]
                                      put a Firebreak Manual Release event on the bus for the deployed
                                      function to run instead
  firebreak pause --reason "why" [--parameter NAME | --terraform DIR]
                                      the kill switch: within 30 s every function changes nothing and
                                      records new incidents as held (no terraform apply needed)
  firebreak resume [--reason "why"] [--parameter NAME] [--table NAME] [--bus NAME] [--terraform DIR]
                                      automation resumes, and every incident held because of the pause is
                                      re-published on the responders' bus (origin resume) and acted on now;
                                      a second resume re-publishes nothing already resumed. Incidents held
                                      by the blast-radius limit are listed, not resumed
  firebreak dlq list [--incident ID] [--playbook P] [--json] [--dlq NAME|URL --playbook P | --prefix NAME | --terraform DIR] [--table NAME]
                                      each playbook's dead-letter queue: every message (or those about one
                                      incident), what it asks for, and what the ledger says of it: the
                                      incident's status and why, deliveries, last update, failed steps with
                                      their error codes; messages the function rejected and incidents the
                                      ledger does not have are said as such. Every message stays
  firebreak dlq redrive [--incident ID] [--playbook P] [--bus NAME] [--dlq NAME|URL --playbook P | --prefix NAME | --terraform DIR]
                                      re-publish each DLQ message's event (or only those about one incident:
                                      the others stay, visible again at once) on the responders' bus (origin
                                      redrive, counted against its finding's own budget); a message is
                                      deleted only once the bus accepted it; unparseable ones stay, with
                                      the reason printed. Steps already done never run again; redriving an
                                      incident contained with every step finished changes nothing. Exits 1
                                      when anything stayed, or when no message is about --incident

  Origins: every incident records how it started — guardduty (the findings bus), manual (firebreak
  contain), handoff (another playbook's function) — and its re-deliveries: redrive, resume. Each
  starting origin has its own blast-radius budget; a redrive or resume counts against its finding's.

  --table/--bus name the ledger table and the responders' bus (defaults: $FIREBREAK_LEDGER_TABLE or
  firebreak-ledger, $FIREBREAK_EVENT_BUS or firebreak-responders; the pause parameter:
  $FIREBREAK_PAUSE_PARAMETER or /firebreak/paused; --prefix NAME, the module's name_prefix, names them
  all: <prefix>-ledger, <prefix>-responders, /<prefix>/paused and the DLQs <prefix>-<playbook>-dlq;
  $FIREBREAK_NAME_PREFIX does when no other name is set); --terraform DIR reads them all from
  \`terraform output\` in DIR.

  On the local emulator (AWS_ENDPOINT_URL, default http://127.0.0.1:4566, and its test keys):
  firebreak local deploy              build, then terraform apply terraform/examples/local to the emulator
  firebreak local drain [--function NAME] [--timeout SECONDS]
                                      run queued findings through the deployed functions (Lambda's SQS poller)
  firebreak local incidents|contain|release|pause|resume|dlq …
                                      the commands above, against the emulator
  firebreak demo                      the seed scenario, contained end to end on the emulator

  Playbooks: ${PLAYBOOK_REGISTRY.map((e) => `${e.name} (${e.title})`).join('; ')}`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      table: { type: 'string' },
      terraform: { type: 'string' },
      ticket: { type: 'string' },
      parameter: { type: 'string' },
      severity: { type: 'string' },
      function: { type: 'string' },
      reason: { type: 'string' },
      reattach: { type: 'boolean', default: false },
      'via-bus': { type: 'boolean', default: false },
      bus: { type: 'string' },
      dlq: { type: 'string' },
      playbook: { type: 'string' },
      prefix: { type: 'string' },
      incident: { type: 'string' },
      timeout: { type: 'string', default: '120' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help || positionals.length === 0) {
    console.log(USAGE);
    return positionals.length ? 0 : 2;
  }
  // `local` commands and the demo run against the emulator; everything else against AWS.
  const local = positionals[0] === 'local' || positionals[0] === 'demo';
  const args = positionals[0] === 'local' ? positionals.slice(1) : positionals;
  const [command, sub] = args;
  const { endpoint, region } = local ? useEmulator() : { endpoint: '', region: '' };
  if (local && command === 'deploy') {
    const { deployLocal } = await import('./lib/local.ts');
    await deployLocal({ endpoint, region });
    return 0;
  }
  if (local && command === 'drain') {
    const { drain } = await import('./lib/drain.ts');
    const summaries = await drain({ endpoint, region, timeoutSeconds: Number(values.timeout), ...(values.function ? { functionFilter: values.function } : {}) });
    for (const s of summaries) {
      console.log(`${s.functionName.padEnd(32)} batches ${s.batches}  received ${s.received}  deleted ${s.deleted}  failed ${s.failed}  invocation errors ${s.invocationErrors}`);
    }
    return 0;
  }
  const deployment = resolveDeployment({
    ...(values.table ? { table: values.table } : {}),
    ...(values.bus ? { bus: values.bus } : {}),
    ...(values.terraform ? { terraform: values.terraform } : {}),
    ...(values.parameter ? { parameter: values.parameter } : {}),
    ...(values.dlq ? { dlq: values.dlq } : {}),
    ...(values.playbook ? { playbook: values.playbook } : {}),
    ...(values.prefix ? { prefix: values.prefix } : {}),
  });
  if (command === 'pause' || command === 'resume') {
    if (command === 'pause' && (values.reason === undefined || values.reason.trim() === '')) {
      console.error(`firebreak pause needs --reason "why" (every function records it on the incidents it holds)\n${USAGE}`);
      return 2;
    }
    const { pauseCommand } = await import('./lib/pause.ts');
    return pauseCommand({
      paused: command === 'pause',
      parameter: deployment.pauseParameter,
      ...(values.reason ? { reason: values.reason } : {}),
      ...(command === 'resume' ? { table: deployment.table, bus: deployment.bus } : {}),
    });
  }
  if (command === 'dlq') {
    if (sub !== 'list' && sub !== 'redrive') {
      console.error(`firebreak dlq takes list or redrive\n${USAGE}`);
      return 2;
    }
    if (values.dlq && !values.playbook) {
      console.error(`firebreak dlq --dlq needs --playbook P (whose DLQ it is)\n${USAGE}`);
      return 2;
    }
    const { dlqList, dlqRedrive } = await import('./lib/dlq.ts');
    const selection = { dlqs: deployment.dlqs, ...(values.playbook ? { playbook: values.playbook } : {}), ...(values.incident ? { incident: values.incident } : {}) };
    if (sub === 'list') return dlqList({ ...selection, json: values.json!, ledger: ledgerAt(deployment.table) });
    const { whoIsCalling } = await import('./lib/aws-cli.ts');
    const counts = await dlqRedrive({ ...selection, bus: deployment.bus, requestedBy: (await whoIsCalling()).arn });
    const nothingFor = values.incident !== undefined && counts.every((c) => c.republished + c.unparseable + c.refused === 0);
    return nothingFor || counts.some((c) => c.unparseable + c.refused > 0) ? 1 : 0;
  }
  if (command === 'incidents') {
    const items = await ledgerAt(deployment.table).list();
    console.log(values.json ? JSON.stringify(items, null, 2) : formatLedger(items));
    return 0;
  }
  if (command === 'release') {
    const incidentId = sub;
    if (!incidentId || args.length > 2) {
      console.error(`firebreak release needs exactly one incident id\n${USAGE}`);
      return 2;
    }
    if (values.reason === undefined || values.reason.trim() === '') {
      console.error(`firebreak release needs --reason "why" (it is recorded in the ledger)\n${USAGE}`);
      return 2;
    }
    const { releaseCommand } = await import('./lib/release.ts');
    return releaseCommand({ table: deployment.table, incidentId, reason: values.reason, reattach: values.reattach!, viaBus: values['via-bus']!, bus: deployment.bus });
  }
  if (command === 'contain') {
    const [, resourceType, id] = args;
    if (!resourceType || !id || args.length > 3 || !values.ticket) {
      console.error(`firebreak contain needs a resource type, an id and --ticket T\n${USAGE}`);
      return 2;
    }
    const severity = values.severity === undefined ? undefined : Number(values.severity);
    const { containCommand } = await import('./lib/contain.ts');
    return containCommand({ resourceType, id, ticket: values.ticket, ...(values.reason ? { reason: values.reason } : {}), ...(severity !== undefined ? { severity } : {}), bus: deployment.bus });
  }
  if (local && command === 'demo') {
    const { runDemo } = await import('./lib/demo.ts');
    await runDemo({ endpoint, region });
    return 0;
  }
  console.error(`unknown command: ${positionals.join(' ')}\n${USAGE}`);
  return 2;
}

// Exit once stdout has drained: `firebreak incidents --json | jq` must get every byte
// (process.exit right after a large write to a pipe cuts it at 64 KiB).
const exitAfterFlush = (code: number) => process.stdout.write('', () => process.exit(code));

main(process.argv.slice(2)).then(exitAfterFlush, (error: Error) => {
  console.error(`firebreak: ${error.message}`);
  exitAfterFlush(1);
});
