/** The Kysely view of Gatehouse's tables (created by ./migrations.ts). */
import type { ColumnType, Generated } from 'kysely';

/** timestamptz: read as Date, written as Date. */
export type Timestamp = ColumnType<Date, Date, Date>;
/** jsonb: read as parsed JSON (checked by the store), written as JSON text. */
export type Json = ColumnType<unknown, string, string>;

export interface DeliveriesTable {
  platform: string;
  delivery_id: string;
  event_name: string;
  payload: string;
  /** 'json' or 'deflate-base64' (see storage/payload-codec.ts). */
  payload_encoding: ColumnType<string, string | undefined, string>;
  received_at: Timestamp;
  status: string;
  attempts: Generated<number>;
  last_error: string | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  /** SHA-256 (hex) of the raw signed body; unique per platform (a replay under a new id is not stored). */
  body_digest: ColumnType<string | null, string | null | undefined, string | null>;
  /** When the delivery's job is to run (database clock); null: not queued (handled, failed, or waiting for its platform). */
  due_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** A worker's lease on the row (see storage/queue.ts); free once it has run out. */
  claimed_until: ColumnType<Date | null, Date | null | undefined, Date | null>;
  /** The claim holding the lease (each claim's own id). */
  claimed_by: ColumnType<string | null, string | null | undefined, string | null>;
  /** Times the current attempt was handed back to wait for a write turn (not failed attempts). */
  hand_backs: Generated<number>;
}

/** Gate re-evaluations waiting, running, or failed after every retry (see storage/queue.ts). */
export interface GateEvaluationsTable {
  id: Generated<number | string>;
  /** `<platform>:<repository>@<commit>`: one waiting evaluation per key. */
  key: string;
  job: Json;
  /** 'waiting' (joins later schedules), 'retry' (failed or handed back; does not), 'running', 'failed'. */
  state: string;
  due_at: Date;
  claimed_until: ColumnType<Date | null, Date | null | undefined, Date | null>;
  claimed_by: ColumnType<string | null, string | null | undefined, string | null>;
  attempts: Generated<number>;
  hand_backs: Generated<number>;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  created_at: Generated<Date>;
}

