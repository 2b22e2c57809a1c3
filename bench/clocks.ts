/**
 * bench/clocks: N open SLO/RTO clocks in the real store, and the cost of the scheduler's tick.
 *
 *   npx tsx bench/clocks.ts [--clocks 100000] [--due 1000] [--batch 200] [--reps 20] [--repos 200]
 *                           [--database-url postgres://…] [--keep]
 *
 * Embedded database (PGlite) in a temp dir by default; PostgreSQL with `--database-url` or
 * GATEHOUSE_BENCH_PG_URL (it must hold no clocks other than this bench's, which it removes after).
 *
 * The data: N tooling outages (`tool::outage`, criticality rotating critical/high/medium) opened in
 * business time over the last days before `T` (a Wednesday 16:00 UTC), each recently enough that its
 * SLO warning point lies after `T` — so at `T` all N clocks are open and none is due, and their
 * warning points are spread (distinct to the millisecond) over the business hours after `T`. Clocks are computed by the real core
 * (`reconcileClocks` under the default policy) and saved with `store.saveClocks`.
 *
 * Prints: scheduling time (core alone, storage alone), a tick when none is due (median/max of
 * `--reps`), a tick when `--due` are due (total, per issue, forge calls seen), the query plans of
 * the due read and of the claim, memory and database size. Figures, not a test: it exits 1 only when
 * a sanity check fails (wrong counts, a clock due at T, the due read not on clocks_due_idx).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { pino } from 'pino';
import {
  addBusinessMinutes,
  businessMinutesBetween,
  calendarOf,
  clockTargets,
  warnMinutes,
  type Criticality,
} from '../src/core/clock/index.ts';
import { issueKey, type IssueRef, type IssueSnapshot, type RepoRef } from '../src/core/model.ts';
import { fireClock, nextFireAt, reconcileClocks, type ClockState } from '../src/core/outage/clocks.ts';
import { defaultPolicy } from '../src/core/policy/load.ts';
import { ClockScheduler } from '../src/jobs/clock-scheduler.ts';
import type { CommentOutcome, Forge } from '../src/ports/forge.ts';
import type { PlatformAdapter } from '../src/ports/platform.ts';
import type { ClockRow } from '../src/ports/clock-store.ts';
import type { Store } from '../src/ports/store.ts';
import { PolicyResolver } from '../src/policy/resolver.ts';
import { createRenderer } from '../src/render/templates.ts';
import { createMetrics } from '../src/server/metrics.ts';
import { claimDueClocksQuery } from '../src/storage/clock-store.ts';
import { openStore } from '../src/storage/open.ts';
import type { Database } from '../src/storage/schema.ts';

const { values } = parseArgs({
  options: {
    clocks: { type: 'string', default: '100000' },
    due: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '200' },
    reps: { type: 'string', default: '20' },
    repos: { type: 'string', default: '200' },
    'database-url': { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const N = Number(values.clocks);
const DUE = Number(values.due);
const BATCH = Number(values.batch);
const REPS = Number(values.reps);
const REPOS = Number(values.repos);
const DATABASE_URL = values['database-url'] ?? (process.env['GATEHOUSE_BENCH_PG_URL'] || undefined);
if (![N, DUE, BATCH, REPS, REPOS].every((n) => Number.isInteger(n) && n > 0) || DUE > N) {
  console.error(
    'usage: bench/clocks.ts [--clocks N] [--due D ≤ N] [--batch B] [--reps R] [--repos P] [--database-url postgres://…] [--keep]',
  );
  process.exit(2);
}

// ─── helpers ──────────────────────────────────────────────────────────────────────────────────

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ms = (start: number): number => performance.now() - start;
const f1 = (n: number): string => n.toFixed(1);
const f2 = (n: number): string => n.toFixed(2);
const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const line = (label: string, value: string): void => console.log(`  ${label.padEnd(44)} ${value}`);
const section = (title: string): void => console.log(`\n${title}`);
const failures: string[] = [];
const findings: string[] = [];
const check = (ok: boolean, what: string): string => {
  if (!ok) failures.push(what);
  return ok ? 'yes' : `NO (${what})`;
};

function memory(): { rss: number; heapUsed: number } {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

function dirSize(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirSize(p) : e.isFile() ? statSync(p).size : 0;
  }
  return total;
}

/** A Store that times every call (withKeyLock is timed around the work it wraps). */
function timedStore(inner: Store): { store: Store; stats: Map<string, { calls: number; ms: number }>; reset(): void } {
  const stats = new Map<string, { calls: number; ms: number }>();
  const store = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function' || typeof prop !== 'string') return v;
      return async (...args: unknown[]) => {
        const t = performance.now();
        try {
          return await (v as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } finally {
          const s = stats.get(prop) ?? { calls: 0, ms: 0 };
          s.calls++;
          s.ms += ms(t);
          stats.set(prop, s);
        }
      };
    },
  });
  return { store, stats, reset: () => stats.clear() };
}

