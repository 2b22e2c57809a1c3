/**
 * The embedded database's delivery writer. A batch's deliveries go to the database thread as one
 * message and are written in one transaction, which resolves once its WAL is on disk
 * (pglite-worker.mjs): only then is any delivery of the batch acknowledged. One thread hop and one
 * commit per batch.
 *
 * A delivery's row is its job (storage/queue.ts): a new one is stored pending and due now. A
 * duplicate inserts nothing (its row, and so its job, is the one already there); a replay (a body
 * stored before under another id) is not stored and has no job.
 *
 * Payloads arrive as received (`asReceived`); those to be stored deflated are sent
 * as `DeflateParam`s and deflated on the database thread, which has time to spare, instead of on
 * the HTTP thread, which acknowledges every delivery.
 */
import type { Kysely } from 'kysely';
import { firstCopies, insertDeliveries, insertedFlags, withReplays } from './kysely-store.ts';
import type { DeliveryInput } from '../ports/deliveries.ts';
import { shouldDeflate, type EncodedDelivery } from './payload-codec.ts';
import type { DeflateParam, PgliteGate, Statement } from './pglite-dialect.ts';
import type { Database } from './schema.ts';

export interface PgliteWriterDeps {
  db: Kysely<Database>;
  gate: PgliteGate;
  /** Told once a batch is stored: its deliveries are due. */
  queue: { jobsAdded(): void };
}

/** A delivery with its payload as received: the database thread deflates it (see `deferDeflate`). */
export function asReceived(d: DeliveryInput): EncodedDelivery {
  return {
    platform: d.platform,
    deliveryId: d.deliveryId,
    eventName: d.eventName,
    receivedAt: d.receivedAt,
    payload: d.payload,
    encoding: 'json',
    bodyDigest: d.bodyDigest ?? null,
  };
}

export function pgliteDeliveryWriter({
  db,
  gate,
  queue,
}: PgliteWriterDeps): (batch: EncodedDelivery[]) => Promise<{ inserted: boolean; duplicateOf?: string }[]> {
  return async (batch) => {
    const firsts = firstCopies(batch);
    const { rows, toDeflate } = deferDeflate(firsts);
    const insert = insertDeliveries(db, rows).compile();
    const statements: Statement[] = [{ text: insert.sql, params: deflateParams(insert.parameters, toDeflate) }];
    const results = await gate.transaction(statements);
    queue.jobsAdded();
    return withReplays(db, batch, insertedFlags(batch, firsts, results[0]?.rows ?? []));
  };
}

/**
 * The rows to insert: a payload still in JSON that is to be stored deflated gets the encoding
 * `deflate-base64` now, and its text is listed in `toDeflate` (in row order) for `deflateParams`.
 * A list, not a set: a set hashes each ~10 KB payload, a cost measured on the HTTP thread.
 */
export function deferDeflate(firsts: Map<string, EncodedDelivery>): { rows: Map<string, EncodedDelivery>; toDeflate: string[] } {
  const rows = new Map<string, EncodedDelivery>();
  const toDeflate: string[] = [];
  for (const [k, d] of firsts) {
    if (d.encoding === 'json' && shouldDeflate(d.payload)) {
      rows.set(k, { ...d, encoding: 'deflate-base64' });
      toDeflate.push(d.payload);
    } else {
      rows.set(k, d);
    }
  }
  return { rows, toDeflate };
}

/**
 * The insert's parameters with every payload of `toDeflate` replaced by a `DeflateParam`. The
 * parameters list the rows in order, so the payloads are met in the order of `toDeflate` (the
 * very strings: comparing them costs nothing). Only a payload is that long (every other column is
 * an id, a name or a time); each one must be found, as a payload left as JSON under the encoding
 * `deflate-base64` could not be read back.
 */
export function deflateParams(params: readonly unknown[], toDeflate: readonly string[]): unknown[] {
  let next = 0;
  const out = params.map((p): unknown => {
    if (next >= toDeflate.length || p !== toDeflate[next]) return p;
    const marker: DeflateParam = { deflate: toDeflate[next++]! };
    return marker;
  });
  if (next !== toDeflate.length)
    throw new Error(`deliveries insert: ${toDeflate.length - next} payload(s) to deflate not found among its parameters`);
  return out;
}
