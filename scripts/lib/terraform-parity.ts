/**
 * Asks real Terraform (through scripts/terraform.sh) whether `terraform plan` accepts values for
 * `variable` blocks, to check generated validations against the zod schema they came from.
 *
 * @example
 * ```ts
 * import { terraformAccepts } from './terraform-parity.ts';
 *
 * const hcl = 'variable "n" {\n  type = number\n  validation {\n    condition     = var.n < 3\n    error_message = "n must be below 3."\n  }\n}\n';
 * await terraformAccepts(hcl, [{ name: 'small', value: 1 }, { name: 'big', value: 5 }]);
 * // { small: true, big: 'n must be below 3.' }
 * ```
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hclLiteral } from './terraform-schema.ts';

const TERRAFORM_SH = fileURLToPath(new URL('../terraform.sh', import.meta.url));

/** Runs scripts/terraform.sh in `cwd`; resolves with its exit code and output, whatever the code. */
function terraform(cwd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      TERRAFORM_SH,
      args,
      { cwd, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, TF_IN_AUTOMATION: '1' } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') reject(error);
        else resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}

interface Diagnostic {
  severity: string;
  summary: string;
  detail?: string;
}

/** The validation's own message, or "<summary>: <detail>" for other errors (type conversion …). */
function describe(d: Diagnostic): string {
  if (d.summary === 'Invalid value for variable' && d.detail) return d.detail.replace(/\n\nThis was checked by the validation rule at .*$/s, '');
  return d.detail ? `${d.summary}: ${d.detail}` : d.summary;
}

/**
 * Plans a module holding only `variableHcl` once per case, in ONE `terraform test` run, and tells
 * for each case whether plan accepted the value (`true`) or the first error Terraform reported
 * (a validation's `error_message`, or "<summary>: <detail>" for a type error).
 *
 * Each case gets its own `tests/case_<i>.tftest.hcl` file with one `run { command = plan }`:
 * Terraform skips the remaining runs of a file after one fails, but not other files.
 *
 * @param variableHcl - one or more `variable` blocks (no providers, no resources).
 * @param cases - with one variable, `value` is its value; with several, an object of values by
 *   variable name. JSON values; `undefined` leaves the variable unset (its default applies).
 * @returns results by case name.
 * @throws Error if init fails or a case got no result (e.g. invalid HCL), with Terraform's output.
 */
export async function terraformAccepts(variableHcl: string, cases: Array<{ name: string; value: unknown }>): Promise<Record<string, boolean | string>> {
  const names = [...variableHcl.matchAll(/^\s*variable\s+"([^"]+)"/gm)].map((m) => m[1]!);
  if (names.length === 0) throw new Error('terraformAccepts: variableHcl declares no variable');
  if (new Set(cases.map((c) => c.name)).size !== cases.length) throw new Error('terraformAccepts: case names must be unique');

  const dir = await mkdtemp(join(tmpdir(), 'firebreak-parity-'));
  try {
    await mkdir(join(dir, 'tests'));
    await writeFile(join(dir, 'main.tf'), variableHcl);
    await Promise.all(
      cases.map((c, i) => {
        const values = names.length === 1 ? { [names[0]!]: c.value } : ((c.value ?? {}) as Record<string, unknown>);
        const lines = Object.entries(values)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `    ${k} = ${hclLiteral(v)}\n`);
        return writeFile(join(dir, 'tests', `case_${i}.tftest.hcl`), `run "case_${i}" {\n  command = plan\n\n  variables {\n${lines.join('')}  }\n}\n`);
      }),
    );

    const init = await terraform(dir, ['init', '-input=false', '-no-color', '-backend=false']);
    if (init.code !== 0) throw new Error(`terraformAccepts: terraform init failed:\n${init.stderr}${init.stdout}`);
    const test = await terraform(dir, ['test', '-json', '-no-color']);

    const status = new Map<string, string>();
    const errors = new Map<string, string>();
    const other: string[] = [];
    for (const line of test.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line) as { '@testrun'?: string; test_run?: { progress: string; status?: string }; diagnostic?: Diagnostic };
      const run = event['@testrun'];
      if (run && event.test_run?.progress === 'complete') status.set(run, event.test_run.status ?? '');
      if (event.diagnostic?.severity === 'error') {
        if (run && !errors.has(run)) errors.set(run, describe(event.diagnostic));
        else if (!run) other.push(describe(event.diagnostic));
      }
    }

    const results: Record<string, boolean | string> = {};
    cases.forEach((c, i) => {
      const s = status.get(`case_${i}`);
      if (s === undefined || (s !== 'pass' && !errors.has(`case_${i}`))) {
        throw new Error(`terraformAccepts: no result for case "${c.name}" (status ${s}):\n${[...other, test.stderr].join('\n')}`);
      }
      results[c.name] = s === 'pass' ? true : errors.get(`case_${i}`)!;
    });
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs `terraform fmt -check -diff` on `hcl`; resolves with '' when fmt would leave it unchanged,
 * else with fmt's diff.
 */
export async function terraformFmtDiff(hcl: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'firebreak-fmt-'));
  try {
    await writeFile(join(dir, 'main.tf'), hcl);
    const fmt = await terraform(dir, ['fmt', '-check', '-diff', '-no-color', 'main.tf']);
    return fmt.code === 0 ? '' : fmt.stdout || fmt.stderr || `terraform fmt exited ${fmt.code}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
