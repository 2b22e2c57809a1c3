/** The audit log over Kysely (PGlite and PostgreSQL): appended, read back per issue in order. */
import type { Kysely, Selectable } from 'kysely';
import { z } from 'zod';
import type { AuditEntry, AuditLog } from '../ports/audit-log.ts';
import { json } from './columns.ts';
import type { AuditLogTable, Database } from './schema.ts';

const outcome = z.enum(['ok', 'error', 'skipped']);

export class KyselyAuditLog implements AuditLog {
  constructor(private readonly db: Kysely<Database>) {}

  async appendAudit(entries: AuditEntry | readonly AuditEntry[]): Promise<void> {
    const list = Array.isArray(entries) ? entries : [entries as AuditEntry];
    if (list.length === 0) return;
    await this.db
      .insertInto('audit_log')
      .values(
        list.map((e) => ({
          at: e.at,
          delivery_id: e.deliveryId,
          issue_key: e.issueKey,
          action: e.action,
          detail: json(e.detail),
          outcome: e.outcome,
          error: e.error ?? null,
        })),
      )
      .execute();
  }

  async auditFor(issueKey: string): Promise<AuditEntry[]> {
    const rows = await this.db.selectFrom('audit_log').selectAll().where('issue_key', '=', issueKey).orderBy('at').orderBy('id').execute();
    return rows.map(toAudit);
  }
}

function toAudit(r: Selectable<AuditLogTable>): AuditEntry {
  return {
    at: r.at,
    deliveryId: r.delivery_id,
    issueKey: r.issue_key,
    action: r.action,
    detail: r.detail,
    outcome: outcome.parse(r.outcome),
    error: r.error,
  };
}
