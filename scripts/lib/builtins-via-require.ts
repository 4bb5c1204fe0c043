import { builtinModules } from 'node:module';
import type { Plugin } from 'esbuild';

const BUILTIN = new Set(builtinModules.filter((m) => !m.startsWith('_')));

/**
 * Node builtins imported as ES modules are `require`d instead (the bundle's banner gives every file
 * a `require`): each import becomes a small CommonJS module, `module.exports = require("node:x")`,
 * whose properties esbuild reads where they are used. An ES import of a builtin makes Node build
 * its module facade, which reads every export — lazy getters included: importing `node:http`
 * loaded undici (for `http.WebSocket`, ~14 ms of a cold start), `node:crypto` Web Crypto,
 * `node:process` the stdin stream. Through `require`, a lazy property is read only when used.
 */
export const builtinsViaRequire: Plugin = {
  name: 'builtins-via-require',
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_/0-9]+$/ }, (args) => {
      // The require() below is left to esbuild (a builtin, external on platform node).
      if (args.kind === 'require-call' || args.namespace === 'node-builtin') return undefined;
      const name = args.path.replace(/^node:/, '');
      return BUILTIN.has(name) ? { path: name, namespace: 'node-builtin' } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'node-builtin' }, (args) => ({ contents: `module.exports = require(${JSON.stringify(`node:${args.path}`)});`, loader: 'js' }));
  },
};