/** A forge that records what it is asked and does nothing. */
class RecordingForge implements Forge {
  readonly platform = 'github' as const;
  labels = 0;
  comments = 0;
  reads = 0;
  other = 0;
  added = new Map<string, number>();
  async ensureLabels(_target: IssueRef, add: readonly string[]): Promise<void> {
    this.labels++;
    for (const l of add) this.added.set(l, (this.added.get(l) ?? 0) + 1);
  }
  async ensureComment(): Promise<CommentOutcome> {
    this.comments++;
    return 'created';
  }
  async readFile(): Promise<string | null> {
    this.reads++;
    return null;
  }
  async listChangedPaths(): Promise<string[]> {
    this.other++;
    return [];
  }
  async requestReview(): Promise<void> {
    this.other++;
  }
  async labelAddedBy(): Promise<null> {
    this.reads++;
    return null;
  }
  reset(): void {
    this.labels = this.comments = this.reads = this.other = 0;
    this.added.clear();
  }
}

// ─── the data ─────────────────────────────────────────────────────────────────────────────────

const policy = defaultPolicy;
const calendar = calendarOf(policy.clocks, policy.timeZone);
/** The bench's "now": Wednesday, in business hours. Every clock is open and none is due at T. */
const T = new Date('2026-11-18T16:00:00.000Z');
const ANCHOR = new Date('2026-11-02T09:00:00.000Z'); // a Monday opening, well before any issue
const anchorToT = businessMinutesBetween(calendar, ANCHOR, T);
const CRITICALITIES: Criticality[] = ['critical', 'high', 'medium'];
const sloWarn = Object.fromEntries(
  CRITICALITIES.map((c) => [c, warnMinutes(policy.clocks, clockTargets(policy.clocks, c).slo!)]),
) as Record<Criticality, number>;
const repos: RepoRef[] = Array.from({ length: REPOS }, (_, r) => ({
  platform: 'github',
  fullName: `gatehouse-bench/tool-${r}`,
  id: 10_000 + r,
  defaultBranch: 'main',
}));
const KEY_PREFIX = 'github:gatehouse-bench/';

/**
 * Issue i: criticality by rotation; opened `back` business minutes before T, where back is a share
 * (0.02…0.999, distinct per issue) of its SLO warning point, so its warning falls after T.
 */
function issue(i: number): IssueSnapshot {
  const criticality = CRITICALITIES[i % 3]!;
  const k = Math.floor(i / 3);
  const perKind = Math.ceil(N / 3);
  const share = 0.02 + (0.979 * (k + 0.5)) / perKind; // of the warning point still ahead at T
  const back = sloWarn[criticality] * (1 - share);
  const createdAt = addBusinessMinutes(calendar, ANCHOR, anchorToT - back);
  const repo = repos[i % REPOS]!;
  return {
    ref: { repo, number: i + 1 },
    title: `Tool ${i % REPOS} is down (${i})`,
    body: 'The tool stopped working.',
    labels: ['tool::outage', `criticality::${criticality}`],
    state: 'open',
    author: { login: 'reporter', isBot: false },
    assignees: [],
    url: `https://github.com/${repo.fullName}/issues/${i + 1}`,
    createdAt: createdAt.toISOString(),
  };
}

