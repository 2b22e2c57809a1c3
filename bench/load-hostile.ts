/**
 * bench/load's hostile mix (`npx tsx bench/load.ts --hostile`): one Gatehouse process on the
 * embedded database, its stdout and stderr written to a file, while for `--hostile-seconds`:
 *
 * - valid deliveries arrive at a steady `--valid-rate` (GitHub issue intakes, GitLab issue
 *   intakes and Slack `/gatehouse status` commands, 3:1:1), each one new and correctly signed;
 * - pathological descriptions (`--shape-rate` per second): 64 KB bodies of the worst shapes for
 *   the parsers (a heading, a run of spaces, `x`; `<!--` floods; `- [ ]` checkboxes and `###`
 *   headings by the thousand; one long line; …) on GitHub issues and pull requests and GitLab
 *   issues and merge requests, correctly signed, each opened and then edited again and again;
 * - `--waves` waves of 12 concurrent 20 MB POSTs with a wrong X-Hub-Signature-256 to the GitHub
 *   route, and, between them, 30 MB bodies (over the 25 MB limit; announced by content-length, and
 *   chunked) that must get 413;
 * - refused commands (`--command-rate` per second): `/gatehouse decide …` and
 *   `/gatehouse threat-decision …` comments from an account the policy does not name.
 *
 * Reports the event-loop delay (gatehouse_event_loop_delay_seconds from /metrics when the server
 * exposes it; the server's own perf_hooks.monitorEventLoopDelay, from bench/loop-probe.mjs
 * preloaded into it; prom-client's nodejs_eventloop_lag_p99 per scrape; /healthz latency sampled
 * 10 times a second), the valid requests' acknowledgement p50/p99, the answers the hostile requests
 * got (per status code; a connection reset or EPIPE before an answer is `reset`), the server's peak
 * RSS (VmHWM), its log growth in bytes (with the messages that took most of it) and whether the
 * worker drained its queue afterwards (at most `--drain` seconds). Targets are printed beside the
 * figures. Loopback only; GitHub's, GitLab's and Slack's APIs faked (test/support/fake-upstreams.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import nock from 'nock';
import { answers, gitlabBody, intakeBody } from '../test/builders/intake.ts';
import { startFakeUpstreams, type FakeUpstreams } from '../test/support/fake-upstreams.ts';
import { githubDelivery, githubExample, issuesPayload, testPrivateKey } from '../test/support/github.ts';
import { gitlabDelivery, gitlabFixture, issueHook } from '../test/support/gitlab.ts';
import { slackHeaders, slashCommandBody } from '../test/support/slack.ts';

// test/support/gitlab.ts loads nock, which intercepts this process's http and fetch on import:
// the load generator must not pay for (or buffer 20 MB bodies in) an interceptor.
nock.restore();

export interface HostileOptions {
  seconds: number;
  validRate: number;
  shapeRate: number;
  commandRate: number;
  waves: number;
  drainSeconds: number;
  nodeFlags: string[];
  keepLog: boolean;
}

const GH_SECRET = 'bench-github-secret';
const GL_SECRET = 'bench-gitlab-secret';
const SLACK_SECRET = 'bench-slack-secret';
const REPO = 'Codertocat/Hello-World';
const CHILD = fileURLToPath(new URL('../test/support/gatehouse-child.ts', import.meta.url));
const PROBE = fileURLToPath(new URL('./loop-probe.mjs', import.meta.url));
const MAX_SHAPE = 64 * 1024;
const BAD_SIGNATURE_CONCURRENCY = 12;
const BAD_SIGNATURE_BYTES = 20 * 1024 * 1024;
const OVERSIZE_BYTES = 30 * 1024 * 1024;

const TARGET = { loopP99Ms: 100, ackP99Ms: 1000, rssMB: 700, logBytes: 1024 * 1024 };

// --- The server, its log in a file ---------------------------------------------------------------

interface Server {
  child: ChildProcess;
  pid: number;
  url: string;
  logFile: string;
  probeFile: string;
  stop(): Promise<void>;
}

/** Gatehouse in a child process whose stdout and stderr go to `logFile`; resolves once it listens. */
async function startServer(env: Record<string, string>, dir: string, nodeFlags: string[]): Promise<Server> {
  const logFile = join(dir, 'gatehouse.log');
  const probeFile = join(dir, 'loop-probe.json');
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', '--import', PROBE, CHILD], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', ...env, BENCH_LOOP_PROBE_FILE: probeFile },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  let exited: string | null = null;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exited = String(signal ?? code);
      resolve();
    }),
  );
  const until = Date.now() + 60_000;
  for (;;) {
    const m = /^READY (\S+) (\d+)$/m.exec(readFileSync(logFile, 'utf8').slice(0, 1_000_000));
    if (m) {
      return {
        child,
        pid: Number(m[2]),
        url: m[1]!,
        logFile,
        probeFile,
        stop: async () => {
          if (exited === null) child.kill('SIGTERM');
          await Promise.race([gone, sleep(10_000)]);
          if (exited === null) child.kill('SIGKILL');
          await gone;
        },
      };
    }
    if (exited !== null || Date.now() > until) {
      if (exited === null) child.kill('SIGKILL');
      throw new Error(`gatehouse did not start (${exited ?? 'no READY within 60 s'}):\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    }
    await sleep(100);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN;
  }
}

// --- Requests ------------------------------------------------------------------------------------

interface Outcome {
  /** The status code, `reset` (ECONNRESET/EPIPE before an answer), `timeout` or `error <code>`. */
  answer: string;
  ms: number;
  /** When it was sent (performance.now()). */
  sent: number;
}

/**
 * One POST on its own connection (node:http, no pool): a large body, or one the server may refuse
 * before reading it. `chunked`: sent without content-length, in 1 MiB chunks.
 */
function rawPost(base: string, path: string, headers: Record<string, string>, body: Buffer, { chunked = false } = {}): Promise<Outcome> {
  const url = new URL(path, base);
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: string): void => {
      if (settled) return;
      settled = true;
      resolve({ answer, ms: performance.now() - started, sent: started });
    };
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: 'POST',
      agent: false,
      headers: chunked ? { ...headers, 'transfer-encoding': 'chunked' } : { ...headers, 'content-length': String(body.length) },
    });
    req.on('response', (res) => {
      const status = String(res.statusCode);
      res.resume();
      res.on('end', () => done(status));
      res.on('error', () => done(status));
      res.on('close', () => done(status));
    });
    req.on('error', (err: NodeJS.ErrnoException) =>
      done(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : `error ${err.code ?? err.message}`),
    );
    req.setTimeout(120_000, () => {
      done('timeout');
      req.destroy();
    });
    if (!chunked) {
      req.end(body);
      return;
    }
    const CHUNK = 1024 * 1024;
    let at = 0;
    const pump = (): void => {
      while (at < body.length && !req.destroyed) {
        const more = req.write(body.subarray(at, at + CHUNK));
        at += CHUNK;
        if (!more) return void req.once('drain', pump);
      }
      if (!req.destroyed) req.end();
    };
    pump();
  });
}

/** A small POST through the shared keep-alive pool (fetch). */
async function post(base: string, path: string, headers: Record<string, string>, body: string): Promise<Outcome> {
  const started = performance.now();
  try {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers, body, signal: AbortSignal.timeout(60_000) });
    await res.arrayBuffer();
    return { answer: String(res.status), ms: performance.now() - started, sent: started };
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code ?? (err instanceof Error ? err.name : String(err));
    return {
      answer: code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET' ? 'reset' : `error ${code}`,
      ms: performance.now() - started,
      sent: started,
    };
  }
}

/** `count` calls of `send(i)`, open loop, evenly spaced at `rate` per second from now. */
async function openLoop<T>(rate: number, seconds: number, send: (i: number) => Promise<T>): Promise<T[]> {
  const count = Math.floor(rate * seconds);
  const start = performance.now();
  const inflight: Promise<T>[] = [];
  for (let i = 0; i < count; i++) {
    const wait = start + (i * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    inflight.push(send(i));
  }
  return Promise.all(inflight);
}

// --- Traffic -------------------------------------------------------------------------------------

interface Request {
  path: string;
  headers: Record<string, string>;
  body: string;
}

const GITHUB_PATH = '/api/github/webhooks';
const GITLAB_PATH = '/api/gitlab/webhooks';

/** Valid request `i`: a new GitHub issue intake (3 of 5), a GitLab issue intake, a Slack status command. */
function validRequest(i: number, fake: FakeUpstreams): Request {
  const number = 100_000 + i;
  switch (i % 5) {
    case 3: {
      const d = gitlabDelivery({
        event: 'Issue Hook',
        payload: issueHook({ description: gitlabBody({ answers: answers({}) }), iid: number }),
        token: GL_SECRET,
      });
      return { path: GITLAB_PATH, headers: d.headers, body: d.body };
    }
    case 4: {
      const form = new URLSearchParams(
        slashCommandBody({ text: `status https://${fake.host}/${REPO}/issues/${number - 1}`, triggerId: `h.${i}` }),
      );
      form.set('response_url', `${fake.url}/slack-response/hostile/${i}`);
      const body = form.toString();
      return { path: '/slack/events', headers: slackHeaders(body, { secret: SLACK_SECRET }), body };
    }
    default: {
      const d = githubDelivery({ name: 'issues', secret: GH_SECRET, payload: issuesPayload({ body: intakeBody({}), number }) });
      return { path: GITHUB_PATH, headers: d.headers, body: d.body };
    }
  }
}

