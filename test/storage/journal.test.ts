/**
 * The delivery journal, against an in-memory writer: acknowledged means on disk, every
 * acknowledged delivery reaches the writer (once the drain runs, or at the next open), repeats
 * are answered without a second copy, and a slow database holds acknowledgements back.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { open as openFile, type FileHandle } from 'node:fs/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DeliveryInput } from '../../src/ports/store.ts';
import { crc32 } from 'node:zlib';
import { decodeRecords, DeliveryJournal, encodeRecord } from '../../src/storage/journal.ts';
import { decodePayload, encodeDelivery, type EncodedDelivery } from '../../src/storage/payload-codec.ts';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-journal-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  vi.restoreAllMocks();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** FileHandle's prototype, to make a write or a flush fail or stall. */
async function fileHandleProto(): Promise<FileHandle> {
  const path = join(tempDir(), 'probe');
  const fh = await openFile(path, 'w');
  await fh.close();
  return Object.getPrototypeOf(fh) as FileHandle;
}

const delivery = (id: string, payload = `{"id":"${id}","text":"é ✓ \\n"}`): DeliveryInput => ({
  platform: 'github',
  deliveryId: id,
  eventName: 'issues',
  payload,
  receivedAt: new Date('2026-11-20T10:00:00.000Z'),
});
/** A delivery's journal record. */
const record = (id: string, payload?: string): Buffer => encodeRecord(encodeDelivery(delivery(id, payload)));

/** An in-memory database: keeps what it was given; can be paused or made to fail. */
class FakeDatabase {
  readonly stored = new Map<string, EncodedDelivery>();
  readonly batches: number[] = [];
  failures = 0;
  #gate: Promise<void> | null = null;
  #open: (() => void) | null = null;

  pause(): void {
    this.#gate = new Promise((resolve) => (this.#open = resolve));
  }
  resume(): void {
    this.#open?.();
    this.#gate = null;
  }

  readonly write = async (batch: EncodedDelivery[]): Promise<{ inserted: boolean }[]> => {
    if (this.#gate) await this.#gate;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('database answered 500');
    }
    this.batches.push(batch.length);
    return batch.map((d) => {
      const fresh = !this.stored.has(d.deliveryId);
      if (fresh) this.stored.set(d.deliveryId, d);
      return { inserted: fresh };
    });
  };
}

const journalFiles = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith('.journal'));
const journaledIds = (dir: string): string[] =>
  journalFiles(dir).flatMap((n) => decodeRecords(readFileSync(join(dir, n))).deliveries.map((d) => d.deliveryId));

describe('journal records', () => {
  it('round-trip a delivery, payload byte for byte', () => {
    const d = encodeDelivery(delivery('r-1', '{"body":"line\\nbreak, quote \\" and ünïcödé 🚀"}'));
    const { deliveries, validBytes } = decodeRecords(encodeRecord(d));
    expect(deliveries).toEqual([d]);
    expect(d.encoding).toBe('json');
    expect(validBytes).toBe(encodeRecord(d).length);
  });

  it('carry a large payload deflated, and give it back as received', () => {
    const big = JSON.stringify({ body: 'ünïcödé 🚀 '.repeat(500) });
    const [d] = decodeRecords(record('big', big)).deliveries;
    expect(d?.encoding).toBe('deflate-base64');
    expect(record('big', big).length).toBeLessThan(big.length / 4);
    expect(decodePayload(d!.payload, d!.encoding)).toBe(big);
  });

  it('read a record written without an encoding as plain JSON', () => {
    const body = Buffer.from(
      `${JSON.stringify({ platform: 'github', deliveryId: 'old', eventName: 'issues', receivedAt: '2026-11-20T10:00:00.000Z' })}\n{"id":"old"}`,
    );
    const header = Buffer.alloc(8);
    header.writeUInt32BE(body.length, 0);
    header.writeUInt32BE(crc32(body), 4);
    // Records of earlier versions carry no body digest: they are not checked for replays.
    expect(decodeRecords(Buffer.concat([header, body])).deliveries).toEqual([
      { ...delivery('old', '{"id":"old"}'), encoding: 'json', bodyDigest: null },
    ]);
  });

  it('keep the body digest of a record', () => {
    const d = { ...delivery('dg', '{"id":"dg"}'), encoding: 'json' as const, bodyDigest: 'f'.repeat(64) };
    expect(decodeRecords(encodeRecord(d)).deliveries).toEqual([d]);
  });

  it('stop at a torn tail and at a corrupt record, keeping what came before', () => {
    const a = record('a');
    const b = record('b');
    const torn = Buffer.concat([a, b.subarray(0, b.length - 3)]);
    expect(decodeRecords(torn).deliveries.map((d) => d.deliveryId)).toEqual(['a']);
    const corrupt = Buffer.concat([a, b, a]);
    const at = a.length + 12; // a byte inside b's body
    corrupt.writeUInt8(corrupt.readUInt8(at) ^ 0xff, at);
    expect(decodeRecords(corrupt).deliveries.map((d) => d.deliveryId)).toEqual(['a']);
  });
});

