// `node scripts/rendered-policies.ts`: checkov over the policies Terraform actually rendered.
//
// After terraform/examples/local is applied (the e2e global setup does it), writes every policy
// document of its state as a plain Terraform resource with the document as a literal
// (.firebreak/rendered-policies/main.tf) and runs scripts/checkov.sh on it: exit 1 when a check
// fails. What it accepts, and why: ACCEPTED_FINDINGS in scripts/lib/rendered-policies.ts.
//
//   node scripts/rendered-policies.ts [--state-dir <dir>] [--out <dir>] [--no-scan]
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { localExampleDir, root } from './lib/local.ts';
import { ACCEPTED_FINDINGS, scanWithCheckov, writeRenderedPolicies } from './lib/rendered-policies.ts';

function main(): void {
  const { values } = parseArgs({
    options: {
      'state-dir': { type: 'string', default: localExampleDir },
      out: { type: 'string', default: join(root, '.firebreak', 'rendered-policies') },
      'no-scan': { type: 'boolean', default: false },
    },
  });
  const stateDir = resolve(values['state-dir']);
  const outDir = resolve(values.out);
  const resources = writeRenderedPolicies(stateDir, outDir);
  const byType = new Map<string, number>();
  for (const r of resources) byType.set(r.type, (byType.get(r.type) ?? 0) + 1);
  console.log(`rendered-policies: ${resources.length} documents from ${stateDir} (${[...byType].map(([t, n]) => `${n} ${t}`).join(', ')}) -> ${join(outDir, 'main.tf')}`);
  for (const a of ACCEPTED_FINDINGS) console.log(`rendered-policies: accepted ${a.check} on ${a.address}: ${a.reason}`);
  if (values['no-scan']) return;
  const { status, output } = scanWithCheckov(outDir);
  process.stdout.write(output);
  process.exitCode = status;
}

main();