/** `prefix`, `unit` repeated, `suffix`: exactly `size` characters. */
const fill = (prefix: string, unit: string, suffix: string, size = MAX_SHAPE): string =>
  (prefix + unit.repeat(Math.ceil(Math.max(0, size - prefix.length - suffix.length) / unit.length))).slice(0, size - suffix.length) +
  suffix;

/** The worst shapes for the parsers of descriptions, 64 KB each (one trailing run of 8 characters varies per edit). */
const SHAPES: Record<string, (edit: string) => string> = {
  'heading, spaces, x': (e) => fill('### a', ' ', `x${e}`),
  'HTML comment openings': (e) => fill('', '<!--', `x${e}`),
  checkboxes: (e) => fill('### Identity or access changes\n', '- [ ] a\n', e),
  'checkboxes and headings': (e) => fill('', '- [ ] a\n### b\n', e),
  'headings with hash runs': (e) => fill('', '### a   #  x\n', e),
  'block starts without an end': (e) => fill('', '<!-- gatehouse:planning:start -->', e),
  'one long line': (e) => fill('status ', 'x', e),
  'heading, tabs, U+2028': (e) => fill('## Rollback', '\t', `\u2028x${e}`),
};
const SHAPE_NAMES = Object.keys(SHAPES);
const FORGE_KINDS = ['github issue', 'github pull request', 'gitlab issue', 'gitlab merge request'] as const;

