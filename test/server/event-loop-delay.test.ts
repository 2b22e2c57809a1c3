/**
 * `gatehouse_event_loop_delay_seconds` and `gatehouse_event_loop_delay_max_seconds`: read from
 * perf_hooks' event-loop delay monitor, in /metrics, moved by a loop held for 200 ms, and forgotten
 * once the window has passed (not reset by a scrape).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../src/server/metrics.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const holdLoop = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy: nothing else runs on this thread meanwhile
  }
};

/** The samples of one metric in the Prometheus text, by their label string ('' without labels). */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}(\\{[^}]*\\})? (\\S+)$`).exec(line);
    if (m) out.set(m[1] ?? '', Number(m[2]));
  }
  return out;
}

let metrics: Metrics | null = null;
afterEach(() => {
  metrics?.close();
  metrics = null;
});

describe('event-loop delay in /metrics', () => {
  it('is exported with its quantiles and max, near 0 on an idle loop', async () => {
    metrics = createMetrics();
    await sleep(300);
    const text = await metrics.registry.metrics();
    expect(text).toContain('# TYPE gatehouse_event_loop_delay_seconds gauge');
    expect(text).toContain('# HELP gatehouse_event_loop_delay_max_seconds');
    const q = samples(text, 'gatehouse_event_loop_delay_seconds');
    expect([...q.keys()].sort()).toEqual(['{quantile="0.5"}', '{quantile="0.99"}']);
    // The monitor's own 10 ms period is not a delay: prom-client's default gauge, from the same
    // kind of monitor, keeps it in.
    const withPeriod = samples(text, 'gatehouse_nodejs_eventloop_lag_p50_seconds').get('')!;
    expect(withPeriod - q.get('{quantile="0.5"}')!).toBeGreaterThan(0.008);
    expect(samples(text, 'gatehouse_event_loop_delay_max_seconds').get('')).toBeGreaterThanOrEqual(0);
  });

  it('moves when the loop is held for 200 ms, and a second scrape still sees it', async () => {
    metrics = createMetrics();
    await sleep(50);
    holdLoop(200);
    await sleep(30); // the monitor's timer runs once the loop is free
    for (let scrape = 0; scrape < 2; scrape++) {
      const text = await metrics.registry.metrics();
      expect(samples(text, 'gatehouse_event_loop_delay_max_seconds').get('')).toBeGreaterThanOrEqual(0.19);
      expect(samples(text, 'gatehouse_event_loop_delay_max_seconds').get('')).toBeLessThan(1);
    }
  });

  it('moves the 0.99 quantile when the loop is held often', async () => {
    metrics = createMetrics();
    for (let i = 0; i < 5; i++) {
      holdLoop(200);
      await sleep(15);
    }
    const q = samples(await metrics.registry.metrics(), 'gatehouse_event_loop_delay_seconds');
    expect(q.get('{quantile="0.99"}')).toBeGreaterThanOrEqual(0.19);
  });

  it('forgets a held loop once the window has passed', async () => {
    metrics = createMetrics({ eventLoop: { windowMs: 400 } });
    await sleep(20);
    holdLoop(200);
    await sleep(30);
    expect(samples(await metrics.registry.metrics(), 'gatehouse_event_loop_delay_max_seconds').get('')).toBeGreaterThanOrEqual(0.19);
    await sleep(900);
    // What is left is the machine's own jitter, well under the 200 ms hold.
    expect(samples(await metrics.registry.metrics(), 'gatehouse_event_loop_delay_max_seconds').get('')).toBeLessThan(0.15);
  });
});
