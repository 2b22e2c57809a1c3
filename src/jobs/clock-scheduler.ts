/**
 * The clock scheduler, a background job (background-job.ts): at every run it claims the issues
 * whose clocks owe a warning or a breach (only those: the claim reads the due index), plans what
 * they owe and carries it out. A claim is a lease (storage/leases.ts), so with several replicas
 * each issue is handled by one; a crash mid-way lets the lease expire and a later run repeats the
 * firing, whose comment is then found already there. On the embedded database (one process) a dead
 * run's claims are given up at the first run instead. After each run it wakes again when the next
 * clock falls due, or at its interval, whichever comes first. Why a lease on the row rather than a
 * job kept apart from it: see the decision at the top of background-job.ts.
 */
import type { Logger } from 'pino';
import { planClockTick, type Render } from '../core/plan.ts';
import type { Platform } from '../core/model.ts';
import type { PlatformAdapter } from '../ports/platform.ts';
import type { KeyLock } from '../ports/key-lock.ts';
import type { PolicyResolver } from '../policy/resolver.ts';
import type { Metrics } from '../ports/metrics.ts';
import { execute, type PlanStore } from './execute.ts';
import { BackgroundJob } from './background-job.ts';

export interface ClockSchedulerDeps {
  store: PlanStore & KeyLock;
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
  readonly #job: BackgroundJob<number>;

  constructor(private readonly deps: ClockSchedulerDeps) {
    this.#job = new BackgroundJob({
      run: () => this.#tick(),
      onError: (err) => this.deps.logger.error({ err }, 'clock tick failed'),
      ...(deps.soleWorker
        ? {
            releaseLeases: () => this.deps.store.releaseClockClaims(),
            onReleased: (n: number) =>
              this.deps.logger.warn(
                { issues: n },
                'clocks claimed by the previous run (which stopped before firing them) are taken up again',
              ),
          }
        : {}),
    });
  }

  /** Runs now (what was missed while down is handled at start), then every `intervalMs` and when a clock falls due. */
  start(intervalMs: number): void {
    this.#job.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }

  /** One pass; runs never overlap. */
  tick(): Promise<number> {
    return this.#job.run();
  }

  async #tick(): Promise<number> {
    const { store, logger } = this.deps;
    let handled = 0;
    // Bounded rounds: a tick never spins, whatever the data.
    for (let round = 0; round < 100 && !this.#job.stopping; round++) {
      const now = this.deps.now();
      const due = await store.claimDueClocks(now, this.deps.batch ?? 500, this.deps.leaseMs ?? 300_000);
      if (due.length === 0) break;
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
    // The next clock to fall due is fired then, not at the next interval (one read of the due index).
    if (this.#job.started && !this.#job.stopping) {
      const now = this.deps.now();
      const next = await store.nextClockDue(now);
      if (next) this.#job.wakeIn(next.getTime() - now.getTime());
    }
    return handled;
  }
}
