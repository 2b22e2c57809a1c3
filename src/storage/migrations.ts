/** Schema migrations, in code. Append new entries; never edit an applied one. */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

const migrations: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('deliveries')
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('event_name', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('received_at', 'timestamptz', (c) => c.notNull())
        .addColumn('status', 'text', (c) =>
          c
            .notNull()
            .defaultTo('pending')
            .check(sql`status in ('pending', 'done', 'failed', 'ignored')`),
        )
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('deliveries_pkey', ['platform', 'delivery_id'])
        .execute();
      // Payloads are stored as received, uncompressed: compressing them costs more CPU on the
      // acknowledgement path than the disk it saves.
      await sql`alter table deliveries alter column payload set storage external`.execute(db);
      await db.schema
        .createIndex('deliveries_pending_idx')
        .on('deliveries')
        .columns(['received_at'])
        .where(sql.ref('status'), '=', 'pending')
        .execute();

      await db.schema
        .createTable('intake_records')
        .addColumn('issue_key', 'text', (c) => c.primaryKey())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('answers', 'jsonb', (c) => c.notNull())
        .addColumn('problems', 'jsonb', (c) => c.notNull())
        .addColumn('complete', 'boolean', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('tier_decisions')
        .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
        .addColumn('issue_key', 'text', (c) => c.notNull())
        .addColumn('tier', 'integer')
        .addColumn('routes', 'jsonb', (c) => c.notNull())
        .addColumn('reasons', 'jsonb', (c) => c.notNull())
        .addColumn('decided_at', 'timestamptz', (c) => c.notNull())
        .addColumn('delivery_id', 'text')
        .execute();
      await db.schema.createIndex('tier_decisions_issue_idx').on('tier_decisions').columns(['issue_key', 'decided_at', 'id']).execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
        .addColumn('at', 'timestamptz', (c) => c.notNull())
        .addColumn('delivery_id', 'text')
        .addColumn('issue_key', 'text')
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('detail', 'jsonb', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull().check(sql`outcome in ('ok', 'error', 'skipped')`))
        .addColumn('error', 'text')
        .execute();
      await db.schema.createIndex('audit_log_issue_idx').on('audit_log').columns(['issue_key', 'at', 'id']).execute();

      await db.schema
        .createTable('notifications')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) =>
          c
            .notNull()
            .defaultTo('pending')
            .check(sql`status in ('pending', 'sent', 'failed')`),
        )
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema.createIndex('notifications_status_idx').on('notifications').columns(['status', 'created_at']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of ['notifications', 'audit_log', 'tier_decisions', 'intake_records', 'deliveries'])
        await db.schema.dropTable(t).ifExists().execute();
    },
  },
  '0002_clocks': {
    async up(db: Kysely<unknown>): Promise<void> {
      // One row per issue: its SLO/RTO clocks, and the next moment one of them owes something.
      await db.schema
        .createTable('clocks')
        .addColumn('issue_key', 'text', (c) => c.primaryKey())
        .addColumn('issue_ref', 'jsonb', (c) => c.notNull())
        .addColumn('installation_id', 'bigint')
        .addColumn('clocks', 'jsonb', (c) => c.notNull())
        .addColumn('next_fire_at', 'timestamptz')
        .addColumn('claimed_until', 'timestamptz')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      // The scheduler's tick reads only clocks that are due: never a scan of the running ones.
      await db.schema
        .createIndex('clocks_due_idx')
        .on('clocks')
        .column('next_fire_at')
        .where(sql.ref('next_fire_at'), 'is not', null)
        .execute();
      // Each clock misses at most once; counted per tool over a window.
      await db.schema
        .createTable('clock_misses')
        .addColumn('issue_key', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('tool', 'text', (c) => c.notNull())
        .addColumn('missed_at', 'timestamptz', (c) => c.notNull())
        .addPrimaryKeyConstraint('clock_misses_pkey', ['issue_key', 'kind'])
        .execute();
      await db.schema.createIndex('clock_misses_tool_idx').on('clock_misses').columns(['tool', 'missed_at']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('clock_misses').ifExists().execute();
      await db.schema.dropTable('clocks').ifExists().execute();
    },
  },
  '0003_payload_encoding': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Large payloads are stored deflated and base64-encoded (see storage/payload-codec.ts);
      // rows written before keep 'json'.
      await db.schema
        .alterTable('deliveries')
        .addColumn('payload_encoding', 'text', (c) =>
          c
            .notNull()
            .defaultTo('json')
            .check(sql`payload_encoding in ('json', 'deflate-base64')`),
        )
        .execute();
      // A deflated payload (~2.6 KB) then stays in its row rather than in TOAST chunks.
      await sql`alter table deliveries set (toast_tuple_target = 8160)`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('deliveries').dropColumn('payload_encoding').execute();
    },
  },
  '0004_chat': {
    async up(db: Kysely<unknown>): Promise<void> {
      // The notification outbox becomes the escalation record: the notice as data, delivery state
      // (attempts, next attempt, lease), the Slack message it became (for chat.update), and who
      // acknowledged or took ownership of it.
      await db.schema
        .alterTable('notifications')
        .addColumn('notice', 'jsonb')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at', 'timestamptz')
        .addColumn('claimed_until', 'timestamptz')
        .addColumn('last_error', 'text')
        .addColumn('channel_id', 'text')
        .addColumn('message_ts', 'text')
        .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('sent_revision', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('item_key', 'text')
        .addColumn('acknowledged_by', 'text')
        .addColumn('acknowledged_at', 'timestamptz')
        .addColumn('owner', 'text')
        .execute();
      await db.schema.createIndex('notifications_item_idx').on('notifications').column('item_key').execute();
      // One reservation row per channel: the next moment a message may go there (shared by replicas).
      await db.schema
        .createTable('chat_channels')
        .addColumn('channel', 'text', (c) => c.primaryKey())
        .addColumn('next_slot', 'timestamptz', (c) => c.notNull())
        .execute();
      // Intakes closed on the forge leave the queue.
      await db.schema.alterTable('intake_records').addColumn('closed_at', 'timestamptz').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('chat_channels').ifExists().execute();
      await db.schema.alterTable('intake_records').dropColumn('closed_at').execute();
      for (const c of [
        'notice',
        'attempts',
        'next_attempt_at',
        'claimed_until',
        'last_error',
        'channel_id',
        'message_ts',
        'revision',
        'sent_revision',
        'item_key',
        'acknowledged_by',
        'acknowledged_at',
        'owner',
      ]) {
        await db.schema.alterTable('notifications').dropColumn(c).execute();
      }
    },
  },
  '0005_gate': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Release decision records: one global hash chain (see storage/decision-chain.ts). seq is
      // assigned by the appender under a transaction-scoped advisory lock (prev + 1, no gaps: it
      // is part of the hash, so it must be known before the insert); prev_hash unique means the
      // chain cannot fork even if that lock were bypassed.
      await db.schema
        .createTable('gate_decisions')
        .addColumn('seq', 'bigint', (c) => c.primaryKey().check(sql`seq >= 1`))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('head_sha', 'text', (c) => c.notNull())
        .addColumn('release_class', 'text', (c) => c.notNull())
        .addColumn('verdict', 'text', (c) => c.notNull())
        .addColumn('reasons', 'jsonb', (c) => c.notNull())
        .addColumn('inputs', 'jsonb', (c) => c.notNull())
        .addColumn('policy_hash', 'text', (c) => c.notNull())
        .addColumn('decided_at', 'timestamptz', (c) => c.notNull())
        .addColumn('delivery_id', 'text')
        .addColumn('prev_hash', 'text', (c) => c.notNull().unique())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .execute();
      await db.schema.createIndex('gate_decisions_key_idx').on('gate_decisions').columns(['key', 'seq']).execute();
      await db.schema.createIndex('gate_decisions_decided_idx').on('gate_decisions').columns(['decided_at', 'seq']).execute();

      // The exception register: one row per exception request issue.
      await db.schema
        .createTable('gate_exceptions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('finding_ref', 'text', (c) => c.notNull())
        .addColumn('category', 'text')
        .addColumn('repo', 'text', (c) => c.notNull())
        .addColumn('paths', 'jsonb', (c) => c.notNull())
        .addColumn('compensating_controls', 'text', (c) => c.notNull())
        .addColumn('business_owner', 'text', (c) => c.notNull())
        .addColumn('requested_by', 'text', (c) => c.notNull())
        .addColumn('requested_at', 'timestamptz', (c) => c.notNull())
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('requested', 'approved', 'rejected', 'revoked')`))
        .addColumn('approved_by', 'text')
        .addColumn('approved_at', 'timestamptz')
        .addColumn('renewal_of', 'text')
        .addColumn('reminded_at', 'timestamptz')
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema.createIndex('gate_exceptions_repo_idx').on('gate_exceptions').column('repo').execute();
      await db.schema
        .createIndex('gate_exceptions_expiry_idx')
        .on('gate_exceptions')
        .column('expires_at')
        .where(sql.ref('status'), '=', 'approved')
        .execute();
      await db.schema.createIndex('gate_exceptions_category_idx').on('gate_exceptions').columns(['category', 'requested_at']).execute();

      // Emergency releases: the minimum record, one per change request and head commit.
      await db.schema
        .createTable('emergency_records')
        .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('head_sha', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('evidence', 'jsonb', (c) => c.notNull())
        .addColumn('approver', 'text', (c) => c.notNull())
        .addColumn('controls_bypassed', 'jsonb', (c) => c.notNull())
        .addColumn('follow_up_issue_url', 'text')
        .addColumn('follow_up_due_at', 'timestamptz', (c) => c.notNull())
        .addColumn('decided_at', 'timestamptz', (c) => c.notNull())
        .addUniqueConstraint('emergency_records_key_head_key', ['key', 'head_sha'])
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of ['emergency_records', 'gate_exceptions', 'gate_decisions']) await db.schema.dropTable(t).ifExists().execute();
    },
  },
  '0006_redelivery': {
    async up(db: Kysely<unknown>): Promise<void> {
      // GitHub deliveries we asked GitHub to send again: one row per delivery guid, written before
      // asking, so a restart or another replica never asks twice.
      await db.schema
        .createTable('github_redeliveries')
        .addColumn('guid', 'text', (c) => c.primaryKey())
        .addColumn('hook_delivery_id', 'bigint', (c) => c.notNull())
        .addColumn('event', 'text', (c) => c.notNull())
        .addColumn('delivered_at', 'timestamptz', (c) => c.notNull())
        .addColumn('asked_at', 'timestamptz', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .execute();
      // GitLab project hooks by their last state seen (`ok` once healthy again) and how many
      // times a disabled state was reported: reported once per hook and state.
      await db.schema
        .createTable('gitlab_hook_alerts')
        .addColumn('hook', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reports', 'integer', (c) => c.notNull())
        .addColumn('reported_at', 'timestamptz', (c) => c.notNull())
        .execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      for (const t of ['gitlab_hook_alerts', 'github_redeliveries']) await db.schema.dropTable(t).ifExists().execute();
    },
  },
  '0008_tool_decisions': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Tooling intake decisions (/gatehouse decide …): the policy's inventory is static YAML, so
      // decisions are kept here and overlaid on it (the latest per tool wins). One row per command comment.
      await db.schema
        .createTable('tool_decisions')
        .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
        .addColumn('tool', 'text', (c) => c.notNull())
        .addColumn('issue_key', 'text', (c) => c.notNull())
        .addColumn('form', 'text', (c) => c.notNull().check(sql`form in ('request', 'handover')`))
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('path_forward', 'text')
        .addColumn('criticality', 'text')
        .addColumn('repos', 'jsonb', (c) => c.notNull())
        .addColumn('owners', 'jsonb', (c) => c.notNull())
        .addColumn('decided_by', 'text', (c) => c.notNull())
        .addColumn('decided_at', 'timestamptz', (c) => c.notNull())
        .addColumn('delivery_id', 'text')
        .execute();
      await db.schema.createIndex('tool_decisions_tool_idx').on('tool_decisions').columns(['tool', 'decided_at', 'id']).execute();
      // A redelivered command comment records its decision once.
      await db.schema.createIndex('tool_decisions_delivery_idx').on('tool_decisions').column('delivery_id').unique().execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('tool_decisions').ifExists().execute();
    },
  },
  '0009_notice_posting': {
    async up(db: Kysely<unknown>): Promise<void> {
      // When a post of a notice began and has not been settled: a worker that died (or timed out)
      // after Slack may have taken the message leaves it set, and the next worker looks in the
      // channel's history for the message before posting again.
      await db.schema.alterTable('notifications').addColumn('post_started_at', 'timestamptz').execute();
      // The channel id behind a configured channel name (`#prodsec-escalations`), learnt from Slack.
      await db.schema.alterTable('chat_channels').addColumn('channel_id', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('chat_channels').dropColumn('channel_id').execute();
      await db.schema.alterTable('notifications').dropColumn('post_started_at').execute();
    },
  },
  '0012_threat_decisions': {
    async up(db: Kysely<unknown>): Promise<void> {
      // The threat-model decision log of deep reviews (/gatehouse threat-decision …): kept here, not in
      // the editable issue description, so that only a decider's command adds to it and nobody can edit
      // or erase an entry from the platform. One row per command comment, whoever redelivers it.
      await db.schema
        .createTable('threat_decisions')
        .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
        .addColumn('issue_key', 'text', (c) => c.notNull())
        .addColumn('comment_id', 'text', (c) => c.notNull())
        .addColumn('decided_by', 'text', (c) => c.notNull())
        .addColumn('decided_at', 'timestamptz', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text')
        .execute();
      await db.schema
        .createIndex('threat_decisions_comment_idx')
        .on('threat_decisions')
        .columns(['issue_key', 'comment_id'])
        .unique()
        .execute();
      await db.schema.createIndex('threat_decisions_issue_idx').on('threat_decisions').columns(['issue_key', 'decided_at', 'id']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('threat_decisions').ifExists().execute();
    },
  },
  '0013_register_chain': {
    async up(db: Kysely<unknown>): Promise<void> {
      // Decision records hashed with GATEHOUSE_CHAIN_KEY (HMAC-SHA256) say so; older ones are sha256.
      await db.schema
        .alterTable('gate_decisions')
        .addColumn('keyed', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
      // The register chain: every exception status change (approval, rejection, revocation, changed
      // terms of an approved one) and every emergency release, appended under the same kind of
      // transaction lock as decision records (see storage/decision-chain.ts).
      await db.schema
        .createTable('register_records')
        .addColumn('seq', 'bigint', (c) => c.primaryKey().check(sql`seq >= 1`))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('content', 'jsonb', (c) => c.notNull())
        .addColumn('recorded_at', 'timestamptz', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull().unique())
        .addColumn('hash', 'text', (c) => c.notNull().unique())
        .addColumn('keyed', 'boolean', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('register_records_subject_idx').on('register_records').columns(['subject', 'seq']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('register_records').ifExists().execute();
      await db.schema.alterTable('gate_decisions').dropColumn('keyed').execute();
    },
  },
  '0010_exception_terms': {
    async up(db: Kysely<unknown>): Promise<void> {
      // The digest of the terms an exception's approval was given for: an approval stored before
      // this column existed has none, and the gate no longer lets it waive anything.
      await db.schema.alterTable('gate_exceptions').addColumn('approved_digest', 'text').execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.alterTable('gate_exceptions').dropColumn('approved_digest').execute();
    },
  },
  '0011_body_digest': {
    async up(db: Kysely<unknown>): Promise<void> {
      // The SHA-256 of a delivery's raw signed body: the same body sent again under a new delivery
      // id (a replay) is not stored again, so it has no second effect. Null for rows stored before
      // and for Slack, whose requests are not checked this way (NULLs never conflict).
      await db.schema.alterTable('deliveries').addColumn('body_digest', 'text').execute();
      await db.schema.createIndex('deliveries_body_digest_idx').on('deliveries').columns(['platform', 'body_digest']).unique().execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropIndex('deliveries_body_digest_idx').ifExists().execute();
      await db.schema.alterTable('deliveries').dropColumn('body_digest').execute();
    },
  },
  '0014_command_uses': {
    async up(db: Kysely<unknown>): Promise<void> {
      // The commands each account sent lately (/gatehouse … comments), for the per-account limit:
      // counted here rather than in a process's memory so that every replica sees the same count.
      // One row per delivery (a retried job is not counted twice); rows older than the window are
      // deleted as the account sends its next command.
      await db.schema
        .createTable('command_uses')
        .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
        .addColumn('platform', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('delivery_id', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'timestamptz', (c) => c.notNull())
        .addColumn('limit_audited', 'boolean', (c) => c.notNull().defaultTo(false))
        .execute();
      await db.schema.createIndex('command_uses_delivery_idx').on('command_uses').columns(['platform', 'delivery_id']).unique().execute();
      await db.schema.createIndex('command_uses_actor_idx').on('command_uses').columns(['platform', 'actor', 'sent_at']).execute();
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('command_uses').ifExists().execute();
    },
  },
  '0015_delivery_leases': {
    async up(db: Kysely<unknown>): Promise<void> {
      // A delivery's job is its row: due at `due_at`, run under a lease (`claimed_until`, renewed
      // while it runs, held by the claim `claimed_by`), handed back `hand_backs` times in its
      // current attempt; `attempts`, `status` and `last_error` keep their meaning.
      await db.schema
        .alterTable('deliveries')
        .addColumn('due_at', 'timestamptz')
        .addColumn('claimed_until', 'timestamptz')
        .addColumn('claimed_by', 'text')
        .addColumn('hand_backs', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      // Deliveries an earlier version queued in pg-boss: every one still pending is due now (one
      // whose platform is off runs, finds it off and waits again), so nothing acknowledged is lost.
      await sql`update deliveries set due_at = now() where status = 'pending'`.execute(db);
      await sql`create index deliveries_due_idx on deliveries (due_at) where status = 'pending' and due_at is not null`.execute(db);
      await db.schema
        .createTable('gate_evaluations')
        .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('job', 'jsonb', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('due_at', 'timestamptz', (c) => c.notNull())
        .addColumn('claimed_until', 'timestamptz')
        .addColumn('claimed_by', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('hand_backs', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      // One waiting evaluation per repository and commit: a schedule meanwhile joins it.
      await sql`create unique index gate_evaluations_waiting_key on gate_evaluations (key) where state = 'waiting'`.execute(db);
      await sql`create index gate_evaluations_due_idx on gate_evaluations (due_at) where state <> 'failed'`.execute(db);
      // Gate re-evaluations an earlier version scheduled in pg-boss (its queue `deliveries_gate`)
      // and that had not run, or not to their end (`active`: its process stopped for this upgrade):
      // carried over; a job without the fields of a key is left behind rather than failing the
      // upgrade. pg-boss's schema itself is left as it was.
      const { rows } = await sql<{ present: boolean }>`select to_regclass('pgboss.job') is not null as present`.execute(db);
      if (rows[0]?.present)
        await sql`insert into gate_evaluations (key, job, state, due_at)
          select distinct on (k) k, data, 'waiting', start_after from (
            select (data->'repo'->>'platform') || ':' || lower(data->'repo'->>'fullName') || '@' || lower(data->>'sha') as k, data, start_after
            from pgboss.job where name = 'deliveries_gate' and state in ('created', 'retry', 'active')
              and data->'repo'->>'platform' is not null and data->'repo'->>'fullName' is not null and data->>'sha' is not null
          ) j order by k, start_after`.execute(db);
    },
    async down(db: Kysely<unknown>): Promise<void> {
      await db.schema.dropTable('gate_evaluations').ifExists().execute();
      await db.schema.dropIndex('deliveries_due_idx').ifExists().execute();
      await db.schema
        .alterTable('deliveries')
        .dropColumn('due_at')
        .dropColumn('claimed_until')
        .dropColumn('claimed_by')
        .dropColumn('hand_backs')
        .execute();
    },
  },
};

const provider: MigrationProvider = { getMigrations: async () => migrations };

/** Every migration's name, in the order they run (by name). */
export const migrationNames = (): string[] => Object.keys(migrations).sort();

/** Applies pending migrations; a no-op when the schema is current. Throws on failure. */
export async function migrateToLatest<DB>(db: Kysely<DB>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider,
    migrationTableName: 'gatehouse_migration',
    migrationLockTableName: 'gatehouse_migration_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(`migration failed: ${String(error)}`);
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
