/**
 * A lean HTTP/1.1 load generator for bench/ingest: keep-alive connections over `node:net`, a
 * request head built per request (only the delivery id changes) and one shared body buffer, and
 * a response parser that reads the status line, `content-length` or `chunked`, and nothing else.
 *
 * Why not a general client: on a small machine the load generator shares the cores with the
 * server under test, and every microsecond it spends is taken from a server that uses more than
 * one thread. A lean client (as wrk or autocannon are) keeps the measurement about the server.
 */
import { connect, type Socket } from 'node:net';

export interface LeanRequest {
  /** Request line and headers, without the final blank line. */
  head: string;
  body: Buffer;
}

interface Waiting {
  resolve: (status: number) => void;
  reject: (err: Error) => void;
}

const CRLF2 = Buffer.from('\r\n\r\n');

class Connection {
  readonly #socket: Socket;
  #waiting: Waiting | null = null;
  #buf: Buffer = Buffer.alloc(0);
  #closed = false;
  readonly ready: Promise<void>;

  constructor(port: number, onClose: (c: Connection) => void) {
    this.#socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.#socket.once('connect', resolve);
      this.#socket.once('error', reject);
    });
    this.#socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    const close = (err?: Error): void => {
      if (this.#closed) return;
      this.#closed = true;
      onClose(this);
      this.#waiting?.reject(err ?? new Error('connection closed'));
      this.#waiting = null;
    };
    this.#socket.on('error', close);
    this.#socket.on('close', () => close());
  }

  get closed(): boolean {
    return this.#closed;
  }

  send(req: LeanRequest): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#closed) return reject(new Error('connection closed'));
      this.#waiting = { resolve, reject };
      const head = `${req.head}\r\ncontent-length: ${req.body.length}\r\n\r\n`;
      const bytes = Buffer.allocUnsafe(head.length + req.body.length);
      bytes.write(head, 0, 'latin1');
      req.body.copy(bytes, head.length);
      this.#socket.write(bytes);
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const end = this.#responseEnd();
    if (end === null) return;
    const status = Number(this.#buf.toString('latin1', 9, 12));
    this.#buf = this.#buf.subarray(end);
    const w = this.#waiting;
    this.#waiting = null;
    w?.resolve(status);
  }

  /** Where the (first) response in the buffer ends, or null while it is incomplete. */
  #responseEnd(): number | null {
    const headEnd = this.#buf.indexOf(CRLF2);
    if (headEnd < 0) return null;
    const head = this.#buf.toString('latin1', 0, headEnd).toLowerCase();
    const length = /\r\ncontent-length:\s*(\d+)/.exec(head);
    if (length) {
      const end = headEnd + 4 + Number(length[1]);
      return this.#buf.length >= end ? end : null;
    }
    if (/\r\ntransfer-encoding:\s*chunked/.test(head)) {
      let at = headEnd + 4;
      for (;;) {
        const lineEnd = this.#buf.indexOf('\r\n', at);
        if (lineEnd < 0) return null;
        const size = parseInt(this.#buf.toString('latin1', at, lineEnd), 16);
        if (size === 0) return this.#buf.length >= lineEnd + 4 ? lineEnd + 4 : null;
        at = lineEnd + 2 + size + 2;
        if (this.#buf.length < at) return null;
      }
    }
    return headEnd + 4; // no body
  }
}

/** Up to `max` keep-alive connections to 127.0.0.1:port; a request waits for a free one. */
export class LeanPool {
  readonly #port: number;
  readonly #max: number;
  readonly #idle: Connection[] = [];
  readonly #all = new Set<Connection>();
  readonly #queue: ((c: Connection) => void)[] = [];

  constructor(port: number, max: number) {
    this.#port = port;
    this.#max = max;
  }

  async request(req: LeanRequest): Promise<number> {
    const c = await this.#acquire();
    try {
      return await c.send(req);
    } finally {
      this.#release(c);
    }
  }

  close(): void {
    for (const c of this.#all) c.close();
  }

  async #acquire(): Promise<Connection> {
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#all.size < this.#max) return this.#open();
    return new Promise((resolve) => this.#queue.push(resolve));
  }

  async #open(): Promise<Connection> {
    const c = new Connection(this.#port, (closed) => {
      this.#all.delete(closed);
      const i = this.#idle.indexOf(closed);
      if (i >= 0) this.#idle.splice(i, 1);
      // A request waiting for a connection gets a new one in place of the closed one.
      const next = this.#queue.shift();
      if (next) void this.#open().then(next, () => this.#queue.unshift(next));
    });
    this.#all.add(c);
    await c.ready;
    return c;
  }

  #release(c: Connection): void {
    if (c.closed) return;
    const next = this.#queue.shift();
    if (next) next(c);
    else this.#idle.push(c);
  }
}
