/**
 * The delivery inbox: concurrent deliveries are stored and queued in one batch (group commit) with
 * one flush to disk, so a busy server pays per batch, not per delivery.
 */
import type { Inbox } from '../ports/queue.ts';
import type { DeliveryInput } from '../ports/store.ts';
import { encodeDelivery, type EncodedDelivery } from './payload-codec.ts';
import { GroupCommit } from './group-commit.ts';

/** Stores a batch of deliveries, payloads already in their stored form. */
export type DeliveryWriter = (batch: EncodedDelivery[]) => Promise<{ inserted: boolean }[]>;

/** An inbox that can say when what it took is in the database, and be closed. */
export interface DeliveryIntake extends Inbox {
  /** Resolves once every delivery accepted so far is stored and queued. */
  settled(): Promise<void>;
  /** Stops taking deliveries (after storing what it took, where it can). */
  close(): Promise<void>;
  /** Acknowledged (or being acknowledged) and not yet in the database. */
  backlog(): { deliveries: number; bytes: number };
}

export class DeliveryInbox implements DeliveryIntake {
  readonly #commit: GroupCommit<EncodedDelivery, { inserted: boolean }>;
  #closed = false;

  /** `write` stores a batch and queues a job for each new delivery, durably, before resolving. */
  constructor(write: DeliveryWriter) {
    this.#commit = new GroupCommit(write, 128);
  }

  accept(d: DeliveryInput): Promise<{ inserted: boolean }> {
    if (this.#closed) return Promise.reject(new Error('the delivery inbox is closed'));
    return this.#commit.submit(encodeDelivery(d));
  }

  /** A delivery is stored before `accept` resolves: nothing to wait for. */
  async settled(): Promise<void> {}

  backlog(): { deliveries: number; bytes: number } {
    return { deliveries: 0, bytes: 0 };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
