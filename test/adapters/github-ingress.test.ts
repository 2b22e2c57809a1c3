/**
 * The GitHub webhook handler on its own (a bare node:http server, an inbox that records): the
 * signature check, the body stored as received, and an ingress that never calls GitHub.
 */
import nock from 'nock';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createGitHubIngress } from '../../src/adapters/github/app.ts';
import type { DeliveryInput } from '../../src/ports/deliveries.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { githubDelivery, issuesPayload, testPrivateKey, type Delivery } from '../support/github.ts';
import { recordingInbox, serveOnLoopback } from '../support/ingress.ts';

const SECRET = 'ingress-secret';
let served: Awaited<ReturnType<typeof serveOnLoopback>>;
let accepted: DeliveryInput[];

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());

beforeEach(async () => {
  nock.enableNetConnect(/127\.0\.0\.1/);
  const inbox = recordingInbox();
  accepted = inbox.accepted;
  const ingress = await createGitHubIngress({
    config: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: 'https://api.github.com' },
    inbox,
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    now: () => new Date('2025-01-01T00:00:00Z'),
    botLogin: 'gatehouse[bot]',
  });
  served = await serveOnLoopback(async (req, res) => {
    if (!(await ingress.middleware(req, res)) && !res.headersSent) res.writeHead(404).end();
  }, '/api/github/webhooks');
});

afterEach(async () => {
  await served.close();
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

const post = (d: Delivery): Promise<Response> => fetch(served.url, { method: 'POST', headers: d.headers, body: d.body });

describe('GitHub ingress', () => {
  it('stores a signed delivery exactly as it was received, and only a signed one', async () => {
    const d = githubDelivery({
      name: 'issues',
      payload: issuesPayload({ body: 'hello' }),
      secret: SECRET,
      format: (p) => JSON.stringify(p, null, 2),
    });
    expect((await post(d)).status).toBe(200);
    const forged = githubDelivery({ name: 'issues', payload: issuesPayload({ body: 'forged' }), secret: 'not-the-secret' });
    expect((await post(forged)).status).toBeGreaterThanOrEqual(400);
    expect(accepted.map((a) => [a.deliveryId, a.eventName, a.payload])).toEqual([[d.id, 'issues', d.body]]);
  });

  it('accepts many deliveries without a single request to GitHub (none is allowed here)', async () => {
    const deliveries = Array.from({ length: 20 }, (_, i) =>
      githubDelivery({ name: 'issues', payload: issuesPayload({ body: `n${i}`, number: i + 1 }), secret: SECRET }),
    );
    const statuses = await Promise.all(deliveries.map(async (d) => (await post(d)).status));
    expect(statuses).toEqual(deliveries.map(() => 200));
    expect(accepted.map((a) => a.deliveryId).sort()).toEqual(deliveries.map((d) => d.id).sort());
  });
});
