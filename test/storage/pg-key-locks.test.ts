/**
 * PostgreSQL key locks hold a session (one connection) for as long as they are held. More locks at
 * once than the query pool has connections, each holder running queries, must not starve the
 * holders of the connections their own work needs (they did: the worker's 16 jobs on a pool of 10
 * stopped for good). Needs GATEHOUSE_TEST_PG_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type OpenedStore } from '../../src/storage/open.ts';
import { freshPgDatabase, pgTestUrl } from './fixture.ts';

if (!pgTestUrl) console.warn('[pg-key-locks] skipped: set GATEHOUSE_TEST_PG_URL to a PostgreSQL server');

describe.skipIf(!pgTestUrl)('key locks on PostgreSQL', () => {
  let db: { url: string; drop: () => Promise<void> };
  let opened: OpenedStore;

  beforeAll(async () => {
    db = await freshPgDatabase();
    opened = await openStore({ databaseUrl: db.url, dataDir: 'unused', poolMax: 2 });
  }, 30_000);
  afterAll(async () => {
    await opened?.close();
    await db?.drop();
  });

  it('many keys held at once, each holder querying, all finish', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `github:o/r#${i}`);
    const done = await Promise.race([
      Promise.all(
        keys.map((key) =>
          opened.store.withKeyLock(key, async () => {
            await new Promise((r) => setTimeout(r, 20));
            await opened.store.getClocks(key);
            return opened.store.countDeliveries('pending');
          }),
        ),
      ).then((r) => r.length),
      new Promise<string>((r) => setTimeout(() => r('stuck'), 10_000)),
    ]);
    expect(done).toBe(keys.length);
  }, 20_000);
});
