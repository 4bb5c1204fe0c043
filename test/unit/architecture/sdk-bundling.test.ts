import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Metafile, type Plugin } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { BUNDLE_OPTIONS } from '../../../scripts/lib/bundle-options.ts';
import { root } from '../../../scripts/lib/generate.ts';
import { literalSchemaKeys } from '../../../scripts/lib/sdk-schema-keys.ts';

/** Bundles `source` (a module in the repository's root, so packages resolve) as `make build` does, or with other plugins. */
async function bundle(source: string, plugins: readonly Plugin[] = BUNDLE_OPTIONS.plugins) {
  const out = await build({
    ...BUNDLE_OPTIONS,
    plugins: [...plugins],
    splitting: false,
    stdin: { contents: source, resolveDir: root, loader: 'ts', sourcefile: 'probe.ts' },
    outdir: join(root, '.firebreak', 'bundle-test'),
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const bytesFrom = (pattern: RegExp) =>
    Object.values((out.metafile as Metafile).outputs)
      .flatMap((o) => Object.entries(o.inputs))
      .filter(([input]) => pattern.test(input))
      .reduce((total, [, i]) => total + i.bytesInOutput, 0);
  return { text: out.outputFiles.map((f) => f.text).join('\n'), bytesFrom };
}

const ONE_EC2_COMMAND = `import { EC2Client, ModifyNetworkInterfaceAttributeCommand } from '@aws-sdk/client-ec2';
export const probe = [EC2Client, ModifyNetworkInterfaceAttributeCommand];`;
const EC2_SCHEMAS = /client-ec2\/dist-es\/schemas\//;

describe('Architecture: how the AWS SDK is bundled', () => {
  it('writes the constant keys of a schema module as the literal keys they are, and nothing else', () => {
    // Prepare
    const source = ['const _xN = "xmlName";', 'const _eQN = "ec2QueryName";', 'export var A$ = [3, n0, _A, 0, [_B], [[0, { [_eQN]: `B`, [_xN]: _xN, [other]: 1, [_unknown]: 2 }]]];'].join('\n');

    // Act
    const { code, rewritten } = literalSchemaKeys(source);

    // Assess: the two constants used as keys become literal keys; values, other names, unknown constants stay.
    expect(rewritten).toBe(2);
    expect(code).toContain('{ "ec2QueryName": `B`, "xmlName": _xN, [other]: 1, [_unknown]: 2 }');
  });

  it('keeps only the EC2 schemas a function sends: a few KiB for one command, not the whole service', async () => {
    // Act
    const withPlugin = await bundle(ONE_EC2_COMMAND);
    const without = await bundle(ONE_EC2_COMMAND, BUNDLE_OPTIONS.plugins.filter((p) => p.name !== 'sdk-schema-literal-keys'));

    // Assess: without the rewrite esbuild keeps nearly every EC2 schema (the test would see it).
    expect(withPlugin.bytesFrom(EC2_SCHEMAS)).toBeLessThan(20 * 1024);
    expect(without.bytesFrom(EC2_SCHEMAS)).toBeGreaterThan(200 * 1024);
  }, 60_000);

  it('requires Node builtins instead of importing them, so no module facade reads their lazy exports (undici for http.WebSocket)', async () => {
    // Act
    const { text } = await bundle(`import { request } from 'node:http'; import { createHash } from 'crypto'; export const probe = [request, createHash];`);

    // Assess: only the banner's node:module is imported as an ES module.
    expect([...text.matchAll(/from\s*["'](node:[a-z_/0-9]+|http|crypto)["']/g)].map((m) => m[1])).toEqual(['node:module']);
    // (esbuild's require shim, minified to a short name, calls the banner's require.)
    expect(text).toMatch(/[\w$]\("node:http"\)/);
    expect(text).toMatch(/[\w$]\("node:crypto"\)/);
  });

  it('runs: a bundled http request reaches a server and a bundled hash hashes', async () => {
    // Prepare
    const { text } = await bundle(`import { createServer, get } from 'node:http'; import { createHash } from 'node:crypto';
export const probe = () => new Promise((resolve, reject) => {
  const server = createServer((_q, r) => r.end(createHash('sha256').update('firebreak').digest('hex'))).listen(0, '127.0.0.1', () => {
    get('http://127.0.0.1:' + server.address().port, (res) => { let body = ''; res.on('data', (c) => (body += c)); res.on('end', () => { server.close(); resolve(body); }); }).on('error', reject);
  });
});`);
    const file = join(mkdtempSync(join(tmpdir(), 'firebreak-bundle-')), 'probe.mjs');
    writeFileSync(file, text);

    // Act
    const { probe } = (await import(/* @vite-ignore */ pathToFileURL(file).href)) as { probe: () => Promise<string> };

    // Assess
    expect(await probe()).toBe(createHash('sha256').update('firebreak').digest('hex'));
  });
});
