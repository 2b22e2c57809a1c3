/**
 * Preloaded into a Gatehouse process by bench/load's hostile mix (`node --import tsx --import
 * ./bench/loop-probe.mjs …`): measures the process's own event-loop delay with
 * perf_hooks.monitorEventLoopDelay and writes it, every 500 ms, as JSON to
 * BENCH_LOOP_PROBE_FILE: `{ since, at, count, p50Ms, p99Ms, maxMs, windows }` since the last
 * reset, `windows` holding `[time, worst delay in ms]` of each write's interval (the last 1,200).
 * The bench resets it by creating `<BENCH_LOOP_PROBE_FILE>.reset` (the probe deletes it), so that
 * start-up does not count. Without BENCH_LOOP_PROBE_FILE, or in a worker thread, it does nothing.
 */
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const file = process.env['BENCH_LOOP_PROBE_FILE'];
// Worker threads (the embedded database runs in one) load `--import` modules too: only the main
// thread, which serves HTTP, is measured.
if (file && isMainThread) {
  const total = monitorEventLoopDelay({ resolution: 10 });
  const window = monitorEventLoopDelay({ resolution: 10 });
  total.enable();
  window.enable();
  let since = Date.now();
  let windows = [];
  const ms = (ns) => (Number.isFinite(ns) ? ns / 1e6 : 0);
  let last = performance.now();
  setInterval(() => {
    // A delay that spans a reset of `window` is lost to it: this callback's own lateness catches it.
    const late = performance.now() - last - 500;
    last = performance.now();
    if (existsSync(`${file}.reset`)) {
      rmSync(`${file}.reset`, { force: true });
      total.reset();
      since = Date.now();
      windows = [];
    } else {
      windows.push([Date.now(), Math.round(Math.max(ms(window.max), late))]);
      if (windows.length > 1200) windows.shift();
    }
    window.reset();
    const summary = {
      since,
      at: Date.now(),
      count: total.count,
      p50Ms: ms(total.percentile(50)),
      p99Ms: ms(total.percentile(99)),
      maxMs: ms(total.max),
      windows,
    };
    writeFileSync(file, JSON.stringify(summary));
  }, 500).unref();
}
