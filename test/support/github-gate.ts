/**
 * A stateful fake of the GitHub REST endpoints the release gate uses, on nock (persisted
 * interceptors over one repository and pull request): labels, comments, check runs (ours and
 * others'), statuses, reviews, changed files, code-scanning alerts, issues. Tests change its
 * state between deliveries and read what Gatehouse wrote.
 */
import nock from 'nock';

export interface FakeCheckRun {
  id: number;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  app: { id: number };
  output?: { title: string; summary: string };
}

export interface GateWorld {
  labels: string[];
  comments: { id: number; body: string; user: { login: string; type: string } }[];
  /** Every check run on every commit, ours included (app id 1 is ours). */
  checkRuns: FakeCheckRun[];
  statuses: { sha: string; context: string; state: string }[];
  reviews: { user: { login: string }; state: string; commit_id: string }[];
  files: string[];
  alerts: { number: number; rule: { id: string; severity: string; security_severity_level: string | null; description: string }; tool: { name: string }; most_recent_instance: { location: { path: string } } }[];
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
    reviews: [],
    files: [],
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
  const event = (e: 'labeled' | 'unlabeled', name: string): void => void w.events.push({ event: e, label: { name }, actor: bot, created_at: new Date().toISOString() });
  const repo = `/repos/${fullName}`;
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const R = (tail: string): RegExp => new RegExp(`^${esc(repo)}${tail}(\\?.*)?$`);
  worlds.add(w);
  const query = (uri: string): URLSearchParams => new URL(uri, 'https://x').searchParams;
  const scope = nock(api).persist();
  const note = (method: string, uri: string): void => {
    w.log.push(`${method} ${uri.split('?')[0]}`);
  };

  scope.post(/^\/app\/installations\/\d+\/access_tokens$/).reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z' });
  scope.get(R('/contents/.+')).reply(404, { message: 'Not Found' });

  scope.get(R(`/pulls/${number}/files`)).reply((uri) => (note('GET', uri), [200, w.files.map((filename) => ({ filename }))]));
  scope.get(R(`/issues/${number}/labels`)).reply((uri) => (note('GET', uri), [200, w.labels.map((name) => ({ name }))]));
  scope.post(R(`/issues/${number}/labels`)).reply((uri, body) => {
    note('POST', uri);
    for (const l of (body as { labels: string[] }).labels) {
      if (w.labels.includes(l)) continue;
      w.labels.push(l);
      event('labeled', l);
    }
    return [200, w.labels.map((name) => ({ name }))];
  });
  scope.delete(R(`/issues/${number}/labels/.+`)).reply((uri) => {
    note('DELETE', uri);
    const name = decodeURIComponent(uri.split('?')[0]!.split('/labels/')[1]!);
    if (w.labels.includes(name)) event('unlabeled', name);
    w.labels = w.labels.filter((l) => l !== name);
    return [200, []];
  });
  scope.get(R(`/issues/${number}`)).reply((uri) => (note('GET', uri), [200, { number, ...w.issue, labels: w.labels.map((name) => ({ name })) }]));
  scope.get(R(`/issues/${number}/events`)).reply((uri) => (note('GET', uri), [200, Number(query(uri).get('page') ?? 1) === 1 ? w.events : []]));
  scope.get(R(`/issues/${number}/comments`)).reply((uri) => (note('GET', uri), [200, w.comments]));
  scope.post(R(`/issues/${number}/comments`)).reply((uri, body) => {
    note('POST', uri);
    const c = { id: nextId++, body: (body as { body: string }).body, user: { login: 'gatehouse[bot]', type: 'Bot' } };
    w.comments.push(c);
    return [201, c];
  });
  scope.patch(R('/issues/comments/\\d+')).reply((uri, body) => {
    note('PATCH', uri);
    const id = Number(uri.split('?')[0]!.split('/').pop());
    // Comment ids are unique across the fakes: the first fake's route serves every issue's edits.
    const c = [...worlds].flatMap((x) => x.comments).find((x) => x.id === id);
    if (c) c.body = (body as { body: string }).body;
    return [200, c ?? {}];
  });

