/**
 * A stateful fake of the part of GitHub's REST API that intake workflows use (nock, persistent):
 * issue bodies (GET, PATCH), comments (list, create, edit), labels (add, remove), the token
 * exchange and files on the default branch (absent unless put in `files`: no repository policy).
 * Records what nothing answered.
 */
import nock from 'nock';
import { githubAnswer, githubLabel, standInHeaders } from './github-openapi.ts';

// GitHub's API root, as test/support/harness.ts has it (not imported from there: that module
// registers vitest hooks, and the stand-ins here also serve benchmarks run outside vitest).
const GITHUB_API = 'https://api.github.com';

export interface FakeGitHubIssues {
  bodies: Map<number, string>;
  comments: Map<number, { id: number; body: string }[]>;
  labels: Map<number, string[]>;
  /** Files of the repository by path (e.g. `.github/gatehouse.yml`), served as the contents API does. */
  files: Map<string, string>;
  /** The GitHub login of the newest commit touching each file (GET /commits?path=); default `octocat`. */
  fileAuthors: Map<string, string>;
  /** Every request answered, `METHOD /path?query`. */
  requests: string[];
  unmatched: string[];
  stop(): void;
}

export function fakeGitHubIssues({
  repo = 'Codertocat/Hello-World',
  bot = 'gatehouse[bot]',
  files = {},
}: { repo?: string; bot?: string; files?: Record<string, string> } = {}): FakeGitHubIssues {
  const state: FakeGitHubIssues = {
    bodies: new Map(),
    comments: new Map(),
    labels: new Map(),
    files: new Map(Object.entries(files)),
    fileAuthors: new Map(),
    requests: [],
    unmatched: [],
    stop: () => undefined,
  };
  let nextId = 900;
  const base = `/repos/${repo}`;
  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const R = (tail: string): RegExp => new RegExp(`^${esc(base)}${tail}(\\?.*)?$`);
  const num = (uri: string): number => Number(/\/issues\/(\d+)/.exec(uri)![1]);
  const scope = nock(GITHUB_API).persist().defaultReplyHeaders(standInHeaders);
  scope.on('request', (req: { method?: string; path?: string }) => void state.requests.push(`${req.method ?? '?'} ${req.path ?? '?'}`));
  scope.post(/^\/app\/installations\/\d+\/access_tokens$/).reply(() => [201, accessToken()]);
  scope.get(R('/contents/.+')).reply((uri) => contentsReply(uri, Object.fromEntries(state.files)));
  scope.get(R('/commits')).reply((uri) => [200, commitsReply(uri, Object.fromEntries(state.files), Object.fromEntries(state.fileAuthors))]);
  const issue = (n: number): unknown =>
    githubIssue({ number: n, body: state.bodies.get(n) ?? '', labels: (state.labels.get(n) ?? []).map(githubLabel) });
  scope.get(R('/issues/\\d+')).reply((uri) => [200, issue(num(uri))]);
  scope.patch(R('/issues/\\d+')).reply((uri, body) => {
    const b = body as { body?: string };
    if (typeof b.body === 'string') state.bodies.set(num(uri), b.body);
    return [200, issue(num(uri))];
  });
  const user = { login: bot, type: 'Bot' };
  const comment = (route: string, status: number, c: { id: number; body: string }): unknown => githubComment(route, status, { ...c, user });
  scope.get(R('/issues/\\d+/comments')).reply((uri) => {
    const page = Number(new URL(uri, GITHUB_API).searchParams.get('page') ?? 1);
    const list = page === 1 ? (state.comments.get(num(uri)) ?? []) : [];
    return [
      200,
      githubAnswer(
        'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
        200,
        list.map((c) => ({ ...c, user })),
      ),
    ];
  });
  scope.post(R('/issues/\\d+/comments')).reply((uri, body) => {
    const c = { id: nextId++, body: (body as { body: string }).body };
    state.comments.set(num(uri), [...(state.comments.get(num(uri)) ?? []), c]);
    return [201, comment('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', 201, c)];
  });
  scope.get(R('/issues/comments/\\d+')).reply((uri) => {
    const id = Number(/comments\/(\d+)/.exec(uri)![1]);
    const c = [...state.comments.values()].flat().find((x) => x.id === id);
    return c
      ? [200, comment('GET /repos/{owner}/{repo}/issues/comments/{comment_id}', 200, c)]
      : [404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' }];
  });
  scope.patch(R('/issues/comments/\\d+')).reply((uri, body) => {
    const id = Number(/comments\/(\d+)/.exec(uri)![1]);
    let edited = { id, body: '' };
    for (const list of state.comments.values())
      for (const c of list)
        if (c.id === id) {
          c.body = (body as { body: string }).body;
          edited = c;
        }
    return [200, comment('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', 200, edited)];
  });
  scope.post(R('/issues/\\d+/labels')).reply((uri, body) => {
    const have = state.labels.get(num(uri)) ?? [];
    for (const l of (body as { labels: string[] }).labels) if (!have.includes(l)) have.push(l);
    state.labels.set(num(uri), have);
    return [200, have.map(githubLabel)];
  });
  scope.delete(R('/issues/\\d+/labels/.+')).reply((uri) => {
    const name = decodeURIComponent(/labels\/([^?]+)/.exec(uri)![1]!);
    state.labels.set(
      num(uri),
      (state.labels.get(num(uri)) ?? []).filter((l) => l !== name),
    );
    return [200, (state.labels.get(num(uri)) ?? []).map(githubLabel)];
  });
  const onNoMatch = (req: { method?: string; path?: string; href?: string }): void =>
    void state.unmatched.push(`${req.method ?? '?'} ${req.href ?? req.path ?? '?'}`);
  nock.emitter.on('no match', onNoMatch);
  state.stop = () => {
    nock.emitter.removeListener('no match', onNoMatch);
    scope.persist(false);
    nock.cleanAll();
  };
  return state;
}

/** POST /app/installations/{id}/access_tokens as GitHub answers it. */
export function accessToken(installationId?: number): unknown {
  return githubAnswer('POST /app/installations/{installation_id}/access_tokens', 201, {
    token: installationId === undefined ? 'ghs_test' : `ghs_installation_${installationId}`,
    expires_at: '2099-01-01T00:00:00Z',
  });
}

/**
 * An issue as GitHub answers it (GET, PATCH, POST an issue; an item of GET /issues): open,
 * not a pull request, by octocat unless `fields` say otherwise.
 */
export function githubIssue(fields: Record<string, unknown>): unknown {
  const base = {
    state: 'open',
    state_reason: null,
    pull_request: undefined,
    closed_at: null,
    closed_by: null,
    assignee: null,
    assignees: [],
    milestone: null,
    locked: false,
    active_lock_reason: null,
    draft: undefined,
  };
  const n = fields['number'];
  const urls =
    typeof n === 'number'
      ? {
          url: `https://api.github.com/repos/Codertocat/Hello-World/issues/${n}`,
          html_url: `https://github.com/Codertocat/Hello-World/issues/${n}`,
        }
      : {};
  const merged = { ...base, ...urls, ...fields };
  // Every issue answer has the one `issue` schema; the listing's example is the whole one.
  return (githubAnswer('GET /repos/{owner}/{repo}/issues', 200, [merged]) as unknown[])[0];
}

/** A comment as GitHub answers `route`, its author an account as GitHub describes one. */
export function githubComment(
  route: string,
  status: number,
  c: { id: number; body: string; user?: { login: string; type: string } },
): unknown {
  const fields = { ...c, user: c.user ? { login: c.user.login, type: c.user.type } : undefined, performed_via_github_app: null };
  // a listing answers an array (one comment taken from it); one comment by id an object
  const listing = route.startsWith('GET ') && !route.endsWith('}');
  return listing ? (githubAnswer(route, status, [fields]) as unknown[])[0] : githubAnswer(route, status, fields);
}

/** GET /repos/{owner}/{repo}/contents/{path}: a file as GitHub answers it (base64 content), else 404. */
export function contentsReply(uri: string, files: Record<string, string>): [number, Record<string, unknown>] {
  const path = decodeURIComponent(/\/contents\/([^?]+)/.exec(uri)![1]!);
  const text = files[path];
  if (text === undefined)
    return [
      404,
      { message: 'Not Found', documentation_url: 'https://docs.github.com/rest/repos/contents#get-repository-content', status: '404' },
    ];
  const content = Buffer.from(text).toString('base64');
  const name = path.split('/').pop()!;
  return [
    200,
    githubAnswer('GET /repos/{owner}/{repo}/contents/{path}', 200, {
      type: 'file',
      encoding: 'base64',
      size: text.length,
      name,
      path,
      content,
      sha: '3d21ec53a331a6f037a91c368710b99387d012c1',
    }) as Record<string, unknown>,
  ];
}

/**
 * GET /repos/{owner}/{repo}/commits?path=&per_page=1: the newest commit touching the file, as GitHub
 * lists it (`author`/`committer`: the linked accounts), by `logins[path]` (default `octocat`); none for
 * a file that does not exist.
 */
export function commitsReply(uri: string, files: Record<string, string>, logins: Record<string, string> = {}): Record<string, unknown>[] {
  const path = new URL(uri, 'https://x').searchParams.get('path') ?? '';
  if (files[path] === undefined) return [];
  const login = logins[path] ?? 'octocat';
  const sha = '7638417db6d59f3c431d3e1f261cc637155684cd';
  const user = {
    login,
    id: 583231,
    node_id: 'MDQ6VXNlcjU4MzIzMQ==',
    type: 'User',
    site_admin: false,
    url: `https://api.github.com/users/${login}`,
  };
  const person = { name: login, email: `${login}@users.noreply.github.com`, date: '2026-11-30T10:00:00Z' };
  return githubAnswer('GET /repos/{owner}/{repo}/commits', 200, [
    {
      url: `https://api.github.com/repos/Codertocat/Hello-World/commits/${sha}`,
      sha,
      node_id: 'C_kwDOAAABBtoAKDc2Mzg0MTdkYjZkNTlmM2M0MzFkM2UxZjI2MWNjNjM3MTU1Njg0Y2Q',
      html_url: `https://github.com/Codertocat/Hello-World/commit/${sha}`,
      commit: {
        author: person,
        committer: person,
        message: `Update ${path}`,
        comment_count: 0,
        verification: { verified: false, reason: 'unsigned', signature: null, payload: null },
      },
      author: user,
      committer: user,
      parents: [
        {
          sha: '553c2077f0edc3d5dc5d17262f6aa498e69d6f8e',
          url: 'https://api.github.com/repos/Codertocat/Hello-World/commits/553c2077f0edc3d5dc5d17262f6aa498e69d6f8e',
        },
      ],
    },
  ]) as Record<string, unknown>[];
}
