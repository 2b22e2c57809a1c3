/**
 * A vitest reporter that ends every run by saying which tests were skipped, why, and how to run
 * them: the PostgreSQL suites without GATEHOUSE_TEST_PG_URL, the page test without Chromium, the
 * data directory ownership tests when not root. Listed after the default reporter in
 * vitest.config.ts, so its lines come after the run's own summary.
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import type { Reporter, TestModule, Vitest } from 'vitest/node';

export interface SkipReason {
  /** What was skipped, as the summary names it. */
  what: string;
  /** How to run it. */
  how: string;
  /** Whether the reason holds in this environment (else a matching skip is "other"). */
  applies: () => boolean;
  /** Whether a skipped test belongs to it, by its full name and its file. */
  matches: (fullName: string, file: string) => boolean;
}

export const SKIP_REASONS: readonly SkipReason[] = [
  {
    what: 'PostgreSQL suites',
    how: 'set GATEHOUSE_TEST_PG_URL=postgres://user@host:5432/db (a server on which the tests may create and drop databases), or run `bash .ci/run`',
    applies: () => !process.env['GATEHOUSE_TEST_PG_URL'],
    matches: (name) => /postgres/i.test(name),
  },
  {
    what: 'Chromium page test',
    how: 'install Chromium at /usr/bin/chromium (`apt-get install -y chromium`)',
    applies: () => !existsSync('/usr/bin/chromium'),
    matches: (name) => /chromium/i.test(name),
  },
  {
    what: 'data directory ownership tests',
    how: 'run them as root (they give a file to another user)',
    applies: () => process.getuid?.() !== 0,
    matches: (_name, file) => file.endsWith('data-dir-mode.test.ts'),
  },
];

interface Skipped {
  fullName: string;
  file: string;
}

/**
 * The summary's lines for the skipped tests of a run. With a test name filter (`-t`) the tests it
 * leaves out are skipped too, and cannot be told from the others: they are counted, not listed.
 */
export function skipSummary(skipped: readonly Skipped[], opts: { nameFilter?: boolean; reasons?: readonly SkipReason[] } = {}): string[] {
  const reasons = opts.reasons ?? SKIP_REASONS;
  if (skipped.length === 0) return ['skipped: nothing, every suite ran'];
  const groups = new Map<SkipReason | null, Skipped[]>();
  for (const s of skipped) {
    const reason = reasons.find((r) => r.applies() && r.matches(s.fullName, s.file)) ?? null;
    groups.set(reason, [...(groups.get(reason) ?? []), s]);
  }
  const count = (list: readonly Skipped[]) => {
    const files = [...new Set(list.map((s) => s.file))];
    const tests = `${list.length} test${list.length === 1 ? '' : 's'}`;
    return files.length === 1 ? `${tests} in ${files[0]}` : `${tests} in ${files.length} files`;
  };
  const lines = [`skipped: ${count(skipped)}`];
  for (const reason of reasons) {
    const list = groups.get(reason);
    if (list) lines.push(`  ${reason.what} (${count(list)}): ${reason.how}`);
  }
  const other = groups.get(null);
  if (other && opts.nameFilter) {
    lines.push(`  left out by the test name filter, or skipped for another reason (${count(other)})`);
  } else if (other) {
    lines.push(`  other skipped tests (${count(other)}):`);
    for (const s of other.slice(0, 10)) lines.push(`    ${s.file} > ${s.fullName}`);
    if (other.length > 10) lines.push(`    … and ${other.length - 10} more`);
  }
  return lines;
}

export default class SkipSummaryReporter implements Reporter {
  private vitest: Vitest | null = null;

  onInit(vitest: Vitest): void {
    this.vitest = vitest;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    if (this.vitest === null) return;
    const root = this.vitest.config.root;
    const skipped: Skipped[] = [];
    for (const module of testModules) {
      const file = relative(root, module.moduleId);
      for (const test of module.children.allTests('skipped')) skipped.push({ fullName: test.fullName, file });
    }
    const nameFilter = this.vitest.config.testNamePattern !== undefined;
    this.vitest.logger.log(['', ...skipSummary(skipped, { nameFilter }), ''].join('\n'));
  }
}
