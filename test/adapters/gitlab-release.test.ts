/**
 * GitLabReleaseForge against GitLab's REST API on nock: the MR's head pipeline and its jobs
 * (paginated), security reports from job artifacts, approvals at head, a failing source, the
 * gatehouse/release-gate commit status, release notes, idempotent issues, MRs at a commit.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EvidenceCache } from '../../src/adapters/evidence.ts';
import { createGitLabApi } from '../../src/adapters/gitlab/client.ts';
import { GitLabReleaseForge, jobState, pipelineConfigFile } from '../../src/adapters/gitlab/release.ts';
import type { IssueRef, RepoRef } from '../../src/core/model.ts';
import { readFileSync } from 'node:fs';
import { GITLAB_API, GITLAB_BOT, GITLAB_URL } from '../support/gitlab.ts';

const HEAD = 'c'.repeat(40);
const OLD = 'd'.repeat(40);
const repo: RepoRef = { platform: 'gitlab', fullName: 'acme/payments', id: 42, defaultBranch: 'main' };
const mr: IssueRef = { repo, number: 5, kind: 'change' };
const P = '/projects/42';
const M = `${P}/merge_requests/5`;
const now = (): Date => new Date('2026-03-02T10:00:00Z');
const report = (name: string): string => readFileSync(new URL(`../fixtures/security/${name}`, import.meta.url), 'utf8');

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

function forge(cache = new EvidenceCache()): GitLabReleaseForge {
  return new GitLabReleaseForge(createGitLabApi({ url: GITLAB_URL, token: 'glpat-test', retry: { attempts: 1 } }), {
    botUsername: GITLAB_BOT,
    cache,
    now,
  });
}

const job = (id: number, name: string, status: string, over: Record<string, unknown> = {}) => ({
  id,
  name,
  stage: 'test',
  status,
  allow_failure: false,
  web_url: `${GITLAB_URL}/acme/payments/-/jobs/${id}`,
  artifacts: [],
  ...over,
});
const archive = { file_type: 'archive', size: 1024, filename: 'artifacts.zip', file_format: 'zip' };

function mockPipelineAndJobs({ jobs500 = false }: { jobs500?: boolean } = {}): void {
  const scope = nock(GITLAB_API);
  scope.get(M).reply(200, {
    iid: 5,
    sha: HEAD,
    labels: ['release'],
    head_pipeline: { id: 900, sha: HEAD, status: 'running', web_url: `${GITLAB_URL}/acme/payments/-/pipelines/900` },
    author: { id: 9, username: 'dev', name: 'Dev', state: 'active' },
  });
  if (jobs500) {
    scope.get(`${P}/pipelines/900/jobs`).query({ per_page: 100, page: 1 }).reply(500, { message: '500 Internal Server Error' });
    return;
  }
  const first = [
    job(501, 'semgrep-sast', 'success', {
      artifacts: [archive, { file_type: 'sast', size: 2048, filename: 'gl-sast-report.json', file_format: 'raw' }],
    }),
    job(502, 'secret_detection', 'failed', {
      artifacts: [{ file_type: 'secret_detection', size: 900, filename: 'gl-secret-detection-report.json', file_format: 'raw' }],
    }),
    job(503, 'dependency-audit', 'success', { artifacts: [archive] }),
    job(504, 'container_scanning', 'running', { artifacts: [] }),
    job(505, 'lint', 'failed', { allow_failure: true }),
    ...Array.from({ length: 95 }, (_, i) => job(600 + i, `unit ${i}/95`, 'success')),
  ];
  scope.get(`${P}/pipelines/900/jobs`).query({ per_page: 100, page: 1 }).reply(200, first, { 'x-total-pages': '2', 'x-next-page': '2' });
  scope
    .get(`${P}/pipelines/900/jobs`)
    .query({ per_page: 100, page: 2 })
    .reply(200, [job(700, 'slsa-provenance', 'success'), job(701, 'deploy', 'manual')], { 'x-total-pages': '2' });
  scope
    .get(`${P}/jobs/501/artifacts/gl-sast-report.json`)
    .reply(200, report('gl-sast-report.json'), { 'content-type': 'application/octet-stream' });
  scope
    .get(`${P}/jobs/502/artifacts/gl-secret-detection-report.json`)
    .reply(200, JSON.parse(report('gl-secret-detection-report.json')) as object);
  // Recognised by name only, and it did not write the analyzer's file: no finding, no error.
  scope.get(`${P}/jobs/503/artifacts/gl-dependency-scanning-report.json`).reply(404, { message: '404 Not Found' });
}

function mockTheRest(): void {
  const scope = nock(GITLAB_API);
  scope.get(`${M}/approvals`).reply(200, {
    iid: 5,
    approved: true,
    approved_by: [
      { user: { id: 1, username: 'alice' }, approved_at: '2026-03-02T09:30:00.000Z' },
      { user: { id: 2, username: 'bob' }, approved_at: '2026-03-01T16:00:00.000Z' },
    ],
  });
  scope
    .get(`${M}/versions`)
    .query({ per_page: 100 })
    .reply(200, [
      { id: 12, head_commit_sha: HEAD, base_commit_sha: 'e'.repeat(40), created_at: '2026-03-02T09:00:00.000Z', state: 'collected' },
      { id: 11, head_commit_sha: OLD, base_commit_sha: 'e'.repeat(40), created_at: '2026-03-01T15:00:00.000Z', state: 'collected' },
    ]);
  // Only the approval at the head is looked up: alice is a Developer.
  scope.get(`${P}/members/all/1`).reply(200, {
    id: 1,
    username: 'alice',
    name: 'Alice',
    state: 'active',
    access_level: 30,
    created_at: '2026-01-01T00:00:00.000Z',
    expires_at: null,
  });
  scope.get(`${M}/reviewers`).reply(200, [
    { user: { id: 3, username: 'carol' }, state: 'requested_changes', created_at: '2026-03-01T12:00:00.000Z' },
    { user: { id: 1, username: 'alice' }, state: 'approved', created_at: '2026-03-01T12:00:00.000Z' },
  ]);
  scope
    .get(`${M}/diffs`)
    .query({ per_page: 100, page: 1 })
    .reply(200, [
      { old_path: 'app/auth/old.py', new_path: 'app/auth/new.py', renamed_file: true },
      { old_path: 'app/payments/ledger.py', new_path: 'app/payments/ledger.py' },
    ]);
  scope
    .get(`${P}/repository/commits/${HEAD}/statuses`)
    .query({ per_page: 100, page: 1 })
    .reply(200, [
      { id: 1, name: 'semgrep-sast', status: 'success', target_url: null, allow_failure: false },
      { id: 2, name: 'gatehouse/release-gate', status: 'failed', target_url: null, allow_failure: false },
      { id: 3, name: 'cosign-verify', status: 'success', target_url: 'https://sign.example.com/r/1', allow_failure: false },
    ]);
}

describe('GitLab release evidence', () => {
  it("reads the head pipeline's jobs page by page, the security reports they publish, approvals at head and the rest", async () => {
    mockPipelineAndJobs();
    mockTheRest();
    const ev = await forge().collectEvidence(mr, HEAD);

    // The SAST sample's third vulnerability has no identifiers: named, and the other two kept.
    expect(ev.errors).toEqual([
      {
        source: 'reports',
        kind: 'invalid',
        message:
          'gl-sast-report.json of job semgrep-sast (#501): 1 entry not read (vulnerabilities[2]: identifiers: Too small: expected array to have >=1 items)',
      },
    ]);
    expect(ev.stats).toEqual({ apiCalls: 12, checkRuns: 102, findings: 3, statuses: 3 });
    expect(ev.checks).toHaveLength(103);
    const state = (name: string) => ev.checks.find((c) => c.name === name)?.state;
    expect([
      state('semgrep-sast'),
      state('secret_detection'),
      state('container_scanning'),
      state('lint'),
      state('slsa-provenance'),
      state('deploy'),
    ]).toEqual(['success', 'failure', 'pending', 'neutral', 'success', 'skipped']);
    expect(ev.checks.filter((c) => c.name === 'semgrep-sast')).toHaveLength(1);
    expect(ev.checks.find((c) => c.name === 'gatehouse/release-gate')).toBeUndefined();
    expect(ev.checks.find((c) => c.name === 'cosign-verify')).toEqual({
      name: 'cosign-verify',
      state: 'success',
      source: 'status',
      url: 'https://sign.example.com/r/1',
    });

    expect(ev.findings.map((f) => [f.category, f.severity, f.location, f.url])).toEqual([
      ['sast', 'high', 'app/payments/ledger.py', `${GITLAB_URL}/acme/payments/-/jobs/501`],
      ['sast', 'critical', 'app/auth/passwords.py', `${GITLAB_URL}/acme/payments/-/jobs/501`],
      ['secrets', 'critical', 'deploy/edge/config.env', `${GITLAB_URL}/acme/payments/-/jobs/502`],
    ]);
    expect(ev.approvals).toEqual([
      { login: 'alice', atHead: true, commitSha: HEAD, bot: false, canWrite: true, lastPusher: false },
      { login: 'bob', atHead: false, commitSha: OLD, bot: false, canWrite: null, lastPusher: false },
    ]);
    expect(ev.authorLogin).toBe('dev');
    expect(ev.changesRequestedBy).toEqual(['carol']);
    expect(ev.changedPaths).toEqual(['app/auth/new.py', 'app/auth/old.py', 'app/payments/ledger.py']);
  });

  it('turns a 500 on the jobs into an evidence error and keeps the other evidence; nothing is cached', async () => {
    const cache = new EvidenceCache();
    mockPipelineAndJobs({ jobs500: true });
    mockTheRest();
    const ev = await forge(cache).collectEvidence(mr, HEAD);
    expect(ev.errors).toEqual([
      { source: 'checks', kind: 'api', status: 500, message: 'jobs of pipeline 900: HTTP 500: 500 Internal Server Error' },
    ]);
    expect(ev.checks.map((c) => c.name)).toEqual(['semgrep-sast', 'cosign-verify']);
    expect(ev.approvals).toHaveLength(2);
    expect(ev.changedPaths).toHaveLength(3);
    expect(cache.get(mr, HEAD)).toBeNull();
  });

  it("uses the MR's newest pipeline on the head when head_pipeline is older, and serves a re-read from the cache until forget", async () => {
    const cache = new EvidenceCache();
    const scope = nock(GITLAB_API);
    scope.get(M).reply(200, {
      iid: 5,
      sha: HEAD,
      labels: [],
      head_pipeline: { id: 880, sha: OLD, status: 'success' },
      author: { id: 9, username: 'dev', name: 'Dev', state: 'active' },
    });
    scope
      .get(`${M}/pipelines`)
      .query({ per_page: 100 })
      .reply(200, [
        { id: 905, sha: HEAD, status: 'success', web_url: null },
        { id: 901, sha: HEAD, status: 'failed', web_url: null },
        { id: 880, sha: OLD, status: 'success', web_url: null },
      ]);
    scope
      .get(`${P}/pipelines/905/jobs`)
      .query({ per_page: 100, page: 1 })
      .reply(200, [job(800, 'secret-scan', 'success')], { 'x-total-pages': '1' });
    // Approvals without dates: the project removes approvals on push, so those left are at the head.
    scope.get(`${M}/approvals`).reply(200, { approved_by: [{ user: { id: 1, username: 'alice' } }] });
    scope.get(`${P}/approvals`).reply(200, { approvals_before_merge: 1, reset_approvals_on_push: true });
    scope
      .get(`${M}/versions`)
      .query({ per_page: 100 })
      .reply(200, [
        { id: 12, head_commit_sha: HEAD, base_commit_sha: 'e'.repeat(40), created_at: '2026-03-02T09:00:00.000Z', state: 'collected' },
      ]);
    scope.get(`${P}/members/all/1`).reply(200, { id: 1, username: 'alice', name: 'Alice', state: 'active', access_level: 40 });
    // An older GitLab without reviewer states.
    scope.get(`${M}/reviewers`).reply(404, { message: '404 Not Found' });
    scope.get(`${M}/diffs`).query(true).reply(200, []);
    scope.get(`${P}/repository/commits/${HEAD}/statuses`).query(true).reply(200, []);

    const ev = await forge(cache).collectEvidence(mr, HEAD);
    expect(ev.errors).toEqual([]);
    expect(ev.checks).toEqual([{ name: 'secret-scan', state: 'success', source: 'job', url: `${GITLAB_URL}/acme/payments/-/jobs/800` }]);
    expect(ev.approvals).toEqual([{ login: 'alice', atHead: true, commitSha: HEAD, bot: false, canWrite: true, lastPusher: false }]);
    expect(ev.changesRequestedBy).toEqual([]);

    const again = await forge(cache).collectEvidence(mr, HEAD);
    expect(again.stats).toMatchObject({ apiCalls: 0, cached: true });
    expect(again.checks).toEqual(ev.checks);
    forge(cache).forget(HEAD);
    expect(cache.get(mr, HEAD)).toBeNull();
  });

  it('counts an undated approval as stale when the project keeps approvals across pushes', async () => {
    const scope = nock(GITLAB_API);
    scope.get(M).reply(200, { iid: 5, sha: HEAD, head_pipeline: null, author: { id: 9, username: 'dev', name: 'Dev', state: 'active' } });
    scope
      .get(`${M}/versions`)
      .query({ per_page: 100 })
      .reply(200, [
        { id: 12, head_commit_sha: HEAD, base_commit_sha: 'e'.repeat(40), created_at: '2026-03-02T09:00:00.000Z', state: 'collected' },
      ]);
    scope.get(`${M}/pipelines`).query(true).reply(200, []);
    scope.get(`${M}/approvals`).reply(200, { approved_by: [{ user: { username: 'alice' } }] });
    scope.get(`${P}/approvals`).reply(200, { reset_approvals_on_push: false });
    scope.get(`${M}/reviewers`).reply(200, []);
    scope.get(`${M}/diffs`).query(true).reply(200, []);
    scope.get(`${P}/repository/commits/${HEAD}/statuses`).query(true).reply(200, []);
    const ev = await forge().collectEvidence(mr, HEAD);
    expect(ev.approvals).toEqual([{ login: 'alice', atHead: false, commitSha: null, bot: false, canWrite: null, lastPusher: false }]);
    // No pipeline on the head yet: not an API failure, the checks are simply missing.
    expect(ev.errors).toEqual([]);
    expect(ev.checks).toEqual([]);
  });

  it('counts an undated approval as stale when the project approval settings cannot be read (403), without an error', async () => {
    const scope = nock(GITLAB_API);
    scope.get(M).reply(200, { iid: 5, sha: HEAD, head_pipeline: null, author: { id: 9, username: 'dev', name: 'Dev', state: 'active' } });
    scope
      .get(`${M}/versions`)
      .query({ per_page: 100 })
      .reply(200, [
        { id: 12, head_commit_sha: HEAD, base_commit_sha: 'e'.repeat(40), created_at: '2026-03-02T09:00:00.000Z', state: 'collected' },
      ]);
    scope.get(`${M}/pipelines`).query(true).reply(200, []);
    scope.get(`${M}/approvals`).reply(200, { approved_by: [{ user: { username: 'alice' } }] });
    scope.get(`${P}/approvals`).reply(403, { message: '403 Forbidden' });
    scope.get(`${M}/reviewers`).reply(200, []);
    scope.get(`${M}/diffs`).query(true).reply(200, []);
    scope.get(`${P}/repository/commits/${HEAD}/statuses`).query(true).reply(200, []);
    const ev = await forge().collectEvidence(mr, HEAD);
    expect(ev.approvals).toEqual([{ login: 'alice', atHead: false, commitSha: null, bot: false, canWrite: null, lastPusher: false }]);
    expect(ev.errors).toEqual([]);
  });

  it('names a declared report that is not in the artifacts archive, and a report that does not parse', async () => {
    const scope = nock(GITLAB_API);
    scope.get(M).reply(200, { iid: 5, sha: HEAD, head_pipeline: { id: 900, sha: HEAD, status: 'success' } });
    scope
      .get(`${P}/pipelines/900/jobs`)
      .query(true)
      .reply(200, [
        job(501, 'sast', 'success', { artifacts: [{ file_type: 'sast', filename: 'gl-sast-report.json' }] }),
        job(502, 'gitleaks', 'success', { artifacts: [{ file_type: 'secret_detection', filename: 'gl-secret-detection-report.json' }] }),
      ]);
    scope.get(`${P}/jobs/501/artifacts/gl-sast-report.json`).reply(404, { message: '404 Not Found' });
    scope
      .get(`${P}/jobs/502/artifacts/gl-secret-detection-report.json`)
      .reply(200, '{"vulnerabilities": [', { 'content-type': 'application/octet-stream' });
    scope.get(`${M}/approvals`).reply(200, { approved_by: [] });
    scope.get(`${M}/reviewers`).reply(200, []);
    scope.get(`${M}/diffs`).query(true).reply(200, []);
    scope.get(`${P}/repository/commits/${HEAD}/statuses`).query(true).reply(200, []);
    const ev = await forge().collectEvidence(mr, HEAD);
    expect(ev.errors).toEqual([
      {
        source: 'reports',
        kind: 'invalid',
        status: 404,
        message: expect.stringContaining("gl-sast-report.json of job sast (#501): not in the job's artifacts archive"),
      },
      {
        source: 'reports',
        kind: 'invalid',
        message: expect.stringContaining('gl-secret-detection-report.json of job gitleaks (#502): not JSON'),
      },
    ]);
  });

  /** A merge request whose head pipeline (900) has these jobs; the other sources answered plainly. */
  const minimal = (
    scope: nock.Scope,
    {
      jobs = [job(501, 'semgrep-sast', 'success')],
      changesCount = '2',
      diffs = 2,
    }: { jobs?: ReturnType<typeof job>[]; changesCount?: string | null; diffs?: number } = {},
  ): void => {
    scope.get(M).reply(200, {
      iid: 5,
      sha: HEAD,
      labels: ['release'],
      changes_count: changesCount,
      head_pipeline: { id: 900, sha: HEAD, status: 'success' },
    });
    scope.get(`${P}/pipelines/900/jobs`).query(true).reply(200, jobs, { 'x-total-pages': '1' });
    scope.get(`${M}/approvals`).reply(200, { approved_by: [] });
    scope.get(`${M}/reviewers`).reply(200, []);
    scope
      .get(`${M}/diffs`)
      .query(true)
      .reply(
        200,
        Array.from({ length: diffs }, (_, i) => ({ old_path: `app/f${i}.rb`, new_path: `app/f${i}.rb` })),
        { 'x-total-pages': '1' },
      );
    scope
      .get(`${P}/repository/commits/${HEAD}/statuses`)
      .query(true)
      .reply(200, [
        {
          id: 7,
          sha: HEAD,
          name: 'cosign-verify',
          status: 'success',
          target_url: null,
          allow_failure: false,
          author: { id: 9, username: 'signing-bot', name: 'Signing bot' },
        },
      ]);
  };
  const pinnedJobs = {
    sast: {
      github: { apps: [], workflows: [], configPaths: [], statusCreators: [] },
      gitlab: { jobs: ['semgrep-sast'], configPaths: [], statusCreators: [] },
    },
  };

  it("when a kind pins jobs, names each job and the pipeline configuration file (the project's ci_config_path); statuses name their author", async () => {
    const scope = nock(GITLAB_API);
    minimal(scope);
    scope.get(P).reply(200, { id: 42, path_with_namespace: 'acme/payments', default_branch: 'main', ci_config_path: 'ci/pipeline.yml' });
    const ev = await forge().collectEvidence(mr, HEAD, { sources: pinnedJobs });
    expect(ev.errors).toEqual([]);
    expect(ev.checks).toEqual([
      {
        name: 'semgrep-sast',
        state: 'success',
        source: 'job',
        url: `${GITLAB_URL}/acme/payments/-/jobs/501`,
        producer: { jobName: 'semgrep-sast', pipelineConfigPath: 'ci/pipeline.yml' },
      },
      { name: 'cosign-verify', state: 'success', source: 'status', url: null, producer: { statusCreator: 'signing-bot' } },
    ]);
  });

  it('reads no project settings when no kind pins jobs', async () => {
    const scope = nock(GITLAB_API);
    minimal(scope);
    const ev = await forge().collectEvidence(mr, HEAD, { sources: {} });
    expect(ev.checks[0]).toEqual({ name: 'semgrep-sast', state: 'success', source: 'job', url: `${GITLAB_URL}/acme/payments/-/jobs/501` });
    expect(ev.stats.apiCalls).toBe(6);
  });

  it('leaves the configuration file unknown (an evidence error) when the project cannot be read', async () => {
    const scope = nock(GITLAB_API);
    minimal(scope);
    scope.get(P).reply(403, { message: '403 Forbidden' });
    const ev = await forge().collectEvidence(mr, HEAD, { sources: pinnedJobs });
    expect(ev.errors).toEqual([
      { source: 'pipeline', kind: 'api', status: 403, message: expect.stringContaining('project CI configuration path') },
    ]);
    expect(ev.checks[0]!.producer).toEqual({ jobName: 'semgrep-sast' });
  });

  it.each([
    [null, '.gitlab-ci.yml'],
    ['', '.gitlab-ci.yml'],
    ['ci/pipeline.yml', 'ci/pipeline.yml'],
    ['./.gitlab/ci.yml', '.gitlab/ci.yml'],
    ['.gitlab-ci.yml@security/pipelines', null],
    ['https://example.com/ci.yml', null],
  ])('the pipeline configuration file of ci_config_path %j is %j', (path, file) => {
    expect(pipelineConfigFile(path)).toBe(file);
  });

  it.each([
    [
      'past the diff limits ("1000+")',
      '1000+',
      1000,
      'changes 1000+ file(s) and 1000 were listed; GitLab lists at most 1000 files of a merge request',
    ],
    ['more files than listed', '40', 20, 'changes 40 file(s) and 20 were listed; the listing is not whole'],
  ])('a changed-files listing that is not whole is incomplete evidence: %s', async (_what, count, listed, message) => {
    const scope = nock(GITLAB_API);
    minimal(scope, { changesCount: count, diffs: listed });
    const ev = await forge().collectEvidence(mr, HEAD);
    expect(ev.errors).toEqual([{ source: 'files', kind: 'truncated', message: expect.stringContaining(message) }]);
    expect(ev.changedPaths).toEqual([]);
  });

  it('maps job states', () => {
    expect(
      [
        ['success', false],
        ['failed', false],
        ['failed', true],
        ['canceled', false],
        ['skipped', false],
        ['manual', false],
        ['created', false],
        ['waiting_for_resource', false],
      ].map(([s, a]) => jobState(s as string, a as boolean)),
    ).toEqual(['success', 'failure', 'neutral', 'cancelled', 'skipped', 'skipped', 'pending', 'pending']);
  });
});

