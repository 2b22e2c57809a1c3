/**
 * bench/gate: collecting release evidence for a big pull request, and evaluating the gate on it.
 *
 *   npx tsx bench/gate.ts [--checks 500] [--alerts 2000] [--files 250] [--reps 5] [--latency 0,50]
 *
 * A fake GitHub REST API on 127.0.0.1 (node:http) serves one pull request whose head has
 * `--checks` check runs and `--alerts` open code-scanning alerts, paginated 100 a page as GitHub
 * does (`total_count` for check runs, `Link: rel="last"` for alerts, reviews and files). The real
 * adapter (GitHubReleaseForge over ProbotOctokit, as the worker builds it) collects the evidence:
 * for each `--latency` (ms the fake API waits before answering each request, to show what the
 * concurrent page reads buy on a real network) it prints wall time (median and max of `--reps`
 * cold reads, the cache forgotten before each), API calls (counted by the adapter and by the
 * server), evidence sizes, the cached re-read (0 calls) and the read after `forget(sha)`.
 * Then `evaluateGate` (src/core/gate/evaluate.ts) under the default policy on that evidence.
 *
 * Figures, not a test: bounded loops, stops by itself; exits 1 only if a sanity check fails
 * (wrong counts, calls on a cached read, evidence errors).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ProbotOctokit } from 'probot';
import { EvidenceCache } from '../src/adapters/evidence.ts';
import { GitHubReleaseForge } from '../src/adapters/github/release.ts';
import type { ReleaseEvidence } from '../src/core/gate/evidence.ts';
import type { ChangeRequestSnapshot, IssueRef, RepoRef } from '../src/core/model.ts';

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '500' },
    alerts: { type: 'string', default: '2000' },
    files: { type: 'string', default: '250' },
    reps: { type: 'string', default: '5' },
    latency: { type: 'string', default: '0,50' },
  },
});
const CHECKS = Number(values.checks);
const ALERTS = Number(values.alerts);
const FILES = Number(values.files);
const REPS = Math.max(1, Math.min(50, Number(values.reps)));
const LATENCIES = values.latency
  .split(',')
  .map(Number)
  .filter((n) => Number.isFinite(n) && n >= 0);

const HEAD = 'f'.repeat(40);
const OWNER_REPO = '/repos/acme/payments';
const repo: RepoRef = { platform: 'github', fullName: 'acme/payments', id: 1, defaultBranch: 'main' };
const pr: IssueRef = { repo, number: 7, kind: 'change' };

// --- the fake API's data ---------------------------------------------------------------------

const SCANS = ['secret-scan', 'codeql', 'dependency-review', 'slsa-provenance'];
const checkRuns = Array.from({ length: CHECKS }, (_, i) => ({
  id: 10_000 + i,
  name: SCANS[i] ?? `build (shard ${i})`,
  status: 'completed',
  conclusion: i === CHECKS - 1 ? 'neutral' : 'success',
  html_url: `https://github.com/acme/payments/runs/${10_000 + i}`,
  details_url: null,
  app: { id: 15368 },
  head_sha: HEAD,
}));
const LEVELS = ['critical', 'high', 'medium', 'low', null] as const;
const alerts = Array.from({ length: ALERTS }, (_, i) => ({
  number: i + 1,
  state: 'open',
  html_url: `https://github.com/acme/payments/security/code-scanning/${i + 1}`,
  rule: {
    id: `js/rule-${i % 40}`,
    name: `rule-${i % 40}`,
    description: `Rule ${i % 40} description`,
    severity: i % 3 === 0 ? 'error' : 'warning',
    // Mostly low/medium; a few critical (the gate blocks on them without an exception).
    security_severity_level: i % 500 === 0 ? 'critical' : LEVELS[1 + (i % 4)],
  },
  tool: { name: 'CodeQL', version: '2.16.0' },
  most_recent_instance: {
    ref: 'refs/pull/7/head',
    state: 'open',
    location: { path: `src/module${i % 90}/file${i}.ts`, start_line: 1 + (i % 300) },
  },
}));
const files = Array.from({ length: FILES }, (_, i) => ({
  filename: i % 50 === 0 ? `src/payments/f${i}.ts` : `src/app/f${i}.ts`,
  status: 'modified',
}));
const reviews = [
  { id: 1, user: { login: 'alice' }, state: 'APPROVED', commit_id: HEAD },
  { id: 2, user: { login: 'sec-bob' }, state: 'APPROVED', commit_id: HEAD },
];

let served = 0;
let latencyMs = 0;

function pageOf<T>(list: readonly T[], url: URL): { items: T[]; last: number } {
  const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
  const page = Number(url.searchParams.get('page') ?? 1);
  return { items: list.slice((page - 1) * perPage, page * perPage), last: Math.max(1, Math.ceil(list.length / perPage)) };
}

function linkHeader(url: URL, last: number, base: string): string {
  const at = (p: number): string => {
    const u = new URL(url.pathname + url.search, base);
    u.searchParams.set('page', String(p));
    return u.toString();
  };
  const page = Number(url.searchParams.get('page') ?? 1);
  const parts = [];
  if (page < last) parts.push(`<${at(page + 1)}>; rel="next"`, `<${at(last)}>; rel="last"`);
  return parts.join(', ');
}

function handle(req: IncomingMessage, res: ServerResponse, base: string): void {
  served++;
  const url = new URL(req.url ?? '/', base);
  const send = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
    res.end(text);
  };
  const paged = <T>(list: readonly T[]): void => {
    const { items, last } = pageOf(list, url);
    const link = linkHeader(url, last, base);
    send(200, items, link ? { link } : {});
  };
  const p = url.pathname;
  if (req.method !== 'GET') return send(405, { message: 'read only' });
  if (p === `${OWNER_REPO}/commits/${HEAD}/check-runs`) {
    const { items } = pageOf(checkRuns, url);
    return send(200, { total_count: checkRuns.length, check_runs: items });
  }
  if (p === `${OWNER_REPO}/commits/${HEAD}/status`) {
    return send(200, {
      state: 'success',
      sha: HEAD,
      total_count: 1,
      statuses: [{ context: 'ci/jenkins', state: 'success', target_url: 'https://ci.example.com/1' }],
    });
  }
  if (p === `${OWNER_REPO}/pulls/7/reviews`) return paged(reviews);
  // The approvers' facts: the head commit's accounts and each approver's permission.
  if (p === `${OWNER_REPO}/commits/${HEAD}`)
    return send(200, { sha: HEAD, author: { login: 'dev', type: 'User' }, committer: { login: 'web-flow', type: 'User' } });
  const perm = /\/collaborators\/([^/]+)\/permission$/.exec(p);
  if (perm) return send(200, { permission: 'write', role_name: 'write', user: { login: decodeURIComponent(perm[1]!), type: 'User' } });
  if (p === `${OWNER_REPO}/pulls/7/files`) return paged(files);
  if (p === `${OWNER_REPO}/pulls/7`)
    return send(200, { number: 7, state: 'open', head: { sha: HEAD }, base: { ref: 'main' }, changed_files: files.length });
  if (p === `${OWNER_REPO}/code-scanning/alerts`) {
    if (url.searchParams.get('ref') !== 'refs/pull/7/head' || url.searchParams.get('state') !== 'open')
      return send(422, { message: 'unexpected query' });
    return paged(alerts);
  }
  send(404, { message: 'Not Found' });
}

// --- run ---------------------------------------------------------------------------------------

const server = createServer((req, res) => {
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  if (latencyMs > 0) setTimeout(() => handle(req, res, base), latencyMs);
  else handle(req, res, base);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

// As the worker builds it (src/adapters/github/app.ts): retries and throttling on.
const octokit = new ProbotOctokit({
  auth: { token: 'ghs_bench' },
  baseUrl,
  retry: { retries: 2 },
  throttle: { enabled: true, onRateLimit: () => true, onSecondaryRateLimit: () => true },
});
const cache = new EvidenceCache();
const forge = new GitHubReleaseForge(octokit, { botLogin: 'gatehouse[bot]', cache });

let failed = false;
const check = (ok: boolean, what: string): void => {
  if (!ok) {
    failed = true;
    console.error(`SANITY CHECK FAILED: ${what}`);
  }
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const kib = (n: number): string => `${(n / 1024).toFixed(1)} KiB`;

console.log(
  `bench/gate: ${CHECKS} check runs, ${ALERTS} open code-scanning alerts, ${FILES} changed files; Node ${process.version}; ${REPS} cold reads per latency`,
);
let evidence: ReleaseEvidence | null = null;
for (const latency of LATENCIES) {
  latencyMs = latency;
  const times: number[] = [];
  let calls = 0;
  let servedPerRead = 0;
  for (let r = 0; r < REPS; r++) {
    forge.forget(HEAD);
    const before = served;
    const t0 = performance.now();
    evidence = await forge.collectEvidence(pr, HEAD);
    times.push(performance.now() - t0);
    calls = evidence.stats.apiCalls;
    servedPerRead = served - before;
  }
  const ev = evidence!;
  check(ev.errors.length === 0, `evidence errors: ${JSON.stringify(ev.errors)}`);
  check(ev.checks.length === CHECKS + 1, `checks ${ev.checks.length}`);
  check(ev.findings.length === ALERTS, `findings ${ev.findings.length}`);
  check(ev.changedPaths.length === FILES, `files ${ev.changedPaths.length}`);
  check(calls === servedPerRead, `adapter counted ${calls} calls, server served ${servedPerRead}`);
  console.log(`\nAPI latency ${latency} ms per request`);
  console.log(
    `  cold read:   median ${ms(median(times))}, max ${ms(Math.max(...times))}; ${calls} API calls (server saw ${servedPerRead})`,
  );

  const before = served;
  const t1 = performance.now();
  const again = await forge.collectEvidence(pr, HEAD);
  const cachedMs = performance.now() - t1;
  check(served === before && again.stats.apiCalls === 0 && again.stats.cached === true, 'cached read made calls');
  console.log(`  cached read: ${ms(cachedMs)}; ${again.stats.apiCalls} API calls (server saw ${served - before})`);

  forge.forget(HEAD);
  const before2 = served;
  const t2 = performance.now();
  const fresh = await forge.collectEvidence(pr, HEAD);
  console.log(`  after forget(sha): ${ms(performance.now() - t2)}; ${fresh.stats.apiCalls} API calls (server saw ${served - before2})`);
}

if (evidence) {
  const json = JSON.stringify(evidence);
  const bySeverity = new Map<string, number>();
  for (const f of evidence.findings) bySeverity.set(f.severity, (bySeverity.get(f.severity) ?? 0) + 1);
  console.log(
    `\nevidence: ${evidence.checks.length} checks, ${evidence.findings.length} findings (${[...bySeverity].map(([s, n]) => `${s} ${n}`).join(', ')}), ${evidence.changedPaths.length} changed paths, ${evidence.approvals.length} approvals; JSON ${kib(json.length)}`,
  );

  // The gate core, when it is there.
  try {
    const { evaluateGate } = await import('../src/core/gate/evaluate.ts');
    const { defaultPolicy } = await import('../src/core/policy/load.ts');
    const change: ChangeRequestSnapshot = {
      ref: pr,
      title: 'Release 1.2',
      body: '## Rollback\nRevert the tag and redeploy 1.1.',
      labels: ['release'],
      state: 'open',
      author: { login: 'carol', isBot: false },
      url: 'https://github.com/acme/payments/pull/7',
      headSha: HEAD,
      targetBranch: 'release/1.2',
      draft: false,
    };
    const now = new Date('2026-03-02T10:00:00Z');
    const input = { change, evidence, exceptions: [] };
    const times: number[] = [];
    let verdict = '';
    let reasons = 0;
    for (let i = 0; i < 21; i++) {
      const t0 = performance.now();
      const v = evaluateGate(input, defaultPolicy, now);
      times.push(performance.now() - t0);
      verdict = v.verdict;
      reasons = v.reasons.length;
    }
    console.log(
      `evaluateGate (default policy, no exceptions): median ${ms(median(times.slice(1)))}, first ${ms(times[0]!)}; verdict ${verdict}, ${reasons} reasons`,
    );
  } catch (err) {
    console.log(`evaluateGate: not measured (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
  }
}

await new Promise<void>((resolve) => server.close(() => resolve()));
octokit.log.debug?.('done');
if (failed) process.exit(1);
