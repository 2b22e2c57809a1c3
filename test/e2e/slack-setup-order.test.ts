/**
 * Slack's set-up in the order Slack takes it: the app is created from the manifest (Slack checks
 * the events URL at once), the signing secret is set, and only after installing is there a bot
 * token. With the signing secret alone Gatehouse starts, answers Slack's signed URL check, and
 * refuses everything else with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.ts';
import { startGatehouse, type Gatehouse } from '../../src/main.ts';
import { freshDataDir } from '../storage/fixture.ts';
import { SLACK_SECRET, slackHeaders, slashCommandBody } from '../support/slack.ts';

let gatehouse: Gatehouse;
let config: ReturnType<typeof loadConfig>;

beforeAll(async () => {
  config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'silent',
    GATEHOUSE_DATA_DIR: await freshDataDir(),
    SLACK_SIGNING_SECRET: SLACK_SECRET,
  });
  gatehouse = await startGatehouse({ config, digests: false, clockTickMs: 0 });
});
afterAll(() => gatehouse?.close());

const post = (body: string, headers: Record<string, string>) => fetch(`${gatehouse.url}/slack/events`, { method: 'POST', headers, body });

describe('Slack with the signing secret alone', () => {
  it('starts, and says what is missing', () => {
    expect(config.off.slack).toMatch(/set SLACK_BOT_TOKEN .* until then \/slack\/events answers only Slack's URL check/);
  });

  it("answers Slack's signed URL check with its challenge", async () => {
    const body = JSON.stringify({
      token: 'Jhj5dZrVaK7ZwHHjRyZWjbDl',
      challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P',
      type: 'url_verification',
    });
    const res = await post(body, slackHeaders(body, { contentType: 'application/json' }));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  it('refuses an unsigned check (401) and any command until the bot token is set (503, with the reason)', async () => {
    const body = JSON.stringify({ challenge: 'x', type: 'url_verification' });
    expect((await post(body, slackHeaders(body, { secret: 'another', contentType: 'application/json' }))).status).toBe(401);
    const form = slashCommandBody({ text: 'help' });
    const res = await post(form, slackHeaders(form));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/SLACK_BOT_TOKEN/);
  });
});

describe('Slack half-configured the other way', () => {
  it('a bot token without the signing secret is off with its reason, and does not stop start-up', () => {
    config = loadConfig({ GATEHOUSE_DATA_DIR: '/tmp/unused', SLACK_BOT_TOKEN: 'xoxb-1' });
    expect(config.slack).toBeNull();
    expect(config.slackUrlCheck).toBeUndefined();
    expect(config.off.slack).toMatch(/SLACK_SIGNING_SECRET is missing/);
  });
});
