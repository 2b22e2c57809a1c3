/**
 * Gatehouse as a user runs it: `npm start`'s command (`node [flags] bin/gatehouse.js start`) in a
 * child process, the GitHub API a fake on loopback (GHE_HOST). Start-up, health, and a crash after
 * the acknowledgement.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { intakeBody } from '../builders/intake.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';
import { START_ENV, START_FLAGS, START_SCRIPT, START_SHAPE } from '../support/child-gatehouse.ts';

const BIN = new URL('../../bin/gatehouse.js', import.meta.url).pathname;
/** The Node options of `npm start` (`node <options> bin/gatehouse.js start`). */
const SECRET = 'child-secret';

interface Running {
  child: ChildProcess;
  url: string;
  logs: string[];
  startedInMs: number;
}

const children: ChildProcess[] = [];
const dirs: string[] = [];
let fake: FakeGitHub | null = null;

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await fake?.close();
  fake = null;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function start(env: Record<string, string>): Promise<Running> {
  const began = Date.now();
  const child = spawn(process.execPath, [...START_FLAGS, BIN, 'start'], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const logs: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 30 s:\n${logs.join('\n')}`)), 30_000);
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        logs.push(line);
        const m = /listening on :(\d+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve({ child, url: `http://127.0.0.1:${m[1]}`, logs, startedInMs: Date.now() - began });
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gatehouse exited with ${code}:\n${logs.join('\n')}`));
    });
  });
}

const dataDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'gatehouse-process-'));
  dirs.push(d);
  return d;
};

async function until<T>(fn: () => Promise<T | null> | T | null, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await fn();
    if (v !== null && v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

describe('gatehouse start', () => {
  it("is what npm start runs, with V8's old generation kept close to what lives and a small young generation", () => {
    expect(START_SCRIPT).toMatch(START_SHAPE);
    expect(START_FLAGS).toContain('--heap-growing-percent=20');
    // V8's default 16 MB semi-space kept 32 MiB committed on the main thread and 16 on the database
    // thread while idle; a 64 MB one held about 3 x 64 MB after a burst (bench/memory).
    expect(START_FLAGS).toContain('--max-semi-space-size=2');
    // One V8 helper thread (garbage collection, WebAssembly tier-up) instead of four.
    expect(START_FLAGS).toContain('--v8-pool-size=1');
    // glibc's arenas: at most two, and freed memory given back from 128 KB on (set before Node starts).
    expect(START_ENV).toEqual({ MALLOC_ARENA_MAX: '2', MALLOC_TRIM_THRESHOLD_: '131072' });
  });

  it('starts with no configuration on a new embedded database, serves /healthz, and says which platforms are on', async () => {
    const run = await start({ GATEHOUSE_DATA_DIR: join(dataDir(), 'data') });
    const health = await fetch(`${run.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect(run.logs.join('\n')).toMatch(/platforms on: none/);
    expect(run.logs.join('\n')).toMatch(/GitHub is off: set APP_ID/);
    const github = await fetch(`${run.url}/api/github/webhooks`, { method: 'POST', body: '{}' });
    expect(github.status).toBe(503);
    console.info(`gatehouse start on a new data dir: /healthz up after ${run.startedInMs} ms`);
  });

  it('refuses to start on a bad environment, with one line per problem', async () => {
    const child = spawn(process.execPath, [BIN, 'start'], {
      env: { PATH: process.env['PATH'] ?? '', PORT: 'eighty', APP_ID: 'abc', GATEHOUSE_DATA_DIR: dataDir() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.once('exit', r));
    expect(code).toBe(1);
    expect(err).toMatch(/PORT: must be a port number/);
    expect(err).toMatch(/APP_ID: must be the numeric GitHub App id/);
    expect(err).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('says so in one line and exits when its port is taken', async () => {
    const taken = createServer().listen(0, '127.0.0.1');
    await new Promise((r) => taken.once('listening', r));
    const port = (taken.address() as AddressInfo).port;
    try {
      const child = spawn(process.execPath, [BIN, 'start'], {
        env: { PATH: process.env['PATH'] ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', GATEHOUSE_DATA_DIR: dataDir() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      children.push(child);
      let err = '';
      child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      expect(await new Promise<number | null>((r) => child.once('exit', r))).toBe(1);
      expect(err.trim()).toBe(`cannot listen on port ${port}: it is in use (set PORT)`);
    } finally {
      taken.close();
    }
  });

  it('loses nothing when killed after acknowledging: the delivery is processed once after a restart', async () => {
    fake = await startFakeGitHub();
    const dir = dataDir();
    const env = {
      GATEHOUSE_DATA_DIR: dir,
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: fake.host,
      GHE_PROTOCOL: 'http',
    };
    // The first run learns its own login (nothing is done before), acknowledges, then hangs on the API until it is killed.
    fake.hang = (r) => r.path !== '/app';
    const first = await start(env);
    const d = githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: intakeBody({}) }) });
    const res = await fetch(`${first.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
    expect(res.status).toBe(200);
    await until(() => fake!.requests.some((r) => r.path.includes('access_tokens')));
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    expect(fake.comments.size).toBe(0);

    fake.hang = false;
    const second = await start(env);
    const comments = await until(() => (fake!.comments.get(1)?.length ? fake!.comments.get(1)! : null));
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('<!-- gatehouse:intake -->');
    // The intake comment is written first (the requester waits for it), the labels right after.
    const labels = await until(() => fake!.labels.get(1) ?? null);
    expect([...labels]).toEqual(['intake', 'intake::complete', 'tier::advisory']);
    // The same delivery again (a manual redelivery) does nothing.
    await fetch(`${second.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
    await new Promise((r) => setTimeout(r, 1500));
    expect(fake.comments.get(1)).toHaveLength(1);
  });

  it('gives exactly one breach comment when killed before a deadline and started after it', async () => {
    fake = await startFakeGitHub();
    const dir = dataDir();
    // A round-the-clock calendar and a one-minute SLO, so that real time can pass a deadline.
    const policy = join(dir, 'policy.yml');
    const allDay = Object.fromEntries(
      ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'].map((d) => [d, ['00:00-24:00']]),
    );
    writeFileSync(
      policy,
      `clocks:\n  regions:\n    - timeZone: UTC\n      hours: ${JSON.stringify(allDay)}\n  targets:\n    critical: { slo: 1m, rto: 10m }\n`,
    );
    const env = {
      GATEHOUSE_DATA_DIR: join(dir, 'data'),
      GATEHOUSE_POLICY: policy,
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: fake.host,
      GHE_PROTOCOL: 'http',
    };
    const first = await start(env);
    const payload = issuesPayload({ body: 'The scanner is down.', labels: ['tool::outage', 'criticality::critical'] });
    const opened = new Date(Date.now() - 50_000); // the SLO is due 10 s from now
    Object.assign(payload['issue'] as object, { created_at: opened.toISOString(), assignees: [], assignee: null });
    const d = githubDelivery({ name: 'issues', secret: SECRET, payload });
    expect((await fetch(`${first.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    await until(() => first.logs.some((l) => l.includes('saveClocks'))); // the clocks are stored
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const breaches = () => (fake!.comments.get(1) ?? []).filter((c) => c.body.includes('gatehouse:clock:slo:breached'));
    expect(breaches()).toHaveLength(0);

    const due = opened.getTime() + 60_000;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now()) + 1_000)); // down across the deadline
    await start(env);
    await until(() => breaches().length > 0);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(breaches()).toHaveLength(1);
    expect([...fake.labels.get(1)!]).toContain('slo::breached');
  }, 60_000);
});
