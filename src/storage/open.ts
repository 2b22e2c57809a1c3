/**
 * Opens Gatehouse's database: embedded PGlite at `dataDir` by default, PostgreSQL when
 * `databaseUrl` is given. Runs migrations, then starts the job queue (row leases) on the same database.
 */
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { LeaseQueue, type QueueLogger, type QueueOptions } from './queue.ts';
import { DeliveryInbox, type DeliveryIntake } from './inbox.ts';
import { asReceived, pgliteDeliveryWriter } from './pglite-inbox.ts';
import { KyselyStore } from './kysely-store.ts';
import { migrateToLatest } from './migrations.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { DataDirPermissionError, makeDataDirPrivate, PRIVATE_DIR_MODE } from './data-dir-mode.ts';
import { KeyedMutex } from './mutex.ts';
import { PgliteDialect, PgliteGate } from './pglite-dialect.ts';
import { PgliteThread } from './pglite-thread.ts';
import { seedFromTemplate } from './pglite-template.mjs';
import type { Database } from './schema.ts';

export type StorageLogger = QueueLogger;
export type { QueueOptions };

export interface OpenStoreOptions {
  /** `postgres://…`; without it the embedded database at `dataDir` is used. */
  databaseUrl?: string;
  dataDir: string;
  logger?: StorageLogger;
  queue?: QueueOptions;
  /** PostgreSQL pool size for queries. Default 10. */
  poolMax?: number;
  /**
   * PostgreSQL connections for key locks (a held lock keeps its session's connection), apart from
   * the query pool so that lock holders can never take every connection their own work needs.
   * Default 24 (the worker's 16 jobs, the clock scheduler, chat-ops).
   */
  lockPoolMax?: number;
  /** PGlite: fsync the WAL before a write resolves. Default true. */
  syncWal?: boolean;
  /** PGlite: how long to wait for the data directory's previous owner to exit. Default 10 000 ms. */
  lockWaitMs?: number;
  /**
   * Open only a database that exists (the commands that read it): a missing embedded database is
   * NoDatabaseError instead of a new, empty one. Default false (the bot creates it).
   */
  existing?: boolean;
}

/** A reading command pointed at an embedded data dir that holds no database. */
export class NoDatabaseError extends Error {
  override name = 'NoDatabaseError';
}

/** PostgreSQL could not be reached or refused us: one line naming what to fix (never the password). */
export class DatabaseConnectError extends Error {
  override name = 'DatabaseConnectError';
}

/** `host:port/database as user` of a postgres:// URL, without its password. */
export function describePgUrl(url: string): { where: string; user: string; database: string } {
  try {
    const u = new URL(url);
    const database = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'postgres';
    return {
      where: `${u.hostname || 'localhost'}:${u.port || '5432'}`,
      user: decodeURIComponent(u.username) || '(default user)',
      database,
    };
  } catch {
    return { where: '(unparsable DATABASE_URL)', user: '(unknown)', database: '(unknown)' };
  }
}

