// Runs the embedded database (PGlite, PostgreSQL in WebAssembly) on its own thread, so that query
// work never blocks the HTTP event loop. Plain JavaScript: worker threads load it without a
// TypeScript loader. The main side is src/storage/pglite-thread.ts.
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
    if (m.op === 'query') {
      const r = await db.query(m.text, m.params);
      result = { rows: r.rows, affectedRows: r.affectedRows };
    } else if (m.op === 'exec') {
      const rs = await db.exec(m.text);
      result = rs.map((r) => ({ rows: r.rows, affectedRows: r.affectedRows }));
    } else if (m.op === 'transaction') {
      // Several statements in one message and one transaction, then `after` outside it.
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
      for (const s of m.after) {
        const r = await db.query(s.text, s.params);
        result.push({ rows: r.rows, affectedRows: r.affectedRows });
      }
    } else if (m.op === 'close') {
      await db.close();
    } else {
      throw new Error(`unknown operation ${m.op}`);
    }
    port.postMessage({ id: m.id, ok: true, result });
    if (m.op === 'close') port.close();
  } catch (err) {
    port.postMessage({ id: m.id, ok: false, error: serialize(err) });
  }
});
