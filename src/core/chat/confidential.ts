/**
 * A confidential issue is visible only to its project's members; a chat channel is not. Every
 * notice raised by one keeps what Gatehouse itself decided (kind, tier or severity, labels, route,
 * due times, the link, the terms digest an Approve button carries) and drops what people wrote:
 * the title, the reasons (they quote answers: service, exposure, compensating controls…) and the
 * owner's handle. Whoever follows the link and may see the issue reads the rest there. Pure.
 */
import type { Action, NotifyChat } from '../actions.ts';
import type { IssueSnapshot } from '../model.ts';

/**
 * The stored intake record of a confidential issue says so under this key (`yes`): what reads the
 * records for chat (the queue, an escalation raised from Slack) leaves its answers out.
 */
export const CONFIDENTIAL_ANSWER = 'confidential_issue';

/** Whether a stored intake record is a confidential issue's. */
export const isConfidentialRecord = (answers: Readonly<Record<string, unknown>> | null | undefined): boolean =>
  answers?.[CONFIDENTIAL_ANSWER] === 'yes';

export const CONFIDENTIAL_REASON = 'Confidential issue: its title and content stay on the issue; open the link (project members only)';

/** `acme/shop#7`, the confidential issue's reference. */
const reference = (issue: IssueSnapshot): string => `${issue.ref.repo.fullName}#${issue.ref.number}`;

function withheld(action: NotifyChat, issue: IssueSnapshot): NotifyChat {
  const title = `Confidential issue ${reference(issue)}`;
  return {
    ...action,
    text: `${title} (${action.notice.kind}${action.notice.severity ? `, ${action.notice.severity}` : ''}) — ${issue.url}`,
    notice: { ...action.notice, title, reasons: [CONFIDENTIAL_REASON], owner: null, url: issue.url },
  };
}

/**
 * The actions planned for an event on `issue`: when it is confidential, its chat notices stripped
 * of content and its intake record marked (CONFIDENTIAL_ANSWER).
 */
export function withholdConfidential(issue: IssueSnapshot, actions: Action[]): Action[] {
  if (issue.confidential !== true) return actions;
  return actions.map((a) => {
    if (a.type === 'notifyChat') return withheld(a, issue);
    if (a.type === 'saveIntake') return { ...a, record: { ...a.record, answers: { ...a.record.answers, [CONFIDENTIAL_ANSWER]: 'yes' } } };
    return a;
  });
}
