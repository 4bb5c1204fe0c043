// `make build`: from the playbook registry, writes each function's entry point
// (functions/<name>/handler.ts), terraform/playbooks.generated.tf, the SSM Command documents under
// terraform/ssm-documents/, the Terraform tests' copy of each IAM manifest and docs/iam.md (all
// committed; a test fails when they are stale), then bundles each function into dist/<name>.zip
// (reproducible) with dist/<name>.iam.json, its playbook's IAM manifest, and the catch-all's
// `unhandled` function into dist/unhandled.zip.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from './lib/bundle-options.ts';
import { UNHANDLED_FUNCTION } from '../shared/handler/unhandled.ts';
import { PLAYBOOK_REGISTRY, type PlaybookEntry } from '../shared/playbooks/registry.ts';
import { GENERATED_TF, handlerPath, manifestFixturePath, renderCommandDocuments, renderHandler, renderManifest, renderTerraform, root } from './lib/generate.ts';
import { IAM_DOC, renderIamDoc } from './lib/iam-doc.ts';
import { writeReproducibleZip } from './lib/zip.ts';

const dist = join(root, 'dist');
// Granted by the Terraform module on exact resources: Firebreak's own table, bucket and
// queue; the configured forensic KMS key; the configured isolation instance profile's role.

/** Writes a generated file only when it changed (so a build leaves the tree clean). */
async function writeGenerated(relative: string, text: string): Promise<void> {
  const path = join(root, relative);
  const before = await readFile(path, 'utf8').catch(() => undefined);
  if (before === text) return;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  console.log(`generated ${relative}`);
}

/** Bundles one entry point into dist/<name>.zip, `index.mjs` and its chunks (reproducible: the same sources give the same CodeSha256). */
async function bundle(name: string, entryPoint: string): Promise<void> {
  const outdir = join(dist, name);
  const out = await build({ ...BUNDLE_OPTIONS, entryPoints: [join(root, entryPoint)], outdir, write: false });
  const files = out.outputFiles.map((f) => ({ name: relative(outdir, f.path).split(sep).join('/'), data: Buffer.from(f.contents) }));
  const zipPath = join(dist, `${name}.zip`);
  await writeReproducibleZip(zipPath, files);
  const zip = await readFile(zipPath);
  const sha = createHash('sha256').update(zip).digest('base64');
  const entrySize = files.find((f) => f.name === 'index.mjs')!.data.length;
  const total = files.reduce((a, f) => a + f.data.length, 0);
  console.log(`built dist/${name}.zip  ${(zip.length / 1024).toFixed(0)} KiB (${files.length} files, entry ${(entrySize / 1024).toFixed(0)} of ${(total / 1024).toFixed(0)} KiB)  CodeSha256 ${sha}`);
}

async function buildFunction(entry: PlaybookEntry): Promise<void> {
  await bundle(entry.name, handlerPath(entry.name));
  const manifest = await renderManifest(entry);
  await writeFile(join(dist, `${entry.name}.iam.json`), manifest);
  await writeGenerated(manifestFixturePath(entry.name), manifest);
}

await mkdir(dist, { recursive: true });
for (const entry of PLAYBOOK_REGISTRY) await writeGenerated(handlerPath(entry.name), renderHandler(entry));
await writeGenerated(GENERATED_TF, await renderTerraform());
await writeGenerated(IAM_DOC, renderIamDoc());
for (const document of await renderCommandDocuments()) await writeGenerated(document.path, document.text);
const only = process.argv.slice(2);
for (const entry of PLAYBOOK_REGISTRY.filter((e) => only.length === 0 || only.includes(e.name))) await buildFunction(entry);
// The catch-all (terraform/catch-all.tf): GuardDuty findings no enabled playbook takes. Its role is
// written in terraform/modules/catch-all (ledger, topic, its queue and logs), not derived from steps.
if (only.length === 0 || only.includes(UNHANDLED_FUNCTION)) await bundle(UNHANDLED_FUNCTION, 'functions/unhandled/handler.ts');
