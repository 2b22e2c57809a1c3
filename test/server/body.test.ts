/**
 * The request-body rules shared by the ingresses: the unverified-bytes budget (first come, first
 * served, bounded wait), refusals logged once a window per reason, and a refusal answered before
 * the body is read and then read to nowhere up to its bound.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ByteBudget, readBody, refuse } from '../../src/server/body.ts';
import { RefusalLog } from '../../src/server/refusal-log.ts';

describe('ByteBudget', () => {
  it('grants what fits at once (a small delivery is not held behind large waiting bodies) and the rest as room frees, in arrival order', async () => {
    const budget = new ByteBudget(100);
    const a = await budget.reserve(60, 1_000);
    const order: string[] = [];
    const b = budget.reserve(60, 1_000).then((r) => (order.push('b'), r));
    const b2 = budget.reserve(50, 1_000).then((r) => (order.push('b2'), r));
    const c = budget.reserve(10, 1_000).then((r) => (order.push('c'), r));
    const rc = await c;
    expect(order).toEqual(['c']);
    expect(budget.queued).toBe(2);
    a!();
    a!(); // a second release changes nothing
    const rb = await b;
    expect(order).toEqual(['c', 'b']); // b before b2: among waiters, arrival order when both fit
    rc!();
    expect(budget.inUse).toBe(60);
    rb!();
    const rb2 = await b2;
    expect(order).toEqual(['c', 'b', 'b2']);
    rb2!();
    expect(budget.inUse).toBe(0);
    expect(budget.peak).toBe(70);
  });

  it('answers null after the wait, and lets a reservation larger than the budget run alone', async () => {
    const budget = new ByteBudget(100);
    const held = await budget.reserve(90, 1_000);
    expect(await budget.reserve(50, 30)).toBeNull();
    expect(budget.queued).toBe(0);
    held!();
    const alone = await budget.reserve(500, 10);
    expect(alone).not.toBeNull();
    expect(await budget.reserve(1, 20)).toBeNull();
    alone!();
  });
});

describe('RefusalLog', () => {
  it('logs the first refusal of a reason in a window and counts the rest into the next line', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(JSON.parse(c.toString()) as Record<string, unknown>), cb()) });
    let now = 0;
    const log = new RefusalLog(pino({ level: 'info' }, sink), 'refused', 60_000, () => now);
    for (let i = 0; i < 1_000; i++) log.note('signature', { status: 401 });
    log.note('headers');
    now = 61_000;
    log.note('signature', { status: 401 });
    expect(lines.map((l) => [l['reason'], l['alsoRefused']])).toEqual([
      ['signature', undefined],
      ['headers', undefined],
      ['signature', 999],
    ]);
  });
});

describe('refuse', () => {
  let server: Server | null = null;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('answers at once, reads the rest of the body to nowhere, then closes: a client that writes everything first reads its answer', async () => {
    let dropped = 0;
    server = createServer((req, res) => {
      refuse(req, res, 413, { error: 'too large' });
      req.on('data', (c: Buffer) => (dropped += c.length));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const total = 8 * 1024 * 1024;
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      const got: Buffer[] = [];
      socket.on('data', (c: Buffer) => got.push(c));
      socket.on('error', reject);
      socket.on('close', () => resolve(Buffer.concat(got).toString('latin1')));
      socket.write(`POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${total}\r\n\r\n`);
      socket.write(Buffer.alloc(total, 0x61));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toMatch(/\{"error":"too large"\}$/);
    expect(dropped).toBeGreaterThan(0);
  });

  it('cuts the connection once more than its bound has been read', async () => {
    server = createServer((req, res) => refuse(req, res, 400, { error: 'no' }, { discardLimit: 1024 * 1024 }));
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    const written = await new Promise<number>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let n = 0;
      socket.on('error', () => undefined);
      socket.on('close', () => resolve(n));
      socket.write(`POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n`);
      const chunk = `${(64 * 1024).toString(16)}\r\n${'b'.repeat(64 * 1024)}\r\n`;
      const pump = (): void => {
        while (n < 64 * 1024 * 1024 && !socket.destroyed) {
          n += 64 * 1024;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    expect(written).toBeLessThan(16 * 1024 * 1024);
  });
});

describe('readBody', () => {
  let server: Server | null = null;
  afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('settles (rejects) when the client goes away mid-body, so a reservation held for it is released', async () => {
    const budget = new ByteBudget(1024 * 1024);
    const settled = new Promise<string>((resolve) => {
      server = createServer((req) => {
        void budget.reserve(1000, 1000).then((release) =>
          readBody(req, 1024 * 1024)
            .then(() => resolve('read'))
            .catch((err: Error) => resolve(`rejected: ${err.message}`))
            .finally(() => release?.()),
        );
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const socket = connect((server!.address() as AddressInfo).port, '127.0.0.1');
    socket.on('error', () => undefined);
    socket.write('POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nhalf a body');
    await new Promise((r) => setTimeout(r, 100));
    socket.destroy();
    expect(await settled).toMatch(/^rejected: /);
    await new Promise((r) => setImmediate(r));
    expect(budget.inUse).toBe(0);
  });
});
