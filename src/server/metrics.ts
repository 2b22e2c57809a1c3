/** Prometheus metrics (prom-client), one registry per Gatehouse instance; implements the Metrics port. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Metrics as MetricsPort } from '../ports/metrics.ts';
import { watchEventLoopDelay, type EventLoopDelayOptions } from './event-loop-delay.ts';

export interface Metrics extends MetricsPort {
  registry: Registry;
  deliveries: Counter<'platform' | 'event' | 'outcome'>;
  actionDuration: Histogram<'action' | 'outcome'>;
  httpRequests: Counter<'route' | 'status'>;
  /** Chat messages by outcome: posted, updated, rate_limited, retried, failed. */
  chatMessages: Counter<'outcome'>;
  /** Slack requests by kind (command, action, event) and outcome (answered, refused, invalid…). */
  slackRequests: Counter<'kind' | 'outcome'>;
  /** `/gatehouse …` commands ignored because their account sent more than the policy's `commands.perActor` allows. */
  commandsLimited: Counter<'platform'>;
  /** Reads the queue depth when /metrics is scraped. */
  setDepthSource(read: () => Promise<number>): void;
  /** Reads how many deliveries ended `failed` (the dead letters) when /metrics is scraped. */
  setFailedSource(read: () => Promise<number>): void;
  /** Reads the escalation outbox's notices by status (pending, sent, failed). */
  setOutboxSource(read: () => Promise<Record<'pending' | 'sent' | 'failed', number>>): void;
  /** Reads the jobs parked waiting for a write turn and the jobs handed back to the queue since the start. */
  setPacingSource(read: () => { parked: number; handedBack: number }): void;
  /** Stops the event-loop delay monitors. */
  close(): void;
}

export interface MetricsOptions {
  /** The event-loop delay window and resolution (see src/server/event-loop-delay.ts). */
  eventLoop?: EventLoopDelayOptions;
}

export function createMetrics({ eventLoop }: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'gatehouse_' });
  const loop = watchEventLoopDelay(eventLoop);
  const windowSeconds = (eventLoop?.windowMs ?? 60_000) / 1000;
  new Gauge({
    name: 'gatehouse_event_loop_delay_seconds',
    help: `How much later than due a timer ran on the event loop (the thread that answers HTTP), by quantile (0.5, 0.99) over the last ${windowSeconds / 2}-${windowSeconds} s; above 0.1 requests wait behind processing`,
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      const r = loop.read();
      this.set({ quantile: '0.5' }, r.p50);
      this.set({ quantile: '0.99' }, r.p99);
    },
  });
  new Gauge({
    name: 'gatehouse_event_loop_delay_max_seconds',
    help: `The longest the event loop was held over the last ${windowSeconds / 2}-${windowSeconds} s (one long step shows here before it moves the 0.99 quantile)`,
    registers: [registry],
    collect() {
      this.set(loop.read().max);
    },
  });
  let readDepth: () => Promise<number> = async () => 0;
  new Gauge({
    name: 'gatehouse_queue_depth',
    help: 'Deliveries waiting or being processed',
    registers: [registry],
    async collect() {
      try {
        this.set(await readDepth());
      } catch {
        this.set(-1);
      }
    },
  });
  let readOutbox: () => Promise<Record<'pending' | 'sent' | 'failed', number>> = async () => ({ pending: 0, sent: 0, failed: 0 });
  new Gauge({
    name: 'gatehouse_chat_outbox',
    help: 'Escalation notices in the outbox by status: pending (waiting for Slack or a retry), sent, failed (refused by Slack for good)',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      try {
        for (const [status, n] of Object.entries(await readOutbox())) this.set({ status }, n);
      } catch {
        this.set({ status: 'pending' }, -1);
      }
    },
  });
  let readPacing: () => { parked: number; handedBack: number } = () => ({ parked: 0, handedBack: 0 });
  new Gauge({
    name: 'gatehouse_jobs_parked',
    help: 'Jobs waiting for their write turn (or a Retry-After) without holding a worker slot; resumed when due',
    registers: [registry],
    collect() {
      this.set(readPacing().parked);
    },
  });
  let handedBack = 0;
  new Counter({
    name: 'gatehouse_jobs_handed_back_total',
    help: 'Jobs handed back to the queue because their write turn was far away (run again then; not failed attempts)',
    registers: [registry],
    collect() {
      const now = readPacing().handedBack;
      if (now > handedBack) this.inc(now - handedBack);
      handedBack = now;
    },
  });
  let readFailed: () => Promise<number> = async () => 0;
  new Gauge({
    name: 'gatehouse_deliveries_failed',
    help: 'Deliveries that failed after every retry and wait in the database (gatehouse deliveries --failed lists them, gatehouse deliveries retry replays one); -1 when the database cannot be read',
    registers: [registry],
    async collect() {
      try {
        this.set(await readFailed());
      } catch {
        this.set(-1);
      }
    },
  });
  return {
    registry,
    deliveries: new Counter({
      name: 'gatehouse_deliveries_total',
      help: 'Webhook deliveries by platform, event and outcome (accepted, duplicate, done, ignored, invalid, failed, retried)',
      labelNames: ['platform', 'event', 'outcome'],
      registers: [registry],
    }),
    actionDuration: new Histogram({
      name: 'gatehouse_action_duration_seconds',
      help: 'Time to carry out one planned action',
      labelNames: ['action', 'outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: 'gatehouse_http_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'],
      registers: [registry],
    }),
    chatMessages: new Counter({
      name: 'gatehouse_chat_messages_total',
      help: 'Escalation notices sent to chat, by outcome (posted, updated, found after an unsettled post, rate_limited, retried, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    slackRequests: new Counter({
      name: 'gatehouse_slack_requests_total',
      help: 'Slack requests by kind (command, action, event) and outcome',
      labelNames: ['kind', 'outcome'],
      registers: [registry],
    }),
    commandsLimited: new Counter({
      name: 'gatehouse_commands_limited_total',
      help: 'Commands (/gatehouse … comments) ignored without any write because their account sent more than commands.perActor allows in its window',
      labelNames: ['platform'],
      registers: [registry],
    }),
    setDepthSource(read) {
      readDepth = read;
    },
    setPacingSource(read) {
      readPacing = read;
    },
    setOutboxSource(read) {
      readOutbox = read;
    },
    setFailedSource(read) {
      readFailed = read;
    },
    close() {
      loop.stop();
    },
  };
}
