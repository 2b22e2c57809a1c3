/**
 * Request bodies, shared by the platform ingresses: read up to a limit, refused completely, and
 * bounded before authentication.
 *
 * - `readBody` stops at the limit and hands each chunk to the caller as it arrives (a signature is
 *   computed while the body streams in, never on a second copy).
 * - `refuse` answers at once and then reads the rest of the body to nowhere, up to a bound, so a
 *   client still sending sees the answer rather than a reset; past the bound the connection is cut.
 * - `ByteBudget` bounds the bytes held in memory by requests not yet authenticated (the signature
 *   is over the whole body): a request waits its turn for its share, and is refused (503) if the
 *   wait is too long, instead of the process growing with the number of concurrent senders.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The body passed the limit; the caller answers 413 (see `refuse`). */
export class BodyTooLarge extends Error {
  constructor(readonly max: number) {
    super(`body larger than ${max} bytes`);
  }
}

/** Bytes read and thrown away after a refusal before the connection is cut: a 30 MB body over a 25 MiB limit still gets its answer. */
export const DISCARD_LIMIT = 64 * 1024 * 1024;

/**
 * Reads the body, stopping (and refusing) as soon as it passes `max` bytes, chunked or not. A body
 * with a Content-Length is copied into one buffer of that size as it arrives (one copy held, not
 * its chunks and then their concatenation).
 */
export function readBody(req: IncomingMessage, max: number, onChunk?: (chunk: Buffer) => void): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = declaredLength(req);
    let whole: Buffer | null = declared !== null && declared <= max ? Buffer.allocUnsafe(declared) : null;
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      if (size + chunk.length > max) {
        req.off('data', onData);
        req.pause();
        chunks.length = 0;
        whole = null;
        reject(new BodyTooLarge(max));
        return;
      }
      onChunk?.(chunk);
      if (whole && size + chunk.length <= whole.length) chunk.copy(whole, size);
      else {
        // more than declared cannot reach us (the parser stops at Content-Length); kept safe anyway
        if (whole) chunks.push(whole.subarray(0, size));
        whole = null;
        chunks.push(chunk);
      }
      size += chunk.length;
    };
    req.on('data', onData);
    req.once('end', () => {
      if (whole) resolve(size === whole.length ? whole : whole.subarray(0, size));
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.once('error', reject);
    // A client gone mid-body: settled, so that whatever was reserved for it is released.
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client closed the connection before its body ended'));
    });
  });
}

/**
 * Answers `status` with a JSON body now, whatever of the request body is still unread. The rest of
 * the body is read and dropped (up to `discardLimit` bytes, then the connection is destroyed), and
 * the connection is closed once the request has ended: a client that sends its whole body before
 * reading gets the answer, and nobody keeps a refused connection. The server's request timeout
 * ends a client that stops sending without ending its request.
 */
export function refuse(req: IncomingMessage, res: ServerResponse, status: number, body: unknown, options: { discardLimit?: number; headers?: Record<string, string> } = {}): void {
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

/** Where a request waiting for its share of the budget stands. */
interface Waiter {
  bytes: number;
  grant: (release: () => void) => void;
}

/**
 * A bound on bytes held by requests still unauthenticated, across all of them. `reserve(n)`
 * resolves with a release function once `n` bytes fit, or with null after `waitMs` (the caller
 * answers 503). Waiters are served first fit: a small delivery (most are a few KB) is not held
 * behind a wave of 20 MB bodies waiting their turn, while those still go in arrival order among
 * themselves whenever room frees. A reservation larger than the whole budget waits for an empty
 * budget and then runs alone.
 */
export class ByteBudget {
  private used = 0;
  private readonly waiting: Waiter[] = [];
  private peakUsed = 0;

  constructor(readonly limit: number) {}

  /** Bytes reserved now. */
  get inUse(): number {
    return this.used;
  }

  /** The most bytes reserved at once since start. */
  get peak(): number {
    return this.peakUsed;
  }

  /** Requests waiting for their share. */
  get queued(): number {
    return this.waiting.length;
  }

  reserve(bytes: number, waitMs: number): Promise<(() => void) | null> {
    if (this.fits(bytes)) return Promise.resolve(this.take(bytes));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        bytes,
        grant: (release) => {
          clearTimeout(timer);
          resolve(release);
        },
      };
      const timer = setTimeout(() => {
        const at = this.waiting.indexOf(waiter);
        if (at >= 0) this.waiting.splice(at, 1);
        resolve(null);
        this.pump();
      }, waitMs);
      timer.unref();
      this.waiting.push(waiter);
    });
  }

  private fits(bytes: number): boolean {
    return this.used === 0 || this.used + bytes <= this.limit;
  }

  private take(bytes: number): () => void {
    this.used += bytes;
    this.peakUsed = Math.max(this.peakUsed, this.used);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= bytes;
      this.pump();
    };
  }

  private pump(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const next = this.waiting[i]!;
      if (!this.fits(next.bytes)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      next.grant(this.take(next.bytes));
    }
  }
}

/** What a request declares it will send (Content-Length), or null when chunked or unreadable. */
export function declaredLength(req: IncomingMessage): number | null {
  const raw = req.headers['content-length'];
  if (raw === undefined || !/^\d+$/.test(raw)) return null;
  return Number(raw);
}
