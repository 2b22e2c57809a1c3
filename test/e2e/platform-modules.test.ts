/**
 * A platform that is off costs no memory for its code: with GitHub alone on, the process has not
 * loaded Slack's (Bolt) or GitLab's (gitbeaker) client libraries; with Slack on, Bolt is loaded.
 * Run in a child process, whose module cache holds only what Gatehouse itself loaded.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { testPrivateKey } from '../support/github.ts';

const MAIN = new URL('../../src/main.ts', import.meta.url).href;
const ROOT = new URL('../..', import.meta.url).pathname;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Starts Gatehouse (no worker) with `slack` on or off; answers the client libraries loaded (Node's CommonJS cache). */
function librariesLoaded(slack: boolean): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-modules-'));
  dirs.push(dir);
  const script = `
    import { createRequire } from 'node:module';
    const { startGatehouse } = await import(${JSON.stringify(MAIN)});
    const g = await startGatehouse({
      config: { port: 0, host: '127.0.0.1', dataDir: ${JSON.stringify(join(dir, 'data'))}, policyPath: undefined, logLevel: 'silent',
        github: { appId: '1', privateKey: process.env.KEY, webhookSecret: 's', apiBaseUrl: 'http://127.0.0.1:9/api/v3' },
        gitlab: null,
        slack: ${slack ? "{ botToken: 'xoxb-test', signingSecret: 'x', apiUrl: 'http://127.0.0.1:9/api/' }" : 'null'},
        off: {} },
      github: { botLogin: 'gatehouse[bot]' }, worker: false, slack: { outbox: false },
    });
    const cache = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify(['@slack/bolt', '@gitbeaker'].filter((l) => cache.some((k) => k.includes('/node_modules/' + l + '/')))));
    await g.close();
    process.exit(0);`;
  const file = join(dir, 'start.mjs');
  writeFileSync(file, script);
  const r = spawnSync(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', KEY: testPrivateKey() },
    encoding: 'utf8',
    timeout: 60_000,
  });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  if (!last.startsWith('[')) throw new Error(`child failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(last) as string[];
}

describe('platform client libraries', () => {
  it('are not loaded for a platform that is off', () => {
    expect(librariesLoaded(false)).toEqual([]);
  }, 60_000);

  it('are loaded for a platform that is on (the check sees them)', () => {
    expect(librariesLoaded(true)).toContain('@slack/bolt');
  }, 60_000);
});
