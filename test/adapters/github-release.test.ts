/**
 * GitHubReleaseForge against GitHub's REST API on nock: evidence (pagination, reviews at head,
 * alert severities, one failing source), the per-head cache, the gatehouse/release-gate check
 * run, release notes, idempotent issues, pull requests at a commit.
 */
import nock from 'nock';
import { ProbotOctokit } from 'probot';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceCache } from '../../src/adapters/evidence.ts';
import { alertSeverity, approverFacts, GitHubReleaseForge, MAX_APPROVER_LOOKUPS } from '../../src/adapters/github/release.ts';
import type { ApprovalEvidence } from '../../src/core/gate/evidence.ts';
import type { IssueRef, RepoRef } from '../../src/core/model.ts';

const API = 'https://api.github.com';
const BOT = 'gatehouse[bot]';
const HEAD = 'a'.repeat(40);
const OLD = 'b'.repeat(40);
const repo: RepoRef = { platform: 'github', fullName: 'acme/payments', id: 1, defaultBranch: 'main' };
const pr: IssueRef = { repo, number: 7, kind: 'change' };
const base = '/repos/acme/payments';
const now = (): Date => new Date('2026-03-02T10:00:00Z');

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

function forge(cache = new EvidenceCache()): GitHubReleaseForge {
  const octokit = new ProbotOctokit({ auth: { token: 'ghs_test' }, retry: { enabled: false }, throttle: { enabled: false } });
  return new GitHubReleaseForge(octokit, { botLogin: BOT, appId: 42, cache, now });
}

const link = (path: string, last: number): Record<string, string> => ({
  link: `<${API}${path}&page=2>; rel="next", <${API}${path}&page=${last}>; rel="last"`,
});

const checkRun = (i: number, over: Record<string, unknown> = {}) => ({
  id: 1000 + i,
  name: `job-${i}`,
  status: 'completed',
  conclusion: 'success',
  html_url: `https://github.com/acme/payments/runs/${1000 + i}`,
  app: { id: 15368 },
  ...over,
});

const alert = (n: number, rule: Record<string, unknown>, path = `src/f${n}.ts`) => ({
  number: n,
  html_url: `https://github.com/acme/payments/security/code-scanning/${n}`,
  state: 'open',
  rule: { id: `js/rule-${n}`, name: `rule-${n}`, description: `Rule ${n}`, ...rule },
  tool: { name: 'CodeQL', version: '2.16.0' },
  most_recent_instance: { ref: 'refs/pull/7/head', location: { path, start_line: 3 } },
});

/** GET /pulls/{n}, the fields the adapter reads among GitHub's (a pull request changing `changedFiles` files). */
const pullAnswer = (changedFiles: number, sha = HEAD) => ({
  url: `${API}${base}/pulls/7`,
  number: 7,
  state: 'open',
  title: 'Release 2026.03',
  user: { login: 'dev', type: 'User' },
  head: { ref: 'release/2026.03', sha },
  base: { ref: 'main', sha: OLD },
  commits: 3,
  additions: 120,
  deletions: 4,
  changed_files: changedFiles,
});

