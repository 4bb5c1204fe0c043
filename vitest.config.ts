import { defineConfig } from 'vitest/config';

// unit: no network, aws-sdk-client-mock for AWS. databases: the in-database actions against the
// real PostgreSQL and MariaDB of scripts/databases.sh (loopback). emulator: the patched moto itself.
// e2e: the whole path (PutEvents → Terraform's rule → SQS → drain → bundle → AWS state);
// its global setup deploys terraform/examples/local once.
export default defineConfig({
  test: {
    coverage: {
      provider: 'v8',
      include: ['shared/**/*.ts'],
      reporter: ['text-summary', 'text'],
      thresholds: {
        lines: 90,
        functions: 90,
        branches: 80,
        statements: 90,
        // The engine and the ledger decide what happens to every incident: held to more.
        'shared/engine/**': { branches: 95, statements: 95 },
        'shared/ledger/**': { branches: 95, statements: 95 },
      },
    },
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], environment: 'node' } },
      {
        test: {
          name: 'databases',
          include: ['test/databases/**/*.test.ts'],
          environment: 'node',
          // One server of each kind, shared: the files end sessions by client address (loopback).
          fileParallelism: false,
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      { test: { name: 'emulator', include: ['test/emulator/**/*.test.ts'], environment: 'node', testTimeout: 60_000, hookTimeout: 60_000 } },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
