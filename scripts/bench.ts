// `make bench`: figures, never assertions (performance targets live here, not in timed tests).
// Each section is a module of scripts/bench/; `make bench BENCH=pipeline,storm` runs some of them.
import { benchContext, type BenchSection } from './bench/context.ts';

const SECTIONS: Record<string, () => Promise<{ section: BenchSection }>> = {
  pipeline: () => import('./bench/pipeline.ts'),
  coldstart: () => import('./bench/coldstart.ts'),
  faults: () => import('./bench/faults.ts'),
  peer: () => import('./bench/peer.ts'),
  // Last: the longest.
  storm: () => import('./bench/storm.ts'),
  'storm-limited': () => import('./bench/storm-limited.ts'),
};

const endpoint = process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';
const wanted = (process.env.BENCH ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const unknown = wanted.filter((name) => !(name in SECTIONS));
if (unknown.length) throw new Error(`unknown bench section(s) ${unknown.join(', ')}; known: ${Object.keys(SECTIONS).join(', ')}`);
const ctx = benchContext(endpoint);
const machine = await import('node:os').then((os) => `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`);
console.log(`Firebreak benchmark ${new Date().toISOString()} on ${machine}`);
for (const [name, load] of Object.entries(SECTIONS)) {
  if (wanted.length && !wanted.includes(name)) continue;
  const { section } = await load();
  console.log(`\n## ${section.title}`);
  const started = Date.now();
  await section.run(ctx);
  console.log(`(${name}: ${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
