/**
 * A Kysely dialect over one PGlite instance. PGlite is a single connection, so every user
 * (Kysely queries, Kysely transactions, the inbox's batches) goes through one `PgliteGate`: a transaction
 * holds the gate from BEGIN to COMMIT and nothing else can interleave with it.
 *
 * Durable: a write (a statement outside a transaction, or a transaction's COMMIT) resolves once
 * its WAL is on disk; the database thread flushes it (pglite-worker.mjs), so no caller has to.
 */
import {
  CompiledQuery,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { Mutex } from './mutex.ts';

export interface SqlResult {
  rows: Record<string, unknown>[];
  affectedRows?: number;
}

export interface Statement {
  text: string;
  params: unknown[];
}

/**
 * A `transaction` parameter the database thread replaces by the raw DEFLATE of `deflate`,
 * base64-encoded (payload-codec.ts `deflatePayload`): work kept off the caller's thread.
 */
export interface DeflateParam {
  deflate: string;
}

/** What the gate needs of PGlite (the worker-thread proxy). */
export interface SqlEngine {
  query<R>(text: string, params?: unknown[]): Promise<{ rows: R[]; affectedRows?: number }>;
  exec(text: string): Promise<{ rows: unknown[]; affectedRows?: number }[]>;
  /**
   * `statements` in one transaction with one round trip, resolved once committed and on disk: the
   * results of each in order. Rolled back on the first error. Parameters may be `DeflateParam`s.
   */
  transaction(statements: Statement[]): Promise<{ rows: unknown[]; affectedRows?: number }[]>;
  close(): Promise<void>;
}

export class PgliteGate {
  readonly #mutex = new Mutex();
  #closed = false;

  constructor(readonly pglite: SqlEngine) {}

  /** Holds the connection exclusively until the returned function is called. */
  async hold(): Promise<() => void> {
    const release = await this.#mutex.acquire();
    if (this.#closed) {
      release();
      throw new Error('database is closed');
    }
    return release;
  }

  async run<T>(fn: (pg: SqlEngine) => Promise<T>): Promise<T> {
    const release = await this.hold();
    try {
      return await fn(this.pglite);
    } finally {
      release();
    }
  }

  /**
   * One statement with parameters → extended protocol (`query`); text without parameters may
   * hold several statements → simple protocol (`exec`), answering with the last result's rows.
   */
  async executeSql(text: string, values?: readonly unknown[]): Promise<SqlResult> {
    return this.run(async (pg) => {
      if (values && values.length > 0) {
        const r = await pg.query<Record<string, unknown>>(text, [...values]);
        return { rows: r.rows, affectedRows: r.affectedRows };
      }
      try {
        const results = await pg.exec(text);
        const last = results.at(-1);
        return { rows: (last?.rows ?? []) as Record<string, unknown>[], affectedRows: last?.affectedRows };
      } catch (err) {
        // A failed multi-statement text can leave its explicit BEGIN open on the only connection.
        await pg.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  /** See `SqlEngine.transaction`; holds the gate for the whole of it. */
  transaction(statements: Statement[]): Promise<{ rows: unknown[]; affectedRows?: number }[]> {
    return this.run((pg) => pg.transaction(statements));
  }

  /** Waits for queued work, then closes PGlite. */
  async close(): Promise<void> {
    const release = await this.#mutex.acquire();
    try {
      if (this.#closed) return;
      this.#closed = true;
      await this.pglite.close();
    } finally {
      release();
    }
  }
}

class PgliteConnection implements DatabaseConnection {
  constructor(
    readonly pglite: SqlEngine,
    readonly release: () => void,
  ) {}

  async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    const r = await this.pglite.query<R>(q.sql, [...q.parameters]);
    const affected = r.affectedRows;
    const isWrite =
      q.query.kind === 'InsertQueryNode' ||
      q.query.kind === 'UpdateQueryNode' ||
      q.query.kind === 'DeleteQueryNode' ||
      q.query.kind === 'MergeQueryNode';
    return isWrite && affected !== undefined ? { rows: r.rows, numAffectedRows: BigInt(affected) } : { rows: r.rows };
  }

  async *streamQuery<R>(q: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    yield await this.executeQuery<R>(q);
  }
}

class PgliteDriver implements Driver {
  constructor(readonly gate: PgliteGate) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.gate.hold();
    return new PgliteConnection(this.gate.pglite, release);
  }

  async beginTransaction(conn: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const parts = ['begin'];
    if (settings.isolationLevel) parts.push(`isolation level ${settings.isolationLevel}`);
    if (settings.accessMode) parts.push(settings.accessMode);
    await conn.executeQuery(CompiledQuery.raw(parts.join(' ')));
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(conn: DatabaseConnection, name: string): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw(`savepoint ${quoteIdent(name)}`));
  }

  async rollbackToSavepoint(conn: DatabaseConnection, name: string): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw(`rollback to savepoint ${quoteIdent(name)}`));
  }

  async releaseSavepoint(conn: DatabaseConnection, name: string): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw(`release savepoint ${quoteIdent(name)}`));
  }

  async releaseConnection(conn: DatabaseConnection): Promise<void> {
    if (conn instanceof PgliteConnection) conn.release();
  }

  /** The gate's owner closes PGlite; destroying the Kysely instance does not. */
  async destroy(): Promise<void> {}
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export class PgliteDialect implements Dialect {
  constructor(readonly gate: PgliteGate) {}
  createAdapter(): PostgresAdapter {
    return new PostgresAdapter();
  }
  createDriver(): Driver {
    return new PgliteDriver(this.gate);
  }
  createQueryCompiler(): PostgresQueryCompiler {
    return new PostgresQueryCompiler();
  }
  createIntrospector(db: Kysely<unknown>): PostgresIntrospector {
    return new PostgresIntrospector(db);
  }
}
