/**
 * The lease queue (src/storage/queue.ts): a delivery's job is its row in `deliveries`, a gate
 * re-evaluation its row in `gate_evaluations`; rows claimed under a lease renewed while they run.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import type { DeliveryJob, GateEvaluationJob } from '../../src/ports/queue.ts';
import { currentSlot, HandedBack } from '../../src/ports/work-slot.ts';
import type { OpenedStore } from '../../src/storage/open.ts';
import { LEASE_RAN_OUT } from '../../src/storage/queue-rows.ts';
import { backends, sleep, storeDeliveries, waitFor, type TestDatabase } from './backends.ts';

const job = (deliveryId: string): DeliveryJob => ({ platform: 'github', deliveryId });
const noDeadLetters = async (): Promise<void> => {
  throw new Error('no dead letters expected');
};

for (const backend of backends) {
  describe.skipIf(backend.skip)(`LeaseQueue on ${backend.name}`, () => {
    let tdb: TestDatabase;
    let opened: OpenedStore;
    const others: OpenedStore[] = [];

    beforeEach(async () => {
      tdb = await backend.create();
      opened = await tdb.open();
    });
    afterEach(async () => {
      for (const o of others.splice(0)) await o.close().catch(() => undefined);
      await opened?.close();
      await tdb?.cleanup();
    });

    it('runs a stored delivery once, soon after it is stored', async () => {
      const { queue } = opened;
      const runs: DeliveryJob[] = [];
      let latency = -1;
      let storedAt = 0;
      await queue.work(async (j) => {
        if (runs.length === 0) latency = Date.now() - storedAt;
        runs.push(j);
      }, noDeadLetters);
      await sleep(100); // let the worker go idle first
      storedAt = Date.now();
      await storeDeliveries(opened, [job('one')]);
      await waitFor(() => runs.length === 1);
      await waitFor(async () => (await queue.depth()) === 0);
      await sleep(200);
      expect(runs).toEqual([job('one')]);
      console.info(`[queue ${backend.name}] store → handler start: ${latency} ms`);
      expect(latency).toBeLessThan(2_000); // "soon": woken at once, with room for a loaded machine
      expect(await queue.jobState(job('one'))).toBeNull(); // still pending (the handler did not finish it), not queued
    });

    it('is idempotent: a delivery stored twice and enqueued again is one job, run once; one handled is not run again', async () => {
      const { queue, store } = opened;
      await storeDeliveries(opened, [job('dup')]);
      await storeDeliveries(opened, [job('dup')]);
      await queue.enqueue(job('dup'));
      expect(await queue.depth()).toBe(1);
      let runs = 0;
      await queue.work(async (j) => {
        runs += 1;
        await store.finishDelivery(j.platform, j.deliveryId, 'done');
      }, noDeadLetters);
      await waitFor(async () => (await queue.depth()) === 0);
      await queue.enqueue(job('dup'));
      await queue.requeue(job('dup'));
      await sleep(300);
      expect(runs).toBe(1);
      expect(await queue.jobState(job('dup'))).toMatchObject({ state: 'completed' });
    });

    it('retries a failing delivery with backoff, then marks its row failed with the last error (one dead letter)', async () => {
      await opened.close();
      opened = await tdb.open({ queue: { retryLimit: 2, retryDelaySeconds: 0.2, retryBackoff: true } });
      const { queue, store } = opened;
      const at: number[] = [];
      const dead: { job: DeliveryJob; error: string }[] = [];
      await queue.work(
        async () => {
          at.push(Date.now());
          throw new Error(`attempt ${at.length} failed`);
        },
        async (j, error) => {
          dead.push({ job: j, error });
        },
      );
      await storeDeliveries(opened, [job('bad')]);
      await waitFor(() => dead.length === 1);
      expect(at).toHaveLength(3); // first run + retryLimit 2
      // Backoff: the n-th retry waits delay·2^n/2 … delay·2^n (0.2-0.4 s, then 0.4-0.8 s).
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(190);
      expect(at[2]! - at[1]!).toBeGreaterThanOrEqual(390);
      expect(dead).toEqual([{ job: job('bad'), error: 'attempt 3 failed' }]);
      expect(await queue.depth()).toBe(0);
      expect(await store.getDelivery('github', 'bad')).toMatchObject({ status: 'failed', attempts: 3, lastError: 'attempt 3 failed' });
      expect(await queue.jobState(job('bad'))).toMatchObject({ state: 'failed', attempts: 3 });
      await sleep(300);
      expect(dead).toHaveLength(1);
    });

    it('recovers from a transient failure: the failed attempt is counted on the row', async () => {
      const { queue, store } = opened;
      let attempts = 0;
      await queue.work(async (j) => {
        attempts += 1;
        if (attempts === 1) throw new Error('flaky');
        await store.finishDelivery(j.platform, j.deliveryId, 'done');
      }, noDeadLetters);
      await storeDeliveries(opened, [job('flaky')]);
      await waitFor(async () => (await store.getDelivery('github', 'flaky'))?.status === 'done');
      expect(attempts).toBe(2);
      expect(await store.getDelivery('github', 'flaky')).toMatchObject({ attempts: 1, lastError: null });
    });

    it('a handler past its time limit keeps its row leased until it ends: its retry never runs beside it', async () => {
      await opened.close();
      opened = await tdb.open({ queue: { expireInSeconds: 0.8, leaseSeconds: 1 } });
      const { queue, store } = opened;
      const starts: number[] = [];
      let ended = 0;
      let running = 0;
      let most = 0;
      await queue.work(async (j) => {
        const n = starts.push(Date.now());
        running += 1;
        most = Math.max(most, running);
        try {
          if (n === 1) await sleep(1_400); // past its limit (0.8 s) and its lease (1 s, renewed), within twice the limit
        } finally {
          running -= 1;
        }
        if (n === 1) ended = Date.now();
        else await store.finishDelivery(j.platform, j.deliveryId, 'done');
      }, noDeadLetters);
      await storeDeliveries(opened, [job('slow')]);
      await waitFor(() => starts.length === 2);
      expect(most).toBe(1);
      expect(ended).toBeGreaterThan(0);
      expect(starts[1]!).toBeGreaterThanOrEqual(ended);
      await waitFor(async () => (await store.getDelivery('github', 'slow'))?.status === 'done');
      expect(await store.getDelivery('github', 'slow')).toMatchObject({ attempts: 1, lastError: null });
    });

    it('a hand-back moves the row to its turn without counting an attempt; the run after it knows it ran before', async () => {
      const { queue, store } = opened;
      const runs: { at: number; ranBefore: boolean | undefined }[] = [];
      let turn = 0;
      await queue.work(async (j) => {
        runs.push({ at: Date.now(), ranBefore: currentSlot()?.ranBefore });
        if (runs.length === 1) {
          turn = Date.now() + 600;
          throw new HandedBack(turn, 'write turn far away');
        }
        await store.finishDelivery(j.platform, j.deliveryId, 'done');
      }, noDeadLetters);
      await storeDeliveries(opened, [job('turn')]);
      await waitFor(() => runs.length === 1);
      await waitFor(async () => (await queue.jobState(job('turn')))?.state === 'waiting');
      expect(await queue.jobState(job('turn'))).toMatchObject({ attempts: 0, handBacks: 1 });
      await waitFor(() => runs.length === 2);
      expect(runs[1]!.at).toBeGreaterThanOrEqual(turn - 5);
      expect(runs.map((r) => r.ranBefore)).toEqual([false, true]);
      await waitFor(async () => (await store.getDelivery('github', 'turn'))?.status === 'done');
      expect(await store.getDelivery('github', 'turn')).toMatchObject({ attempts: 0 });
      expect(queue.pacing.handedBack).toBe(1);
    });

    it('hand-backs are capped at 20 per attempt: the 21st counts as a failed attempt', async () => {
      await opened.close();
      opened = await tdb.open({ queue: { retryLimit: 0 } });
      const { queue, store } = opened;
      let runs = 0;
      const dead: string[] = [];
      await queue.work(
        async () => {
          runs += 1;
          throw new HandedBack(Date.now() + 10, 'rate limited again');
        },
        async (_j, error) => {
          dead.push(error);
        },
      );
      await storeDeliveries(opened, [job('limited')]);
      await waitFor(() => dead.length === 1, 20_000);
      expect(runs).toBe(21);
      expect(queue.pacing.handedBack).toBe(20);
      expect(dead[0]).toContain('(handed back 20 times already)');
      expect(await store.getDelivery('github', 'limited')).toMatchObject({ status: 'failed', attempts: 1 });
    });

    it('requeue: a failed delivery set back by retryDelivery runs again; one kept pending unqueued is queued; a queued one is left alone', async () => {
      await opened.close();
      opened = await tdb.open({ queue: { retryLimit: 0 } });
      const { queue, store } = opened;
      let fail = true;
      const runs: string[] = [];
      let held: Promise<void> = Promise.resolve();
      await queue.work(
        async (j) => {
          runs.push(j.deliveryId);
          if (j.deliveryId === 'p') await held;
          if (j.deliveryId === 'f' && fail) throw new Error('down');
          // 'p' ends pending (as a delivery whose platform is off): not queued any more.
          if (j.deliveryId !== 'p') await store.finishDelivery(j.platform, j.deliveryId, 'done');
        },
        async () => undefined,
      );
      await storeDeliveries(opened, [job('f'), job('p')]);
      await waitFor(async () => (await store.getDelivery('github', 'f'))?.status === 'failed');
      await waitFor(() => runs.includes('p'));
      await waitFor(async () => (await queue.jobState(job('p'))) === null);
      fail = false;
      expect(await store.retryDelivery('github', 'f')).toBe(true);
      expect(await store.retryDelivery('github', 'f')).toBe(false); // pending now, not failed
      queue.jobsAdded();
      let letGo: () => void = () => undefined;
      held = new Promise<void>((resolve) => (letGo = resolve));
      await queue.requeue(job('p'));
      await queue.requeue(job('p')); // already queued (or running, held until now): left alone
      letGo();
      await waitFor(() => runs.length === 4);
      await sleep(300);
      expect(runs.sort()).toEqual(['f', 'f', 'p', 'p']);
      expect(await store.getDelivery('github', 'f')).toMatchObject({ status: 'done', attempts: 0 });
    });

    const evaluation = (sha: string, deliveryId: string, platform: 'github' | 'gitlab' = 'gitlab'): GateEvaluationJob => ({
      platform,
      installationId: null,
      repo: { platform, fullName: 'group/shop', id: 7, defaultBranch: 'main' },
      sha,
      deliveryId,
    });

    it('gate evaluations: a burst on one commit joins the first evaluation, which starts after the window', async () => {
      const { queue } = opened;
      const runs: { job: GateEvaluationJob; at: number }[] = [];
      await queue.workEvaluations(async (j) => {
        runs.push({ job: j, at: Date.now() });
      });
      const t0 = Date.now();
      const scheduled = await Promise.all(
        Array.from({ length: 50 }, (_, i) => queue.schedule(evaluation('a'.repeat(40), `pipeline-${i}`), 400)),
      );
      // Another commit, and the same commit on another platform, are evaluations of their own.
      expect(await queue.schedule(evaluation('b'.repeat(40), 'other-commit'), 400)).toBe(true);
      expect(await queue.schedule(evaluation('a'.repeat(40), 'github-same-sha', 'github'), 400)).toBe(true);
      expect(scheduled.filter(Boolean)).toHaveLength(1);
      await waitFor(() => runs.length === 3);
      await sleep(600);
      expect(runs).toHaveLength(3);
      expect(Math.min(...runs.map((r) => r.at - t0))).toBeGreaterThanOrEqual(350);
      const onA = runs.filter((r) => r.job.sha === 'a'.repeat(40) && r.job.platform === 'gitlab');
      expect(onA).toHaveLength(1);
      expect(onA[0]!.job).toMatchObject({ platform: 'gitlab', repo: { platform: 'gitlab', fullName: 'group/shop' } });
      // A run that ends removes its row.
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from gate_evaluations`.execute(opened.db);
      expect(Number(rows[0]?.n)).toBe(0);
    });

    it('gate evaluations: a conclusion while the evaluation runs schedules another (nothing is lost)', async () => {
      const { queue } = opened;
      let release: () => void = () => undefined;
      const seen: string[] = [];
      await queue.workEvaluations(async (j) => {
        seen.push(j.deliveryId);
        if (seen.length === 1) await new Promise<void>((resolve) => (release = resolve));
      });
      const sha = 'c'.repeat(40);
      expect(await queue.schedule(evaluation(sha, 'first'), 100)).toBe(true);
      await waitFor(() => seen.length === 1);
      // The first one is running (it may have read the evidence already): these must not join it.
      expect(await queue.schedule(evaluation(sha, 'during'), 100)).toBe(true);
      expect(await queue.schedule(evaluation(sha, 'during-2'), 100)).toBe(false);
      release();
      await waitFor(() => seen.length === 2);
      await sleep(400);
      expect(seen).toEqual(['first', 'during']);
    });

    it('gate evaluations: a failing one is retried, and one failing every retry is kept failed with its error', async () => {
      const { queue } = opened;
      let attempts = 0;
      await queue.workEvaluations(async (j) => {
        attempts += 1;
        if (j.deliveryId === 'x' && attempts === 1) throw new Error('evidence could not be read in full');
        if (j.deliveryId === 'always') throw new Error('never readable');
      });
      await queue.schedule(evaluation('d'.repeat(40), 'x'), 50);
      await waitFor(() => attempts === 2, 15_000);
      await queue.schedule(evaluation('e'.repeat(40), 'always'), 0);
      await waitFor(async () => {
        const { rows } = await sql<{ state: string }>`select state from gate_evaluations where state = 'failed'`.execute(opened.db);
        return rows.length === 1;
      });
      const { rows } = await sql<{ attempts: number; last_error: string }>`select attempts, last_error from gate_evaluations`.execute(
        opened.db,
      );
      expect(rows).toEqual([{ attempts: 3, last_error: 'never readable' }]); // first run + retryLimit 2
    });

    it('gate evaluations that failed over two weeks ago are removed while the process runs, not only at its start', async () => {
      await opened.close();
      opened = await tdb.open({ queue: { pruneIntervalMs: 100 } });
      const { queue, db } = opened;
      await queue.workEvaluations(async () => undefined);
      await sql`insert into gate_evaluations (key, job, due_at, state, attempts, last_error) values
        ('old', '{}'::jsonb, now() - interval '15 days', 'failed', 3, 'never readable'),
        ('recent', '{}'::jsonb, now() - interval '13 days', 'failed', 3, 'never readable')`.execute(db);
      await waitFor(async () => {
        const { rows } = await sql<{ key: string }>`select key from gate_evaluations`.execute(db);
        return rows.length === 1;
      });
      const { rows } = await sql<{ key: string }>`select key from gate_evaluations`.execute(db);
      expect(rows.map((r) => r.key)).toEqual(['recent']);
    });

    it('a run whose lease ran out counts as a failed attempt: a job that keeps killing its worker ends failed, not run forever', async () => {
      const { queue, store, db } = opened;
      await storeDeliveries(opened, [job('killer'), job('survivor')]);
      await queue.schedule(evaluation('dead1', 'd-1'), 0);
      // As workers that died mid-run leave them: held by a claim whose lease ran out. 'killer' and
      // the evaluation have used up their other attempts (retryLimit 2) that way already.
      await sql`update deliveries set claimed_by = 'dead', claimed_until = now() - interval '1 second',
        attempts = case when delivery_id = 'killer' then 2 else 0 end`.execute(db);
      await sql`update gate_evaluations set state = 'running', claimed_by = 'dead', claimed_until = now() - interval '1 second', attempts = 2`.execute(
        db,
      );
      const runs: string[] = [];
      const dead: { job: DeliveryJob; error: string }[] = [];
      const evaluated: string[] = [];
      await queue.work(
        async (j) => {
          runs.push(j.deliveryId);
          await store.finishDelivery(j.platform, j.deliveryId, 'done');
        },
        async (j, error) => {
          dead.push({ job: j, error });
        },
      );
      await queue.workEvaluations(async (j) => {
        evaluated.push(j.sha);
      });
      const evaluationState = async (): Promise<string | undefined> =>
        (await sql<{ state: string }>`select state from gate_evaluations`.execute(db)).rows[0]?.state;
      await waitFor(async () => dead.length === 1 && runs.length === 1 && (await evaluationState()) === 'failed');
      await sleep(200);
      expect(runs).toEqual(['survivor']);
      expect(dead).toEqual([{ job: job('killer'), error: LEASE_RAN_OUT }]);
      expect(evaluated).toEqual([]);
      expect(await store.getDelivery('github', 'killer')).toMatchObject({ status: 'failed', attempts: 3, lastError: LEASE_RAN_OUT });
      expect(await store.getDelivery('github', 'survivor')).toMatchObject({ status: 'done', attempts: 1 });
    });

    it('keeps jobs across a close and reopen', async () => {
      await storeDeliveries(opened, [job('a'), job('b')]);
      await opened.queue.schedule(evaluation('f'.repeat(40), 'kept'), 0);
      await opened.close();
      opened = await tdb.open();
      expect(await opened.queue.depth()).toBe(2);
      const seen: string[] = [];
      await opened.queue.work(async (j) => {
        seen.push(j.deliveryId);
      }, noDeadLetters);
      await opened.queue.workEvaluations(async (j) => {
        seen.push(j.deliveryId);
      });
      await waitFor(() => seen.length === 3);
      expect(seen.sort()).toEqual(['a', 'b', 'kept']);
    });

    it('stop() is quick when idle and waits for a running handler', async () => {
      const { queue } = opened;
      let finished = false;
      await queue.work(async () => {
        await sleep(300);
        finished = true;
      }, noDeadLetters);
      await storeDeliveries(opened, [job('slow')]);
      await waitFor(async () => (await queue.jobState(job('slow')))?.state === 'running');
      const t = Date.now();
      await queue.stop();
      expect(finished).toBe(true);
      expect(Date.now() - t).toBeLessThan(1500);
      await expect(queue.enqueue(job('late'))).rejects.toThrow('stopped');
    });

    it('upgrading from the pg-boss version: pending deliveries become due, waiting pg-boss evaluations are carried over', async () => {
      const { db } = opened;
      await storeDeliveries(opened, [job('old-pending'), job('old-done'), job('old-failed')]);
      await opened.store.finishDelivery('github', 'old-done', 'done');
      await opened.store.finishDelivery('github', 'old-failed', 'failed', 'gave up');
      // The database as the earlier version left it: no 0015, its queue in pg-boss's job table.
      await sql`drop table gate_evaluations`.execute(db);
      await sql`drop index deliveries_due_idx`.execute(db);
      await sql`alter table deliveries drop column due_at, drop column claimed_until, drop column claimed_by, drop column hand_backs`.execute(
        db,
      );
      await sql`delete from gatehouse_migration where name = '0015_delivery_leases'`.execute(db);
      await sql`create schema pgboss`.execute(db);
      await sql`create table pgboss.job (id uuid, name text, state text, data jsonb, start_after timestamptz)`.execute(db);
      const data = (sha: string, id: string): string => JSON.stringify(evaluation(sha, id));
      await sql`insert into pgboss.job values
        (gen_random_uuid(), 'deliveries_gate', 'created', ${data('a'.repeat(40), 'waiting')}::jsonb, now()),
        (gen_random_uuid(), 'deliveries_gate', 'retry', ${data('b'.repeat(40), 'retrying')}::jsonb, now()),
        (gen_random_uuid(), 'deliveries_gate', 'completed', ${data('c'.repeat(40), 'ran')}::jsonb, now()),
        (gen_random_uuid(), 'deliveries_gate', 'active', ${data('d'.repeat(40), 'cut-short')}::jsonb, now()),
        (gen_random_uuid(), 'deliveries_gate', 'created', '{"platform":"gitlab","repo":{"platform":"gitlab"},"sha":"eee"}'::jsonb, now()),
        (gen_random_uuid(), 'deliveries', 'created', '{"platform":"github","deliveryId":"old-pending"}'::jsonb, now())`.execute(db);
      await opened.close();
      opened = await tdb.open();
      expect(await opened.queue.jobState(job('old-pending'))).toMatchObject({ state: 'waiting' });
      expect(await opened.queue.depth()).toBe(1);
      const seen: string[] = [];
      await opened.queue.work(async (j) => {
        seen.push(j.deliveryId);
      }, noDeadLetters);
      await opened.queue.workEvaluations(async (j) => {
        seen.push(j.deliveryId);
      });
      await waitFor(() => seen.length === 4);
      await sleep(200);
      // The one running when the earlier version stopped is carried over; the one without a repository name is left behind.
      expect(seen.sort()).toEqual(['cut-short', 'old-pending', 'retrying', 'waiting']);
      // pg-boss's schema is left as it was.
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pgboss.job`.execute(opened.db);
      expect(Number(rows[0]?.n)).toBe(6);
    });

    if (backend.name === 'pglite') {
      it('at start, the embedded database gives up the leases of a run that stopped mid-job: the job runs again at once', async () => {
        let release: () => void = () => undefined;
        await opened.close();
        opened = await tdb.open({ queue: { leaseSeconds: 60 } });
        await opened.queue.work(() => new Promise<void>((resolve) => (release = resolve)), noDeadLetters);
        await storeDeliveries(opened, [job('stuck')]);
        await waitFor(async () => (await opened.queue.jobState(job('stuck')))?.state === 'running');
        await opened.close(); // the handler never returns: stop gives up after stopTimeoutMs
        release();
        opened = await tdb.open({ queue: { leaseSeconds: 60 } });
        expect(await opened.queue.jobState(job('stuck'))).toMatchObject({ state: 'waiting', attempts: 0 });
        const seen: string[] = [];
        await opened.queue.work(async (j) => {
          seen.push(j.deliveryId);
        }, noDeadLetters);
        await waitFor(() => seen.length === 1, 5_000);
        // The run that stopped mid-job counts as a failed attempt (a job that kills its process ends failed).
        expect(await opened.store.getDelivery('github', 'stuck')).toMatchObject({
          status: 'pending',
          attempts: 1,
          lastError: LEASE_RAN_OUT,
        });
      });
    }

    if (backend.name === 'postgres') {
      it('two queues on one database never run one row twice', async () => {
        const second = await tdb.open();
        others.push(second);
        const runs = new Map<string, number>();
        const by = { first: 0, second: 0 };
        const handler = (who: 'first' | 'second', o: OpenedStore) => async (j: DeliveryJob) => {
          runs.set(j.deliveryId, (runs.get(j.deliveryId) ?? 0) + 1);
          by[who] += 1;
          await sleep(Math.random() * 5);
          await o.store.finishDelivery(j.platform, j.deliveryId, 'done');
        };
        await opened.queue.work(handler('first', opened), noDeadLetters);
        await second.queue.work(handler('second', second), noDeadLetters);
        const ids = Array.from({ length: 300 }, (_, i) => job(`r-${i}`));
        for (let i = 0; i < ids.length; i += 50) await storeDeliveries(i % 100 === 0 ? opened : second, ids.slice(i, i + 50));
        await waitFor(() => runs.size === ids.length, 20_000);
        await sleep(300);
        console.info(`[queue postgres] two queues: ${by.first} + ${by.second} runs of ${ids.length} deliveries`);
        expect([...runs.values()].filter((n) => n !== 1)).toEqual([]);
        expect(by.first).toBeGreaterThan(0);
        expect(by.second).toBeGreaterThan(0);
      });

      it("a running job's lease is renewed (no other queue takes it); a dead worker's lease runs out and its job comes back", async () => {
        await opened.close();
        const short = { leaseSeconds: 1, stopTimeoutMs: 200 };
        opened = await tdb.open({ queue: short });
        const other = await tdb.open({ queue: short });
        others.push(other);
        const firstRuns: string[] = [];
        let release: () => void = () => undefined;
        await opened.queue.work(async (j) => {
          firstRuns.push(j.deliveryId);
          if (j.deliveryId === 'long')
            await sleep(2_500); // longer than the lease: renewed meanwhile
          else await new Promise<void>((resolve) => (release = resolve)); // never ends: its worker "dies"
        }, noDeadLetters);
        await storeDeliveries(opened, [job('long'), job('dies')]);
        await waitFor(() => firstRuns.length === 2);
        const otherRuns: { id: string; at: number }[] = [];
        await other.queue.work(async (j) => {
          otherRuns.push({ id: j.deliveryId, at: Date.now() });
          await other.store.finishDelivery(j.platform, j.deliveryId, 'done');
        }, noDeadLetters);
        await sleep(2_800);
        expect(otherRuns).toEqual([]); // both leases renewed while their handlers run
        const died = Date.now();
        await opened.queue.stop(); // gives up on the handler that never ends: its lease is no longer renewed
        await waitFor(() => otherRuns.length === 1, 10_000);
        release();
        expect(otherRuns[0]!.id).toBe('dies');
        console.info(`[queue postgres] a dead worker's job came back after ${otherRuns[0]!.at - died} ms (lease 1 s)`);
        expect(otherRuns[0]!.at - died).toBeLessThan(5_000);
      });
    }
  });
}
