/**
 * GitLab test support: GitLab's documented webhook payloads (test/fixtures/gitlab/, deep
 * copies with fields set), deliveries with their headers, and a small stateful GitLab REST API
 * on nock (issues' and merge requests' labels and notes, raw files) for forge tests.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import nock from 'nock';

export const GITLAB_URL = 'https://gitlab.example.com';
export const GITLAB_API = `${GITLAB_URL}/api/v4`;
export const GITLAB_SECRET = 'gitlab-webhook-token-for-tests';
export const GITLAB_BOT = 'gatehouse-bot';

const FIXTURES = [fileURLToPath(new URL('../fixtures/gitlab/', import.meta.url))];

/** A deep copy of GitLab's documented example payload, e.g. `gitlabFixture('issue-hook')`. */
export function gitlabFixture(name: string): Record<string, unknown> {
  const dir = FIXTURES.find((d) => existsSync(`${d}${name}.json`));
  if (!dir) throw new Error(`no GitLab fixture ${name}.json in ${FIXTURES.join(' or ')}`);
  return JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8')) as Record<string, unknown>;
}

const obj = (v: unknown): Record<string, unknown> => v as Record<string, unknown>;

/** The documented Issue Hook with the given action, description, labels and acting user. */
export function issueHook({
  action = 'open',
  description,
  labels,
  iid = 23,
  username,
}: {
  action?: 'open' | 'update' | 'reopen' | 'close';
  description: string;
  labels?: string[];
  iid?: number;
  username?: string;
}): Record<string, unknown> {
  const p = gitlabFixture('issue-hook');
  const attrs = obj(p['object_attributes']);
  attrs['action'] = action;
  attrs['description'] = description;
  attrs['iid'] = iid;
  attrs['state'] = action === 'close' ? 'closed' : 'opened';
  if (labels) {
    const template = obj((p['labels'] as unknown[])[0]);
    const list = labels.map((title, i) => ({ ...template, id: 1000 + i, title }));
    p['labels'] = list;
    attrs['labels'] = list;
  }
  if (username) obj(p['user'])['username'] = username;
  return p;
}

/**
 * The documented Note Hook (on an issue): `author`'s note `text` (note `id`) on issue `iid` of the
 * documented issue's project, the issue as it stands (its description and labels).
 */
export function issueNoteHook({
  id,
  author,
  text,
  iid,
  description = '',
  labels = [],
}: {
  id: number;
  author: string;
  text: string;
  iid: number;
  description?: string;
  labels?: readonly string[];
}): Record<string, unknown> {
  const p = gitlabFixture('note-hook-issue');
  obj(p['user'])['username'] = author;
  // The documented note is on another project than the documented issue: the same project here.
  p['project'] = gitlabFixture('issue-hook')['project'];
  Object.assign(obj(p['object_attributes']), { id, note: text, url: `${GITLAB_URL}/gitlabhq/gitlab-test/-/issues/${iid}#note_${id}` });
  Object.assign(obj(p['issue']), { iid, description, state: 'opened', labels: labels.map((title, i) => ({ id: 2000 + i, title })) });
  return p;
}

export interface GitLabDelivery {
  id: string;
  headers: Record<string, string>;
  body: string;
}

export function gitlabDelivery({
  event,
  payload,
  token = GITLAB_SECRET,
  id = randomUUID(),
}: {
  event: string;
  payload: unknown;
  token?: string | null;
  id?: string;
}): GitLabDelivery {
  return {
    id,
    body: JSON.stringify(payload),
    headers: {
      'content-type': 'application/json',
      'x-gitlab-event': event,
      'idempotency-key': id,
      'x-gitlab-event-uuid': randomUUID(),
      'user-agent': 'GitLab/17.0.0',
      ...(token === null ? {} : { 'x-gitlab-token': token }),
    },
  };
}

// --- A stateful GitLab REST API on nock -------------------------------------------------------

