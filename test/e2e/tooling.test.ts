/**
 * The tooling lifecycle end to end on GitHub and on GitLab: signed deliveries into the real server
 * on loopback, a stateful fake of each platform's REST API (nock), the embedded database. A decider
 * answers a tooling request or handover with `/gatehouse decide …` as an issue comment; what the
 * inventory now says is seen by what the clocks of a later outage of the tool do.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import { githubDelivery, githubLabels, issueCommentPayload, issuesPayload } from '../support/github.ts';
import { addNote, GITLAB_BOT, gitlabDelivery, issueHook, issueNoteHook } from '../support/gitlab.ts';
import { GITHUB_SECRET, loopbackOnly, onGitHubIssues, onGitLab, processed } from '../support/harness.ts';

const TOOLS = Array.from({ length: 12 }, (_, i) => `tool-${i + 1}`);
const policyPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-tooling-')), 'policy.yml');
writeFileSync(
  policyPath,
  [
    'tooling:',
    '  deciders: { github: [lead], gitlab: [lead] }',
    '  inventory:',
    ...TOOLS.map((t) => `    - { name: ${t}, criticality: medium, pathForward: maintain }`),
    // The lead decides thirteen requests within a minute: more commands than the default limit per account.
    'commands: { perActor: { max: 30 } }',
    '',
  ].join('\n'),
);

const requestBody = (tool: string, criticality = 'high'): string =>
  `### Tool name\n\n${tool}\n\n### Problem to solve\n\nLeaked keys in CI logs\n\n### Who will use it\n\nPlatform team\n\n### Requested criticality\n\n${criticality}\n\n### Repositories\n\n_No response_\n\n### Proposed owners\n\nalice\n\n### Alternatives considered\n\n_No response_`;
const handoverBody = (tool: string): string =>
  `### Tool name\n\n${tool}\n\n### Current owner\n\nplatform\n\n### Reason for the handover\n\nreorganisation\n\n### Current criticality\n\ncritical\n\n### Users and dependants\n\nevery team`;

interface Forge {
  key(n: number): string;
  start(): Promise<Gatehouse>;
  stop(): string[];
  open(n: number, body: string, labels: string[]): Promise<void>;
  edit(n: number, body: string): Promise<void>;
  label(n: number, label: string): Promise<void>;
  comment(n: number, login: string, text: string, id: number): Promise<void>;
  outage(n: number, tool: string): Promise<void>;
  body(n: number): string;
  comments(n: number): string[];
  labels(n: number): string[];
}

let gatehouse: Gatehouse;

async function deliver(platform: 'github' | 'gitlab', d: { id: string; headers: Record<string, string>; body: string }): Promise<void> {
  const res = await fetch(`${gatehouse.url}/api/${platform}/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  expect(await processed(gatehouse, platform, d.id)).toBe('done');
}

function github(): Forge {
  const { fake, start, stop } = onGitHubIssues({ policyPath });
  const labelsOf = (n: number): string[] => fake.labels.get(n) ?? [];
  const issue = (action: string, n: number, extra: Record<string, unknown> = {}): Record<string, unknown> => {
    const p = issuesPayload({ action, body: fake.bodies.get(n) ?? '', number: n, labels: labelsOf(n) });
    (p['issue'] as Record<string, unknown>)['created_at'] = new Date().toISOString();
    return { ...p, ...extra };
  };
  const send = (name: string, payload: Record<string, unknown>): Promise<void> =>
    deliver('github', githubDelivery({ name, secret: GITHUB_SECRET, payload }));
  return {
    key: (n) => `github:Codertocat/Hello-World#${n}`,
    start,
    stop,
    async open(n, body, labels) {
      fake.bodies.set(n, body);
      fake.labels.set(n, [...labels]);
      await send('issues', issue('opened', n));
    },
    async edit(n, body) {
      fake.bodies.set(n, body);
      await send('issues', issue('edited', n));
    },
    async label(n, label) {
      fake.labels.set(n, [...labelsOf(n), label]);
      await send('issues', issue('labeled', n, { label: githubLabels([label])[0] }));
    },
    async comment(n, login, text, id) {
      await send('issue_comment', issueCommentPayload({ issue: issue('opened', n), id, body: text, login }));
    },
    async outage(n, tool) {
      await this.open(n, 'The tool is down', ['tool::outage', `tool::${tool}`]);
    },
    body: (n) => fake.bodies.get(n) ?? '',
    comments: (n) => (fake.comments.get(n) ?? []).map((c) => c.body),
    labels: labelsOf,
  };
}

function gitlab(): Forge {
  const { fake: api, start, stop } = onGitLab({ policyPath });
  const k = (n: number): string => `issues/${n}`;
  const labelsOf = (n: number): string[] => api.labels.get(k(n)) ?? [];
  const hook = (action: 'open' | 'update', n: number): Record<string, unknown> => {
    const p = issueHook({ action, description: api.descriptions.get(k(n)) ?? '', iid: n, labels: labelsOf(n) });
    (p['object_attributes'] as Record<string, unknown>)['created_at'] = new Date().toISOString();
    return p;
  };
  const send = (event: string, payload: Record<string, unknown>): Promise<void> => deliver('gitlab', gitlabDelivery({ event, payload }));
  return {
    key: (n) => `gitlab:gitlabhq/gitlab-test#${n}`,
    start,
    stop,
    async open(n, body, labels) {
      api.descriptions.set(k(n), body);
      api.labels.set(k(n), [...labels]);
      await send('Issue Hook', hook('open', n));
    },
    async edit(n, body) {
      const p = hook('update', n);
      p['changes'] = { description: { previous: api.descriptions.get(k(n)) ?? '', current: body } };
      api.descriptions.set(k(n), body);
      (p['object_attributes'] as Record<string, unknown>)['description'] = body;
      await send('Issue Hook', p);
    },
    async label(n, label) {
      const previous = labelsOf(n).map((title) => ({ title }));
      api.labels.set(k(n), [...labelsOf(n), label]);
      const p = hook('update', n);
      p['changes'] = { labels: { previous, current: labelsOf(n).map((title) => ({ title })) } };
      await send('Issue Hook', p);
    },
    async comment(n, login, text, id) {
      const p = issueNoteHook({ id, author: login, text, iid: n, description: api.descriptions.get(k(n)) ?? '', labels: labelsOf(n) });
      // The person's note is in GitLab (its author is read back from there), then its hook comes.
      addNote(api, k(n), { id, author: login, body: text });
      await send('Note Hook', p);
    },
    async outage(n, tool) {
      await this.open(n, 'The tool is down', ['tool::outage', `tool::${tool}`]);
    },
    body: (n) => api.descriptions.get(k(n)) ?? '',
    comments: (n) => (api.notes.get(k(n)) ?? []).filter((c) => c.author === GITLAB_BOT).map((c) => c.body),
    labels: labelsOf,
  };
}

/** What a person does in the description: ticks these items. */
const tick = (body: string, items: string[]): string => items.reduce((b, i) => b.replace(`- [ ] ${i}`, `- [x] ${i}`), body);
const find = (comments: string[], marker: string): string | undefined => comments.find((c) => c.startsWith(marker));

