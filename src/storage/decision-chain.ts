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

type ChainedRecord = HashedFields & { hash: string };

/**
 * Verifies a chain record by record, in seq order from seq 1 (feed it page after page): seqs
 * without gaps, each prevHash the previous record's hash (the genesis hash for seq 1), each hash
 * recomputed from the record's content. Names the first seq that does not hold (a missing record:
 * its seq); records after a break are only counted. Removing the newest records is not visible
 * here: compare the head with one exported earlier.
 */
export class DecisionChainVerifier {
  #prev = GENESIS_HASH;
  #expectedSeq = 1;
  #count = 0;
  #broken: { brokenAt: number; reason: string } | null = null;

  /** Checks the next record; false once the chain is broken. */
  add(r: ChainedRecord): boolean {
    this.#count += 1;
    if (this.#broken) return false;
    const expected = this.#expectedSeq;
    const problem =
      r.seq > expected
        ? { brokenAt: expected, reason: r.seq - expected === 1 ? `record ${expected} is missing` : `records ${expected}-${r.seq - 1} are missing` }
        : r.seq < expected
          ? { brokenAt: r.seq, reason: `seq ${r.seq} is out of order (expected ${expected})` }
          : r.prevHash !== this.#prev
            ? { brokenAt: r.seq, reason: `its prevHash ${r.prevHash} is not the previous record's hash ${this.#prev}` }
            : null;
    if (problem) {
      this.#broken = problem;
      return false;
    }
    const actual = recordHash(r);
    if (actual !== r.hash) {
      this.#broken = { brokenAt: r.seq, reason: `its content does not match its hash (stored ${r.hash}, computed ${actual})` };
      return false;
    }
    this.#prev = r.hash;
    this.#expectedSeq += 1;
    return true;
  }

  /** The seq the next record must have (the last intact one + 1). */
  get nextSeq(): number {
    return this.#expectedSeq;
  }

  /** An empty chain is intact, its head the genesis hash. */
  result(): ChainVerification {
    return this.#broken ? { ok: false, count: this.#count, ...this.#broken } : { ok: true, count: this.#count, head: this.#prev };
  }
}

/** Verifies a whole chain at once (see DecisionChainVerifier). */
export function verifyDecisionChain(records: readonly ChainedRecord[]): ChainVerification {
  const v = new DecisionChainVerifier();
  for (const r of records) v.add(r);
  return v.result();
}