/** Interceptors for one complete read of the evidence (every one must be used). */
function mockEvidence({ alerts500 = false }: { alerts500?: boolean } = {}): void {
  const runs = [
    ...Array.from({ length: 149 }, (_, i) => checkRun(i)),
    checkRun(149, { name: 'gatehouse/release-gate', conclusion: 'failure', app: { id: 42 } }),
  ];
  runs[3] = checkRun(3, { name: 'secret-scan', conclusion: 'failure' });
  runs[4] = checkRun(4, { name: 'slsa-provenance', status: 'in_progress', conclusion: null });
  runs[5] = checkRun(5, { name: 'codeql', conclusion: 'timed_out' });
  runs[6] = checkRun(6, { name: 'lint', conclusion: 'skipped' });
  const scope = nock(API);
  scope
    .get(`${base}/commits/${HEAD}/check-runs`)
    .query({ per_page: 100, page: 1 })
    .reply(200, { total_count: 150, check_runs: runs.slice(0, 100) });
  scope
    .get(`${base}/commits/${HEAD}/check-runs`)
    .query({ per_page: 100, page: 2 })
    .reply(200, { total_count: 150, check_runs: runs.slice(100) });
  scope
    .get(`${base}/commits/${HEAD}/status`)
    .query({ per_page: 100, page: 1 })
    .reply(200, {
      state: 'failure',
      sha: HEAD,
      total_count: 2,
      statuses: [
        { context: 'ci/jenkins', state: 'success', target_url: 'https://ci.example.com/1' },
        { context: 'sign/cosign', state: 'error', target_url: null },
      ],
    });
  scope
    .get(`${base}/pulls/7/reviews`)
    .query({ per_page: 100, page: 1 })
    .reply(200, [
      { id: 1, user: { login: 'alice' }, state: 'APPROVED', commit_id: HEAD },
      { id: 2, user: { login: 'bob' }, state: 'APPROVED', commit_id: OLD },
      { id: 3, user: { login: 'carol' }, state: 'CHANGES_REQUESTED', commit_id: OLD },
      { id: 4, user: { login: 'carol' }, state: 'COMMENTED', commit_id: HEAD },
      { id: 5, user: { login: 'dave' }, state: 'CHANGES_REQUESTED', commit_id: OLD },
      { id: 6, user: { login: 'dave' }, state: 'APPROVED', commit_id: HEAD },
      { id: 7, user: { login: 'erin' }, state: 'APPROVED', commit_id: HEAD },
      { id: 8, user: { login: 'erin' }, state: 'DISMISSED', commit_id: HEAD },
      { id: 9, user: null, state: 'APPROVED', commit_id: HEAD },
      { id: 10, user: { login: 'renovate[bot]', type: 'Bot' }, state: 'APPROVED', commit_id: HEAD },
    ]);
  scope.get(`${base}/pulls/7`).reply(200, pullAnswer(101));
  // The facts of the approvals that could count (at the head, not a bot): the head commit's accounts, each approver's permission.
  scope.get(`${base}/commits/${HEAD}`).reply(200, {
    sha: HEAD,
    commit: { message: 'Release' },
    author: { login: 'dave', id: 4, type: 'User' },
    committer: { login: 'web-flow', id: 19864447, type: 'User' },
    parents: [],
  });
  scope
    .get(`${base}/collaborators/alice/permission`)
    .reply(200, { permission: 'write', role_name: 'maintain', user: { login: 'alice', id: 1, type: 'User' } });
  scope
    .get(`${base}/collaborators/dave/permission`)
    .reply(200, { permission: 'admin', role_name: 'admin', user: { login: 'dave', id: 4, type: 'User' } });
  const filesPath = `${base}/pulls/7/files?per_page=100`;
  scope
    .get(`${base}/pulls/7/files`)
    .query({ per_page: 100, page: 1 })
    .reply(
      200,
      Array.from({ length: 100 }, (_, i) => ({ filename: `src/payments/f${i}.ts`, status: 'modified' })),
      link(filesPath, 2),
    );
  scope
    .get(`${base}/pulls/7/files`)
    .query({ per_page: 100, page: 2 })
    .reply(200, [{ filename: 'src/auth/new.ts', previous_filename: 'src/auth/old.ts', status: 'renamed' }]);
  const alertsQuery = { ref: 'refs/pull/7/head', state: 'open', per_page: 100 };
  if (alerts500) {
    scope
      .get(`${base}/code-scanning/alerts`)
      .query({ ...alertsQuery, page: 1 })
      .reply(500, { message: 'Server Error' });
    return;
  }
  const page1 = [
    alert(1, { severity: 'error', security_severity_level: 'critical' }),
    alert(2, { severity: 'error', security_severity_level: null }),
    alert(3, { severity: 'warning' }),
    alert(4, { severity: 'note' }),
    ...Array.from({ length: 96 }, (_, i) => alert(10 + i, { severity: 'warning', security_severity_level: 'low' })),
  ];
  scope
    .get(`${base}/code-scanning/alerts`)
    .query({ ...alertsQuery, page: 1 })
    .reply(200, page1, link(`${base}/code-scanning/alerts?ref=refs%2Fpull%2F7%2Fhead&state=open&per_page=100`, 2));
  scope
    .get(`${base}/code-scanning/alerts`)
    .query({ ...alertsQuery, page: 2 })
    .reply(200, [alert(200, { severity: 'error', security_severity_level: 'high' }, 'src/auth/login.ts')]);
}

