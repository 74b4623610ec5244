import { defineConfig } from 'vitest/config';
import { sdkPartitionAlias } from './scripts/sdk-partition.mjs';

export default defineConfig({
  // As in the bundle: the SDK's partition table on its own (scripts/sdk-partition.mjs).
  resolve: { alias: sdkPartitionAlias },
  test: {
    include: ['test/**/*.test.ts'],
    // e2e tests spawn the built CLI against loopback servers; give them room on a 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
