/**
 * A small fake of GitHub's REST API on loopback, for tests that run Gatehouse as a child process
 * (GHE_HOST points at it). It keeps issues' labels and comments in memory and records requests.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { accessToken, githubComment, githubIssue } from './fake-github-issues.ts';
import { githubAnswer, githubLabel, recordGitHubCall } from './github-openapi.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  /** When the request was read (performance.now() of this process): a write's time. */
  at: number;
  /** The status answered (absent while unanswered). */
  status?: number;
}

export interface FakeGitHub {
  host: string;
  requests: RecordedRequest[];
  comments: Map<number, { id: number; body: string }[]>;
  labels: Map<number, Set<string>>;
  /** Issue bodies written with PATCH (what a tracked workflow's checklist leaves in the description). */
  bodies: Map<number, string>;
  /** While true (or true of a request), API requests hang (no answer). */
  hang: boolean | ((r: { method: string; path: string }) => boolean);
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : null;
}

export async function startFakeGitHub(): Promise<FakeGitHub> {
  const fake: Omit<FakeGitHub, 'host' | 'close'> = { requests: [], comments: new Map(), labels: new Map(), bodies: new Map(), hang: false };
  let nextComment = 1;
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = decodeURIComponent((req.url ?? '').split('?')[0]!.replace(/^\/api\/v3/, ''));
      const recorded: RecordedRequest = { method: req.method ?? '', path, body, at: performance.now() };
      fake.requests.push(recorded);
      if (fake.hang === true || (typeof fake.hang === 'function' && fake.hang({ method: req.method ?? '', path }))) return; // never answers
      const send = (status: number, data: unknown) => {
        const text = JSON.stringify(data);
        recorded.status = status;
        // The call and this answer, as GitHub's REST API description has them (the test fails otherwise).
        recordGitHubCall({
          method: req.method ?? '',
          url: req.url ?? '',
          requestBody: body ?? undefined,
          answer: { status, responseText: text },
        });
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(text);
      };
      let m: RegExpExecArray | null;
      if (req.method === 'GET' && path === '/app') return send(200, githubAnswer('GET /app', 200, { slug: 'gatehouse', id: 1 }));
      // Each installation its own token.
      if (req.method === 'POST' && (m = /^\/app\/installations\/(\d+)\/access_tokens$/.exec(path)))
        return send(201, accessToken(Number(m[1])));
      if (req.method === 'GET' && /\/contents\//.test(path))
        return send(404, {
          message: 'Not Found',
          documentation_url: 'https://docs.github.com/rest/repos/contents#get-repository-content',
          status: '404',
        });
      if ((m = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(path))) {
        const n = Number(m[1]);
        const list = fake.comments.get(n) ?? [];
        fake.comments.set(n, list);
        const user = { login: 'gatehouse[bot]', type: 'Bot' };
        if (req.method === 'GET')
          return send(
            200,
            list.map((c) => githubComment('GET /repos/{owner}/{repo}/issues/{issue_number}/comments', 200, { ...c, user })),
          );
        const c = { id: nextComment++, body: (body as { body: string }).body };
        list.push(c);
        return send(201, githubComment('POST /repos/{owner}/{repo}/issues/{issue_number}/comments', 201, { ...c, user }));
      }
      if (req.method === 'GET' && (m = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(path))) {
        const id = Number(m[1]);
        const c = [...fake.comments.values()].flat().find((x) => x.id === id);
        return c
          ? send(
              200,
              githubComment('GET /repos/{owner}/{repo}/issues/comments/{comment_id}', 200, {
                ...c,
                user: { login: 'gatehouse[bot]', type: 'Bot' },
              }),
            )
          : send(404, { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' });
      }
      if (req.method === 'PATCH' && (m = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(path))) {
        const id = Number(m[1]);
        let edited = { id, body: '' };
        for (const list of fake.comments.values())
          for (const c of list)
            if (c.id === id) {
              c.body = (body as { body: string }).body;
              edited = c;
            }
        return send(
          200,
          githubComment('PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}', 200, {
            ...edited,
            user: { login: 'gatehouse[bot]', type: 'Bot' },
          }),
        );
      }
      if ((m = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)$/.exec(path))) {
        const n = Number(m[1]);
        if (req.method === 'PATCH') fake.bodies.set(n, (body as { body: string }).body);
        return send(
          200,
          githubIssue({ number: n, body: fake.bodies.get(n) ?? '', labels: [...(fake.labels.get(n) ?? [])].map(githubLabel) }),
        );
      }
      if ((m = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/labels(?:\/(.+))?$/.exec(path))) {
        const n = Number(m[1]);
        const set = fake.labels.get(n) ?? new Set<string>();
        fake.labels.set(n, set);
        if (req.method === 'POST') for (const l of (body as { labels: string[] }).labels) set.add(l);
        if (req.method === 'DELETE' && m[2]) set.delete(m[2]);
        return send(200, [...set].map(githubLabel));
      }
      send(404, { message: `fake GitHub has no ${req.method} ${path}` });
    })();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(fake, {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
