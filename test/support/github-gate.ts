/**
 * A stateful fake of the GitHub REST endpoints the release gate uses, on nock (persisted
 * interceptors over one repository and pull request): labels, comments, check runs (ours and
 * others'), statuses, reviews, changed files, code-scanning alerts, issues. Tests change its
 * state between deliveries and read what Gatehouse wrote.
 */
import nock from 'nock';
import { accessToken, commitsReply, contentsReply, githubComment, githubIssue } from './fake-github-issues.ts';
import { githubAnswer, githubLabel, githubMerge, githubUser, standInHeaders } from './github-openapi.ts';

/** The first element of a list answer's example, with `fields` merged in. */
const item = (route: string, fields: unknown, status = 200): unknown => (githubAnswer(route, status, [fields]) as unknown[])[0];
/** An answer `{ …, [key]: [items] }` as GitHub gives it: each item merged over the example's first. */
function listed(route: string, key: string, fields: Record<string, unknown>, items: unknown[]): unknown {
  const example = githubAnswer(route, 200, {}) as Record<string, unknown[]>;
  return { ...example, ...fields, [key]: items.map((i) => githubMerge(example[key]![0], i)) };
}
/** A check run as GitHub answers it. */
const checkRun = (route: string, status: number, run: FakeCheckRun): unknown => githubAnswer(route, status, { ...run, pull_requests: [] });
/** GitHub's error answer. */
const errorAnswer = (message: string): unknown => ({ message, documentation_url: 'https://docs.github.com/rest', status: '' });

export interface FakeCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  app: { id: number; slug?: string };
  /** GitHub Actions runs: the suite of the workflow run (see `workflowRuns`). */
  check_suite?: { id: number };
  output?: { title: string; summary: string };
}

/** A workflow run as GET /actions/runs lists it (the fields GitHub documents that matter here). */
export interface FakeWorkflowRun {
  id: number;
  name: string;
  path: string;
  head_sha: string;
  check_suite_id: number;
  event: string;
  status: string;
  conclusion: string | null;
}

export interface GateWorld {
  labels: string[];
  comments: { id: number; body: string; user: { login: string; type: string } }[];
  /** Every check run on every commit, ours included (app id 1 is ours). */
  checkRuns: FakeCheckRun[];
  statuses: { sha: string; context: string; state: string; creator?: { login: string; type: string } }[];
  /** Workflow runs (GET /actions/runs?head_sha=). */
  workflowRuns: FakeWorkflowRun[];
  /** The pull request's `changed_files` (GET /pulls/{n}); the files listing stops at 3,000 as GitHub's does. */
  changedFiles(): number;
  reviews: { user: { login: string; type?: string }; state: string; commit_id: string }[];
  /** Label events of the pull request (GET /issues/{n}/events), as GitHub lists them. */
  labelEvents: { event: 'labeled' | 'unlabeled'; label: string; actor: string; type?: string; at: string }[];
  /** Repository permission per login (GET /collaborators/{u}/permission); anyone else reads `read` (a public repository). */
  permissions: Record<string, 'admin' | 'maintain' | 'write' | 'triage' | 'read'>;
  /** GitHub accounts of each commit's author and committer (GET /commits/{sha}); default the PR author, Codertocat. */
  commits: Record<string, { author: string; committer: string }>;
  files: string[];
  /** Files of the repository's default branch (GET …/contents/{path}), e.g. the policy override; others are 404. */
  repoFiles: Record<string, string>;
  /** The GitHub login of the newest commit touching each repository file (GET /commits?path=); default `octocat`. */
  repoFileAuthors: Record<string, string>;
  alerts: {
    number: number;
    rule: { id: string; severity: string; security_severity_level: string | null; description: string };
    tool: { name: string };
    most_recent_instance: { location: { path: string } };
  }[];
  /** Open pull requests by head sha (GET /commits/{sha}/pulls). */
  pulls: Record<string, unknown>[];
  issues: { number: number; title: string; body: string; labels: string[]; html_url: string; user: { login: string; type: string } }[];
  /** The item itself as GET /issues/{n} answers (exception requests): its labels are `labels`. */
  issue: { body: string; user: { login: string; type: string }; state: 'open' | 'closed' };
  /** Its label events (GET /issues/{n}/events); our own label writes add theirs. */
  events: { event: 'labeled' | 'unlabeled'; label: { name: string }; actor: { login: string; type: string }; created_at: string }[];
  /** Every request: `METHOD path`. */
  log: string[];
  /** Our check runs' writes, in order. */
  checkWrites: { method: 'POST' | 'PATCH'; status: string; conclusion?: string; title: string }[];
  /** Answer the code-scanning list with this status (e.g. 502) while set. */
  alertsStatus: number | null;
  /** The message of that answer (default `Server Error`), e.g. `no analysis found`. */
  alertsMessage?: string;
  /** The fake's own routes not used (a fake server, not expectations): left out of the pending-mock check. */
  routes(): string[];
}