function earliest(clocks: readonly ClockState[]): Date | null {
  const moments = clocks.map(nextFireAt).filter((d): d is Date => d !== null);
  return moments.length > 0 ? new Date(Math.min(...moments.map((d) => d.getTime()))) : null;
}

async function planLines(db: Kysely<Database>, query: RawBuilder<unknown>): Promise<string[]> {
  const r = await query.execute(db);
  return (r.rows as Record<string, string>[]).map((row) => row['QUERY PLAN']!);
}

const planText = (r: unknown): string => String((r as Record<string, unknown>)['QUERY PLAN']);

/** The statement claimDueClocks runs, as the store builds it. */
const claimQuery = (qdb: Kysely<Database>, now: Date) => claimDueClocksQuery(qdb, now, 500, 300_000);

class Rollback extends Error {}

/** EXPLAIN ANALYZE of the claim, in a transaction rolled back afterwards. */
async function explainAnalyzeClaim(qdb: Kysely<Database>, now: Date): Promise<string[]> {
  let lines: string[] = [];
  try {
    await qdb.transaction().execute(async (trx) => {
      lines = (await claimQuery(trx, now).explain(undefined, sql`analyze, buffers`)).map(planText);
      throw new Rollback();
    });
  } catch (err) {
    if (!(err instanceof Rollback)) throw err;
  }
  return lines;
}

// ─── run ──────────────────────────────────────────────────────────────────────────────────────

const dataDir = DATABASE_URL ? '/nonexistent' : mkdtempSync(join(tmpdir(), 'gatehouse-bench-clocks-'));
const openStarted = performance.now();
const opened = await openStore({ dataDir, databaseUrl: DATABASE_URL });
const openMs = ms(openStarted);
const { db } = opened;

async function cleanupBenchRows(): Promise<void> {
  await sql`delete from clocks where issue_key like ${`${KEY_PREFIX}%`}`.execute(db);
  await sql`delete from audit_log where issue_key like ${`${KEY_PREFIX}%`}`.execute(db);
}

