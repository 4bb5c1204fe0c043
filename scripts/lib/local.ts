// `firebreak local deploy`: build, then `terraform init && apply` of terraform/examples/local
// against the emulator. State lives in that folder and is started afresh when the
// emulator no longer holds what the state describes (restarted or reset).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { ensureOrganizationAccessRole, LOCAL_MEMBER_ACCOUNT_IDS } from './member-account.ts';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const localExampleDir = join(root, 'terraform', 'examples', 'local');

function run(command: string, args: string[], options: { quiet?: boolean; env?: Record<string, string> } = {}): string {
  const result = spawnSync(command, args, {
    cwd: root,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    stdio: options.quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status})${options.quiet ? `:\n${result.stdout}\n${result.stderr}` : ''}`);
  }
  return result.stdout ?? '';
}

export const terraform = (args: string[], quiet = false) =>
  run(join(root, 'scripts', 'terraform.sh'), [`-chdir=${localExampleDir}`, ...args], { quiet, env: { TF_IN_AUTOMATION: '1' } });

/** Removes local Terraform state that describes resources the emulator no longer has. */
async function discardStaleState(endpoint: string, region: string, log: (l: string) => void): Promise<void> {
  const statePath = join(localExampleDir, 'terraform.tfstate');
  if (!existsSync(statePath)) return;
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { outputs?: Record<string, { value: any }> };
  const table: string | undefined = state.outputs?.firebreak?.value?.ledger_table_name;
  let stale = !table;
  if (table) {
    const ddb = new DynamoDBClient({ region, endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      await ddb.send(new DescribeTableCommand({ TableName: table }));
    } catch {
      stale = true;
    }
  }
  if (stale) {
    log('The emulator was restarted or reset since the last deploy: starting Terraform state afresh.');
    rmSync(statePath, { force: true });
    rmSync(`${statePath}.backup`, { force: true });
  }
}

export interface DeployOptions {
  endpoint: string;
  region: string;
  log?: (line: string) => void;
  quiet?: boolean;
}

/** Builds the bundles and applies terraform/examples/local to the emulator. Idempotent. */
export async function deployLocal(opts: DeployOptions): Promise<Record<string, any>> {
  const log = opts.log ?? ((l: string) => console.log(l));
  run(process.execPath, [join(root, 'scripts', 'build.ts')], { quiet: opts.quiet });
  await discardStaleState(opts.endpoint, opts.region, log);
  // Every time: a module added since the last init (an upgrade) needs installing; with the
  // provider already there it takes about a second.
  terraform(['init', '-input=false', '-no-color'], opts.quiet);
  // member.tf deploys into a member account through the role Organizations would have made there.
  const sts = new STSClient({ region: opts.region, endpoint: opts.endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const { Account: management } = await sts.send(new GetCallerIdentityCommand({}));
  for (const member of LOCAL_MEMBER_ACCOUNT_IDS) await ensureOrganizationAccessRole(opts.endpoint, member, management!);
  const started = Date.now();
  terraform(['apply', '-auto-approve', '-input=false', '-no-color', `-var=endpoint=${opts.endpoint}`, `-var=dist_dir=${join(root, 'dist')}`], opts.quiet);
  log(`terraform apply finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return localOutputs();
}

/** `terraform output -json` of the local example, as plain values. */
export function localOutputs(): Record<string, any> {
  const raw = JSON.parse(terraform(['output', '-json', '-no-color'], true)) as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.value]));
}
