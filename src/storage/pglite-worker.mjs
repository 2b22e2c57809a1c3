// Runs the embedded database (PGlite, PostgreSQL in WebAssembly) on its own thread, so that query
// work never blocks the HTTP event loop. Plain JavaScript: worker threads load it without a
// TypeScript loader. The main side is src/storage/pglite-thread.ts.
//
// Durability lives here, in one place: PGlite runs PostgreSQL with fsync off and its NodeFS has
// no fsync, so a commit's WAL is written with write(2) (it survives a killed process) but never
// flushed to the device (pglite#1065). When a message ends outside a transaction block and the
// WAL moved, the WAL segments written since the last flush are fsynced (with the pg_wal folder when
// a segment was added) before the answer is posted: every write, whoever makes it (the delivery
// inbox, the stores, the job queue), is on disk when its call resolves.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { deflateRawSync } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';
import { NodeFS } from '@electric-sql/pglite/nodefs';

const port = parentPort;
if (!port) throw new Error('pglite-worker.mjs runs as a worker thread');

/** Errors cross the thread boundary as plain data, keeping PostgreSQL's fields (code, detail, …). */
function serialize(err) {
  const out = { message: err instanceof Error ? err.message : String(err) };
  if (err && typeof err === 'object') {
    for (const k of ['name', 'code', 'detail', 'hint', 'schema', 'table', 'column', 'constraint', 'severity', 'position']) {
      if (err[k] !== undefined) out[k] = err[k];
    }
  }
  return out;
}

/**
 * A parameter `{ deflate: text }` is stored as the raw DEFLATE of the text, base64-encoded, with
 * the options the main side passed (payload-codec.ts): deliveries' payloads are deflated here, on
 * the database thread, rather than on the thread that acknowledges webhooks.
 */
function param(p) {
  if (p !== null && typeof p === 'object' && typeof p.deflate === 'string') {
    return deflateRawSync(p.deflate, workerData.deflateOptions).toString('base64');
  }
  return p;
}

const SEGMENT = /^[0-9A-F]{24}$/;

/** Flushes a file or a folder (a new file's name) to disk. */
async function fsyncPath(path) {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** The WAL flushed up to where the last flush found it; see the top of this file. */
class WalSync {
  /** The last flush's WAL position and segment (the first flush takes every segment there is). */
  #lsn = null;
  #segment = '0'.repeat(24);
  /** An open handle on the segment flushed last: fsync without an open and a close each time. */
  #handle = null;
  /** Flushes done (read by tests through the `walFlushes` operation). */
  flushes = 0;

  constructor(dataDir) {
    this.walDir = join(dataDir, 'pg_wal');
  }

  /** Fsyncs the WAL written since the last flush; nothing when the position did not move. */
  async sync(pg) {
    const r = await pg.query('select pg_current_wal_lsn()::text as lsn, pg_walfile_name(pg_current_wal_lsn()) as name');
    const { lsn, name } = r.rows[0] ?? {};
    if (typeof name !== 'string' || !SEGMENT.test(name)) throw new Error('could not read the WAL position');
    if (lsn === this.#lsn) return;
    const from = this.#segment;
    if (from === name && this.#handle?.name === name) {
      await this.#handle.fh.datasync();
    } else {
      const names = (await readdir(this.walDir)).filter((n) => SEGMENT.test(n) && n >= from && n <= name).sort();
      for (const n of names) {
        if (n !== name) {
          await fsyncPath(join(this.walDir, n));
          continue;
        }
        if (this.#handle?.name !== n) {
          await this.close();
          this.#handle = { name: n, fh: await open(join(this.walDir, n), 'r') };
        }
        await this.#handle.fh.sync();
      }
      await fsyncPath(this.walDir);
    }
    this.#lsn = lsn;
    this.#segment = name;
    this.flushes++;
  }

  async close() {
    const h = this.#handle;
    this.#handle = null;
    await h?.fh.close();
  }
}

/** Statements that never need a flush of their own: reads, and the parts of a transaction before its end. */
const READ_OR_OPEN = /^\s*(select|show|explain|values|begin|start\s+transaction|savepoint|release|set)\b/i;

const wal = workerData.syncWal === false ? null : new WalSync(workerData.dataDir);

let db;
try {
  db = new PGlite({
    fs: new NodeFS(workerData.dataDir),
    pgliteWasmModule: workerData.wasmModule,
    // PostgreSQL's buffer pool lives in this thread's WebAssembly memory, which never shrinks:
    // initdb's 128 MB would fill up over hours of traffic and the process grow with it. A smaller
    // pool is full soon after start (memory flat from then on); the OS's page cache holds the rest.
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${workerData.sharedBuffers}`],
  });
  await db.waitReady;
  port.postMessage({ type: 'ready' });
} catch (err) {
  port.postMessage({ type: 'init-error', error: serialize(err) });
}

port.on('message', async (m) => {
  try {
    let result = null;
    // A multi-statement text (`exec`) may hold a whole transaction: always checked.
    const mayWrite = m.op === 'transaction' || m.op === 'exec' || (m.op === 'query' && !READ_OR_OPEN.test(m.text));
    if (m.op === 'query') {
      const r = await db.query(m.text, m.params);
      result = { rows: r.rows, affectedRows: r.affectedRows };
    } else if (m.op === 'exec') {
      const rs = await db.exec(m.text);
      result = rs.map((r) => ({ rows: r.rows, affectedRows: r.affectedRows }));
    } else if (m.op === 'transaction') {
      // Several statements in one message and one transaction.
      result = [];
      await db.exec('begin');
      try {
        for (const s of m.statements) {
          const r = await db.query(s.text, s.params.map(param));
          result.push({ rows: r.rows, affectedRows: r.affectedRows });
        }
        await db.exec('commit');
      } catch (err) {
        await db.exec('rollback').catch(() => undefined);
        throw err;
      }
    } else if (m.op === 'walFlushes') {
      result = wal?.flushes ?? 0;
    } else if (m.op === 'close') {
      await db.close();
      await wal?.close();
    } else {
      throw new Error(`unknown operation ${m.op}`);
    }
    if (wal && mayWrite && !db.isInTransaction()) await wal.sync(db);
    port.postMessage({ id: m.id, ok: true, result });
    if (m.op === 'close') port.close();
  } catch (err) {
    port.postMessage({ id: m.id, ok: false, error: serialize(err) });
  }
});