/** Pathological description `j`: item j mod (shapes × kinds) is opened on its first turn, then edited. */
function shapeRequest(j: number): Request {
  const items = SHAPE_NAMES.length * FORGE_KINDS.length;
  const item = j % items;
  const edit = Math.floor(j / items);
  const shape = SHAPE_NAMES[item % SHAPE_NAMES.length]!;
  const kind = FORGE_KINDS[Math.floor(item / SHAPE_NAMES.length)]!;
  const body = SHAPES[shape]!(String(edit).padStart(8, '0'));
  const number = 200_000 + item;
  const updatedAt = new Date(Date.UTC(2026, 0, 1) + j * 1000).toISOString();
  if (kind === 'github issue') {
    const payload = issuesPayload({ action: edit === 0 ? 'opened' : 'edited', body, number });
    if (edit > 0) payload['changes'] = { body: { from: 'before' } };
    const d = githubDelivery({ name: 'issues', secret: GH_SECRET, payload });
    return { path: GITHUB_PATH, headers: d.headers, body: d.body };
  }
  if (kind === 'github pull request') {
    const payload = githubExample({ name: 'pull_request', action: 'opened' });
    payload['action'] = edit === 0 ? 'opened' : 'edited';
    if (edit > 0) payload['changes'] = { body: { from: 'before' } };
    payload['number'] = number;
    Object.assign(payload['pull_request'] as object, { body, number, state: 'open', updated_at: updatedAt });
    payload['installation'] = { id: 1, node_id: 'x' };
    const d = githubDelivery({ name: 'pull_request', secret: GH_SECRET, payload });
    return { path: GITHUB_PATH, headers: d.headers, body: d.body };
  }
  const payload =
    kind === 'gitlab issue'
      ? issueHook({ action: edit === 0 ? 'open' : 'update', description: body, iid: number })
      : gitlabFixture('merge-request-hook');
  const attrs = payload['object_attributes'] as Record<string, unknown>;
  if (kind === 'gitlab merge request')
    Object.assign(attrs, { iid: number, action: edit === 0 ? 'open' : 'update', state: 'opened', description: body });
  attrs['updated_at'] = updatedAt;
  const d = gitlabDelivery({ event: kind === 'gitlab issue' ? 'Issue Hook' : 'Merge Request Hook', payload, token: GL_SECRET });
  return { path: GITLAB_PATH, headers: d.headers, body: d.body };
}

