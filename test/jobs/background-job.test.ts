/** The background-job mechanism clocks, notices, digests and reminders share: runs, wake-ups, no overlap. */
import { describe, expect, it } from 'vitest';
import { BackgroundJob } from '../../src/jobs/background-job.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function counting(runMs = 0) {
  const state = { runs: 0, running: 0, overlapped: false };
  const job = new BackgroundJob({
    run: async () => {
      state.running++;
      if (state.running > 1) state.overlapped = true;
      state.runs++;
      await sleep(runMs);
      state.running--;
      return state.runs;
    },
    onError: (err) => {
      throw err;
    },
  });
  return { job, state };
}

describe('a background job', () => {
  it('runs at start, then when woken in `ms`, before its next interval', async () => {
    const { job, state } = counting();
    job.start(60_000);
    try {
      await sleep(50);
      expect(state.runs).toBe(1);
      job.wakeIn(100);
      await sleep(400);
      expect(state.runs).toBe(2);
    } finally {
      await job.stop();
    }
  });

  it('ignores a wake-up beyond its next interval, however far (a month: no timer overflow firing at once)', async () => {
    const { job, state } = counting();
    job.start(60_000);
    try {
      await sleep(50);
      job.wakeIn(30 * 86_400_000);
      job.wakeIn(90_000);
      await sleep(300);
      expect(state.runs).toBe(1);
    } finally {
      await job.stop();
    }
  });

  it('never runs twice at once: a wake during a run runs once more right after it', async () => {
    const { job, state } = counting(100);
    const first = job.run();
    job.wake();
    job.wake();
    expect(await job.run()).toBe(1); // a call during a run shares it
    await first;
    await sleep(250);
    expect(state.runs).toBe(2);
    expect(state.overlapped).toBe(false);
  });

  it('gives up a dead run’s leases once, before its first run', async () => {
    const released: number[] = [];
    let leases = 3;
    const job = new BackgroundJob({
      run: async () => leases,
      onError: () => undefined,
      releaseLeases: async () => {
        const n = leases;
        leases = 0;
        return n;
      },
      onReleased: (n) => released.push(n),
    });
    expect(await job.run()).toBe(0);
    expect(await job.run()).toBe(0);
    expect(released).toEqual([3]);
  });

  it('does nothing once stopped', async () => {
    const { job, state } = counting();
    job.start(20);
    await sleep(10);
    await job.stop();
    const runs = state.runs;
    job.wake();
    job.wakeIn(0);
    await sleep(100);
    expect(state.runs).toBe(runs);
  });
});