describe('GitHub release evidence', () => {
  it('reads every source page by page, leaves out our own check, and maps states, reviews and severities', async () => {
    mockEvidence();
    const ev = await forge().collectEvidence(pr, HEAD);

    expect(ev.errors).toEqual([]);
    expect(ev.headSha).toBe(HEAD);
    expect(ev.collectedAt).toBe('2026-03-02T10:00:00.000Z');
    expect(ev.stats).toEqual({ apiCalls: 12, checkRuns: 150, findings: 101, statuses: 2 });
    expect(ev.checks).toHaveLength(149 + 2);
    expect(ev.checks.find((c) => c.name === 'gatehouse/release-gate')).toBeUndefined();
    const state = (name: string) => ev.checks.find((c) => c.name === name)?.state;
    expect([state('secret-scan'), state('slsa-provenance'), state('codeql'), state('lint'), state('job-0')]).toEqual([
      'failure',
      'pending',
      'failure',
      'skipped',
      'success',
    ]);
    expect(ev.checks.find((c) => c.name === 'sign/cosign')).toEqual({ name: 'sign/cosign', state: 'failure', source: 'status', url: null });

    expect(ev.approvals).toEqual([
      { login: 'alice', atHead: true, commitSha: HEAD, bot: false, canWrite: true, lastPusher: false },
      { login: 'bob', atHead: false, commitSha: OLD, bot: false, canWrite: null, lastPusher: false },
      { login: 'dave', atHead: true, commitSha: HEAD, bot: false, canWrite: true, lastPusher: true },
      { login: 'renovate[bot]', atHead: true, commitSha: HEAD, bot: true, canWrite: null, lastPusher: false },
    ]);
    expect(ev.changesRequestedBy).toEqual(['carol']);

    expect(ev.changedPaths).toHaveLength(102);
    expect(ev.changedPaths).toEqual(expect.arrayContaining(['src/auth/new.ts', 'src/auth/old.ts', 'src/payments/f99.ts']));

    const sev = Object.fromEntries(
      ev.findings.filter((f) => ['1', '2', '3', '4', '200'].includes(f.id.split(':')[1]!)).map((f) => [f.id, f.severity]),
    );
    expect(sev).toEqual({
      'code-scanning:1': 'critical',
      'code-scanning:2': 'high',
      'code-scanning:3': 'medium',
      'code-scanning:4': 'low',
      'code-scanning:200': 'high',
    });
    expect(ev.findings.find((f) => f.id === 'code-scanning:200')).toEqual({
      id: 'code-scanning:200',
      ruleId: 'js/rule-200',
      category: 'sast',
      severity: 'high',
      title: 'Rule 200',
      location: 'src/auth/login.ts',
      tool: 'CodeQL',
      url: 'https://github.com/acme/payments/security/code-scanning/200',
    });
  });

  it('serves a re-read from the cache with no API call, and reads again after forget(sha)', async () => {
    const cache = new EvidenceCache();
    mockEvidence();
    const first = await forge(cache).collectEvidence(pr, HEAD);
    // A second adapter instance (the worker builds one per job) shares the cache.
    const again = await forge(cache).collectEvidence(pr, HEAD);
    expect(again.stats).toMatchObject({ apiCalls: 0, cached: true });
    expect(again.findings).toEqual(first.findings);
    forge(cache).forget(HEAD);
    mockEvidence();
    const fresh = await forge(cache).collectEvidence(pr, HEAD);
    expect(fresh.stats.apiCalls).toBe(12);
    expect(fresh.stats.cached).toBeUndefined();
  });

  it('turns a 500 on one source into an evidence error, keeps the other evidence, and does not cache it', async () => {
    const cache = new EvidenceCache();
    mockEvidence({ alerts500: true });
    const ev = await forge(cache).collectEvidence(pr, HEAD);
    expect(ev.errors).toEqual([
      { source: 'findings', kind: 'api', status: 500, message: expect.stringContaining('code scanning alerts: HTTP 500') },
    ]);
    expect(ev.findings).toEqual([]);
    expect(ev.checks).toHaveLength(151);
    expect(ev.approvals).toHaveLength(4);
    expect(ev.changedPaths).toHaveLength(102);
    expect(cache.get(pr, HEAD)).toBeNull();
  });

  it('names code scanning that has no analysis or is not enabled', async () => {
    const only = (status: number, message: string): void => {
      const scope = nock(API);
      scope.get(`${base}/commits/${HEAD}/check-runs`).query(true).reply(200, { total_count: 0, check_runs: [] });
      scope.get(`${base}/commits/${HEAD}/status`).query(true).reply(200, { total_count: 0, statuses: [] });
      scope.get(`${base}/pulls/7/reviews`).query(true).reply(200, []);
      scope.get(`${base}/pulls/7`).reply(200, pullAnswer(0));
      scope.get(`${base}/pulls/7/files`).query(true).reply(200, []);
      scope.get(`${base}/code-scanning/alerts`).query(true).reply(status, { message, documentation_url: 'https://docs.github.com/rest' });
    };
    only(404, 'no analysis found');
    const none = await forge().collectEvidence(pr, HEAD);
    expect(none.errors).toEqual([
      { source: 'findings', kind: 'no-analysis', status: 404, message: expect.stringContaining('no analysis found for refs/pull/7/head') },
    ]);
    only(403, 'Code scanning is not enabled for this repository. Please enable code scanning in the repository settings.');
    const off = await forge().collectEvidence(pr, HEAD);
    expect(off.errors).toEqual([
      { source: 'findings', kind: 'not-enabled', status: 403, message: expect.stringContaining('code scanning is not enabled') },
    ]);
  });

  it('says when a source has more pages than it reads, and never takes the part for the whole', async () => {
    const scope = nock(API);
    scope
      .get(`${base}/commits/${HEAD}/check-runs`)
      .query({ per_page: 100, page: 1 })
      .reply(200, { total_count: 250, check_runs: Array.from({ length: 100 }, (_, i) => checkRun(i)) });
    scope.get(`${base}/commits/${HEAD}/status`).query(true).reply(200, { total_count: 0, statuses: [] });
    scope.get(`${base}/pulls/7/reviews`).query(true).reply(200, []);
    scope.get(`${base}/pulls/7`).reply(200, pullAnswer(0));
    scope.get(`${base}/pulls/7/files`).query(true).reply(200, []);
    scope.get(`${base}/code-scanning/alerts`).query(true).reply(200, []);
    const ev = await forge().collectEvidence(pr, HEAD, { maxPages: 1 });
    expect(ev.errors).toEqual([
      { source: 'checks', kind: 'truncated', message: 'check runs: more than 1 pages of 100; the rest was not read' },
    ]);
    expect(ev.checks).toEqual([]);
  });

  /** The sources a test does not look at, answered empty. */
  const quiet = (
    scope: nock.Scope,
    { checks = true, status = true, files = true }: { checks?: boolean; status?: boolean; files?: boolean } = {},
  ): void => {
    if (checks) scope.get(`${base}/commits/${HEAD}/check-runs`).query(true).reply(200, { total_count: 0, check_runs: [] });
    if (status) scope.get(`${base}/commits/${HEAD}/status`).query(true).reply(200, { total_count: 0, statuses: [] });
    scope.get(`${base}/pulls/7/reviews`).query(true).reply(200, []);
    if (files) {
      scope.get(`${base}/pulls/7`).reply(200, pullAnswer(1));
      scope
        .get(`${base}/pulls/7/files`)
        .query(true)
        .reply(200, [{ filename: 'src/cart.ts', status: 'modified' }]);
    }
    scope.get(`${base}/code-scanning/alerts`).query(true).reply(200, []);
  };
  const pinned = {
    secrets: {
      github: { apps: [], workflows: ['.github/workflows/security.yml'], configPaths: [], statusCreators: ['signing-bot'] },
      gitlab: { jobs: [], configPaths: [], statusCreators: [] },
    },
  };

  it("names each check run's App and, when a kind pins workflows, the workflow file behind an Actions check suite (one listing of the head's runs)", async () => {
    const scope = nock(API);
    quiet(scope, { checks: false, status: false });
    scope
      .get(`${base}/commits/${HEAD}/check-runs`)
      .query({ per_page: 100, page: 1 })
      .reply(200, {
        total_count: 4,
        check_runs: [
          checkRun(1, {
            name: 'secret-scan',
            app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions' },
            check_suite: { id: 501 },
          }),
          checkRun(2, {
            name: 'secret-sast-dependency-provenance',
            app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions' },
            check_suite: { id: 502 },
          }),
          checkRun(3, {
            name: 'CodeQL',
            app: { id: 57789, slug: 'github-advanced-security', name: 'GitHub Advanced Security' },
            check_suite: { id: 503 },
          }),
          checkRun(4, { name: 'old-run', app: { id: 15368, slug: 'github-actions', name: 'GitHub Actions' }, check_suite: { id: 504 } }),
        ],
      });
    scope
      .get(`${base}/actions/runs`)
      .query({ head_sha: HEAD, per_page: 100, page: 1 })
      .reply(200, {
        total_count: 2,
        workflow_runs: [
          {
            id: 9001,
            name: 'Security',
            path: '.github/workflows/security.yml',
            head_sha: HEAD,
            check_suite_id: 501,
            event: 'pull_request',
            status: 'completed',
            conclusion: 'success',
          },
          {
            id: 9002,
            name: 'PR',
            path: '.github/workflows/pr.yml',
            head_sha: HEAD,
            check_suite_id: 502,
            event: 'pull_request',
            status: 'completed',
            conclusion: 'success',
          },
        ],
      });
    scope
      .get(`${base}/commits/${HEAD}/statuses`)
      .query(true)
      .reply(200, [
        {
          id: 3,
          context: 'sign/cosign',
          state: 'success',
          target_url: 'https://sign.example/3',
          creator: { login: 'signing-bot', type: 'Bot' },
        },
        { id: 2, context: 'secret-scan', state: 'success', target_url: null, creator: { login: 'mallory', type: 'User' } },
        {
          id: 1,
          context: 'sign/cosign',
          state: 'failure',
          target_url: 'https://sign.example/1',
          creator: { login: 'mallory', type: 'User' },
        },
      ]);
    const ev = await forge().collectEvidence(pr, HEAD, { sources: pinned });
    expect(ev.errors).toEqual([]);
    const producer = (name: string, source = 'check-run') => ev.checks.find((c) => c.name === name && c.source === source)?.producer;
    expect(producer('secret-scan')).toEqual({ app: { id: 15368, slug: 'github-actions' }, workflowPath: '.github/workflows/security.yml' });
    expect(producer('secret-sast-dependency-provenance')).toEqual({
      app: { id: 15368, slug: 'github-actions' },
      workflowPath: '.github/workflows/pr.yml',
    });
    expect(producer('CodeQL')).toEqual({ app: { id: 57789, slug: 'github-advanced-security' } });
    expect(producer('old-run')).toEqual({ app: { id: 15368, slug: 'github-actions' }, workflowPath: null });
    // Statuses: newest first; the current state of each context with who posted it.
    expect(ev.checks.filter((c) => c.source === 'status')).toEqual([
      {
        name: 'sign/cosign',
        state: 'success',
        source: 'status',
        url: 'https://sign.example/3',
        producer: { statusCreator: 'signing-bot' },
      },
      { name: 'secret-scan', state: 'success', source: 'status', url: null, producer: { statusCreator: 'mallory' } },
    ]);
    expect(ev.stats.apiCalls).toBe(7);
  });

  it('reads neither workflow runs nor status creators when no kind pins them', async () => {
    const scope = nock(API);
    quiet(scope, { checks: false });
    scope
      .get(`${base}/commits/${HEAD}/check-runs`)
      .query(true)
      .reply(200, {
        total_count: 1,
        check_runs: [checkRun(1, { name: 'secret-scan', app: { id: 15368, slug: 'github-actions' }, check_suite: { id: 501 } })],
      });
    const ev = await forge().collectEvidence(pr, HEAD, { sources: {} });
    expect(ev.checks[0]!.producer).toEqual({ app: { id: 15368, slug: 'github-actions' } });
    expect(ev.stats.apiCalls).toBe(6);
  });

  it('an unreadable workflow-runs listing (no Actions permission) is an evidence error, never a silent name match', async () => {
    const scope = nock(API);
    quiet(scope, { status: false });
    scope.get(`${base}/commits/${HEAD}/statuses`).query(true).reply(200, []);
    scope.get(`${base}/actions/runs`).query(true).reply(403, {
      message: 'Resource not accessible by integration',
      documentation_url: 'https://docs.github.com/rest/actions/workflow-runs#list-workflow-runs-for-a-repository',
    });
    const ev = await forge().collectEvidence(pr, HEAD, { sources: pinned });
    expect(ev.errors).toEqual([
      { source: 'checks', kind: 'api', status: 403, message: expect.stringContaining('workflow runs: HTTP 403') },
    ]);
  });

  it.each([
    [
      'a pull request over the 3,000-file cap (the listing stops at 3,000)',
      3412,
      30,
      'changes 3412 file(s) and 3000 were listed; GitHub lists at most 3000 files',
    ],
    ['exactly at the cap', 3000, 30, 'changes 3000 file(s) and 3000 were listed'],
    ['fewer files listed than the pull request changes', 150, 1, 'changes 150 file(s) and 100 were listed'],
  ])('a changed-files listing that is not whole is incomplete evidence: %s', async (_what, changed, pages, message) => {
    const scope = nock(API);
    quiet(scope, { files: false });
    scope.get(`${base}/pulls/7`).reply(200, pullAnswer(changed));
    for (let page = 1; page <= pages; page++) {
      scope
        .get(`${base}/pulls/7/files`)
        .query({ per_page: 100, page })
        .reply(
          200,
          Array.from({ length: 100 }, (_, i) => ({ filename: `vendor/pad/f${page}-${i}.txt`, status: 'added' })),
          pages > 1 ? link(`${base}/pulls/7/files?per_page=100`, pages) : {},
        );
    }
    if (pages === 1) scope.get(`${base}/pulls/7/files`).query({ per_page: 100, page: 2 }).reply(200, []);
    const ev = await forge().collectEvidence(pr, HEAD);
    expect(ev.errors).toEqual([{ source: 'files', kind: 'truncated', message: expect.stringContaining(message) }]);
    expect(ev.changedPaths).toEqual([]);
  });

  it('maps code-scanning severities: security severity first, else error/warning/note', () => {
    expect(alertSeverity({ security_severity_level: 'critical', severity: 'note' })).toBe('critical');
    expect(alertSeverity({ security_severity_level: null, severity: 'error' })).toBe('high');
    expect(alertSeverity({ severity: 'warning' })).toBe('medium');
    expect(alertSeverity({ severity: 'note' })).toBe('low');
    expect(alertSeverity({ severity: 'none' })).toBe('info');
    expect(alertSeverity({})).toBe('unknown');
  });
});

