/**
 * SIGTERM while GitHub hangs and deliveries are in flight (`npm start`'s command in a child
 * process): the process hands the unfinished work back and exits 0 within a few seconds, without
 * a stack trace; the next start processes what was handed back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { intakeBody } from '../builders/intake.ts';
import { START_FLAGS } from '../support/child-gatehouse.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';

const BIN = new URL('../../bin/gatehouse.js', import.meta.url).pathname;
const SECRET = 'shutdown-secret';
const children: ChildProcess[] = [];
let fake: FakeGitHub | null = null;
let dir = '';

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
  await fake?.close();
  fake = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function start(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; out: string[] }> {
  const child = spawn(process.execPath, [...START_FLAGS, BIN, 'start'], {
    env: { PATH: process.env['PATH'] ?? '', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 60 s:\n${out.join('')}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      out.push(chunk.toString('utf8'));
      const m = /listening on :(\d+)/.exec(out.join(''));
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: `http://127.0.0.1:${m[1]}`, out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code}:\n${out.join('')}`)));
  });
}

async function until(fn: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('condition not met in time');
}

describe('shutdown', () => {
  it('SIGTERM with GitHub hanging and 8 deliveries in flight: exit 0 within a few seconds, no stack trace, nothing lost', async () => {
    fake = await startFakeGitHub();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-shutdown-'));
    const env = {
      GATEHOUSE_DATA_DIR: join(dir, 'data'),
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: fake.host,
      GHE_PROTOCOL: 'http',
    };
    fake.hang = (r) => r.path !== '/app';
    const first = await start(env);
    const deliveries = Array.from({ length: 8 }, (_, i) =>
      githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ number: i + 1, body: intakeBody({}) }) }),
    );
    for (const d of deliveries)
      expect((await fetch(`${first.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    await until(() => fake!.requests.some((r) => r.path.includes('access_tokens')));
    const began = Date.now();
    first.child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => first.child.once('exit', (c) => r(c)));
    const tookMs = Date.now() - began;
    const log = first.out.join('');
    console.info(`[shutdown] SIGTERM with 8 deliveries in flight on a hanging GitHub: exit ${code} after ${tookMs} ms`);
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(8_000);
    expect(log).not.toMatch(/\n\s+at .*\(/); // no stack trace

    fake.hang = false;
    await start(env);
    await until(() => deliveries.every((_, i) => (fake!.comments.get(i + 1) ?? []).length === 1), 120_000);
  }, 180_000);
});
