// The policies Terraform actually rendered, written out for checkov (scripts/rendered-policies.ts).
//
// The function roles' policies are built from `jsondecode(file("dist/<playbook>.iam.json"))` and
// from the mode and options of each deployment, which checkov cannot evaluate in terraform/. After
// terraform/examples/local is applied (the e2e global setup does it: pipelines in every mode and
// option), its state holds every rendered document. This writes each one as a plain Terraform
// resource with the document as a literal (.firebreak/rendered-policies/main.tf) and runs
// scripts/checkov.sh on that directory: any failed check fails the run.
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './local.ts';

/** One resource of `terraform show -json` (values.root_module and its child_modules). */
export interface StateResource {
  address: string;
  mode: string;
  type: string;
  name: string;
  values: Record<string, unknown>;
}

export interface StateModule {
  address?: string;
  resources?: StateResource[];
  child_modules?: StateModule[];
}

export interface TerraformShow {
  values?: { root_module?: StateModule };
}

/** A finding a rendered policy may keep, with the reason a security reviewer reads. */
export interface AcceptedFinding {
  /** The checkov check, e.g. CKV_AWS_355. */
  check: string;
  /** Which rendered resources (their Terraform address in the deployed state). */
  address: RegExp;
  reason: string;
}

/**
 * Findings accepted on rendered policies, each with its reason; printed on every run and written
 * as `#checkov:skip` on the matching resources. Only for a finding that does not apply to what the
 * document is (e.g. a permissions boundary is a ceiling, not a grant: its `Resource "*"` allows
 * nothing by itself), never to make a grant pass:
 *
 *   { check: 'CKV_AWS_355', address: /\.aws_iam_policy\.boundary$/, reason: 'A permissions boundary is a ceiling, not a grant: …' },
 *
 * An entry that matches no rendered resource fails the run (a stale acceptance hides nothing).
 */
const BOUNDARY = /\.aws_iam_policy\.boundary$/;
const CEILING = 'A permissions boundary is a ceiling, not a grant: its Resource "*" allows nothing by itself; it lists every action a Firebreak function may ever be granted, and each role policy scopes them (shared/iam, docs/iam.md).';
export const ACCEPTED_FINDINGS: readonly AcceptedFinding[] = [
  { check: 'CKV_AWS_289', address: BOUNDARY, reason: CEILING },
  { check: 'CKV_AWS_290', address: BOUNDARY, reason: CEILING },
  { check: 'CKV_AWS_355', address: BOUNDARY, reason: CEILING },
  // cloudsplaining's escalation, credentials-exposure and exfiltration lists look at actions alone:
  // the boundary names iam:PutRolePolicy, iam:PassRole, ssm:GetParameter… because some step or the
  // platform is granted them, scoped, in its role policy — where the same checks pass.
  { check: 'CKV_AWS_286', address: BOUNDARY, reason: `${CEILING} The role policies grant iam:PutRolePolicy on roles of the account only, never on protected, Firebreak or service-linked roles, and iam:PassRole on the isolation role only.` },
  { check: 'CKV_AWS_287', address: BOUNDARY, reason: `${CEILING} The role policies grant each credential-related read on Firebreak's own resources only (the kill-switch parameter).` },
  { check: 'CKV_AWS_288', address: BOUNDARY, reason: `${CEILING} The role policies grant each read on Firebreak's own resources only.` },
];

type Literal = string | number | boolean;

/** A resource to write: its type, and its attributes in order; `policy`-like ones are JSON documents. */
export interface RenderedResource {
  address: string;
  type: string;
  attributes: Array<[name: string, value: Literal]>;
  documents: Array<[name: string, json: string]>;
}

