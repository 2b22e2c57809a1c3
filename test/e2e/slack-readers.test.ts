/** With chat.readers set, only those people read Gatehouse's records from Slack; the refusal is audited. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import { startTestGatehouse } from '../support/harness.ts';
import { slackConfig, slackHeaders, slashCommandBody } from '../support/slack.ts';

let gatehouse: Gatehouse;

beforeEach(async () => {
  const policyPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-readers-')), 'policy.yml');
  writeFileSync(policyPath, 'chat:\n  readers: { users: [U0READER] }\n');
  gatehouse = await startTestGatehouse({ slack: slackConfig, policyPath }, { slack: { outbox: false } });
});
afterEach(async () => {
  await gatehouse.close();
});

const ask = async (text: string, userId: string): Promise<string> => {
  const body = slashCommandBody({ text, userId });
  const res = await fetch(`${gatehouse.url}/slack/events`, { method: 'POST', headers: slackHeaders(body), body });
  return ((await res.json()) as { text: string }).text;
};

describe('chat.readers', () => {
  it('answers queue to a reader and refuses anyone else, help stays open to all', async () => {
    expect(await ask('queue', 'U0READER')).toContain('Open intake: 0');
    expect(await ask('queue', 'U0OTHER')).toContain('not allowed to read');
    expect(await ask('help', 'U0OTHER')).toContain('/gatehouse status');
  });
});
