/**
 * The delivery inbox: concurrent deliveries are stored and queued in one batch (group commit) with
 * one flush to disk, so a busy server pays per batch, not per delivery.
 */
import type { Accepted, Inbox } from '../ports/queue.ts';
import type { DeliveryInput } from '../ports/store.ts';
import { encodeDelivery, type EncodedDelivery } from './payload-codec.ts';
import { GroupCommit } from './group-commit.ts';

/** Stores a batch of deliveries, payloads already in their stored form. */
export type DeliveryWriter = (batch: EncodedDelivery[]) => Promise<Accepted[]>;

/** A delivery found, as it was stored, to carry a body stored before under `duplicateOf`. */
export interface Replay {
  platform: DeliveryInput['platform'];
  deliveryId: string;
  eventName: string;
  duplicateOf: string;
}

/** An inbox that can say when what it took is in the database, and be closed. */
export interface DeliveryIntake extends Inbox {
  /**
   * Told of replays found only when stored, after their acknowledgement (the embedded database's
   * journal); replays found before are answered by `accept` (`duplicateOf`).
   */
  onReplay(listener: (r: Replay) => void): void;
  /** Resolves once every delivery accepted so far is stored and queued. */
  settled(): Promise<void>;
  /** Stops taking deliveries (after storing what it took, where it can). */
  close(): Promise<void>;
  /** Acknowledged (or being acknowledged) and not yet in the database. */
  backlog(): { deliveries: number; bytes: number };
}

export class DeliveryInbox implements DeliveryIntake {
  readonly #commit: GroupCommit<EncodedDelivery, Accepted>;
  #closed = false;

  /** `write` stores a batch and queues a job for each new delivery, durably, before resolving. */
  constructor(write: DeliveryWriter) {
    this.#commit = new GroupCommit(write, 128);
  }

  accept(d: DeliveryInput): Promise<Accepted> {
    if (this.#closed) return Promise.reject(new Error('the delivery inbox is closed'));
    return this.#commit.submit(encodeDelivery(d));
  }

  /** Every replay is found before `accept` resolves, and answered there. */
  onReplay(): void {}

  /** A delivery is stored before `accept` resolves: nothing to wait for. */
  async settled(): Promise<void> {}

  backlog(): { deliveries: number; bytes: number } {
    return { deliveries: 0, bytes: 0 };
  }

  async close(): Promise<void> {
    this.#closed = true;
  }
}