/** Resource-based and identity policies, by the resource type that holds them in state. */
const POLICY_HOLDERS: Record<string, (v: Record<string, unknown>) => Omit<RenderedResource, 'address'> | undefined> = {
  aws_iam_role_policy: (v) => doc('aws_iam_role_policy', { name: v.name, role: v.role }, { policy: v.policy }),
  aws_iam_user_policy: (v) => doc('aws_iam_user_policy', { name: v.name, user: v.user }, { policy: v.policy }),
  aws_iam_group_policy: (v) => doc('aws_iam_group_policy', { name: v.name, group: v.group }, { policy: v.policy }),
  aws_iam_policy: (v) => doc('aws_iam_policy', { name: v.name, path: v.path }, { policy: v.policy }),
  // The trust policy, and the boundary the role runs under.
  aws_iam_role: (v) =>
    doc('aws_iam_role', { name: v.name, permissions_boundary: v.permissions_boundary }, { assume_role_policy: v.assume_role_policy }),
  aws_iam_role_policy_attachment: (v) => ({ type: 'aws_iam_role_policy_attachment', attributes: literals({ role: v.role, policy_arn: v.policy_arn }), documents: [] }),
  // The queue's own `policy` attribute (the playbook module writes it inline) or a separate resource.
  aws_sqs_queue: (v) => doc('aws_sqs_queue_policy', { queue_url: v.url ?? v.id }, { policy: v.policy }),
  aws_sqs_queue_policy: (v) => doc('aws_sqs_queue_policy', { queue_url: v.queue_url }, { policy: v.policy }),
  aws_s3_bucket_policy: (v) => doc('aws_s3_bucket_policy', { bucket: v.bucket }, { policy: v.policy }),
  aws_cloudwatch_event_bus_policy: (v) => doc('aws_cloudwatch_event_bus_policy', { event_bus_name: v.event_bus_name }, { policy: v.policy }),
  aws_sns_topic_policy: (v) => doc('aws_sns_topic_policy', { arn: v.arn }, { policy: v.policy }),
  // A key's policy is an attribute of the key: with the attributes its checks read.
  aws_kms_key: (v) =>
    doc(
      'aws_kms_key',
      {
        description: v.description,
        key_usage: v.key_usage,
        customer_master_key_spec: v.customer_master_key_spec,
        enable_key_rotation: v.enable_key_rotation,
        deletion_window_in_days: v.deletion_window_in_days,
      },
      { policy: v.policy },
    ),
};

function literals(values: Record<string, unknown>): Array<[string, Literal]> {
  return Object.entries(values).filter((e): e is [string, Literal] => ['string', 'number', 'boolean'].includes(typeof e[1]) && e[1] !== '');
}

function doc(type: string, attributes: Record<string, unknown>, documents: Record<string, unknown>): Omit<RenderedResource, 'address'> | undefined {
  const docs = Object.entries(documents).filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].trim() !== '');
  if (docs.length === 0) return undefined;
  return { type, attributes: literals(attributes), documents: docs };
}

function* resourcesOf(module: StateModule | undefined): Generator<StateResource> {
  if (!module) return;
  yield* module.resources ?? [];
  for (const child of module.child_modules ?? []) yield* resourcesOf(child);
}

/** Every policy document of the deployed state, as the resources to write, in address order. */
export function renderedPolicies(show: TerraformShow): RenderedResource[] {
  const out: RenderedResource[] = [];
  for (const r of resourcesOf(show.values?.root_module)) {
    if (r.mode !== 'managed') continue;
    const holder = POLICY_HOLDERS[r.type];
    const rendered = holder?.(r.values ?? {});
    if (rendered) out.push({ address: r.address, ...rendered });
  }
  return out.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
}

/** A Terraform label from a state address: module.a.module.b["x"].aws_iam_role_policy.this → module_a_module_b_x_this. */
function labelOf(address: string, taken: Set<string>): string {
  const base = address
    .replace(/[^A-Za-z0-9_]+/g, '_')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
  let label = /^[A-Za-z]/.test(base) ? base : `r_${base}`;
  for (let i = 2; taken.has(label); i++) label = `${base}_${i}`;
  taken.add(label);
  return label;
}

