/**
 * Processing never starves the HTTP server. Gatehouse runs in a child process (so the measuring
 * side here is never held by the server's own work), with GitHub faked on loopback. Twenty intakes
 * and twenty pull requests whose 64 KB bodies hold the shapes that cost the parsers and the planner
 * most are delivered at once; while they are processed, `/healthz` is asked every 20 ms and valid
 * intakes keep arriving. Health checks answer within 250 ms, valid deliveries are acknowledged
 * within a second, and the event loop's 0.99 quantile in /metrics stays under 100 ms (the limits
 * below say how much a shared machine is allowed).
 */
import { availableParallelism, loadavg } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { intakeBody } from '../builders/intake.ts';
import { startChildGatehouse, type ChildGatehouse } from '../support/child-gatehouse.ts';
import { startFakeUpstreams, type FakeUpstreams } from '../support/fake-upstreams.ts';
import { githubDelivery, issuesPayload, pullRequestPayload, testPrivateKey } from '../support/github.ts';
import { HOSTILE_SHAPES } from '../support/text-parsers.ts';
import { freshDataDir, removeDataDir } from '../storage/fixture.ts';

const SECRET = 'responsive-secret';
/** GitHub stores at most this many characters of a body. */
const GITHUB_BODY = 65_536;
/**
 * What an operator is promised, loosened for a shared two-core CI machine where the operating
 * system, not Gatehouse, makes a few requests wait: 95 % of health checks within 250 ms (none over
 * 2 s), valid deliveries acknowledged within a second at the median (the acknowledgement waits for
 * the disk; none over 3 s), and the event loop's 0.99 quantile under the 100 ms alert level, or
 * under 250 ms on a machine with more than two runnable processes per core. A step holding the
 * loop 300 ms per delivery fails them (checked by hand on a loaded machine: /healthz p95 330-373 ms, loop p99 357-435 ms).
 */
const HEALTHZ_P95_MS = 250;
const HEALTHZ_WORST_MS = 2_000;
const ACK_MEDIAN_MS = 1_000;
const ACK_WORST_MS = 3_000;
const LOOP_P99_ALERT_S = 0.1;
const LOOP_P99_LOADED_S = 0.25;
/** Valid intakes sent while the hostile ones are processed, one every 250 ms. */
const VALID = 20;

/** The shapes that cost intake parsing and planning most (bench/parsers.ts, bench/loop-hold.ts). */
const WORST = [
  'blank lines',
  'CRLF blank lines',
  'decide command, blank lines',
  'heading, spaces, x',
  'HTML comment openings',
  'checkboxes, one a line',
  'headings, one a line',
  'fences and headings',
  'block starts, many names',
  'heading, space-hash runs',
].map((name) => {
  const shape = HOSTILE_SHAPES[name];
  if (shape === undefined) throw new Error(`no hostile shape "${name}"`);
  return shape;
});

/** An intake (complete or not) followed by a hostile shape, cut to what GitHub stores. */
const hostileBody = (i: number): string =>
  `${i % 2 === 0 ? intakeBody({ service: null }) : intakeBody()}\n\n${WORST[i % WORST.length]!}`.slice(0, GITHUB_BODY);

function pullRequest(number: number, body: string): Record<string, unknown> {
  return pullRequestPayload({ body, number, labels: ['intake'] });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One sample of a metric in the Prometheus text (0 when absent). */
const sample = (text: string, name: string, labels = ''): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
};
/** Deliveries of this platform the worker has finished, whatever the outcome. */
const finished = (text: string): number =>
  text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('gatehouse_deliveries_total{') &&
        /platform="github"/.test(l) &&
        /outcome="(done|ignored|failed|invalid|refused)"/.test(l),
    )
    .reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);

let child: ChildGatehouse | null = null;
let fake: FakeUpstreams | null = null;
let dataDir: string | null = null;
afterEach(async () => {
  await child?.stop();
  child = null;
  await fake?.close();
  fake = null;
  if (dataDir) await removeDataDir(dataDir);
  dataDir = null;
}, 30_000);