const OUR_APP = 1;
const worlds = new Set<GateWorld>();
let nextId = 100;

export function fakeGateGitHub(api: string, fullName: string, number: number): GateWorld {
  const w: GateWorld = {
    labels: [],
    comments: [],
    checkRuns: [],
    statuses: [],
    workflowRuns: [],
    changedFiles: () => w.files.length,
    reviews: [],
    labelEvents: [],
    permissions: {},
    commits: {},
    files: [],
    repoFiles: {},
    repoFileAuthors: {},
    alerts: [],
    pulls: [],
    issues: [],
    issue: { body: '', user: { login: 'octocat', type: 'User' }, state: 'open' },
    events: [],
    log: [],
    checkWrites: [],
    alertsStatus: null,
    routes: () => [],
  };
  const bot = { login: 'gatehouse[bot]', type: 'Bot' };
  const event = (e: 'labeled' | 'unlabeled', name: string): void =>
    void w.events.push({ event: e, label: { name }, actor: bot, created_at: nextEventAt(w) });
  const repo = `/repos/${fullName}`;
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const R = (tail: string): RegExp => new RegExp(`^${esc(repo)}${tail}(\\?.*)?$`);
  worlds.add(w);
  const query = (uri: string): URLSearchParams => new URL(uri, 'https://x').searchParams;
  const scope = nock(api).persist().defaultReplyHeaders(standInHeaders);
  const note = (method: string, uri: string): void => {
    w.log.push(`${method} ${uri.split('?')[0]}`);
  };

  scope.post(/^\/app\/installations\/\d+\/access_tokens$/).reply(() => [201, accessToken()]);
  scope.get(R('/contents/.+')).reply((uri) => (note('GET', uri), contentsReply(uri, w.repoFiles)));
  scope.get(R('/commits')).reply((uri) => (note('GET', uri), [200, commitsReply(uri, w.repoFiles, w.repoFileAuthors)]));

  scope.get(R(`/pulls/${number}/files`)).reply((uri) => {
    note('GET', uri);
    // As GitHub: pages of per_page (default 30), a Link header, and no file past the 3,000th.
    const q = query(uri);
    const per = Number(q.get('per_page') ?? 30);
    const page = Number(q.get('page') ?? 1);
    const listed = w.files.slice(0, 3000);
    const last = Math.max(1, Math.ceil(listed.length / per));
    const link =
      page < last
        ? {
            link: `<${api}${repo}/pulls/${number}/files?per_page=${per}&page=${page + 1}>; rel="next", <${api}${repo}/pulls/${number}/files?per_page=${per}&page=${last}>; rel="last"`,
          }
        : {};
    return [
      200,
      githubAnswer(
        'GET /repos/{owner}/{repo}/pulls/{pull_number}/files',
        200,
        listed.slice((page - 1) * per, page * per).map((filename) => ({ filename, status: 'modified' })),
      ),
      link,
    ];
  });
  scope.get(R(`/pulls/${number}`)).reply((uri) => {
    note('GET', uri);
    const head =
      (w.pulls[0]?.['head'] as { sha: string } | undefined)?.sha ??
      w.checkRuns.find((r) => r.app.id !== OUR_APP)?.head_sha ??
      '0'.repeat(40);
    return [
      200,
      githubAnswer('GET /repos/{owner}/{repo}/pulls/{pull_number}', 200, {
        number,
        state: 'open',
        head: { sha: head },
        base: { ref: 'master' },
        changed_files: w.changedFiles(),
        commits: 1,
        additions: 1,
        deletions: 0,
        requested_teams: [],
      }),
    ];
  });
  scope.get(R('/actions/runs')).reply((uri) => {
    note('GET', uri);
    const sha = query(uri).get('head_sha');
    const runs = w.workflowRuns.filter((r) => !sha || r.head_sha === sha);
    return [200, listed('GET /repos/{owner}/{repo}/actions/runs', 'workflow_runs', { total_count: runs.length }, runs)];
  });
  scope.get(R('/commits/[0-9a-f]+/statuses')).reply((uri) => {
    note('GET', uri);
    const sha = uri.split('/commits/')[1]!.split('/')[0]!;
    // Newest first, as GitHub lists them.
    return [
      200,
      githubAnswer(
        'GET /repos/{owner}/{repo}/commits/{ref}/statuses',
        200,
        w.statuses
          .filter((s) => s.sha === sha)
          .reverse()
          .map((s, i) => ({ id: 7000 + i, ...s, creator: s.creator ? githubUser(s.creator.login, s.creator.type) : null })),
      ),
    ];
  });
  scope.get(R(`/issues/${number}/labels`)).reply((uri) => (note('GET', uri), [200, w.labels.map(githubLabel)]));
  scope.post(R(`/issues/${number}/labels`)).reply((uri, body) => {
    note('POST', uri);
    for (const l of (body as { labels: string[] }).labels) {
      if (w.labels.includes(l)) continue;
      w.labels.push(l);
      event('labeled', l);
    }
    return [200, w.labels.map(githubLabel)];
  });
  scope.delete(R(`/issues/${number}/labels/.+`)).reply((uri) => {
    note('DELETE', uri);
    const name = decodeURIComponent(uri.split('?')[0]!.split('/labels/')[1]!);
    if (w.labels.includes(name)) event('unlabeled', name);
    w.labels = w.labels.filter((l) => l !== name);
    return [200, w.labels.map(githubLabel)];
  });
  scope
    .get(R(`/issues/${number}`))
    .reply(
      (uri) => (
        note('GET', uri),
        [
          200,
          githubIssue({ number, ...w.issue, user: githubUser(w.issue.user.login, w.issue.user.type), labels: w.labels.map(githubLabel) }),
        ]
      ),
    );
  scope
    .get(R(`/issues/${number}/comments`))
    .reply(
      (uri) => (
        note('GET', uri),
        [200, w.comments.map((c) => githubComment('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', 200, c))]
      ),
    );
  scope.post(R(`/issues/${number}/comments`)).reply((uri, body) => {
    note('POST', uri);
    const c = { id: nextId++, body: (body as { body: string }).body, user: { login: 'gatehouse[bot]', type: 'Bot' } };
    w.comments.push(c);
    return [201, githubComment('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', 201, c)];
  });
  scope.get(R('/issues/comments/\\d+')).reply((uri) => {
    note('GET', uri);
    const id = Number(uri.split('?')[0]!.split('/').pop());
    const c = [...worlds].flatMap((x) => x.comments).find((x) => x.id === id);
    return c ? [200, githubComment('GET /repos/{owner}/{repo}/issues/comments/{comment_id}', 200, c)] : [404, errorAnswer('Not Found')];
  });
  scope.patch(R('/issues/comments/\\d+')).reply((uri, body) => {
    note('PATCH', uri);
    const id = Number(uri.split('?')[0]!.split('/').pop());
    // Comment ids are unique across the fakes: the first fake's route serves every issue's edits.
    const c = [...worlds].flatMap((x) => x.comments).find((x) => x.id === id);
    if (c) c.body = (body as { body: string }).body;
    return c ? [200, githubComment('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', 200, c)] : [404, errorAnswer('Not Found')];
  });

  scope.get(R('/commits/[0-9a-f]+/check-runs')).reply((uri) => {
    note('GET', uri);
    const sha = uri.split('/commits/')[1]!.split('/')[0]!;
    const q = query(uri);
    const name = q.get('check_name');
    const runs = w.checkRuns.filter(
      (r) => r.head_sha === sha && (!name || r.name === name) && (!q.get('app_id') || r.app.id === Number(q.get('app_id'))),
    );
    return [
      200,
      listed(
        'GET /repos/{owner}/{repo}/commits/{ref}/check-runs',
        'check_runs',
        { total_count: runs.length },
        runs.map((r) => ({ ...r, pull_requests: [] })),
      ),
    ];
  });
  scope.post(R('/check-runs')).reply((uri, body) => {
    note('POST', uri);
    const b = body as { name: string; head_sha: string; status: string; conclusion?: string; output: { title: string; summary: string } };
    const run: FakeCheckRun = {
      id: nextId++,
      name: b.name,
      head_sha: b.head_sha,
      status: b.status,
      conclusion: b.conclusion ?? null,
      app: { id: OUR_APP },
      output: b.output,
    };
    w.checkRuns.push(run);
    w.checkWrites.push({ method: 'POST', status: b.status, conclusion: b.conclusion, title: b.output.title });
    return [201, checkRun('POST /repos/{owner}/{repo}/check-runs', 201, run)];
  });
  scope.patch(R('/check-runs/\\d+')).reply((uri, body) => {
    note('PATCH', uri);
    const id = Number(uri.split('?')[0]!.split('/').pop());
    const b = body as { status: string; conclusion?: string; output: { title: string; summary: string } };
    const run = w.checkRuns.find((r) => r.id === id)!;
    Object.assign(run, { status: b.status, conclusion: b.conclusion ?? null, output: b.output });
    w.checkWrites.push({ method: 'PATCH', status: b.status, conclusion: b.conclusion, title: b.output.title });
    return [200, checkRun('PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}', 200, run)];
  });
  scope.get(R('/commits/[0-9a-f]+/status')).reply((uri) => {
    note('GET', uri);
    const sha = uri.split('/commits/')[1]!.split('/')[0]!;
    const statuses = w.statuses.filter((s) => s.sha === sha);
    return [
      200,
      listed(
        'GET /repos/{owner}/{repo}/commits/{ref}/status',
        'statuses',
        { state: 'success', sha, total_count: statuses.length },
        statuses.map((s, i) => ({ id: 7000 + i, ...s, creator: undefined })),
      ),
    ];
  });
  scope.get(R(`/pulls/${number}/reviews`)).reply(
    (uri) => (
      note('GET', uri),
      [
        200,
        githubAnswer(
          'GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews',
          200,
          w.reviews.map((r, i) => ({ id: 80 + i, ...r, user: githubUser(r.user.login, r.user.type) })),
        ),
      ]
    ),
  );
  scope.get(R(`/issues/${number}/events`)).reply((uri) => {
    note('GET', uri);
    const events = w.labelEvents.map((e) => ({
      event: e.event,
      actor: { login: e.actor, type: e.type ?? 'User' },
      created_at: e.at,
      label: { name: e.label, color: 'ededed' },
    }));
    // Both ways of seeding events (`labelEvents`, and `events` with our own label writes), one listing.
    const page = Number(query(uri).get('page') ?? 1) === 1 ? [...events, ...w.events] : [];
    return [200, page.map((e, i) => labelEvent(7000 + i, e))];
  });
  scope.get(R('/collaborators/[^/]+/permission')).reply((uri) => {
    note('GET', uri);
    const login = decodeURIComponent(uri.split('/collaborators/')[1]!.split('/')[0]!);
    const role = w.permissions[login] ?? 'read';
    // `permission` keeps the old names: maintain reads write, triage reads read; `role_name` is the role.
    const permission = role === 'maintain' ? 'write' : role === 'triage' ? 'read' : role;
    return [
      200,
      githubAnswer('GET /repos/{owner}/{repo}/collaborators/{username}/permission', 200, {
        permission,
        role_name: role,
        user: { ...(githubUser(login, 'User') as object), role_name: role },
      }),
    ];
  });
  scope.get(R('/commits/[0-9a-f]{40}')).reply((uri) => {
    note('GET', uri);
    const sha = uri.split('/commits/')[1]!.split('?')[0]!;
    const c = w.commits[sha] ?? { author: 'Codertocat', committer: 'Codertocat' };
    const account = (login: string): unknown => githubUser(login, 'User');
    return [
      200,
      githubAnswer('GET /repos/{owner}/{repo}/commits/{ref}', 200, {
        sha,
        commit: {
          message: 'Release',
          author: { name: c.author, date: '2026-11-20T08:00:00Z' },
          committer: { name: c.committer, date: '2026-11-20T08:00:00Z' },
        },
        author: account(c.author),
        committer: account(c.committer),
        parents: [],
        files: [],
      }),
    ];
  });
  scope.get(R('/code-scanning/alerts')).reply((uri) => {
    note('GET', uri);
    if (w.alertsStatus) return [w.alertsStatus, errorAnswer(w.alertsMessage ?? 'Server Error')];
    return [200, githubAnswer('GET /repos/{owner}/{repo}/code-scanning/alerts', 200, w.alerts)];
  });
  scope.get(R('/commits/[0-9a-f]+/pulls')).reply((uri) => {
    note('GET', uri);
    const sha = uri.split('/commits/')[1]!.split('/')[0]!;
    return [
      200,
      githubAnswer(
        'GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls',
        200,
        w.pulls
          .filter((p) => (p['head'] as { sha: string }).sha === sha)
          .map((p) => ({
            requested_teams: [],
            ...p,
            labels: ((p['labels'] as { name: string }[] | undefined) ?? []).map((l) => githubLabel(l.name)),
          })),
      ),
    ];
  });
  const asIssue = (i: GateWorld['issues'][number]): unknown =>
    githubIssue({ ...i, user: githubUser(i.user.login, i.user.type), labels: i.labels.map(githubLabel) });
  scope.get(R('/issues')).reply((uri) => (note('GET', uri), [200, w.issues.map(asIssue)]));
  scope.post(R('/issues')).reply((uri, body) => {
    note('POST', uri);
    const b = body as { title: string; body: string; labels: string[] };
    const issue = {
      number: 900 + w.issues.length,
      title: b.title,
      body: b.body,
      labels: b.labels,
      html_url: `https://github.com/${fullName}/issues/${900 + w.issues.length}`,
      user: { login: 'gatehouse[bot]', type: 'Bot' },
    };
    w.issues.push(issue);
    return [201, asIssue(issue)];
  });
  w.routes = () => scope.pendingMocks();
  return w;
}

