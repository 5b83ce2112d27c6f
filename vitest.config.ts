import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['dist/**', 'node_modules/**'],
    setupFiles: ['test/support/setup.ts'],
    // A PostgreSQL server for the PostgreSQL store's tests: PLANEXEC_TEST_PG_URL, else a throw-away cluster.
    globalSetup: ['test/support/pg-global-setup.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