describe('GitHub release outputs', () => {
  it('creates the gatehouse/release-gate check run once, then updates it in place', async () => {
    const runs: { id: number; name: string; status: string; conclusion: string | null; app: { id: number } }[] = [];
    const writes: { method: string; body: Record<string, unknown> }[] = [];
    const scope = nock(API);
    const list = () =>
      scope
        .get(`${base}/commits/${HEAD}/check-runs`)
        .query({ check_name: 'gatehouse/release-gate', app_id: 42, per_page: 100 })
        .reply(200, () => ({ total_count: runs.length, check_runs: runs }));
    list();
    scope.post(`${base}/check-runs`).reply(201, (_uri, body) => {
      const b = body as Record<string, unknown>;
      writes.push({ method: 'POST', body: b });
      runs.push({
        id: 555,
        name: String(b['name']),
        status: String(b['status']),
        conclusion: (b['conclusion'] as string) ?? null,
        app: { id: 42 },
      });
      return { id: 555 };
    });
    list();
    scope.patch(`${base}/check-runs/555`).reply(200, (_uri, body) => {
      writes.push({ method: 'PATCH', body: body as Record<string, unknown> });
      return { id: 555 };
    });

    const f = forge();
    await f.setGateCheck(pr, HEAD, {
      conclusion: 'success',
      title: 'gate::pass',
      summary: 'All evidence present.',
      detailsUrl: 'https://github.com/acme/payments/pull/7#issuecomment-1',
    });
    await f.setGateCheck(pr, HEAD, { conclusion: 'failure', title: 'gate::block', summary: 'Secrets scan failed.' });

    expect(writes).toEqual([
      {
        method: 'POST',
        body: {
          name: 'gatehouse/release-gate',
          head_sha: HEAD,
          status: 'completed',
          conclusion: 'success',
          output: { title: 'gate::pass', summary: 'All evidence present.' },
          details_url: 'https://github.com/acme/payments/pull/7#issuecomment-1',
        },
      },
      {
        method: 'PATCH',
        body: { status: 'completed', conclusion: 'failure', output: { title: 'gate::block', summary: 'Secrets scan failed.' } },
      },
    ]);
  });

  it('reports pending as in progress: in place on a running check, a new run after a conclusion', async () => {
    const scope = nock(API);
    const posted: Record<string, unknown>[] = [];
    scope
      .get(`${base}/commits/${HEAD}/check-runs`)
      .query(true)
      .reply(200, {
        total_count: 1,
        check_runs: [{ id: 9, name: 'gatehouse/release-gate', status: 'in_progress', conclusion: null, app: { id: 42 } }],
      });
    scope
      .patch(`${base}/check-runs/9`, { status: 'in_progress', output: { title: 'gate: pending', summary: 'Reading evidence again.' } })
      .reply(200, { id: 9 });
    scope
      .get(`${base}/commits/${HEAD}/check-runs`)
      .query(true)
      .reply(200, {
        total_count: 1,
        check_runs: [{ id: 9, name: 'gatehouse/release-gate', status: 'completed', conclusion: 'success', app: { id: 42 } }],
      });
    scope.post(`${base}/check-runs`).reply(201, (_u, body) => {
      posted.push(body as Record<string, unknown>);
      return { id: 10 };
    });
    const f = forge();
    await f.setGateCheck(pr, HEAD, { conclusion: 'pending', title: 'gate: pending', summary: 'Reading evidence again.' });
    await f.setGateCheck(pr, HEAD, { conclusion: 'pending', title: 'gate: pending', summary: 'code scanning: HTTP 500' });
    expect(posted).toEqual([
      {
        name: 'gatehouse/release-gate',
        head_sha: HEAD,
        status: 'in_progress',
        output: { title: 'gate: pending', summary: 'code scanning: HTTP 500' },
      },
    ]);
  });

  it('replaces its release-note section in place, leaves an equal one alone, and says when there is no release', async () => {
    const body = 'Highlights\n\n<!-- gatehouse:gate -->\nold verdict\n<!-- /gatehouse:gate -->\n\nThanks to all contributors.';
    const scope = nock(API);
    scope.get(`${base}/releases/tags/v1.2.0`).reply(200, { id: 31, tag_name: 'v1.2.0', body });
    let patched = '';
    scope.patch(`${base}/releases/31`).reply(200, (_u, b) => {
      patched = (b as { body: string }).body;
      return { id: 31 };
    });
    const f = forge();
    expect(await f.addReleaseNote(repo, 'v1.2.0', 'gatehouse:gate', 'Release gate: **pass** at aaaaaaa')).toBe('updated');
    expect(patched).toBe(
      'Highlights\n\n<!-- gatehouse:gate -->\nRelease gate: **pass** at aaaaaaa\n<!-- /gatehouse:gate -->\n\nThanks to all contributors.',
    );

    scope.get(`${base}/releases/tags/v1.2.0`).reply(200, { id: 31, tag_name: 'v1.2.0', body: patched });
    expect(await f.addReleaseNote(repo, 'v1.2.0', 'gatehouse:gate', 'Release gate: **pass** at aaaaaaa')).toBe('unchanged');

    scope.get(`${base}/releases/tags/v9.9.9`).reply(404, { message: 'Not Found' });
    expect(await f.addReleaseNote(repo, 'v9.9.9', 'gatehouse:gate', 'x')).toBe('no-release');
  });

  it('finds the commit a tag points at, and null for an unknown tag', async () => {
    nock(API).get(`${base}/commits/tags%2Fv1.2.0`).reply(200, { sha: 'c0ffee0000000000000000000000000000000000' });
    nock(API).get(`${base}/commits/tags%2Fv9.9.9`).reply(422, { message: 'No commit found for SHA: tags/v9.9.9' });
    const f = forge();
    expect(await f.tagCommit(repo, 'v1.2.0')).toBe('c0ffee0000000000000000000000000000000000');
    expect(await f.tagCommit(repo, 'v9.9.9')).toBeNull();
  });

  it('opens an issue once per key: the second call finds our open issue by its marker', async () => {
    const issues: { number: number; html_url: string; body: string; user: { login: string; type: string } }[] = [];
    const scope = nock(API);
    const list = () =>
      scope
        .get(`${base}/issues`)
        .query({ state: 'open', creator: BOT, per_page: 100, page: 1, sort: 'created', direction: 'desc' })
        .reply(200, () => [
          {
            number: 3,
            html_url: 'https://github.com/acme/payments/pull/3',
            body: '<!-- gatehouse:issue:retro:7 -->',
            user: { login: BOT, type: 'Bot' },
            pull_request: {},
          },
          ...issues,
        ]);
    let posted: Record<string, unknown> = {};
    list();
    scope.post(`${base}/issues`).reply(201, (_u, b) => {
      posted = b as Record<string, unknown>;
      issues.push({
        number: 12,
        html_url: 'https://github.com/acme/payments/issues/12',
        body: String(posted['body']),
        user: { login: BOT, type: 'Bot' },
      });
      return { number: 12, html_url: 'https://github.com/acme/payments/issues/12' };
    });
    list();
    const f = forge();
    const issue = {
      title: 'Retrospective: emergency release !7',
      body: 'What happened.',
      labels: ['retrospective'],
      dueDate: '2026-03-09',
    };
    expect(await f.openIssue(repo, 'retro:7', issue)).toEqual({ number: 12, url: 'https://github.com/acme/payments/issues/12' });
    expect(posted).toEqual({
      title: issue.title,
      body: 'What happened.\n\nDue: 2026-03-09\n\n<!-- gatehouse:issue:retro:7 -->',
      labels: ['retrospective'],
    });
    expect(await f.openIssue(repo, 'retro:7', issue)).toEqual({ number: 12, url: 'https://github.com/acme/payments/issues/12' });
  });

  it('reads current labels and the open pull requests whose head is a commit', async () => {
    const scope = nock(API);
    scope
      .get(`${base}/issues/7/labels`)
      .query({ per_page: 100, page: 1 })
      .reply(200, [{ name: 'release' }, { name: 'gate::block' }]);
    const pull = (number: number, state: string, sha: string) => ({
      number,
      title: `PR ${number}`,
      body: null,
      labels: [{ name: 'release' }],
      state,
      merged_at: null,
      draft: false,
      user: { login: 'alice', type: 'User' },
      html_url: `https://github.com/acme/payments/pull/${number}`,
      head: { sha, ref: 'feature' },
      base: { ref: 'release/1.2' },
    });
    scope
      .get(`${base}/commits/${HEAD}/pulls`)
      .query({ per_page: 100 })
      .reply(200, [pull(7, 'open', HEAD), pull(8, 'closed', HEAD), pull(9, 'open', OLD)]);
    const f = forge();
    expect(await f.currentLabels(pr)).toEqual(['release', 'gate::block']);
    expect(await f.changeRequestsForCommit(repo, HEAD)).toEqual([
      {
        ref: pr,
        title: 'PR 7',
        body: '',
        labels: ['release'],
        state: 'open',
        author: { login: 'alice', isBot: false },
        url: 'https://github.com/acme/payments/pull/7',
        headSha: HEAD,
        targetBranch: 'release/1.2',
        draft: false,
      },
    ]);
  });
});

