/**
 * `gatehouse deliveries [--failed] [--json]` and `gatehouse deliveries retry <platform> <id>`:
 * the webhook deliveries that failed after every retry (the dead letters), and replaying one.
 * Reads the database the bot uses. The embedded database has one owner at a time, so there this
 * works only while the bot is stopped; with DATABASE_URL the bot may keep running (its worker
 * picks a replayed delivery up within its polling interval).
 *
 * `gatehouse deliveries show <platform> <id>`: one delivery and where its job stands (waiting,
 * running, completed, failed; attempts and hand-backs).
 *
 * A delivery's state (pending, done, ignored, failed) and its job (when the next attempt runs, who
 * holds it) are one row of the deliveries table: a replay is one update of it.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig, type Config } from '../config/env.ts';
import type { Platform } from '../core/model.ts';
import type { DeliveryStatus, StoredDelivery } from '../ports/deliveries.ts';
import type { OpenedStore } from '../storage/open.ts';

export interface DeliveriesIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

type DbConfig = Pick<Config, 'databaseUrl' | 'dataDir'>;

const platformArg = z.enum(['github', 'gitlab', 'slack']);

/** A failed delivery as listed. */
export interface ListedDelivery {
  platform: Platform;
  id: string;
  event: string;
  attempts: number;
  lastError: string | null;
  received: string;
}

const STATUSES: readonly DeliveryStatus[] = ['pending', 'done', 'ignored', 'failed'];

async function withStore<T>(config: DbConfig, io: DeliveriesIo, fn: (opened: OpenedStore) => Promise<T>): Promise<T | null> {
  const { openStore } = await import('../storage/open.ts');
  let opened: OpenedStore;
  try {
    // No long wait for the owner here: a running bot is the usual reason the directory is held.
    opened = await openStore({
      databaseUrl: config.databaseUrl,
      dataDir: config.dataDir,
      lockWaitMs: 1000,
      existing: true,
    });
  } catch (err) {
    if (err instanceof Error && err.name === 'DataDirBusyError') {
      io.err(`gatehouse deliveries: ${err.message} (on the embedded database this command works only while the bot is stopped)`);
      return null;
    }
    throw err;
  }
  try {
    return await fn(opened);
  } finally {
    await opened.close();
  }
}

export function listed(d: StoredDelivery): ListedDelivery {
  return {
    platform: d.platform,
    id: d.deliveryId,
    event: d.eventName,
    attempts: d.attempts,
    lastError: d.lastError,
    received: d.receivedAt.toISOString(),
  };
}

const oneLine = (s: string, max = 160): string => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

export async function listDeliveries(
  config: DbConfig,
  opts: { failed?: boolean; json?: boolean; limit?: number },
  io: DeliveriesIo,
): Promise<number> {
  const r = await withStore(config, io, async ({ store }) => {
    if (!opts.failed) {
      // Without --failed: how many deliveries are in each state.
      const counts = Object.fromEntries(await Promise.all(STATUSES.map(async (s) => [s, await store.countDeliveries(s)] as const)));
      if (opts.json) io.out(JSON.stringify(counts));
      else
        io.out(
          STATUSES.map((s) => `${s} ${counts[s]}`).join(', ') +
            (counts['failed'] ? ' (gatehouse deliveries --failed lists the failed ones)' : ''),
        );
      return 0;
    }
    const rows = (await store.listDeliveries('failed', opts.limit ?? 1000)).map(listed);
    if (opts.json) {
      io.out(JSON.stringify(rows));
      return 0;
    }
    if (rows.length === 0) {
      io.out('no failed deliveries');
      return 0;
    }
    for (const d of rows)
      io.out(
        `${d.platform}  ${d.id}  ${d.event}  attempts ${d.attempts}  received ${d.received}  error: ${oneLine(d.lastError ?? '(none recorded)')}`,
      );
    io.out(`${rows.length} failed; replay one with: gatehouse deliveries retry <platform> <id>`);
    return 0;
  });
  return r ?? 1;
}

