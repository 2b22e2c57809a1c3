/**
 * Notices as Slack Block Kit. Every piece of user-supplied text (titles, reasons, owners, labels)
 * goes out as `plain_text`, which Slack never parses for mentions, links or formatting; the only
 * mrkdwn we send is our own words and Slack ids taken from Slack's own signed payloads.
 */
import type { Notice } from '../../core/chat/notice.ts';
import type { NoticeState } from '../../ports/chat.ts';

/** Escapes the three characters Slack's text parser gives meaning to (`<!channel>`, `<@U1>`, `<url|x>`). */
export const escapeSlack = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

const cut = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}
const plain = (text: string, max = 3000): PlainText => ({
  type: 'plain_text',
  text: cut(text.trim() === '' ? '—' : text, max),
  emoji: false,
});

export type Block = Record<string, unknown>;

export const ACK_ACTION = 'gatehouse_acknowledge';
export const OWN_ACTION = 'gatehouse_take_ownership';
export const APPROVE_ACTION = 'gatehouse_approve_exception';

const KIND_TITLE: Record<Notice['kind'], string> = {
  'intake-leadership': '🧭 Leadership decision needed',
  incident: '🚨 Suspected active exploitation',
  'slo-breached': '⏱️ SLO breached',
  'rto-breached': '⏱️ RTO breached',
  'repeated-miss': '🔁 A tool keeps missing its targets',
  'gate-block': '⛔ Release blocked',
  'ship-despite-block': '⚠️ Request to ship despite a blocking finding',
  'repeated-exception': '🔁 Exception category repeated across services',
  'exception-request': '📝 Exception request awaiting approval',
  'exception-expiring': '⌛ Exception about to expire',
  'emergency-release': '🚑 Emergency release',
  manual: '📣 Escalation',
  digest: '📊 Operating cadence digest',
};

const iso = (at: string): string => {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? at : `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
};

/** The plain-text fallback Slack shows in notifications: our words plus the escaped title. */
export function fallbackText(notice: Notice): string {
  return escapeSlack(cut(`${KIND_TITLE[notice.kind]}: ${notice.title}`, 3000));
}

/** Blocks of a notice, with its acknowledgement and ownership as they stand. */
export function noticeBlocks(notice: Notice, state: NoticeState): Block[] {
  const blocks: Block[] = [
    { type: 'header', text: plain(KIND_TITLE[notice.kind], 150) },
    { type: 'section', text: plain(notice.title) },
  ];
  const fields: PlainText[] = [];
  if (notice.severity) fields.push(plain(`Tier / criticality: ${notice.severity}`, 2000));
  if (notice.owner) fields.push(plain(`Owner: ${notice.owner}`, 2000));
  for (const d of notice.due.slice(0, 6)) fields.push(plain(`${d.label}: ${iso(d.at)}`, 2000));
  if (notice.route) fields.push(plain(`Route: ${notice.route}`, 2000));
  if (fields.length > 0) blocks.push({ type: 'section', fields: fields.slice(0, 10) });
  if (notice.reasons.length > 0) blocks.push({ type: 'section', text: plain(`Why:\n${notice.reasons.map((r) => `• ${r}`).join('\n')}`) });
  if (notice.labels.length > 0) blocks.push({ type: 'context', elements: [plain(`Labels: ${notice.labels.join(', ')}`, 2000)] });
  const status: string[] = [];
  const approval = notice.kind === 'exception-request';
  const report = notice.kind === 'digest';
  if (state.acknowledgedBy)
    status.push(
      `✅ ${approval ? 'Approved' : 'Acknowledged'} by <@${slackId(state.acknowledgedBy)}>${state.acknowledgedAt ? ` at ${iso(state.acknowledgedAt.toISOString())}` : ''}`,
    );
  if (state.owner) status.push(`👤 Owned by <@${slackId(state.owner)}>`);
  if (status.length > 0) blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: status.join(' · ') }] });
  const buttons: Block[] = [];
  if (notice.url && /^https?:\/\//.test(notice.url))
    buttons.push({ type: 'button', action_id: 'gatehouse_open', text: plain('Open', 75), url: cut(notice.url, 3000) });
  if (!state.acknowledgedBy && approval)
    buttons.push({
      type: 'button',
      action_id: APPROVE_ACTION,
      text: plain('Approve exception', 75),
      style: 'primary',
      value: approveValue(state.key, notice.terms ?? null),
    });
  if (!state.acknowledgedBy && !approval && !report)
    buttons.push({ type: 'button', action_id: ACK_ACTION, text: plain('Acknowledge', 75), style: 'primary', value: cut(state.key, 2000) });
  if (!state.owner && notice.itemKey && !approval && !report)
    buttons.push({ type: 'button', action_id: OWN_ACTION, text: plain('Take ownership', 75), value: cut(state.key, 2000) });
  if (buttons.length > 0) blocks.push({ type: 'actions', block_id: 'gatehouse_notice_actions', elements: buttons });
  return blocks;
}

/**
 * The Approve exception button's value: the notice and the digest of the terms it shows, so that a
 * click approves those terms only (Slack sends the value back as it was rendered).
 */
export const approveValue = (noticeKey: string, terms: string | null): string => JSON.stringify({ notice: noticeKey, terms });

/** A Slack user id as Slack gave it (U…/W…); anything else is reduced to its id characters. */
const slackId = (id: string): string => id.replace(/[^A-Z0-9]/gi, '');
