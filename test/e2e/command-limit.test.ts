/**
 * The per-account command limit end to end on GitHub and on GitLab: signed comment deliveries into
 * the real server on loopback, a stateful fake of each platform's REST API (nock), the embedded
 * database. One account floods an issue with `/gatehouse …` commands; past the default limit (10
 * within 10 minutes) its commands cost no API write, and other accounts are served as before.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import { answers, gitlabBody, intakeBody } from '../builders/intake.ts';
import { githubDelivery, issueCommentPayload, issuesPayload } from '../support/github.ts';
import { addNote, GITLAB_BOT, gitlabDelivery, issueHook, issueNoteHook } from '../support/gitlab.ts';
import { GITHUB_SECRET, loopbackOnly, onGitHubIssues, onGitLab, processed } from '../support/harness.ts';

/** The global policy names alice as a threat decider; the command limit is the default. */
const policyPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-command-limit-')), 'policy.yml');
writeFileSync(policyPath, 'planning:\n  threatDeciders: { github: [alice], gitlab: [alice] }\n');
let commentId = 9000;
let gatehouse: Gatehouse;

interface Forge {
  key(n: number): string;
  start(): Promise<Gatehouse>;
  stop(): string[];
  /** The requester files a deep-review intake. */
  open(n: number): Promise<void>;
  /** Someone comments; resolves with the delivery's final status. */
  comment(n: number, login: string, text: string): Promise<string>;
  comments(n: number): string[];
  /** Every API request so far (`METHOD /path`). */
  requests(): string[];
  /** Whether a request writes on the platform (the token exchange aside). */
  isWrite(request: string): boolean;
}

const intake = { service: 'payments-api', exposure: 'new public endpoint', links: 'https://docs.example/adr/12-token-replay' };

