/**
 * The GitLab endpoints the release gate uses, on nock (persisted, stateful), beside
 * fakeGitLabApi (labels, notes, files): the merge request with its head pipeline, jobs and
 * their security reports, approvals, diffs, commit statuses (ours recorded), merge requests of a
 * commit, issues. One project (id 1) and merge request (!1).
 */
import nock from 'nock';
import type { FakeGitLabApi } from './gitlab.ts';
import { GITLAB_URL } from './gitlab.ts';

export interface FakeJob {
  id: number;
  name: string;
  status: string;
  allow_failure?: boolean;
  web_url?: string;
  artifacts?: { file_type: string; filename: string | null }[];
}

export interface GitLabGateWorld {
  sha: string;
  pipeline: { id: number; sha: string; status: string } | null;
  jobs: FakeJob[];
  /** Report documents by job id (served as the job's artifact). */
  reports: Map<number, unknown>;
  approvals: { username: string; approved_at: string }[];
  /** Accounts by username: id, project access level (GET /members/all/:id; absent: not a member, 404) and bot. */
  users: Record<string, { id: number; access_level?: number; bot?: boolean }>;
  /** Label events of the merge request (GET /resource_label_events). */
  labelEvents: { action: 'add' | 'remove'; label: string; username: string; at: string }[];
  /** When each head commit was pushed (MR versions). */
  versions: { head_commit_sha: string; created_at: string }[];
  diffs: string[];
  /** The project's `ci_config_path` (GET /projects/:id); null: `.gitlab-ci.yml`. */
  ciConfigPath: string | null;
  /** Statuses posted on commits by others (external CI, signing), with their author. */
  external: { sha: string; name: string; status: string; author: { username: string } }[];
  /** Our commit statuses, in order. */
  statuses: { sha: string; state: string; name: string; description: string; pipeline_id?: number }[];
  /** The merge request as GET /repository/commits/{sha}/merge_requests lists it (labels from the fake's state). */
  mr: { title: string; description: string; target_branch: string; web_url: string; author: { username: string } };
  issues: {
    iid: number;
    title: string;
    description: string;
    labels: string;
    due_date?: string;
    web_url: string;
    author: { username: string };
  }[];
  routes(): string[];
}

