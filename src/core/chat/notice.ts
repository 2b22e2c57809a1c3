/**
 * Escalation notices: what the core asks to be said in chat, as plain data. The Slack adapter
 * renders them as Block Kit (user text as `plain_text`, never mrkdwn), one message per notice key;
 * a later notice with the same key updates that message.
 */

/** Why an escalation is raised; the policy routes each kind (or route) to a channel. */
export type NoticeKind =
  | 'intake-leadership'
  | 'incident'
  | 'slo-breached'
  | 'rto-breached'
  | 'repeated-miss'
  | 'gate-block'
  | 'ship-despite-block'
  | 'repeated-exception'
  | 'exception-request'
  | 'exception-expiring'
  | 'emergency-release'
  | 'manual'
  | 'digest';

export const NOTICE_KINDS: readonly NoticeKind[] = [
  'intake-leadership',
  'incident',
  'slo-breached',
  'rto-breached',
  'repeated-miss',
  'gate-block',
  'ship-despite-block',
  'repeated-exception',
  'exception-request',
  'exception-expiring',
  'emergency-release',
  'manual',
  'digest',
];

export interface NoticeDue {
  /** e.g. `SLO due`, `Exception expires`. */
  label: string;
  /** ISO-8601 UTC. */
  at: string;
}

export interface Notice {
  kind: NoticeKind;
  /** What: one line (user text allowed: it is always sent as plain text). */
  title: string;
  /** Why: every reason, one line each. */
  reasons: string[];
  /** `Tier 3 (leadership)`, `critical`, `high-risk prod`… */
  severity: string | null;
  /** The item's owner (`@handle` as the intake gave it). */
  owner: string | null;
  due: NoticeDue[];
  /** The issue, PR or MR. */
  url: string | null;
  /** Labels worth showing (e.g. `route::incident`). */
  labels: string[];
  /** The route that raised it, when one did (`incident`, `exception-board`…). */
  route: string | null;
  /** The item's key (`github:owner/repo#7`), for acknowledgement and ownership buttons. */
  itemKey: string | null;
  /** An exception request's terms digest: its Approve button carries it, and approves only these terms. */
  terms?: string | null;
}
