/**
 * Dead letters end to end: a GitHub delivery whose processing keeps failing (the API answers 500)
 * ends `failed` after its retries and is counted by /metrics; `gatehouse deliveries --failed`
 * lists it, `gatehouse deliveries retry` puts it back in the queue, and the bot processes it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import nock from 'nock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ListedDelivery } from '../../src/cli/deliveries.ts';
import { startGatehouse, type Gatehouse } from '../../src/main.ts';
import { openStore } from '../../src/storage/open.ts';
import { intakeBody } from '../builders/intake.ts';
import { fastQueue } from '../storage/backends.ts';
import { freshDataDir } from '../storage/fixture.ts';
import { cliSandbox, runCli } from '../support/cli.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, testConfig } from '../support/harness.ts';

cliSandbox('gatehouse-deliveries-');
const REPO = '/repos/Codertocat/Hello-World';
const bin = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));
const saved = { dataDir: process.env['GATEHOUSE_DATA_DIR'], url: process.env['DATABASE_URL'] };

function start(dataDir: string): Promise<Gatehouse> {
  return startGatehouse({
    config: testConfig({ dataDir, github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API } }),
    // two attempts, a second apart
    queue: { pollIntervalMs: 100, retryLimit: 1, retryDelaySeconds: 1, retryBackoff: false },
    github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false },
    clockTickMs: 0,
    // No missed-delivery sweep: its request (unanswered here) would count towards GitHub's outage circuit.
    sweepMs: 0,
  });
}

async function metric(g: Gatehouse, name: string): Promise<number> {
  const text = await (await fetch(`${g.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  if (!line) throw new Error(`${name} is not in /metrics`);
  return Number(line.split(' ')[1]);
}

beforeAll(() => {
  nock.disableNetConnect();
  nock.enableNetConnect(/127\.0\.0\.1/);
});
afterAll(() => {
  nock.enableNetConnect();
  for (const [k, v] of [
    ['GATEHOUSE_DATA_DIR', saved.dataDir],
    ['DATABASE_URL', saved.url],
  ] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});
beforeEach(() => delete process.env['DATABASE_URL']);
afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending).toEqual([]);
});

describe('dead letters: seen and replayed', () => {
  it('a delivery whose processing keeps failing ends failed, is counted in /metrics, listed by the CLI and replayed by it', async () => {
    const dataDir = await freshDataDir();
    process.env['GATEHOUSE_DATA_DIR'] = dataDir;
    let g = await start(dataDir);
    const d = githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: intakeBody({}) }) });
    try {
      expect(await metric(g, 'gatehouse_deliveries_failed')).toBe(0);
      // every attempt fails at the token exchange
      const broken = nock(API).post('/app/installations/1/access_tokens').times(2).reply(500, { message: 'Internal Server Error' });
      const res = await fetch(`${g.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
      expect(res.status).toBe(200);
      expect(await processed(g, 'github', d.id, 20_000)).toBe('failed');
      expect(broken.isDone()).toBe(true);
      const stored = await g.store.getDelivery('github', d.id);
      expect(stored?.attempts).toBe(2);
      expect(stored?.lastError).toMatch(/500|Internal Server Error/);
      expect(await metric(g, 'gatehouse_deliveries_failed')).toBe(1);
      expect(await (await fetch(`${g.url}/metrics`)).text()).toContain(
        '# HELP gatehouse_deliveries_failed Deliveries that failed after every retry',
      );

      // While the bot holds the embedded database, the CLI (another process) is refused, saying why.
      const refused = await promisify(execFile)(process.execPath, [bin, 'deliveries', '--failed'], {
        env: { ...process.env, GATEHOUSE_DATA_DIR: dataDir },
      }).then(
        () => null,
        (e: { code: number; stderr: string }) => e,
      );
      expect(refused?.code).toBe(1);
      expect(refused?.stderr.trim()).toMatch(
        new RegExp(
          `^gatehouse deliveries: the embedded database in .* is in use by process ${process.pid} .*only while the bot is stopped\\)$`,
        ),
      );
    } finally {
      await g.close();
    }

    const json = await runCli('deliveries', '--failed', '--json');
    expect(json.code).toBe(0);
    const rows = JSON.parse(json.out) as ListedDelivery[];
    expect(rows).toEqual([
      {
        platform: 'github',
        id: d.id,
        event: 'issues',
        attempts: 2,
        lastError: expect.stringMatching(/500|Internal Server Error/),
        received: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
    const text = await runCli('deliveries', '--failed');
    expect(text.out).toMatch(new RegExp(`^github  ${d.id}  issues  attempts 2  received \\S+  error: .*(500|Internal Server Error)`, 'm'));
    expect(text.out).toContain('1 failed; replay one with: gatehouse deliveries retry <platform> <id>');
    expect((await runCli('deliveries')).out).toBe(
      'pending 0, done 0, ignored 0, failed 1 (gatehouse deliveries --failed lists the failed ones)',
    );

    // One delivery and where its job stands.
    const shown = await runCli('deliveries', 'show', 'github', d.id);
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(
      new RegExp(`^github  ${d.id}  issues  failed  job failed  attempts 2  received \\S+  last error: .*(500|Internal Server Error)`),
    );
    expect(JSON.parse((await runCli('deliveries', 'show', 'github', d.id, '--json')).out)).toMatchObject({
      id: d.id,
      status: 'failed',
      job: 'failed',
      attempts: 2,
      handBacks: 0,
    });
    expect(await runCli('deliveries', 'show', 'github', 'no-such-id')).toMatchObject({
      code: 1,
      err: expect.stringContaining('no github delivery no-such-id'),
    });

    // refusals: unknown platform, unknown id, not failed
    expect(await runCli('deliveries', 'retry', 'bitbucket', d.id)).toMatchObject({
      code: 1,
      err: expect.stringContaining('unknown platform "bitbucket"'),
    });
    expect(await runCli('deliveries', 'retry', 'github', 'no-such-id')).toMatchObject({
      code: 1,
      err: expect.stringContaining('no github delivery no-such-id'),
    });

    const retried = await runCli('deliveries', 'retry', 'github', d.id);
    expect(retried).toMatchObject({
      code: 0,
      out: `github delivery ${d.id} (issues) is pending again and queued; the bot processes it when it starts`,
    });
    expect(await runCli('deliveries', 'retry', 'github', d.id)).toMatchObject({
      code: 1,
      err: expect.stringContaining(`is pending, not failed`),
    });
    expect((await runCli('deliveries', 'show', 'github', d.id)).out).toMatch(
      new RegExp(`^github  ${d.id}  issues  pending  job waiting  attempts 0 `),
    );
    const check = await openStore({ dataDir, queue: fastQueue });
    try {
      expect(await check.store.getDelivery('github', d.id)).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await check.queue.jobState({ platform: 'github', deliveryId: d.id })).toMatchObject({ state: 'waiting', attempts: 0 });
    } finally {
      await check.close();
    }
    expect(JSON.parse((await runCli('deliveries', '--failed', '--json')).out)).toEqual([]);

    // The bot starts again with GitHub answering: the replayed delivery is processed once.
    nock(API)
      .post('/app/installations/1/access_tokens')
      .reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z', permissions: {}, repository_selection: 'all' });
    nock(API).get(`${REPO}/contents/.github%2Fgatehouse.yml`).reply(404, { message: 'Not Found' });
    nock(API).get(`${REPO}/issues/1/comments`).query(true).reply(200, []);
    nock(API).post(`${REPO}/issues/1/labels`).reply(200, []);
    nock(API)
      .post(`${REPO}/issues/1/comments`)
      .reply(201, { id: 99, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });
    g = await start(dataDir);
    try {
      expect(await processed(g, 'github', d.id, 20_000)).toBe('done');
      expect(await metric(g, 'gatehouse_deliveries_failed')).toBe(0);
    } finally {
      await g.close();
    }
  });

  it('a failed delivery is queued again only by retry (one update of its row); requeue leaves a waiting one alone', async () => {
    const dataDir = await freshDataDir();
    const opened = await openStore({ dataDir, queue: fastQueue });
    const stateOf = async (): Promise<string | undefined> => (await opened.queue.jobState(job))?.state;
    const until = async (state: string): Promise<void> => {
      for (let i = 0; i < 200 && (await stateOf()) !== state; i++) await new Promise((r) => setTimeout(r, 50));
      expect(await stateOf()).toBe(state);
    };
    const job = { platform: 'gitlab' as const, deliveryId: 'gl-1' };
    try {
      await opened.inbox.accept({ ...job, eventName: 'Issue Hook', payload: '{}', receivedAt: new Date() });
      await opened.queue.requeue(job); // still waiting: nothing changes
      expect(await stateOf()).toBe('waiting');
      let fail = true;
      const runs: string[] = [];
      await opened.queue.work(
        async (j) => {
          runs.push(j.deliveryId);
          if (fail) throw new Error('boom');
          await opened.store.finishDelivery(j.platform, j.deliveryId, 'done');
        },
        async () => undefined,
      );
      await until('failed');
      const failedRuns = runs.length;
      await opened.queue.enqueue(job); // a failed delivery is not queued again by a plain enqueue
      await opened.queue.requeue(job);
      await new Promise((r) => setTimeout(r, 300));
      expect(await stateOf()).toBe('failed');
      expect(runs).toHaveLength(failedRuns);
      fail = false;
      expect(await opened.store.retryDelivery('gitlab', 'gl-1')).toBe(true);
      opened.queue.jobsAdded();
      await until('completed');
      expect(runs).toHaveLength(failedRuns + 1);
    } finally {
      await opened.close();
    }
  });
});