export interface IntakeRecordsTable {
  issue_key: string;
  platform: string;
  repo: string;
  number: number;
  answers: Json;
  problems: Json;
  complete: boolean;
  updated_at: Timestamp;
  closed_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface TierDecisionsTable {
  id: Generated<number | string>;
  issue_key: string;
  tier: number | null;
  routes: Json;
  reasons: Json;
  decided_at: Timestamp;
  delivery_id: string | null;
}

export interface AuditLogTable {
  id: Generated<number | string>;
  at: Timestamp;
  delivery_id: string | null;
  issue_key: string | null;
  action: string;
  detail: Json;
  outcome: string;
  error: string | null;
}

export interface NotificationsTable {
  key: string;
  channel: string;
  text: string;
  status: string;
  created_at: Timestamp;
  updated_at: ColumnType<Date, Date | undefined, Date>;
  notice: ColumnType<unknown, string | null | undefined, string | null>;
  attempts: Generated<number>;
  next_attempt_at: Date | null;
  claimed_until: Date | null;
  last_error: string | null;
  channel_id: string | null;
  message_ts: string | null;
  revision: Generated<number>;
  sent_revision: Generated<number>;
  item_key: string | null;
  acknowledged_by: string | null;
  acknowledged_at: Date | null;
  owner: string | null;
  post_started_at: Date | null;
}

export interface ChatChannelsTable {
  channel: string;
  next_slot: Timestamp;
  channel_id: string | null;
}

export interface ClocksTable {
  issue_key: string;
  issue_ref: Json;
  installation_id: string | null;
  clocks: Json;
  next_fire_at: Date | null;
  claimed_until: Date | null;
  updated_at: Timestamp;
}

export interface ClockMissesTable {
  issue_key: string;
  kind: string;
  tool: string;
  missed_at: Timestamp;
}

/** bigint: read as a string (PostgreSQL) or a number, written as a number. */
export type BigIntColumn = ColumnType<string | number, number, number>;

export interface GateDecisionsTable {
  seq: BigIntColumn;
  key: string;
  head_sha: string;
  release_class: string;
  verdict: string;
  reasons: Json;
  inputs: Json;
  policy_hash: string;
  decided_at: Timestamp;
  delivery_id: string | null;
  prev_hash: string;
  hash: string;
  /** Hashed with GATEHOUSE_CHAIN_KEY (HMAC-SHA256); false: plain sha256 (migration 0013). */
  keyed: ColumnType<boolean, boolean | undefined, boolean>;
}

/** The register chain (migration 0013): exception approvals and status changes, emergency releases. */
export interface RegisterRecordsTable {
  seq: BigIntColumn;
  kind: string;
  subject: string;
  content: Json;
  recorded_at: Timestamp;
  prev_hash: string;
  hash: string;
  keyed: boolean;
}

export interface GateExceptionsTable {
  id: string;
  finding_ref: string;
  category: string | null;
  repo: string;
  paths: Json;
  compensating_controls: string;
  business_owner: string;
  requested_by: string;
  requested_at: Timestamp;
  expires_at: Timestamp;
  status: string;
  approved_by: string | null;
  approved_at: Date | null;
  approved_digest: string | null;
  renewal_of: string | null;
  reminded_at: Date | null;
  updated_at: ColumnType<Date, Date | undefined, Date>;
}

export interface EmergencyRecordsTable {
  id: Generated<number | string>;
  key: string;
  head_sha: string;
  reason: string;
  evidence: Json;
  approver: string;
  controls_bypassed: Json;
  follow_up_issue_url: string | null;
  follow_up_due_at: Timestamp;
  decided_at: Timestamp;
}

export interface GitHubRedeliveriesTable {
  guid: string;
  hook_delivery_id: BigIntColumn;
  event: string;
  delivered_at: Timestamp;
  asked_at: Timestamp;
  outcome: string;
}

export interface GitLabHookAlertsTable {
  hook: string;
  state: string;
  reports: number;
  reported_at: Timestamp;
}

export interface ToolDecisionsTable {
  id: Generated<BigIntColumn>;
  tool: string;
  issue_key: string;
  form: string;
  decision: string;
  path_forward: string | null;
  criticality: string | null;
  repos: Json;
  owners: Json;
  decided_by: string;
  decided_at: Timestamp;
  delivery_id: string | null;
}

export interface ThreatDecisionsTable {
  id: Generated<BigIntColumn>;
  issue_key: string;
  comment_id: string;
  decided_by: string;
  decided_at: Timestamp;
  text: string;
  delivery_id: string | null;
}

/** One row per `/gatehouse …` command delivery: the per-account command limit counts them. */
export interface CommandUsesTable {
  id: Generated<BigIntColumn>;
  platform: string;
  /** The account as the platform reports it, in lower case. */
  actor: string;
  delivery_id: string;
  sent_at: Timestamp;
  /** The command was ignored by the limit and that was audited (once per window and account). */
  limit_audited: ColumnType<boolean, boolean | undefined, boolean>;
}

export interface Database {
  gate_evaluations: GateEvaluationsTable;
  command_uses: CommandUsesTable;
  threat_decisions: ThreatDecisionsTable;
  tool_decisions: ToolDecisionsTable;
  clocks: ClocksTable;
  clock_misses: ClockMissesTable;
  deliveries: DeliveriesTable;
  intake_records: IntakeRecordsTable;
  tier_decisions: TierDecisionsTable;
  audit_log: AuditLogTable;
  notifications: NotificationsTable;
  chat_channels: ChatChannelsTable;
  gate_decisions: GateDecisionsTable;
  gate_exceptions: GateExceptionsTable;
  emergency_records: EmergencyRecordsTable;
  register_records: RegisterRecordsTable;
  github_redeliveries: GitHubRedeliveriesTable;
  gitlab_hook_alerts: GitLabHookAlertsTable;
}
