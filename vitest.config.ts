import { defineConfig } from 'vitest/config';

// Unit and in-process API tests are fast; *.e2e.test.ts start real processes (Corral, ZooKeeper,
// Chromium) and get longer bounds. Every test bounds its own waits as well.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll's own default (1 s) is too short for a page on a loaded 2-core runner; still a bound.
    expect: { poll: { timeout: 5_000 } },
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
