/**
 * Crash safety: Gatehouse in a child process (test/support/gatehouse-child.ts), killed with
 * SIGKILL at chosen moments, then started again on the same database; GitHub's API and Slack's
 * Web API faked on loopback (test/support/fake-upstreams.ts). On the embedded database, and on
 * PostgreSQL where GATEHOUSE_TEST_PG_URL is set.
 *
 * - killed after the delivery is stored and acknowledged, before any of its work: after the
 *   restart one intake comment, the labels, one incident notice;
 * - killed after GitHub stored the comment but before it answered (so before the delivery is
 *   marked done): after the restart still one comment, the labels, one notice;
 * - killed after Slack took the incident notice but before its answer was stored: after the
 *   restart the message is found in the channel's history (its metadata names the notice), and
 *   no second one is posted;
 * - pglite#1065 (a commit may return before its data is on disk): every delivery that the HTTP
 *   server acknowledged with a 2xx before SIGKILL is found in the database afterwards, with its
 *   job (stored with it in one transaction: nothing reconciles them at start).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { intakeBody } from '../builders/intake.ts';
import { startChildGatehouse, type ChildGatehouse } from '../support/child-gatehouse.ts';
import { startFakeUpstreams, type FakeUpstreams } from '../support/fake-upstreams.ts';
import { githubDelivery, issuesPayload, testPrivateKey, type Delivery } from '../support/github.ts';
import { openStore } from '../../src/storage/open.ts';
import { freshDataDir, freshPgDatabase, pgTestUrl, removeDataDir } from '../storage/fixture.ts';

const SECRET = 'crash-secret';
const REPO = 'Codertocat/Hello-World';
const INTAKE = '<!-- gatehouse:intake -->';

if (!pgTestUrl) console.warn('[crash] the PostgreSQL cases are skipped: set GATEHOUSE_TEST_PG_URL to run them');

interface Backend {
  env: Record<string, string>;
  /** The database can be read while Gatehouse runs (PostgreSQL). */
  shared: boolean;
  /** Deliveries by status, read once no process is running on an embedded database. */
  statuses(ids: readonly string[]): Promise<Record<string, string | null>>;
  /** Of these deliveries, those without a job in the queue (read once no process is running). */
  jobless(ids: readonly string[]): Promise<string[]>;
  drop(): Promise<void>;
}

async function embedded(): Promise<Backend> {
  const dir = await freshDataDir();
  return {
    env: { GATEHOUSE_DATA_DIR: dir },
    shared: false,
    async statuses(ids) {
      const { store, close } = await openStore({ dataDir: dir });
      try {
        const out: Record<string, string | null> = {};
        for (const id of ids) out[id] = (await store.getDelivery('github', id))?.status ?? null;
        return out;
      } finally {
        await close();
      }
    },
    jobless: (ids) => joblessIn({ dataDir: dir }, ids),
    drop: async () => removeDataDir(dir),
  };
}

async function joblessIn(where: { dataDir: string; databaseUrl?: string }, ids: readonly string[]): Promise<string[]> {
  const { queue, close } = await openStore({ ...where });
  try {
    const out: string[] = [];
    for (const id of ids) if (!(await queue.jobState({ platform: 'github', deliveryId: id }))) out.push(id);
    return out;
  } finally {
    await close();
  }
}

