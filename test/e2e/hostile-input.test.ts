/**
 * Hostile and broken input on the three webhook routes, through the real server on loopback with
 * every platform on: bodies over the limit (declared and chunked), wrong content types, malformed
 * JSON after a valid signature, missing headers, random bytes (a property-based loop),
 * `__proto__`/`constructor` keys. The process never answers 5xx, never dies, keeps serving
 * /healthz, stores nothing for a rejected request, and never writes a secret to its log.
 */
import { request } from 'node:http';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import nock from 'nock';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import { intakeBody } from '../builders/intake.ts';
import { githubDelivery, issuesPayload, pingPayload, testPrivateKey } from '../support/github.ts';
import { gitlabDelivery, GITLAB_BOT, GITLAB_URL, issueHook } from '../support/gitlab.ts';
import { GITHUB_API as API, processed, startTestGatehouse } from '../support/harness.ts';
import { slackHeaders, slashCommandBody } from '../support/slack.ts';

// Distinctive secrets, so that any of them in the log is found.
const SECRETS = {
  WEBHOOK_SECRET: 'whsec-Hostile-7f3c1a9e5b',
  GITLAB_TOKEN: 'glpat-Hostile-2d8e4b6f0a',
  GITLAB_WEBHOOK_SECRET: 'glhook-Hostile-9a1c3e5f7b',
  SLACK_SIGNING_SECRET: 'slsign-Hostile-4b6d8f0a2c',
  SLACK_BOT_TOKEN: 'xoxb-Hostile-6f8a0c2e4d',
};
const REPO = '/repos/Codertocat/Hello-World';
const ROUTES = { github: '/api/github/webhooks', gitlab: '/api/gitlab/webhooks', slack: '/slack/events' } as const;
type Route = keyof typeof ROUTES;

let gatehouse: Gatehouse;
const logLines: string[] = [];
let privateKey: string;

interface Answer {
  status: number;
  body: string;
}

async function post(route: Route, headers: Record<string, string>, body: string | Buffer): Promise<Answer> {
  const res = await fetch(`${gatehouse.url}${ROUTES[route]}`, {
    method: 'POST',
    headers,
    body: typeof body === 'string' ? body : new Uint8Array(body),
  });
  return { status: res.status, body: await res.text() };
}

async function healthy(): Promise<void> {
  const res = await fetch(`${gatehouse.url}/healthz`);
  expect(res.status).toBe(200);
  expect(await res.json()).toEqual({ status: 'ok' });
}