/** A quoted HCL string: escapes quotes, backslashes, newlines and template sequences. */
export function hclString(value: string): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(/"/g, '\\"')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/\$\{/g, () => '$${')
    .replace(/%\{/g, '%%{');
  return `"${escaped}"`;
}

/** A JSON document as an HCL heredoc, pretty-printed; `${`/`%{` (IAM policy variables) kept literal. */
function heredoc(json: string): string {
  let pretty: string;
  try {
    pretty = JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    throw new Error(`not a JSON policy document: ${json.slice(0, 80)}…`);
  }
  const body = pretty.replace(/\$\{/g, () => '$${').replace(/%\{/g, '%%{');
  return `<<POLICY\n${body}\nPOLICY`;
}

function checkAcceptedFindings(accepted: readonly AcceptedFinding[], resources: RenderedResource[]): void {
  for (const a of accepted) {
    if (!/^CKV2?_AWS_\d+$/.test(a.check)) throw new Error(`accepted finding ${a.check}: not a checkov AWS check id`);
    if (a.reason.trim().length < 20) throw new Error(`accepted finding ${a.check} on ${a.address}: say why, in a sentence a reviewer accepts`);
    if (!resources.some((r) => a.address.test(r.address))) {
      throw new Error(`accepted finding ${a.check} on ${a.address} matches no rendered policy: remove it`);
    }
  }
}

/** The Terraform file checkov reads: one resource per rendered document, skips written where accepted. */
export function renderTerraform(resources: RenderedResource[], accepted: readonly AcceptedFinding[] = ACCEPTED_FINDINGS): string {
  checkAcceptedFindings(accepted, resources);
  const taken = new Set<string>();
  const blocks = resources.map((r) => {
    const lines = [`resource "${r.type}" "${labelOf(r.address, taken)}" {`, `  # ${r.address}`];
    for (const a of accepted) {
      if (a.address.test(r.address)) lines.push(`  #checkov:skip=${a.check}:${a.reason.replace(/\s+/g, ' ')}`);
    }
    for (const [name, value] of r.attributes) lines.push(`  ${name} = ${typeof value === 'string' ? hclString(value) : String(value)}`);
    for (const [name, json] of r.documents) lines.push(`  ${name} = ${heredoc(json)}`);
    lines.push('}');
    return lines.join('\n');
  });
  return [
    '# Written by scripts/rendered-policies.ts from `terraform show -json` of a deployment: every',
    '# policy document as Terraform rendered it, for checkov. Do not edit; it is rewritten on every run.',
    '',
    blocks.join('\n\n'),
    '',
  ].join('\n');
}

/** `terraform show -json` of the applied example. */
function showState(stateDir: string): TerraformShow {
  const result = spawnSync(join(root, 'scripts', 'terraform.sh'), [`-chdir=${stateDir}`, 'show', '-json', '-no-color'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    env: { ...process.env, TF_IN_AUTOMATION: '1' },
  });
  if (result.status !== 0) throw new Error(`terraform show -json in ${stateDir} failed (exit ${result.status}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as TerraformShow;
}

/** Writes the rendered policies of the state in `stateDir` to `outDir`/main.tf; returns what it wrote. */
export function writeRenderedPolicies(stateDir: string, outDir: string): RenderedResource[] {
  const resources = renderedPolicies(showState(stateDir));
  if (resources.length === 0) throw new Error(`no policy in the Terraform state of ${stateDir}: apply it first (make test-e2e deploys it)`);
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'main.tf'), renderTerraform(resources));
  return resources;
}

/** scripts/checkov.sh scan <dir>: its exit status (0 only when no check failed) and what it printed. */
export function scanWithCheckov(dir: string): { status: number; output: string } {
  const result = spawnSync(join(root, 'scripts', 'checkov.sh'), ['scan', dir], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status ?? 1, output: `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? String(result.error) : ''}` };
}
