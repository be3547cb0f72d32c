import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Integration tests start real processes and sockets; two cores, so keep files parallel but few.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
