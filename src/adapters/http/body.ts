/**
 * Request bodies, shared by the platform ingresses: read up to a limit, refused completely, and
 * bounded before authentication.
 *
 * - `readChunks`/`readBody` stop at the limit, hand each chunk to the caller as it arrives (a
 *   signature is computed while the body streams in), and settle however the request ends.
 * - `refuse` answers at once and then reads the rest of the body to nowhere, up to a bound, so a
 *   client still sending sees the answer rather than a reset; past the bound the connection is cut.
 * - `ByteBudget` bounds the bytes held in memory by requests not yet authenticated (the signature
 *   is over the whole body), counted as they arrive: a request whose bytes find no room pauses, and
 *   is refused (503) if the wait is too long, instead of the process growing with the number of
 *   concurrent senders; holding room costs sending the bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The body passed the limit; the caller answers 413 (see `refuse`). */
export class BodyTooLarge extends Error {
  constructor(readonly max: number) {
    super(`body larger than ${max} bytes`);
  }
}

/** The body did not arrive whole in time, or the unverified budget had no room for it in time. */
export class BodyTimeout extends Error {
  constructor(readonly reason: 'slow' | 'budget') {
    super(reason === 'slow' ? 'the body did not arrive in time' : 'too many unverified bytes in flight');
  }
}

/** The client went away before its body ended: nothing to answer. */
export class ClientGone extends Error {
  constructor() {
    super('the client closed the connection before its body ended');
  }
}

/** Bytes read and thrown away after a refusal before the connection is cut: a 30 MB body over a 25 MiB limit still gets its answer. */
export const DISCARD_LIMIT = 64 * 1024 * 1024;

export interface ReadOptions {
  /** Each chunk as it arrives (a signature computed as the body streams in). */
  onChunk?: (chunk: Buffer) => void;
  /**
   * The bound on unverified bytes, taken chunk by chunk as bytes arrive (a declared length costs
   * nothing until it is sent) and given back when the read settles. With no room, reading pauses
   * until there is, within `deadlineMs`.
   */
  budget?: ByteBudget;
  /** The whole body must have arrived within this long (default: no limit but the server's). */
  deadlineMs?: number;
}

/**
 * Reads the body as its chunks, stopping (and refusing) as soon as it passes `max` bytes, chunked
 * or not. Settles in every case: the end, the limit, the deadline, the client gone.
 */
export function readChunks(req: IncomingMessage, max: number, options: ReadOptions = {}): Promise<{ chunks: Buffer[]; size: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let held = 0;
    let settled = false;
    const { budget } = options;
    const ticket = budget?.enter();
    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      if (budget && held > 0) budget.give(held);
      if (budget && ticket !== undefined) budget.leave(ticket);
      held = 0;
      if (err) {
        chunks.length = 0;
        req.pause();
        reject(err);
      } else resolve({ chunks, size });
    };
    const deadline = options.deadlineMs ?? 0;
    const timer = deadline > 0 ? setTimeout(() => finish(new BodyTimeout('slow')), deadline) : undefined;
    timer?.unref();
    const started = Date.now();
    const keep = (chunk: Buffer): void => {
      options.onChunk?.(chunk);
      chunks.push(chunk);
    };
    // Chunks wait here, in order, while the budget has no room for the first of them.
    const backlog: Buffer[] = [];
    let blocked = false;
    const drain = (): void => {
      while (!settled && backlog.length > 0) {
        const chunk = backlog[0]!;
        if (budget && !budget.tryTake(chunk.length, ticket)) {
          // No room for these bytes yet: stop reading (TCP holds the rest back) until there is.
          blocked = true;
          req.pause();
          const waitMs = deadline > 0 ? Math.max(1, deadline - (Date.now() - started)) : 10_000;
          void budget.acquire(chunk.length, waitMs, ticket).then((ok) => {
            if (settled) {
              if (ok) budget.give(chunk.length);
              return;
            }
            if (!ok) return finish(new BodyTimeout('budget'));
            held += chunk.length;
            backlog.shift();
            keep(chunk);
            blocked = false;
            drain();
            if (ended && backlog.length === 0) finish(null);
            else if (!blocked && !settled) req.resume();
          });
          return;
        }
        if (budget) held += chunk.length;
        backlog.shift();
        keep(chunk);
      }
    };
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > max) return finish(new BodyTooLarge(max));
      size += chunk.length;
      backlog.push(chunk);
      if (!blocked) drain();
    };
    // Every chunk is in; the last of them may still be waiting for room.
    let ended = false;
    const onEnd = (): void => {
      ended = true;
      if (backlog.length === 0) finish(null);
    };
    if (req.destroyed || req.readableAborted) return finish(new ClientGone());
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', () => finish(req.complete ? null : new ClientGone()));
    req.once('close', () => {
      if (!req.complete) finish(new ClientGone());
    });
  });
}

