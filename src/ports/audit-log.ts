/** The audit log: what Gatehouse did or refused, and why, per delivery and issue. Append-only. */

export interface AuditEntry {
  at: Date;
  deliveryId: string | null;
  issueKey: string | null;
  action: string;
  detail: unknown;
  outcome: 'ok' | 'error' | 'skipped';
  error?: string | null;
}

export interface AuditLog {
  /** One entry or several (written together, in order). */
  appendAudit(entries: AuditEntry | readonly AuditEntry[]): Promise<void>;
  /** The issue's entries, oldest first. */
  auditFor(issueKey: string): Promise<AuditEntry[]>;
}