function github(): Forge {
  const { fake, start, stop } = onGitHubIssues({ policyPath });
  const send = async (name: string, payload: Record<string, unknown>): Promise<string> => {
    const d = githubDelivery({ name, secret: GITHUB_SECRET, payload });
    expect((await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    return processed(gatehouse, 'github', d.id);
  };
  return {
    key: (n) => `github:Codertocat/Hello-World#${n}`,
    start,
    stop,
    async open(n) {
      const body = intakeBody(intake);
      fake.bodies.set(n, body);
      expect(await send('issues', issuesPayload({ body, number: n, labels: ['intake'] }))).toBe('done');
    },
    async comment(n, login, text) {
      const i = issuesPayload({ body: fake.bodies.get(n) ?? '', number: n, labels: fake.labels.get(n) ?? [] });
      const p = issueCommentPayload({ issue: i, id: ++commentId, body: text, login });
      return send('issue_comment', p);
    },
    comments: (n) => (fake.comments.get(n) ?? []).map((c) => c.body),
    requests: () => [...fake.requests],
    isWrite: (r) => !r.startsWith('GET ') && !r.includes('/access_tokens'),
  };
}

function gitlab(): Forge {
  const { fake: api, start, stop } = onGitLab({ policyPath });
  const key = (n: number): string => `issues/${n}`;
  const send = async (event: string, payload: Record<string, unknown>): Promise<string> => {
    const d = gitlabDelivery({ event, payload });
    expect((await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    return processed(gatehouse, 'gitlab', d.id);
  };
  return {
    key: (n) => `gitlab:gitlabhq/gitlab-test#${n}`,
    start,
    stop,
    async open(n) {
      const body = gitlabBody({ answers: answers(intake) });
      api.descriptions.set(key(n), body);
      expect(await send('Issue Hook', issueHook({ action: 'open', description: body, iid: n, labels: ['intake'] }))).toBe('done');
    },
    async comment(n, login, text) {
      const id = commentId++;
      const p = issueNoteHook({
        id,
        author: login,
        text,
        iid: n,
        description: api.descriptions.get(key(n)) ?? '',
        labels: api.labels.get(key(n)) ?? [],
      });
      addNote(api, key(n), { id, author: login, body: text });
      return send('Note Hook', p);
    },
    comments: (n) => (api.notes.get(key(n)) ?? []).filter((c) => c.author === GITLAB_BOT).map((c) => c.body),
    requests: () => [...api.requests],
    isWrite: (r) => !r.startsWith('GET '),
  };
}

const find = (comments: string[], marker: string): string | undefined => comments.find((c) => c.startsWith(marker));
const REFUSED = '<!-- gatehouse:command-refused -->';
const LOG = '<!-- gatehouse:threat-decision -->';

loopbackOnly();

describe.each([
  ['GitHub', github()],
  ['GitLab', gitlab()],
])('the per-account command limit on %s', (name, forge) => {
  afterEach(async () => {
    await gatehouse.close();
    expect(forge.stop(), 'every API call was answered').toEqual([]);
  });

  it('a flood of 30 commands from one account costs at most 10 commands’ writes; the rest are ignored, audited once and counted', async () => {
    gatehouse = await forge.start();
    const n = 3;
    await forge.open(n);
    const before = forge.requests().length;
    // Each command differs from the one before, so every refusal would edit the refusal comment.
    const flood = Array.from({ length: 30 }, (_, i) =>
      i % 2 === 0 ? `/gatehouse threat-decision Accept every risk ${i}` : `/gatehouse decide adopt`,
    );
    const statuses: string[] = [];
    const writesAt: number[] = [];
    const requestsAt: number[] = [];
    for (const text of flood) {
      statuses.push(await forge.comment(n, 'mallory', text));
      writesAt.push(forge.requests().slice(before).filter(forge.isWrite).length);
      requestsAt.push(forge.requests().length - before);
    }
    // Ten commands' refusals, one write each (the refusal comment created, then edited in place).
    expect(writesAt[9]).toBe(10);
    expect(writesAt[29]).toBe(10);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill('done'));
    expect(statuses.slice(10)).toEqual(Array(20).fill('ignored'));
    // Nothing more was written for the twenty ignored ones; GitLab's note is read once each to learn
    // who wrote it (the hook's word is not taken), and nothing else is read.
    expect(writesAt[29]).toBe(10);
    expect(
      requestsAt[29]! - requestsAt[9]!,
      forge
        .requests()
        .slice(before + requestsAt[9]!)
        .join(', '),
    ).toBe(name === 'GitHub' ? 0 : 20);
    expect(forge.comments(n).filter((c) => c.startsWith(REFUSED))).toHaveLength(1);

    const audit = await gatehouse.store.auditFor(forge.key(n));
    expect(audit.filter((e) => e.action === 'refuseCommand')).toHaveLength(10);
    const limited = audit.filter((e) => e.action === 'limitCommands');
    expect(limited).toHaveLength(1);
    expect(limited[0]!.detail).toMatchObject({ actor: 'mallory', command: 'threat-decision', sent: 11, max: 10, windowMinutes: 10 });
    expect(limited[0]!.outcome).toBe('skipped');
    const metrics = await gatehouse.metrics.registry.getSingleMetricAsString('gatehouse_commands_limited_total');
    expect(metrics).toContain(`gatehouse_commands_limited_total{platform="${name.toLowerCase()}"} 20`);

    // Other accounts are served as before: a decider's decision is logged, another's refusal is said.
    const readsBefore = forge.requests().length;
    expect(await forge.comment(n, 'alice', '/gatehouse threat-decision Keep mTLS between services')).toBe('done');
    expect(find(forge.comments(n), LOG)).toContain('alice: Keep mTLS between services');
    expect(await forge.comment(n, 'eve', '/gatehouse threat-decision Accept SQL injection on /search')).toBe('done');
    expect(find(forge.comments(n), REFUSED)).toContain('eve');
    expect(forge.requests().slice(readsBefore).filter(forge.isWrite).length).toBeGreaterThanOrEqual(2);
    // And mallory is still over the limit, without a second audit entry.
    expect(await forge.comment(n, 'mallory', '/gatehouse threat-decision One more')).toBe('ignored');
    expect((await gatehouse.store.auditFor(forge.key(n))).filter((e) => e.action === 'limitCommands')).toHaveLength(1);
  }, 120_000);

  it('comments that are no command are not counted', async () => {
    gatehouse = await forge.start();
    const n = 4;
    await forge.open(n);
    for (let i = 0; i < 12; i++) await forge.comment(n, 'mallory', `Any news on this? /gatehouse (${i})`);
    expect(await forge.comment(n, 'mallory', '/gatehouse threat-decision Accept it')).toBe('done');
    expect(find(forge.comments(n), REFUSED)).toContain('mallory');
    expect((await gatehouse.store.auditFor(forge.key(n))).filter((e) => e.action === 'limitCommands')).toEqual([]);
  }, 60_000);
});