/** The first failure of a PostgreSQL connection, as what the operator should fix. Other errors: as they are. */
export function pgConnectProblem(err: unknown, url: string): Error {
  const e = err as { code?: string; message?: string; errors?: unknown[] };
  // node's net reports an address that resolves to several (IPv4 and IPv6) as an AggregateError.
  const code = e.code ?? (Array.isArray(e.errors) ? (e.errors[0] as { code?: string } | undefined)?.code : undefined);
  const { where, user, database } = describePgUrl(url);
  const fix = (text: string): DatabaseConnectError => new DatabaseConnectError(text);
  switch (code) {
    case 'ECONNREFUSED':
      return fix(`cannot reach PostgreSQL at ${where}: connection refused; start PostgreSQL there, or fix DATABASE_URL`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fix(`cannot reach PostgreSQL at ${where}: the host name does not resolve; fix the host in DATABASE_URL`);
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return fix(`cannot reach PostgreSQL at ${where}: ${code}; check the network path to it, or fix DATABASE_URL`);
    case 'ECONNRESET':
      return fix(
        `PostgreSQL at ${where} closed the connection at once (ECONNRESET); is that port PostgreSQL? Check DATABASE_URL (and sslmode)`,
      );
    case '28P01':
      return fix(`PostgreSQL at ${where} refused the password of user "${user}"; fix the password in DATABASE_URL`);
    case '28000':
      return fix(
        `PostgreSQL at ${where} refused user "${user}" (${(e.message ?? '').slice(0, 160)}); allow it in pg_hba.conf, or fix DATABASE_URL`,
      );
    case '3D000':
      return fix(`PostgreSQL at ${where} has no database "${database}"; create it (createdb ${database}) or fix DATABASE_URL`);
    case '42501':
      return fix(
        `PostgreSQL user "${user}" may not create Gatehouse's tables in "${database}" (${(e.message ?? '').slice(0, 160)}); grant it CREATE on the schema, or use another user in DATABASE_URL`,
      );
    default:
      // pg's words when the server hangs up during the start-up exchange (no code).
      if (/^Connection terminated unexpectedly$/.test(e.message ?? ''))
        return fix(
          `PostgreSQL at ${where} closed the connection during start-up; is that port PostgreSQL (and does it take this sslmode)? Check DATABASE_URL`,
        );
      return err instanceof Error ? err : new Error(String(err));
  }
}

export interface OpenedStore {
  kind: 'pglite' | 'postgres';
  store: KyselyStore;
  db: Kysely<Database>;
  queue: LeaseQueue;
  /** Takes webhook deliveries: stored, queued and on disk when `accept` resolves. */
  inbox: DeliveryIntake;
  /** Stops the queue, then closes the database. Idempotent; `store.close()` does the same. */
  close(): Promise<void>;
}

/**
 * Where earlier versions journaled deliveries before storing them (the embedded database now
 * stores them before acknowledging). Left empty by a clean stop; removed at open.
 */
export const JOURNAL_DIR = 'gatehouse_journal';

/** Deliveries an earlier version journaled and never stored: refused, never dropped in silence. */
export class JournalLeftError extends Error {
  override name = 'JournalLeftError';
}

/** Removes an earlier version's empty journal folder; refuses to open over one that holds deliveries. */
function retireJournal(dataDir: string): void {
  const dir = join(dataDir, JOURNAL_DIR);
  if (!existsSync(dir)) return;
  const held = readdirSync(dir).filter((n) => statSync(join(dir, n)).size > 0);
  if (held.length > 0)
    throw new JournalLeftError(
      `${dir} holds ${held.length} delivery journal file(s) of an earlier Gatehouse that stopped before storing them: start that version once (it stores them and empties the folder), then this one`,
    );
  rmSync(dir, { recursive: true, force: true });
}

/** Session advisory locks use the two-int4 key space: (GATEHOUSE_LOCKS, hashtext(key)). */
const GATEHOUSE_LOCKS = 0x47484b4c;

export async function openStore(opts: OpenStoreOptions): Promise<OpenedStore> {
  return opts.databaseUrl ? openPostgres(opts, opts.databaseUrl) : openPglite(opts);
}

/** PGlite's WASM, compiled once per process (saves ~150 ms on every later open). */
let wasm: Promise<WebAssembly.Module> | null = null;
function pgliteWasm(): Promise<WebAssembly.Module> {
  wasm ??= (async () => {
    const dist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    return WebAssembly.compile(await readFile(join(dist, 'pglite.wasm')));
  })();
  return wasm;
}

/** Makes the data dir private (see data-dir-mode.ts), telling what it had to change. */
function privateDataDir(opts: OpenStoreOptions): void {
  const fixed = makeDataDirPrivate(opts.dataDir);
  if (fixed.length > 0)
    opts.logger?.warn(
      { dataDir: opts.dataDir, fixed: fixed.length, first: fixed.slice(0, 5) },
      `made ${fixed.length} entries of the embedded database private (0700/0600): they were open to other users`,
    );
}

/** The embedded database at `dataDir`, created (the directory too) unless `existing` asks for one that is there. */
function prepareDataDir(opts: OpenStoreOptions): void {
  const dir = opts.dataDir;
  if (opts.existing && !existsSync(join(dir, 'PG_VERSION'))) {
    throw new NoDatabaseError(`no database at ${dir}: start the bot once or set GATEHOUSE_DATA_DIR/DATABASE_URL`);
  }
  try {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    accessSync(dir, fsConstants.R_OK | fsConstants.W_OK | fsConstants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    const what =
      code === 'EROFS'
        ? 'it is on a read-only file system'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : code === 'ENOTDIR' || code === 'EEXIST'
            ? 'a file is in the way'
            : code;
    throw new DataDirPermissionError(
      `cannot write the embedded database's directory ${dir} (${what}); make it writable by the user Gatehouse runs as, or set GATEHOUSE_DATA_DIR (or DATABASE_URL)`,
    );
  }
}

async function openPglite(opts: OpenStoreOptions): Promise<OpenedStore> {
  prepareDataDir(opts);
  // Before anything is read or written there: a directory others could write is refused or fixed.
  privateDataDir(opts);
  const unlock = await lockDataDir(opts.dataDir, {
    waitMs: opts.lockWaitMs,
    onWait: (owner) =>
      opts.logger?.warn(
        { owner, dataDir: opts.dataDir },
        'the embedded database is still held by a process that is exiting; waiting for it',
      ),
  });
  // The database runs on its own thread: its work never blocks the HTTP event loop.
  let pglite: PgliteThread;
  try {
    // A new data dir starts as a copy of the install's template, when there is one (initdb: 5-6 s).
    const seeded = seedFromTemplate(opts.dataDir, {
      onRefused: (reason) =>
        opts.logger?.warn(
          { dataDir: opts.dataDir },
          `not using the embedded database template: ${reason}; creating the database with initdb`,
        ),
    });
    if (seeded) {
      opts.logger?.info({ dataDir: opts.dataDir }, 'new embedded database, created from the template');
      makeDataDirPrivate(opts.dataDir);
    }
    retireJournal(opts.dataDir);
    pglite = await PgliteThread.start(opts.dataDir, await pgliteWasm(), { syncWal: opts.syncWal });
  } catch (err) {
    unlock();
    throw err;
  }
  const gate = new PgliteGate(pglite);
  const db = new Kysely<Database>({ dialect: new PgliteDialect(gate) });
  let queue: LeaseQueue | undefined;
  try {
    // A commit must write its WAL before returning (a setting file could say otherwise): in
    // single-user PGlite nothing else would ever write it, and a killed process loses it.
    await gate.executeSql('set synchronous_commit = on');
    // A new WAL segment is created sparse instead of written full of zeros (16 MB of writes from
    // WebAssembly, a pause of a few hundred milliseconds on every segment switch).
    await gate.executeSql('set wal_init_zero = off');
    await migrateToLatest(db);
    // One process per data dir (its lock): leases found at start are a dead run's.
    queue = await LeaseQueue.start(db, { soleWorker: true, ...opts.queue }, opts.logger);
  } catch (err) {
    await gate.close();
    unlock();
    throw err;
  }
  const q = queue;
  // A delivery is stored (its row is its job) on disk before it is acknowledged.
  const inbox: DeliveryIntake = new DeliveryInbox(pgliteDeliveryWriter({ db, gate, queue: q }), asReceived);
  const locks = new KeyedMutex();
  const close = once(async () => {
    try {
      await inbox.close();
      await q.stop();
    } finally {
      await db.destroy();
      await gate.close();
      unlock();
    }
  });
  const store = new KyselyStore({ db, lock: (key, fn) => locks.run(key, fn), onClose: close });
  return { kind: 'pglite', store, db, queue: q, inbox, close: () => store.close() };
}

async function openPostgres(opts: OpenStoreOptions, url: string): Promise<OpenedStore> {
  const pool = new pg.Pool({ connectionString: url, max: opts.poolMax ?? 10, application_name: 'gatehouse' });
  pool.on('error', (err) => opts.logger?.error({ err }, 'idle database connection failed'));
  const lockPool = new pg.Pool({ connectionString: url, max: opts.lockPoolMax ?? 24, application_name: 'gatehouse-locks' });
  lockPool.on('error', (err) => opts.logger?.error({ err }, 'idle database connection (key locks) failed'));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let queue: LeaseQueue | undefined;
  try {
    try {
      await migrateToLatest(db);
    } catch (err) {
      // The first connection: an unreachable server or refused credentials say what to fix.
      throw pgConnectProblem(err, url);
    }
    queue = await LeaseQueue.start(db, opts.queue, opts.logger);
  } catch (err) {
    await db.destroy();
    await lockPool.end();
    throw err;
  }
  const q = queue;
  const locks = new KeyedMutex();
  const lock = <T>(key: string, fn: () => Promise<T>): Promise<T> =>
    locks.run(key, async () => {
      const client = await lockPool.connect();
      let broken: Error | undefined;
      try {
        await client.query('select pg_advisory_lock($1::int4, hashtext($2))', [GATEHOUSE_LOCKS, key]);
        return await fn();
      } finally {
        try {
          await client.query('select pg_advisory_unlock($1::int4, hashtext($2))', [GATEHOUSE_LOCKS, key]);
        } catch (err) {
          broken = err instanceof Error ? err : new Error(String(err));
        }
        // A client whose unlock failed is destroyed: its session, and so its lock, ends with it.
        client.release(broken);
      }
    });
  const close = once(async () => {
    try {
      await inbox.close();
      await q.stop();
    } finally {
      await db.destroy();
      await lockPool.end();
    }
  });
  const store = new KyselyStore({ db, lock, onClose: close });
  // A delivery is stored due (its row is its job): the claim loop is woken.
  const inbox: DeliveryIntake = new DeliveryInbox(async (batch) => {
    const accepted = await store.recordBatch(batch);
    q.jobsAdded();
    return accepted;
  });
  return { kind: 'postgres', store, db, queue: q, inbox, close: () => store.close() };
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | null = null;
  return () => (p ??= fn());
}