describe('GitLab release outputs', () => {
  it('sets the gatehouse/release-gate commit status on the head pipeline: pending, failed, advisory success', async () => {
    const scope = nock(GITLAB_API);
    const bodies: Record<string, unknown>[] = [];
    for (let i = 0; i < 4; i++) scope.get(M).reply(200, { iid: 5, sha: HEAD, head_pipeline: { id: 900, sha: HEAD, status: 'running' } });
    for (let i = 0; i < 3; i++)
      scope.post(`${P}/statuses/${HEAD}`).reply(201, (_u, body) => {
        bodies.push(body as Record<string, unknown>);
        return { id: 1 };
      });
    // Same state again: GitLab refuses the transition, which means it is already set.
    scope
      .post(`${P}/statuses/${HEAD}`)
      .reply(400, { message: 'Cannot transition status via :enqueue from :pending (Reason(s): Status cannot transition via "enqueue")' });
    const f = forge();
    await f.setGateCheck(mr, HEAD, { conclusion: 'pending', title: 'Reading evidence', summary: '' });
    await f.setGateCheck(mr, HEAD, {
      conclusion: 'failure',
      title: 'gate::block: secrets scan failed',
      summary: 'long',
      detailsUrl: `${GITLAB_URL}/acme/payments/-/merge_requests/5#note_1`,
    });
    await f.setGateCheck(mr, HEAD, { conclusion: 'neutral', title: 'gate::block: secrets scan failed', summary: '' });
    await f.setGateCheck(mr, HEAD, { conclusion: 'pending', title: 'Reading evidence', summary: '' });
    expect(bodies).toEqual([
      { state: 'pending', name: 'gatehouse/release-gate', description: 'Reading evidence', pipeline_id: 900 },
      {
        state: 'failed',
        name: 'gatehouse/release-gate',
        description: 'gate::block: secrets scan failed',
        target_url: `${GITLAB_URL}/acme/payments/-/merge_requests/5#note_1`,
        pipeline_id: 900,
      },
      {
        state: 'success',
        name: 'gatehouse/release-gate',
        description: 'advisory (not enforced): gate::block: secrets scan failed',
        pipeline_id: 900,
      },
    ]);
  });

  it('replaces its section of the release description in place; no release → no-release', async () => {
    const scope = nock(GITLAB_API);
    scope.get(`${P}/releases/v1.2.0`).reply(200, { tag_name: 'v1.2.0', description: '## Changes\n\n- faster ledger' });
    let put = '';
    scope.put(`${P}/releases/v1.2.0`).reply(200, (_u, b) => {
      put = (b as { description: string }).description;
      return { tag_name: 'v1.2.0' };
    });
    const f = forge();
    expect(await f.addReleaseNote(repo, 'v1.2.0', 'gatehouse:gate', 'Release gate: **pass**')).toBe('updated');
    expect(put).toBe('## Changes\n\n- faster ledger\n\n<!-- gatehouse:gate -->\nRelease gate: **pass**\n<!-- /gatehouse:gate -->');
    scope.get(`${P}/releases/v1.2.0`).reply(200, { tag_name: 'v1.2.0', description: put });
    scope.put(`${P}/releases/v1.2.0`, { description: put.replace('**pass**', '**block**') }).reply(200, { tag_name: 'v1.2.0' });
    expect(await f.addReleaseNote(repo, 'v1.2.0', 'gatehouse:gate', 'Release gate: **block**')).toBe('updated');
    scope.get(`${P}/releases/v2.0.0`).reply(404, { message: '404 Not Found' });
    expect(await f.addReleaseNote(repo, 'v2.0.0', 'gatehouse:gate', 'x')).toBe('no-release');
  });

  it('finds the commit a tag points at, and null for an unknown tag', async () => {
    nock(GITLAB_API)
      .get(`${P}/repository/tags/v1.2.0`)
      .reply(200, { name: 'v1.2.0', commit: { id: 'c0ffee0000000000000000000000000000000000' } });
    nock(GITLAB_API).get(`${P}/repository/tags/v9.9.9`).reply(404, { message: '404 Tag Not Found' });
    const f = forge();
    expect(await f.tagCommit(repo, 'v1.2.0')).toBe('c0ffee0000000000000000000000000000000000');
    expect(await f.tagCommit(repo, 'v9.9.9')).toBeNull();
  });

  it('opens an issue once per key, with its due date', async () => {
    const issues: { iid: number; web_url: string; description: string; author: { username: string } }[] = [];
    const scope = nock(GITLAB_API);
    const search = { state: 'opened', author_username: GITLAB_BOT, search: 'gatehouse:issue:retro:5', in: 'description', per_page: 100 };
    scope
      .get(`${P}/issues`)
      .query(search)
      .reply(200, () => issues);
    let posted: Record<string, unknown> = {};
    scope.post(`${P}/issues`).reply(201, (_u, b) => {
      posted = b as Record<string, unknown>;
      const created = {
        iid: 31,
        web_url: `${GITLAB_URL}/acme/payments/-/issues/31`,
        description: String(posted['description']),
        author: { username: GITLAB_BOT },
      };
      issues.push(created);
      return created;
    });
    scope
      .get(`${P}/issues`)
      .query(search)
      .reply(200, () => issues);
    const f = forge();
    const issue = {
      title: 'Retrospective: emergency release !5',
      body: 'What happened.',
      labels: ['retrospective', 'release'],
      dueDate: '2026-03-09',
    };
    expect(await f.openIssue(repo, 'retro:5', issue)).toEqual({ number: 31, url: `${GITLAB_URL}/acme/payments/-/issues/31` });
    expect(posted).toEqual({
      title: issue.title,
      description: 'What happened.\n\n<!-- gatehouse:issue:retro:5 -->',
      labels: 'retrospective,release',
      due_date: '2026-03-09',
    });
    expect(await f.openIssue(repo, 'retro:5', issue)).toEqual({ number: 31, url: `${GITLAB_URL}/acme/payments/-/issues/31` });
  });

  it('reads current labels and the open merge requests whose head is a commit', async () => {
    const scope = nock(GITLAB_API);
    scope.get(M).reply(200, { iid: 5, labels: ['release', 'gate::pass'] });
    const m = (iid: number, state: string, sha: string) => ({
      iid,
      title: `MR ${iid}`,
      description: 'Rollback\n\nRevert the tag.',
      labels: ['release'],
      state,
      author: { username: 'alice' },
      web_url: `${GITLAB_URL}/acme/payments/-/merge_requests/${iid}`,
      sha,
      target_branch: 'release/1.2',
      draft: false,
    });
    scope
      .get(`${P}/repository/commits/${HEAD}/merge_requests`)
      .query({ per_page: 100 })
      .reply(200, [m(5, 'opened', HEAD), m(6, 'merged', HEAD), m(7, 'opened', OLD)]);
    const f = forge();
    expect(await f.currentLabels(mr)).toEqual(['release', 'gate::pass']);
    expect(await f.changeRequestsForCommit(repo, HEAD)).toEqual([
      {
        ref: mr,
        title: 'MR 5',
        body: 'Rollback\n\nRevert the tag.',
        labels: ['release'],
        state: 'open',
        author: { login: 'alice', isBot: false },
        url: `${GITLAB_URL}/acme/payments/-/merge_requests/5`,
        headSha: HEAD,
        targetBranch: 'release/1.2',
        draft: false,
      },
    ]);
  });
});

describe('EvidenceCache', () => {
  it('trusts evidence for its max age only (events reach one replica; entries age out)', () => {
    let t = 0;
    const cache = new EvidenceCache(10, 60_000, () => t);
    const target = {
      repo: { platform: 'gitlab' as const, fullName: 'g/p', id: 1, defaultBranch: 'main' },
      number: 3,
      kind: 'change' as const,
    };
    const ev = {
      headSha: 'abc',
      collectedAt: '2026-12-02T00:00:00Z',
      checks: [],
      approvals: [],
      changesRequestedBy: [],
      changedPaths: [],
      findings: [],
      errors: [],
      stats: { apiCalls: 5, checkRuns: 0, findings: 0 },
    };
    cache.set(target, ev);
    t = 59_000;
    expect(cache.get(target, 'abc')?.stats).toMatchObject({ apiCalls: 0, cached: true });
    t = 61_000;
    expect(cache.get(target, 'abc')).toBeNull();
  });
});