describe('the HTTP server while hostile bodies are processed', () => {
  it('answers /healthz and acknowledges valid deliveries in time, and the event loop p99 in /metrics stays low', async () => {
    fake = await startFakeUpstreams();
    dataDir = await freshDataDir();
    child = await startChildGatehouse({
      GATEHOUSE_DATA_DIR: dataDir,
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: fake.host,
      GHE_PROTOCOL: 'http',
      LOG_LEVEL: 'warn',
      GATEHOUSE_CHILD_POLL_MS: '200',
      GATEHOUSE_CHILD_CLOCK_TICK_MS: '0',
      GATEHOUSE_CHILD_BOT_LOGIN: 'gatehouse[bot]',
      GATEHOUSE_CHILD_THROTTLE: '0',
    });
    const url = child.url;
    const post = async (name: string, payload: unknown): Promise<number> => {
      const d = githubDelivery({ name, secret: SECRET, payload });
      const started = performance.now();
      const res = await fetch(`${url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      return performance.now() - started;
    };

    const hostile = [
      ...Array.from(
        { length: 20 },
        (_, i) => ['issues', issuesPayload({ body: hostileBody(i), number: 1 + i, labels: ['intake'] })] as const,
      ),
      ...Array.from({ length: 20 }, (_, i) => ['pull_request', pullRequest(101 + i, hostileBody(i + 1))] as const),
    ];
    const health: number[] = [];
    const acks: number[] = [];
    let max = 0;
    let done = 0;
    let polling = true;
    const healthLoop = (async () => {
      while (polling) {
        const started = performance.now();
        const res = await fetch(`${url}/healthz`);
        await res.arrayBuffer();
        expect(res.status).toBe(200);
        health.push(performance.now() - started);
        await sleep(20);
      }
    })();
    const validLoop = (async () => {
      for (let n = 0; polling && n < VALID; n++) {
        acks.push(await post('issues', issuesPayload({ body: intakeBody(), number: 500 + n, labels: ['intake'] })));
        await sleep(250);
      }
    })();
    await Promise.all(hostile.map(([name, payload]) => post(name, payload)));
    const until = Date.now() + 120_000;
    while (Date.now() < until) {
      const text = await (await fetch(`${url}/metrics`)).text();
      max = Math.max(max, sample(text, 'gatehouse_event_loop_delay_max_seconds'));
      done = finished(text);
      if (done >= hostile.length + acks.length) break;
      await sleep(500);
    }
    polling = false;
    await Promise.all([healthLoop, validLoop]);
    const text = await (await fetch(`${url}/metrics`)).text();
    // Read once, afterwards: the window then holds the whole run (thousands of samples), where an
    // early scrape's few samples would make the first deliveries' warm-up its 0.99 quantile.
    const p99 = sample(text, 'gatehouse_event_loop_delay_seconds', '{quantile="0.99"}');
    max = Math.max(max, sample(text, 'gatehouse_event_loop_delay_max_seconds'));

    const worst = (xs: number[]): number => Math.round(Math.max(...xs));
    const quantile = (xs: number[], q: number): number =>
      Math.round([...xs].sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor(xs.length * q))]!);
    const loadPerCore = loadavg()[0]! / availableParallelism();
    console.info(
      `[responsive] ${done} deliveries processed; /healthz ${health.length} checks, p50 ${quantile(health, 0.5)} ms, p95 ${quantile(health, 0.95)} ms, worst ${worst(health)} ms; ` +
        `valid acks ${acks.length}, median ${quantile(acks, 0.5)} ms, worst ${worst(acks)} ms; loop delay p99 ${(p99 * 1000).toFixed(1)} ms, max ${(max * 1000).toFixed(1)} ms; load ${loadPerCore.toFixed(1)} per core`,
    );
    // Everything was processed (the hostile bodies were read, commented on, labelled).
    expect(done).toBeGreaterThanOrEqual(hostile.length);
    expect(fake.githubComments.size).toBeGreaterThanOrEqual(hostile.length);
    expect(health.length).toBeGreaterThan(20);
    expect(quantile(health, 0.95)).toBeLessThan(HEALTHZ_P95_MS);
    expect(worst(health)).toBeLessThan(HEALTHZ_WORST_MS);
    expect(acks.length).toBeGreaterThan(2);
    expect(quantile(acks, 0.5)).toBeLessThan(ACK_MEDIAN_MS);
    expect(worst(acks)).toBeLessThan(ACK_WORST_MS);
    expect(p99).toBeLessThan(loadPerCore > 2 ? LOOP_P99_LOADED_S : LOOP_P99_ALERT_S);
  }, 180_000);
});
