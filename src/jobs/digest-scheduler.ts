/**
 * The operating cadence on a schedule, a background job (background-job.ts): every minute (and at
 * start) the digests due at `now` in the policy's time zone (core/digest/schedule.ts) are built
 * from stored data and queued in the outbox
 * under their slot's key (`digest:weekly:2026-W49`). The key makes the enqueue idempotent: a second
 * replica's tick, or this one's next, queues nothing new; a slot already queued is not even built.
 * Digests are built as of the slot's time, so replicas that race build the same notice.
 */
import type { Logger } from 'pino';
import { buildDigest, digestNotice, digestText } from '../core/digest/build.ts';
import { dueDigests, type DigestSlot } from '../core/digest/schedule.ts';
import type { Policy } from '../core/policy/schema.ts';
import type { Notifications } from '../ports/notifications.ts';
import type { DigestSource } from '../ports/digest-source.ts';
import { BackgroundJob } from './background-job.ts';

export interface DigestSchedulerDeps {
  store: Notifications;
  digests: DigestSource;
  policy: () => Policy;
  logger: Pick<Logger, 'info' | 'error'>;
  now: () => Date;
}

/** How far back before a period's start history is read (first sightings of findings, aging). */
const LOOKBACK_MS = 120 * 86_400_000;

/** The channel of a cadence: its own, else the cadence's, else the escalation channel. */
export function digestChannel(policy: Policy, slot: Pick<DigestSlot, 'cadence'>): string {
  return policy.cadence[slot.cadence].channel ?? policy.cadence.channel ?? policy.chat.escalationChannel;
}

export class DigestScheduler {
  readonly #job: BackgroundJob<string[]>;

  constructor(private readonly deps: DigestSchedulerDeps) {
    this.#job = new BackgroundJob({ run: () => this.#tick(), onError: (err) => this.deps.logger.error({ err }, 'digest schedule failed') });
  }

  /** Runs now (what was missed while down is handled at start), then every `intervalMs`. */
  start(intervalMs = 60_000): void {
    this.#job.start(intervalMs);
  }

  stop(): Promise<void> {
    return this.#job.stop();
  }

  /** One pass; runs never overlap. */
  tick(): Promise<string[]> {
    return this.#job.run();
  }

  /** Builds and queues one slot's digest (also for `tick`); false when it was queued before. */
  async send(slot: DigestSlot): Promise<boolean> {
    const { digests, store, logger } = this.deps;
    const policy = this.deps.policy();
    if (await digests.notificationExists(slot.key)) return false;
    const data = await digests.digestData({ since: new Date(slot.from.getTime() - LOOKBACK_MS), tools: policy.tooling.inventory });
    const digest = buildDigest(slot, data, { agingDays: policy.cadence.agingDays });
    const { inserted } = await store.enqueueNotification({
      key: slot.key,
      channel: digestChannel(policy, slot),
      text: digestText(digest),
      notice: digestNotice(digest),
      createdAt: this.deps.now(),
    });
    if (inserted) logger.info({ key: slot.key }, `${slot.cadence} digest queued`);
    return inserted;
  }

  async #tick(): Promise<string[]> {
    const policy = this.deps.policy();
    const queued: string[] = [];
    for (const slot of dueDigests(policy.cadence, policy.timeZone, this.deps.now())) {
      if (await this.send(slot)) queued.push(slot.key);
    }
    return queued;
  }
}
