// `make build`: from the playbook registry, writes each function's entry point
// (functions/<name>/handler.ts), terraform/playbooks.generated.tf and the SSM Command documents
// under terraform/ssm-documents/ (all committed; a test fails when they are stale), then bundles each function into dist/<name>.zip (reproducible)
// with dist/<name>.iam.json listing the IAM actions its playbook declares.
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { iamActionsOf, iamManifestOf } from '../shared/engine/index.ts';
import { LEDGER_IAM_ACTIONS } from '../shared/ledger/index.ts';
import { PLAYBOOK_REGISTRY, type PlaybookEntry } from '../shared/playbooks/registry.ts';
import { GENERATED_TF, handlerPath, renderCommandDocuments, renderHandler, renderTerraform, root } from './lib/generate.ts';
import { writeReproducibleZip } from './lib/zip.ts';

const dist = join(root, 'dist');
// Granted by the Terraform module on exact resources: Firebreak's own table, bucket and
// queue; the configured forensic KMS key; the configured isolation instance profile's role.
const SCOPED_BY_TERRAFORM = /^(s3|dynamodb|sqs|logs|kms):|^iam:PassRole$/;

/** Writes a generated file only when it changed (so a build leaves the tree clean). */
async function writeGenerated(relative: string, text: string): Promise<void> {
  const path = join(root, relative);
  const before = await readFile(path, 'utf8').catch(() => undefined);
  if (before === text) return;
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  console.log(`generated ${relative}`);
}

async function buildFunction(entry: PlaybookEntry): Promise<void> {
  const { playbook } = await entry.load();
  const out = await build({
    entryPoints: [join(root, handlerPath(entry.name))],
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    write: false,
    outfile: 'index.mjs',
    // Some dependencies still call require(); give the ESM bundle one.
    banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
    logLevel: 'warning',
  });
  const code = Buffer.from(out.outputFiles[0]!.contents);
  const zipPath = join(dist, `${entry.name}.zip`);
  await writeReproducibleZip(zipPath, [{ name: 'index.mjs', data: code }]);
  // The handler itself writes the ledger; the steps declare the rest.
  const all = iamActionsOf(playbook, LEDGER_IAM_ACTIONS);
  // What Terraform grants is decided per statement by the function's mode and options; the
  // actions scoped to exact resources (ledger, evidence, queue, key, isolation role) are granted
  // by the module on those resources.
  const statements = iamManifestOf(playbook)
    .map((s) => ({ ...s, actions: s.actions.filter((a) => !SCOPED_BY_TERRAFORM.test(a)) }))
    .filter((s) => s.actions.length > 0);
  await writeFile(
    join(dist, `${entry.name}.iam.json`),
    `${JSON.stringify({ playbook: entry.name, actions: all.filter((a) => !SCOPED_BY_TERRAFORM.test(a)), scopedActions: all.filter((a) => SCOPED_BY_TERRAFORM.test(a)), statements }, null, 2)}\n`,
  );
  const zip = await readFile(zipPath);
  const sha = createHash('sha256').update(zip).digest('base64');
  console.log(`built dist/${entry.name}.zip  ${(zip.length / 1024).toFixed(0)} KiB  CodeSha256 ${sha}`);
}

await mkdir(dist, { recursive: true });
for (const entry of PLAYBOOK_REGISTRY) await writeGenerated(handlerPath(entry.name), renderHandler(entry));
await writeGenerated(GENERATED_TF, await renderTerraform());
for (const document of await renderCommandDocuments()) await writeGenerated(document.path, document.text);
const only = process.argv.slice(2);
for (const entry of PLAYBOOK_REGISTRY.filter((e) => only.length === 0 || only.includes(e.name))) await buildFunction(entry);
