/**
 * Threat-model decisions as a decision log: `/gatehouse threat-decision <text>`, commented on a deep
 * review by an account the global policy names (`planning.threatDeciders`), adds one dated,
 * attributed entry to the log Gatehouse keeps in its database. The log is shown in a comment only
 * Gatehouse writes and goes into the plan bundle; nothing is read back from the issue description
 * or from comments, so editing them changes no entry. Pure.
 */
import type { Action } from '../actions.ts';
import { issueKey, type IssueCommentEvent } from '../model.ts';
import { neutralizeMentions } from '../text.ts';
import { authorityKey, mayRun, refuseCommand, type CommandAuthority } from './commands.ts';

/** One entry of the log, as stored. */
export interface ThreatDecision {
  issueKey: string;
  /** The command comment's id on its platform: one entry per comment, however often it is delivered. */
  commentId: string;
  /** The comment's author as the platform reported it. */
  decidedBy: string;
  decidedAt: Date;
  /** The decision and its rationale, folded to one line (raw: escaped when shown). */
  text: string;
}

export const THREAT_LOG_MARKER = '<!-- gatehouse:threat-decision -->';
// `[ \t]*(.*)$` without the overlap (linear): the text starts after the blanks, and no line break follows.
const COMMAND = /^\s*\/gatehouse\s+threat-decision\b[ \t]*((?:[^ \t\n\r\u2028\u2029][^\n\r\u2028\u2029]*)?)$/i;
const MAX_TEXT = 1000;
/** Entries shown in the log comment (the newest; the bundle carries them all). */
const SHOWN = 40;

/** The decision text of a `/gatehouse threat-decision …` comment ('' when none given), or null for another comment. */
export function parseThreatDecision(body: string): string | null {
  const lines = body.replace(/\r\n?/g, '\n').split('\n');
  const at = lines.findIndex((l) => l.trim() !== '');
  const m = at < 0 ? null : COMMAND.exec(lines[at]!);
  if (!m) return null;
  // The rest of the comment belongs to the decision too (a rationale on the next lines), folded to one line.
  return `${m[1] ?? ''} ${lines.slice(at + 1).join(' ')}`.replace(/\s+/g, ' ').trim().slice(0, MAX_TEXT);
}

const escapeAngles = (s: string): string => s.replace(/&/g, '&amp;').replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'));

/** An entry as one line of text (mentions broken; the caller escapes for its medium). */
export function threatEntryLine(d: Pick<ThreatDecision, 'decidedAt' | 'decidedBy' | 'text'>): string {
  return neutralizeMentions(`${d.decidedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${d.decidedBy}: ${d.text}`);
}

/** The comment that shows the stored log. */
export function threatLogComment(log: readonly ThreatDecision[]): string {
  const shown = log.slice(-SHOWN);
  const earlier = log.length - shown.length;
  return [
    THREAT_LOG_MARKER,
    '### Threat-model decision log',
    '',
    `${log.length} decision${log.length === 1 ? '' : 's'}, kept by Gatehouse from the commands of the policy's threat deciders (\`planning.threatDeciders\`); the log goes into the security plan bundle. Editing this comment or the issue description changes no entry.`,
    '',
    ...(earlier > 0 ? [`_${earlier} earlier decision${earlier === 1 ? '' : 's'} in the plan bundle._`, ''] : []),
    ...shown.map((d) => `- ${escapeAngles(threatEntryLine(d))}`),
  ].join('\n');
}

export interface ThreatDecisionInput {
  event: IssueCommentEvent;
  /** Who may run commands, from the global policy. */
  authority: CommandAuthority;
  /** The issue's stored log; null when it could not be read (the command is refused). */
  log: readonly ThreatDecision[] | null;
  /** Whether the issue is a deep review: its stored tier decision reaches the planning flow's tier. */
  deepReview: boolean;
  now: Date;
}

export function planThreatDecision({ event, authority, log, deepReview, now }: ThreatDecisionInput): Action[] {
  const text = parseThreatDecision(event.comment.body);
  if (text === null) return [];
  const refuse = (reason: string): Action[] => refuseCommand(event, 'threat-decision', reason, now);
  const platform = event.issue.ref.repo.platform;
  if (!mayRun(authority, 'threat-decision', event))
    return refuse(
      `only the accounts the global policy names in \`${authorityKey('threat-decision', platform)}\` may log threat-model decisions`,
    );
  if (log === null) return refuse('Gatehouse could not read the stored decision log, so it logged nothing');
  if (!deepReview)
    return refuse(
      "threat-model decisions are logged on deep reviews (intakes Gatehouse classified at the planning flow's tier); this issue is none",
    );
  if (text === '') return refuse('no decision given: `/gatehouse threat-decision <what was decided, and why>`');
  const key = issueKey(event.issue.ref);
  const commentId = String(event.comment.id);
  // A redelivered command finds its entry already stored: the comment is shown again, nothing added.
  const known = log.find((d) => d.commentId === commentId);
  const decision: ThreatDecision = known ?? { issueKey: key, commentId, decidedBy: event.actor.login, decidedAt: now, text };
  const next = known ? log : [...log, decision];
  return [
    { type: 'recordThreatDecision', target: event.issue.ref, decision },
    { type: 'ensureComment', target: event.issue.ref, marker: THREAT_LOG_MARKER, body: threatLogComment(next) },
  ];
}
