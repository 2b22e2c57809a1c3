/**
 * The hash chains of the release gate: the decision records, and the register records (exception
 * approvals and status changes, emergency releases). Record hashes and verification (canonical JSON
 * and the policy's content hash are in src/core/canonical-json.ts). Each record's hash covers its content and the previous record's
 * hash, so changing or removing a stored record breaks the chain at that record's seq.
 *
 * What a chain proves, and what it does not:
 * - Unkeyed (sha256): the stored records are consistent with each other. Anyone who can write the
 *   database can change a record and recompute every later hash; only a head kept outside the
 *   database (`gatehouse decisions verify --head <hash>`) shows that: the kept hash is then no
 *   longer in the chain. It proves nothing about records after the kept head.
 * - Keyed (HMAC-SHA256 with GATEHOUSE_CHAIN_KEY): someone who can write the database but does not
 *   hold the key cannot make a changed, added or reordered record verify. They can still delete
 *   the newest records (the chain stays consistent up to its new end: a kept head catches that)
 *   and stop new records from being written. Whoever holds the key (the running bot's host) can
 *   rewrite everything; the chain cannot protect against them.
 * - Neither proves that a record is true: it records what the gate decided on the evidence it read.
 */
import { createHash, createHmac } from 'node:crypto';
import { canonicalJson } from '../core/canonical-json.ts';
import { GENESIS_HASH, type GateDecisionRecord, type RegisterRecord } from '../ports/gate-store.ts';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The hash of a record's canonical text: HMAC-SHA256 with the chain key when given, else sha256 (hex either way). */
export function chainDigest(text: string, key?: string): string {
  return key === undefined ? sha256(text) : createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

/** What a record's hash covers (the delivery id is not part of it). */
export type HashedFields = Pick<
  GateDecisionRecord,
  'seq' | 'prevHash' | 'key' | 'headSha' | 'releaseClass' | 'verdict' | 'reasons' | 'inputs' | 'policyHash' | 'decidedAt'
>;

/** sha256 (hex; HMAC-SHA256 with `key`) of the canonical JSON of the record's hashed fields; `decidedAt` as ISO-8601 UTC. */
export function recordHash(r: HashedFields, key?: string): string {
  return chainDigest(
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
    key,
  );
}

export type ChainVerification = { ok: true; count: number; head: string } | { ok: false; count: number; brokenAt: number; reason: string };

/** What every chained record has. */
export interface ChainLink {
  seq: number;
  prevHash: string;
  hash: string;
  /** Hashed with the chain key (HMAC); absent or false: plain sha256. */
  keyed?: boolean;
}

export interface ChainVerifierOptions {
  /** GATEHOUSE_CHAIN_KEY: keyed records are checked with it, and every record must then be keyed. */
  key?: string;
  /** With a key: records up to this seq may be unkeyed (written before the key was set). Default 0. */
  unkeyedUntil?: number;
}

/**
 * Verifies a chain record by record, in seq order from seq 1 (feed it page after page): seqs
 * without gaps, each prevHash the previous record's hash (the genesis hash for seq 1), each hash
 * recomputed from the record's content. Names the first seq that does not hold (a missing record:
 * its seq); records after a break are only counted. Removing the newest records is not visible
 * here: compare the head with one kept earlier (`intactSeq`).
 *
 * A keyed record cannot be checked without the key (the chain is then reported broken there);
 * with the key, an unkeyed record after `unkeyedUntil` is refused (a rewrite without the key).
 */
export class ChainVerifier<R extends ChainLink> {
  #prev = GENESIS_HASH;
  #expectedSeq = 1;
  #count = 0;
  #broken: { brokenAt: number; reason: string } | null = null;
  /** The seq of every intact record by its hash. */
  readonly #intact = new Map<string, number>();

  constructor(
    private readonly hashOf: (r: R, key: string | undefined) => string,
    private readonly opts: ChainVerifierOptions = {},
  ) {}

  /** Checks the next record; false once the chain is broken. */
  add(r: R): boolean {
    this.#count += 1;
    if (this.#broken) return false;
    const expected = this.#expectedSeq;
    const problem =
      r.seq > expected
        ? {
            brokenAt: expected,
            reason: r.seq - expected === 1 ? `record ${expected} is missing` : `records ${expected}-${r.seq - 1} are missing`,
          }
        : r.seq < expected
          ? { brokenAt: r.seq, reason: `seq ${r.seq} is out of order (expected ${expected})` }
          : r.prevHash !== this.#prev
            ? { brokenAt: r.seq, reason: `its prevHash ${r.prevHash} is not the previous record's hash ${this.#prev}` }
            : r.keyed && this.opts.key === undefined
              ? { brokenAt: r.seq, reason: 'it is keyed (HMAC): set GATEHOUSE_CHAIN_KEY to verify it' }
              : !r.keyed && this.opts.key !== undefined && r.seq > (this.opts.unkeyedUntil ?? 0)
                ? {
                    brokenAt: r.seq,
                    reason: `it is not keyed although GATEHOUSE_CHAIN_KEY is set (rewritten without the key?); records written before the key was set are accepted with --unkeyed-until <seq>`,
                  }
                : null;
    if (problem) {
      this.#broken = problem;
      return false;
    }
    const actual = this.hashOf(r, r.keyed ? this.opts.key : undefined);
    if (actual !== r.hash) {
      this.#broken = { brokenAt: r.seq, reason: `its content does not match its hash (stored ${r.hash}, computed ${actual})` };
      return false;
    }
    this.#prev = r.hash;
    this.#intact.set(r.hash, r.seq);
    this.#expectedSeq += 1;
    return true;
  }

  /** The seq of the record with this hash, when it was read with everything up to it intact (0: the genesis hash); else null. */
  intactSeq(hash: string): number | null {
    return hash === GENESIS_HASH ? 0 : (this.#intact.get(hash) ?? null);
  }

  /** An empty chain is intact, its head the genesis hash. */
  result(): ChainVerification {
    return this.#broken ? { ok: false, count: this.#count, ...this.#broken } : { ok: true, count: this.#count, head: this.#prev };
  }
}

type ChainedRecord = HashedFields & ChainLink;

/** The decision records' verifier (see ChainVerifier). */
export class DecisionChainVerifier extends ChainVerifier<ChainedRecord> {
  constructor(opts: ChainVerifierOptions = {}) {
    super((r, key) => recordHash(r, key), opts);
  }
}

// --- the register chain: exception approvals and status changes, emergency releases ----------

export type RegisterHashedFields = Pick<RegisterRecord, 'seq' | 'prevHash' | 'kind' | 'subject' | 'content' | 'recordedAt'>;

/** Like recordHash, over `chain: "register"` (a register hash never equals a decision hash) and the record's fields. */
export function registerHash(r: RegisterHashedFields, key?: string): string {
  return chainDigest(
    canonicalJson({
      chain: 'register',
      seq: r.seq,
      prevHash: r.prevHash,
      kind: r.kind,
      subject: r.subject,
      content: r.content,
      recordedAt: r.recordedAt.toISOString(),
    }),
    key,
  );
}

/** The register records' verifier (see ChainVerifier). */
export class RegisterChainVerifier extends ChainVerifier<RegisterRecord> {
  constructor(opts: ChainVerifierOptions = {}) {
    super((r, key) => registerHash(r, key), opts);
  }
}