try {
  if (opened.kind === 'postgres') {
    await cleanupBenchRows();
    const others = await sql<{ n: string }>`select count(*)::text as n from clocks`.execute(db);
    if (Number(others.rows[0]!.n) > 0)
      throw new Error('this PostgreSQL database holds other clocks: the tick would act on them; use an empty database');
  }
  const baseline = memory();

  console.log(
    `bench/clocks — ${int(N)} open clocks, ${int(DUE)} due, ${opened.kind}${opened.kind === 'pglite' ? ` (${dataDir})` : ''}, Node ${process.version}`,
  );
  console.log(`  T (none due) = ${T.toISOString()}; default policy (UTC, Mon–Fri 09–17); ${REPOS} repositories; saves ${BATCH} at a time`);
  line('open database (migrations, queue)', `${f1(openMs)} ms`);

  // 1. Due times from the core alone.
  section('Scheduling');
  let started = performance.now();
  const rows: ClockRow[] = new Array(N);
  for (let i = 0; i < N; i++) {
    const snap = issue(i);
    const clocks = reconcileClocks(snap, [], policy, T);
    rows[i] = { issueKey: issueKey(snap.ref), target: snap.ref, installationId: 1, clocks, nextFireAt: earliest(clocks) };
  }
  const coreMs = ms(started);
  const fireAt = new Float64Array(N);
  for (let i = 0; i < N; i++) fireAt[i] = rows[i]!.nextFireAt?.getTime() ?? Number.NaN;
  const heldMem = memory();
  line(
    'core: reconcileClocks + nextFireAt',
    `${int(coreMs)} ms  (${int(N / (coreMs / 1000))} issues/s, ${f1((coreMs * 1000) / N)} µs each)`,
  );
  line('bench heap holding the N rows', mb(heldMem.heapUsed - baseline.heapUsed));

  // 2. Storage: saveClocks, BATCH concurrent at a time.
  started = performance.now();
  const batchMs: number[] = [];
  for (let i = 0; i < N; i += BATCH) {
    const b = performance.now();
    await Promise.all(rows.slice(i, i + BATCH).map((r) => opened.store.saveClocks(r)));
    batchMs.push(ms(b));
  }
  const saveMs = ms(started);
  rows.length = 0;
  const stored = Number(
    (await sql<{ n: string }>`select count(*)::text as n from clocks where next_fire_at is not null`.execute(db)).rows[0]!.n,
  );
  line('storage: saveClocks', `${int(saveMs)} ms  (${int(N / (saveMs / 1000))} clocks/s, ${f2((saveMs * 1000) / N)} ms per 1,000)`);
  line(`  per batch of ${BATCH}: median / max`, `${f1(median(batchMs))} / ${f1(Math.max(...batchMs))} ms`);
  line('schedule all (core + storage)', `${int(coreMs + saveMs)} ms  (${int(N / ((coreMs + saveMs) / 1000))} clocks/s)`);
  line('open clocks stored', `${int(stored)}  ${check(stored === N, `expected ${N} stored`)}`);
  const afterSchedule = memory();

  // The due moment: the DUE-th earliest warning (distinct by construction; counted exactly).
  const sorted = Float64Array.from(fireAt).sort();
  const minFire = sorted[0]!;
  const tDue = new Date(sorted[DUE - 1]!);
  let dueCount = 0;
  for (let i = 0; i < N; i++) if (fireAt[i]! <= tDue.getTime()) dueCount++;
  const noneDueCheck = minFire > T.getTime();

  // 3. Query plans: the tick must read only due rows.
  section('Due read: query plan (100,000 rows must not be scanned)');
  const explainDue = (now: Date) =>
    sql`explain select issue_key from clocks where next_fire_at is not null and next_fire_at <= ${now} order by next_fire_at limit 500`;
  let plan = await planLines(db, explainDue(T));
  let analyzed = false;
  if (!plan.some((l) => l.includes('clocks_due_idx'))) {
    console.log('  planner did not choose clocks_due_idx before statistics; plan was:');
    for (const l of plan) console.log(`    ${l}`);
    await sql`analyze clocks`.execute(db);
    analyzed = true;
    plan = await planLines(db, explainDue(T));
  }
  line('ran `analyze clocks` first', analyzed ? 'yes (the index was not chosen without it)' : 'no (not needed)');
  console.log('  select … where next_fire_at <= $now order by next_fire_at limit 500:');
  for (const l of plan) console.log(`    ${l}`);
  const usesIndex = plan.some((l) => /Index (Only )?Scan.*clocks_due_idx/.test(l)) && !plan.some((l) => l.includes('Seq Scan'));
  line('uses clocks_due_idx (Index Scan), no Seq Scan', check(usesIndex, 'due read is not an index scan'));
  // The scheduler's actual claim statement (the query claimDueClocks builds), plan only, then run
  // under EXPLAIN ANALYZE in a transaction that is rolled back (no claim is left behind).
  const claimPlan = (await claimQuery(db, T).explain()).map(planText);
  console.log('  claimDueClocks (update … where issue_key in (select … for update skip locked)):');
  for (const l of claimPlan) console.log(`    ${l}`);
  const claimSeq = claimPlan.some((l) => /Seq Scan on clocks/.test(l));
  line(
    'claim subquery reads clocks_due_idx',
    check(
      claimPlan.some((l) => l.includes('clocks_due_idx')),
      'claim subquery does not use the due index',
    ),
  );
  if (claimSeq)
    findings.push(
      'the claim UPDATE plans a Seq Scan on clocks for its outer side (hash join on issue_key) — see the explain analyze lines',
    );
  const outerPlanned = claimPlan.find((l) => /Scan (using \w+ )?on clocks\s*(\(|$)/.test(l.trim().replace(/^->\s+/, '')));
  line(
    'claim outer side (rows it updates)',
    claimSeq
      ? 'Seq Scan on clocks (hash join on issue_key IN (…))'
      : (outerPlanned
          ?.trim()
          .replace(/^->\s+/, '')
          .replace(/\s+\(cost=[^)]*\)/, '') ?? 'see plan'),
  );
  for (const [label, now] of [
    ['none due', T],
    [`${int(dueCount)} due`, tDue],
  ] as const) {
    const a = await planLines(
      db,
      sql`explain (analyze, buffers) select issue_key from clocks where next_fire_at is not null and next_fire_at <= ${now} order by next_fire_at limit 500`,
    );
    const scan = a.find((l) => l.includes('clocks_due_idx') || l.includes('Seq Scan')) ?? a[0]!;
    const buffers = a.find((l) => l.trim().startsWith('Buffers:'));
    const exec = a.find((l) => l.startsWith('Execution Time'));
    line(`explain analyze, ${label}`, `${scan.trim().replace(/\s+\(cost=[^)]*\)/, '')}`);
    line('', `${buffers?.trim() ?? ''}${buffers ? '; ' : ''}${exec ?? ''}`);
    const claim = await explainAnalyzeClaim(db, now);
    const outer =
      claim.find((l) => /(Seq|Index) Scan (using clocks_pkey )?on clocks( |$)/.test(l.trim().replace(/^->\s+/, ''))) ??
      '(outer scan not found)';
    line(
      `  the claim itself, ${label}: outer scan`,
      outer
        .trim()
        .replace(/^->\s+/, '')
        .replace(/\s+\(cost=[^)]*\)/, ''),
    );
    line('', `${claim.find((l) => l.startsWith('Execution Time')) ?? ''}`);
  }

  // Scheduler with the real core, store, policy resolver, renderer and metrics; a recording forge.
  const forge = new RecordingForge();
  const adapter: PlatformAdapter = {
    translate: () => ({ kind: 'ignored', reason: 'bench' }),
    forgeFor: async () => forge,
  };
  let now = T;
  const timed = timedStore(opened.store);
  const scheduler = new ClockScheduler({
    store: timed.store,
    resolver: new PolicyResolver({ policy, source: 'built-in default' }),
    render: createRenderer(),
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    now: () => now,
    platforms: { github: adapter },
  });

  // 4. A tick when none is due.
  section('Tick, none due');
  const noneMs: number[] = [];
  const noneHandled: number[] = [];
  for (let r = 0; r < REPS; r++) {
    const t = performance.now();
    noneHandled.push(await scheduler.tick());
    noneMs.push(ms(t));
  }
  line('earliest warning after T', `${f1((minFire - T.getTime()) / 1000)} s  ${check(noneDueCheck, 'a clock is due at T')}`);
  line(`tick, ${REPS} repetitions: median / max`, `${f2(median(noneMs))} / ${f2(Math.max(...noneMs))} ms`);
  line(
    'handled 0 every time, forge untouched',
    check(noneHandled.every((h) => h === 0) && forge.labels + forge.comments === 0, 'a tick at T handled something'),
  );

  // 5. A tick when DUE are due: what the core says they owe, from the stored rows.
  section(`Tick, ${int(dueCount)} due`);
  const dueRows = (await opened.store.listOpenClocks(dueCount + 10)).filter((r) => r.nextFireAt && r.nextFireAt <= tDue);
  const expected = { issues: dueRows.length, atRisk: 0, breached: 0 };
  for (const r of dueRows) {
    for (const c of r.clocks) {
      const f = fireClock(c, tDue).fired;
      if (f === 'at-risk') expected.atRisk++;
      if (f === 'breached') expected.breached++;
    }
  }
  const auditBefore = Number((await sql<{ n: string }>`select count(*)::text as n from audit_log`.execute(db)).rows[0]!.n);
  forge.reset();
  timed.reset();
  now = tDue;
  const beforeTick = process.cpuUsage();
  const eluBefore = performance.eventLoopUtilization();
  let t = performance.now();
  const handled = await scheduler.tick();
  const dueMs = ms(t);
  const cpu = process.cpuUsage(beforeTick);
  const elu = performance.eventLoopUtilization(eluBefore);
  const storeStats = new Map(timed.stats);
  const firings = expected.atRisk + expected.breached;
  line('now', `${tDue.toISOString()} (T + ${f1((tDue.getTime() - T.getTime()) / 1000)} s)`);
  line('tick', `${int(dueMs)} ms  (${f2(dueMs / Math.max(handled, 1))} ms per issue, ${int(handled / (dueMs / 1000))} issues/s)`);
  line('main thread busy during the tick', `${int(elu.active)} ms (${int(elu.utilization * 100)} % event-loop utilisation)`);
  line(
    'process CPU during the tick (all threads)',
    `${int((cpu.user + cpu.system) / 1000)} ms${opened.kind === 'pglite' ? ' (includes the embedded database thread)' : ''}`,
  );
  line('issues handled', `${int(handled)}  ${check(handled === dueCount && handled === expected.issues, `expected ${dueCount}`)}`);
  line('core says they owe', `${int(expected.atRisk)} at-risk, ${int(expected.breached)} breached`);
  line(
    'forge: ensureLabels / ensureComment calls',
    `${int(forge.labels)} / ${int(forge.comments)}  ${check(forge.labels === firings && forge.comments === firings, `expected ${firings} each`)}`,
  );
  line('labels added', [...forge.added].map(([l, n]) => `${l} ×${int(n)}`).join(', ') || 'none');
  line('forge: policy file reads (resolver cache)', `${int(forge.reads)} (${REPOS} repositories)`);
  const auditAfter = Number((await sql<{ n: string }>`select count(*)::text as n from audit_log`.execute(db)).rows[0]!.n);
  line('audit entries written', int(auditAfter - auditBefore));
  for (const [name, s] of [...storeStats].sort((a, b) => b[1].ms - a[1].ms)) {
    line(`  store.${name}`, `${int(s.calls)} calls, ${int(s.ms)} ms total, ${f2(s.ms / s.calls)} ms each`);
  }
  const stillDue = Number(
    (await sql<{ n: string }>`select count(*)::text as n from clocks where next_fire_at <= ${tDue}`.execute(db)).rows[0]!.n,
  );
  line('due rows left after the tick', `${int(stillDue)}  ${check(stillDue === 0, 'due rows left')}`);
  forge.reset();
  t = performance.now();
  const again = await scheduler.tick();
  line(
    'next tick at the same now (nothing owed twice)',
    `${f2(ms(t))} ms, handled ${again}  ${check(again === 0 && forge.comments === 0, 'a second tick acted')}`,
  );

  // 6. Memory and size.
  const afterTicks = memory();
  const sizes = (
    await sql<{ total: string; heap: string; idx: string; due_idx: string; dbsize: string }>`
      select pg_total_relation_size('clocks')::text as total, pg_relation_size('clocks')::text as heap,
             pg_indexes_size('clocks')::text as idx, pg_relation_size('clocks_due_idx')::text as due_idx,
             pg_database_size(current_database())::text as dbsize`.execute(db)
  ).rows[0]!;
  section('Memory and size');
  line('process RSS / heap used, after open', `${mb(baseline.rss)} / ${mb(baseline.heapUsed)}`);
  line('process RSS / heap used, after scheduling', `${mb(afterSchedule.rss)} / ${mb(afterSchedule.heapUsed)}`);
  line('process RSS / heap used, after the ticks', `${mb(afterTicks.rss)} / ${mb(afterTicks.heapUsed)}`);
  line(
    opened.kind === 'pglite'
      ? '  (RSS includes the embedded database thread; heap after a full GC)'
      : '  (heap after a full GC; PostgreSQL runs in its own processes)',
    '',
  );
  line('clocks table, total (heap + TOAST + indexes)', `${mb(Number(sizes.total))}  (${f2(Number(sizes.total) / N)} bytes per clock row)`);
  line(
    '  table heap / all indexes / clocks_due_idx',
    `${mb(Number(sizes.heap))} / ${mb(Number(sizes.idx))} / ${mb(Number(sizes.due_idx))}`,
  );
  line('whole database', mb(Number(sizes.dbsize)));
  if (opened.kind === 'pglite') line('data directory on disk', mb(dirSize(dataDir)));
} finally {
  if (opened.kind === 'postgres') await cleanupBenchRows().catch(() => undefined);
  await opened.close();
  if (opened.kind === 'pglite' && !values.keep) rmSync(dataDir, { recursive: true, force: true });
}

if (findings.length > 0) {
  console.log('\nFindings');
  for (const f of findings) console.log(`  - ${f}`);
}
if (failures.length > 0) {
  console.log(`\nchecks failed: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('\nall checks passed');
