import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deliveryJobId } from '../../src/storage/queue.ts';
import type { DeliveryJob, GateEvaluationJob } from '../../src/ports/queue.ts';
import type { OpenedStore } from '../../src/storage/open.ts';
import { backends, sleep, waitFor, type TestDatabase } from './backends.ts';

const job = (deliveryId: string): DeliveryJob => ({ platform: 'github', deliveryId });

describe('deliveryJobId', () => {
  it('is a stable, version-5-shaped UUID per (platform, delivery)', () => {
    const id = deliveryJobId(job('abc'));
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deliveryJobId(job('abc'))).toBe(id);
    expect(deliveryJobId({ platform: 'gitlab', deliveryId: 'abc' })).not.toBe(id);
  });
});

for (const backend of backends) {
  describe.skipIf(backend.skip)(`JobQueue on ${backend.name}`, () => {
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

    it('runs a job once, soon after enqueue', async () => {
      const { queue } = opened;
      const runs: DeliveryJob[] = [];
      let latency = -1;
      let enqueuedAt = 0;
      await queue.work(
        async (j) => {
          if (runs.length === 0) latency = Date.now() - enqueuedAt;
          runs.push(j);
        },
        async () => {
          throw new Error('no dead letters expected');
        },
      );
      await sleep(100); // let the worker go idle first
      enqueuedAt = Date.now();
      await queue.enqueue(job('one'));
      await waitFor(() => runs.length === 1);
      await waitFor(async () => (await queue.depth()) === 0);
      await sleep(200);
      expect(runs).toEqual([job('one')]);
      console.info(`[queue ${backend.name}] enqueue → handler start: ${latency} ms`);
      expect(latency).toBeLessThan(2_000); // "soon": a few polls of 50 ms, with room for a loaded machine
    });

    it('retries a failing job, then dead-letters it once', async () => {
      const { queue } = opened;
      let attempts = 0;
      const dead: { job: DeliveryJob; error: string }[] = [];
      await queue.work(
        async () => {
          attempts += 1;
          throw new Error(`attempt ${attempts} failed`);
        },
        async (j, error) => {
          dead.push({ job: j, error });
        },
      );
      await queue.enqueue(job('bad'));
      await waitFor(() => dead.length === 1);
      expect(attempts).toBe(3); // first run + retryLimit 2
      expect(dead).toEqual([{ job: job('bad'), error: 'attempt 3 failed' }]);
      expect(await queue.depth()).toBe(0);
      expect(await queue.jobState(job('bad'))).toMatchObject({ state: 'failed', retryCount: 2 });
      await sleep(200);
      expect(dead).toHaveLength(1);
    });

    it('recovers from a transient failure without dead-lettering', async () => {
      const { queue } = opened;
      let attempts = 0;
      let dead = 0;
      await queue.work(
        async () => {
          attempts += 1;
          if (attempts === 1) throw new Error('flaky');
        },
        async () => {
          dead += 1;
        },
      );
      await queue.enqueue(job('flaky'));
      await waitFor(async () => (await queue.jobState(job('flaky')))?.state === 'completed');
      expect(attempts).toBe(2);
      expect(dead).toBe(0);
    });

    it('runs a job enqueued twice only once, also when re-enqueued after it ran', async () => {
      const { queue } = opened;
      await queue.enqueue(job('dup'));
      await queue.enqueue(job('dup'));
      expect(await queue.depth()).toBe(1);
      let runs = 0;
      await queue.work(
        async () => {
          runs += 1;
        },
        async () => undefined,
      );
      await waitFor(async () => (await queue.depth()) === 0);
      await queue.enqueue(job('dup'));
      await sleep(300);
      expect(runs).toBe(1);
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

    it('gate evaluations: a failing one is retried', async () => {
      const { queue } = opened;
      let attempts = 0;
      await queue.workEvaluations(async () => {
        attempts += 1;
        if (attempts === 1) throw new Error('evidence could not be read in full');
      });
      await queue.schedule(evaluation('d'.repeat(40), 'x'), 50);
      await waitFor(() => attempts === 2, 15_000);
    });

    it('keeps jobs across a close and reopen', async () => {
      await opened.queue.enqueue(job('a'));
      await opened.queue.enqueue(job('b'));
      await opened.close();
      opened = await tdb.open();
      expect(await opened.queue.depth()).toBe(2);
      const seen: string[] = [];
      await opened.queue.work(
        async (j) => {
          seen.push(j.deliveryId);
        },
        async () => undefined,
      );
      await waitFor(() => seen.length === 2);
      expect(seen.sort()).toEqual(['a', 'b']);
    });

    it('stop() is quick when idle and waits for a running handler', async () => {
      const { queue } = opened;
      let finished = false;
      await queue.work(
        async () => {
          await sleep(300);
          finished = true;
        },
        async () => undefined,
      );
      await queue.enqueue(job('slow'));
      await waitFor(async () => (await queue.jobState(job('slow')))?.state === 'active');
      const t = Date.now();
      await queue.stop();
      expect(finished).toBe(true);
      expect(Date.now() - t).toBeLessThan(1500);
      await expect(queue.enqueue(job('late'))).rejects.toThrow('stopped');
    });

    if (backend.name === 'pglite') {
      it('retries a job left active by a process that stopped mid-job', async () => {
        let release: () => void = () => undefined;
        await opened.queue.work(
          () => new Promise<void>((resolve) => (release = resolve)),
          async () => undefined,
        );
        await opened.queue.enqueue(job('stuck'));
        await waitFor(async () => (await opened.queue.jobState(job('stuck')))?.state === 'active');
        await opened.close(); // the handler never returns: stop gives up after stopTimeoutMs
        release();
        opened = await tdb.open();
        expect(await opened.queue.jobState(job('stuck'))).toMatchObject({ state: 'retry', retryCount: 0 });
        const seen: string[] = [];
        await opened.queue.work(
          async (j) => {
            seen.push(j.deliveryId);
          },
          async () => undefined,
        );
        await waitFor(() => seen.length === 1);
      });
    }
  });
}
