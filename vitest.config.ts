// vitest settings: most tests drive real CLIs (xylem, ostree, gpg) as child processes, so they are
// I/O- and process-bound: run two files at a time and allow generous timeouts on a loaded machine.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 300_000,
  },
});