describe('DeliveryJournal', () => {
  it('acknowledges only once the delivery is in the journal file, then stores it and drops the file', async () => {
    const dir = tempDir();
    const db = new FakeDatabase();
    db.pause();
    const { journal } = await DeliveryJournal.open(dir, { write: db.write });
    expect(await journal.accept(delivery('d-1'))).toEqual({ inserted: true });
    expect(journaledIds(dir)).toEqual(['d-1']); // on disk before the database has it
    expect(db.stored.size).toBe(0);
    db.resume();
    await journal.settled();
    expect([...db.stored.keys()]).toEqual(['d-1']);
    await journal.close();
    expect(journalFiles(dir)).toEqual([]);
  });

  it('keeps a large payload as received (no deflating on the acknowledging thread): file and writer get the JSON', async () => {
    const dir = tempDir();
    const db = new FakeDatabase();
    db.pause();
    const { journal } = await DeliveryJournal.open(dir, { write: db.write });
    const big = JSON.stringify({ body: 'é ✓ '.repeat(1000) });
    await journal.accept(delivery('big', big));
    const [onDisk] = journalFiles(dir).flatMap((n) => decodeRecords(readFileSync(join(dir, n))).deliveries);
    expect(onDisk).toMatchObject({ deliveryId: 'big', encoding: 'json', payload: big });
    db.resume();
    await journal.settled();
    expect(db.stored.get('big')).toMatchObject({ encoding: 'json', payload: big });
    await journal.close();
  });

  it('answers a repeated delivery id (two at once, then a third) without a second copy', async () => {
    const dir = tempDir();
    const db = new FakeDatabase();
    const { journal } = await DeliveryJournal.open(dir, { write: db.write });
    const pair = await Promise.all([journal.accept(delivery('dup')), journal.accept(delivery('dup'))]);
    expect(pair.map((r) => r.inserted).sort()).toEqual([false, true]);
    expect(await journal.accept(delivery('dup'))).toEqual({ inserted: false });
    await journal.settled();
    expect(db.batches.reduce((a, b) => a + b, 0)).toBe(1);
    await journal.close();
  });

  it('stores concurrent deliveries in batches', async () => {
    const dir = tempDir();
    const db = new FakeDatabase();
    db.pause();
    const { journal } = await DeliveryJournal.open(dir, { write: db.write, maxBatch: 50 });
    await Promise.all(Array.from({ length: 120 }, (_, i) => journal.accept(delivery(`b-${i}`))));
    db.resume();
    await journal.settled();
    expect(db.stored.size).toBe(120);
    expect(Math.max(...db.batches)).toBe(50);
    expect(db.batches.length).toBeLessThan(10);
    await journal.close();
  });

  it('lets a batch fill for the linger time, stores a full one at once, and does not wait when closing', async () => {
    const dir = tempDir();
    const db = new FakeDatabase();
    const { journal } = await DeliveryJournal.open(dir, { write: db.write, maxBatch: 40, lingerMs: 1000 });
    // arriving one by one, faster than the linger: one batch, not one write each
    for (let i = 0; i < 10; i++) await journal.accept(delivery(`l-${i}`));
    expect(db.stored.size).toBe(0);
    await new Promise((r) => setTimeout(r, 1300));
    expect(db.batches).toEqual([10]);
    // a full batch does not wait
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 40 }, (_, i) => journal.accept(delivery(`f-${i}`))));
    while (db.stored.size < 50 && performance.now() - t0 < 2000) await new Promise((r) => setTimeout(r, 5));
    expect(performance.now() - t0).toBeLessThan(600);
    expect(db.batches).toEqual([10, 40]);
    // nor does close
    await journal.accept(delivery('last'));
    const t1 = performance.now();
    await journal.close();
    expect(performance.now() - t1).toBeLessThan(600);
    expect(db.stored.has('last')).toBe(true);
  });

  it('holds acknowledgements back while the backlog is full, and lets them through as it drains', async () => {
    const dir = tempDir();
    const db = new FakeDatabase();
    db.pause();
    const size = record('x-0').length;
    const { journal } = await DeliveryJournal.open(dir, { write: db.write, maxBacklogBytes: size * 2 });
    await journal.accept(delivery('x-0'));
    await journal.accept(delivery('x-1'));
    let third = false;
    const pending = journal.accept(delivery('x-2')).then(() => (third = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(third).toBe(false);
    expect(journal.backlogBytes).toBe(size * 2);
    expect(journal.backlog()).toEqual({ deliveries: 2, bytes: size * 2 });
    db.resume();
    await pending;
    await journal.settled();
    expect([...db.stored.keys()].sort()).toEqual(['x-0', 'x-1', 'x-2']);
    expect(journal.backlog()).toEqual({ deliveries: 0, bytes: 0 });
    await journal.close();
  });

  it('retries a batch the database refused, losing nothing', async () => {
    const dir = tempDir();
    const db = new FakeDatabase();
    db.failures = 2;
    const errors: number[] = [];
    const { journal } = await DeliveryJournal.open(dir, { write: db.write, onDrainError: (_e, attempt) => errors.push(attempt) });
    await journal.accept(delivery('retry-1'));
    await journal.settled();
    expect(errors).toEqual([1, 2]);
    expect([...db.stored.keys()]).toEqual(['retry-1']);
    await journal.close();
  });

  it('at open, stores what a previous run left (ignoring a torn tail) before taking new deliveries', async () => {
    const dir = tempDir();
    const left = Buffer.concat([record('old-1'), record('old-2')]);
    const torn = record('never-acknowledged').subarray(0, 20);
    writeFileSync(join(dir, '0000000000000007.journal'), Buffer.concat([left, torn]));
    const db = new FakeDatabase();
    const { journal, recovered } = await DeliveryJournal.open(dir, { write: db.write });
    expect(recovered).toBe(2);
    expect([...db.stored.keys()]).toEqual(['old-1', 'old-2']);
    expect(journalFiles(dir)).toEqual(['0000000000000008.journal']); // numbering goes on
    await journal.close();
  });

  it('keeps the files when the database refuses them at open', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, '0000000000000001.journal'), record('kept'));
    const db = new FakeDatabase();
    db.failures = 1;
    await expect(DeliveryJournal.open(dir, { write: db.write })).rejects.toThrow('database answered 500');
    expect(journaledIds(dir)).toEqual(['kept']);
  });

  it('on close with the database down, keeps what is not stored for the next start', async () => {
    const dir = tempDir();
    const db = new FakeDatabase();
    db.failures = 1_000;
    const { journal } = await DeliveryJournal.open(dir, { write: db.write });
    await journal.accept(delivery('stranded'));
    await journal.close();
    expect(journaledIds(dir)).toEqual(['stranded']);
    await expect(journal.accept(delivery('late'))).rejects.toThrow('closed');
    const next = new FakeDatabase();
    const reopened = await DeliveryJournal.open(dir, { write: next.write });
    expect([...next.stored.keys()]).toEqual(['stranded']);
    await reopened.journal.close();
  });

  it('writes the next group while the previous one flushes: a later delivery need not wait for a slow flush', async () => {
    const proto = await fileHandleProto();
    const real = proto.datasync;
    let stall: (() => void) | null = null;
    let calls = 0;
    vi.spyOn(proto, 'datasync').mockImplementation(async function (this: FileHandle) {
      if (calls++ === 0) await new Promise<void>((resolve) => (stall = resolve));
      return real.call(this);
    });
    const dir = tempDir();
    const db = new FakeDatabase();
    const { journal } = await DeliveryJournal.open(dir, { write: db.write, lingerMs: 0 });
    const order: string[] = [];
    const first = journal.accept(delivery('slow')).then(() => order.push('slow'));
    while (!stall) await new Promise((r) => setTimeout(r, 1));
    await journal.accept(delivery('quick')).then(() => order.push('quick'));
    expect(order).toEqual(['quick']); // acknowledged while the first flush is still running
    (stall as () => void)();
    await first;
    expect(order).toEqual(['quick', 'slow']);
    await journal.settled();
    expect([...db.stored.keys()].sort()).toEqual(['quick', 'slow']);
    await journal.close();
  });

  it.each(['writev', 'datasync'] as const)(
    'when a %s fails: that delivery is refused (the sender retries), later ones go to a new file',
    async (method) => {
      const proto = await fileHandleProto();
      vi.spyOn(proto, method).mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' }));
      const dir = tempDir();
      const db = new FakeDatabase();
      const { journal } = await DeliveryJournal.open(dir, { write: db.write });
      const before = journalFiles(dir);
      await expect(journal.accept(delivery('refused'))).rejects.toThrow('EIO');
      expect(await journal.accept(delivery('refused'))).toEqual({ inserted: true }); // the retry is taken
      expect(await journal.accept(delivery('next'))).toEqual({ inserted: true });
      expect(journalFiles(dir)).not.toContain(before[0]); // the failed file was sealed and dropped
      await journal.settled();
      expect([...db.stored.keys()].sort()).toEqual(['next', 'refused']);
      await journal.close();
      expect(journalFiles(dir)).toEqual([]);
    },
  );

  it('seals a full file and deletes it once everything in it is stored', async () => {
    const dir = tempDir();
    const db = new FakeDatabase();
    db.pause();
    const size = record('s-0').length;
    const { journal } = await DeliveryJournal.open(dir, { write: db.write, segmentBytes: size * 3 });
    for (let i = 0; i < 7; i++) await journal.accept(delivery(`s-${i}`));
    expect(journalFiles(dir).length).toBeGreaterThanOrEqual(3);
    expect(journaledIds(dir).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `s-${i}`).sort());
    db.resume();
    await journal.settled();
    expect(journalFiles(dir).length).toBe(1); // only the open one
    await journal.close();
    expect(journalFiles(dir)).toEqual([]);
  });
});
