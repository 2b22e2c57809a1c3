/**
 * The GitLab webhook handler on its own (a bare node:http server, an inbox that records):
 * token check, body limit (also for chunked bodies), JSON, event name and delivery ids.
 */
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import nock from 'nock';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGitLabIngress, tokenMatches } from '../../src/adapters/gitlab/app.ts';
import type { DeliveryInput } from '../../src/ports/deliveries.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { GITLAB_SECRET, GITLAB_URL, gitlabDelivery, gitlabFixture } from '../support/gitlab.ts';
import { recordingInbox, serveOnLoopback } from '../support/ingress.ts';

let served: Awaited<ReturnType<typeof serveOnLoopback>>;
let url: string;
let accepted: DeliveryInput[];

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());

beforeEach(async () => {
  nock.enableNetConnect(/127\.0\.0\.1/);
  const inbox = recordingInbox();
  accepted = inbox.accepted;
  const ingress = createGitLabIngress({
    config: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: GITLAB_SECRET },
    inbox,
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    now: () => new Date('2025-01-01T00:00:00Z'),
    botUsername: 'gatehouse-bot',
    maxBodyBytes: 64 * 1024,
  });
  served = await serveOnLoopback(ingress.handler, '/api/gitlab/webhooks');
  url = served.url;
});

afterEach(async () => {
  await served.close();
  expect(nock.pendingMocks()).toEqual([]);
});

const post = (headers: Record<string, string>, body: string): Promise<Response> => fetch(url, { method: 'POST', headers, body });

describe('GitLab webhook handler', () => {
  it('stores the delivery under its Idempotency-Key, with the raw body and event name, then answers 200', async () => {
    const d = gitlabDelivery({ event: 'Issue Hook', payload: gitlabFixture('issue-hook') });
    const res = await post(d.headers, d.body);
    expect(res.status).toBe(200);
    const bodyDigest = createHash('sha256').update(d.body).digest('hex');
    expect(accepted).toEqual([
      {
        platform: 'gitlab',
        deliveryId: d.id,
        eventName: 'Issue Hook',
        payload: d.body,
        receivedAt: new Date('2025-01-01T00:00:00Z'),
        bodyDigest,
      },
    ]);
  });

  it('falls back to X-Gitlab-Event-UUID, then to the hash of the body', async () => {
    const d = gitlabDelivery({ event: 'Issue Hook', payload: gitlabFixture('issue-hook') });
    const { 'idempotency-key': _key, ...noKey } = d.headers;
    await post(noKey, d.body);
    expect(accepted[0]!.deliveryId).toBe(d.headers['x-gitlab-event-uuid']);
    const { 'x-gitlab-event-uuid': _uuid, ...neither } = noKey;
    await post(neither, d.body);
    expect(accepted[1]!.deliveryId).toBe(`sha256:${createHash('sha256').update(d.body).digest('hex')}`);
  });

  it.each([
    ['a wrong token', 'not-the-secret'],
    ['a token that is a prefix of the secret', GITLAB_SECRET.slice(0, 5)],
    ['an empty token', ''],
    ['no token', null],
  ])('refuses %s with 401 and a one-line JSON error, storing nothing', async (_name, token) => {
    const d = gitlabDelivery({ event: 'Issue Hook', payload: gitlabFixture('issue-hook'), token });
    const res = await post(d.headers, d.body);
    expect(res.status).toBe(401);
    const text = await res.text();
    expect(text).not.toContain('\n');
    expect(JSON.parse(text)).toEqual({ error: 'missing or wrong X-Gitlab-Token' });
    expect(accepted).toEqual([]);
  });

  it('refuses a body that is not JSON with 400, storing nothing', async () => {
    const d = gitlabDelivery({ event: 'Issue Hook', payload: {} });
    const res = await post(d.headers, '{"object_kind": "issue",');
    expect(res.status).toBe(400);
    expect(accepted).toEqual([]);
  });

  it('refuses a delivery without X-Gitlab-Event with 400', async () => {
    const d = gitlabDelivery({ event: 'Issue Hook', payload: gitlabFixture('issue-hook') });
    const { 'x-gitlab-event': _e, ...headers } = d.headers;
    expect((await post(headers, d.body)).status).toBe(400);
    expect(accepted).toEqual([]);
  });

  it('acknowledges events it does not handle (they are ignored later)', async () => {
    const d = gitlabDelivery({ event: 'Wiki Page Hook', payload: gitlabFixture('wiki-page-hook') });
    expect((await post(d.headers, d.body)).status).toBe(200);
    expect(accepted.map((a) => a.eventName)).toEqual(['Wiki Page Hook']);
  });

  it('stops reading a chunked body past the limit: 413, nothing stored', async () => {
    const d = gitlabDelivery({ event: 'Issue Hook', payload: {} });
    const { status, sent } = await new Promise<{ status: number | string; sent: number }>((resolve) => {
      const req = request(url, { method: 'POST', headers: { ...d.headers, 'transfer-encoding': 'chunked' } });
      let sent = 0;
      const chunk = Buffer.alloc(16 * 1024, 'a');
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, sent });
      });
      req.on('error', (err) => resolve({ status: (err as NodeJS.ErrnoException).code ?? 'error', sent }));
      const pump = (): void => {
        // Keep sending (up to 10 MB) until the server answers or hangs up.
        while (sent < 10 * 1024 * 1024) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    });
    expect([413, 'ECONNRESET', 'EPIPE']).toContain(status);
    expect(sent).toBeLessThan(10 * 1024 * 1024);
    expect(accepted).toEqual([]);
  });
});

describe('tokenMatches', () => {
  it('matches only the exact secret', () => {
    expect(tokenMatches(GITLAB_SECRET, GITLAB_SECRET)).toBe(true);
    expect(tokenMatches(`${GITLAB_SECRET} `, GITLAB_SECRET)).toBe(false);
    expect(tokenMatches(undefined, GITLAB_SECRET)).toBe(false);
  });
});
