/**
 * Limits before authentication, against `npm start`'s command in a child process (embedded
 * database, GitHub and Slack on, the GitHub API a fake on loopback): large bodies with wrong or
 * missing signatures are refused with a 4xx while the process's resident memory stays bounded and
 * its log stays quiet, and a body over the limit always gets its complete 413 — whether the client
 * declares its length or streams it, and even when it sends everything before reading.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { START_FLAGS } from '../support/child-gatehouse.ts';
import { startFakeGitHub, type FakeGitHub } from '../support/fake-github.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';

const BIN = new URL('../../bin/gatehouse.js', import.meta.url).pathname;
const SECRET = 'unverified-secret';
const MB = 1024 * 1024;

let child: ChildProcess;
let url: string;
let fake: FakeGitHub;
let dir: string;
let logBytes = 0;
const logTail: string[] = [];

const status = (field: 'VmRSS' | 'VmHWM'): number => {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
};
/** Resets the process's peak resident memory (VmHWM) to what it holds now. */
const resetPeak = (): void => writeFileSync(`/proc/${child.pid}/clear_refs`, '5');

beforeAll(async () => {
  fake = await startFakeGitHub();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-unverified-'));
  child = spawn(process.execPath, [...START_FLAGS, BIN, 'start'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      GATEHOUSE_DATA_DIR: join(dir, 'data'),
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: fake.host,
      GHE_PROTOCOL: 'http',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start within 60 s:\n${logTail.join('\n')}`)), 60_000);
    const onData = (chunk: Buffer): void => {
      logBytes += chunk.length;
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
        if (logTail.length < 2_000) logTail.push(line.slice(0, 500));
        const m = /listening on :(\d+)/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${m[1]}`);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`gatehouse exited with ${code}:\n${logTail.join('\n')}`)));
  });
}, 90_000);

afterAll(async () => {
  if (child?.exitCode === null) {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
  await fake?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Sent {
  status: number | 'reset';
  /** Bytes the client had handed over when the answer was read (a client may stop sending once answered). */
  sent: number;
  answeredAfterMs: number;
}

/**
 * Posts `total` bytes with fetch (undici), declared with Content-Length or streamed chunked; a
 * broken connection (reset, EPIPE, "other side closed") counts as 'reset'.
 */
async function send(path: string, headers: Record<string, string>, total: number, declare: boolean): Promise<Sent> {
  const began = Date.now();
  let sent = 0;
  const chunk = new Uint8Array(256 * 1024).fill(0x7b);
  const body = declare
    ? new Uint8Array(total).fill(0x7b)
    : new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= total) return controller.close();
          const piece = sent + chunk.length <= total ? chunk : chunk.subarray(0, total - sent);
          sent += piece.length;
          controller.enqueue(piece);
        },
      });
  if (declare) sent = total;
  try {
    const res = await fetch(new URL(path, url), { method: 'POST', headers, body, duplex: 'half' } as RequestInit);
    await res.arrayBuffer();
    return { status: res.status, sent, answeredAfterMs: Date.now() - began };
  } catch {
    return { status: 'reset', sent, answeredAfterMs: Date.now() - began };
  }
}

/**
 * A client that writes its whole request (headers, then `total` bytes) before it looks at the
 * answer, over a plain socket: what it reads at the end, or 'reset' if the server cut it off.
 */
