/**
 * GitHub's, GitLab's and Slack's Web APIs, faked on one loopback HTTP server, for tests and the
 * load bench that run Gatehouse in child processes: GHE_HOST=`host` (GitHub under /api/v3),
 * GITLAB_URL=`url` (GitLab under /api/v4), SLACK_API_URL=`${url}/api/` (Slack), and Slack's
 * response_url at `${url}/slack-response/…`. Issues' labels and comments, GitLab notes and Slack
 * messages are kept in memory; every request is recorded.
 *
 * `hold(predicate)`: a matching request is carried out (the comment stored, the message posted)
 * but never answered, as when a process dies between an API's side effect and marking its work
 * done. `hang`: every request is recorded and left unanswered, with no side effect.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface UpstreamRequest {
  api: 'github' | 'gitlab' | 'slack' | 'response_url' | 'other';
  method: string;
  /** Path without the API's prefix (`/repos/o/r/issues/1/comments`, `/chat.postMessage`). */
  path: string;
  body: Record<string, unknown> | null;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  text: string;
  /** The notice key our blocks carry in their buttons' values (null when none). */
  key: string | null;
  /** The message metadata sent with it (chat.postMessage's `metadata`), parsed. */
  metadata: { event_type: string; event_payload?: Record<string, unknown> } | null;
  updates: number;
}

export interface FakeUpstreams {
  url: string;
  host: string;
  requests: UpstreamRequest[];
  /** GitHub: comments per `owner/repo#n`. */
  githubComments: Map<string, { id: number; body: string }[]>;
  /** GitHub: label set per `owner/repo#n`, and how many label-adding requests each got. */
  githubLabels: Map<string, Set<string>>;
  githubLabelWrites: Map<string, number>;
  /** GitHub: issue bodies as Gatehouse last wrote them (PATCH), and how many writes each got. */
  githubBodies: Map<string, string>;
  githubBodyWrites: Map<string, number>;
  /** GitLab: notes and labels per `project/issues/iid` or `project/merge_requests/iid`. */
  gitlabNotes: Map<string, { id: number; body: string }[]>;
  gitlabLabels: Map<string, Set<string>>;
  gitlabLabelWrites: Map<string, number>;
  slackMessages: SlackMessage[];
  responseUrlPosts: number;
  /** Leave every request (true) or the matching ones unanswered, with no effect. */
  hang: boolean | ((r: UpstreamRequest) => boolean);
  /** Carry out, then never answer, the requests this matches (null: answer everything). */
  hold: ((r: UpstreamRequest) => boolean) | null;
  /** Resolves with the first request (from now on) that matches. */
  next(match: (r: UpstreamRequest) => boolean, timeoutMs?: number): Promise<UpstreamRequest>;
  close(): Promise<void>;
}

