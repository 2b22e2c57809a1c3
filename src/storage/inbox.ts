/**
 * The delivery inbox: concurrent deliveries are stored and queued in one batch (group commit) with
 * one flush to disk, so a busy server pays per batch, not per delivery.
 */
import type { PgBossQueue } from '../jobs/queue.ts';
import type { Inbox } from '../ports/queue.ts';
import type { DeliveryInput } from '../ports/store.ts';
import { GroupCommit } from './group-commit.ts';
import type { KyselyStore } from './kysely-store.ts';

export class DeliveryInbox implements Inbox {
  readonly #commit: GroupCommit<DeliveryInput, { inserted: boolean }>;

  constructor(store: KyselyStore, queue: PgBossQueue) {
    this.#commit = new GroupCommit(
      (batch) => store.recordBatch(batch, (fresh) => queue.enqueueMany(fresh.map((d) => ({ platform: d.platform, deliveryId: d.deliveryId })))),
      128,
    );
  }

  accept(d: DeliveryInput): Promise<{ inserted: boolean }> {
    return this.#commit.submit(d);
  }
}
