/**
 * Who reads Gatehouse's records from Slack (`status`, `queue`): the policy's chat.readers, by
 * default its escalators, and nobody when it names neither. Every refusal is audited with the
 * asker's Slack user id (the id Slack signs into the request, not anything the asker typed).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatehouse, type Gatehouse } from '../../src/main.ts';
import { openStore } from '../../src/storage/open.ts';
import { freshDataDir, removeDataDir } from '../storage/fixture.ts';
import { testPrivateKey } from '../support/github.ts';
import { GITHUB_API, GITHUB_SECRET, testConfig } from '../support/harness.ts';
import { slackConfig, slackHeaders, slashCommandBody } from '../support/slack.ts';

let gatehouse: Gatehouse | null = null;
let dataDir: string | null = null;

async function start(policy: string): Promise<Gatehouse> {
  const policyPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-readers-')), 'policy.yml');
  writeFileSync(policyPath, policy);
  dataDir = await freshDataDir();
  gatehouse = await startGatehouse({
    config: testConfig({
      slack: slackConfig,
      policyPath,
      dataDir,
      github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: GITHUB_SECRET, apiBaseUrl: GITHUB_API },
    }),
    github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false },
    queue: { pollIntervalMs: 200, retryDelaySeconds: 1, retryBackoff: false },
    digests: false,
    sweepMs: 0,
    slack: { outbox: false },
  });
  return gatehouse;
}

afterEach(async () => {
  await gatehouse?.close();
  gatehouse = null;
  if (dataDir) removeDataDir(dataDir);
  dataDir = null;
});

const ask = async (text: string, userId: string): Promise<string> => {
  const body = slashCommandBody({ text, userId });
  const res = await fetch(`${gatehouse!.url}/slack/events`, { method: 'POST', headers: slackHeaders(body), body });
  expect(res.status).toBe(200);
  return ((await res.json()) as { text: string }).text;
};

/** The chat.read refusals in the audit log, read from the database once Gatehouse has stopped. */
async function readRefusals(): Promise<{ issueKey: string | null; detail: unknown; error: string | null }[]> {
  await gatehouse!.close();
  gatehouse = null;
  const opened = await openStore({ dataDir: dataDir! });
  try {
    const rows = await opened.db
      .selectFrom('audit_log')
      .select(['issue_key', 'detail', 'error'])
      .where('action', '=', 'chat.read')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({ issueKey: r.issue_key, detail: r.detail, error: r.error }));
  } finally {
    await opened.close();
  }
}

const ISSUE = 'https://github.com/acme/app/issues/7';
const GUEST = 'U2147483697'; // the documented example's user: any workspace member or guest

describe('chat.readers', () => {
  it('answers queue to a reader and refuses anyone else, help stays open to all', async () => {
    await start('chat:\n  readers: { users: [U0READER] }\n  escalators: { users: [U0ESC] }\n');
    expect(await ask('queue', 'U0READER')).toContain('Open intake: 0');
    expect(await ask('queue', 'U0OTHER')).toContain(
      "not allowed to read Gatehouse's records from Slack: the policy's chat.readers names who may",
    );
    // Readers named: the escalators read only when they are readers too.
    expect(await ask('queue', 'U0ESC')).toContain('not allowed to read');
    expect(await ask('help', 'U0OTHER')).toContain('/gatehouse status');
  });

  it('by default only the escalators read: a guest is refused status and queue, both audited with the Slack user id', async () => {
    await start('chat:\n  escalators: { users: [U0ESC] }\n');
    expect(await ask(`status ${ISSUE}`, 'U0ESC')).toContain('Gatehouse has no record of acme/app#7');
    expect(await ask('queue', 'U0ESC')).toContain('Open intake: 0');
    const status = await ask(`status ${ISSUE}`, GUEST);
    expect(status).toContain("the policy's chat.escalators names who may (chat.readers is not set)");
    expect(status).not.toContain('no record');
    const queue = await ask('queue', GUEST);
    expect(queue).toContain('not allowed to read');
    expect(queue).not.toContain('Open intake');
    expect(await readRefusals()).toEqual([
      {
        issueKey: 'github:acme/app#7',
        detail: { slackUser: GUEST, command: 'status' },
        error: "not named by the policy's chat.escalators",
      },
      { issueKey: null, detail: { slackUser: GUEST, command: 'queue' }, error: "not named by the policy's chat.escalators" },
    ]);
  });

  it('with neither readers nor escalators in the policy, nobody reads, and the answer names the policy key', async () => {
    await start('chat:\n  sendIntervalMs: 0\n');
    for (const user of ['U0ADMIN', GUEST]) {
      expect(await ask('queue', user)).toContain('the policy names nobody in chat.readers (nor chat.escalators, who read by default)');
      expect(await ask(`status ${ISSUE}`, user)).toContain('set chat.readers');
    }
    const refusals = await readRefusals();
    expect(refusals).toHaveLength(4);
    expect(refusals.map((r) => r.error)).toEqual(
      Array(4).fill('the policy names no chat.readers (and no chat.escalators, the default readers)'),
    );
  });
});