export async function retryDelivery(config: DbConfig, platform: string, id: string, io: DeliveriesIo): Promise<number> {
  const p = platformArg.safeParse(platform);
  if (!p.success) {
    io.err(`gatehouse deliveries retry: unknown platform "${platform}" (github, gitlab or slack)`);
    return 1;
  }
  const r = await withStore(config, io, async ({ store, queue, kind }) => {
    const d = await store.getDelivery(p.data, id);
    if (!d) {
      io.err(`gatehouse deliveries retry: no ${p.data} delivery ${id}`);
      return 1;
    }
    if (d.status !== 'failed') {
      io.err(`gatehouse deliveries retry: ${p.data} delivery ${id} is ${d.status}, not failed; only failed deliveries are replayed`);
      return 1;
    }
    // One update of its row: pending again, attempts at 0, due now (its row is its job).
    if (!(await store.retryDelivery(p.data, id))) {
      io.err(`gatehouse deliveries retry: ${p.data} delivery ${id} changed while it was being replayed; look again`);
      return 1;
    }
    queue.jobsAdded();
    io.out(
      `${p.data} delivery ${id} (${d.eventName}) is pending again and queued; ${kind === 'postgres' ? 'a running bot processes it shortly' : 'the bot processes it when it starts'}`,
    );
    return 0;
  });
  return r ?? 1;
}

export async function showDelivery(
  config: DbConfig,
  platform: string,
  id: string,
  opts: { json?: boolean },
  io: DeliveriesIo,
): Promise<number> {
  const p = platformArg.safeParse(platform);
  if (!p.success) {
    io.err(`gatehouse deliveries show: unknown platform "${platform}" (github, gitlab or slack)`);
    return 1;
  }
  const r = await withStore(config, io, async ({ store, queue }) => {
    const d = await store.getDelivery(p.data, id);
    if (!d) {
      io.err(`gatehouse deliveries show: no ${p.data} delivery ${id}`);
      return 1;
    }
    const job = await queue.jobState({ platform: p.data, deliveryId: id });
    const shown = { ...listed(d), status: d.status, job: job?.state ?? null, handBacks: job?.handBacks ?? 0 };
    if (opts.json) {
      io.out(JSON.stringify(shown));
      return 0;
    }
    const jobLine = job
      ? `job ${job.state}${job.handBacks > 0 ? ` (handed back ${job.handBacks} time${job.handBacks === 1 ? '' : 's'} until its write turn)` : ''}`
      : d.status === 'pending'
        ? 'no job: it waits for its platform to be configured (queued again at a start with the platform on)'
        : 'no job';
    io.out(
      `${shown.platform}  ${shown.id}  ${shown.event}  ${shown.status}  ${jobLine}  attempts ${shown.attempts}  received ${shown.received}` +
        (shown.lastError ? `  last error: ${oneLine(shown.lastError)}` : ''),
    );
    return 0;
  });
  return r ?? 1;
}

export function registerDeliveries(program: Command, io: DeliveriesIo, setCode: (code: number) => void): void {
  const deliveries = program
    .command('deliveries')
    .description(
      'webhook deliveries: counts by state, or (--failed) the ones that failed after every retry (reads the database; on the embedded database only while the bot is stopped)',
    )
    .option('--failed', 'list the failed deliveries: platform, id, event, attempts, last error, received')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'at most this many', '1000')
    .action(async (o: { failed?: boolean; json?: boolean; limit: string }) => {
      setCode(await listDeliveries(loadConfig(), { failed: o.failed, json: o.json, limit: Number(o.limit) }, io));
    });
  deliveries
    .command('show')
    .description('one delivery: its state, where its job stands (waiting, running, completed, failed), attempts and last error')
    .argument('<platform>', 'github, gitlab or slack')
    .argument('<id>', "the delivery id (X-GitHub-Delivery, GitLab's Idempotency-Key or event UUID, Slack's event id)")
    .option('--json', 'print JSON')
    .action(async (platform: string, id: string, o: { json?: boolean }) => {
      // `--json` after the arguments is parsed as the parent command's option (the same name).
      const json = o.json === true || (deliveries.opts() as { json?: boolean }).json === true;
      setCode(await showDelivery(loadConfig(), platform, id, { json }, io));
    });
  deliveries
    .command('retry')
    .description('set a failed delivery back to pending and queue it again (on the embedded database only while the bot is stopped)')
    .argument('<platform>', 'github, gitlab or slack')
    .argument('<id>', 'the delivery id, as `gatehouse deliveries --failed` shows it')
    .action(async (platform: string, id: string) => {
      setCode(await retryDelivery(loadConfig(), platform, id, io));
    });
}