export interface FakeNote {
  id: number;
  body: string;
  author: string;
  system: boolean;
}

export interface FakeGitLabApi {
  labels: Map<string, string[]>;
  /** Descriptions by `issues/<iid>`: read by GET, replaced by a PUT with `description`. */
  descriptions: Map<string, string>;
  notes: Map<string, FakeNote[]>;
  /** Issue authors by `issues/<iid>` (GET answers `author`); default `root`. */
  authors: Map<string, string>;
  /** Resource label events by `issues/<iid>`; our own label writes add theirs (as the bot). */
  labelEvents: Map<string, { action: 'add' | 'remove'; label: string; user: string; created_at: string }[]>;
  /** Projects by id (`GET /projects/:id`); the documented hooks' project 1 is there. */
  projects: Map<number, { path_with_namespace: string; default_branch: string; ci_config_path?: string | null }>;
  files: Map<string, string>;
  /** The git author of the newest commit touching each file (GET /repository/commits?path=); default Administrator. */
  fileAuthors: Map<string, { name: string; email: string }>;
  /** Every request, `METHOD /path?query`. */
  requests: string[];
  /** Requests nothing answered. */
  unmatched: string[];
  stop(): void;
}

/** Key of an issue (`issues/23`) or merge request (`merge_requests/1`) of any project. */
const noteableKey = (kind: string, iid: string): string => `${kind}/${iid}`;

/**
 * Persistent nock interceptors that behave like GitLab for what the forge uses. Notes are listed
 * in pages (`per_page`, `page`, `Link: rel="next"`) and sorted as asked.
 */