/** Refused command `k`: a decide or threat-decision comment by an account the policy does not name, on one of five issues. */
function commandRequest(k: number): Request {
  const payload = githubExample({ name: 'issue_comment', action: 'created' });
  const issue = payload['issue'] as Record<string, unknown>;
  delete issue['pull_request'];
  Object.assign(issue, { number: 300_000 + (k % 5), state: 'open', body: intakeBody({}) });
  const mallory = { login: 'mallory', id: 666, type: 'User' };
  payload['comment'] = {
    ...(payload['comment'] as object),
    id: 400_000 + k,
    body: k % 2 === 0 ? `/gatehouse decide approve ${k}` : `/gatehouse threat-decision we accept the risk ${k}`,
    user: mallory,
  };
  payload['sender'] = { ...(payload['sender'] as object), ...mallory };
  payload['installation'] = { id: 1, node_id: 'x' };
  const d = githubDelivery({ name: 'issue_comment', secret: GH_SECRET, payload });
  return { path: GITHUB_PATH, headers: d.headers, body: d.body };
}

/** A JSON object of exactly `size` bytes: it passes every check before the signature's. */
function bigJson(size: number): Buffer {
  const head = '{"action":"opened","issue":{"number":1,"body":"';
  const tail = '"},"installation":{"id":1}}';
  const buf = Buffer.alloc(size, 'a');
  buf.write(head, 0, 'latin1');
  buf.write(tail, size - tail.length, 'latin1');
  return buf;
}

const badSignatureHeaders = (): Record<string, string> => ({
  'content-type': 'application/json',
  'x-github-event': 'issues',
  'x-github-delivery': randomUUID(),
  'x-hub-signature-256': `sha256=${'0'.repeat(64)}`,
  'user-agent': 'GitHub-Hookshot/bench',
});

// --- Measurements --------------------------------------------------------------------------------

const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const ms = (v: number): string => (Number.isFinite(v) ? `${v.toFixed(1)} ms` : 'n/a');
const mib = (kib: number): string => (Number.isFinite(kib) ? `${(kib / 1024).toFixed(0)} MiB` : 'n/a');
const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');

function countAnswers(outcomes: Outcome[]): string {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.answer, (counts.get(o.answer) ?? 0) + 1);
  return (
    [...counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ') || 'none sent'
  );
}

function latencySummary(outcomes: Outcome[]): string {
  const sorted = outcomes.map((o) => o.ms).sort((a, b) => a - b);
  return `p50 ${ms(quantile(sorted, 0.5))}, p99 ${ms(quantile(sorted, 0.99))}, max ${ms(sorted.at(-1) ?? NaN)}`;
}

async function metricsText(url: string): Promise<string | null> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    return res.ok ? await res.text() : null;
  } catch {
    return null;
  }
}

/** Value of every sample of `name` (exact metric name), with its label text. */
function samples(text: string, name: string): { labels: string; value: number }[] {
  const out: { labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const rest = line.slice(name.length);
    const m = /^(\{[^}]*\})?\s+(\S+)/.exec(rest);
    if (m) out.push({ labels: m[1] ?? '', value: Number(m[2]) });
  }
  return out;
}

const LOOP_METRIC = 'gatehouse_event_loop_delay_seconds';

/**
 * The p99 of gatehouse_event_loop_delay_seconds over the run, in ms, whatever its type: a
 * histogram (from the buckets' growth between the first and last scrape), a summary (its 0.99
 * quantile, worst scrape) or a gauge labelled p99 / unlabelled (worst scrape). null when absent.
 */
export function loopMetricP99(first: string, scrapes: string[]): { p99Ms: number; how: string } | null {
  const last = scrapes.at(-1) ?? first;
  const buckets = (text: string): Map<number, number> =>
    new Map(samples(text, `${LOOP_METRIC}_bucket`).map((s) => [Number(/le="([^"]+)"/.exec(s.labels)?.[1] ?? NaN), s.value]));
  const b1 = buckets(last);
  if (b1.size > 0) {
    const b0 = buckets(first);
    const les = [...b1.keys()].filter((le) => !Number.isNaN(le)).sort((a, b) => a - b);
    const grown = les.map((le) => (b1.get(le) ?? 0) - (b0.get(le) ?? 0));
    const total = grown.at(-1) ?? 0;
    const i = grown.findIndex((n) => n >= 0.99 * total);
    if (total === 0 || i < 0) return { p99Ms: NaN, how: 'histogram, no samples during the run' };
    return {
      p99Ms: les[i]! * 1000,
      how: `histogram: the bucket holding the 99th percentile of ${total} samples during the run (upper bound)`,
    };
  }
  let worst = -Infinity;
  let how = '';
  for (const text of scrapes) {
    for (const s of samples(text, LOOP_METRIC)) {
      const p99 = /quantile="0\.99"/.test(s.labels) || /p99/.test(s.labels);
      if (p99 || s.labels === '') {
        if (s.value > worst) worst = s.value;
        how = p99 ? 'its 0.99 quantile, worst of the scrapes during the run' : 'its value, worst of the scrapes during the run';
      }
    }
  }
  return how ? { p99Ms: worst * 1000, how } : null;
}

function deliveries(text: string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of text ? samples(text, 'gatehouse_deliveries_total') : []) {
    const outcome = /outcome="([^"]+)"/.exec(s.labels)?.[1] ?? '?';
    out[outcome] = (out[outcome] ?? 0) + s.value;
  }
  return out;
}

