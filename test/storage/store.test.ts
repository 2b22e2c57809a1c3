import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Reason } from '../../src/core/model.ts';
import type { DeliveryInput } from '../../src/ports/deliveries.ts';
import type { OpenedStore } from '../../src/storage/open.ts';
import { migrateToLatest, migrationNames } from '../../src/storage/migrations.ts';
import { backends, sleep, type TestDatabase } from './backends.ts';

const delivery = (over: Partial<DeliveryInput> = {}): DeliveryInput => ({
  platform: 'github',
  deliveryId: 'd-1',
  eventName: 'issues',
  payload: '{"action":"opened","x":"é ✓"}',
  receivedAt: new Date('2026-01-02T03:04:05.678Z'),
  ...over,
});

const reason: Reason = {
  rule: 'internet-facing',
  summary: 'Exposed to the internet',
  evidence: ['Exposure = internet'],
  tier: 1,
  route: 'appsec',
};

for (const backend of backends) {
  describe.skipIf(backend.skip)(`Store on ${backend.name}`, () => {
    let tdb: TestDatabase;
    let opened: OpenedStore;

    beforeEach(async () => {
      tdb = await backend.create();
      opened = await tdb.open();
    });
    afterEach(async () => {
      await opened?.close();
      await tdb?.cleanup();
    });

    it('the inbox stores a delivery, read back as received', async () => {
      const { store, inbox } = opened;
      expect(await inbox.accept(delivery())).toEqual({ inserted: true });
      expect(await store.getDelivery('github', 'd-1')).toEqual({ ...delivery(), status: 'pending', attempts: 0, lastError: null });
      expect(await store.getDelivery('gitlab', 'd-1')).toBeNull();
      expect(await store.getDelivery('github', 'nope')).toBeNull();
    });

    it('the inbox dedupes a delivery accepted twice, and under concurrency', async () => {
      const { store, inbox } = opened;
      expect(await inbox.accept(delivery())).toEqual({ inserted: true });
      expect(await inbox.accept(delivery({ payload: 'other' }))).toEqual({ inserted: false });
      expect((await store.getDelivery('github', 'd-1'))?.payload).toBe(delivery().payload);

      const results = await Promise.all(Array.from({ length: 8 }, () => inbox.accept(delivery({ deliveryId: 'd-2' }))));
      expect(results.filter((r) => r.inserted)).toHaveLength(1);
      const pair = await Promise.all([inbox.accept(delivery({ deliveryId: 'd-3' })), inbox.accept(delivery({ deliveryId: 'd-3' }))]);
      expect(pair.map((r) => r.inserted).sort()).toEqual([false, true]);
      // the same id on another platform is another delivery
      expect(await inbox.accept(delivery({ platform: 'gitlab' }))).toEqual({ inserted: true });
    });

    it('a body stored under one delivery id is not stored again under another (a replay), per platform', async () => {
      const { store, inbox, db } = opened;
      const X = 'a'.repeat(64);
      expect(await inbox.accept(delivery({ deliveryId: 'first', bodyDigest: X }))).toEqual({ inserted: true });
      expect(await inbox.accept(delivery({ deliveryId: 'replayed', bodyDigest: X }))).toEqual({
        inserted: false,
        duplicateOf: 'first',
      });
      expect(await store.getDelivery('github', 'replayed')).toBeNull();
      // GitHub's own redelivery: the same id and body is the same delivery, not a replay of another.
      expect(await inbox.accept(delivery({ deliveryId: 'first', bodyDigest: X }))).toEqual({ inserted: false });
      // Two at once in one batch: one is stored.
      const pair = await Promise.all([
        inbox.accept(delivery({ deliveryId: 'p-1', bodyDigest: 'b'.repeat(64) })),
        inbox.accept(delivery({ deliveryId: 'p-2', bodyDigest: 'b'.repeat(64) })),
      ]);
      expect(pair.filter((r) => r.inserted)).toHaveLength(1);
      // Another platform's body, and bodies without a digest, are never replays.
      expect(await inbox.accept(delivery({ platform: 'gitlab', deliveryId: 'gl', bodyDigest: X }))).toEqual({ inserted: true });
      expect(await inbox.accept(delivery({ deliveryId: 'n-1' }))).toEqual({ inserted: true });
      expect(await inbox.accept(delivery({ deliveryId: 'n-2' }))).toEqual({ inserted: true });
      const rows = await sql<{
        delivery_id: string;
        body_digest: string | null;
      }>`select delivery_id, body_digest from deliveries where platform = 'github' order by delivery_id`.execute(db);
      expect(rows.rows.filter((r) => r.body_digest === X).map((r) => r.delivery_id)).toEqual(['first']);
    });

    it('the inbox stores a replayed body once and answers every replay as one, before a restart and after', async () => {
      const { store, inbox } = opened;
      const X = 'c'.repeat(64);
      expect(await inbox.accept(delivery({ deliveryId: 'r-1', bodyDigest: X }))).toEqual({ inserted: true });
      expect(await inbox.accept(delivery({ deliveryId: 'r-2', bodyDigest: X }))).toEqual({ inserted: false, duplicateOf: 'r-1' });
      expect(await store.getDelivery('github', 'r-1')).toMatchObject({ status: 'pending' });
      expect(await store.getDelivery('github', 'r-2')).toBeNull();

      // The database remembers: after a restart the replay is answered as one all the same.
      await opened.close();
      opened = await tdb.open();
      expect(await opened.inbox.accept(delivery({ deliveryId: 'r-3', bodyDigest: X }))).toEqual({ inserted: false, duplicateOf: 'r-1' });
      expect(await opened.store.getDelivery('github', 'r-3')).toBeNull();
    });

    it('a stored delivery is queued (its row is its job); a failed one goes back to pending and due in one update', async () => {
      const { store, inbox, queue } = opened;
      const job = { platform: 'github' as const, deliveryId: 'f-1' };
      await inbox.accept(delivery({ deliveryId: 'f-1' }));
      expect(await queue.jobState(job)).toMatchObject({ state: 'waiting', attempts: 0 });
      await store.finishDelivery('github', 'f-1', 'failed', 'gave up');
      expect(await queue.jobState(job)).toMatchObject({ state: 'failed' });
      expect(await store.retryDelivery('github', 'f-1')).toBe(true);
      expect(await store.getDelivery('github', 'f-1')).toMatchObject({ status: 'pending', attempts: 0 });
      expect(await queue.jobState(job)).toMatchObject({ state: 'waiting', attempts: 0 });
      // Only a failed delivery is retried.
      expect(await store.retryDelivery('github', 'f-1')).toBe(false);
    });

    it('lists pending deliveries oldest first and tracks attempts and outcomes', async () => {
      const { store, inbox } = opened;
      for (const [id, t] of [
        ['c', 3],
        ['a', 1],
        ['b', 2],
        ['d', 4],
      ] as const) {
        await inbox.accept(delivery({ deliveryId: id, receivedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, t)) }));
      }
      expect((await store.listDeliveries('pending', 10)).map((d) => d.deliveryId)).toEqual(['a', 'b', 'c', 'd']);
      expect((await store.listDeliveries('pending', 2)).map((d) => d.deliveryId)).toEqual(['a', 'b']);

      await store.failAttempt('github', 'a', 'rate limited');
      await store.failAttempt('github', 'a', 'timeout');
      expect(await store.getDelivery('github', 'a')).toMatchObject({ status: 'pending', attempts: 2, lastError: 'timeout' });

      await store.finishDelivery('github', 'a', 'done');
      await store.finishDelivery('github', 'b', 'failed', 'bad payload');
      await store.finishDelivery('github', 'c', 'ignored', null);
      expect(await store.getDelivery('github', 'a')).toMatchObject({ status: 'done', attempts: 2, lastError: null });
      expect(await store.getDelivery('github', 'b')).toMatchObject({ status: 'failed', lastError: 'bad payload' });
      expect((await store.listDeliveries('pending', 10)).map((d) => d.deliveryId)).toEqual(['d']);
      expect(await store.countDeliveries('pending')).toBe(1);
      expect(await store.countDeliveries('done')).toBe(1);
      expect(await store.countDeliveries('failed')).toBe(1);
      expect(await store.countDeliveries('ignored')).toBe(1);

      // A run that lost its lease and ends late cannot overwrite the outcome already recorded.
      await store.finishDelivery('github', 'a', 'failed', 'a late run');
      await store.failAttempt('github', 'b', 'a late run');
      expect(await store.getDelivery('github', 'a')).toMatchObject({ status: 'done', attempts: 2, lastError: null });
      expect(await store.getDelivery('github', 'b')).toMatchObject({ status: 'failed', lastError: 'bad payload' });
    });

    it('saves and replaces intake records', async () => {
      const { store } = opened;
      const row = {
        issueKey: 'github:acme/web#7',
        platform: 'github' as const,
        repo: 'acme/web',
        number: 7,
        answers: { exposure: 'internet', assets: ['db', 'api'], notes: null },
        problems: [{ field: 'owner', message: 'required' }],
        complete: false,
        updatedAt: new Date('2026-01-01T00:00:00.000Z'),
      };
      expect(await store.getIntake(row.issueKey)).toBeNull();
      await store.saveIntake(row);
      expect(await store.getIntake(row.issueKey)).toEqual(row);
      const updated = {
        ...row,
        answers: { exposure: 'internal' },
        problems: [],
        complete: true,
        updatedAt: new Date('2026-01-02T00:00:00.000Z'),
      };
      await store.saveIntake(updated);
      expect(await store.getIntake(row.issueKey)).toEqual(updated);
    });

    it('keeps a decision history and finds the latest decision', async () => {
      const { store } = opened;
      const key = 'gitlab:group/proj#3';
      expect(await store.latestDecision(key)).toBeNull();
      expect(await store.decisionHistory(key)).toEqual([]);
      const d1 = {
        issueKey: key,
        tier: 2,
        routes: ['appsec'],
        reasons: [reason],
        decidedAt: new Date('2026-01-01T00:00:00.000Z'),
        deliveryId: 'x1',
      };
      const d2 = { issueKey: key, tier: null, routes: [], reasons: [], decidedAt: new Date('2026-01-03T00:00:00.000Z'), deliveryId: null };
      const d3 = { ...d1, tier: 0, routes: ['incident', 'appsec'], decidedAt: new Date('2026-01-02T00:00:00.000Z') };
      await store.recordDecision(d1);
      await store.recordDecision(d2);
      await store.recordDecision(d3);
      await store.recordDecision({ ...d1, issueKey: 'other#1' });
      expect(await store.decisionHistory(key)).toEqual([d1, d3, d2]);
      expect(await store.latestDecision(key)).toEqual(d2);
      // same timestamp: the later insert wins
      const d4 = { ...d2, tier: 3 };
      await store.recordDecision(d4);
      expect(await store.latestDecision(key)).toEqual(d4);
    });

    it('appends audit entries and lists them per issue', async () => {
      const { store } = opened;
      const key = 'github:acme/web#1';
      await store.appendAudit({
        at: new Date('2026-01-01T00:00:02Z'),
        deliveryId: 'd',
        issueKey: key,
        action: 'ensureLabels',
        detail: { add: ['tier-1'] },
        outcome: 'ok',
      });
      await store.appendAudit({
        at: new Date('2026-01-01T00:00:01Z'),
        deliveryId: null,
        issueKey: key,
        action: 'ensureComment',
        detail: null,
        outcome: 'error',
        error: '502',
      });
      await store.appendAudit({
        at: new Date('2026-01-01T00:00:03Z'),
        deliveryId: 'd',
        issueKey: null,
        action: 'translate',
        detail: 'x',
        outcome: 'skipped',
      });
      expect(await store.auditFor(key)).toEqual([
        {
          at: new Date('2026-01-01T00:00:01Z'),
          deliveryId: null,
          issueKey: key,
          action: 'ensureComment',
          detail: null,
          outcome: 'error',
          error: '502',
        },
        {
          at: new Date('2026-01-01T00:00:02Z'),
          deliveryId: 'd',
          issueKey: key,
          action: 'ensureLabels',
          detail: { add: ['tier-1'] },
          outcome: 'ok',
          error: null,
        },
      ]);
      expect(await store.auditFor('none')).toEqual([]);
    });

    it('enqueues notifications once per key', async () => {
      const { store } = opened;
      const n = { key: 'k1', channel: '#sec', text: 'Tier 1: <b>', createdAt: new Date('2026-01-01T00:00:00Z') };
      expect(await store.enqueueNotification(n)).toEqual({ inserted: true });
      expect(await store.enqueueNotification({ ...n, text: 'changed' })).toEqual({ inserted: false });
      await store.enqueueNotification({ ...n, key: 'k2', createdAt: new Date('2026-01-02T00:00:00Z') });
      // The escalation outbox sends them: it reads each as queued (the first text kept).
      expect(await store.outbox.get('k1')).toMatchObject({ ...n, notice: null, status: 'pending', revision: 1 });
      expect(await store.outbox.get('k2')).toMatchObject({
        ...n,
        key: 'k2',
        createdAt: new Date('2026-01-02T00:00:00Z'),
        status: 'pending',
      });
    });

    it('withKeyLock is exclusive per key, concurrent across keys, and released on errors', async () => {
      const { store } = opened;
      const log: string[] = [];
      const task = (key: string, name: string, ms: number) =>
        store.withKeyLock(key, async () => {
          log.push(`${name}+`);
          await sleep(ms);
          log.push(`${name}-`);
          return name;
        });
      const results = await Promise.all([task('k', 'a', 60), task('k', 'b', 10), task('j', 'c', 10)]);
      expect(results).toEqual(['a', 'b', 'c']);
      expect(log.indexOf('a-')).toBeLessThan(log.indexOf('b+'));
      expect(log.indexOf('c-')).toBeLessThan(log.indexOf('a-'));

      await expect(store.withKeyLock('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
      expect(await store.withKeyLock('k', async () => 'free again')).toBe('free again');
    });

    it('stores a large payload deflated, reads it back as received, and still reads plain rows', async () => {
      const { store, inbox, db } = opened;
      const big = JSON.stringify({
        action: 'opened',
        body: 'é ✓ '.repeat(2000),
        urls: Array.from({ length: 50 }, (_, i) => `https://api.github.com/repos/acme/web/issues/${i}{/number}`),
      });
      await Promise.all([inbox.accept(delivery({ deliveryId: 'big', payload: big })), inbox.accept(delivery({ deliveryId: 'small' }))]);
      const rows = await sql<{
        delivery_id: string;
        payload: string;
        payload_encoding: string;
      }>`select delivery_id, payload, payload_encoding from deliveries order by delivery_id`.execute(db);
      expect(rows.rows.map((r) => [r.delivery_id, r.payload_encoding])).toEqual([
        ['big', 'deflate-base64'],
        ['small', 'json'],
      ]);
      expect(rows.rows[0]!.payload.length).toBeLessThan(big.length / 4);
      expect((await store.getDelivery('github', 'big'))?.payload).toBe(big);
      expect((await store.getDelivery('github', 'small'))?.payload).toBe(delivery().payload);
      // a row written before payloads were encoded: plain JSON, default encoding
      await sql`insert into deliveries (platform, delivery_id, event_name, payload, received_at, status) values ('github', 'old', 'issues', ${big}, now(), 'pending')`.execute(
        db,
      );
      expect((await store.getDelivery('github', 'old'))?.payload).toBe(big);
      await expect(sql`update deliveries set payload_encoding = 'zip' where delivery_id = 'old'`.execute(db)).rejects.toThrow();
    });

    it('the inbox stores large payloads deflated too, two alike included', async () => {
      const { store, db, inbox } = opened;
      const big = JSON.stringify({ action: 'opened', body: 'é ✓ '.repeat(2000) });
      await Promise.all([
        inbox.accept(delivery({ deliveryId: 'in-1', payload: big })),
        inbox.accept(delivery({ deliveryId: 'in-2', payload: big })),
        inbox.accept(delivery({ deliveryId: 'in-3' })),
      ]);
      const rows = await sql<{
        delivery_id: string;
        payload: string;
        payload_encoding: string;
      }>`select delivery_id, payload, payload_encoding from deliveries order by delivery_id`.execute(db);
      expect(rows.rows.map((r) => [r.delivery_id, r.payload_encoding])).toEqual([
        ['in-1', 'deflate-base64'],
        ['in-2', 'deflate-base64'],
        ['in-3', 'json'],
      ]);
      expect(rows.rows[0]!.payload.length).toBeLessThan(big.length / 4);
      expect((await store.getDelivery('github', 'in-1'))?.payload).toBe(big);
      expect((await store.getDelivery('github', 'in-2'))?.payload).toBe(big);
      expect((await store.getDelivery('github', 'in-3'))?.payload).toBe(delivery().payload);
    });

    it('migrations are idempotent and data survives a reopen', async () => {
      await opened.inbox.accept(delivery());
      expect(await migrateToLatest(opened.db)).toEqual([]);
      await opened.close();
      opened = await tdb.open();
      expect(await migrateToLatest(opened.db)).toEqual([]);
      expect(await opened.store.getDelivery('github', 'd-1')).toMatchObject({ status: 'pending' });
      const migrations = await sql<{ name: string }>`select name from gatehouse_migration order by name`.execute(opened.db);
      expect(migrations.rows.map((r) => r.name)).toEqual(migrationNames());
    });

    it('close is idempotent and later calls fail clearly', async () => {
      await opened.close();
      await opened.store.close();
      await expect(opened.store.getDelivery('github', 'd-1')).rejects.toThrow();
    });

    if (backend.name === 'postgres') {
      it('withKeyLock excludes another process (separate pool) holding the same key', async () => {
        const other = await tdb.open();
        try {
          const log: string[] = [];
          const hold = (s: OpenedStore, name: string, ms: number) =>
            s.store.withKeyLock('github:acme/web#1', async () => {
              log.push(`${name}+`);
              await sleep(ms);
              log.push(`${name}-`);
            });
          const first = hold(opened, 'a', 150);
          await sleep(30);
          await Promise.all([first, hold(other, 'b', 10)]);
          expect(log).toEqual(['a+', 'a-', 'b+', 'b-']);
        } finally {
          await other.close();
        }
      });
    }

    if (backend.name === 'pglite') {
      it('transactions do not interleave with other queries on the single connection', async () => {
        const { db, store } = opened;
        let outside: Promise<number> | undefined;
        await expect(
          db.transaction().execute(async (trx) => {
            await trx
              .insertInto('deliveries')
              .values({
                platform: 'github',
                delivery_id: 'tx',
                event_name: 'e',
                payload: '{}',
                received_at: new Date(),
                status: 'pending',
                last_error: null,
              })
              .execute();
            outside = store.countDeliveries('pending'); // must wait for the transaction to end
            await sleep(30);
            throw new Error('roll back');
          }),
        ).rejects.toThrow('roll back');
        expect(await outside).toBe(0);
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('deliveries')
            .values({
              platform: 'github',
              delivery_id: 'tx',
              event_name: 'e',
              payload: '{}',
              received_at: new Date(),
              status: 'pending',
              last_error: null,
            })
            .execute();
        });
        expect(await store.countDeliveries('pending')).toBe(1);
      });
    }
  });
}
