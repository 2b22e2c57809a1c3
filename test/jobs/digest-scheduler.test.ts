/**
 * The digest schedule on a real embedded database: intakes and decisions stored through the Store,
 * two schedulers (two replicas) on one database ticking at once queue one notification per slot.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import type { Policy } from '../../src/core/policy/schema.ts';
import { DigestScheduler } from '../../src/jobs/digest-scheduler.ts';
import { openStore, type OpenedStore } from '../../src/storage/open.ts';
import { digestSource } from '../../src/storage/digest-source.ts';
import { freshDataDir, freshPgDatabase, pgTestUrl } from '../storage/fixture.ts';
import { storedNotifications } from '../support/notifications.ts';

const silent = { info: () => undefined, error: () => undefined };
let opened: OpenedStore;

beforeEach(async () => {
  opened = await openStore({ dataDir: await freshDataDir(), syncWal: false });
});
afterEach(async () => {
  await opened.close();
});

const policy: Policy = { ...defaultPolicy, cadence: { ...defaultPolicy.cadence, channel: '#prodsec-leads' } };

async function seed(): Promise<void> {
  const { store } = opened;
  const intakes = [
    { n: 1, line: 'Secure design / architecture review', tier: 2 },
    { n: 2, line: 'Secure design / architecture review', tier: 1 },
    { n: 3, line: null, tier: 0 },
  ];
  for (const i of intakes) {
    const issueKey = `github:acme/app#${i.n}`;
    const answers: Record<string, string | null> = {
      service: `svc-${i.n}`,
      golden_path: i.tier === 0 ? 'yes' : 'no',
      ...(i.line ? { service_line: i.line } : {}),
    };
    await store.saveIntake({
      issueKey,
      platform: 'github',
      repo: 'acme/app',
      number: i.n,
      answers,
      problems: [],
      complete: true,
      updatedAt: new Date('2026-11-25T10:00:00Z'),
    });
    await store.recordDecision({
      issueKey,
      tier: i.tier,
      routes: [],
      reasons: [
        { rule: i.tier === 0 ? 'golden-path' : 'new-public-endpoint', summary: 's', evidence: [], tier: i.tier as 0 | 1 | 2, route: null },
      ],
      decidedAt: new Date('2026-11-25T10:00:00Z'),
      deliveryId: null,
    });
  }
}

describe('digest scheduler', () => {
  it('two replicas ticking at the same minute queue one weekly digest; later ticks queue nothing', async () => {
    await seed();
    let now = new Date('2026-11-30T09:00:30Z');
    const replicas = [0, 1].map(
      () =>
        new DigestScheduler({
          store: opened.store,
          digests: digestSource(opened.db),
          policy: () => policy,
          logger: silent,
          now: () => now,
        }),
    );
    const queued = await Promise.all(replicas.map((r) => r.tick()));
    expect(queued.flat()).toEqual(['digest:weekly:2026-W49']);

    now = new Date('2026-11-30T09:01:30Z');
    expect((await Promise.all(replicas.map((r) => r.tick()))).flat()).toEqual([]);

    const rows = (await storedNotifications(opened.db)).filter((n) => n.key.startsWith('digest:'));
    expect(rows.map((r) => [r.key, r.channel, r.status])).toEqual([['digest:weekly:2026-W49', '#prodsec-leads', 'pending']]);
    const outbox = await opened.store.outbox.get('digest:weekly:2026-W49');
    expect(outbox?.revision).toBe(1); // never updated: the second replica's enqueue was a no-op
    expect(outbox?.notice?.kind).toBe('digest');
    expect(outbox?.notice?.title).toBe('Weekly digest: 2026-11-23 to 2026-11-29');
    expect(outbox?.notice?.reasons).toEqual(
      expect.arrayContaining([
        'Intake health: 3 new intakes: 3 complete, 0 incomplete',
        'By service line: Secure design / architecture review: 2 new, 2 open, 1 open at tier 2/3',
        'By service line: unspecified: 1 new, 1 open, 0 open at tier 2/3',
      ]),
    );
  });

  it('sends the monthly one at 09:00 in the policy zone on the 1st (and catches up the weekly of the day before)', async () => {
    const berlin: Policy = { ...policy, timeZone: 'Europe/Berlin' };
    let now = new Date('2026-12-01T07:59:00Z');
    const s = new DigestScheduler({
      store: opened.store,
      digests: digestSource(opened.db),
      policy: () => berlin,
      logger: silent,
      now: () => now,
    });
    // 08:59 in Berlin: Monday's weekly (09:00 local, 23 h 59 min ago) is still within the catch-up window
    expect(await s.tick()).toEqual(['digest:weekly:2026-W49']);
    now = new Date('2026-12-01T08:00:00Z');
    expect(await s.tick()).toEqual(['digest:monthly:2026-12']);
    const row = await opened.store.outbox.get('digest:monthly:2026-12');
    expect(row?.notice?.title).toBe('Monthly digest: November 2026');
    expect(row?.notice?.reasons.some((r) => r.startsWith('SLO/RTO attainment: SLO:'))).toBe(true);
  });

  it('the channel defaults to the escalation channel', async () => {
    const now = new Date('2026-11-30T09:00:00Z');
    const s = new DigestScheduler({
      store: opened.store,
      digests: digestSource(opened.db),
      policy: () => defaultPolicy,
      logger: silent,
      now: () => now,
    });
    await s.tick();
    expect((await opened.store.outbox.get('digest:weekly:2026-W49'))?.channel).toBe(defaultPolicy.chat.escalationChannel);
  });
});

describe.skipIf(!pgTestUrl)('digest scheduler, two replicas on PostgreSQL', () => {
  it('two processes on one PostgreSQL database ticking together queue one notice per slot', async () => {
    const db = await freshPgDatabase();
    const a = await openStore({ databaseUrl: db.url, dataDir: '' });
    const b = await openStore({ databaseUrl: db.url, dataDir: '' });
    try {
      const now = new Date('2026-12-07T09:00:10Z');
      const replicas = [a, b].map(
        (o) => new DigestScheduler({ store: o.store, digests: digestSource(o.db), policy: () => policy, logger: silent, now: () => now }),
      );
      for (let round = 0; round < 3; round++) await Promise.all(replicas.map((r) => r.tick()));
      const keys = (await storedNotifications(a.db)).map((n) => n.key).sort();
      expect(keys).toEqual(['digest:biweekly:2026-W50', 'digest:weekly:2026-W50']);
      expect((await b.store.outbox.get('digest:weekly:2026-W50'))?.revision).toBe(1);
    } finally {
      await a.close();
      await b.close();
      await db.drop();
    }
  });
});
if (!pgTestUrl) console.warn('SKIPPED the PostgreSQL replicas case of test/jobs/digest-scheduler.test.ts: GATEHOUSE_TEST_PG_URL is unset');
