/**
 * A restart without a platform's credentials keeps that platform's deliveries: they wait, pending
 * (the start log says how many), and the next start with the platform on processes them.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatehouse, type Gatehouse } from '../../src/main.ts';
import { freshDataDir } from '../storage/fixture.ts';
import { githubDelivery, pingPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_API, testConfig } from '../support/harness.ts';

const SECRET = 'wait-secret';
const running: Gatehouse[] = [];
afterEach(async () => {
  for (const g of running.splice(0)) await g.close();
});

function logTo(lines: Record<string, unknown>[]) {
  return pino(
    { level: 'info' },
    new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString()) as Record<string, unknown>), cb()) }),
  );
}

async function start(dataDir: string, githubOn: boolean, lines: Record<string, unknown>[], worker = true): Promise<Gatehouse> {
  const github = githubOn ? { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: GITHUB_API } : null;
  const g = await startGatehouse({
    config: testConfig({ dataDir, github }),
    logger: logTo(lines),
    worker,
    queue: { pollIntervalMs: 100, retryDelaySeconds: 1, retryBackoff: false },
    github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false },
    digests: false,
    clockTickMs: 0,
  });
  running.push(g);
  return g;
}

const statuses = async (g: Gatehouse): Promise<Record<string, number>> =>
  Object.fromEntries(
    await Promise.all((['pending', 'done', 'ignored', 'failed'] as const).map(async (s) => [s, await g.store.countDeliveries(s)] as const)),
  );

async function until(fn: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('condition not met in time');
}

describe('deliveries of a platform that is off', () => {
  it('wait through a restart without credentials, and are processed by the next start with them', async () => {
    const dataDir = await freshDataDir();
    // 1. acknowledged and stored, not yet processed (no worker)
    const first = await start(dataDir, true, [], false);
    const deliveries = Array.from({ length: 20 }, (_, i) =>
      githubDelivery({ name: 'ping', secret: SECRET, payload: pingPayload({ zen: `Keep it logically awesome ${i}.`, hookId: i + 1 }) }),
    );
    for (const d of deliveries)
      expect((await fetch(`${first.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    await first.close();
    running.length = 0;

    // 2. restarted without GitHub's credentials: the start log counts them, the worker leaves them pending
    const lines: Record<string, unknown>[] = [];
    const off = await start(dataDir, false, lines);
    expect(lines.find((l) => l['platform'] === 'github' && l['waiting'] === 20)?.['msg']).toMatch(
      /^20 github deliveries wait, pending, until github is configured: GitHub is off/,
    );
    await until(async () => (await off.store.listDeliveries('pending', 100)).every((d) => d.attempts > 0));
    expect(await statuses(off)).toEqual({ pending: 20, done: 0, ignored: 0, failed: 0 });
    expect((await off.store.listDeliveries('pending', 1))[0]?.lastError).toBe('github is off: waiting until it is configured');
    await off.close();
    running.length = 0;

    // 3. with GitHub on again, every one is processed (a ping is ignored: nothing to do)
    const on = await start(dataDir, true, []);
    await until(async () => (await statuses(on)).ignored === 20);
    expect(await statuses(on)).toEqual({ pending: 0, done: 0, ignored: 20, failed: 0 });
  }, 90_000);
});
