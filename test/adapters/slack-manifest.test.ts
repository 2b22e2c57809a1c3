/**
 * The Slack app manifest users create the app from points every Slack URL at the route that serves
 * it, and asks for exactly the scopes and events the code needs: the scopes of every Web API method
 * the code calls (a reviewed table from Slack's method docs, "Required scopes"), `commands` for the
 * slash command, and no event subscription (Gatehouse acts on no Slack event).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WebClient } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { defaultPolicy } from '../../src/core/policy/load.ts';

const manifest = parse(readFileSync(new URL('../../slack/manifest.yml', import.meta.url), 'utf8')) as {
  features: { slash_commands: { command: string; url: string; should_escape: boolean }[] };
  oauth_config: { scopes: { bot: string[]; user?: string[] } };
  settings: {
    interactivity: { is_enabled: boolean; request_url: string };
    event_subscriptions?: { request_url: string; bot_events?: string[] };
  };
};

/**
 * Each Slack Web API method the code calls → the bot scopes it needs there. chat.postMessage posts
 * to public channels the bot was never invited to (chat:write.public); conversations.list and
 * .history are called for public and private channels.
 */
const METHOD_SCOPES: Record<string, string[]> = {
  'chat.postMessage': ['chat:write', 'chat:write.public'],
  'chat.update': ['chat:write'],
  'conversations.history': ['channels:history', 'groups:history'],
  'conversations.join': ['channels:join'],
  'conversations.list': ['channels:read', 'groups:read'],
  'usergroups.users.list': ['usergroups:read'],
  // the readiness check of the bot token: needs no scope
  'auth.test': [],
};

/** Slack events the code acts on (src/adapters/slack/ingress.ts acknowledges every event_callback and does nothing). */
const HANDLED_EVENTS: string[] = [];

const slackDir = fileURLToPath(new URL('../../src/adapters/slack/', import.meta.url));

/** Every `client.<method>(` the Slack adapter calls. */
function methodsInCode(): Set<string> {
  const found = new Set<string>();
  for (const f of readdirSync(slackDir)) {
    if (!f.endsWith('.ts')) continue;
    for (const m of readFileSync(join(slackDir, f), 'utf8').matchAll(/\bclient\.([a-z]+(?:\.[a-zA-Z]+)+)\(/g)) found.add(m[1]!);
  }
  return found;
}

describe('slack/manifest.yml', () => {
  it('points the slash command and interactivity at /slack/events', () => {
    const urls = [manifest.features.slash_commands[0]!.url, manifest.settings.interactivity.request_url];
    for (const u of urls) expect(new URL(u).pathname).toBe('/slack/events'); // the path src/server/http.ts serves;
    expect(manifest.settings.interactivity.is_enabled).toBe(true);
  });

  it('declares the default command, unescaped', () => {
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual([defaultPolicy.chat.command]);
    expect(manifest.features.slash_commands[0]!.should_escape).toBe(false);
  });
});

describe('slack/manifest.yml: least privilege', () => {
  const methods = methodsInCode();

  it('finds the methods the code calls (the scan itself works), each a method of the Web API client', () => {
    expect(methods.has('chat.postMessage')).toBe(true);
    const client = new WebClient('xoxb-test');
    for (const m of methods)
      expect(typeof m.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], client), m).toBe('function');
  });

  it('every method the code calls has reviewed scopes, and the table names no method it no longer calls', () => {
    expect([...methods].filter((m) => !(m in METHOD_SCOPES))).toEqual([]);
    expect(Object.keys(METHOD_SCOPES).filter((m) => !methods.has(m))).toEqual([]);
  });

  it('asks for exactly the bot scopes those methods and the slash command need: none missing, none unused; no user scopes', () => {
    const need = new Set([...methods].flatMap((m) => METHOD_SCOPES[m] ?? []));
    if (manifest.features.slash_commands.length > 0) need.add('commands');
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...need].sort());
    expect(manifest.oauth_config.scopes.user ?? []).toEqual([]);
  });

  it('subscribes to exactly the events the code acts on (none)', () => {
    expect(manifest.settings.event_subscriptions?.bot_events ?? []).toEqual(HANDLED_EVENTS);
  });
});