export function fakeGitLabGate(api: FakeGitLabApi, bot: string): GitLabGateWorld {
  const w: GitLabGateWorld = {
    sha: '',
    pipeline: null,
    jobs: [],
    reports: new Map(),
    approvals: [],
    users: { dev: { id: 11, access_level: 30 }, alice: { id: 12, access_level: 30 }, cto: { id: 13, access_level: 40 } },
    labelEvents: [],
    versions: [],
    diffs: [],
    ciConfigPath: null,
    external: [],
    statuses: [],
    mr: {
      title: 'Release 2026.11',
      description: '',
      target_branch: 'master',
      web_url: 'http://example.com/gitlabhq/gitlab-test/-/merge_requests/1',
      author: { username: 'dev' },
    },
    issues: [],
    routes: () => [],
  };
  const p = '/api/v4/projects/1';
  const R = (tail: string): RegExp => new RegExp(`^${p.replace(/\//g, '\\/')}${tail}(\\?.*)?$`);
  const labels = (): string[] => api.labels.get('merge_requests/1') ?? [];
  const scope = nock(GITLAB_URL).persist();
  const log = (m: string, uri: string): void => void api.requests.push(`${m} ${uri}`);

  // GitLab's default diff limit: 1,000 files listed, changes_count "1000+" past it.
  const DIFF_LIMIT = 1000;
  const changesCount = (): string => (w.diffs.length > DIFF_LIMIT ? `${DIFF_LIMIT}+` : String(w.diffs.length));
  // GET /projects/1 is the shared fake's (test/support/gitlab.ts): the world's ciConfigPath is its project's.
  Object.defineProperty(w, 'ciConfigPath', {
    get: (): string | null => api.projects.get(1)?.ci_config_path ?? null,
    set: (path: string | null): void => {
      const project = api.projects.get(1) ?? { path_with_namespace: 'gitlabhq/gitlab-test', default_branch: 'master' };
      api.projects.set(1, { ...project, ci_config_path: path });
    },
  });
  const user = (username: string): object => ({
    id: w.users[username]?.id ?? 0,
    username,
    name: username,
    state: 'active',
    avatar_url: null,
    web_url: `http://example.com/${username}`,
  });
  scope.get(R('/merge_requests/1')).reply(
    (uri) => (
      log('GET', uri),
      [
        200,
        {
          iid: 1,
          sha: w.sha,
          labels: labels(),
          changes_count: changesCount(),
          head_pipeline: w.pipeline,
          author: user(w.mr.author.username),
        },
      ]
    ),
  );
  scope.get(R('/merge_requests/1/resource_label_events')).reply((uri) => {
    log('GET', uri);
    return [
      200,
      w.labelEvents.map((e, i) => ({
        id: 140 + i,
        user: user(e.username),
        created_at: e.at,
        resource_type: 'MergeRequest',
        resource_id: 1,
        label: { id: 73, name: e.label, color: '#34495E', description: '' },
        action: e.action,
      })),
    ];
  });
  scope.get(R('/members/all/\\d+')).reply((uri) => {
    log('GET', uri);
    const id = Number(/\/members\/all\/(\d+)/.exec(uri)![1]);
    const found = Object.entries(w.users).find(([, u]) => u.id === id && u.access_level !== undefined);
    if (!found) return [404, { message: '404 Not found' }];
    const [username, u] = found;
    return [
      200,
      {
        ...user(username),
        access_level: u.access_level,
        created_at: '2026-01-01T00:00:00Z',
        expires_at: null,
        ...(u.bot ? { bot: true } : {}),
      },
    ];
  });
  scope.get(R('/merge_requests/1/pipelines')).reply((uri) => (log('GET', uri), [200, w.pipeline ? [w.pipeline] : []]));
  scope.get(R('/pipelines/\\d+/jobs')).reply((uri) => (log('GET', uri), [200, w.jobs, { 'x-total-pages': '1' }]));
  scope.get(R('/jobs/\\d+/artifacts/.+')).reply((uri) => {
    log('GET', uri);
    const id = Number(/\/jobs\/(\d+)\//.exec(uri)![1]);
    const doc = w.reports.get(id);
    return doc === undefined ? [404, { message: '404 Not found' }] : [200, doc];
  });
  scope
    .get(R('/merge_requests/1/approvals'))
    .reply(
      (uri) => (log('GET', uri), [200, { approved_by: w.approvals.map((a) => ({ user: user(a.username), approved_at: a.approved_at })) }]),
    );
  // Newest first, as GitLab lists them.
  scope
    .get(R('/merge_requests/1/versions'))
    .reply((uri) => (log('GET', uri), [200, w.versions.map((v, i) => ({ id: i + 1, ...v, state: 'collected' })).reverse()]));
  scope.get(R('/merge_requests/1/reviewers')).reply((uri) => (log('GET', uri), [200, []]));
  scope
    .get(R('/merge_requests/1/diffs'))
    .reply(
      (uri) => (log('GET', uri), [200, w.diffs.slice(0, DIFF_LIMIT).map((d) => ({ old_path: d, new_path: d })), { 'x-total-pages': '1' }]),
    );
  scope.get(R('/repository/commits/[0-9a-f]+/statuses')).reply((uri) => {
    log('GET', uri);
    const sha = /\/commits\/([0-9a-f]+)\//.exec(uri)![1]!;
    const list = w.external
      .filter((x) => x.sha === sha)
      .map((x, i) => ({ id: 600 + i, sha, name: x.name, status: x.status, target_url: null, allow_failure: false, author: x.author }));
    return [200, list, { 'x-total-pages': '1' }];
  });
  scope.post(R('/statuses/[0-9a-f]+')).reply((uri, body) => {
    log('POST', uri);
    const sha = /\/statuses\/([0-9a-f]+)/.exec(uri)![1]!;
    const b = body as { state: string; name: string; description: string; pipeline_id?: number };
    const last = w.statuses.filter((s) => s.sha === sha && s.name === b.name).at(-1);
    if (last && last.state === b.state) return [400, { message: `Cannot transition status via :${b.state} from :${b.state}` }];
    w.statuses.push({
      sha,
      state: b.state,
      name: b.name,
      description: b.description,
      ...(b.pipeline_id ? { pipeline_id: b.pipeline_id } : {}),
    });
    return [201, { id: w.statuses.length, status: b.state }];
  });
  scope.get(R('/repository/commits/[0-9a-f]+/merge_requests')).reply((uri) => {
    log('GET', uri);
    const sha = /\/commits\/([0-9a-f]+)\//.exec(uri)![1]!;
    return [200, sha === w.sha ? [{ iid: 1, ...w.mr, labels: labels(), state: 'opened', sha: w.sha }] : []];
  });
  scope
    .get(R('/issues'))
    .reply(
      (uri) => (
        log('GET', uri),
        [200, w.issues.map((i) => ({ iid: i.iid, web_url: i.web_url, description: i.description, author: i.author }))]
      ),
    );
  scope.post(R('/issues')).reply((uri, body) => {
    log('POST', uri);
    const b = body as { title: string; description: string; labels: string; due_date?: string };
    const iid = 300 + w.issues.length;
    const issue = { iid, ...b, web_url: `http://example.com/gitlabhq/gitlab-test/-/issues/${iid}`, author: { username: bot } };
    w.issues.push(issue);
    return [201, issue];
  });
  w.routes = () => scope.pendingMocks();
  return w;
}

/** A GitLab SAST report (schema v15) with one vulnerability. */
export function sastReport({
  id = 'js/sql-injection',
  severity = 'Critical',
  file = 'app/db/query.rb',
}: { id?: string; severity?: string; file?: string } = {}): unknown {
  return {
    version: '15.0.7',
    scan: {
      type: 'sast',
      status: 'success',
      scanner: { id: 'semgrep', name: 'Semgrep' },
      analyzer: { id: 'semgrep', name: 'Semgrep' },
      start_time: '2026-11-20T09:00:00',
      end_time: '2026-11-20T09:01:00',
    },
    vulnerabilities: [
      {
        id: 'f00dfeed-0000-4000-8000-000000000001',
        name: 'SQL injection',
        description: 'Query built from user input',
        severity,
        identifiers: [{ type: 'semgrep_id', name: id, value: id }],
        location: { file, start_line: 12 },
      },
    ],
  };
}
