/**
 * The Store port: everything Gatehouse persists. Implemented once with Kysely over the
 * embedded database (PGlite) and PostgreSQL (src/storage/).
 */
import type { IssueRef, Platform, Reason } from '../core/model.ts';
import type { ClockState } from '../core/outage/clocks.ts';
import type { Notice } from '../core/chat/notice.ts';

export type DeliveryStatus = 'pending' | 'done' | 'failed' | 'ignored';

/** The end of a pending delivery's last error while its platform is off (it waits, and is queued again at a start with the platform on). */
export const PLATFORM_OFF = 'is off: waiting until it is configured';

export interface DeliveryInput {
  platform: Platform;
  /** X-GitHub-Delivery, GitLab's Idempotency-Key / X-Gitlab-Event-UUID, Slack's event id. */
  deliveryId: string;
  /** Platform event name, e.g. `issues` (GitHub) or `Issue Hook` (GitLab). */
  eventName: string;
  /** The raw request body, exactly as received (the signature was checked on these bytes). */
  payload: string;
  receivedAt: Date;
  /**
   * SHA-256 (hex) of the raw signed body (GitHub, GitLab). A body already stored under another
   * delivery id is a replay: acknowledged, never stored or acted on again. Absent: not checked.
   */
  bodyDigest?: string | null;
}

export interface StoredDelivery extends DeliveryInput {
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
}

export interface IntakeRow {
  issueKey: string;
  platform: Platform;
  repo: string;
  number: number;
  answers: Record<string, string | string[] | null>;
  problems: { field: string; message: string }[];
  complete: boolean;
  updatedAt: Date;
}

export interface DecisionRow {
  issueKey: string;
  tier: number | null;
  routes: string[];
  reasons: Reason[];
  decidedAt: Date;
  deliveryId: string | null;
}

export interface AuditEntry {
  at: Date;
  deliveryId: string | null;
  issueKey: string | null;
  action: string;
  detail: unknown;
  outcome: 'ok' | 'error' | 'skipped';
  error?: string | null;
}

export interface NotificationInput {
  /** Idempotency key: a second enqueue with the same key is a no-op. */
  key: string;
  channel: string;
  text: string;
  /** The structured notice (escalations); a later enqueue with new content updates its message. */
  notice?: Notice;
  createdAt: Date;
}

export interface NotificationRow extends NotificationInput {
  status: 'pending' | 'sent' | 'failed';
}

export interface ClockRow {
  issueKey: string;
  target: IssueRef;
  /** GitHub installation that can act on the issue (null on GitLab). */
  installationId: number | null;
  clocks: ClockState[];
  /** Earliest warning or breach still owed; null when nothing is. */
  nextFireAt: Date | null;
}

export interface Store {
  /** Durable (on disk) before it resolves. `inserted: false` means the id was seen before. */
  recordDelivery(d: DeliveryInput): Promise<{ inserted: boolean }>;
  getDelivery(platform: Platform, deliveryId: string): Promise<StoredDelivery | null>;
  finishDelivery(platform: Platform, deliveryId: string, status: Exclude<DeliveryStatus, 'pending'>, error?: string | null): Promise<void>;
  /** Increments `attempts`, keeps status pending, stores the error. */
  failAttempt(platform: Platform, deliveryId: string, error: string): Promise<void>;
  countDeliveries(status: DeliveryStatus): Promise<number>;
  /** Deliveries with this status, oldest first (the dead letters: `failed`). */
  listDeliveries(status: DeliveryStatus, limit: number): Promise<StoredDelivery[]>;
  /** Ids of one platform's pending deliveries, oldest first; `parkedOnly`: those kept while it was off (last error `… is off: waiting until it is configured`). */
  pendingDeliveryIds(platform: Platform, limit: number, parkedOnly?: boolean): Promise<string[]>;
  /**
   * A `failed` delivery back to `pending`, its attempts at 0 and due now (queued: its row is its
   * job), in one update; false (nothing written) when none was failed.
   */
  retryDelivery(platform: Platform, deliveryId: string): Promise<boolean>;

  saveIntake(r: IntakeRow): Promise<void>;
  getIntake(issueKey: string): Promise<IntakeRow | null>;
  /** The intake's issue was closed (saving the intake again reopens it). */
  closeIntake(issueKey: string, at: Date): Promise<void>;
  /** Open intakes whose `service` answer is this one (compared case-insensitively, spaces trimmed). */
  openIntakesForService(service: string): Promise<IntakeRow[]>;

  latestDecision(issueKey: string): Promise<DecisionRow | null>;
  recordDecision(r: DecisionRow): Promise<void>;
  decisionHistory(issueKey: string): Promise<DecisionRow[]>;

  /** One entry or several (written together, in order). */
  appendAudit(entries: AuditEntry | readonly AuditEntry[]): Promise<void>;
  auditFor(issueKey: string): Promise<AuditEntry[]>;

  enqueueNotification(n: NotificationInput): Promise<{ inserted: boolean }>;
  listNotifications(status?: NotificationRow['status']): Promise<NotificationRow[]>;

  /** Upserts an issue's clocks and releases any claim on them. */
  saveClocks(row: ClockRow): Promise<void>;
  getClocks(issueKey: string): Promise<ClockRow | null>;
  /**
   * Claims up to `limit` issues whose clocks owe something at `now` (and are not claimed by
   * another worker), for `leaseMs`. Reads only due rows (index on next_fire_at).
   */
  claimDueClocks(now: Date, limit: number, leaseMs: number): Promise<ClockRow[]>;
  /** Gives up every clock claim: for a sole worker at start, whose claims found were a dead run's. Returns how many. */
  releaseClockClaims(): Promise<number>;
  /** Issues whose clocks still owe something, earliest first. */
  listOpenClocks(limit: number): Promise<ClockRow[]>;
  /** The earliest moment after `after` at which a clock owes something (the scheduler wakes then); null when none. */
  nextClockDue(after: Date): Promise<Date | null>;
  /** A tool's clock missed its target (once per issue and clock kind). */
  recordMiss(m: { issueKey: string; tool: string; kind: string; at: Date }): Promise<void>;
  /** Misses per tool since a moment. */
  countMisses(tools: readonly string[], since: Date): Promise<Record<string, number>>;

  /** Runs fn while holding an exclusive lock on `key`, across processes sharing the database. */
  withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T>;

  close(): Promise<void>;
}
