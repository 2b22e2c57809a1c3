/**
 * Liveness and readiness apart, through the real server on loopback: `/healthz` answers 200 while
 * the process serves; `/readyz` answers 200 only when the database answers and is migrated and
 * the platforms' own accounts are known, else 503 naming what is not ready.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { connect } from 'node:net';
import nock from 'nock';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import { freshPgDatabase, pgTestUrl } from '../storage/fixture.ts';
import { testPrivateKey } from '../support/github.ts';
import { SLACK_API, slackConfig } from '../support/slack.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

interface Probe {
  status: number;
  body: { status: string; notReady?: string[]; checks: Record<string, string> };
}

const get = async (gatehouse: Gatehouse, path: string): Promise<Probe> => {
  const res = await fetch(`${gatehouse.url}${path}`);
  return { status: res.status, body: (await res.json()) as Probe['body'] };
};

async function until<T>(fn: () => Promise<T | null>, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

let gatehouse: Gatehouse | null = null;

loopbackOnly();
afterEach(async () => {
  await gatehouse?.close();
  gatehouse = null;
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('GET /healthz and GET /readyz', () => {
  it('ready on a migrated embedded database; when the database stops answering, /readyz is 503 naming it and /healthz stays 200', async () => {
    gatehouse = await startTestGatehouse({});
    expect(await get(gatehouse, '/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'ok' } } });
    expect(await get(gatehouse, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });

    await gatehouse.store.close(); // the database is gone under a process that still serves

    const ready = await get(gatehouse, '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('not ready');
    expect(ready.body.notReady).toEqual([expect.stringMatching(/^database: the embedded database does not answer \(.+\)$/)]);
    expect(await get(gatehouse, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
  });

  it.skipIf(!pgTestUrl)(
    'PostgreSQL unreachable (its proxy closed): /readyz 503 naming the database, /healthz 200; reachable again: ready',
    async () => {
      const db = await freshPgDatabase();
      const target = new URL(db.url);
      // A TCP proxy between Gatehouse and PostgreSQL: closing it is PostgreSQL going away.
      const sockets = new Set<Socket>();
      const proxy = (port: number): Promise<Server> =>
        new Promise((resolve) => {
          const server = createServer((client) => {
            const upstream = connect(Number(target.port || 5432), target.hostname);
            for (const s of [client, upstream]) {
              sockets.add(s);
              s.once('close', () => sockets.delete(s));
              s.on('error', () => undefined);
            }
            client.pipe(upstream).pipe(client);
          });
          server.listen(port, '127.0.0.1', () => resolve(server));
        });
      /** Stops listening and cuts every connection through it. */
      const shut = (s: Server): Promise<void> => {
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        for (const socket of sockets) socket.destroy();
        return closed;
      };
      let server = await proxy(0);
      const port = (server.address() as AddressInfo).port;
      const url = new URL(db.url);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      try {
        gatehouse = await startTestGatehouse({ databaseUrl: url.toString() });
        expect((await get(gatehouse, '/readyz')).status).toBe(200);

        await shut(server);
        const down = await until(async () => {
          const r = await get(gatehouse!, '/readyz');
          return r.status === 503 ? r : null;
        });
        expect(down.body.notReady).toEqual([
          `database: cannot reach PostgreSQL at 127.0.0.1:${port}: connection refused; start PostgreSQL there, or fix DATABASE_URL`,
        ]);
        expect(await get(gatehouse, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });

        server = await proxy(port);
        await until(async () => ((await get(gatehouse!, '/readyz')).status === 200 ? true : null));
      } finally {
        await gatehouse?.close();
        gatehouse = null;
        await shut(server);
        await db.drop();
      }
    },
    60_000,
  );
  if (!pgTestUrl) console.warn('SKIPPED the PostgreSQL case of test/e2e/readiness.test.ts: GATEHOUSE_TEST_PG_URL is unset');

  it("not ready until the GitHub App's identity is known (GET /app), naming it and GitHub's answer", async () => {
    nock(API).get('/app').reply(401, { message: 'Bad credentials' });
    gatehouse = await startTestGatehouse(
      { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API } },
      // The second try waits long enough to be seen failing; the later ones follow quickly.
      { github: { retries: 0, identityBackoffMs: (n) => (n === 1 ? 1000 : 50) } },
    );
    const before = await until(async () => {
      const r = await get(gatehouse!, '/readyz');
      return r.body.notReady?.some((l) => l.includes('Bad credentials')) ? r : null;
    });
    expect(before.status).toBe(503);
    expect(before.body.notReady).toEqual([
      expect.stringMatching(
        /^github: the GitHub App's identity is not known yet \(GET \/app failed: .*Bad credentials.*\); check APP_ID, PRIVATE_KEY and GHE_HOST$/,
      ),
    ]);
    expect(before.body.checks['database']).toBe('ok');
    expect(await get(gatehouse, '/healthz')).toEqual({ status: 200, body: { status: 'ok' } });

    nock(API).get('/app').reply(200, { slug: 'gatehouse' });
    const after = await until(async () => {
      const r = await get(gatehouse!, '/readyz');
      return r.status === 200 ? r : null;
    });
    expect(after.body).toEqual({ status: 'ready', checks: { database: 'ok', github: 'ok' } });
  });

  it("not ready while the GitLab token's user is unknown (GET /user refused)", async () => {
    nock('https://gitlab.example.com').get('/api/v4/user').reply(401, { message: '401 Unauthorized' }).persist();
    gatehouse = await startTestGatehouse(
      { gitlab: { url: 'https://gitlab.example.com', token: 'glpat-wrong', webhookSecret: 's' } },
      { gitlab: { retry: { backoffMs: () => 10 }, identityBackoffMs: () => 60_000 } },
    );
    const r = await until(async () => {
      const p = await get(gatehouse!, '/readyz');
      return p.body.notReady?.some((l) => l.includes('failed')) ? p : null;
    });
    expect(r.status).toBe(503);
    expect(r.body.notReady).toEqual([
      expect.stringMatching(
        /^gitlab: the GitLab token's user is not known yet \(GET \/user failed: .+\); check GITLAB_URL and GITLAB_TOKEN$/,
      ),
    ]);
    nock.cleanAll();
  });

  it('not ready while Slack refuses the bot token (auth.test); ready once it takes it', async () => {
    nock(SLACK_API).post('/api/auth.test').reply(200, { ok: false, error: 'invalid_auth' });
    gatehouse = await startTestGatehouse({ slack: slackConfig }, { slack: { outbox: false } });
    const refused = await get(gatehouse, '/readyz');
    expect(refused).toEqual({
      status: 503,
      body: {
        status: 'not ready',
        notReady: ['slack: Slack refused the bot token (invalid_auth); check SLACK_BOT_TOKEN'],
        checks: { database: 'ok', slack: 'Slack refused the bot token (invalid_auth); check SLACK_BOT_TOKEN' },
      },
    });
    nock(SLACK_API).post('/api/auth.test').reply(200, { ok: true, user_id: 'U0BOT', team_id: 'T0', bot_id: 'B0' });
    expect(await get(gatehouse, '/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'ok', slack: 'ok' } } });
    // Verified: not asked again on every probe.
    expect(await get(gatehouse, '/readyz')).toEqual({ status: 200, body: { status: 'ready', checks: { database: 'ok', slack: 'ok' } } });
  });
});
