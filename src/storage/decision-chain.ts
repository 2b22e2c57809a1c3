/**
 * The release decision records' hash chain: canonical JSON, record hashes, verification, and the
 * policy's content hash. Each record's hash covers its content and the previous record's hash, so
 * changing or removing a stored record breaks the chain at that record's seq.
 */
import { createHash } from 'node:crypto';
import { GENESIS_HASH, type GateDecisionRecord } from '../ports/gate-store.ts';

/**
 * The value as it is stored and read back: plain JSON. Dates become ISO strings (`toJSON`),
 * `undefined` members and functions disappear, and a NUL character (which PostgreSQL's jsonb
 * refuses) becomes U+FFFD, so that a record with odd evidence is still stored.
 */
export function toPlainJson(value: unknown): unknown {
  const text = JSON.stringify(value === undefined ? null : value);
  return JSON.parse(text.replaceAll('\\u0000', '\\ufffd')) as unknown;
}

/**
 * JSON with object keys sorted (by UTF-16 code unit) at every level and no whitespace. Two values
 * equal as JSON data give the same text, whatever order their keys came in (jsonb reorders them).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return 'null';
    if (typeof value === 'bigint') return value.toString();
    return JSON.stringify(value);
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** What a record's hash covers (the delivery id is not part of it). */
export type HashedFields = Pick<GateDecisionRecord, 'seq' | 'prevHash' | 'key' | 'headSha' | 'releaseClass' | 'verdict' | 'reasons' | 'inputs' | 'policyHash' | 'decidedAt'>;

/** sha256 (hex) of the canonical JSON of the record's hashed fields; `decidedAt` as ISO-8601 UTC. */
export function recordHash(r: HashedFields): string {
  return sha256(
    canonicalJson({
      seq: r.seq,
      prevHash: r.prevHash,
      key: r.key,
      headSha: r.headSha,
      releaseClass: r.releaseClass,
      verdict: r.verdict,
      reasons: r.reasons,
      inputs: r.inputs,
      policyHash: r.policyHash,
      decidedAt: r.decidedAt.toISOString(),
    }),
  );
}

/** The policy's content hash: sha256 (hex) of its canonical JSON (the parsed policy, not the file's text). */
export function policyHash(policy: unknown): string {
  return sha256(canonicalJson(toPlainJson(policy)));
}

export type ChainVerification = { ok: true; count: number; head: string } | { ok: false; count: number; brokenAt: number; reason: string };

/**
 * Verifies a whole chain, in seq order from seq 1: seqs without gaps, each prevHash the previous
 * record's hash (the genesis hash for seq 1), each hash recomputed from the record's content.
 * Names the first seq that does not hold (a missing record: its seq). An empty chain is intact
 * (head: the genesis hash). Removing the newest records is not visible here: compare the head
 * with one exported earlier.
 */
export function verifyDecisionChain(records: readonly (HashedFields & { hash: string })[]): ChainVerification {
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const r of records) {
    const broken = (reason: string, at = r.seq): ChainVerification => ({ ok: false, count: records.length, brokenAt: at, reason });
    if (r.seq > expectedSeq) return broken(r.seq - expectedSeq === 1 ? `record ${expectedSeq} is missing` : `records ${expectedSeq}-${r.seq - 1} are missing`, expectedSeq);
    if (r.seq < expectedSeq) return broken(`seq ${r.seq} is out of order (expected ${expectedSeq})`);
    if (r.prevHash !== prev) return broken(`its prevHash ${r.prevHash} is not the previous record's hash ${prev}`);
    const actual = recordHash(r);
    if (actual !== r.hash) return broken(`its content does not match its hash (stored ${r.hash}, computed ${actual})`);
    prev = r.hash;
    expectedSeq += 1;
  }
  return { ok: true, count: records.length, head: prev };
}
