import type { TestProject } from 'vitest/node';
import { deployLocal } from '../../scripts/lib/local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoint: string;
    outputs: Record<string, any>;
  }
}

/** Deploys terraform/examples/local to the emulator once for every end-to-end test file. */
export default async function setup(project: TestProject): Promise<void> {
  const endpoint = process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';
  const outputs = await deployLocal({ endpoint, region: 'us-east-1', quiet: true, log: () => undefined });
  project.provide('endpoint', endpoint);
  project.provide('outputs', outputs);
}