loopbackOnly();

type Case = [decision: string, form: 'request' | 'handover', labels: string[], clocks: string | null, section: string | null];
const CASES: Case[] = [
  ['build-internal', 'request', ['path::maintain', 'criticality::high'], 'high', null],
  ['build-in-product', 'request', ['path::integrate', 'criticality::high'], 'high', 'tool-co-create'],
  ['redirect', 'request', ['path::redirect', 'criticality::low'], null, null],
  ['self-serve', 'request', ['path::redirect', 'criticality::low'], null, null],
  ['wait', 'request', ['tooling::waiting'], 'medium', null],
  ['defer', 'request', ['tooling::deferred'], 'medium', null],
  ['accept', 'handover', ['path::maintain', 'criticality::critical'], 'critical', 'tool-transfer'],
  ['accept-with-plan', 'handover', ['path::improve', 'criticality::critical'], 'critical', 'tool-transfer'],
  ['best-effort', 'handover', ['path::maintain', 'criticality::low'], null, null],
  ['alternative', 'handover', ['path::redirect', 'criticality::low'], null, null],
  ['reprioritise', 'handover', ['path::improve', 'criticality::medium'], 'medium', null],
];

describe.each([
  ['GitHub', github()],
  ['GitLab', gitlab()],
])('the tooling lifecycle on %s', (_name, forge) => {
  beforeEach(async () => {
    gatehouse = await forge.start();
  });
  afterEach(async () => {
    await gatehouse.close();
    expect(forge.stop()).toEqual([]);
  });

  it('each decide command sets the inventory as the workflow says: labels, a comment, and the clocks of a later outage', async () => {
    for (const [i, [decision, form, labels, clocks, section]] of CASES.entries()) {
      const n = 10 + i * 2;
      const tool = TOOLS[i]!;
      await forge.open(n, form === 'request' ? requestBody(tool) : handoverBody(tool), [
        form === 'request' ? 'tooling::request' : 'tooling::handover',
      ]);
      await forge.comment(n, 'lead', `/gatehouse decide ${decision}`, 7000 + i);
      expect(forge.labels(n), decision).toEqual(expect.arrayContaining(labels));
      const said = find(forge.comments(n), '<!-- gatehouse:tool-decision -->');
      expect(said, decision).toContain(`Decision: \`${decision}\``);
      expect(said).toContain(tool);
      if (section) expect(forge.body(n), decision).toContain(`<!-- gatehouse:${section}:start -->`);
      else expect(forge.body(n)).not.toContain('<!-- gatehouse:tool-');
      await forge.outage(n + 1, tool);
      const row = await gatehouse.store.getClocks(forge.key(n + 1));
      if (clocks === null) expect(row?.clocks ?? [], decision).toEqual([]);
      else
        expect(
          row?.clocks.map((c) => c.criticality),
          decision,
        ).toEqual([clocks, clocks]);
    }
  }, 120_000);

  it('an unauthorised decide command is refused with a comment, audited, and changes nothing', async () => {
    await forge.open(40, requestBody('tool-12'), ['tooling::request']);
    await forge.comment(40, 'mallory', '/gatehouse decide build-internal critical', 8001);
    await forge.comment(40, 'lead', '/gatehouse decide ship-it', 8002);
    expect(forge.labels(40)).toEqual(['tooling::request']);
    const comments = forge.comments(40);
    // One refusal comment per issue, edited in place: it shows the latest refusal; the audit log keeps each.
    expect(comments.filter((c) => c.startsWith('<!-- gatehouse:command-refused -->'))).toHaveLength(1);
    expect(find(comments, '<!-- gatehouse:command-refused -->')).toContain('`ship-it` is not a decision for a tooling request');
    expect(find(comments, '<!-- gatehouse:tool-decision -->')).toBeUndefined();
    const audit = await gatehouse.store.auditFor(forge.key(40));
    const refusals = audit
      .filter((e) => e.action === 'refuseCommand')
      .map((e) => e.detail as { command: string; actor: string; reason: string });
    expect(refusals.map((r) => [r.command, r.actor])).toEqual([
      ['decide', 'mallory'],
      ['decide', 'lead'],
    ]);
    expect(refusals[0]!.reason).toContain('tooling.deciders.');
    expect(audit.some((e) => e.action === 'recordToolDecision')).toBe(false);
    await forge.outage(41, 'tool-12');
    expect((await gatehouse.store.getClocks(forge.key(41)))?.clocks.map((c) => c.criticality)).toEqual(['medium', 'medium']);
  }, 60_000);

  it('co-create: the two loops on path::integrate, the hand-off opens the sunset checklist, which completes', async () => {
    await forge.open(50, requestBody('tool-11'), ['tooling::request']);
    await forge.comment(50, 'lead', '/gatehouse decide build-in-product', 9001);
    let body = forge.body(50);
    for (const item of [
      'Validated proposal',
      'Technical design',
      'Stakeholder alignment',
      'Feature shipped',
      'Docs published',
      'API available',
    ])
      expect(body).toContain(`- [ ] ${item}`);
    await forge.edit(
      50,
      tick(body, ['Validated proposal', 'Technical design', 'Stakeholder alignment', 'Feature shipped', 'Docs published']),
    );
    expect(forge.body(50)).not.toContain('gatehouse:tool-sunset:start');
    await forge.edit(50, tick(forge.body(50), ['API available']));
    body = forge.body(50);
    expect(body).toContain('<!-- gatehouse:tool-sunset:start -->');
    for (const step of ['Plan migration', 'Validate parity', 'Communicate timeline', 'Decommission', 'Lessons learned'])
      expect(body).toContain(`- [ ] ${step}`);
    expect(find(forge.comments(50), '<!-- gatehouse:tool-hand-off -->')).toContain('Hand-off');
    await forge.edit(50, tick(body, ['Plan migration', 'Validate parity', 'Communicate timeline', 'Decommission', 'Lessons learned']));
    expect(find(forge.comments(50), '<!-- gatehouse:tool-sunset-done -->')).toContain('Sunset complete');
  }, 60_000);

  it('a tool moved to path::sunset gets the sunset checklist', async () => {
    await forge.open(60, handoverBody('tool-10'), ['tooling::handover']);
    await forge.label(60, 'path::sunset');
    const body = forge.body(60);
    expect(body).toContain('<!-- gatehouse:tool-sunset:start -->');
    expect(body).toContain('- [ ] Decommission');
  }, 60_000);
});
