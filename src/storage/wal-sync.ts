/**
 * Makes PGlite commits durable. PGlite runs PostgreSQL with `-F` (fsync off) and its NodeFS
 * has no fsync: a commit's WAL is written with write(2) (it survives a killed process) but is
 * never flushed to the device. `WalSync` fsyncs the WAL segments written since the last flush,
 * plus the pg_wal directory when a new segment appeared, so the write survives power loss too.
 *
 * Callers are serialised (the delivery inbox writes one batch at a time), so the segment flushed
 * last is a safe lower bound for where the next write starts.
 */
import { open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';

const SEGMENT = /^[0-9A-F]{24}$/;

/** The WAL segment holding the current write position (one row, column `name`). */
export const POSITION_SQL = 'select pg_walfile_name(pg_current_wal_lsn()) as name';

/** The segment name out of `POSITION_SQL`'s rows. */
export function segmentName(rows: readonly unknown[]): string {
  const row = rows[0];
  const name = row && typeof row === 'object' && 'name' in row ? row.name : undefined;
  if (typeof name !== 'string' || !SEGMENT.test(name)) throw new Error('could not read the WAL position');
  return name;
}

export class WalSync {
  readonly #walDir: string;
  /** The segment holding the position reached by the last flush. */
  #flushed: string | null = null;
  /** An open handle on that segment: fsync without open/close each time. */
  #handle: { name: string; fh: FileHandle } | null = null;

  constructor(dataDir: string) {
    this.#walDir = join(dataDir, 'pg_wal');
  }

  /** Name of the WAL segment holding the current write position. */
  async position<DB>(db: Kysely<DB>): Promise<string> {
    const r = await sql.raw(POSITION_SQL).execute(db);
    return segmentName(r.rows);
  }

  /** Takes the current position as flushed: writes before it are not this object's to flush. */
  async start<DB>(db: Kysely<DB>): Promise<void> {
    this.#flushed ??= await this.position(db);
  }

  /**
   * Fsyncs every segment from the last flushed one up to `to` (a position read after the write,
   * with `POSITION_SQL`). `start` must have run: the last flush is where the next write begins.
   */
  async flushTo(to: string): Promise<void> {
    const from = this.#flushed;
    if (from === null) throw new Error('WalSync.start was not called');
    await this.flush(from, to);
    this.#flushed = to;
  }

  /** Runs `write`, then fsyncs every WAL segment it may have touched. */
  async around<DB, T>(db: Kysely<DB>, write: () => Promise<T>): Promise<T> {
    const from = this.#flushed ?? (await this.position(db));
    const result = await write();
    const to = await this.position(db);
    await this.flush(from, to);
    this.#flushed = to;
    return result;
  }

  async flush(from: string, to: string): Promise<void> {
    if (from === to && this.#handle?.name === to) {
      await this.#handle.fh.datasync();
      return;
    }
    const names = (await readdir(this.#walDir)).filter((n) => SEGMENT.test(n) && n >= from && n <= to).sort();
    for (const n of names) {
      if (n === to) {
        await this.#switchTo(n);
        await this.#handle!.fh.sync();
      } else {
        await fsyncPath(join(this.#walDir, n));
      }
    }
    await fsyncPath(this.#walDir);
  }

  async #switchTo(name: string): Promise<void> {
    if (this.#handle?.name === name) return;
    await this.close();
    this.#handle = { name, fh: await open(join(this.#walDir, name), 'r') };
  }

  async close(): Promise<void> {
    const h = this.#handle;
    this.#handle = null;
    await h?.fh.close();
  }
}

/** Flushes a file or a directory (a new file's name) to disk. */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
