import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { root } from '../../../scripts/lib/generate.ts';

/** Every .ts file under `dir`, relative to the repository. */
function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => relative(root, join(d.parentPath, d.name)));
}

/** The repository paths a file imports (static and dynamic, relative specifiers only). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.[^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.map((s) => relative(root, resolve(dirname(join(root, file)), s)));
}

const under = (path: string, dirs: string[]) => dirs.some((d) => path === d || path.startsWith(`${d}/`));

/** The foundation: what every layer may use, and which uses no engine, action or playbook. */
const FOUNDATION = ['vocabulary', 'errors', 'findings', 'ledger', 'evidence', 'config', 'aws', 'logging', 'pause', 'notifications', 'iam'].map((d) => `shared/${d}`);

function violations(files: string[], forbidden: string[]): string[] {
  return files.flatMap((f) => importsOf(f).filter((i) => under(i, forbidden)).map((i) => `${f} imports ${i}`));
}

describe('Architecture: who may import whom', () => {
  it('no file under shared/ imports functions/ or scripts/', () => {
    expect(violations(sources('shared'), ['functions', 'scripts'])).toEqual([]);
  });

  it('the foundation imports no engine, action, playbook or handler', () => {
    const files = sources('shared').filter((f) => under(f, FOUNDATION));
    expect(files.length).toBeGreaterThan(10);
    expect(violations(files, ['shared/engine', 'shared/actions', 'shared/playbooks', 'shared/handler'])).toEqual([]);
  });

  it('the engine imports no action, playbook or handler', () => {
    expect(violations(sources('shared/engine'), ['shared/actions', 'shared/playbooks', 'shared/handler'])).toEqual([]);
  });

  it('shared actions import no playbook or handler (playbooks use actions, not the other way round)', () => {
    expect(violations(sources('shared/actions'), ['shared/playbooks', 'shared/handler'])).toEqual([]);
  });

  it('a playbook imports no other playbook', () => {
    const playbooks = readdirSync(join(root, 'shared/playbooks'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    const crossings = playbooks.flatMap((p) => violations(sources(`shared/playbooks/${p}`), playbooks.filter((o) => o !== p).map((o) => `shared/playbooks/${o}`)));
    expect(crossings).toEqual([]);
  });

  it('the vocabulary imports nothing of Firebreak', () => {
    expect(sources('shared/vocabulary').flatMap(importsOf)).toEqual([]);
  });
});
