/**
 * Gatehouse in a child process, for tests and benchmarks that run several processes or kill one:
 * the configuration from the environment (as `gatehouse start` reads it), plus knobs that only
 * tests need, read here rather than by the product:
 *   GATEHOUSE_CHILD_CLOCK_TICK_MS  clock scheduler period (default the product's 30 s)
 *   GATEHOUSE_CHILD_POLL_MS        job queue and Slack outbox polling (default the product's)
 *   GATEHOUSE_CHILD_THROTTLE=0     GitHub's write spacing off (the load bench)
 *   GATEHOUSE_CHILD_BOT_LOGIN      GitHub bot login known in advance (no GET /app)
 *   GATEHOUSE_CHILD_OUTBOX_LEASE_MS  the Slack outbox's lease (default the product's 2 min)
 * Prints `READY <url> <pid>` once listening; SIGTERM closes it.
 */
import { loadConfig } from '../../src/config/env.ts';
import { startGatehouse } from '../../src/main.ts';

const num = (name: string): number | undefined => {
  const v = process.env[name];
  return v === undefined || v === '' ? undefined : Number(v);
};

const config = loadConfig();
const poll = num('GATEHOUSE_CHILD_POLL_MS');
const lease = num('GATEHOUSE_CHILD_OUTBOX_LEASE_MS');
const gatehouse = await startGatehouse({
  config,
  clockTickMs: num('GATEHOUSE_CHILD_CLOCK_TICK_MS'),
  queue: poll === undefined ? undefined : { pollIntervalMs: poll, retryDelaySeconds: 1, retryBackoff: false },
  slack:
    poll === undefined && lease === undefined
      ? undefined
      : { ...(poll !== undefined ? { pollMs: poll } : {}), ...(lease !== undefined ? { leaseMs: lease } : {}) },
  github: {
    ...(process.env['GATEHOUSE_CHILD_THROTTLE'] === '0' ? { throttle: false } : {}),
    ...(process.env['GATEHOUSE_CHILD_BOT_LOGIN'] ? { botLogin: process.env['GATEHOUSE_CHILD_BOT_LOGIN'] } : {}),
  },
});
process.stdout.write(`READY ${gatehouse.url} ${process.pid}\n`);
process.once('SIGTERM', () => {
  void gatehouse.close().then(() => process.exit(0));
});
