/** The backends the storage and queue suites run against: PGlite always, PostgreSQL when configured. */
import type { QueueOptions } from '../../src/storage/queue.ts';
import { openStore, type OpenedStore, type OpenStoreOptions } from '../../src/storage/open.ts';
import { freshDataDir, freshPgDatabase, pgTestUrl, removeDataDir } from './fixture.ts';

export interface TestDatabase {
  /** Opens (or reopens) the same database. */
  open(opts?: Partial<OpenStoreOptions>): Promise<OpenedStore>;
  cleanup(): Promise<void>;
}

export interface Backend {
  name: 'pglite' | 'postgres';
  skip: boolean;
  create(): Promise<TestDatabase>;
}

/** Fast queue settings: no backoff, no delay, quick polling, no maintenance timer. */
export const fastQueue: QueueOptions = {
  pollIntervalMs: 50,
  retryLimit: 2,
  retryDelaySeconds: 0,
  retryBackoff: false,
  stopTimeoutMs: 2000,
};

export const backends: Backend[] = [
  {
    name: 'pglite',
    skip: false,
    async create() {
      const dataDir = await freshDataDir();
      return {
        open: (opts) => openStore({ dataDir, ...opts, queue: { ...fastQueue, ...opts?.queue } }),
        cleanup: async () => removeDataDir(dataDir),
      };
    },
  },
  {
    name: 'postgres',
    skip: !pgTestUrl,
    async create() {
      const db = await freshPgDatabase();
      return {
        open: (opts) => openStore({ dataDir: '/nonexistent', ...opts, databaseUrl: db.url, queue: { ...fastQueue, ...opts?.queue } }),
        cleanup: db.drop,
      };
    },
  },
];

if (!pgTestUrl) console.warn('[storage tests] PostgreSQL suites skipped: set GATEHOUSE_TEST_PG_URL=postgres://… to run them');

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, stepMs = 20): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Stores deliveries through the inbox (a new delivery's row is its job, due now; the queue is woken). */
export async function storeDeliveries(
  opened: OpenedStore,
  jobs: readonly { platform: 'github' | 'gitlab' | 'slack'; deliveryId: string }[],
): Promise<void> {
  await Promise.all(
    jobs.map((j) =>
      opened.inbox.accept({
        platform: j.platform,
        deliveryId: j.deliveryId,
        eventName: 'ping',
        payload: '{}',
        receivedAt: new Date(),
      }),
    ),
  );
}
