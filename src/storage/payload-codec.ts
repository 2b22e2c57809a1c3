/**
 * How a delivery's payload is kept in the database. Payloads above `COMPRESS_FROM` characters are
 * stored deflated (raw DEFLATE, level 1) and base64-encoded in the same text column, with
 * `payload_encoding = 'deflate-base64'`; smaller ones, and every row written before this codec,
 * are plain JSON (`'json'`).
 *
 * Why: a GitHub `issues.opened` payload is ~11.6 KB of JSON, mostly URL templates, and deflates
 * to ~1.9 KB. On the embedded database every byte of a row crosses the wire protocol, the WAL and
 * the WebAssembly file system on the database's single thread (~0.2 ms per delivery for those
 * 10 KB, measured); deflating costs ~0.04 ms. PostgreSQL gets the same rows, so both back ends
 * read them alike.
 *
 * Where: on PostgreSQL, as a delivery is accepted (`encodePayload`). On the embedded database the
 * inbox hands the payload over as received and the database thread deflates it while storing the
 * batch (`deflatePayload` with `DEFLATE_OPTIONS`, see pglite-inbox.ts): the HTTP thread, which
 * acknowledges every delivery, does none of it.
 */
import { promisify } from 'node:util';
import { deflateRawSync, inflateRaw, inflateRawSync } from 'node:zlib';
import { z } from 'zod';
import type { DeliveryInput } from '../ports/deliveries.ts';

export const payloadEncoding = z.enum(['json', 'deflate-base64']);
export type PayloadEncoding = z.infer<typeof payloadEncoding>;

export interface EncodedPayload {
  payload: string;
  encoding: PayloadEncoding;
}

/** Below this many characters a payload is kept as it is: deflating would save little. */
export const COMPRESS_FROM = 1024;

/**
 * Level 1, an 8 KiB window and a smaller hash table: payloads are ~10 KB, so the ratio is the same
 * (~6x) and setting up the compressor costs a quarter less (measured). Inflating needs no setting.
 * Plain data: the embedded database's thread (plain JavaScript) is handed these very options.
 */
export const DEFLATE_OPTIONS = { level: 1, windowBits: 13, memLevel: 7 } as const;

/** Whether a payload is stored deflated. */
export const shouldDeflate = (json: string): boolean => json.length >= COMPRESS_FROM;

/** The stored form of a payload that `shouldDeflate`: raw DEFLATE, base64. */
export function deflatePayload(json: string): string {
  return deflateRawSync(json, DEFLATE_OPTIONS).toString('base64');
}

/**
 * Encodes a payload for storage. Synchronous on purpose: on the libuv pool the hand-offs cost
 * more than the ~0.04 ms of deflating (measured).
 */
export function encodePayload(json: string): EncodedPayload {
  return shouldDeflate(json) ? { payload: deflatePayload(json), encoding: 'deflate-base64' } : { payload: json, encoding: 'json' };
}

/** A delivery with its payload in the form it is stored in (as the inbox hands it to the database). */
export type EncodedDelivery = Omit<DeliveryInput, 'payload'> & EncodedPayload;

export function encodeDelivery(d: DeliveryInput): EncodedDelivery {
  const { payload, encoding } = encodePayload(d.payload);
  return {
    platform: d.platform,
    deliveryId: d.deliveryId,
    eventName: d.eventName,
    receivedAt: d.receivedAt,
    payload,
    encoding,
    bodyDigest: d.bodyDigest ?? null,
  };
}

/** The payload's JSON text, as received. Throws on an unknown encoding or a corrupt value. */
export function decodePayload(stored: string, encoding: string): string {
  switch (payloadEncoding.parse(encoding)) {
    case 'json':
      return stored;
    case 'deflate-base64':
      return inflateRawSync(Buffer.from(stored, 'base64')).toString('utf8');
  }
}

const inflateRawAsync = promisify(inflateRaw);

/**
 * Stored forms from this many characters are inflated on the libuv pool, not on this thread: a
 * 25 MB payload (GitHub's limit) took 50-280 ms to inflate, time the HTTP server on this thread
 * would wait. Smaller ones (nearly all: an issue event is ~2 KB stored) inflate here, where the
 * hand-off would cost more than the work.
 */
export const INFLATE_OFF_THREAD_FROM = 8 * 1024;

/** `decodePayload`, inflating a large stored form off this thread. */
export async function decodePayloadAsync(stored: string, encoding: string): Promise<string> {
  if (payloadEncoding.parse(encoding) === 'deflate-base64' && stored.length >= INFLATE_OFF_THREAD_FROM) {
    return (await inflateRawAsync(Buffer.from(stored, 'base64'))).toString('utf8');
  }
  return decodePayload(stored, encoding);
}
