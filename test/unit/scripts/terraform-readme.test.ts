import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../../../scripts/lib/generate.ts';

const moduleDir = join(root, 'terraform');
const tf = readdirSync(moduleDir)
  .filter((f) => f.endsWith('.tf'))
  .map((f) => readFileSync(join(moduleDir, f), 'utf8'))
  .join('\n');
const readme = readFileSync(join(moduleDir, 'README.md'), 'utf8');

/** The first column of the markdown table under a `## <heading>`. */
function tableNames(heading: string): string[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith(`${heading}\n`)) ?? '';
  return [...section.matchAll(/^\| ([a-z0-9_]+) \|/gm)].map((m) => m[1]!).filter((n) => n !== 'Name');
}

describe('terraform/README.md', () => {
  it('lists every input of the module, and no input it does not have', () => {
    const variables = [...tf.matchAll(/^variable "([a-z0-9_]+)"/gm)].map((m) => m[1]!).sort();
    expect(tableNames('Inputs').sort()).toEqual(variables);
  });

  it('lists every output of the module, and no output it does not have', () => {
    const outputs = [...tf.matchAll(/^output "([a-z0-9_]+)"/gm)].map((m) => m[1]!).sort();
    expect(tableNames('Outputs').sort()).toEqual(outputs);
  });
});
