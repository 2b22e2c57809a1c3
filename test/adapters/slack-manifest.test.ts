/** The Slack app manifest users create the app from points every Slack URL at the route that serves it. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { SLACK_EVENTS_PATH } from '../../src/adapters/slack/ingress.ts';

const manifest = parse(readFileSync(new URL('../../slack/manifest.yml', import.meta.url), 'utf8')) as {
  features: { slash_commands: { command: string; url: string; should_escape: boolean }[] };
  oauth_config: { scopes: { bot: string[] } };
  settings: { interactivity: { is_enabled: boolean; request_url: string }; event_subscriptions: { request_url: string } };
};

describe('slack/manifest.yml', () => {
  it('points the slash command, interactivity and events at /slack/events', () => {
    const urls = [manifest.features.slash_commands[0]!.url, manifest.settings.interactivity.request_url, manifest.settings.event_subscriptions.request_url];
    for (const u of urls) expect(new URL(u).pathname).toBe(SLACK_EVENTS_PATH);
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });

  it('declares the default command and the scopes Gatehouse calls', () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual([defaultPolicy.chat.command]);
    expect(manifest.features.slash_commands[0]!.should_escape).toBe(false);
    for (const s of ['commands', 'chat:write', 'usergroups:read', 'channels:read', 'groups:read', 'channels:history', 'groups:history', 'channels:join']) expect(manifest.oauth_config.scopes.bot).toContain(s);
  });
});