/** An issue event as GitHub lists it: a label added or removed, by an account. */
function labelEvent(
  id: number,
  e: { event: string; label: { name: string; color?: string }; actor: { login: string; type: string }; created_at: string },
): unknown {
  return item('GET /repos/{owner}/{repo}/issues/{issue_number}/events', {
    id,
    event: e.event,
    actor: githubUser(e.actor.login, e.actor.type),
    created_at: e.created_at,
    label: { color: 'ededed', ...e.label },
    commit_id: null,
    commit_url: null,
    performed_via_github_app: null,
  });
}

/** A finished check run of another app on `sha`. */
export function otherRun(w: GateWorld, sha: string, name: string, conclusion: string | null, status = 'completed'): void {
  w.checkRuns.push({ id: 5000 + w.checkRuns.length, name, head_sha: sha, status, conclusion, app: { id: 15368 } });
}

/** A check run of a GitHub Actions workflow file on `sha`, with its workflow run (as GitHub links them by check suite). */
export function workflowRun(w: GateWorld, sha: string, path: string, name: string, conclusion: string | null = 'success'): void {
  const suite = 8000 + w.workflowRuns.length;
  w.workflowRuns.push({
    id: 9000 + w.workflowRuns.length,
    name: path.split('/').pop()!,
    path,
    head_sha: sha,
    check_suite_id: suite,
    event: 'pull_request',
    status: 'completed',
    conclusion,
  });
  w.checkRuns.push({
    id: 5000 + w.checkRuns.length,
    name,
    head_sha: sha,
    status: 'completed',
    conclusion,
    app: { id: 15368, slug: 'github-actions' },
    check_suite: { id: suite },
  });
}

/**
 * The time of the next label event: a second after every event so far (one timeline for events the
 * tests seed with their own clock and those our label writes and `labelBy` add).
 */
function nextEventAt(w: GateWorld): string {
  const times = [...w.labelEvents.map((e) => Date.parse(e.at)), ...w.events.map((e) => Date.parse(e.created_at))];
  return new Date(times.length > 0 ? Math.max(...times) + 1000 : Date.parse('2026-01-01T00:00:00Z')).toISOString();
}

/** `login` (a user) adds or removes `label` on the item, as GitHub's label events will say. */
export function labelBy(w: GateWorld, login: string, label: string, action: 'labeled' | 'unlabeled' = 'labeled'): void {
  if (action === 'labeled' && !w.labels.includes(label)) w.labels.push(label);
  if (action === 'unlabeled') w.labels = w.labels.filter((l) => l !== label);
  w.events.push({
    event: action,
    label: { name: label },
    actor: { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' },
    created_at: nextEventAt(w),
  });
}

/** Our check runs on `sha`, newest last. */
export const ourRuns = (w: GateWorld, sha: string): FakeCheckRun[] => w.checkRuns.filter((r) => r.app.id === OUR_APP && r.head_sha === sha);
