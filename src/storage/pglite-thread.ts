/** The main side of the PGlite worker thread: the same query/exec/close calls, answered by messages. */
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

  static start(dataDir: string, wasmModule: WebAssembly.Module): Promise<PgliteThread> {
    const worker = new Worker(new URL('./pglite-worker.mjs', import.meta.url), {
      workerData: { dataDir, wasmModule, deflateOptions: DEFLATE_OPTIONS, sharedBuffers: SHARED_BUFFERS },
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
      | { op: 'query' | 'exec' | 'close'; text?: string; params?: unknown[] }
      | { op: 'transaction'; statements: Statement[]; after: Statement[] },
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

  async transaction(statements: Statement[], after: Statement[] = []): Promise<{ rows: unknown[]; affectedRows?: number }[]> {
    return (await this.#call({ op: 'transaction', statements, after })) as { rows: unknown[]; affectedRows?: number }[];
  }

  async close(): Promise<void> {
    if (this.#exited) return;
    await this.#call({ op: 'close' });
    await this.#worker.terminate();
  }
}