/** Bytes and lines of the log after `from`, per message (pino's `msg`, else the line's start). */
async function logMessages(file: string, from: number, to: number): Promise<{ msg: string; lines: number; bytes: number }[]> {
  const by = new Map<string, { lines: number; bytes: number }>();
  let head = '';
  let tail = '';
  let length = 0;
  const finish = (): void => {
    if (length === 0) return;
    // pino writes `msg` last; a long line is read only at both ends.
    const text = head.length >= length ? head : tail;
    const msg = /"msg":"((?:[^"\\]|\\.){0,120})/.exec(text)?.[1] ?? /"msg":"((?:[^"\\]|\\.){0,120})/.exec(head)?.[1] ?? head.slice(0, 80);
    const entry = by.get(msg) ?? { lines: 0, bytes: 0 };
    entry.lines += 1;
    entry.bytes += length + 1;
    by.set(msg, entry);
    head = tail = '';
    length = 0;
  };
  if (to <= from) return [];
  for await (const chunk of createReadStream(file, { start: from, end: to - 1, highWaterMark: 1024 * 1024 })) {
    const buf = chunk as Buffer;
    let at = 0;
    while (at < buf.length) {
      const nl = buf.indexOf(10, at);
      const end = nl < 0 ? buf.length : nl;
      const piece = buf.subarray(at, end);
      if (head.length < 2000) head += piece.subarray(0, 2000 - head.length).toString('utf8');
      tail = (tail + piece.subarray(Math.max(0, piece.length - 2000)).toString('utf8')).slice(-2000);
      length += piece.length;
      if (nl < 0) break;
      finish();
      at = nl + 1;
    }
  }
  finish();
  return [...by.entries()].map(([msg, e]) => ({ msg, ...e })).sort((a, b) => b.bytes - a.bytes);
}

// --- The run -------------------------------------------------------------------------------------

