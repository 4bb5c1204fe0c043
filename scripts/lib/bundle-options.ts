import type { BuildOptions } from 'esbuild';
import { builtinsViaRequire } from './builtins-via-require.ts';
import { sdkSchemaLiteralKeys } from './sdk-schema-keys.ts';

/**
 * How every function is bundled. ES modules first (`mainFields`): the AWS SDK's CommonJS build
 * (esbuild's default for node) defeats tree shaking and doubles what a cold start parses. Split
 * at dynamic imports: the entry `index.mjs` holds what runs before isolation, and what is loaded
 * later (evidence and investigation steps, the SDK clients they use) is in chunks/ beside it.
 * The SDK's schema modules are made tree-shakeable on the way in (scripts/lib/sdk-schema-keys.ts),
 * and Node's builtins are required rather than imported (scripts/lib/builtins-via-require.ts).
 */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  mainFields: ['module', 'main'],
  splitting: true,
  entryNames: 'index',
  chunkNames: 'chunks/[name]-[hash]',
  outExtension: { '.js': '.mjs' },
  minify: true,
  keepNames: true,
  legalComments: 'none',
  // Some dependencies still call require(); give every ESM file of the bundle one.
  banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
  logLevel: 'warning',
  plugins: [sdkSchemaLiteralKeys, builtinsViaRequire],
} as const satisfies BuildOptions;
