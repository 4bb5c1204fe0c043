import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/**
 * The AWS SDK's generated schema modules (`@aws-sdk/client-*​/dist-es/schemas/schemas_0.js`) write
 * trait objects with computed keys naming module constants — `{ [_xN]: _sGN }`, where
 * `const _xN = "xmlName"`. esbuild cannot prove a computed key free of side effects, so it keeps
 * every schema holding one and, through them, nearly the whole file: a function sending one EC2
 * command carried 539 KiB of EC2 schemas, parsed before its first call. Written as the literal
 * keys they are (`{ "xmlName": _sGN }`, the same object), the schemas are pure and tree shaking
 * keeps only those the function's commands reach (2 KiB for ModifyNetworkInterfaceAttribute).
 *
 * Only `[_name]:` where `_name` is a top-level `const _name = "…";` of the same file is rewritten;
 * anything else is left as it is.
 */
export function literalSchemaKeys(source: string): { code: string; rewritten: number } {
  const constants = new Map<string, string>();
  for (const m of source.matchAll(/^const (_[A-Za-z0-9_$]+) = ("(?:[^"\\\n]|\\.)*");$/gm)) constants.set(m[1]!, m[2]!);
  let rewritten = 0;
  const code = source.replace(/\[(_[A-Za-z0-9_$]+)\]:/g, (whole, name: string) => {
    const literal = constants.get(name);
    if (literal === undefined) return whole;
    rewritten++;
    return `${literal}:`;
  });
  return { code, rewritten };
}

/** The esbuild plugin applying {@link literalSchemaKeys} to the SDK's schema modules. */
export const sdkSchemaLiteralKeys: Plugin = {
  name: 'sdk-schema-literal-keys',
  setup(build) {
    build.onLoad({ filter: /[\\/]dist-es[\\/](?:.*[\\/])?schemas[\\/]schemas_\d+\.js$/ }, async (args) => ({
      contents: literalSchemaKeys(await readFile(args.path, 'utf8')).code,
      loader: 'js',
    }));
  },
};
