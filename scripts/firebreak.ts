// The firebreak command line: local pipeline (deploy, drain), the ledger, release, the demo.
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Ledger } from '../shared/ledger/index.ts';
import { drain } from './lib/drain.ts';
import { deployLocal } from './lib/local.ts';
import { formatLedger } from './lib/report.ts';

const USAGE = `usage:
  firebreak local deploy              build, then terraform apply terraform/examples/local to the emulator
  firebreak local drain [--function NAME] [--timeout SECONDS]
                                      run queued findings through the deployed functions (Lambda's SQS poller)
  firebreak incidents [--json] [--table NAME]
                                      the ledger: incident, resource, status, each step's outcome
  firebreak release <incident-id> --reason "why" [--reattach] [--table NAME]
                                      undo the incident's containment with your credentials, from what the
                                      ledger recorded: security groups, Elastic IPs, load balancer targets,
                                      instance profile, role-session revocation; --reattach also puts the
                                      instance back in its Auto Scaling group (desired capacity +1).
                                      Termination/stop protection, a stopped instance and evidence stay.
                                      Exits 1 if the release is refused or incomplete (run it again to retry).
  firebreak release <incident-id> --reason "why" --via-bus [--bus NAME] [--reattach] [--table NAME]
                                      put a Firebreak Manual Release event on the bus (default: default)
                                      for the deployed function to run instead
  firebreak demo                      the seed scenario, contained end to end on the emulator

  The emulator endpoint comes from AWS_ENDPOINT_URL (default http://127.0.0.1:4566).`;

const endpoint = process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';
const region = process.env.AWS_REGION ?? 'us-east-1';

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      table: { type: 'string', default: 'firebreak-ledger' },
      function: { type: 'string' },
      reason: { type: 'string' },
      reattach: { type: 'boolean', default: false },
      'via-bus': { type: 'boolean', default: false },
      bus: { type: 'string', default: 'default' },
      timeout: { type: 'string', default: '120' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, sub] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  if (command === 'local' && sub === 'deploy') {
    await deployLocal({ endpoint, region });
    return 0;
  }
  if (command === 'local' && sub === 'drain') {
    const summaries = await drain({ endpoint, region, timeoutSeconds: Number(values.timeout), ...(values.function ? { functionFilter: values.function } : {}) });
    for (const s of summaries) {
      console.log(`${s.functionName.padEnd(32)} batches ${s.batches}  received ${s.received}  deleted ${s.deleted}  failed ${s.failed}  invocation errors ${s.invocationErrors}`);
    }
    return 0;
  }
  if (command === 'incidents') {
    const db = DynamoDBDocumentClient.from(new DynamoDBClient({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
    const items = await new Ledger(db, values.table!).list();
    console.log(values.json ? JSON.stringify(items, null, 2) : formatLedger(items));
    return 0;
  }
  if (command === 'release') {
    const incidentId = sub;
    if (!incidentId || positionals.length > 2) {
      console.error(`firebreak release needs exactly one incident id\n${USAGE}`);
      return 2;
    }
    if (values.reason === undefined || values.reason.trim() === '') {
      console.error(`firebreak release needs --reason "why" (it is recorded in the ledger)\n${USAGE}`);
      return 2;
    }
    const { releaseCommand } = await import('./lib/release.ts');
    return releaseCommand({
      endpoint,
      region,
      table: values.table!,
      incidentId,
      reason: values.reason,
      reattach: values.reattach!,
      viaBus: values['via-bus']!,
      bus: values.bus!,
    });
  }
  if (command === 'demo') {
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
