import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_OPTIONS } from '../../../scripts/lib/bundle-options.ts';
import { handlerPath, root } from '../../../scripts/lib/generate.ts';
import { PLAYBOOK_REGISTRY } from '../../../shared/playbooks/registry.ts';

/**
 * Each function's bundle as `make build` splits it: the sources in its entry `index.mjs`, and in
 * the whole bundle. Packages are left out (external) here: only Firebreak's sources are looked at.
 */
async function bundleOf(entryPoint: string): Promise<{ entry: string[]; all: string[] }> {
  const out = await build({ ...BUNDLE_OPTIONS, minify: false, packages: 'external', entryPoints: [join(root, entryPoint)], outdir: join(root, '.firebreak', 'bundle-test'), write: false, metafile: true, logLevel: 'silent' });
  const outputs = Object.entries((out.metafile as Metafile).outputs);
  const inputsOf = (o: Metafile['outputs'][string]) => Object.keys(o.inputs).filter((i) => !i.includes('node_modules/'));
  return {
    entry: outputs.filter(([file]) => file.endsWith('/index.mjs')).flatMap(([, o]) => inputsOf(o)),
    all: outputs.flatMap(([, o]) => inputsOf(o)),
  };
}

const bundles = new Map<string, { entry: string[]; all: string[] }>();

describe('Architecture: what each function bundles', () => {
  beforeAll(async () => {
    for (const entry of PLAYBOOK_REGISTRY) bundles.set(entry.name, await bundleOf(handlerPath(entry.name)));
  }, 60_000);

  it('bundles only its own playbook, never the registry or another playbook', () => {
    for (const { name } of PLAYBOOK_REGISTRY) {
      // Act
      const foreign = bundles.get(name)!.all.filter((i) => i === 'shared/playbooks/registry.ts' || (i.startsWith('shared/playbooks/') && !i.startsWith(`shared/playbooks/${name}/`)));

      // Assess
      expect(foreign, name).toEqual([]);
    }
  });

  it('loads its later stages (evidence, investigation, release order) from a chunk of their own, not with the entry', async () => {
    for (const entry of PLAYBOOK_REGISTRY) {
      // Prepare
      const { entry: eager, all } = bundles.get(entry.name)!;
      const playbook = await (await entry.load()).playbook.load();

      // Assess: the playbook splits, and its later module is in the bundle but not in the entry.
      expect(playbook.containmentSteps.length, entry.name).toBeLessThan(playbook.steps.length);
      expect(all, entry.name).toContain(`shared/playbooks/${entry.name}/later.ts`);
      expect(eager, entry.name).not.toContain(`shared/playbooks/${entry.name}/later.ts`);
      expect(eager.filter((i) => /\/(release-actions|evidence|investigation|forensics|malware|online|review|report)\.ts$/.test(i) && i.startsWith(`shared/playbooks/${entry.name}/`)), entry.name).toEqual([]);
    }
  });
});

describe('Architecture: the RDS function', () => {
  it('loads the database drivers when it first connects, not with its entry (its isolation needs none)', async () => {
    // Prepare: the whole bundle, packages included.
    const out = await build({ ...BUNDLE_OPTIONS, entryPoints: [join(root, handlerPath('rds-instance'))], outdir: join(root, '.firebreak', 'bundle-test'), write: false, metafile: true, logLevel: 'silent' });
    const outputs = Object.entries((out.metafile as Metafile).outputs);
    const inputsOf = (o: Metafile['outputs'][string]) => Object.keys(o.inputs);
    const entry = outputs.filter(([file]) => file.endsWith('/index.mjs')).flatMap(([, o]) => inputsOf(o));
    const all = outputs.flatMap(([, o]) => inputsOf(o));
    const drivers = (inputs: string[]) => inputs.filter((i) => /node_modules\/(mysql2|pg|pg-protocol|iconv-lite)\//.test(i) && !i.endsWith('pg/lib/utils.js') && !i.endsWith('pg/lib/defaults.js'));

    // Assess: in the bundle, but not in the entry (only pg's escaping functions are).
    expect(drivers(all).length).toBeGreaterThan(0);
    expect(drivers(entry)).toEqual([]);
  }, 60_000);
});
