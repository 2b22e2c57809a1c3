/**
 * The GateStore port: what the release gate persists — release decision records (one global
 * hash chain), the exception register and emergency records. Implemented with Kysely over the
 * embedded database and PostgreSQL (src/storage/gate-store.ts); hashing and chain verification
 * live in src/storage/decision-chain.ts.
 */

/** The 64-zero hash the first record of the chain points back to. */
export const GENESIS_HASH = '0'.repeat(64);

export interface GateDecisionInput {
  /** The change request's key, e.g. `github:o/r!12` (GitLab: `gitlab:group/project!12`). */
  key: string;
  headSha: string;
  releaseClass: string;
  /** `pass`, `warn`, `block`, `emergency` (or `pending` when evidence could not be read). */
  verdict: string;
  /** Every reason the gate gave, as plain JSON data. */
  reasons: unknown[];
  /** What the verdict was decided on: the evidence and the exceptions used (plain JSON data). */
  inputs: unknown;
  /** Content hash of the policy the gate ran under (`policyHash` in decision-chain.ts). */
  policyHash: string;
  decidedAt: Date;
  /** The webhook delivery that caused the evaluation; null for clock ticks and the CLI. Not hashed. */
  deliveryId: string | null;
}

/**
 * A stored decision record. `reasons` and `inputs` are what was stored: plain JSON (dates became
 * ISO strings, `undefined` members dropped), exactly what the hash covers.
 */
export interface GateDecisionRecord extends GateDecisionInput {
  /** 1, 2, 3, … without gaps, over every change request. */
  seq: number;
  /** The previous record's hash; `GENESIS_HASH` for seq 1. */
  prevHash: string;
  /** sha256 (hex) of the canonical JSON of seq, prevHash, key, headSha, releaseClass, verdict, reasons, inputs, policyHash, decidedAt (HMAC-SHA256 with GATEHOUSE_CHAIN_KEY when `keyed`). */
  hash: string;
  /** Hashed with the chain key; absent or false: plain sha256. */
  keyed?: boolean;
}

/** What a register record says: an exception's status (or an approved one's terms) changed, or an emergency release was approved. */
export type RegisterKind = 'exception.requested' | 'exception.approved' | 'exception.rejected' | 'exception.revoked' | 'emergency';

/**
 * A record of the register chain (one global chain apart from the decision records): appended in
 * the same transaction as the exception or emergency record it describes.
 */
export interface RegisterRecord {
  seq: number;
  prevHash: string;
  /** sha256 (HMAC-SHA256 when `keyed`) of the canonical JSON of `chain: "register"`, seq, prevHash, kind, subject, content, recordedAt. */
  hash: string;
  keyed?: boolean;
  kind: RegisterKind;
  /** The exception's id (`github:o/r#42`) or the change request's key (`github:o/r!12`). */
  subject: string;
  /** The exception (terms, status, approver) or the emergency record, as plain JSON data. */
  content: unknown;
  recordedAt: Date;
}

export interface GateDecisionFilter {
  since?: Date;
  key?: string;
  /** Only records with a higher seq. */
  afterSeq?: number;
  /** At most this many records. */
  limit?: number;
}

export type ExceptionStatus = 'requested' | 'approved' | 'rejected' | 'revoked';

export interface ExceptionScope {
  /** `github:owner/repo` or `gitlab:group/project` (the repository key the gate uses). */
  repo: string;
  /** Glob patterns the waiver covers; empty means the whole repository. */
  paths: string[];
}

export interface GateException {
  /** The exception request issue, e.g. `github:o/r#42`. */
  id: string;
  /** The rule id or finding id it waives. */
  findingRef: string;
  /** The finding's category (`sast`, `secrets`, …) or the control; null when not given. */
  category: string | null;
  scope: ExceptionScope;
  compensatingControls: string;
  businessOwner: string;
  requestedBy: string;
  /** When the request was made (the issue's creation): counts repeated categories over a window. */
  requestedAt: Date;
  expiresAt: Date;
  status: ExceptionStatus;
  approvedBy: string | null;
  approvedAt: Date | null;
  /** sha256 of the terms the approval was given for (core/gate/exception-terms.ts); null when not approved. */
  approvedDigest: string | null;
  /** The exception this one renews, when it does. */
  renewalOf: string | null;
}

export interface StoredException extends GateException {
  /** When the expiry reminder was sent; reset to null when `expiresAt` changes. */
  remindedAt: Date | null;
}

export interface EmergencyRecordInput {
  /** The change request's key, as for decision records. */
  key: string;
  headSha: string;
  reason: string;
  /** The evidence at decision time (plain JSON data). */
  evidence: unknown;
  /** The named emergency approver who approved. */
  approver: string;
  controlsBypassed: string[];
  /** The mandatory follow-up: the retrospective issue (null until it is opened) and its due date. */
  followUp: { issueUrl: string | null; dueAt: Date };
  decidedAt: Date;
}

export interface EmergencyRecord extends EmergencyRecordInput {
  id: number;
}

export interface GateStore {
  /**
   * Appends a decision record to the one global chain and resolves once it is on disk. Appends
   * are serialised across processes sharing the database (no two records share a prevHash).
   */
  recordGateDecision(input: GateDecisionInput): Promise<GateDecisionRecord>;
  /** The change request's newest record (highest seq), or null. */
  latestGateDecision(key: string): Promise<GateDecisionRecord | null>;
  /** The newest settled (not pending) record for a commit among the keys starting with `keyPrefix` (a repository's change requests). */
  latestVerdictForCommit(keyPrefix: string, headSha: string): Promise<GateDecisionRecord | null>;
  /**
   * Records ordered by seq; `since` keeps those decided at or after it, `key` one change request's;
   * `afterSeq` and `limit` read a long chain page by page.
   */
  gateDecisions(filter?: GateDecisionFilter): Promise<GateDecisionRecord[]>;
  /** One record by its seq, or null. */
  gateDecision(seq: number): Promise<GateDecisionRecord | null>;

  /**
   * Creates or replaces the exception with this id (the request issue is re-read on every edit).
   * Keeps `remindedAt` unless `expiresAt` changed.
   */
  saveException(e: GateException): Promise<void>;
  getException(id: string): Promise<StoredException | null>;
  /** Every exception scoped to the repository, whatever its status or expiry (the gate decides validity). */
  exceptionsFor(repo: string): Promise<StoredException[]>;
  /** Approved exceptions whose expiry is before `at` (expired ones included), earliest first. */
  exceptionsExpiringBefore(at: Date): Promise<StoredException[]>;
  /**
   * How many distinct repositories requested an exception of this category since `since`
   * (any status except `rejected`): a category repeated across services.
   */
  countExceptionsByCategory(category: string, since: Date): Promise<number>;
  markExceptionReminded(id: string, at: Date): Promise<void>;

  /**
   * Stores the emergency record of a release (one per key and head commit: a repeat keeps the
   * first and only fills in a follow-up issue URL it lacked). On disk when it resolves.
   */
  saveEmergencyRecord(r: EmergencyRecordInput): Promise<EmergencyRecord>;
  /** The change request's emergency records, oldest first. */
  emergencyRecordsFor(key: string): Promise<EmergencyRecord[]>;

  /** Register records in seq order (`subject`: one exception's or change request's; `afterSeq`/`limit`: page by page). */
  registerRecords(filter?: { subject?: string; afterSeq?: number; limit?: number }): Promise<RegisterRecord[]>;
}
