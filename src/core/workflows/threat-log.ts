/**
 * Threat-model decisions as a decision log: `/gatehouse threat-decision <text>`, commented on a deep
 * review (an intake with the planning checklist), appends one dated, attributed line to the
 * log kept in the issue's description; the plan bundle carries the log. Pure.
 */
import type { Action } from '../actions.ts';
import type { IssueCommentEvent } from '../model.ts';
import { neutralizeMentions } from '../text.ts';
import { readSection } from './sections.ts';

export const THREAT_LOG_SECTION = 'threat-decisions';
export const THREAT_LOG_MARKER = '<!-- gatehouse:threat-decision -->';
const PLANNING_SECTION = 'planning';
// `[ \t]*(.*)$` without the overlap (linear): the text starts after the blanks, and no line break follows.
const COMMAND = /^\s*\/gatehouse\s+threat-decision\b[ \t]*((?:[^ \t\n\r\u2028\u2029][^\n\r\u2028\u2029]*)?)$/i;
const HEADER = '### Threat-model decision log';

/** The decision text of a `/gatehouse threat-decision …` comment ('' when none given), or null for another comment. */
export function parseThreatDecision(body: string): string | null {
  const first = body.replace(/\r\n?/g, '\n').split('\n').find((l) => l.trim() !== '') ?? '';
  const m = COMMAND.exec(first);
  if (!m) return null;
  // The rest of the comment belongs to the decision too (a rationale on the next lines), folded to one line.
  const rest = body.replace(/\r\n?/g, '\n').split('\n').slice(body.replace(/\r\n?/g, '\n').split('\n').indexOf(first) + 1).join(' ');
  return `${m[1] ?? ''} ${rest}`.replace(/\s+/g, ' ').trim();
}

/** The log's entries as they stand in a description. */
export function threatLogEntries(body: string | null | undefined): string[] {
  const text = readSection(body, THREAT_LOG_SECTION);
  if (!text) return [];
  // Entries are kept escaped in the description; read back as text (whoever renders them escapes them).
  return text.split('\n').filter((l) => l.startsWith('- ')).map((l) => l.slice(2).replace(/&lt;/g, '<').replace(/&gt;/g, '>'));
}

const escapeAngles = (s: string): string => s.replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'));
const oneLine = (s: string): string => escapeAngles(neutralizeMentions(s)).slice(0, 1000);

export function planThreatDecision(event: IssueCommentEvent, now: Date): Action[] {
  const text = parseThreatDecision(event.comment.body);
  if (text === null) return [];
  const target = event.issue.ref;
  if (readSection(event.issue.body, PLANNING_SECTION) === null) {
    return [{ type: 'ensureComment', target, marker: THREAT_LOG_MARKER, body: `${THREAT_LOG_MARKER}\nThreat-model decisions are logged on deep reviews (intakes with the security planning checklist); this issue has none, so nothing was logged.` }];
  }
  if (text === '') {
    return [{ type: 'ensureComment', target, marker: THREAT_LOG_MARKER, body: `${THREAT_LOG_MARKER}\nSay the decision: \`/gatehouse threat-decision <what was decided, and why>\`. Nothing was logged.` }];
  }
  const entry = `${now.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${oneLine(event.actor.login)}: ${oneLine(text)}`;
  const entries = [...threatLogEntries(event.issue.body).map(escapeAngles), entry];
  return [
    { type: 'ensureBodySection', target, section: THREAT_LOG_SECTION, text: [HEADER, '', ...entries.map((e) => `- ${e}`)].join('\n') },
    { type: 'ensureComment', target, marker: THREAT_LOG_MARKER, body: `${THREAT_LOG_MARKER}\nThreat-model decision log: ${entries.length} decision${entries.length === 1 ? '' : 's'}, the latest by ${oneLine(event.actor.login)}. The log is in the description and goes into the plan bundle.` },
  ];
}
