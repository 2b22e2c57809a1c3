import { defineConfig } from 'vitest/config';
import SkipSummaryReporter from './test/support/skip-summary.ts';

export default defineConfig({
  // The default reporter, then a summary of the skipped suites and how to run them.
  test: { testTimeout: 30000, hookTimeout: 60000, pool: 'forks', reporters: ['default', new SkipSummaryReporter()] },
});