export const GITLAB_BOT_USERNAME = 'gatehouse-bot';

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return null;
  if ((req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded'))
    return Object.fromEntries(new URLSearchParams(text));
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function metadataOf(v: unknown): SlackMessage['metadata'] {
  try {
    const m: unknown = typeof v === 'string' ? JSON.parse(v) : v;
    return m && typeof m === 'object' && typeof (m as { event_type?: unknown }).event_type === 'string'
      ? (m as NonNullable<SlackMessage['metadata']>)
      : null;
  } catch {
    return null;
  }
}

/** The notice key a message's buttons carry (`value` of the first action element). */
function keyOfBlocks(blocks: unknown): string | null {
  let parsed: unknown = blocks;
  if (typeof blocks === 'string') {
    try {
      parsed = JSON.parse(blocks);
    } catch {
      return null;
    }
  }
  if (!Array.isArray(parsed)) return null;
  for (const b of parsed as { type?: string; elements?: { value?: unknown }[] }[]) {
    for (const e of b.elements ?? []) if (typeof e.value === 'string') return e.value;
  }
  return null;
}

export async function startFakeUpstreams(): Promise<FakeUpstreams> {
  let nextId = 1;
  let ts = Math.floor(Date.now() / 1000); // message ts are times: conversations.history filters on them
  const waiters: { match: (r: UpstreamRequest) => boolean; resolve: (r: UpstreamRequest) => void }[] = [];
  const fake = {
    requests: [] as UpstreamRequest[],
    githubComments: new Map<string, { id: number; body: string }[]>(),
    githubLabels: new Map<string, Set<string>>(),
    githubLabelWrites: new Map<string, number>(),
    githubBodies: new Map<string, string>(),
    githubBodyWrites: new Map<string, number>(),
    gitlabNotes: new Map<string, { id: number; body: string }[]>(),
    gitlabLabels: new Map<string, Set<string>>(),
    gitlabLabelWrites: new Map<string, number>(),
    slackMessages: [] as SlackMessage[],
    responseUrlPosts: 0,
    hang: false as boolean | ((r: UpstreamRequest) => boolean),
    hold: null as ((r: UpstreamRequest) => boolean) | null,
  };

  const github = (r: UpstreamRequest): [number, unknown] => {
    const { method, path, body } = r;
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/app') return [200, { slug: 'gatehouse', id: 1 }];
    if (method === 'POST' && /^\/app\/installations\/\d+\/access_tokens$/.test(path))
      return [201, { token: 'ghs_fake', expires_at: '2099-01-01T00:00:00Z' }];
    if (method === 'GET' && /\/contents\//.test(path)) return [404, { message: 'Not Found' }];
    if (method === 'GET' && path === '/app/hook/deliveries') return [200, []];
    if ((m = /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/comments$/.exec(path))) {
      const key = `${m[1]}#${m[2]}`;
      const list = fake.githubComments.get(key) ?? [];
      fake.githubComments.set(key, list);
      if (method === 'GET') return [200, list.map((c) => ({ ...c, user: { login: 'gatehouse[bot]', type: 'Bot' } }))];
      const c = { id: nextId++, body: String(body?.['body'] ?? '') };
      list.push(c);
      return [201, { ...c, user: { login: 'gatehouse[bot]', type: 'Bot' } }];
    }
    if (method === 'PATCH' && (m = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(path))) {
      const id = Number(m[1]);
      for (const list of fake.githubComments.values()) for (const c of list) if (c.id === id) c.body = String(body?.['body'] ?? '');
      return [200, { id }];
    }
    if (method === 'GET' && (m = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(path))) {
      const id = Number(m[1]);
      const c = [...fake.githubComments.values()].flat().find((x) => x.id === id);
      return c ? [200, { ...c, user: { login: 'gatehouse[bot]', type: 'Bot' } }] : [404, { message: 'Not Found' }];
    }
    if ((m = /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)\/labels(?:\/(.+))?$/.exec(path))) {
      const key = `${m[1]}#${m[2]}`;
      const set = fake.githubLabels.get(key) ?? new Set<string>();
      fake.githubLabels.set(key, set);
      if (method === 'POST') {
        fake.githubLabelWrites.set(key, (fake.githubLabelWrites.get(key) ?? 0) + 1);
        for (const l of (body?.['labels'] as string[] | undefined) ?? []) set.add(l);
      }
      if (method === 'DELETE' && m[3]) set.delete(decodeURIComponent(m[3]));
      return [200, [...set].map((name) => ({ name }))];
    }
    if ((m = /^\/repos\/([^/]+\/[^/]+)\/issues\/(\d+)$/.exec(path))) {
      const key = `${m[1]}#${m[2]}`;
      if (method === 'PATCH' && typeof body?.['body'] === 'string') {
        fake.githubBodies.set(key, body['body']);
        fake.githubBodyWrites.set(key, (fake.githubBodyWrites.get(key) ?? 0) + 1);
      }
      const labels = [...(fake.githubLabels.get(key) ?? [])].map((name) => ({ name }));
      return [
        200,
        {
          number: Number(m[2]),
          state: 'open',
          body: fake.githubBodies.get(key) ?? '',
          labels,
          assignees: [],
          user: { login: 'octocat', type: 'User' },
        },
      ];
    }
    if (method === 'GET' && /^\/repos\/[^/]+\/[^/]+\/pulls\/\d+\/files$/.test(path)) return [200, []];
    return [404, { message: `fake GitHub has no ${method} ${path}` }];
  };

  const gitlab = (r: UpstreamRequest): [number, unknown] => {
    const { method, path, body } = r;
    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/user') return [200, { id: 99, username: GITLAB_BOT_USERNAME }];
    if (method === 'GET' && /\/repository\/files\/.+\/raw$/.test(path)) return [404, { message: '404 File Not Found' }];
    if ((m = /^\/projects\/([^/]+)\/(issues|merge_requests)\/(\d+)\/notes(?:\/(\d+))?$/.exec(path))) {
      const key = `${m[1]}/${m[2]}/${m[3]}`;
      const list = fake.gitlabNotes.get(key) ?? [];
      fake.gitlabNotes.set(key, list);
      const note = (n: { id: number; body: string }) => ({ ...n, system: false, author: { id: 99, username: GITLAB_BOT_USERNAME } });
      if (method === 'GET' && m[4]) {
        const n = list.find((x) => x.id === Number(m![4]));
        return n ? [200, note(n)] : [404, { message: '404 Not found' }];
      }
      if (method === 'GET') return [200, list.map(note)];
      if (method === 'POST') {
        const n = { id: nextId++, body: String(body?.['body'] ?? '') };
        list.push(n);
        return [201, note(n)];
      }
      if (method === 'PUT' && m[4]) {
        const n = list.find((x) => x.id === Number(m![4]));
        if (!n) return [404, { message: '404 Not found' }];
        n.body = String(body?.['body'] ?? '');
        return [200, note(n)];
      }
    }
    if ((m = /^\/projects\/([^/]+)\/(issues|merge_requests)\/(\d+)$/.exec(path))) {
      const key = `${m[1]}/${m[2]}/${m[3]}`;
      const set = fake.gitlabLabels.get(key) ?? new Set<string>();
      fake.gitlabLabels.set(key, set);
      if (method === 'PUT') {
        const split = (v: unknown): string[] =>
          typeof v === 'string'
            ? v
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
            : [];
        if (body?.['add_labels']) fake.gitlabLabelWrites.set(key, (fake.gitlabLabelWrites.get(key) ?? 0) + 1);
        for (const l of split(body?.['add_labels'])) set.add(l);
        for (const l of split(body?.['remove_labels'])) set.delete(l);
      }
      return [200, { iid: Number(m[3]), labels: [...set], assignees: [], reviewers: [] }];
    }
    if (method === 'GET' && /^\/projects\/[^/]+\/merge_requests\/\d+\/(diffs|changes)$/.test(path)) return [200, []];
    return [404, { message: `fake GitLab has no ${method} ${path}` }];
  };

  /** The fake's channel id for a channel name or id. */
  const channelId = (channel: string): string =>
    /^[CGD][A-Z0-9]{5,}$/.test(channel) ? channel : `C${channel.replace(/\W/g, '').toUpperCase().slice(0, 10) || 'X'}`;
  const slack = (r: UpstreamRequest): [number, unknown] => {
    const { path, body } = r;
    if (path === '/chat.postMessage') {
      const msg: SlackMessage = {
        channel: String(body?.['channel'] ?? ''),
        ts: `${ts++}.000100`,
        text: String(body?.['text'] ?? ''),
        key: keyOfBlocks(body?.['blocks']),
        metadata: metadataOf(body?.['metadata']),
        updates: 0,
      };
      fake.slackMessages.push(msg);
      return [200, { ok: true, channel: channelId(msg.channel), ts: msg.ts }];
    }
    if (path === '/conversations.list') {
      const names = [...new Set(fake.slackMessages.map((m) => m.channel).filter((c) => c.startsWith('#')))];
      return [
        200,
        { ok: true, channels: names.map((n) => ({ id: channelId(n), name: n.slice(1) })), response_metadata: { next_cursor: '' } },
      ];
    }
    if (path === '/conversations.history') {
      const oldest = Number(body?.['oldest'] ?? 0);
      const messages = fake.slackMessages
        .filter((m) => channelId(m.channel) === body?.['channel'] && Number(m.ts) >= oldest)
        .reverse()
        .map((m) => ({
          type: 'message',
          ts: m.ts,
          text: m.text,
          ...(m.metadata && body?.['include_all_metadata'] === 'true' ? { metadata: m.metadata } : {}),
        }));
      return [200, { ok: true, messages, has_more: false, response_metadata: { next_cursor: '' } }];
    }
    if (path === '/chat.update') {
      const msg = fake.slackMessages.find((x) => x.ts === body?.['ts']);
      if (!msg) return [200, { ok: false, error: 'message_not_found' }];
      msg.updates += 1;
      return [200, { ok: true, channel: body?.['channel'], ts: msg.ts }];
    }
    if (path === '/usergroups.users.list') return [200, { ok: true, users: [] }];
    if (path === '/auth.test') return [200, { ok: true, user_id: 'U0BOT', bot_id: 'B0BOT', team_id: 'T0' }];
    return [200, { ok: false, error: 'unknown_method' }];
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = url.pathname; // still encoded: GitLab's project ids are `group%2Fproject`
    const body = await readBody(req);
    let api: UpstreamRequest['api'] = 'other';
    let path = raw;
    if (raw.startsWith('/api/v3/')) [api, path] = ['github', raw.slice('/api/v3'.length)];
    else if (raw.startsWith('/api/v4/')) [api, path] = ['gitlab', raw.slice('/api/v4'.length)];
    else if (raw.startsWith('/api/')) [api, path] = ['slack', raw.slice('/api'.length)];
    else if (raw.startsWith('/slack-response/')) api = 'response_url';
    const r: UpstreamRequest = { api, method: req.method ?? '', path, body };
    fake.requests.push(r);
    for (const w of [...waiters]) {
      if (w.match(r)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(r);
      }
    }
    if (fake.hang === true || (typeof fake.hang === 'function' && fake.hang(r))) return;
    let status: number;
    let data: unknown;
    if (api === 'github') [status, data] = github(r);
    else if (api === 'gitlab') [status, data] = gitlab(r);
    else if (api === 'slack') [status, data] = slack(r);
    else if (api === 'response_url') [status, data] = [200, { ok: true }];
    else [status, data] = [404, { message: 'no such API' }];
    if (api === 'response_url') fake.responseUrlPosts += 1;
    if (fake.hold?.(r)) return; // carried out, never answered
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(data));
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(fake, {
    url: `http://${host}`,
    host,
    next(match: (r: UpstreamRequest) => boolean, timeoutMs = 20_000): Promise<UpstreamRequest> {
      return new Promise<UpstreamRequest>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the awaited API request did not come')), timeoutMs);
        waiters.push({
          match,
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        });
      });
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
