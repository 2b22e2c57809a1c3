/**
 * The embedded driver's durability, in one place: a write (a statement outside a transaction, a
 * transaction's COMMIT, the inbox's one-message transaction, a multi-statement text)
 * resolves after the database thread flushed the WAL it wrote; a read, and a statement inside an
 * open transaction, flush nothing. And a data dir holding an earlier version's delivery journal is
 * refused, never opened over deliveries it would drop.
 */
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Kysely, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JOURNAL_DIR, openStore } from '../../src/storage/open.ts';
import { PgliteDialect, PgliteGate } from '../../src/storage/pglite-dialect.ts';
import { PgliteThread } from '../../src/storage/pglite-thread.ts';
import type { Database } from '../../src/storage/schema.ts';
import { freshDataDir, removeDataDir } from './fixture.ts';

async function wasm(): Promise<WebAssembly.Module> {
  const dist = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  return WebAssembly.compile(await readFile(join(dist, 'pglite.wasm')));
}

describe('the embedded driver flushes every write before it resolves', () => {
  let dataDir: string;
  let thread: PgliteThread;
  let gate: PgliteGate;
  let db: Kysely<Database>;

  beforeEach(async () => {
    dataDir = await freshDataDir();
    thread = await PgliteThread.start(dataDir, await wasm());
    gate = new PgliteGate(thread);
    db = new Kysely<Database>({ dialect: new PgliteDialect(gate) });
  });
  afterEach(async () => {
    await db.destroy();
    await gate.close();
    removeDataDir(dataDir);
  });

  const row = (id: string) => ({
    platform: 'github',
    delivery_id: id,
    event_name: 'issues',
    payload: '{}',
    received_at: new Date(),
    status: 'pending',
    last_error: null,
  });

  it('a write outside a transaction, a commit, a one-message transaction and a multi-statement text each flush once; reads never', async () => {
    const flushes = () => thread.walFlushes();
    await db.insertInto('deliveries').values(row('w-0')).execute(); // the first flush covers what start-up wrote
    let n = await flushes();

    await db.insertInto('deliveries').values(row('w-1')).execute();
    expect(await flushes()).toBe(++n);

    await db.selectFrom('deliveries').selectAll().execute();
    await sql`select count(*) from deliveries`.execute(db);
    expect(await flushes()).toBe(n);

    let inside = -1;
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('deliveries').values(row('w-2')).execute();
      await trx.insertInto('deliveries').values(row('w-3')).execute();
      inside = await flushes();
    });
    expect(inside).toBe(n); // nothing flushed before the commit
    expect(await flushes()).toBe(++n);

    await gate.transaction([{ text: `update deliveries set status = 'done' where delivery_id = $1`, params: ['w-1'] }]);
    expect(await flushes()).toBe(++n);

    await gate.executeSql(`begin; update deliveries set attempts = 1 where delivery_id = 'w-2'; commit;`);
    expect(await flushes()).toBe(++n);

    // A write that changes nothing moves no WAL: nothing to flush.
    await db.updateTable('deliveries').set({ status: 'done' }).where('delivery_id', '=', 'none').execute();
    expect(await flushes()).toBe(n);
  });

  it('flushes nothing when told not to (tests that never need durability)', async () => {
    await db.destroy();
    await gate.close();
    thread = await PgliteThread.start(dataDir, await wasm(), { syncWal: false });
    gate = new PgliteGate(thread);
    db = new Kysely<Database>({ dialect: new PgliteDialect(gate) });
    await db.insertInto('deliveries').values(row('n-1')).execute();
    expect(await thread.walFlushes()).toBe(0);
  });
});

describe("an earlier version's delivery journal", () => {
  it('is refused while it holds deliveries, and removed once empty', async () => {
    const dataDir = await freshDataDir();
    try {
      const journal = join(dataDir, JOURNAL_DIR);
      mkdirSync(journal, { recursive: true });
      writeFileSync(join(journal, '0000000000000001.journal'), Buffer.from([0, 0, 0, 4, 1, 2, 3, 4, 5, 6, 7, 8]));
      await expect(openStore({ dataDir })).rejects.toThrow(
        /holds 1 delivery journal file\(s\) of an earlier Gatehouse.*start that version once/,
      );
      writeFileSync(join(journal, '0000000000000001.journal'), '');
      const opened = await openStore({ dataDir });
      await opened.close();
      expect(existsSync(journal)).toBe(false);
    } finally {
      removeDataDir(dataDir);
    }
  });
});
