/**
 * Slack test support: Slack's documented request examples (test/fixtures/slack/) with fields set,
 * signed the way Slack signs them, and the Web API base nock intercepts.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { signSlack } from '../../src/adapters/slack/verify.ts';

export const SLACK_SECRET = 'slack-signing-secret-for-tests';
export const SLACK_TOKEN = 'xoxb-test-token';
export const SLACK_API = 'https://slack.com';
export const RESPONSE_HOST = 'https://hooks.slack.com';

const FIXTURES = fileURLToPath(new URL('../fixtures/slack/', import.meta.url));

/** The documented slash-command body, with our command, text and asker. */
export function slashCommandBody({
  text,
  command = '/gatehouse',
  userId,
  userName,
  triggerId,
}: {
  text: string;
  command?: string;
  userId?: string;
  userName?: string;
  triggerId?: string;
}): string {
  const form = new URLSearchParams(readFileSync(`${FIXTURES}slash-command.txt`, 'utf8'));
  form.set('command', command);
  form.set('text', text);
  if (userId) form.set('user_id', userId);
  if (userName) form.set('user_name', userName);
  if (triggerId) form.set('trigger_id', triggerId);
  return form.toString();
}

/** The documented block_actions payload with one of our buttons pressed, form-encoded as Slack sends it. */
export function blockActionBody({
  actionId,
  value,
  userId,
  triggerId,
}: {
  actionId: string;
  value: string;
  userId?: string;
  triggerId?: string;
}): string {
  const payload = JSON.parse(readFileSync(`${FIXTURES}block-actions.json`, 'utf8')) as Record<string, unknown>;
  const action = (payload['actions'] as Record<string, unknown>[])[0]!;
  action['action_id'] = actionId;
  action['value'] = value;
  if (userId) (payload['user'] as Record<string, unknown>)['id'] = userId;
  if (triggerId) payload['trigger_id'] = triggerId;
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function slackHeaders(
  body: string,
  {
    secret = SLACK_SECRET,
    at = Date.now(),
    contentType = 'application/x-www-form-urlencoded',
  }: { secret?: string; at?: number; contentType?: string } = {},
): Record<string, string> {
  const ts = Math.floor(at / 1000);
  return { 'content-type': contentType, 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signSlack(secret, ts, body) };
}

export const slackConfig = { botToken: SLACK_TOKEN, signingSecret: SLACK_SECRET, apiUrl: undefined };
