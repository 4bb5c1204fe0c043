// Builds one minified ESM bundle per function and zips it reproducibly into
// dist/<function>.zip, with dist/<function>.iam.json listing the IAM actions the
// playbook declares (the Terraform module grants exactly those).
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { iamActionsOf } from '../shared/engine/index.ts';
import { LEDGER_IAM_ACTIONS } from '../shared/ledger/index.ts';
import { PLAYBOOKS } from '../shared/playbooks/index.ts';
import { writeReproducibleZip } from './lib/zip.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
// Granted by the Terraform module on exact resources: Firebreak's own table, bucket and
// queue; the configured forensic KMS key; the configured isolation instance profile's role.
const SCOPED_BY_TERRAFORM = /^(s3|dynamodb|sqs|logs|kms):|^iam:PassRole$/;

async function buildFunction(name: string): Promise<void> {
  const playbook = PLAYBOOKS[name as keyof typeof PLAYBOOKS];
  if (!playbook) throw new Error(`functions/${name} has no playbook in shared/playbooks`);
  const out = await build({
    entryPoints: [join(root, 'functions', name, 'handler.ts')],
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
  const zipPath = join(dist, `${name}.zip`);
  await writeReproducibleZip(zipPath, [{ name: 'index.mjs', data: code }]);
  // The handler itself writes the ledger; the steps declare the rest.
  const all = iamActionsOf(playbook, LEDGER_IAM_ACTIONS);
  await writeFile(
    join(dist, `${name}.iam.json`),
    `${JSON.stringify({ playbook: name, actions: all.filter((a) => !SCOPED_BY_TERRAFORM.test(a)), scopedActions: all.filter((a) => SCOPED_BY_TERRAFORM.test(a)) }, null, 2)}\n`,
  );
  const zip = await readFile(zipPath);
  const sha = createHash('sha256').update(zip).digest('base64');
  console.log(`built dist/${name}.zip  ${(zip.length / 1024).toFixed(0)} KiB  CodeSha256 ${sha}`);
}

await mkdir(dist, { recursive: true });
const only = process.argv.slice(2);
const functions = (await readdir(join(root, 'functions'), { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
for (const name of functions.filter((f) => only.length === 0 || only.includes(f)).sort()) {
  await rm(join(dist, name), { recursive: true, force: true });
  await buildFunction(name);
}
