/**
 * The delivery journal of the embedded database. A delivery is acknowledged once it is appended
 * to a journal file and that file is flushed to disk (concurrent deliveries share one write and
 * one flush; the next group is written while the previous one flushes); a background drain then stores journaled deliveries in the database, with their
 * jobs, in large batches, and drops journal files whose every delivery is stored.
 *
 * Why: the embedded database runs PostgreSQL in WebAssembly on one thread, where each write has
 * a large fixed cost. A flushed append is cheap, so acknowledgements keep pace with the HTTP
 * server while the database takes deliveries in batches big enough to amortise that cost.
 *
 * Guarantees:
 * - Nothing acknowledged is lost: a file is deleted only after the database has its deliveries
 *   on disk; at start-up every file left (a crash, a kill, a failed drain) is stored again first.
 *   Storing is idempotent (deliveries are keyed on their id, jobs on the delivery).
 * - Bounded: once `maxBacklogBytes` are journaled but not yet stored, acknowledgements wait for
 *   the drain, so memory stays bounded and a sustained overload runs at the database's pace.
 * - A torn tail (a crash during an append, never acknowledged) is detected by length and CRC and
 *   ignored; a failed append seals its file so that later appends never follow a torn record.
 * - Repeats: a delivery id seen recently answers `inserted: false` once its first copy is on
 *   disk; an older repeat is caught when stored (no second job), though it answers `true`.
 * - Replays: a body (its SHA-256) seen recently under another delivery id answers
 *   `inserted: false, duplicateOf`; an older one is caught when stored (not stored, so never
 *   processed) and reported through `onDuplicate`.
 *
 * Record: u32 body length, u32 CRC-32 of the body, body = JSON metadata, "\n", payload (UTF-8).
 * The journal keeps the payload as received (JSON): the acknowledging thread does not deflate it,
 * the writer stores it in its stored form (see payload-codec.ts). The metadata's `encoding` says
 * which form a record holds (absent: plain JSON); files of earlier versions may hold deflated ones.
 */
import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { z } from 'zod';
import type { Accepted, Inbox } from '../ports/queue.ts';
import type { DeliveryInput } from '../ports/store.ts';
import type { DeliveryWriter, Replay } from './inbox.ts';
import { payloadEncoding, type EncodedDelivery } from './payload-codec.ts';
import { fsyncPath } from './wal-sync.ts';

export interface JournalOptions {
  /** Stores a batch (deliveries and their jobs) durably before resolving. */
  write: DeliveryWriter;
  /** Flush appends to disk before acknowledging (tests may turn it off). Default true. */
  sync?: boolean;
  /** Acknowledgements wait while this many bytes are journaled but not stored. Default 64 MiB. */
  maxBacklogBytes?: number;
  /** Largest batch handed to `write`. Default 256 deliveries. */
  maxBatch?: number;
  /**
   * How long the drain lets a batch fill (up to `maxBatch`) before storing it. Default 50 ms.
   * Journaled deliveries are already safe; larger batches spread the database's fixed cost per
   * write (transaction, flush, queue insert, thread hand-off) over more deliveries.
   */
  lingerMs?: number;
  /** A journal file is sealed and a new one begun past this size. Default 16 MiB. */
  segmentBytes?: number;
  /** Repeats answered at once among the last this many ids. Default 50,000. */
  rememberIds?: number;
  /** A batch failed to reach the database; it is retried (after 0.1 s, doubling up to 5 s). */
  onDrainError?: (err: unknown, attempt: number) => void;
}

interface Segment {
  seq: number;
  path: string;
  fh: FileHandle | null;
  /** Bytes written (flushed or not). */
  bytes: number;
  /** Records flushed and acknowledged. */
  records: number;
  stored: number;
  /** Flushes in flight on this file: it is closed only once they are done. */
  flushing: Set<Promise<void>>;
  /** A flush failed: nothing more is appended to this file. */
  broken: boolean;
}

/** Flushes in flight at once (one file): a group is written while the previous one flushes. */
const MAX_FLUSHES = 2;

interface Entry {
  delivery: EncodedDelivery;
  size: number;
  segment: Segment | null;
}

interface Append {
  entry: Entry;
  buf: Buffer;
  resolve: () => void;
  reject: (err: unknown) => void;
}

const SEGMENT_NAME = /^(\d{16})\.journal$/;
const HEADER = 8;
const metaSchema = z.object({
  platform: z.enum(['github', 'gitlab', 'slack']),
  deliveryId: z.string(),
  eventName: z.string(),
  receivedAt: z.string(),
  encoding: payloadEncoding.default('json'),
  bodyDigest: z.string().nullable().optional(),
});

