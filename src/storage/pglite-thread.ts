/**
 * The main side of the PGlite worker thread: the same query/exec/close calls, answered by messages.
 * A write resolves once its WAL is on disk (pglite-worker.mjs flushes it; `syncWal: false` skips
 * that for tests that never need durability).
 */
import { Worker } from 'node:worker_threads';
import { z } from 'zod';
import { DEFLATE_OPTIONS } from './payload-codec.ts';
import type { SqlEngine, Statement } from './pglite-dialect.ts';

const errorSchema = z.object({ message: z.string() }).catchall(z.unknown());
const replySchema = z.union([
  z.object({ type: z.literal('ready') }),
  z.object({ type: z.literal('init-error'), error: errorSchema }),
  z.object({ id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({ id: z.number(), ok: z.literal(false), error: errorSchema }),
]);

/** The embedded database's buffer pool (PostgreSQL's shared_buffers): see pglite-worker.mjs. */
export const SHARED_BUFFERS = '8MB';

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };

function revive(e: z.infer<typeof errorSchema>): Error {
  return Object.assign(new Error(e.message), e);
}

export class PgliteThread implements SqlEngine {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #next = 1;
  #exited: Error | null = null;

  private constructor(worker: Worker) {
    this.#worker = worker;
  }

  static start(dataDir: string, wasmModule: WebAssembly.Module, opts: { syncWal?: boolean } = {}): Promise<PgliteThread> {
    const worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), {
      workerData: { dataDir, wasmModule, deflateOptions: DEFLATE_OPTIONS, sharedBuffers: SHARED_BUFFERS, syncWal: opts.syncWal !== false },
    });
    const thread = new PgliteThread(worker);
    return new Promise((resolve, reject) => {
      worker.on('message', (raw: unknown) => {
        const m = replySchema.parse(raw);
        if ('type' in m) {
          if (m.type === 'ready') resolve(thread);
          else reject(revive(m.error));
          return;
        }
        const p = thread.#pending.get(m.id);
        if (!p) return;
        thread.#pending.delete(m.id);
        if (m.ok) p.resolve(m.result);
        else p.reject(revive(m.error));
      });
      const fail = (err: Error): void => {
        thread.#exited = err;
        for (const p of thread.#pending.values()) p.reject(err);
        thread.#pending.clear();
        reject(err);
      };
      worker.on('error', (err) => fail(err));
      worker.on('exit', (code) => fail(new Error(`the database thread exited (code ${code})`)));
    });
  }

  #call(
    message:
      { op: 'query' | 'exec' | 'close' | 'walFlushes'; text?: string; params?: unknown[] } | { op: 'transaction'; statements: Statement[] },
  ): Promise<unknown> {
    if (this.#exited) return Promise.reject(this.#exited);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ id, ...message });
    });
  }

  async query<R>(text: string, params: unknown[] = []): Promise<{ rows: R[]; affectedRows?: number }> {
    return (await this.#call({ op: 'query', text, params })) as { rows: R[]; affectedRows?: number };
  }

  async exec(text: string): Promise<{ rows: unknown[]; affectedRows?: number }[]> {
    return (await this.#call({ op: 'exec', text })) as { rows: unknown[]; affectedRows?: number }[];
  }

  async transaction(statements: Statement[]): Promise<{ rows: unknown[]; affectedRows?: number }[]> {
    return (await this.#call({ op: 'transaction', statements })) as { rows: unknown[]; affectedRows?: number }[];
  }

  /** How many times the database thread has flushed the WAL to disk. */
  async walFlushes(): Promise<number> {
    return z.number().parse(await this.#call({ op: 'walFlushes' }));
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    await this.#call({ op: 'close' });
    await this.#worker.terminate();
  }
}
