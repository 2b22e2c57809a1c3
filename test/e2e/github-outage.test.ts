/**
 * GitHub unreachable, end to end (the real server on loopback, the embedded database, a GitHub
 * stand-in on loopback): deliveries end `failed` with a clear reason within a bounded time instead
 * of each waiting out timeouts and retries, and once GitHub answers again new deliveries succeed
 * within the circuit's cool-down, on one installation token.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_SECRET as SECRET, processed, startTestGatehouse } from '../support/harness.ts';

let gatehouse: Gatehouse | null = null;
let standIn: Server | null = null;

afterEach(async () => {
  await gatehouse?.close();
  gatehouse = null;
  await new Promise<void>((resolve) => (standIn ? standIn.close(() => resolve()) : resolve()));
  standIn = null;
});

/** A loopback port nothing listens on (connections are refused). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * GitHub's stand-in: while `down`, every connection is destroyed without an answer; while up, it
 * issues installation tokens (counted) and answers 404 to everything else (the repository has no
 * policy override; the issue is no intake).
 */
async function startStandIn(): Promise<{ url: string; down: boolean; tokenRequests: number; requests: number }> {
  const state = { url: '', down: true, tokenRequests: 0, requests: 0 };
  standIn = createServer((req, res) => {
    state.requests += 1;
    if (state.down) {
      req.socket.destroy();
      return;
    }
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && /^\/app\/installations\/\d+\/access_tokens$/.test(req.url ?? '')) {
        state.tokenRequests += 1;
        res.writeHead(201, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            token: 'ghs_standin',
            expires_at: new Date(Date.now() + 3600_000).toISOString(),
            permissions: {},
            repository_selection: 'all',
          }),
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'Not Found' }));
    });
  });
  await new Promise<void>((resolve) => standIn!.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(standIn.address() as AddressInfo).port}`;
  return state;
}

async function start(apiBaseUrl: string, queue: { retryLimit: number; cooldownMs: number }): Promise<Gatehouse> {
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl } },
    {
      github: { botLogin: 'gatehouse[bot]', throttle: false, requestTimeoutMs: 2_000, circuit: { cooldownMs: queue.cooldownMs } },
      queue: { pollIntervalMs: 100, retryDelaySeconds: 1, retryBackoff: false, retryLimit: queue.retryLimit },
    },
  );
  return gatehouse;
}

let serial = 0;
async function deliver(): Promise<string> {
  serial += 1;
  const d = githubDelivery({
    name: 'issues',
    secret: SECRET,
    payload: issuesPayload({ body: `Not an intake, number ${serial} of ${Date.now()}.` }),
  });
  const res = await fetch(`${gatehouse!.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  return d.id;
}

describe('GitHub unreachable', () => {
  it('50 deliveries with GitHub refusing connections all end failed, with the reason, within a bounded time', async () => {
    const port = await closedPort();
    // Three attempts each (two retries, 1 s apart); the circuit refuses for 2 s after two failures in a row.
    await start(`http://127.0.0.1:${port}`, { retryLimit: 2, cooldownMs: 2_000 });
    const t0 = Date.now();
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) ids.push(await deliver());
    // The bound: three attempts that fail at once (a refused connection, or the circuit), two
    // retry delays of 1 s, the queue's polls, and 50 deliveries through 16 slots. Before the
    // circuit, every refused call was retried twice after 1 s and 4 s (about 50 s for these 50).
    const boundMs = 15_000;
    const statuses = await Promise.all(ids.map((id) => processed(gatehouse!, 'github', id, boundMs)));
    const elapsed = Date.now() - t0;
    expect(statuses.every((s) => s === 'failed')).toBe(true);
    expect(elapsed).toBeLessThan(boundMs);
    for (const id of ids) {
      const d = await gatehouse!.store.getDelivery('github', id);
      expect(d?.attempts).toBe(3);
      // The last attempt's reason, naming GitHub's failure: the circuit's, or the refused connection itself (a probe).
      expect(d?.lastError).toMatch(
        new RegExp(
          `^(GitHub unreachable since \\S+ \\(.*ECONNREFUSED 127\\.0\\.0\\.1:${port}\\): waiting .* before trying again|connect ECONNREFUSED 127\\.0\\.0\\.1:${port})$`,
        ),
      );
    }
    const viaCircuit = await Promise.all(
      ids.map(async (id) => (await gatehouse!.store.getDelivery('github', id))?.lastError?.startsWith('GitHub unreachable since') ?? false),
    );
    expect(viaCircuit.filter(Boolean).length).toBeGreaterThan(40);
  });

  it('when GitHub answers again, deliveries succeed within the cool-down, on one installation token', async () => {
    const gh = await startStandIn();
    const cooldownMs = 3_000;
    await start(gh.url, { retryLimit: 10, cooldownMs });
    const early = await deliver();
    // Two failed requests in a row: the circuit is open; the delivery's attempts fail at once.
    const until = Date.now() + 10_000;
    while (!(await gatehouse!.store.getDelivery('github', early))?.lastError?.startsWith('GitHub unreachable since') && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50));
    expect((await gatehouse!.store.getDelivery('github', early))?.lastError).toMatch(
      /^GitHub unreachable since \S+ \(.*(socket hang up|other side closed|ECONNRESET|fetch failed).*\): waiting until \S+ before trying again$/,
    );
    const refusedRequests = gh.requests;
    expect(refusedRequests).toBeLessThanOrEqual(2);

    gh.down = false;
    const back = Date.now();
    const later: string[] = [];
    for (let i = 0; i < 5; i++) later.push(await deliver());
    // Bound: what is left of the cool-down, one retry delay (1 s) and the queue's poll, plus slack.
    const boundMs = cooldownMs + 1_000 + 2_000;
    const statuses = await Promise.all([early, ...later].map((id) => processed(gatehouse!, 'github', id, boundMs)));
    expect(statuses).toEqual(['done', 'done', 'done', 'done', 'done', 'done']);
    expect(Date.now() - back).toBeLessThan(boundMs);
    // Six deliveries of one installation: one token request.
    expect(gh.tokenRequests).toBe(1);
  });
});