export function encodeRecord(d: EncodedDelivery): Buffer {
  const meta = JSON.stringify({
    platform: d.platform,
    deliveryId: d.deliveryId,
    eventName: d.eventName,
    receivedAt: d.receivedAt.toISOString(),
    encoding: d.encoding,
    ...(d.bodyDigest ? { bodyDigest: d.bodyDigest } : {}),
  });
  // One buffer, written in place: payloads are ~10 KB, and every copy shows on the HTTP thread.
  const metaBytes = Buffer.byteLength(meta, 'utf8');
  const bodyLength = metaBytes + 1 + Buffer.byteLength(d.payload, 'utf8');
  const buf = Buffer.allocUnsafe(HEADER + bodyLength);
  buf.write(meta, HEADER, 'utf8');
  buf[HEADER + metaBytes] = 0x0a;
  buf.write(d.payload, HEADER + metaBytes + 1, 'utf8');
  buf.writeUInt32BE(bodyLength, 0);
  buf.writeUInt32BE(crc32(buf.subarray(HEADER)), 4);
  return buf;
}

/** Every whole, intact record of a file, in order; stops at the first torn or corrupt one. */
export function decodeRecords(file: Buffer): { deliveries: EncodedDelivery[]; validBytes: number } {
  const deliveries: EncodedDelivery[] = [];
  let at = 0;
  while (at + HEADER <= file.length) {
    const length = file.readUInt32BE(at);
    const sum = file.readUInt32BE(at + 4);
    if (at + HEADER + length > file.length) break;
    const body = file.subarray(at + HEADER, at + HEADER + length);
    if (crc32(body) !== sum) break;
    const text = body.toString('utf8');
    const nl = text.indexOf('\n');
    if (nl < 0) break;
    let meta: z.infer<typeof metaSchema>;
    try {
      meta = metaSchema.parse(JSON.parse(text.slice(0, nl)));
    } catch {
      break;
    }
    deliveries.push({
      platform: meta.platform,
      deliveryId: meta.deliveryId,
      eventName: meta.eventName,
      receivedAt: new Date(meta.receivedAt),
      payload: text.slice(nl + 1),
      encoding: meta.encoding,
      bodyDigest: meta.bodyDigest ?? null,
    });
    at += HEADER + length;
  }
  return { deliveries, validBytes: at };
}

const segmentPath = (dir: string, seq: number): string => join(dir, `${String(seq).padStart(16, '0')}.journal`);
const keyOf = (d: { platform: string; deliveryId: string }): string => `${d.platform}\u0000${d.deliveryId}`;

export class DeliveryJournal implements Inbox {
  readonly #dir: string;
  readonly #write: DeliveryWriter;
  readonly #sync: boolean;
  readonly #maxBacklogBytes: number;
  readonly #maxBatch: number;
  readonly #lingerMs: number;
  readonly #segmentBytes: number;
  readonly #rememberIds: number;
  readonly #onDrainError: (err: unknown, attempt: number) => void;
  #onReplay: (r: Replay) => void = () => undefined;

  #current: Segment;
  /** Appended and flushed, not yet stored; drained from the front. */
  readonly #pending: Entry[] = [];
  readonly #appends: Append[] = [];
  #appending = false;
  #draining = false;
  /** Ends the drain's wait for a fuller batch (set while it waits). */
  #filled: (() => void) | null = null;
  /** Bytes accepted (being appended or waiting for the drain) and not yet stored. */
  #backlogBytes = 0;
  #backlogCount = 0;
  #roomWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  /** Recent ids → their first copy's append (repeats wait for it, then answer `inserted: false`). */
  readonly #seen = new Map<string, Promise<void>>();
  /** Recent body digests → the first delivery id that carried it, and its append. */
  readonly #seenBodies = new Map<string, { deliveryId: string; appended: Promise<void> }>();
  #closing = false;
  /** Closing, the drain stopped retrying: the rest stays in the journal. */
  #gaveUp = false;

  private constructor(dir: string, first: Segment, opts: JournalOptions) {
    this.#dir = dir;
    this.#current = first;
    this.#write = opts.write;
    this.#sync = opts.sync ?? true;
    this.#maxBacklogBytes = opts.maxBacklogBytes ?? 64 * 1024 * 1024;
    this.#maxBatch = opts.maxBatch ?? 256;
    this.#lingerMs = opts.lingerMs ?? 50;
    this.#segmentBytes = opts.segmentBytes ?? 16 * 1024 * 1024;
    this.#rememberIds = opts.rememberIds ?? 50_000;
    this.#onDrainError = opts.onDrainError ?? (() => undefined);
  }