/** Sends `total` bytes in 64 KiB chunks, chunked (no Content-Length) unless `declare`; resolves with the status. */
function stream(route: Route, headers: Record<string, string>, total: number, declare = false): Promise<{ status: number; sent: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${gatehouse.url}${ROUTES[route]}`);
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      headers: { ...headers, ...(declare ? { 'content-length': String(total) } : {}) },
    });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    let status = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (status) resolve({ status, sent });
      else reject(new Error(`no answer after ${sent} bytes`));
    };
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.resume();
      res.on('end', finish);
      res.on('close', finish);
    });
    req.on('error', () => setTimeout(finish, 50)); // the server closing the connection on us
    const pump = (): void => {
      while (!status && sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      if (!status) req.end();
    };
    pump();
  });
}

const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Stored webhook deliveries of GitHub and GitLab (Slack commands are counted apart). */
async function stored(): Promise<{ forges: number; ids: string[]; slack: string[] }> {
  // one list per status: a delivery the worker finishes between two reads shows in both, once by id
  const lists = (
    await Promise.all((['pending', 'done', 'failed', 'ignored'] as const).map((s) => gatehouse.store.listDeliveries(s, 100_000)))
  ).flat();
  const all = [...new Map(lists.map((d) => [`${d.platform}:${d.deliveryId}`, d])).values()];
  const forges = all.filter((d) => d.platform !== 'slack');
  return {
    forges: forges.length,
    ids: forges.map((d) => `${d.platform}:${d.deliveryId}:${d.eventName}:${d.payload.slice(0, 80)}`),
    slack: all.filter((d) => d.platform === 'slack').map((d) => d.payload),
  };
}
const storedCount = async (): Promise<number> => (await stored()).forges;

/** Every acknowledged delivery is in the database already (stored before the acknowledgement). */
const settledCount = storedCount;

beforeAll(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
  privateKey = testPrivateKey();
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString('utf8'));
      cb();
    },
  });
  gatehouse = await startTestGatehouse(
    {
      github: { appId: '1', privateKey, webhookSecret: SECRETS.WEBHOOK_SECRET, apiBaseUrl: API },
      gitlab: { url: GITLAB_URL, token: SECRETS.GITLAB_TOKEN, webhookSecret: SECRETS.GITLAB_WEBHOOK_SECRET },
      slack: { botToken: SECRETS.SLACK_BOT_TOKEN, signingSecret: SECRETS.SLACK_SIGNING_SECRET, apiUrl: undefined },
    },
    {
      // the most talkative level: nothing logged at any level may carry a secret
      logger: pino({ level: 'trace', base: { app: 'gatehouse' } }, sink),
      github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false },
      gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } },
      slack: { outbox: false },
      clockTickMs: 0,
    },
  );
});

afterAll(async () => {
  await gatehouse?.close();
  nock.enableNetConnect();
  nock.cleanAll();
});

/** The headers of a signed `issues` delivery of `body` as it is (garbage included: the server must refuse it). */
const github = (body: string, headers: Record<string, string> = {}, secret = SECRETS.WEBHOOK_SECRET): Record<string, string> => ({
  ...githubDelivery({
    name: 'issues',
    secret,
    payload: body,
    format: () => body,
    id: `hostile-${Math.random().toString(36).slice(2)}`,
    unchecked: 'hostile input: any bytes, malformed on purpose',
  }).headers,
  ...headers,
});
const gitlab = (headers: Record<string, string> = {}): Record<string, string> => ({
  'content-type': 'application/json',
  'x-gitlab-event': 'Issue Hook',
  'x-gitlab-token': SECRETS.GITLAB_WEBHOOK_SECRET,
  'idempotency-key': `hostile-${Math.random().toString(36).slice(2)}`,
  ...headers,
});
const slack = (body: string, contentType = 'application/x-www-form-urlencoded'): Record<string, string> =>
  slackHeaders(body, { secret: SECRETS.SLACK_SIGNING_SECRET, contentType });

describe('hostile and broken input', () => {
  it('bodies over the limit: 413 for a declared and for a chunked 30 MB body, memory flat, /healthz served meanwhile', async () => {
    const before = await storedCount();
    const MB30 = 30 * 1024 * 1024;
    const rss: number[] = [];
    for (let round = 0; round < 4; round++) {
      const health = (async () => {
        for (let i = 0; i < 5; i++) await healthy();
      })();
      const answers = await Promise.all([
        stream('github', github(''), MB30),
        stream('gitlab', gitlab(), MB30),
        stream('slack', slack(''), MB30),
        stream('github', github(''), MB30, true),
        stream('gitlab', gitlab(), MB30, true),
      ]);
      await health;
      expect(answers.map((a) => a.status)).toEqual([413, 413, 413, 413, 413]);
      // the server stopped reading at the limit: nobody sent the whole 30 MB
      for (const a of answers.slice(0, 3)) expect(a.sent).toBeLessThan(MB30);
      rss.push(process.memoryUsage().rss);
    }
    const growth = (rss.at(-1)! - rss[0]!) / 1024 / 1024;
    console.info(
      `[hostile] resident memory after rounds 1..4 of 5 x 30 MB: ${rss.map((r) => Math.round(r / 1024 / 1024)).join(', ')} MB (growth ${growth.toFixed(1)} MB)`,
    );
    expect(growth).toBeLessThan(100); // one round kept would be 150 MB
    expect(await settledCount()).toBe(before);
    await healthy();
  });

  it('wrong or missing content type: 415', async () => {
    const before = await storedCount();
    const body = JSON.stringify(issuesPayload({ body: 'x' }));
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonp', '']) {
      const h = github(body, { 'content-type': type });
      if (!type) delete h['content-type'];
      expect((await post('github', h, body)).status, `github ${type}`).toBe(415);
      const g = gitlab({ 'content-type': type });
      if (!type) delete g['content-type'];
      expect((await post('gitlab', g, body)).status, `gitlab ${type}`).toBe(415);
    }
    for (const type of ['text/plain', 'application/xml', 'multipart/form-data']) {
      expect((await post('slack', slack('command=/gatehouse', type), 'command=/gatehouse')).status, `slack ${type}`).toBe(415);
    }
    // a charset parameter is still JSON
    const d = githubDelivery({
      name: 'ping',
      secret: SECRETS.WEBHOOK_SECRET,
      payload: pingPayload({ zen: 'Keep it logically awesome.', hookId: 1 }),
    });
    expect((await post('github', { ...d.headers, 'content-type': 'application/json; charset=utf-8' }, d.body)).status).toBe(200);
    const pend = await gatehouse.store.listDeliveries('pending', 10);
    expect(
      await settledCount(),
      JSON.stringify(
        [...pend, ...(await gatehouse.store.listDeliveries('ignored', 10)), ...(await gatehouse.store.listDeliveries('done', 10))].map(
          (x) => [x.platform, x.eventName, x.deliveryId],
        ),
      ),
    ).toBe(before + 1);
  });

  it('malformed JSON after a valid signature or token: 400, nothing stored', async () => {
    const before = await storedCount();
    for (const body of ['{"action":"opened",', 'not json', '\u0000\u0001', '']) {
      const a = await post('github', github(body), body);
      expect(a.status, `github ${JSON.stringify(body)}`).toBe(400);
      expect((await post('gitlab', gitlab(), body)).status, `gitlab ${JSON.stringify(body)}`).toBe(400);
      expect((await post('slack', slack(body, 'application/json'), body)).status, `slack ${JSON.stringify(body)}`).toBe(400);
    }
    for (const body of ['[]', '"text"', '42', 'null', 'false', ' true']) {
      expect((await post('github', github(body), body)).status, `github ${body}`).toBe(400);
      expect((await post('gitlab', gitlab(), body)).status, `gitlab ${body}`).toBe(400);
      expect((await post('slack', slack(body, 'application/json'), body)).status, `slack ${body}`).toBe(400);
    }
    expect(await settledCount()).toBe(before);
  });

  it('missing or wrong headers: 400 or 401, nothing stored', async () => {
    const before = await storedCount();
    const body = JSON.stringify(issuesPayload({ body: 'x' }));
    for (const name of ['x-github-event', 'x-github-delivery', 'x-hub-signature-256']) {
      const h = github(body);
      delete h[name];
      expect((await post('github', h, body)).status, `github without ${name}`).toBe(400);
    }
    expect((await post('github', github(body, { 'x-hub-signature-256': 'sha256=zz' }), body)).status).toBeGreaterThanOrEqual(400);
    expect((await post('github', github(body, {}, 'another secret'), body)).status).toBe(401);
    const noToken = gitlab();
    delete noToken['x-gitlab-token'];
    expect((await post('gitlab', noToken, body)).status).toBe(401);
    expect((await post('gitlab', gitlab({ 'x-gitlab-token': 'wrong' }), body)).status).toBe(401);
    const noEvent = gitlab();
    delete noEvent['x-gitlab-event'];
    expect((await post('gitlab', noEvent, body)).status).toBe(400);
    const form = slashCommandBody({ text: 'help' });
    for (const name of ['x-slack-signature', 'x-slack-request-timestamp']) {
      const h = slack(form);
      delete h[name];
      expect((await post('slack', h, form)).status, `slack without ${name}`).toBe(401);
    }
    expect((await post('slack', slackHeaders(form, { secret: 'another secret' }), form)).status).toBe(401);
    // replayed: a signature made six minutes ago
    expect(
      (await post('slack', slackHeaders(form, { secret: SECRETS.SLACK_SIGNING_SECRET, at: Date.now() - 6 * 60_000 }), form)).status,
    ).toBe(401);
    expect(await settledCount()).toBe(before);
  });

  it('random bytes and headers (property-based): never a 5xx, nothing stored unless signed JSON, the process keeps serving', async () => {
    const before = await storedCount();
    const expectStored: string[] = [];
    const refused: { platform: 'github' | 'gitlab'; id: string }[] = [];
    const statuses = new Map<number, number>();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Route>('github', 'gitlab', 'slack'),
        fc.oneof(
          fc.uint8Array({ maxLength: 4096 }),
          fc.string({ maxLength: 512 }).map((s) => new TextEncoder().encode(s)),
          fc.json().map((s) => new TextEncoder().encode(s)),
        ),
        fc.boolean(), // signed (or the right token)
        fc.constantFrom('application/json', 'application/x-www-form-urlencoded', 'text/plain', 'application/json; charset=utf-8', ''),
        fc.subarray(['event', 'id', 'signature'] as const),
        async (route, bytes, signed, contentType, dropped) => {
          const id = `fuzz-${n++}`;
          const text = Buffer.from(bytes).toString('utf8');
          const body = Buffer.from(bytes);
          let headers: Record<string, string>;
          if (route === 'github') {
            headers = github(text, { 'x-github-delivery': id }, signed ? SECRETS.WEBHOOK_SECRET : 'not the secret');
            if (dropped.includes('event')) delete headers['x-github-event'];
            if (dropped.includes('id')) delete headers['x-github-delivery'];
            if (dropped.includes('signature')) delete headers['x-hub-signature-256'];
          } else if (route === 'gitlab') {
            headers = gitlab({ 'idempotency-key': id, 'x-gitlab-token': signed ? SECRETS.GITLAB_WEBHOOK_SECRET : 'nope' });
            if (dropped.includes('event')) delete headers['x-gitlab-event'];
            if (dropped.includes('signature')) delete headers['x-gitlab-token'];
          } else {
            headers = slackHeaders(text, {
              secret: signed ? SECRETS.SLACK_SIGNING_SECRET : 'nope',
              contentType: contentType || 'text/plain',
            });
            if (dropped.includes('signature')) delete headers['x-slack-signature'];
          }
          if (route !== 'slack') {
            if (contentType) headers['content-type'] = contentType;
            else delete headers['content-type'];
          }
          const a = await post(route, headers, body);
          statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
          expect(a.status, `${route} answered ${a.status}: ${a.body}`).toBeLessThan(500);
          if (route === 'slack') return;
          const json = /^application\/json\s*(;|$)/.test(contentType);
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          const accepted =
            route === 'github'
              ? signed && json && dropped.length === 0 && isObject(parsed)
              : signed && json && !dropped.includes('event') && !dropped.includes('signature') && isObject(parsed);
          if (accepted) {
            expect(a.status, a.body).toBe(200);
            expectStored.push(id);
          } else {
            expect(a.status, a.body).toBeGreaterThanOrEqual(400);
            if (!dropped.includes('id')) refused.push({ platform: route, id });
          }
        },
      ),
      { numRuns: 300, seed: 20260515 },
    );
    await healthy();
    expect(await settledCount(), `expected ${JSON.stringify(expectStored)}, stored ${JSON.stringify((await stored()).ids)}`).toBe(
      before + expectStored.length,
    );
    console.info(`[hostile] Slack requests stored: ${JSON.stringify((await stored()).slack.map((p) => p.slice(0, 200)))}`);
    for (const r of refused)
      expect(await gatehouse.store.getDelivery(r.platform, r.id), `${r.platform} ${r.id} was refused but stored`).toBeNull();
    console.info(
      `[hostile] fuzz: 300 requests, answers ${[...statuses].map(([s, c]) => `${s}×${c}`).join(', ')}; ${expectStored.length} signed JSON bodies stored, ${refused.length} refused and not stored`,
    );
  });

  it('__proto__ and constructor keys in a valid signed payload are processed without prototype pollution', async () => {
    const payload = issuesPayload({ body: `${intakeBody({})}\n\n### __proto__\n\npolluted\n\n### constructor\n\npolluted\n` });
    // keys JSON.parse keeps as own properties, at the top and deep inside
    const evil = (json: string): string =>
      json
        .replace(/^\{/, '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},')
        .replace('"issue":{', '"issue":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},');
    const d = githubDelivery({ name: 'issues', secret: SECRETS.WEBHOOK_SECRET, payload, format: (p) => evil(JSON.stringify(p)) });
    expect(d.body).toContain('"__proto__":{"polluted":"yes"}');
    nock(API)
      .post('/app/installations/1/access_tokens')
      .reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z', permissions: {}, repository_selection: 'all' });
    nock(API).get(`${REPO}/contents/.github%2Fgatehouse.yml`).reply(404, { message: 'Not Found' });
    nock(API).get(`${REPO}/issues/1/comments`).query(true).reply(200, []);
    let labels: unknown;
    nock(API)
      .post(`${REPO}/issues/1/labels`, (b: { labels: string[] }) => ((labels = b.labels), true))
      .reply(200, []);
    nock(API)
      .post(`${REPO}/issues/1/comments`)
      .reply(201, { id: 99, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });
    expect((await post('github', d.headers, d.body)).status).toBe(200);
    expect(await processed(gatehouse, 'github', d.id)).toBe('done');
    expect(labels).toEqual(['intake', 'intake::complete', 'tier::advisory']);
    expect(nock.pendingMocks()).toEqual([]);
    // stored exactly as received
    expect((await gatehouse.store.getDelivery('github', d.id))?.payload).toBe(d.body);

    nock(`${GITLAB_URL}/api/v4`)
      .get('/projects/1/repository/files/.gitlab%2Fgatehouse.yml/raw')
      .query({ ref: 'master' })
      .reply(404, { message: '404 File Not Found' });
    const g = gitlabDelivery({
      event: 'Issue Hook',
      token: SECRETS.GITLAB_WEBHOOK_SECRET,
      payload: issueHook({ description: 'not an intake' }),
    });
    const gBody = g.body
      .replace(/^\{/, '{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}},')
      .replace('"object_attributes":{', '"object_attributes":{"__proto__":{"polluted":"yes"},');
    expect((await post('gitlab', g.headers, gBody)).status).toBe(200);
    const gStatus = await processed(gatehouse, 'gitlab', g.id);
    expect(gStatus, JSON.stringify(await gatehouse.store.getDelivery('gitlab', g.id).then((x) => x?.lastError))).toMatch(
      /^(done|ignored)$/,
    );

    const form = `${slashCommandBody({ text: 'help' })}&__proto__=polluted&constructor=polluted&__proto__%5Bpolluted%5D=yes`;
    expect((await post('slack', slack(form), form)).status).toBeLessThan(500);
    const json = '{"__proto__":{"polluted":"yes"},"type":"event_callback","event":{"type":"app_mention","__proto__":{"polluted":"yes"}}}';
    expect((await post('slack', slack(json, 'application/json'), json)).status).toBe(200);

    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    await healthy();
  });

  it('no secret appears in the log of all of the above', () => {
    const log = logLines.join('');
    expect(log.length).toBeGreaterThan(0);
    const keyLines = privateKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'));
    for (const [name, value] of [...Object.entries(SECRETS), ...keyLines.map((l, i) => [`PRIVATE_KEY line ${i + 1}`, l] as const)]) {
      expect(log.includes(value), `${name} in the log`).toBe(false);
    }
    console.info(
      `[hostile] log checked: ${logLines.length} lines, ${log.length} bytes, ${Object.keys(SECRETS).length} secrets and ${keyLines.length} private key lines absent`,
    );
  });
});