function sendAllThenRead(path: string, headers: Record<string, string>, total: number): Promise<Sent> {
  return new Promise((resolve) => {
    const began = Date.now();
    const target = new URL(path, url);
    const socket = connect(Number(target.port), target.hostname);
    const received: Buffer[] = [];
    let sent = 0;
    let broken = false;
    socket.on('data', (c: Buffer) => received.push(c));
    socket.on('error', () => (broken = true));
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(Buffer.concat(received).toString('latin1'));
      resolve({ status: broken || !m ? 'reset' : Number(m[1]), sent, answeredAfterMs: Date.now() - began });
    });
    const head = [
      `POST ${target.pathname} HTTP/1.1`,
      `host: ${target.host}`,
      `content-length: ${total}`,
      ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      '',
      '',
    ].join('\r\n');
    socket.write(head);
    const chunk = Buffer.alloc(256 * 1024, 0x7b);
    const pump = (): void => {
      while (sent < total) {
        const piece = sent + chunk.length <= total ? chunk : chunk.subarray(0, total - sent);
        sent += piece.length;
        if (!socket.write(piece)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

const githubHeaders = (signature: string | null, id: string): Record<string, string> => ({
  'content-type': 'application/json',
  'x-github-event': 'issues',
  'x-github-delivery': id,
  ...(signature === null ? {} : { 'x-hub-signature-256': signature }),
});

describe('limits before authentication (the real process)', () => {
  it('12 concurrent 20 MB bodies with wrong signatures: each refused with a 4xx, resident memory bounded, the log quiet', async () => {
    // settle, then measure from here
    await new Promise((r) => setTimeout(r, 1_000));
    const before = status('VmRSS');
    resetPeak();
    const logBefore = logBytes;
    const wrong = `sha256=${'0'.repeat(64)}`;
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send('/api/github/webhooks', githubHeaders(wrong, `forged-${i}`), 20 * MB, true)),
    );
    const peak = status('VmHWM');
    const logGrowth = logBytes - logBefore;
    console.info(
      `[unverified] 12 x 20 MB wrong signatures: answers ${answers.map((a) => a.status).join(',')}; resident memory ${Math.round(before / MB)} MB before, peak ${Math.round(peak / MB)} MB (+${Math.round((peak - before) / MB)} MB); log grew ${logGrowth} bytes; slowest answer ${Math.max(...answers.map((a) => a.answeredAfterMs))} ms`,
    );
    for (const a of answers) expect(a.status).toBe(401);
    // never more than the unverified budget (64 MiB) and its copies in flight
    expect(peak - before).toBeLessThan(200 * MB);
    expect(peak).toBeLessThan(650 * MB);
    expect(logGrowth).toBeLessThan(MB);
    // nothing of a refused body in the log
    expect(logTail.join('\n')).not.toContain('{{{{');
  }, 120_000);

  it('a request without its signature, event or delivery header is refused before its body is read', async () => {
    const logBefore = logBytes;
    resetPeak();
    const before = status('VmRSS');
    const answers = await Promise.all([
      send('/api/github/webhooks', githubHeaders(null, 'no-signature'), 20 * MB, true),
      send(
        '/api/github/webhooks',
        { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'1'.repeat(64)}`, 'x-github-delivery': 'no-event' },
        20 * MB,
        true,
      ),
      send(
        '/api/github/webhooks',
        { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${'1'.repeat(64)}`, 'x-github-event': 'issues' },
        20 * MB,
        false,
      ),
    ]);
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400]);
    // answered while the bodies were still on the wire, which were read to nowhere: memory flat
    expect(status('VmHWM') - before).toBeLessThan(64 * MB);
    expect(logBytes - logBefore).toBeLessThan(4 * 1024);
  }, 60_000);

  it('a 30 MB body always gets its complete 413, declared or streamed, never a broken connection', async () => {
    const tries: Sent[] = [];
    for (let i = 0; i < 6; i++) {
      const body = `{"x":"${'a'.repeat(10)}"}`;
      const signed = githubDelivery({
        name: 'issues',
        secret: SECRET,
        payload: body,
        format: () => body,
        unchecked: 'hostile input: 30 MB of filler',
      });
      tries.push(
        await send('/api/github/webhooks', githubHeaders(signed.headers['x-hub-signature-256']!, `big-${i}`), 30 * MB, i % 2 === 0),
      );
    }
    tries.push(
      ...(await Promise.all(
        [0, 1, 2].map((i) => send('/api/github/webhooks', githubHeaders(`sha256=${'2'.repeat(64)}`, `big-c-${i}`), 30 * MB, i !== 1)),
      )),
    );
    // a client that writes everything first: the old way (answer, then close) reset it mid-body
    tries.push(
      ...(await Promise.all(
        [0, 1, 2].map((i) => sendAllThenRead('/api/github/webhooks', githubHeaders(`sha256=${'4'.repeat(64)}`, `big-raw-${i}`), 30 * MB)),
      )),
    );
    console.info(`[unverified] 30 MB bodies: answers ${tries.map((t) => `${t.status} after ${t.answeredAfterMs} ms`).join(', ')}`);
    expect(tries.map((t) => t.status)).toEqual(tries.map(() => 413));
  }, 120_000);

  it('meanwhile a valid delivery is stored and answered promptly, and /healthz answers', async () => {
    const flood = Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        send('/api/github/webhooks', githubHeaders(`sha256=${'3'.repeat(64)}`, `flood-${i}`), 20 * MB, true),
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    const d = githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: 'a valid one' }) });
    const began = Date.now();
    const res = await fetch(`${url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
    const ackMs = Date.now() - began;
    const health = await fetch(`${url}/healthz`);
    const answers = await flood;
    console.info(`[unverified] a valid delivery during 6 x 20 MB forged bodies: ${res.status} in ${ackMs} ms`);
    expect(res.status).toBe(200);
    expect(health.status).toBe(200);
    expect(ackMs).toBeLessThan(5_000);
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 401));
  }, 60_000);
});
