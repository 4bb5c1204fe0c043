// What every `make bench` section gets: the emulator, its world, and the local pipeline deployed once.
import { deployLocal, localOutputs } from '../lib/local.ts';
import { emulatorWorld, type World } from '../lib/world.ts';

export interface BenchContext {
  endpoint: string;
  region: string;
  world: World;
  /** terraform/examples/local applied to the emulator (deployed on first use, once per run). */
  outputs(): Promise<Record<string, any>>;
  /** Prints one line of the report. */
  print(line: string): void;
}

/** One section of the benchmark: prints figures, asserts nothing. */
export interface BenchSection {
  /** What the section measures, as its heading says. */
  title: string;
  run(ctx: BenchContext): Promise<void>;
}

export function benchContext(endpoint: string, region = 'us-east-1'): BenchContext {
  let deployed: Promise<Record<string, any>> | undefined;
  return {
    endpoint,
    region,
    world: emulatorWorld(endpoint, region),
    // BENCH_REUSE_DEPLOYMENT=1: the pipeline already applied to this emulator is used as it is
    // (after `make build`, to measure a new bundle without a fresh apply; sections that deploy
    // functions still run the deployed code).
    outputs: () => (deployed ??= process.env.BENCH_REUSE_DEPLOYMENT === '1' ? Promise.resolve(localOutputs()) : deployLocal({ endpoint, region, quiet: true, log: () => undefined })),
    print: (line) => console.log(line),
  };
}

/** min / median / max of a sample, as the report prints it. */
export const stats = (xs: number[], unit = 'ms'): string => {
  const s = [...xs].sort((a, b) => a - b);
  return `min ${s[0]} ${unit}  median ${s[Math.floor(s.length / 2)]} ${unit}  max ${s[s.length - 1]} ${unit}  (n=${s.length})`;
};
