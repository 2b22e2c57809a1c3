/**
 * The delivery inbox: concurrent deliveries are stored in one batch (group commit), one
 * transaction and one flush to disk per batch, so a busy server pays per batch, not per delivery.
 * A delivery is in the database, its row due (the row is its job), when `accept` resolves: the
 * acknowledgement follows.
 */
import type { Accepted, Inbox } from '../ports/queue.ts';
import type { DeliveryInput } from '../ports/deliveries.ts';
import { encodeDelivery, type EncodedDelivery } from './payload-codec.ts';
import { GroupCommit } from './group-commit.ts';

/** Stores a batch of deliveries, payloads in the form `encode` gave them, durably, before resolving. */
export type DeliveryWriter = (batch: EncodedDelivery[]) => Promise<Accepted[]>;

/** An inbox that can be closed. */
export interface DeliveryIntake extends Inbox {
  /** Stops taking deliveries. */
  close(): Promise<void>;
}

export class DeliveryInbox implements DeliveryIntake {
  readonly #commit: GroupCommit<EncodedDelivery, Accepted>;
  readonly #encode: (d: DeliveryInput) => EncodedDelivery;
  #closed = false;

  /**
   * `write` stores a batch (each new delivery due at once), durably, before resolving.
   * `encode` gives a payload its stored form (default: deflated here when large).
   */
  constructor(write: DeliveryWriter, encode: (d: DeliveryInput) => EncodedDelivery = encodeDelivery) {
    this.#commit = new GroupCommit(write, 128);
    this.#encode = encode;
  }

  accept(d: DeliveryInput): Promise<Accepted> {
    if (this.#closed) return Promise.reject(new Error('the delivery inbox is closed'));
    return this.#commit.submit(this.#encode(d));
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
