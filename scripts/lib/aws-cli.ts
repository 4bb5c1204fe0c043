// How the CLI reaches AWS: the SDK's default endpoint and credential chain (profiles, SSO,
// roles, environment) — a responder runs `firebreak incidents` against the account they
// deployed to. Only `firebreak local …` and the demo point at the emulator, and they say so
// by setting AWS_ENDPOINT_URL (and test keys when none are set) before any client exists.
import { spawnSync } from 'node:child_process';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Ledger } from '../../shared/ledger/index.ts';
import { PLAYBOOK_REGISTRY } from '../../shared/playbooks/registry.ts';

export const EMULATOR_ENDPOINT = 'http://127.0.0.1:4566';

/** For `firebreak local …` and the demo: the emulator, unless AWS_ENDPOINT_URL names another; its test keys unless credentials are set. */
export function useEmulator(env: NodeJS.ProcessEnv = process.env): { endpoint: string; region: string } {
  env.AWS_ENDPOINT_URL ??= EMULATOR_ENDPOINT;
  env.AWS_REGION ??= 'us-east-1';
  if (!env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) {
    env.AWS_ACCESS_KEY_ID = 'test';
    env.AWS_SECRET_ACCESS_KEY = 'test';
  }
  return { endpoint: env.AWS_ENDPOINT_URL, region: env.AWS_REGION };
}

/** Where the deployment is: its ledger table and event bus, from flags, the environment, or `terraform output`. */
export interface Deployment {
  table: string;
  bus: string;
  /** The kill switch's SSM parameter. */
  pauseParameter: string;
  /** Each playbook's dead-letter queue (a URL, or a name in the caller's account and region). */
  dlqs: Record<string, string>;
}

export interface DeploymentFlags {
  table?: string;
  bus?: string;
  terraform?: string;
  parameter?: string;
  /** With `playbook`: that playbook's DLQ (name or URL). */
  dlq?: string;
  playbook?: string;
  /** The module's `name_prefix`: the ledger `<prefix>-ledger`, the bus `<prefix>-responders`, the parameter `/<prefix>/paused`, DLQs `<prefix>-<playbook>-dlq`. */
  prefix?: string;
}

/**
 * Resolves the deployment's names: `--table`/`--bus`/`--parameter`/`--dlq` win; then `--prefix`
 * (the module's `name_prefix`: every name the module derives from it, so that the DLQs and the
 * ledger they are joined with are one deployment's); then `--terraform DIR` (the directory you
 * ran `terraform apply` in; its outputs `ledger_table_name`, `responders_bus_name`,
 * `pause_parameter_name` and `playbooks` (each playbook's `dlq_url`), or a module output holding
 * them); then FIREBREAK_LEDGER_TABLE / FIREBREAK_EVENT_BUS / FIREBREAK_PAUSE_PARAMETER; then the
 * names FIREBREAK_NAME_PREFIX (default `firebreak`) gives.
 */
export function resolveDeployment(flags: DeploymentFlags, env: NodeJS.ProcessEnv = process.env): Deployment {
  let fromTerraform: Partial<Deployment> = {};
  if (flags.terraform) fromTerraform = terraformOutputs(flags.terraform);
  const prefix = flags.prefix ?? env.FIREBREAK_NAME_PREFIX ?? 'firebreak';
  const named = prefixedNames(prefix);
  // A --prefix flag names the deployment as surely as --terraform does, and more specifically.
  const fromPrefix: Partial<Deployment> = flags.prefix === undefined ? {} : named;
  const dlqs = { ...(flags.prefix === undefined && fromTerraform.dlqs ? fromTerraform.dlqs : named.dlqs), ...(flags.dlq && flags.playbook ? { [flags.playbook]: flags.dlq } : {}) };
  return {
    table: flags.table ?? fromPrefix.table ?? fromTerraform.table ?? env.FIREBREAK_LEDGER_TABLE ?? named.table,
    bus: flags.bus ?? fromPrefix.bus ?? fromTerraform.bus ?? env.FIREBREAK_EVENT_BUS ?? named.bus,
    pauseParameter: flags.parameter ?? fromPrefix.pauseParameter ?? fromTerraform.pauseParameter ?? env.FIREBREAK_PAUSE_PARAMETER ?? named.pauseParameter,
    dlqs,
  };
}

/** The names the module gives a deployment from its `name_prefix`. */
export function prefixedNames(prefix: string): Deployment {
  return {
    table: `${prefix}-ledger`,
    bus: `${prefix}-responders`,
    pauseParameter: `/${prefix}/paused`,
    dlqs: Object.fromEntries(PLAYBOOK_REGISTRY.map((e) => [e.name, `${prefix}-${e.name}-dlq`])),
  };
}

function terraformOutputs(dir: string): Partial<Deployment> {
  const out = spawnSync(process.env.FIREBREAK_TERRAFORM ?? 'terraform', [`-chdir=${dir}`, 'output', '-json'], { encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`terraform -chdir=${dir} output -json failed: ${(out.stderr || out.stdout).trim().slice(0, 500)}`);
  const outputs = JSON.parse(out.stdout) as Record<string, { value: unknown }>;
  // The root module's outputs, or the outputs of a module that wraps Firebreak's (`module.firebreak`).
  const candidates = [Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v.value])), ...Object.values(outputs).map((v) => v.value)];
  for (const c of candidates) {
    const o = c as { ledger_table_name?: unknown; responders_bus_name?: unknown; pause_parameter_name?: unknown; playbooks?: unknown } | null;
    if (o && typeof o === 'object' && typeof o.ledger_table_name === 'string') {
      const playbooks = o.playbooks && typeof o.playbooks === 'object' ? (o.playbooks as Record<string, { dlq_url?: unknown } | null>) : {};
      const dlqs = Object.fromEntries(Object.entries(playbooks).flatMap(([name, p]) => (typeof p?.dlq_url === 'string' ? [[name, p.dlq_url]] : [])));
      return {
        table: o.ledger_table_name,
        ...(typeof o.responders_bus_name === 'string' ? { bus: o.responders_bus_name } : {}),
        ...(typeof o.pause_parameter_name === 'string' ? { pauseParameter: o.pause_parameter_name } : {}),
        ...(Object.keys(dlqs).length ? { dlqs } : {}),
      };
    }
  }
  throw new Error(`no ledger_table_name output in ${dir}: name the table with --table`);
}

export function ledgerAt(table: string): Ledger {
  const db = DynamoDBDocumentClient.from(new DynamoDBClient({}), { marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true } });
  return new Ledger(db, table);
}

/** Who is asking, from STS: recorded as the requester of every release and manual finding. */
export async function whoIsCalling(): Promise<{ arn: string; accountId: string }> {
  const out = await new STSClient({}).send(new GetCallerIdentityCommand({}));
  return { arn: out.Arn!, accountId: out.Account! };
}
