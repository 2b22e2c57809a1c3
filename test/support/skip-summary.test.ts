/** The skip summary printed at the end of a test run: what was skipped, why, and how to run it. */
import { describe, expect, it } from 'vitest';
import { skipSummary, type SkipReason } from './skip-summary.ts';

const reasons = (pg: boolean, chromium: boolean): SkipReason[] => [
  { what: 'PostgreSQL suites', how: 'set GATEHOUSE_TEST_PG_URL', applies: () => pg, matches: (name) => /postgres/i.test(name) },
  { what: 'Chromium page test', how: 'install chromium', applies: () => chromium, matches: (name) => /chromium/i.test(name) },
];

describe('skipSummary', () => {
  it('says so when nothing was skipped', () => {
    expect(skipSummary([], { reasons: reasons(true, true) })).toEqual(['skipped: nothing, every suite ran']);
  });

  it('names each reason with its count, its files and how to run it', () => {
    const lines = skipSummary(
      [
        { fullName: 'Store on postgres > stores', file: 'test/storage/store.test.ts' },
        { fullName: 'two replicas on one PostgreSQL > one comment', file: 'test/e2e/replicas.test.ts' },
        { fullName: 'the web page in headless Chromium > renders', file: 'test/e2e/page.test.ts' },
      ],
      { reasons: reasons(true, true) },
    );
    expect(lines).toEqual([
      'skipped: 3 tests in 3 files',
      '  PostgreSQL suites (2 tests in 2 files): set GATEHOUSE_TEST_PG_URL',
      '  Chromium page test (1 test in test/e2e/page.test.ts): install chromium',
    ]);
  });

  it('lists a skip no reason explains, or a reason that does not hold here, as other', () => {
    const lines = skipSummary([{ fullName: 'Store on postgres > stores', file: 'test/storage/store.test.ts' }], {
      reasons: reasons(false, true),
    });
    expect(lines).toEqual([
      'skipped: 1 test in test/storage/store.test.ts',
      '  other skipped tests (1 test in test/storage/store.test.ts):',
      '    test/storage/store.test.ts > Store on postgres > stores',
    ]);
  });

  it('counts without listing what a test name filter may have left out', () => {
    const lines = skipSummary([{ fullName: 'a > b', file: 'test/a.test.ts' }], { nameFilter: true, reasons: reasons(true, true) });
    expect(lines).toEqual([
      'skipped: 1 test in test/a.test.ts',
      '  left out by the test name filter, or skipped for another reason (1 test in test/a.test.ts)',
    ]);
  });
});
