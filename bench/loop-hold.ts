/**
 * bench/loop-hold: how long each heavy step of processing holds the event loop (the thread the
 * HTTP server answers on) with hostile but accepted input.
 *
 *   npx tsx bench/loop-hold.ts [--reps 3]
 *
 * Synchronous steps are timed as they run (worst of the runs). Steps that read in slices (security
 * reports) or off the thread (inflating a large payload) are timed whole and by the longest the
 * loop was held meanwhile (perf_hooks' event-loop delay monitor, 1 ms resolution). Figures, not a
 * test; on a machine shared with other work they vary with its load.
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { translateGitHub } from '../src/adapters/github/translate.ts';
import { parseSecurityReport } from '../src/adapters/gitlab/security-report.ts';
import { parseSarif } from '../src/adapters/sarif.ts';
import { plan } from '../src/core/plan.ts';
import { defaultPolicy } from '../src/core/policy/load.ts';
import { createRenderer } from '../src/render/templates.ts';
import { decodePayload, decodePayloadAsync, deflatePayload } from '../src/storage/payload-codec.ts';
import { intakeBody } from '../test/builders/intake.ts';
import { githubExample, issuesPayload } from '../test/support/github.ts';
import { HOSTILE_SHAPES } from '../test/support/text-parsers.ts';

const { values } = parseArgs({ options: { reps: { type: 'string', default: '3' } } });
const reps = Math.max(1, Number(values.reps));
const MB = 1024 * 1024;

const rows: { step: string; ms: number; held?: number; note?: string }[] = [];

function sync(step: string, run: () => unknown, note?: string): void {
  let worst = 0;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    run();
    worst = Math.max(worst, performance.now() - t0);
  }
  rows.push({ step, ms: worst, note });
}

async function sliced(step: string, run: () => Promise<unknown>): Promise<void> {
  let worst = 0;
  let held = 0;
  for (let i = 0; i < reps; i++) {
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    const t0 = performance.now();
    await run();
    worst = Math.max(worst, performance.now() - t0);
    await new Promise((r) => setTimeout(r, 5));
    h.disable();
    held = Math.max(held, Math.max(0, h.max / 1e6 - 1));
  }
  rows.push({ step, ms: worst, held });
}

// Payloads near GitHub's 25 MB: one long string, and many small objects (the costlier shape).
const oneString = JSON.stringify({ action: 'opened', issue: { body: 'x'.repeat(25 * MB - 100) } });
const smallObjects = JSON.stringify({
  action: 'opened',
  commits: Array.from({ length: 200_000 }, (_, i) => ({ id: String(i), message: 'm'.repeat(60), added: ['a/b.ts'], n: i })),
});
sync(`JSON.parse, 25 MB, one string`, () => JSON.parse(oneString));
sync(`JSON.parse, ${(smallObjects.length / MB).toFixed(0)} MB, 200,000 small objects`, () => JSON.parse(smallObjects));
const stored = deflatePayload(smallObjects);
sync(`inflate a stored ${(smallObjects.length / MB).toFixed(0)} MB payload on the thread`, () => decodePayload(stored, 'deflate-base64'));
await sliced(`inflate it as the worker does (libuv pool)`, () => decodePayloadAsync(stored, 'deflate-base64'));

// A push with many commits: translated (zod) for its changed paths.
const push = githubExample({ name: 'push' });
const firstCommit = (push['commits'] as object[])[0];
const bigPush = JSON.parse(
  JSON.stringify({
    ...push,
    commits: Array.from({ length: 20_000 }, (_, i) => ({
      ...firstCommit,
      id: String(i),
      added: [`src/f${i}.ts`],
      modified: [],
      removed: [],
    })),
  }),
) as unknown;
sync('translate a push of 20,000 commits', () => translateGitHub('push', 'd', bigPush, 'gatehouse[bot]'));

// Intakes and pull request descriptions of 64 KB in every hostile shape: translate + plan.
const ctx = {
  policy: defaultPolicy,
  policySource: 'built-in default',
  policyWarnings: [],
  now: new Date('2026-12-04T12:00:00Z'),
  render: createRenderer(),
  history: [],
  clocks: [],
  related: [],
  threatLog: [],
};
const worstOf = (label: string, make: (body: string) => { name: string; payload: unknown; changedPaths: string[] }): void => {
  let worst = { ms: 0, shape: '' };
  for (let rep = 0; rep < reps; rep++) {
    for (const [shape, text] of Object.entries(HOSTILE_SHAPES)) {
      for (const prefix of ['', `${intakeBody({ service: null })}\n\n`]) {
        const { name, payload, changedPaths } = make(`${prefix}${text}`.slice(0, 65_536));
        const t0 = performance.now();
        const t = translateGitHub(name, 'd', payload, 'gatehouse[bot]');
        if (t.kind === 'event') plan(t.event, { ...ctx, changedPaths });
        const ms = performance.now() - t0;
        if (ms > worst.ms) worst = { ms, shape: `${prefix ? 'intake, then ' : ''}${shape}` };
      }
    }
  }
  rows.push({ step: label, ms: worst.ms, note: worst.shape });
};
worstOf('intake issue, 64 KB: translate + plan', (body) => ({
  name: 'issues',
  payload: issuesPayload({ body, labels: ['intake'] }),
  changedPaths: [],
}));
worstOf('pull request, 64 KB description: translate + plan', (body) => {
  const payload = githubExample({ name: 'pull_request', action: 'opened' });
  const pr = payload['pull_request'] as Record<string, unknown>;
  pr['body'] = body;
  pr['labels'] = [{ name: 'intake' }];
  return { name: 'pull_request', payload, changedPaths: ['src/auth/session.ts'] };
});

// Security reports: SARIF with many results and rules, GitLab's own format.
const sarif = (results: number, rules: number): unknown => ({
  version: '2.1.0',
  runs: [
    {
      tool: {
        driver: {
          name: 'scanner',
          rules: Array.from({ length: rules }, (_, i) => ({ id: `R${i}`, properties: { 'security-severity': '5.0' } })),
        },
      },
      results: Array.from({ length: results }, (_, i) => ({
        ruleId: `R${(i * 7919) % rules}`,
        level: 'error',
        message: { text: 'm' },
        locations: [{ physicalLocation: { artifactLocation: { uri: `src/${i}.ts` }, region: { startLine: i } } }],
      })),
    },
  ],
});
const sarifText = JSON.stringify(sarif(100_000, 10_000));
sync(`JSON.parse a SARIF report, ${(sarifText.length / MB).toFixed(0)} MB`, () => JSON.parse(sarifText));
const sarifDoc = JSON.parse(sarifText) as unknown;
await sliced('read a SARIF report of 100,000 results, 10,000 rules', () =>
  parseSarif(sarifDoc, { idPrefix: 'gitlab:sast', category: 'sast', url: null }),
);
const gitlabDoc = {
  version: '15.0.0',
  scan: { type: 'dependency_scanning', scanner: { id: 'gemnasium', name: 'Gemnasium' } },
  vulnerabilities: Array.from({ length: 100_000 }, (_, i) => ({
    id: `v${i}`,
    name: `CVE-${i}`,
    severity: 'High',
    identifiers: [{ type: 'cve', name: `CVE-${i}`, value: `CVE-${i}` }],
    location: { file: 'package-lock.json', dependency: { package: { name: 'p' }, version: '1' } },
  })),
};
await sliced('read a GitLab report of 100,000 vulnerabilities', () =>
  parseSecurityReport(gitlabDoc, { fallbackCategory: 'dependencies', url: null }),
);

const width = Math.max(...rows.map((r) => r.step.length));
console.log(`worst of ${reps} run(s); "held": the longest the event loop was held meanwhile (sliced or off-thread steps)\n`);
console.log(`${'step'.padEnd(width)}  ${'ms'.padStart(8)}  ${'held ms'.padStart(8)}  note`);
for (const r of rows)
  console.log(
    `${r.step.padEnd(width)}  ${r.ms.toFixed(1).padStart(8)}  ${(r.held === undefined ? '-' : r.held.toFixed(1)).padStart(8)}  ${r.note ?? ''}`,
  );