export function fakeGitLabApi({ bot = GITLAB_BOT }: { bot?: string } = {}): FakeGitLabApi {
  const state: FakeGitLabApi = {
    labels: new Map(),
    descriptions: new Map(),
    notes: new Map(),
    authors: new Map(),
    labelEvents: new Map(),
    projects: new Map([[1, { path_with_namespace: 'gitlabhq/gitlab-test', default_branch: 'master' }]]),
    files: new Map(),
    fileAuthors: new Map(),
    requests: [],
    unmatched: [],
    stop: () => undefined,
  };
  const labelEvent = (key: string, action: 'add' | 'remove', label: string): void =>
    void state.labelEvents.set(key, [
      ...(state.labelEvents.get(key) ?? []),
      { action, label, user: bot, created_at: new Date().toISOString() },
    ]);
  let nextId = 5000;
  const project = '/api/v4/projects/[^/]+';
  const scope = nock(GITLAB_URL).persist();
  const record = (method: string, uri: string): void => void state.requests.push(`${method} ${uri}`);

  scope.put(new RegExp(`^${project}/(issues|merge_requests)/(\\d+)$`)).reply((uri, body) => {
    record('PUT', uri);
    const [, kind, iid] = /\/(issues|merge_requests)\/(\d+)$/.exec(uri)!;
    const key = noteableKey(kind!, iid!);
    const b = body as { add_labels?: string; remove_labels?: string; description?: string };
    if (typeof b.description === 'string') state.descriptions.set(key, b.description);
    const split = (s: string | undefined): string[] =>
      s
        ? s
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean)
        : [];
    let labels = state.labels.get(key) ?? [];
    for (const l of split(b.add_labels)) {
      if (labels.includes(l)) continue;
      labels.push(l);
      labelEvent(key, 'add', l);
    }
    const remove = split(b.remove_labels);
    for (const l of remove) if (labels.includes(l)) labelEvent(key, 'remove', l);
    labels = labels.filter((l) => !remove.includes(l));
    state.labels.set(key, labels);
    return [200, { iid: Number(iid), labels, description: state.descriptions.get(key) ?? '' }];
  });

  // Issues only: merge requests are answered by the release gate's own fake (gitlab-gate.ts).
  scope.get(new RegExp(`^${project}/issues/(\\d+)$`)).reply((uri) => {
    record('GET', uri);
    const [, iid] = /\/issues\/(\d+)$/.exec(uri)!;
    const key = noteableKey('issues', iid!);
    const author = state.authors.get(key) ?? 'root';
    return [
      200,
      {
        iid: Number(iid),
        state: 'opened',
        author: { id: author === bot ? 99 : 1, username: author },
        labels: state.labels.get(key) ?? [],
        description: state.descriptions.get(key) ?? '',
      },
    ];
  });

  // GET /projects/:id/issues/:iid/resource_label_events (one page here).
  scope.get(new RegExp(`^${project}/issues/(\\d+)/resource_label_events(\\?.*)?$`)).reply((uri) => {
    record('GET', uri);
    const url = new URL(uri, GITLAB_URL);
    const [, iid] = /\/issues\/(\d+)\/resource_label_events/.exec(url.pathname)!;
    const events = Number(url.searchParams.get('page') ?? 1) === 1 ? (state.labelEvents.get(noteableKey('issues', iid!)) ?? []) : [];
    return [
      200,
      events.map((e, i) => ({
        id: i + 1,
        action: e.action,
        created_at: e.created_at,
        resource_type: 'Issue',
        resource_id: Number(iid),
        user: { id: e.user === bot ? 99 : 1, username: e.user, bot: e.user === bot },
        label: { id: 10 + i, name: e.label },
      })),
    ];
  });

  scope.get(new RegExp(`^${project}/(issues|merge_requests)/(\\d+)/notes(\\?.*)?$`)).reply((uri) => {
    record('GET', uri);
    const url = new URL(uri, GITLAB_URL);
    const [, kind, iid] = /\/(issues|merge_requests)\/(\d+)\/notes/.exec(url.pathname)!;
    const all = [...(state.notes.get(noteableKey(kind!, iid!)) ?? [])];
    if (url.searchParams.get('sort') !== 'asc') all.reverse();
    const perPage = Number(url.searchParams.get('per_page') ?? 20);
    const page = Number(url.searchParams.get('page') ?? 1);
    const slice = all.slice((page - 1) * perPage, page * perPage);
    const headers: Record<string, string> = { 'x-page': String(page), 'x-per-page': String(perPage), 'x-total': String(all.length) };
    if (page * perPage < all.length) {
      const next = new URL(url);
      next.searchParams.set('page', String(page + 1));
      headers['link'] = `<${next.toString()}>; rel="next"`;
    }
    return [
      200,
      slice.map((n) => ({ id: n.id, body: n.body, system: n.system, author: { id: n.author === bot ? 99 : 1, username: n.author } })),
      headers,
    ];
  });

  // GitLab's "Get single issue note": the note as it is now, with its author.
  scope.get(new RegExp(`^${project}/(issues|merge_requests)/(\\d+)/notes/(\\d+)$`)).reply((uri) => {
    record('GET', uri);
    const [, kind, iid, id] = /\/(issues|merge_requests)\/(\d+)\/notes\/(\d+)$/.exec(uri)!;
    const n = (state.notes.get(noteableKey(kind!, iid!)) ?? []).find((x) => x.id === Number(id));
    if (!n) return [404, { message: '404 Not found' }];
    const at = '2025-01-06T10:00:00.000Z';
    return [
      200,
      {
        id: n.id,
        type: null,
        body: n.body,
        attachment: null,
        author: { id: n.author === bot ? 99 : 1, username: n.author, name: n.author, state: 'active' },
        created_at: at,
        updated_at: at,
        system: n.system,
        noteable_id: 92,
        noteable_type: kind === 'issues' ? 'Issue' : 'MergeRequest',
        noteable_iid: Number(iid),
        resolvable: false,
        confidential: false,
        internal: false,
      },
    ];
  });

  scope.get(/^\/api\/v4\/projects\/(\d+)$/).reply((uri) => {
    record('GET', uri);
    const id = Number(/\/projects\/(\d+)$/.exec(uri)![1]);
    const p = state.projects.get(id);
    if (!p) return [404, { message: '404 Project Not Found' }];
    return [
      200,
      {
        id,
        path_with_namespace: p.path_with_namespace,
        name: p.path_with_namespace.split('/').pop(),
        default_branch: p.default_branch,
        visibility: 'private',
        ci_config_path: p.ci_config_path ?? null,
      },
    ];
  });

  scope.post(new RegExp(`^${project}/(issues|merge_requests)/(\\d+)/notes$`)).reply((uri, body) => {
    record('POST', uri);
    const [, kind, iid] = /\/(issues|merge_requests)\/(\d+)\/notes$/.exec(uri)!;
    const key = noteableKey(kind!, iid!);
    const note: FakeNote = { id: nextId++, body: (body as { body: string }).body, author: bot, system: false };
    state.notes.set(key, [...(state.notes.get(key) ?? []), note]);
    return [201, { id: note.id, body: note.body, system: false, author: { id: 99, username: bot } }];
  });

  scope.put(new RegExp(`^${project}/(issues|merge_requests)/(\\d+)/notes/(\\d+)$`)).reply((uri, body) => {
    record('PUT', uri);
    const [, kind, iid, id] = /\/(issues|merge_requests)\/(\d+)\/notes\/(\d+)$/.exec(uri)!;
    const note = (state.notes.get(noteableKey(kind!, iid!)) ?? []).find((n) => n.id === Number(id));
    if (!note) return [404, { message: '404 Not found' }];
    if (note.author !== bot) return [403, { message: '403 Forbidden' }];
    note.body = (body as { body: string }).body;
    return [200, { id: note.id, body: note.body, system: false, author: { id: 99, username: bot } }];
  });

  scope.get(new RegExp(`^${project}/repository/files/([^/]+)/raw(\\?.*)?$`)).reply((uri) => {
    record('GET', uri);
    const path = decodeURIComponent(/\/repository\/files\/([^/]+)\/raw/.exec(uri)![1]!);
    const text = state.files.get(path);
    if (text === undefined) return [404, { message: '404 File Not Found' }];
    return [200, text, { 'content-type': 'text/plain; charset=utf-8' }];
  });

  // GET /projects/:id/repository/commits?path=: git's author name and email, no username (as GitLab answers).
  scope.get(new RegExp(`^${project}/repository/commits(\\?.*)?$`)).reply((uri) => {
    record('GET', uri);
    const path = new URL(uri, GITLAB_URL).searchParams.get('path') ?? '';
    if (!state.files.has(path)) return [200, []];
    const a = state.fileAuthors.get(path) ?? { name: 'Administrator', email: 'admin@example.com' };
    const id = 'ed899a2f4b50b4370feeea94676502b42383c746';
    const at = '2026-11-30T10:00:00.000+00:00';
    return [
      200,
      [
        {
          id,
          short_id: id.slice(0, 8),
          title: `Update ${path}`,
          author_name: a.name,
          author_email: a.email,
          authored_date: at,
          committer_name: a.name,
          committer_email: a.email,
          committed_date: at,
          created_at: at,
          message: `Update ${path}`,
          parent_ids: ['6104942438c14ec7bd21c6cd5bd995272b3faff6'],
          web_url: `${GITLAB_URL}/gitlabhq/gitlab-test/-/commit/${id}`,
        },
      ],
    ];
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

/** A person's note, as GitLab keeps it (the hook for it is sent separately). */
export function addNote(api: FakeGitLabApi, key: string, note: { id: number; author: string; body: string }): void {
  api.notes.set(key, [...(api.notes.get(key) ?? []), { ...note, system: false }]);
}

export function seedNotes(api: FakeGitLabApi, key: string, notes: { author: string; body: string; system?: boolean }[]): void {
  let id = 100;
  api.notes.set(
    key,
    notes.map((n) => ({ id: id++, body: n.body, author: n.author, system: n.system ?? false })),
  );
}