describe('GitHub approver facts', () => {
  const get = (answers: Record<string, [number, unknown]>) => {
    const asked: string[] = [];
    return {
      asked,
      fn: async (route: string, params: Record<string, unknown>): Promise<{ data: unknown }> => {
        const key = route.includes('permission') ? `permission:${String(params['username'])}` : 'commit';
        asked.push(key);
        const [status, data] = answers[key] ?? [404, { message: 'Not Found' }];
        if (status >= 400) throw Object.assign(new Error(`HTTP ${status}`), { status });
        return { data };
      },
    };
  };
  const approved = (login: string, over: Partial<ApprovalEvidence> = {}): ApprovalEvidence => ({
    login,
    atHead: true,
    commitSha: HEAD,
    bot: false,
    canWrite: null,
    lastPusher: false,
    ...over,
  });
  const commit: [number, unknown] = [200, { sha: HEAD, author: null, committer: { login: 'web-flow', type: 'User' } }];

  it('a non-collaborator (404) has no write access; triage does not write; maintain does', async () => {
    const g = get({
      commit,
      'permission:alice': [200, { permission: 'write', role_name: 'maintain' }],
      'permission:tom': [200, { permission: 'read', role_name: 'triage' }],
    });
    const out = await approverFacts(g.fn, [approved('alice'), approved('tom'), approved('nobody')], HEAD);
    expect(out.map((a) => [a.login, a.canWrite])).toEqual([
      ['alice', true],
      ['tom', false],
      ['nobody', false],
    ]);
  });

  it('looks up each login once, and never a bot or an approval of another commit', async () => {
    const g = get({ commit, 'permission:alice': [200, { permission: 'admin', role_name: 'admin' }] });
    await approverFacts(
      g.fn,
      [approved('alice'), approved('alice'), approved('ci[bot]', { bot: true }), approved('bob', { atHead: false, commitSha: OLD })],
      HEAD,
    );
    expect(g.asked.sort()).toEqual(['commit', 'permission:alice']);
  });

  it('a permission read that fails is an error, never a pass; more approvers than it reads is truncated', async () => {
    await expect(approverFacts(get({ commit, 'permission:alice': [502, {}] }).fn, [approved('alice')], HEAD)).rejects.toMatchObject({
      status: 502,
    });
    const many = Array.from({ length: MAX_APPROVER_LOOKUPS + 1 }, (_, i) => approved(`u${i}`));
    await expect(approverFacts(get({ commit }).fn, many, HEAD)).rejects.toMatchObject({ entry: { source: 'reviews', kind: 'truncated' } });
  });
});
