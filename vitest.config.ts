import { defineConfig } from 'vitest/config';
import SkipSummaryReporter from './test/support/skip-summary.ts';

export default defineConfig({
  // The default reporter, then a summary of the skipped suites and how to run them.
  // A throwaway PostgreSQL for the run when it is installed and GATEHOUSE_TEST_PG_URL is unset.
  // Every GitHub call a test makes is checked against GitHub's REST API description.
  test: {
    testTimeout: 30000,
    hookTimeout: 60000,
    pool: 'forks',
    globalSetup: ['./test/support/global-postgres.ts'],
    setupFiles: ['test/support/github-openapi-setup.ts'],
    reporters: ['default', new SkipSummaryReporter()],
  },
});
