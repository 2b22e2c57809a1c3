/**
 * The exception register's schedule, a background job (background-job.ts): every run (hourly by
 * default, and at start) the approved exceptions expiring within the policy's reminder days get
 * their reminder, and lapsed ones a
 * last notice, through the outbox. Notice keys make a second replica's tick, or a crash between
 * the notice and the mark, harmless.
 */
import type { Logger } from 'pino';
import { planExceptionReminders } from '../core/gate/reminders.ts';
import type { Policy } from '../core/policy/schema.ts';
import type { GateStore } from '../ports/gate-store.ts';
import type { Metrics } from '../ports/metrics.ts';
import { execute, type PlanStore } from './execute.ts';
import { BackgroundJob } from './background-job.ts';

export interface ExceptionRemindersDeps {
  store: PlanStore;
  gateStore: GateStore;
  policy: () => Policy;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
}

export class ExceptionReminders {
  readonly #job: BackgroundJob<number>;

  constructor(private readonly deps: ExceptionRemindersDeps) {
    this.#job = new BackgroundJob({
      run: () => this.#tick(),
      onError: (err) => this.deps.logger.error({ err }, 'exception reminders failed'),
    });
  }

  /** Runs now (what was missed while down is handled at start), then every `intervalMs`. */
  start(intervalMs = 3_600_000): void {
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
    const policy = this.deps.policy();
    const now = this.deps.now();
    const horizon = new Date(now.getTime() + policy.gate.exceptions.reminderDays * 86_400_000 + 1);
    const due = await this.deps.gateStore.exceptionsExpiringBefore(horizon);
    const actions = planExceptionReminders(due, policy, now);
    if (actions.length === 0) return 0;
    await execute(actions, {
      store: this.deps.store,
      metrics: this.deps.metrics,
      now: this.deps.now,
      deliveryId: null,
      installationId: null,
      gateStore: this.deps.gateStore,
    });
    return actions.filter((a) => a.type === 'notifyChat').length;
  }
}
