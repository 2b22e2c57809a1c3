/**
 * The request-body rules shared by the ingresses: the unverified-bytes budget (first come, first
 * served, bounded wait), refusals logged once a window per reason, and a refusal answered before
 * the body is read and then read to nowhere up to its bound.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ByteBudget, readChunks, refuse } from '../../../src/adapters/http/body.ts';
import { RefusalLog } from '../../../src/adapters/http/refusal-log.ts';

describe('ByteBudget', () => {
  it('gives room that fits at once (a small delivery is not held behind large waiting bodies), the rest as room frees, in arrival order', async () => {
    const budget = new ByteBudget(100);
    expect(budget.tryTake(60)).toBe(true);
    const order: string[] = [];
    const b = budget.acquire(60, 1_000).then((ok) => (order.push('b'), ok));
    const b2 = budget.acquire(50, 1_000).then((ok) => (order.push('b2'), ok));
    expect(await budget.acquire(10, 1_000)).toBe(true); // fits now: not queued behind b and b2
    expect(budget.queued).toBe(2);
    budget.give(60);
    expect(await b).toBe(true);
    expect(order).toEqual(['b']); // b2 (50) does not fit beside b (60) and the 10
    expect(budget.inUse).toBe(70);
    budget.give(10);
    budget.give(60);
    expect(await b2).toBe(true);
    expect(order).toEqual(['b', 'b2']);
    budget.give(50);
    expect(budget.inUse).toBe(0);
  });

  it('answers false after the wait, and lets a request larger than the budget run alone', async () => {
    const budget = new ByteBudget(100);
    expect(budget.tryTake(90)).toBe(true);
    expect(await budget.acquire(50, 30)).toBe(false);
    expect(budget.queued).toBe(0);
    budget.give(90);
    expect(await budget.acquire(500, 10)).toBe(true);
    expect(await budget.acquire(1, 20)).toBe(false);
    budget.give(500);
    expect(budget.inUse).toBe(0);
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

describe('readChunks', () => {
  let server: Server | null = null;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    server = null;
  });

  /** A server reading every request against `budget`; resolves each read's outcome in order. */
  async function serve(budget: ByteBudget, options: { deadlineMs?: number } = {}): Promise<{ port: number; outcomes: string[] }> {
    const outcomes: string[] = [];
    server = createServer((req, res) => {
      readChunks(req, 32 * 1024 * 1024, { budget, ...options })
        .then(({ size }) => {
          outcomes.push(`read ${size}`);
          res.end('ok');
        })
        .catch((err: Error) => {
          outcomes.push(err.constructor.name);
          if (!res.headersSent && !req.socket.destroyed) res.end('no');
        });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    return { port: (server!.address() as AddressInfo).port, outcomes };
  }
  const open = (port: number, head: string): Socket => {
    const s = connect(port, '127.0.0.1');
    s.on('error', () => undefined);
    s.write(head);
    sockets.push(s);
    return s;
  };
  const until = async (ok: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
  };

  it('counts only bytes that arrived: declaring 25 MiB and sending nothing holds no room', async () => {
    const budget = new ByteBudget(64 * 1024 * 1024);
    const { port } = await serve(budget);
    for (let i = 0; i < 6; i++) open(port, `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${25 * 1024 * 1024}\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 100));
    expect(budget.inUse).toBe(0);
  });

  it('gives back what a client held when it goes away mid-body, waiting for room or reading', async () => {
    const budget = new ByteBudget(1024 * 1024);
    const { port, outcomes } = await serve(budget);
    const chunk = 'a'.repeat(256 * 1024);
    // two readers hold the whole budget, a third waits for room; all three go away
    const holders = [
      open(port, `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${4 * 1024 * 1024}\r\n\r\n${chunk}${chunk}`),
      open(port, `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${4 * 1024 * 1024}\r\n\r\n${chunk}${chunk}`),
    ];
    await until(() => budget.inUse >= 1024 * 1024);
    const waiter = open(port, `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${4 * 1024 * 1024}\r\n\r\n${chunk}`);
    await until(() => budget.queued === 1);
    expect(budget.queued).toBe(1);
    waiter.destroy();
    for (const h of holders) h.destroy();
    await until(() => outcomes.length === 3);
    expect(outcomes).toEqual(['ClientGone', 'ClientGone', 'ClientGone']);
    await until(() => budget.inUse === 0 && budget.queued === 0);
    expect([budget.inUse, budget.queued]).toEqual([0, 0]);
    // and the budget serves the next request
    const next = open(port, 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nhello');
    await until(() => outcomes.length === 4);
    expect(outcomes[3]).toBe('read 5');
    next.destroy();
  });

  it('twelve bodies each larger than a share of the budget all get read: the oldest reader always progresses (no reader waits on another for ever)', async () => {
    /** Notes the most bytes held at once (every grant goes through tryTake). */
    class Watched extends ByteBudget {
      peak = 0;
      override tryTake(bytes: number, ticket?: number): boolean {
        const ok = super.tryTake(bytes, ticket);
        this.peak = Math.max(this.peak, this.inUse);
        return ok;
      }
    }
    const budget = new Watched(1024 * 1024);
    const { port, outcomes } = await serve(budget, { deadlineMs: 20_000 });
    const size = 512 * 1024;
    const body = 'b'.repeat(size);
    for (let i = 0; i < 12; i++) open(port, `POST / HTTP/1.1\r\nhost: x\r\ncontent-length: ${size}\r\n\r\n${body}`);
    await until(() => outcomes.length === 12);
    expect(outcomes).toEqual(Array.from({ length: 12 }, () => `read ${size}`));
    expect(budget.inUse).toBe(0);
    expect(budget.peak).toBeGreaterThan(0);
    expect(budget.peak).toBeLessThanOrEqual(1024 * 1024 + size);
  });

  it('a body that does not arrive whole in time is refused, and its room given back', async () => {
    const budget = new ByteBudget(1024 * 1024);
    const { port, outcomes } = await serve(budget, { deadlineMs: 200 });
    open(port, 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 1000\r\n\r\nslow');
    await until(() => outcomes.length === 1);
    expect(outcomes).toEqual(['BodyTimeout']);
    expect(budget.inUse).toBe(0);
  });

  it('a body whose bytes find no room within its deadline is refused (the caller answers 503)', async () => {
    const budget = new ByteBudget(1024);
    // an older reader holds the whole budget (and keeps it: it never ends)
    budget.tryTake(1024, budget.enter());
    const { port, outcomes } = await serve(budget, { deadlineMs: 150 });
    open(port, 'POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n0123456789');
    await until(() => outcomes.length === 1);
    expect(outcomes).toEqual(['BodyTimeout']);
    expect(budget.inUse).toBe(1024);
  });
});
