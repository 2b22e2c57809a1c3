/**
 * The clock scheduler on its background job, against the real store (PGlite; PostgreSQL too when
 * GATEHOUSE_TEST_PG_URL is set): a started scheduler fires a clock when it falls due rather than at
 * its next interval, and two schedulers working one database (two processes on PostgreSQL) fire each
 * clock once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { issueKey, type IssueRef, type RepoRef } from '../../src/core/model.ts';
import type { ClockState } from '../../src/core/outage/clocks.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { ClockScheduler } from '../../src/jobs/clock-scheduler.ts';
import type { CommentOutcome, Forge } from '../../src/ports/forge.ts';
import type { PlatformAdapter } from '../../src/ports/platform.ts';
import type { ClockRow } from '../../src/ports/clock-store.ts';
import type { Store } from '../../src/ports/store.ts';
import { PolicyResolver } from '../../src/policy/resolver.ts';
import { createRenderer } from '../../src/render/templates.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import type { OpenedStore } from '../../src/storage/open.ts';
import { backends, waitFor, type TestDatabase } from '../storage/backends.ts';

const repo: RepoRef = { platform: 'github', fullName: 'acme/scanner', id: 7, defaultBranch: 'main' };

/** Issue `n`'s SLO clock, running, with its warning at `warnAt` (its breach an hour later). */
function clockRow(n: number, warnAt: Date): ClockRow {
  const target: IssueRef = { repo, number: n, kind: 'issue' };
  const clock: ClockState = {
    kind: 'slo',
    criticality: 'critical',
    targetMinutes: 120,
    openedAt: new Date(warnAt.getTime() - 3_600_000),
    consumedMinutes: 0,
    runningSince: new Date(warnAt.getTime() - 3_600_000),
    stopped: false,
    warnAt,
    dueAt: new Date(warnAt.getTime() + 3_600_000),
    warnedAt: null,
    breachedAt: null,
    tool: null,
  };
  return { issueKey: issueKey(target), target, installationId: 1, clocks: [clock], nextFireAt: warnAt };
}

/** A forge that records the comments it is asked for, and has no policy file. */
class RecordingForge implements Forge {
  readonly platform = 'github' as const;
  readonly comments: string[] = [];
  async ensureLabels(): Promise<void> {}
  async ensureComment(target: IssueRef): Promise<CommentOutcome> {
    this.comments.push(issueKey(target));
    return 'created';
  }
  async readFile(): Promise<string | null> {
    return null;
  }
  async listChangedPaths(): Promise<string[]> {
    return [];
  }
  async requestReview(): Promise<void> {}
  async labelAddedBy(): Promise<null> {
    return null;
  }
}

function scheduler(store: Store, forge: Forge, now: () => Date, batch?: number): ClockScheduler {
  const adapter: PlatformAdapter = { translate: () => ({ kind: 'ignored', reason: 'test' }), forgeFor: async () => forge };
  return new ClockScheduler({
    store,
    resolver: new PolicyResolver({ policy: defaultPolicy, source: 'built-in default' }),
    render: createRenderer(),
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    now,
    platforms: { github: adapter },
    ...(batch ? { batch } : {}),
  });
}

describe.each(backends)('the clock scheduler ($name)', (backend) => {
  let database: TestDatabase;
  let opened: OpenedStore[];

  beforeEach(async () => {
    if (backend.skip) return;
    database = await backend.create();
    opened = [await database.open()];
  });
  afterEach(async () => {
    if (backend.skip) return;
    for (const o of opened) await o.close();
    await database.cleanup();
  });

  it.skipIf(backend.skip)('a started scheduler fires a clock when it falls due, not at its next interval', async () => {
    const forge = new RecordingForge();
    const clocks = scheduler(opened[0]!.store, forge, () => new Date());
    const due = new Date(Date.now() + 1_500);
    await opened[0]!.store.saveClocks(clockRow(1, due));
    // An interval of a minute: the clock falls due long before the next one.
    clocks.start(60_000);
    try {
      await waitFor(() => forge.comments.length > 0, 10_000);
    } finally {
      await clocks.stop();
    }
    expect(Date.now() - due.getTime()).toBeLessThan(5_000);
    expect(forge.comments).toEqual(['github:acme/scanner#1']);
  });

  it.skipIf(backend.skip)('two schedulers working one database fire each clock once', async () => {
    const issues = 60;
    const at = new Date('2026-12-02T10:00:00Z');
    const first = opened[0]!.store;
    for (let n = 1; n <= issues; n++) await first.saveClocks(clockRow(n, at));
    // On PostgreSQL, a second process's store; the embedded database has one process, one store.
    const second = backend.name === 'postgres' ? (opened[opened.push(await database.open()) - 1]!.store as Store) : first;
    const forge = new RecordingForge();
    const now = () => new Date(at.getTime() + 1_000);
    const [a, b] = await Promise.all([scheduler(first, forge, now, 5).tick(), scheduler(second, forge, now, 5).tick()]);
    expect(a + b).toBe(issues);
    expect(forge.comments).toHaveLength(issues);
    expect(new Set(forge.comments).size).toBe(issues);
    // Nothing is owed twice: later runs of either find nothing to do.
    expect(await scheduler(second, forge, now).tick()).toBe(0);
    expect(forge.comments).toHaveLength(issues);
  });
});
