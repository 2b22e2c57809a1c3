/**
 * A manual escalation from chat: label the item, say so on it, and raise one notice. Pure.
 */
import type { Action } from '../actions.ts';
import type { IssueRef } from '../model.ts';
import type { Policy } from '../policy/schema.ts';
import { neutralizeMentions } from '../text.ts';
import type { ItemRef } from './command.ts';
import { noticeChannel } from './route.ts';

export interface ManualEscalation {
  item: ItemRef;
  target: IssueRef;
  itemKey: string;
  reason: string;
  /** Who asked, as the chat names them (display name) and their chat id. */
  requestedBy: { name: string; id: string };
  /** Unique per request (Slack's trigger id): one notice per escalation. */
  requestId: string;
  /** What Gatehouse knows of the item, for the notice. */
  known: { service: string | null; owner: string | null; severity: string | null };
}

export const escalationMarker = (requestId: string): string => `<!-- gatehouse:escalation:${requestId.replace(/[^\w.-]/g, '')} -->`;

export function planManualEscalation(e: ManualEscalation, policy: Policy, now: Date): Action[] {
  const label = policy.chat.escalationLabel;
  const who = neutralizeMentions(e.requestedBy.name);
  const reason = neutralizeMentions(e.reason).replace(/[\r\n]+/g, ' ');
  const body = [
    escalationMarker(e.requestId),
    `## 📣 Escalated from Slack`,
    '',
    `**Why:** ${escapeHtml(reason)}`,
    '',
    `Raised by ${escapeHtml(who)} at ${now.toISOString().slice(0, 16).replace('T', ' ')} UTC; the escalation is in ${noticeChannel(policy, 'manual', null)}.`,
  ].join('\n');
  const title = `${e.known.service ? `${e.known.service}: ` : ''}${e.item.fullName}${e.item.kind === 'change' && e.item.platform === 'gitlab' ? '!' : '#'}${e.item.number}`;
  return [
    { type: 'ensureLabels', target: e.target, add: [label], remove: [] },
    { type: 'ensureComment', target: e.target, marker: escalationMarker(e.requestId), body },
    {
      type: 'notifyChat',
      key: `manual:${e.itemKey}:${e.requestId}`,
      channel: noticeChannel(policy, 'manual', null),
      text: `Escalation: ${title}: ${e.reason}`,
      notice: {
        kind: 'manual',
        title,
        reasons: [e.reason, `Raised by ${e.requestedBy.name}`],
        severity: e.known.severity,
        owner: e.known.owner,
        due: [],
        url: e.item.url,
        labels: [label],
        route: null,
        itemKey: e.itemKey,
      },
    },
  ];
}

const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