export async function runHostile(o: HostileOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-hostile-'));
  const fake = await startFakeUpstreams();
  let server: Server | null = null;
  try {
    server = await startServer(
      {
        GATEHOUSE_DATA_DIR: join(dir, 'data'),
        APP_ID: '1',
        PRIVATE_KEY: testPrivateKey(),
        WEBHOOK_SECRET: GH_SECRET,
        GHE_HOST: fake.host,
        GHE_PROTOCOL: 'http',
        GITLAB_URL: fake.url,
        GITLAB_TOKEN: 'glpat-bench',
        GITLAB_WEBHOOK_SECRET: GL_SECRET,
        SLACK_BOT_TOKEN: 'xoxb-bench',
        SLACK_SIGNING_SECRET: SLACK_SECRET,
        SLACK_API_URL: `${fake.url}/api/`,
        // As operators run it: the product's default level.
        LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
        GATEHOUSE_CHILD_THROTTLE: '0',
        GATEHOUSE_CHILD_BOT_LOGIN: 'gatehouse[bot]',
        GATEHOUSE_CHILD_CLOCK_TICK_MS: '30000',
      },
      dir,
      o.nodeFlags,
    );
    const { url, pid } = server;
    console.log(
      `\n== hostile mix: embedded database, one process (pid ${pid}), node flags '${o.nodeFlags.join(' ')}', LOG_LEVEL=${process.env['LOG_LEVEL'] ?? 'info'}; ${o.seconds} s of traffic:\n` +
        `   valid ${o.validRate}/s; pathological 64 KB descriptions ${o.shapeRate}/s (${SHAPE_NAMES.length} shapes × ${FORGE_KINDS.length} kinds, opened then edited); ` +
        `refused commands ${o.commandRate}/s; ${o.waves} wave(s) of ${BAD_SIGNATURE_CONCURRENCY} concurrent 20 MB bad-signature POSTs; 30 MB bodies between the waves`,
    );

    // Warm-up: 3 s of valid traffic, so that compiling the code on first use is not measured.
    await openLoop(o.validRate, 3, (i) => {
      const r = validRequest(90_000 + i, fake);
      return post(url, r.path, r.headers, r.body);
    });
    await sleep(1000);

    // Baselines, then the probe's histogram reset.
    const firstScrape = (await metricsText(url)) ?? '';
    const logBefore = statSync(server.logFile).size;
    const rssBefore = procStatusKiB(pid, 'VmRSS');
    writeFileSync(`${server.probeFile}.reset`, '');
    const resetAsked = Date.now();
    while (existsSync(`${server.probeFile}.reset`) && Date.now() - resetAsked < 5000) await sleep(50);
    const client = monitorEventLoopDelay({ resolution: 10 });
    client.enable();

    let running = true;
    const loadAtStart = loadavg()[0]!.toFixed(1);
    const began = performance.now();
    const beganAt = Date.now();
    /** Seconds since the traffic began, for a performance.now() or (wall) Date.now() time. */
    const offset = (t: number, wall = false): string => `+${((wall ? t - beganAt : t - began) / 1000).toFixed(1)} s`;

    // /healthz, 10 times a second (sequential: a slow answer delays the next sample), and the
    // connections the kernel holds for the server that it has not accepted yet.
    const healthz: Outcome[] = [];
    const port = Number(new URL(url).port);
    let acceptQueueMax = 0;
    const acceptQueue = setInterval(() => {
      acceptQueueMax = Math.max(acceptQueueMax, listenQueue(port));
    }, 100);
    const sampler = (async () => {
      for (let next = performance.now(); running; next += 100) {
        const started = performance.now();
        try {
          const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(30_000) });
          await res.arrayBuffer();
          healthz.push({ answer: String(res.status), ms: performance.now() - started, sent: started });
        } catch {
          healthz.push({ answer: 'error', ms: performance.now() - started, sent: started });
        }
        const wait = next + 100 - performance.now();
        if (wait > 0) await sleep(wait);
      }
    })();

    // /metrics every 2 s: the loop-delay metrics that are per scrape, and peak RSS meanwhile.
    const scrapes: string[] = [];
    let rssPeakSampled = rssBefore;
    const scraper = (async () => {
      while (running) {
        await sleep(2000);
        const text = await metricsText(url);
        if (text) scrapes.push(text);
        rssPeakSampled = Math.max(rssPeakSampled, procStatusKiB(pid, 'VmRSS'));
      }
    })();

    const valid = openLoop(o.validRate, o.seconds, (i) => {
      const r = validRequest(i, fake);
      return post(url, r.path, r.headers, r.body);
    });
    const shapes = openLoop(o.shapeRate, o.seconds, (j) => {
      const r = shapeRequest(j);
      return post(url, r.path, r.headers, r.body);
    });
    const commands = openLoop(o.commandRate, o.seconds, (k) => {
      const r = commandRequest(k);
      return post(url, r.path, r.headers, r.body);
    });

    // Waves of bad signatures at 1/(waves+1), 2/(waves+1), … of the run; 30 MB bodies halfway between.
    const big = bigJson(BAD_SIGNATURE_BYTES);
    const oversize = bigJson(OVERSIZE_BYTES);
    const badSignature: Outcome[] = [];
    const waveTimes: { at: number; ms: number }[] = [];
    const tooLarge: { how: string; outcome: Outcome }[] = [];
    const large = (async () => {
      const step = (o.seconds * 1000) / (o.waves + 1);
      const inflight: Promise<unknown>[] = [];
      for (let w = 1; w <= o.waves; w++) {
        const oversizeAt = began + (w - 0.5) * step;
        if (oversizeAt > performance.now()) await sleep(oversizeAt - performance.now());
        for (const chunked of [false, true]) {
          inflight.push(
            rawPost(url, GITHUB_PATH, badSignatureHeaders(), oversize, { chunked }).then(
              (outcome) => void tooLarge.push({ how: chunked ? 'chunked' : 'content-length', outcome }),
            ),
          );
        }
        const waveAt = began + w * step;
        if (waveAt > performance.now()) await sleep(waveAt - performance.now());
        const t0 = performance.now();
        const wave = Promise.all(
          Array.from({ length: BAD_SIGNATURE_CONCURRENCY }, () => rawPost(url, GITHUB_PATH, badSignatureHeaders(), big)),
        ).then((outs) => {
          badSignature.push(...outs);
          waveTimes.push({ at: t0, ms: performance.now() - t0 });
        });
        inflight.push(wave);
      }
      await Promise.all(inflight);
    })();

    const [validOut, shapeOut, commandOut] = await Promise.all([valid, shapes, commands, large]);
    running = false;
    clearInterval(acceptQueue);
    await Promise.all([sampler, scraper]);
    client.disable();
    const trafficSeconds = (performance.now() - began) / 1000;
    const probeAtEnd = readProbe(server.probeFile);
    const probeAge = probeAtEnd ? Date.now() - probeAtEnd.at : NaN;
    const logAfterTraffic = statSync(server.logFile).size;
    const hwmAfterTraffic = procStatusKiB(pid, 'VmHWM');

    // Drain: until nothing waits in the queue (at most --drain seconds).
    const drainStart = performance.now();
    let lastScrape = await metricsText(url);
    const waiting = (text: string | null): number =>
      text === null ? Infinity : ['gatehouse_queue_depth'].reduce((n, name) => n + samples(text, name).reduce((a, s) => a + s.value, 0), 0);
    while (waiting(lastScrape) !== 0 && performance.now() - drainStart < o.drainSeconds * 1000) {
      await sleep(500);
      lastScrape = await metricsText(url);
    }
    const drained = waiting(lastScrape) === 0;
    const drainSeconds = (performance.now() - drainStart) / 1000;
    const counts = deliveries(lastScrape);
    if (lastScrape) scrapes.push(lastScrape);
    await sleep(600); // one more probe write
    const probeFinal = readProbe(server.probeFile);
    const logEnd = statSync(server.logFile).size;
    const hwm = procStatusKiB(pid, 'VmHWM');
    const rssEnd = procStatusKiB(pid, 'VmRSS');

    // --- Report ---
    const validSorted = validOut.map((x) => x.ms).sort((a, b) => a - b);
    const validBad = validOut.filter((x) => !/^2\d\d$/.test(x.answer));
    const ackP99 = quantile(validSorted, 0.99);
    console.log(
      `traffic done in ${trafficSeconds.toFixed(1)} s (until the last answer); machine load average ${loadAtStart} at the start, ${loadavg()[0]!.toFixed(1)} at the end, on ${cpus().length} CPUs ` +
        `(a shared machine: latencies include the time the server waited for a CPU)`,
    );
    console.log(
      `valid requests: ${validOut.length} (${countAnswers(validOut)}); ack p50 ${ms(quantile(validSorted, 0.5))}, p99 ${ms(ackP99)}, max ${ms(validSorted.at(-1) ?? NaN)}` +
        `   target p99 < ${TARGET.ackP99Ms} ms: ${verdict(ackP99 < TARGET.ackP99Ms && validBad.length === 0)}${validBad.length ? ` (${validBad.length} not 2xx)` : ''}`,
    );
    console.log('hostile requests, answers per status code (reset: the connection was reset or EPIPE before an answer):');
    console.log(`  pathological 64 KB descriptions, signed: ${shapeOut.length}: ${countAnswers(shapeOut)}; ${latencySummary(shapeOut)}`);
    console.log(
      `  refused commands (decide / threat-decision by an account not named): ${commandOut.length}: ${countAnswers(commandOut)}; ${latencySummary(commandOut)}`,
    );
    console.log(
      `  bad signature, 20 MB, ${o.waves} × ${BAD_SIGNATURE_CONCURRENCY} concurrent: ${badSignature.length}: ${countAnswers(badSignature)}; ${latencySummary(badSignature)}; ` +
        `waves sent at ${
          [...waveTimes]
            .sort((a, b) => a.at - b.at)
            .map((t) => `${offset(t.at)} answered in ${(t.ms / 1000).toFixed(1)} s`)
            .join(', ') || 'n/a'
        }`,
    );
    for (const how of ['content-length', 'chunked']) {
      const outs = tooLarge.filter((t) => t.how === how).map((t) => t.outcome);
      const got = outs.filter((x) => x.answer === '413').length;
      console.log(
        `  30 MB (over the 25 MB limit), ${how}: ${outs.length}: ${countAnswers(outs)}; ${latencySummary(outs)}   expected 413: ${got} of ${outs.length}` +
          `${got < outs.length && outs.some((x) => x.answer === 'reset') ? ' (reset: the server closed the connection while the body was still being sent, before its answer was read)' : ''}`,
      );
    }

    const metric = loopMetricP99(firstScrape, scrapes);
    const promLag = Math.max(
      ...scrapes.flatMap((t) => samples(t, 'gatehouse_nodejs_eventloop_lag_p99_seconds').map((s) => s.value * 1000)),
      -Infinity,
    );
    const healthSorted = healthz.map((x) => x.ms).sort((a, b) => a - b);
    const loopP99 = metric && Number.isFinite(metric.p99Ms) ? metric.p99Ms : (probeAtEnd?.p99Ms ?? NaN);
    console.log(
      `event-loop delay of the server (target p99 < ${TARGET.loopP99Ms} ms: ${verdict(loopP99 < TARGET.loopP99Ms)}, from ${metric && Number.isFinite(metric.p99Ms) ? LOOP_METRIC : 'monitorEventLoopDelay in the server'}):`,
    );
    console.log(`  ${LOOP_METRIC}: ${metric ? `p99 ${ms(metric.p99Ms)} (${metric.how})` : 'not exposed by this server'}`);
    console.log(
      `  monitorEventLoopDelay in the server (bench/loop-probe.mjs), during the traffic: ${probeAtEnd ? `p50 ${ms(probeAtEnd.p50Ms)}, p99 ${ms(probeAtEnd.p99Ms)}, max ${ms(probeAtEnd.maxMs)}` : 'n/a'}` +
        `${probeAge > 1500 ? ` (written ${(probeAge / 1000).toFixed(1)} s before the traffic ended: the loop was held)` : ''}` +
        `; traffic and drain: ${probeFinal ? `p99 ${ms(probeFinal.p99Ms)}, max ${ms(probeFinal.maxMs)}` : 'n/a'}`,
    );
    const worstWindows = [...(probeFinal?.windows ?? [])].sort((a, b) => b[1] - a[1]).slice(0, 5);
    console.log(
      `    worst 500 ms windows (longest delay in each, by time since the traffic began): ${worstWindows.map(([t, d]) => `${offset(t, true)} ${d} ms`).join(', ') || 'n/a'}`,
    );
    console.log(
      `  prom-client gatehouse_nodejs_eventloop_lag_p99_seconds, worst of ${scrapes.length} scrapes (each covers the 2 s since the last): ${ms(promLag)}`,
    );
    console.log(`  connections waiting for the server to accept them (listen queue, sampled 10 times a second): at most ${acceptQueueMax}`);
    const slowHealth = [...healthz].sort((a, b) => b.ms - a.ms).slice(0, 3);
    console.log(
      `  /healthz latency, ${healthz.length} samples at 10/s: p50 ${ms(quantile(healthSorted, 0.5))}, p99 ${ms(quantile(healthSorted, 0.99))}, max ${ms(healthSorted.at(-1) ?? NaN)}; answers ${countAnswers(healthz)}; ` +
        `slowest sent at ${slowHealth.map((h) => `${offset(h.sent)} (${ms(h.ms)})`).join(', ')}`,
    );
    console.log(
      `  (the load generator's own event-loop delay: p99 ${ms(client.percentile(99) / 1e6)}, max ${ms(client.max / 1e6)}; latencies above include it)`,
    );
    console.log(
      `server memory: RSS before the traffic ${mib(rssBefore)}, highest sampled every 2 s ${mib(rssPeakSampled)}, peak (VmHWM) ${mib(hwmAfterTraffic)} after the traffic, ${mib(hwm)} after the drain; RSS at the end ${mib(rssEnd)}` +
        `   target well under ${TARGET.rssMB} MB (read as under ${TARGET.rssMB * 0.8} MB): ${verdict(hwm * 1024 < TARGET.rssMB * 0.8 * 1e6)}`,
    );
    const growth = logEnd - logBefore;
    console.log(
      `server log: +${growth.toLocaleString('en-US')} bytes (${(logAfterTraffic - logBefore).toLocaleString('en-US')} during the traffic, the rest in the drain)   target < 1 MB: ${verdict(growth < TARGET.logBytes)}`,
    );
    for (const m of (await logMessages(server.logFile, logBefore, logEnd)).slice(0, 8))
      console.log(`  ${m.bytes.toLocaleString('en-US').padStart(14)} bytes, ${String(m.lines).padStart(6)} lines: ${m.msg}`);
    console.log(
      `worker: deliveries ${
        Object.entries(counts)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'n/a'
      } (gatehouse_deliveries_total, whole run); ` +
        `${drained ? `queue empty ${drainSeconds.toFixed(1)} s after the traffic` : `NOT drained ${drainSeconds.toFixed(0)} s after the traffic (${waiting(lastScrape)} waiting)`}`,
    );
    if (o.keepLog) console.log(`log kept: ${server.logFile}`);
  } finally {
    await server?.stop();
    await fake.close();
    if (!o.keepLog) rmSync(dir, { recursive: true, force: true });
  }
}

interface ProbeSummary {
  since: number;
  at: number;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  windows: [number, number][];
}

/** Connections completed by the kernel but not yet accepted on 127.0.0.1:port (the LISTEN socket's rx_queue in /proc/net/tcp). */
function listenQueue(port: number): number {
  try {
    const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (f[1] === local && f[3] === '0A') return parseInt(f[4]!.split(':')[1]!, 16);
    }
  } catch {
    // no /proc here
  }
  return 0;
}

function readProbe(file: string): ProbeSummary | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProbeSummary;
  } catch {
    return null;
  }
}