/** `readChunks`, joined into one buffer. */
export async function readBody(req: IncomingMessage, max: number, options: ReadOptions = {}): Promise<Buffer> {
  const { chunks, size } = await readChunks(req, max, options);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/**
 * Answers `status` with a JSON body now, whatever of the request body is still unread. The rest of
 * the body is read and dropped (up to `discardLimit` bytes, then the connection is destroyed), and
 * the connection is closed once the request has ended: a client that sends its whole body before
 * reading gets the answer, and nobody keeps a refused connection. The server's request timeout
 * ends a client that stops sending without ending its request.
 */
export function refuse(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  body: unknown,
  options: { discardLimit?: number; headers?: Record<string, string> } = {},
): void {
  if (res.headersSent) {
    req.destroy();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...options.headers,
    // A client told `close` stops sending once it has the answer, and some take the cut for an
    // error: the connection is closed here instead, after the request has ended.
    ...(req.complete ? { connection: 'close' } : {}),
  });
  if (req.complete) {
    res.end(text);
    return;
  }
  const socket = req.socket;
  // The whole answer goes out now, but the response is ended only once the request is: Node stops
  // reading a request whose response has finished, and a client still sending would see a reset.
  res.write(text);
  const limit = options.discardLimit ?? DISCARD_LIMIT;
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limit) socket.destroy();
  });
  req.once('end', () => {
    res.once('finish', () => socket.end());
    res.end();
  });
  req.once('error', () => socket.destroy());
  req.resume();
}

/** Where a request waiting for room in the budget stands. */
interface Waiter {
  bytes: number;
  ticket: number | undefined;
  grant: () => void;
}

/**
 * A bound on bytes held by requests still unauthenticated, across all of them, counted as bytes
 * arrive. `tryTake(n)` takes room now or says no; `acquire(n, waitMs)` waits for it (first fit: a
 * small delivery is not held behind large bodies waiting their turn) and answers false after
 * `waitMs`; `give(n)` returns it.
 *
 * Readers that hold part of their body and wait for room could wait on each other for ever (a
 * dozen large bodies, each a few MB in): the oldest reader (`enter`/`leave` tickets) is always given
 * room, so it finishes and frees what it held. The bound is therefore `limit` plus one body.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: Waiter[] = [];
  private readonly active = new Set<number>();
  private nextTicket = 0;

  constructor(readonly limit: number) {}

  /** Bytes held now. */
  get inUse(): number {
    return this.used;
  }

  /** Requests waiting for room. */
  get queued(): number {
    return this.waiting.length;
  }

  /** A reader starts: its ticket orders it among the readers (the oldest always progresses). */
  enter(): number {
    const ticket = this.nextTicket++;
    this.active.add(ticket);
    return ticket;
  }

  /** A reader is done (read, refused or gone). */
  leave(ticket: number): void {
    this.active.delete(ticket);
    this.pump();
  }

  tryTake(bytes: number, ticket?: number): boolean {
    if (!this.fits(bytes) && (ticket === undefined || ticket !== this.oldest())) return false;
    this.used += bytes;
    return true;
  }

  acquire(bytes: number, waitMs: number, ticket?: number): Promise<boolean> {
    if (this.tryTake(bytes, ticket)) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = {
        bytes,
        ticket,
        grant: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(false);
      }, waitMs);
      timer.unref();
      this.waiting.push(waiter);
    });
  }

  give(bytes: number): void {
    this.used = Math.max(0, this.used - bytes);
    this.pump();
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length;) {
      const next = this.waiting[i]!;
      if (!this.tryTake(next.bytes, next.ticket)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      next.grant();
    }
  }

  private oldest(): number | undefined {
    let min: number | undefined;
    for (const t of this.active) if (min === undefined || t < min) min = t;
    return min;
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }
}

/** What a request declares it will send (Content-Length), or null when chunked or unreadable. */
export function declaredLength(req: IncomingMessage): number | null {
  const raw = req.headers['content-length'];
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}