async function postgres(): Promise<Backend> {
  const db = await freshPgDatabase();
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-crash-'));
  return {
    env: { DATABASE_URL: db.url, GATEHOUSE_DATA_DIR: join(dir, 'unused') },
    shared: true,
    async statuses(ids) {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const r = await c.query<{ delivery_id: string; status: string }>(
          `select delivery_id, status from deliveries where platform = 'github' and delivery_id = any($1)`,
          [ids],
        );
        return Object.fromEntries(ids.map((id) => [id, r.rows.find((x) => x.delivery_id === id)?.status ?? null]));
      } finally {
        await c.end();
      }
    },
    jobless: (ids) => joblessIn({ dataDir: join(dir, 'unused'), databaseUrl: db.url }, ids),
    drop: async () => {
      await db.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Each backend, and whether it is skipped here: PostgreSQL without GATEHOUSE_TEST_PG_URL (named in the run's skip summary). */
const backends: [string, () => Promise<Backend>, boolean][] = [
  ['the embedded database', embedded, false],
  ['PostgreSQL', postgres, !pgTestUrl],
];

let fake: FakeUpstreams | null = null;
let backend: Backend | null = null;
const running: ChildGatehouse[] = [];

afterEach(async () => {
  for (const r of running.splice(0)) await r.kill();
  await fake?.close();
  fake = null;
  await backend?.drop();
  backend = null;
}, 30_000);
afterAll(() => undefined);

function start(extra: Record<string, string> = {}): Promise<ChildGatehouse> {
  const env = {
    ...backend!.env,
    APP_ID: '1',
    PRIVATE_KEY: testPrivateKey(),
    WEBHOOK_SECRET: SECRET,
    GHE_HOST: fake!.host,
    GHE_PROTOCOL: 'http',
    SLACK_BOT_TOKEN: 'xoxb-crash',
    SLACK_SIGNING_SECRET: 'crash-slack-secret',
    SLACK_API_URL: `${fake!.url}/api/`,
    LOG_LEVEL: 'warn',
    GATEHOUSE_CHILD_POLL_MS: '200',
    GATEHOUSE_CHILD_CLOCK_TICK_MS: '0',
    GATEHOUSE_CHILD_BOT_LOGIN: 'gatehouse[bot]',
    ...extra,
  };
  return startChildGatehouse(env).then((r) => {
    running.push(r);
    return r;
  });
}

async function kill(r: ChildGatehouse): Promise<void> {
  await r.kill();
  running.splice(running.indexOf(r), 1);
}

async function until(cond: () => boolean, ms = 30_000, what = 'condition', explain: () => string = () => ''): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met within ${ms} ms ${explain()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const post = async (r: ChildGatehouse, d: Delivery): Promise<number> =>
  (await fetch(`${r.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status;

/** An intake reporting active exploitation: labels, one comment and an incident notice. */
const incidentIntake = (number: number): Delivery =>
  githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: intakeBody({ active_exploitation: 'yes' }), number }) });

/** After the restart: exactly one of each effect, and the delivery done. */
async function expectOneEffect(number: number, d: Delivery): Promise<void> {
  const f = fake!;
  const key = `${REPO}#${number}`;
  const intakeComments = () => (f.githubComments.get(key) ?? []).filter((c) => c.body.includes(INTAKE));
  const notices = () => f.slackMessages.filter((m) => m.key?.endsWith(`:github:${key}`));
  await until(
    () => intakeComments().length > 0 && notices().length > 0,
    30_000,
    'the comment and the notice',
    () =>
      JSON.stringify(
        {
          comments: intakeComments().length,
          slack: f.slackMessages.map((m) => [m.key, m.text.slice(0, 80)]),
          logs: running.flatMap((r) => r.logs.slice(-10)),
        },
        null,
        1,
      ),
  );
  if (backend!.shared) {
    const end = Date.now() + 30_000;
    while ((await backend!.statuses([d.id]))[d.id] !== 'done' && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  }
  // The delivery's remaining writes (GitHub's write spacing applies) go out before the clean stop
  // below: wait for GitHub to hear nothing for 2 s, which is also room for a second comment to show.
  for (let seen = -1, quietSince = Date.now(), end = Date.now() + 30_000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    const now = f.requests.filter((r) => r.api === 'github').length;
    if (now !== seen) [seen, quietSince] = [now, Date.now()];
    else if (Date.now() - quietSince >= 2_000) break;
  }
  expect(intakeComments()).toHaveLength(1);
  expect([...(f.githubLabels.get(key) ?? [])].sort()).toEqual(['intake', 'intake::complete', 'route::incident', 'tier::leadership']);
  expect(notices()).toHaveLength(1);
  for (const r of running.splice(0)) await r.stop();
  expect(await backend!.statuses([d.id])).toEqual({ [d.id]: 'done' });
}

for (const [name, open, skip] of backends)
  describe.skipIf(skip)(`SIGKILL on ${name}`, () => {
    it('after the delivery is stored and acknowledged, before its work: one comment, one label set, one notice after the restart', async () => {
      fake = await startFakeUpstreams();
      backend = await open();
      // Every GitHub call of the first run goes unanswered, with no effect. (Slack answers: a notice
      // in flight at the kill would wait out its outbox lease, two minutes, before it is sent.)
      fake.hang = (r) => r.api === 'github';
      const first = await start();
      const d = incidentIntake(1);
      expect(await post(first, d)).toBeLessThan(300);
      await fake.next((r) => r.api === 'github');
      await kill(first);
      expect(fake.githubComments.size).toBe(0);

      fake.hang = false;
      await start();
      await expectOneEffect(1, d);
    }, 90_000);

    it('after GitHub stored the comment, before the delivery was marked done: still one comment, one label set, one notice', async () => {
      fake = await startFakeUpstreams();
      backend = await open();
      // GitHub carries the comment out and never answers: the process dies inside the delivery's work.
      fake.hold = (r) => r.api === 'github' && r.method === 'POST' && r.path.endsWith('/issues/2/comments');
      // The notice is queued before the comment is written, and the dead process's outbox may hold
      // its lease: on PostgreSQL another replica waits that lease out, so it is short here.
      const lease: Record<string, string> = backend.shared ? { GATEHOUSE_CHILD_OUTBOX_LEASE_MS: '3000' } : {};
      const first = await start(lease);
      const d = incidentIntake(2);
      const commented = fake.next((r) => r.api === 'github' && r.method === 'POST' && r.path.endsWith('/issues/2/comments'));
      expect(await post(first, d)).toBeLessThan(300);
      await commented;
      await kill(first);
      expect(fake.githubComments.get(`${REPO}#2`)).toHaveLength(1);

      fake.hold = null;
      await start(lease);
      await expectOneEffect(2, d);
    }, 90_000);

    it('after Slack took the notice, before Gatehouse stored its answer: the restart finds the message and posts no second one', async () => {
      fake = await startFakeUpstreams();
      backend = await open();
      // Slack carries the post out and never answers: the process dies with the post unsettled.
      const isPost = (r: { api: string; path: string }) => r.api === 'slack' && r.path === '/chat.postMessage';
      fake.hold = isPost;
      // A short lease on PostgreSQL (another replica would wait it out); the embedded database
      // gives up a dead run's leases at start.
      const lease: Record<string, string> = backend.shared ? { GATEHOUSE_CHILD_OUTBOX_LEASE_MS: '3000' } : {};
      const first = await start(lease);
      const d = incidentIntake(3);
      const posted = fake.next(isPost);
      expect(await post(first, d)).toBeLessThan(300);
      await posted;
      await kill(first);
      expect(fake.slackMessages).toHaveLength(1);

      fake.hold = null;
      const historyRead = fake.next((r) => r.api === 'slack' && r.path === '/conversations.history', 60_000);
      await start(lease);
      await historyRead;
      await expectOneEffect(3, d);
      expect(fake.requests.filter(isPost)).toHaveLength(1);
      // The message found was brought up to date rather than posted again.
      expect(fake.requests.filter((r) => r.api === 'slack' && r.path === '/chat.update').length).toBeGreaterThanOrEqual(1);
    }, 120_000);

    it('every delivery acknowledged over HTTP before SIGKILL is in the database afterwards (pglite#1065)', async () => {
      fake = await startFakeUpstreams();
      backend = await open();
      fake.hang = true; // the worker gets nowhere; only the acknowledgements matter here
      const first = await start();
      const acked: string[] = [];
      let sent = 0;
      let stop = false;
      const KILL_AFTER = 150;
      const client = async (): Promise<void> => {
        while (!stop && sent < 2_000) {
          const d = githubDelivery({
            name: 'issues',
            secret: SECRET,
            payload: issuesPayload({ body: intakeBody({}), number: 1000 + sent++ }),
          });
          try {
            const status = await post(first, d);
            if (status >= 200 && status < 300) acked.push(d.id);
          } catch {
            return; // the connection died with the process
          }
          if (acked.length >= KILL_AFTER && !stop) {
            stop = true;
            first.child.kill('SIGKILL');
          }
        }
      };
      await Promise.all(Array.from({ length: 16 }, client));
      await kill(first);
      expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER);
      const statuses = await backend.statuses(acked);
      const missing = acked.filter((id) => statuses[id] === null);
      console.info(`[crash] ${name}: ${acked.length} acknowledged before SIGKILL (of ${sent} sent), ${missing.length} missing afterwards`);
      expect(missing).toEqual([]);
      expect(await backend.jobless(acked)).toEqual([]);
    }, 90_000);
  });
