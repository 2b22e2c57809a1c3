/**
 * Event-loop delay over a rolling window, from `perf_hooks.monitorEventLoopDelay`.
 *
 * The monitor's timer is due every `resolutionMs`; each sample is how long it really took, so a
 * loop held for 200 ms gives one sample of about 200 ms + the resolution. The resolution is taken
 * off: a sample is how much later than due the timer ran (0 on an idle loop).
 *
 * prom-client's default `nodejs_eventloop_lag_*` gauges come from the same monitor but keep the
 * resolution in (an idle loop reads about 10 ms) and are reset at every scrape, so two scrapers (or
 * a person with curl) each see a part. Here two monitors run, their resets staggered by half the
 * window: a reading is always of the one reset longest ago, so it covers between half the window
 * and the whole window before it, whoever else reads.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export interface EventLoopDelayOptions {
  /** How often the monitor's timer is due (ms). Default 10. */
  resolutionMs?: number;
  /** Readings cover between half of this and all of it (ms). Default 60,000. */
  windowMs?: number;
}

export interface EventLoopDelayReading {
  /** Seconds; how much later than due the monitor's timer ran. */
  p50: number;
  p99: number;
  max: number;
  /** Timer samples the reading is made of. */
  samples: number;
}

export interface EventLoopDelay {
  read(): EventLoopDelayReading;
  stop(): void;
}

export function watchEventLoopDelay({ resolutionMs = 10, windowMs = 60_000 }: EventLoopDelayOptions = {}): EventLoopDelay {
  const monitors: [IntervalHistogram, IntervalHistogram] = [
    monitorEventLoopDelay({ resolution: resolutionMs }),
    monitorEventLoopDelay({ resolution: resolutionMs }),
  ];
  for (const m of monitors) m.enable();
  /** The monitor reset longest ago (read); the other is reset next. */
  let oldest = 0;
  const rotate = setInterval(
    () => {
      const next = 1 - oldest;
      monitors[oldest]!.reset();
      oldest = next;
    },
    Math.max(1, Math.round(windowMs / 2)),
  );
  rotate.unref();
  const resolutionNs = resolutionMs * 1e6;
  const seconds = (ns: number): number => Math.max(0, ns - resolutionNs) / 1e9;
  return {
    read() {
      const m = monitors[oldest]!;
      // An empty histogram answers its sentinel values (min 9.2e18, max 0): read as no delay.
      if (m.count === 0) return { p50: 0, p99: 0, max: 0, samples: 0 };
      return { p50: seconds(m.percentile(50)), p99: seconds(m.percentile(99)), max: seconds(m.max), samples: m.count };
    },
    stop() {
      clearInterval(rotate);
      for (const m of monitors) m.disable();
    },
  };
}
