/**
 * Scale-out: two Gatehouse processes (child processes) on one fresh PostgreSQL database, GitHub's
 * and Slack's APIs faked on loopback. Each delivery is processed once (some sent to both
 * replicas), each clock fires once (both schedulers ticking every 200 ms at the deadline), and
 * each notice is sent once (both outboxes draining).
 * Needs GATEHOUSE_TEST_PG_URL (CI sets it; skipped with a message where it is unset).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { intakeBody } from '../builders/intake.ts';
import { startChildGatehouse, type ChildGatehouse } from '../support/child-gatehouse.ts';
import { startFakeUpstreams, type FakeUpstreams } from '../support/fake-upstreams.ts';
import { githubDelivery, issuesPayload, testPrivateKey, type Delivery } from '../support/github.ts';
import { freshPgDatabase, pgTestUrl } from '../storage/fixture.ts';

const SECRET = 'replica-secret';
const REPO = 'Codertocat/Hello-World';

if (!pgTestUrl) console.warn('[replicas] skipped: set GATEHOUSE_TEST_PG_URL to a PostgreSQL server to run the two-replica tests');

describe.skipIf(!pgTestUrl)('two replicas on one PostgreSQL', () => {
  let fake: FakeUpstreams;
  let db: { url: string; drop: () => Promise<void> };
  let sql: pg.Pool;
  let dir: string;
  let replicas: ChildGatehouse[] = [];

  beforeAll(async () => {
    fake = await startFakeUpstreams();
    db = await freshPgDatabase();
    sql = new pg.Pool({ connectionString: db.url, max: 2 });
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-replicas-'));
    // Round the clock and a one-minute SLO, so that a deadline can pass while the test runs.
    const policy = join(dir, 'policy.yml');
    const allDay = Object.fromEntries(
      ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'].map((d) => [d, ['00:00-24:00']]),
    );
    writeFileSync(
      policy,
      `clocks:\n  regions:\n    - timeZone: UTC\n      hours: ${JSON.stringify(allDay)}\n  targets:\n    critical: { slo: 1m, rto: 60m }\n`,
    );
    const env = {
      DATABASE_URL: db.url,
      GATEHOUSE_DATA_DIR: join(dir, 'unused'),
      GATEHOUSE_POLICY: policy,
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: fake.host,
      GHE_PROTOCOL: 'http',
      SLACK_BOT_TOKEN: 'xoxb-replicas',
      SLACK_SIGNING_SECRET: 'replica-slack-secret',
      SLACK_API_URL: `${fake.url}/api/`,
      LOG_LEVEL: 'warn',
      GATEHOUSE_CHILD_CLOCK_TICK_MS: '200',
      GATEHOUSE_CHILD_POLL_MS: '200',
      GATEHOUSE_CHILD_THROTTLE: '0',
      GATEHOUSE_CHILD_BOT_LOGIN: 'gatehouse[bot]',
    };
    // Both start at once on the new database: the migrations must cope.
    replicas = await Promise.all([startChildGatehouse(env), startChildGatehouse(env)]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await sql?.end();
    await fake?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  const post = async (replica: ChildGatehouse, d: Delivery): Promise<number> =>
    (await fetch(`${replica.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status;

  const count = async (query: string, values: unknown[] = []): Promise<number> =>
    Number((await sql.query<{ n: string }>(query, values)).rows[0]?.n ?? 0);

  async function until(cond: () => Promise<boolean> | boolean, ms = 30_000, what = 'condition'): Promise<void> {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end)
        throw new Error(
          `${what} not met within ${ms} ms; the replicas' last log lines:\n${replicas.map((r) => r.logs.slice(-15).join('\n')).join('\n--\n')}`,
        );
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const keysSent = (): Map<string, number> => {
    const m = new Map<string, number>();
    for (const msg of fake.slackMessages) if (msg.key) m.set(msg.key, (m.get(msg.key) ?? 0) + 1);
    return m;
  };

  it('processes each delivery once: one intake comment, one label write and one incident notice per issue, duplicates sent to both replicas', async () => {
    const N = 24;
    const deliveries = Array.from({ length: N }, (_, i) => {
      const number = i + 1;
      // Every third intake reports active exploitation: an incident notice at once.
      const body = intakeBody(i % 3 === 0 ? { active_exploitation: 'yes' } : {});
      return { number, d: githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body, number }) }) };
    });
    const statuses = await Promise.all(
      deliveries.flatMap(({ number, d }) =>
        // The first half goes to both replicas at once (the same X-GitHub-Delivery), the rest to one.
        number <= N / 2 ? [post(replicas[0]!, d), post(replicas[1]!, d)] : [post(replicas[number % 2]!, d)],
      ),
    );
    expect(statuses.filter((s) => s < 200 || s > 299)).toEqual([]);
    await until(
      async () => (await count(`select count(*) as n from deliveries where status <> 'pending'`)) === N,
      60_000,
      'every delivery processed',
    );
    expect(await count(`select count(*) as n from deliveries`)).toBe(N);
    expect(await count(`select count(*) as n from deliveries where status = 'done'`)).toBe(N);
    const incidents = deliveries.filter(({ number }) => (number - 1) % 3 === 0).length;
    await until(() => fake.slackMessages.length >= incidents, 20_000, 'incident notices sent');
    await new Promise((r) => setTimeout(r, 1_500)); // time for a second comment, write or message to show up

    for (const { number } of deliveries) {
      const key = `${REPO}#${number}`;
      const comments = (fake.githubComments.get(key) ?? []).filter((c) => c.body.includes('<!-- gatehouse:intake -->'));
      expect(comments, key).toHaveLength(1);
      expect(fake.githubLabelWrites.get(key), key).toBe(1);
      expect([...(fake.githubLabels.get(key) ?? [])], key).toContain('intake::complete');
    }
    const sent = keysSent();
    expect(fake.slackMessages).toHaveLength(incidents);
    expect([...sent.values()].every((n) => n === 1)).toBe(true);
    expect(await count(`select count(*) as n from notifications where status = 'sent'`)).toBe(incidents);
  }, 90_000);

  it('fires each clock once: one breach comment, one breach label write and one notice per outage, with both schedulers ticking', async () => {
    const issues = Array.from({ length: 8 }, (_, i) => 101 + i);
    // Critical outages opened 56 s ago: each SLO (1 minute) is breached 4 s from now, while both
    // schedulers tick every 200 ms.
    const opened = new Date(Date.now() - 56_000);
    const before = fake.slackMessages.length;
    for (const [i, number] of issues.entries()) {
      const payload = issuesPayload({ body: 'The scanner is down.', labels: ['tool::outage', 'criticality::critical'], number });
      Object.assign(payload['issue'] as object, { created_at: opened.toISOString(), assignees: [], assignee: null });
      expect(await post(replicas[i % 2]!, githubDelivery({ name: 'issues', secret: SECRET, payload }))).toBeLessThan(300);
    }
    await until(
      async () => (await count(`select count(*) as n from clocks where issue_key like '%#10_'`)) === issues.length,
      20_000,
      'clocks stored',
    );
    const breaches = (n: number) =>
      (fake.githubComments.get(`${REPO}#${n}`) ?? []).filter((c) => c.body.includes('gatehouse:clock:slo:breached'));
    await until(() => issues.every((n) => breaches(n).length > 0), 30_000, 'every SLO breach commented');
    await until(() => fake.slackMessages.length - before >= issues.length, 20_000, 'breach notices sent');
    await new Promise((r) => setTimeout(r, 2_000)); // several more ticks of both schedulers

    for (const n of issues) {
      expect(breaches(n), `#${n}`).toHaveLength(1);
      expect([...(fake.githubLabels.get(`${REPO}#${n}`) ?? [])]).toContain('slo::breached');
      const breachLabelWrites = fake.requests.filter(
        (r) =>
          r.api === 'github' &&
          r.method === 'POST' &&
          r.path.endsWith(`/issues/${n}/labels`) &&
          JSON.stringify(r.body).includes('slo::breached'),
      );
      expect(breachLabelWrites, `#${n}`).toHaveLength(1);
    }
    const sent = keysSent();
    for (const n of issues) expect(sent.get(`slo-breached:github:${REPO}#${n}`), `#${n}`).toBe(1);
    expect(fake.slackMessages.length - before).toBe(issues.length);
  }, 90_000);
});