  /**
   * Stores every delivery left in the journal at `dir` (then deletes those files), and opens a
   * new journal file. Fails, keeping the files, when the database does not take them.
   */
  static async open(dir: string, opts: JournalOptions): Promise<{ journal: DeliveryJournal; recovered: number }> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const names = (await readdir(dir)).filter((n) => SEGMENT_NAME.test(n)).sort();
    let recovered = 0;
    const maxBatch = opts.maxBatch ?? 256;
    for (const name of names) {
      const { deliveries } = decodeRecords(await readFile(join(dir, name)));
      for (let i = 0; i < deliveries.length; i += maxBatch) await opts.write(deliveries.slice(i, i + maxBatch));
      recovered += deliveries.length;
    }
    for (const name of names) await rm(join(dir, name));
    const lastSeq = names.length > 0 ? Number(SEGMENT_NAME.exec(names.at(-1)!)![1]) : 0;
    const first = await DeliveryJournal.#create(dir, lastSeq + 1, opts.sync ?? true);
    return { journal: new DeliveryJournal(dir, first, opts), recovered };
  }

  static async #create(dir: string, seq: number, sync: boolean): Promise<Segment> {
    const path = segmentPath(dir, seq);
    const fh = await open(path, 'wx', 0o600);
    if (sync) await fsyncPath(dir); // the new file's name must survive a crash too
    return { seq, path, fh, bytes: 0, records: 0, stored: 0, flushing: new Set(), broken: false };
  }

  /** A delivery acknowledged earlier turned out, when stored, to replay a body stored under another id. */
  onReplay(listener: (r: Replay) => void): void {
    this.#onReplay = listener;
  }

  /** Journaled, not yet stored (bytes). */
  get backlogBytes(): number {
    return this.#backlogBytes;
  }

  /** Accepted (being appended, or journaled) and not yet stored. */
  backlog(): { deliveries: number; bytes: number } {
    return { deliveries: this.#backlogCount, bytes: this.#backlogBytes };
  }

  async accept(d: DeliveryInput): Promise<Accepted> {
    if (this.#closing) throw new Error('the delivery journal is closed');
    const key = keyOf(d);
    const first = this.#seen.get(key);
    if (first) {
      await first; // its failure is this copy's too: the sender retries
      return { inserted: false };
    }
    const bodyKey = d.bodyDigest ? `${d.platform}\u0000${d.bodyDigest}` : null;
    const sameBody = bodyKey ? this.#seenBodies.get(bodyKey) : undefined;
    if (sameBody) {
      await sameBody.appended; // a failed first copy fails its replay too
      return { inserted: false, duplicateOf: sameBody.deliveryId };
    }
    const appended = this.#accept(d);
    this.#remember(key, appended);
    if (bodyKey) this.#seenBodies.set(bodyKey, { deliveryId: d.deliveryId, appended });
    try {
      await appended;
    } catch (err) {
      // Not stored: a retry by the sender must be accepted.
      this.#seen.delete(key);
      if (bodyKey) this.#seenBodies.delete(bodyKey);
      throw err;
    }
    return { inserted: true };
  }

  async #accept(input: DeliveryInput): Promise<void> {
    const d: EncodedDelivery = {
      platform: input.platform,
      deliveryId: input.deliveryId,
      eventName: input.eventName,
      receivedAt: input.receivedAt,
      payload: input.payload,
      encoding: 'json',
      bodyDigest: input.bodyDigest ?? null,
    };
    const buf = encodeRecord(d);
    while (this.#backlogBytes > 0 && this.#backlogBytes + buf.length > this.#maxBacklogBytes) {
      await new Promise<void>((resolve) => this.#roomWaiters.push(resolve));
      if (this.#closing) throw new Error('the delivery journal is closed');
    }
    this.#backlogBytes += buf.length;
    this.#backlogCount++;
    const entry: Entry = { delivery: d, size: buf.length, segment: null };
    try {
      await new Promise<void>((resolve, reject) => {
        this.#appends.push({ entry, buf, resolve, reject });
        if (!this.#appending) {
          this.#appending = true;
          setImmediate(() => void this.#appendLoop());
        }
      });
    } catch (err) {
      this.#backlogBytes -= buf.length;
      this.#backlogCount--;
      this.#wakeRoom();
      throw err;
    }
  }

  #remember(key: string, appended: Promise<void>): void {
    this.#seen.set(key, appended);
    if (this.#seen.size > this.#rememberIds) {
      const oldest = this.#seen.keys().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    if (this.#seenBodies.size > this.#rememberIds) {
      const oldest = this.#seenBodies.keys().next().value;
      if (oldest !== undefined) this.#seenBodies.delete(oldest);
    }
  }

  /**
   * Writes the waiting appends as one group (in order: writes never overlap), then flushes that
   * group; the next group is written while the previous one flushes (up to MAX_FLUSHES at once),
   * so that the file system can commit them together. A group is acknowledged once a flush that
   * began after its write has finished.
   */
  async #appendLoop(): Promise<void> {
    while (this.#appends.length > 0) {
      if (this.#current.broken) await this.#rotate().catch(() => undefined);
      const segment = this.#current;
      if (segment.flushing.size >= MAX_FLUSHES) {
        await Promise.race(segment.flushing);
        continue;
      }
      const group = this.#appends.splice(0);
      try {
        if (!segment.fh) throw new Error('journal file is closed');
        const bufs = group.map((a) => a.buf);
        for (let i = 0; i < bufs.length; i += 512) await segment.fh.writev(bufs.slice(i, i + 512));
      } catch (err) {
        for (const a of group) a.reject(err);
        // What was written may end in a torn record: nothing may follow it in this file.
        segment.broken = true;
        continue;
      }
      for (const a of group) segment.bytes += a.buf.length;
      const flushed = this.#flushThenAcknowledge(segment, group);
      segment.flushing.add(flushed);
      void flushed.finally(() => segment.flushing.delete(flushed));
      if (segment.bytes >= this.#segmentBytes) await this.#rotate().catch(() => undefined);
    }
    this.#appending = false;
  }

  async #flushThenAcknowledge(segment: Segment, group: Append[]): Promise<void> {
    try {
      if (this.#sync) await segment.fh!.datasync();
    } catch (err) {
      for (const a of group) a.reject(err);
      segment.broken = true; // the next append starts a new file
      return;
    }
    for (const a of group) {
      a.entry.segment = segment;
      segment.records++;
      this.#pending.push(a.entry);
      a.resolve();
    }
    if (this.#pending.length >= this.#maxBatch) this.#filled?.();
    void this.#drainLoop();
  }

  /** Seals the current file (once its flushes are done) and starts the next. */
  async #rotate(): Promise<void> {
    const old = this.#current;
    this.#current = await DeliveryJournal.#create(this.#dir, old.seq + 1, this.#sync);
    await Promise.allSettled([...old.flushing]);
    await old.fh?.close();
    old.fh = null;
    await this.#dropIfStored(old);
  }

  async #dropIfStored(segment: Segment): Promise<void> {
    if (segment.fh === null && segment.stored === segment.records) await rm(segment.path, { force: true });
  }

  /** Stores pending deliveries in batches until none is left; a failed batch is retried. */
  async #drainLoop(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#pending.length > 0) {
        if (this.#pending.length < this.#maxBatch && this.#lingerMs > 0 && !this.#closing) await this.#linger();
        const batch = this.#pending.slice(0, this.#maxBatch);
        for (let attempt = 1; ; attempt++) {
          try {
            const stored = await this.#write(batch.map((e) => e.delivery));
            stored.forEach((s, i) => {
              const d = batch[i]!.delivery;
              if (s.duplicateOf !== undefined)
                this.#onReplay({ platform: d.platform, deliveryId: d.deliveryId, eventName: d.eventName, duplicateOf: s.duplicateOf });
            });
            break;
          } catch (err) {
            this.#onDrainError(err, attempt);
            // On close, what is left stays in the journal and is stored at the next start.
            if (this.#closing && attempt >= 3) {
              this.#gaveUp = true;
              return;
            }
            await new Promise((r) => setTimeout(r, Math.min(5000, 100 * 2 ** (attempt - 1))));
          }
        }
        this.#pending.splice(0, batch.length);
        const touched = new Set<Segment>();
        for (const e of batch) {
          this.#backlogBytes -= e.size;
          this.#backlogCount--;
          if (e.segment) {
            e.segment.stored++;
            touched.add(e.segment);
          }
        }
        for (const s of touched) await this.#dropIfStored(s).catch(() => undefined);
        this.#wakeRoom();
      }
    } finally {
      this.#draining = false;
      const idle = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of idle) w();
    }
  }

  /** Waits until a full batch is pending, the linger time is up, or the journal closes. */
  #linger(): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#filled = null;
        resolve();
      };
      const timer = setTimeout(done, this.#lingerMs);
      this.#filled = done;
    });
  }

  #wakeRoom(): void {
    const waiters = this.#roomWaiters;
    this.#roomWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Resolves once every delivery acknowledged so far is stored in the database (or, while closing,
   * once the drain has given up: what is left stays in the journal for the next start).
   */
  async settled(): Promise<void> {
    for (;;) {
      if (this.#appending || this.#current.flushing.size > 0) {
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      if (this.#pending.length === 0 && !this.#draining) return;
      if (this.#gaveUp && !this.#draining) return;
      const idle = new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
      void this.#drainLoop();
      await idle;
    }
  }

  /** Stops accepting, stores what is pending, and closes the current file (deleted once stored). */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    this.#wakeRoom();
    this.#filled?.();
    await this.settled();
    const segment = this.#current;
    await segment.fh?.close();
    segment.fh = null;
    await this.#dropIfStored(segment);
  }
}