  scope.get(R('/commits/[0-9a-f]+/check-runs')).reply((uri) => {
    note('GET', uri);
    const sha = uri.split('/commits/')[1]!.split('/')[0]!;
    const q = query(uri);
    const name = q.get('check_name');
    const runs = w.checkRuns.filter((r) => r.head_sha === sha && (!name || r.name === name) && (!q.get('app_id') || r.app.id === Number(q.get('app_id'))));
    return [200, { total_count: runs.length, check_runs: runs }];
  });
  scope.post(R('/check-runs')).reply((uri, body) => {
    note('POST', uri);
    const b = body as { name: string; head_sha: string; status: string; conclusion?: string; output: { title: string; summary: string } };
    const run: FakeCheckRun = { id: nextId++, name: b.name, head_sha: b.head_sha, status: b.status, conclusion: b.conclusion ?? null, app: { id: OUR_APP }, output: b.output };
    w.checkRuns.push(run);
    w.checkWrites.push({ method: 'POST', status: b.status, conclusion: b.conclusion, title: b.output.title });
    return [201, run];
  });
  scope.patch(R('/check-runs/\\d+')).reply((uri, body) => {
    note('PATCH', uri);
    const id = Number(uri.split('?')[0]!.split('/').pop());
    const b = body as { status: string; conclusion?: string; output: { title: string; summary: string } };
    const run = w.checkRuns.find((r) => r.id === id)!;
    Object.assign(run, { status: b.status, conclusion: b.conclusion ?? null, output: b.output });
    w.checkWrites.push({ method: 'PATCH', status: b.status, conclusion: b.conclusion, title: b.output.title });
    return [200, run];
  });
  scope.get(R('/commits/[0-9a-f]+/status')).reply((uri) => {
    note('GET', uri);
    const sha = uri.split('/commits/')[1]!.split('/')[0]!;
    const statuses = w.statuses.filter((s) => s.sha === sha);
    return [200, { state: 'success', total_count: statuses.length, statuses }];
  });
  scope.get(R(`/pulls/${number}/reviews`)).reply((uri) => (note('GET', uri), [200, w.reviews]));
  scope.get(R('/code-scanning/alerts')).reply((uri) => {
    note('GET', uri);
    if (w.alertsStatus) return [w.alertsStatus, { message: 'Server Error' }];
    return [200, w.alerts];
  });
  scope.get(R('/commits/[0-9a-f]+/pulls')).reply((uri) => {
    note('GET', uri);
    const sha = uri.split('/commits/')[1]!.split('/')[0]!;
    return [200, w.pulls.filter((p) => (p['head'] as { sha: string }).sha === sha)];
  });
  scope.get(R('/issues')).reply((uri) => (note('GET', uri), [200, w.issues]));
  scope.post(R('/issues')).reply((uri, body) => {
    note('POST', uri);
    const b = body as { title: string; body: string; labels: string[] };
    const issue = { number: 900 + w.issues.length, title: b.title, body: b.body, labels: b.labels, html_url: `https://github.com/${fullName}/issues/${900 + w.issues.length}`, user: { login: 'gatehouse[bot]', type: 'Bot' } };
    w.issues.push(issue);
    return [201, issue];
  });
  w.routes = () => scope.pendingMocks();
  return w;
}

/** A finished check run of another app on `sha`. */
export function otherRun(w: GateWorld, sha: string, name: string, conclusion: string | null, status = 'completed'): void {
  w.checkRuns.push({ id: 5000 + w.checkRuns.length, name, head_sha: sha, status, conclusion, app: { id: 15368 } });
}

/** `login` (a user) adds or removes `label` on the item, as GitHub's label events will say. */
export function labelBy(w: GateWorld, login: string, label: string, action: 'labeled' | 'unlabeled' = 'labeled'): void {
  if (action === 'labeled' && !w.labels.includes(label)) w.labels.push(label);
  if (action === 'unlabeled') w.labels = w.labels.filter((l) => l !== label);
  w.events.push({ event: action, label: { name: label }, actor: { login, type: login.endsWith('[bot]') ? 'Bot' : 'User' }, created_at: new Date().toISOString() });
}

/** Our check runs on `sha`, newest last. */
export const ourRuns = (w: GateWorld, sha: string): FakeCheckRun[] => w.checkRuns.filter((r) => r.app.id === OUR_APP && r.head_sha === sha);
