/**
 * The clock scheduler: at every tick, claims the issues whose clocks owe a warning or a breach
 * (only those: the claim reads the due index), plans what they owe and carries it out. A claim is a
 * lease, so with several replicas each issue is handled by one; a crash mid-way lets the lease
 * expire and the next tick repeats the firing, whose comment is then found already there. On the
 * embedded database (one process) a dead run's claims are given up at the first tick instead.
 */
import type { Logger } from 'pino';
import { planClockTick, type Render } from '../core/plan.ts';
import type { Platform } from '../core/model.ts';
import type { PlatformAdapter } from '../ports/platform.ts';
import type { Store } from '../ports/store.ts';
import type { PolicyResolver } from '../policy/resolver.ts';
import type { Metrics } from '../ports/metrics.ts';
import { execute } from './execute.ts';
import { Periodic } from './periodic.ts';

export interface ClockSchedulerDeps {
  store: Store;
  resolver: PolicyResolver;
  render: Render;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  platforms: Partial<Record<Platform, PlatformAdapter>>;
  /** Issues claimed per round. Default 500. */
  batch?: number;
  /** How long a claim holds. Default 5 minutes. */
  leaseMs?: number;
  /**
   * Only this process fires clocks (the embedded database, locked to one process): claims found
   * at start were held by a run that died, and are given up rather than waited out.
   */
  soleWorker?: boolean;
}

export class ClockScheduler {
  readonly #periodic: Periodic<number>;

  constructor(private readonly deps: ClockSchedulerDeps) {
    this.#periodic = new Periodic(
      () => this.#tick(),
      (err) => this.deps.logger.error({ err }, 'clock tick failed'),
    );
  }

  /** Runs now (what was missed while down is handled at start), then every `intervalMs`. */
  start(intervalMs: number): void {
    this.#periodic.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.#periodic.stop();
  }

  /** One pass; runs never overlap. */
  tick(): Promise<number> {
    return this.#periodic.run();
  }

  #released = false;

  async #tick(): Promise<number> {
    const { store, logger } = this.deps;
    if (this.deps.soleWorker && !this.#released) {
      const n = await store.releaseClockClaims();
      this.#released = true;
      if (n > 0) logger.warn({ issues: n }, 'clocks claimed by the previous run (which stopped before firing them) are taken up again');
    }
    let handled = 0;
    // Bounded rounds: a tick never spins, whatever the data.
    for (let round = 0; round < 100; round++) {
      const now = this.deps.now();
      const due = await store.claimDueClocks(now, this.deps.batch ?? 500, this.deps.leaseMs ?? 300_000);
      if (due.length === 0) return handled;
      for (const row of due) {
        try {
          await store.withKeyLock(row.issueKey, async () => {
            const fresh = await store.getClocks(row.issueKey);
            if (!fresh) return;
            const adapter = this.deps.platforms[fresh.target.repo.platform];
            if (!adapter) throw new Error(`${fresh.target.repo.platform} is not configured`);
            const forge = await adapter.forgeFor(fresh.installationId);
            const { policy } = await this.deps.resolver.forRepo(fresh.target.repo, forge);
            const now = this.deps.now();
            const tools = [...new Set(fresh.clocks.map((c) => c.tool).filter((t): t is string => t !== null))];
            const since = new Date(now.getTime() - policy.tooling.repeatedMisses.windowDays * 86_400_000);
            const recentMisses = await store.countMisses(tools, since);
            const actions = planClockTick(fresh.target, fresh.clocks, { policy, render: this.deps.render, now, recentMisses });
            await execute(actions, {
              forge,
              store,
              metrics: this.deps.metrics,
              now: this.deps.now,
              deliveryId: null,
              installationId: fresh.installationId,
            });
          });
          handled++;
        } catch (err) {
          // The claim lapses and a later tick tries again.
          logger.warn({ issue: row.issueKey, err: err instanceof Error ? err.message : String(err) }, 'clock firing failed; will retry');
        }
      }
    }
    return handled;
  }
}
