/**
 * The tracked intake workflows end to end on GitHub and on GitLab: signed deliveries into the real
 * server on loopback, a stateful fake of each platform's REST API (nock), the embedded database.
 * People tick the checklists in the issue description; their edits arrive as ordinary
 * `issues.edited` / Issue Hook `update` deliveries.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Gatehouse } from '../../src/main.ts';
import { answers, gitlabBody, intakeBody, type Answers } from '../builders/intake.ts';
import { githubDelivery, issueCommentPayload, issuesPayload } from '../support/github.ts';
import { addNote, GITLAB_BOT, gitlabDelivery, issueHook, issueNoteHook } from '../support/gitlab.ts';
import { GITHUB_SECRET, loopbackOnly, onGitHubIssues, onGitLab, processed } from '../support/harness.ts';
import * as intakeParser from '../../src/core/intake/parse.ts';

// The intake parser, counted: a delivery parses the intake body once.
vi.mock('../../src/core/intake/parse.ts', async (original) => {
  const actual = await original<typeof import('../../src/core/intake/parse.ts')>();
  return { ...actual, parseIntake: vi.fn(actual.parseIntake) };
});
const parseCalls = (): number => vi.mocked(intakeParser.parseIntake).mock.calls.length;

/** The global policy: alice and bob may log threat-model decisions (nobody may by default). */
const policyPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-workflows-')), 'policy.yml');
writeFileSync(policyPath, 'planning:\n  threatDeciders: { github: [alice, bob], gitlab: [alice, bob] }\n');
/** Each comment gets its own id, as on the platforms. */
let commentId = 7000;
/** Each GitHub edit gets its own `updated_at`. */
let edits = 0;

interface Forge {
  /** The issue's key in Gatehouse's records. */
  key(n: number): string;
  /** Puts a repository policy override on the default branch (after start). */
  override(yaml: string): void;
  /** The issue numbers two tests use (GitHub #1/#2, GitLab #23/#24). */
  first: number;
  second: number;
  start(): Promise<Gatehouse>;
  stop(): string[];
  intake(a: Answers): string;
  /** The requester files the issue (the platform stores the body, then delivers). */
  open(n: number, body: string): Promise<void>;
  /** Someone edits the description to `body`. */
  edit(n: number, body: string): Promise<void>;
  /** Someone comments on the issue. */
  comment(n: number, login: string, text: string): Promise<void>;
  body(n: number): string;
  comments(n: number): string[];
  labels(n: number): string[];
  /** Every request the stand-in answered so far, as `METHOD path`. */
  requests(): string[];
}

let gatehouse: Gatehouse;

async function deliverGitHub(payload: Record<string, unknown>): Promise<void> {
  const d = githubDelivery({ name: 'issues', secret: GITHUB_SECRET, payload });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  expect(await processed(gatehouse, 'github', d.id)).toBe('done');
}

async function deliverGitLab(payload: Record<string, unknown>): Promise<void> {
  const d = gitlabDelivery({ event: 'Issue Hook', payload });
  const res = await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  expect(await processed(gatehouse, 'gitlab', d.id)).toBe('done');
}

function github(): Forge {
  const { fake, start, stop } = onGitHubIssues({ policyPath });
  return {
    key: (n) => `github:Codertocat/Hello-World#${n}`,
    override: (yaml) => void fake.files.set('.github/gatehouse.yml', yaml),
    first: 1,
    second: 2,
    start,
    stop,
    intake: (a) => intakeBody(a),
    async open(n, body) {
      fake.bodies.set(n, body);
      // The issue form applies the intake label when the issue is filed.
      fake.labels.set(n, ['intake']);
      await deliverGitHub(issuesPayload({ body, number: n, labels: ['intake'] }));
    },
    async edit(n, body) {
      fake.bodies.set(n, body);
      const p = issuesPayload({ action: 'edited', body, number: n, labels: fake.labels.get(n) ?? [] });
      // Each edit is its own delivery (the same body twice would be deduplicated): GitHub stamps it.
      (p['issue'] as Record<string, unknown>)['updated_at'] = new Date(Date.UTC(2026, 10, 20, 10, 0, ++edits)).toISOString();
      await deliverGitHub(p);
    },
    async comment(n, login, text) {
      const i = issuesPayload({ body: fake.bodies.get(n) ?? '', number: n, labels: fake.labels.get(n) ?? [] });
      const p = issueCommentPayload({ issue: i, id: ++commentId, body: text, login });
      const d = githubDelivery({ name: 'issue_comment', secret: GITHUB_SECRET, payload: p });
      expect((await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
      expect(await processed(gatehouse, 'github', d.id)).toBe('done');
    },
    body: (n) => fake.bodies.get(n) ?? '',
    comments: (n) => (fake.comments.get(n) ?? []).map((c) => c.body),
    labels: (n) => fake.labels.get(n) ?? [],
    requests: () => [...fake.requests],
  };
}

function gitlab(): Forge {
  let nextNoteId = 7000;
  const { fake: api, start, stop } = onGitLab({ policyPath });
  const key = (n: number): string => `issues/${n}`;
  const hook = (action: 'open' | 'update', n: number, body: string): Record<string, unknown> => {
    const p = issueHook({ action, description: body, iid: n, labels: ['intake', ...(api.labels.get(key(n)) ?? [])] });
    // What the person changed: the description (a label-only update is read as `labeled`).
    if (action === 'update') p['changes'] = { description: { previous: api.descriptions.get(key(n)) ?? '', current: body } };
    return p;
  };
  return {
    key: (n) => `gitlab:gitlabhq/gitlab-test#${n}`,
    override: (yaml) => void api.files.set('.gitlab/gatehouse.yml', yaml),
    first: 23,
    second: 24,
    start,
    stop,
    intake: (a) => gitlabBody({ answers: answers(a) }),
    async open(n, body) {
      api.descriptions.set(key(n), body);
      await deliverGitLab(hook('open', n, body));
    },
    async edit(n, body) {
      const p = hook('update', n, body);
      api.descriptions.set(key(n), body);
      await deliverGitLab(p);
    },
    async comment(n, login, text) {
      const id = nextNoteId++;
      const p = issueNoteHook({
        id,
        author: login,
        text,
        iid: n,
        description: api.descriptions.get(key(n)) ?? '',
        labels: api.labels.get(key(n)) ?? [],
      });
      // The person's note is in GitLab (its author is read back from there), then its hook comes.
      addNote(api, key(n), { id, author: login, body: text });
      const d = gitlabDelivery({ event: 'Note Hook', payload: p });
      expect((await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
      expect(await processed(gatehouse, 'gitlab', d.id)).toBe('done');
    },
    body: (n) => api.descriptions.get(key(n)) ?? '',
    comments: (n) => (api.notes.get(key(n)) ?? []).filter((c) => c.author === GITLAB_BOT).map((c) => c.body),
    labels: (n) => api.labels.get(key(n)) ?? [],
    requests: () => [...api.requests],
  };
}

/** What a person does in the description: ticks the planning stages with these numbers. */
const tickStages = (body: string, stages: number[]): string => stages.reduce((b, s) => b.replace(`- [ ] **${s}. `, `- [x] **${s}. `), body);
const stageTicks = (body: string): number[] => [...body.matchAll(/- \[x\] \*\*(\d+)\. /g)].map((m) => Number(m[1]));
const ALL = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
/** Ticks the first `n` worksheet items. */
const tickWorksheet = (body: string, n: number): string => {
  const start = body.indexOf('<!-- gatehouse:incident-worksheet:start -->');
  let left = n;
  return body.slice(0, start) + body.slice(start).replace(/- \[ \] /g, (m) => (left-- > 0 ? '- [x] ' : m));
};
const find = (comments: string[], marker: string): string | undefined => comments.find((c) => c.startsWith(marker));
/** The API writes among requests: everything but reads and the App's token exchange (once an hour per installation). */
const writesOf = (requests: string[]): string[] => requests.filter((r) => !r.startsWith('GET ') && !/\/access_tokens$/.test(r));
/** A write that creates a comment (GitHub) or note (GitLab). */
const isNewComment = (r: string): boolean => /^POST \S*\/(comments|notes)(\?\S*)?$/.test(r);

loopbackOnly();

describe.each([
  ['GitHub', github()],
  ['GitLab', gitlab()],
])('tracked workflows on %s', (_name, forge) => {
  const deepReview = (service = 'payments-api'): string =>
    forge.intake({ service, exposure: 'new public endpoint', links: 'https://docs.example/adr/12-token-replay' });

  afterEach(async () => {
    await gatehouse.close();
    expect(forge.stop(), 'every API call was answered').toEqual([]);
  });

  it('fewest writes: a new deep-review intake with its planning checklist is at most 3 writes, 1 new comment, the intake comment first; an edit that changes neither tier nor body writes nothing', async () => {
    gatehouse = await forge.start();
    const n = forge.first;
    let mark = forge.requests().length;
    const parsed = parseCalls();
    await forge.open(n, deepReview());
    // One pass: the body is parsed once for what is loaded (the service's other intakes) and for the plan.
    expect(parseCalls() - parsed).toBe(1);
    const writes = writesOf(forge.requests().slice(mark));
    console.info(
      `${_name}: writes for a new deep-review intake: ${writes.length} (${writes.filter(isNewComment).length} new comment): ${writes.join(', ')}`,
    );
    expect(writes.length).toBeLessThanOrEqual(3);
    expect(writes.filter(isNewComment)).toHaveLength(1);
    // What the requester waits for comes first: the intake comment with tier, route and reasons, and the planning status.
    expect(isNewComment(writes[0]!)).toBe(true);
    const intake = find(forge.comments(n), '<!-- gatehouse:intake -->')!;
    expect(intake).toContain('Tier 2');
    expect(intake).toContain('0 of 10 stages done');
    expect(forge.comments(n)).toHaveLength(1);
    expect(forge.body(n)).toContain('<!-- gatehouse:planning:start -->');
    expect(forge.labels(n)).toContain('tier::deep-review');

    // Edited (the title, say): the tier and the description are as they were: nothing is rewritten.
    mark = forge.requests().length;
    await forge.edit(n, forge.body(n));
    const again = writesOf(forge.requests().slice(mark));
    console.info(`${_name}: writes for an edit that changes nothing: ${again.length} ${again.join(', ')}`);
    expect(again).toEqual([]);
  });

  it('fewest writes: a new tier-3 intake routed to incident (worksheet and planning checklist) is 3 writes, 1 new comment: the description edited once with both blocks', async () => {
    gatehouse = await forge.start();
    const n = forge.first;
    const mark = forge.requests().length;
    await forge.open(n, forge.intake({ active_exploitation: 'yes' }));
    const writes = writesOf(forge.requests().slice(mark));
    console.info(
      `${_name}: writes for a new tier-3 incident intake: ${writes.length} (${writes.filter(isNewComment).length} new comment): ${writes.join(', ')}`,
    );
    expect(writes).toHaveLength(3);
    expect(writes.filter(isNewComment)).toHaveLength(1);
    expect(isNewComment(writes[0]!)).toBe(true);
    const body = forge.body(n);
    expect(body).toContain('<!-- gatehouse:incident-worksheet:start -->');
    expect(body).toContain('<!-- gatehouse:planning:start -->');
    expect(forge.labels(n)).toEqual(expect.arrayContaining(['tier::leadership', 'route::incident']));
    const intake = find(forge.comments(n), '<!-- gatehouse:intake -->')!;
    expect(intake).toContain('0 of 10 done');
    expect(intake).toContain('0 of 10 stages done');
    expect(forge.comments(n)).toHaveLength(1);
  });

  it('stage ordering: a deep review gets the ten stages in its description; a stage ticked early is un-ticked with the reason', async () => {
    gatehouse = await forge.start();
    const n = forge.first;
    await forge.open(n, deepReview());
    const body = forge.body(n);
    expect(body).toContain('<!-- gatehouse:planning:start -->');
    expect(body.match(/- \[ \] \*\*\d+\. /g)).toHaveLength(10);
    expect(body.startsWith(deepReview().trim())).toBe(true);
    expect(find(forge.comments(n), '<!-- gatehouse:intake -->')).toContain('0 of 10 stages done');

    await forge.edit(n, tickStages(forge.body(n), [1, 3]));
    expect(stageTicks(forge.body(n))).toEqual([1]);
    const why = find(forge.comments(n), '<!-- gatehouse:planning-order -->');
    expect(why).toContain('**3. Threat model and attacker paths** was ticked before **2. Trust boundaries and data flows** was done');
    expect(find(forge.comments(n), '<!-- gatehouse:intake -->')).toContain('1 of 10 stages done');
    // The intake itself is unchanged by the checklist: still one tier label.
    expect(forge.labels(n).filter((l) => l.startsWith('tier::'))).toEqual(['tier::deep-review']);
  });

  it("threat-model decisions: a decider's /gatehouse threat-decision lands in Gatehouse's log comment and the bundle, not in the description", async () => {
    gatehouse = await forge.start();
    const n = forge.first;
    await forge.open(n, deepReview());
    const before = forge.body(n);
    await forge.comment(n, 'alice', '/gatehouse threat-decision Replayed tokens: accept with a 5-minute expiry and nonce store');
    await forge.comment(n, 'bob', '/gatehouse threat-decision No public bucket for exports\nsigned URLs only');
    // The description is the requester's: Gatehouse no longer keeps the log there.
    expect(forge.body(n)).toBe(before);
    const log = find(forge.comments(n), '<!-- gatehouse:threat-decision -->')!;
    expect(log).toContain('2 decisions, kept by Gatehouse');
    expect(log).toMatch(
      /- \d{4}-\d\d-\d\d \d\d:\d\d UTC · alice: Replayed tokens: accept with a 5-minute expiry and nonce store\n- \d{4}-\d\d-\d\d \d\d:\d\d UTC · bob: No public bucket for exports signed URLs only/,
    );
    expect(forge.comments(n).filter((c) => c.startsWith('<!-- gatehouse:threat-decision -->'))).toHaveLength(1);
    // Every stage done: the bundle carries the stored log.
    await forge.edit(n, tickStages(forge.body(n), ALL));
    const bundle = find(forge.comments(n), '<!-- gatehouse:plan-bundle -->')!;
    expect(bundle).toContain('## Threat-model decisions');
    expect(bundle).toContain('alice: Replayed tokens: accept with a 5-minute expiry and nonce store');
    expect(bundle).toContain('bob: No public bucket for exports signed URLs only');
  });

  it('attack: a commenter the global policy does not name is refused, audited with the actor, and the log is unchanged', async () => {
    gatehouse = await forge.start();
    const n = forge.first;
    await forge.open(n, deepReview());
    await forge.comment(n, 'alice', '/gatehouse threat-decision Keep mTLS between services');
    const log = find(forge.comments(n), '<!-- gatehouse:threat-decision -->');
    await forge.comment(n, 'mallory', '/gatehouse threat-decision Accept every risk: no controls needed');
    await forge.comment(n, 'mallory', '/gatehouse threat-decision Accept SQL injection on /search');
    // The log comment is as alice left it; one refusal comment, edited in place, says the latest refusal.
    expect(find(forge.comments(n), '<!-- gatehouse:threat-decision -->')).toBe(log);
    const refusals = forge.comments(n).filter((c) => c.startsWith('<!-- gatehouse:command-refused -->'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toContain('`/gatehouse threat-decision`');
    expect(refusals[0]).toContain('planning.threatDeciders');
    expect(refusals[0]).toContain('Nothing was changed');
    const audit = await gatehouse.store.auditFor(forge.key(n));
    const refused = audit
      .filter((e) => e.action === 'refuseCommand')
      .map((e) => e.detail as { command: string; actor: string; reason: string });
    expect(refused.map((r) => [r.command, r.actor])).toEqual([
      ['threat-decision', 'mallory'],
      ['threat-decision', 'mallory'],
    ]);
    expect(audit.filter((e) => e.action === 'recordThreatDecision').map((e) => (e.detail as { by: string }).by)).toEqual(['alice']);
    await forge.edit(n, tickStages(forge.body(n), ALL));
    const bundle = find(forge.comments(n), '<!-- gatehouse:plan-bundle -->')!;
    expect(bundle).toContain('alice: Keep mTLS between services');
    expect(bundle).not.toContain('Accept every risk');
    expect(bundle).not.toContain('SQL injection');
  });

  it('attack: forging or erasing entries in the description changes neither the stored log nor the bundle', async () => {
    gatehouse = await forge.start();
    const n = forge.first;
    await forge.open(n, deepReview());
    await forge.comment(n, 'alice', '/gatehouse threat-decision Tokens stay in the vault');
    const log = find(forge.comments(n), '<!-- gatehouse:threat-decision -->');
    // Anyone who can edit the description writes a log block of the old format, with a forged entry.
    const forged = [
      '<!-- gatehouse:threat-decisions:start -->',
      '### Threat-model decision log',
      '',
      '- 2026-12-01 09:00 UTC · alice: Accept plaintext secrets in CI logs',
      '<!-- gatehouse:threat-decisions:end -->',
    ].join('\n');
    // Any log block already in the description (where Gatehouse used to keep the log) is replaced by the forged one.
    const withoutBlock = forge
      .body(n)
      .replace(/<!-- gatehouse:threat-decisions:start -->[\s\S]*?<!-- gatehouse:threat-decisions:end -->/, '');
    await forge.edit(n, `${tickStages(withoutBlock, ALL)}\n\n${forged}`);
    expect(find(forge.comments(n), '<!-- gatehouse:threat-decision -->')).toBe(log);
    const bundle = find(forge.comments(n), '<!-- gatehouse:plan-bundle -->')!;
    expect(bundle).toContain('alice: Tokens stay in the vault');
    expect(bundle).not.toContain('plaintext secrets');
    // Erasing the block again (or anything else in the description) leaves the bundle's log as stored.
    await forge.edit(n, forge.body(n).replace(forged, ''));
    expect(find(forge.comments(n), '<!-- gatehouse:plan-bundle -->')).toContain('alice: Tokens stay in the vault');
    expect(find(forge.comments(n), '<!-- gatehouse:plan-bundle -->')).not.toContain('plaintext secrets');
  });

  it("attack: a repository's own policy override naming its own threat deciders grants nothing", async () => {
    gatehouse = await forge.start();
    forge.override('planning:\n  threatDeciders: { github: [mallory], gitlab: [mallory] }\n');
    const n = forge.first;
    await forge.open(n, deepReview());
    await forge.comment(n, 'mallory', '/gatehouse threat-decision Accept every risk: no controls needed');
    expect(find(forge.comments(n), '<!-- gatehouse:threat-decision -->')).toBeUndefined();
    expect(find(forge.comments(n), '<!-- gatehouse:command-refused -->')).toContain('global policy names in `planning.threatDeciders.');
    const audit = await gatehouse.store.auditFor(forge.key(n));
    expect(audit.filter((e) => e.action === 'refuseCommand').map((e) => (e.detail as { actor: string }).actor)).toEqual(['mallory']);
    expect(audit.some((e) => e.action === 'recordThreatDecision')).toBe(false);
  });

  it('a decider on an issue that is no deep review is refused: the log is for deep reviews only', async () => {
    gatehouse = await forge.start();
    const n = forge.first;
    await forge.open(n, forge.intake({ service: 'payments-api' }));
    await forge.comment(n, 'alice', '/gatehouse threat-decision Accept it');
    expect(find(forge.comments(n), '<!-- gatehouse:threat-decision -->')).toBeUndefined();
    expect(find(forge.comments(n), '<!-- gatehouse:command-refused -->')).toContain('logged on deep reviews');
  });

  it('bundle assembly: all ten ticked in order assembles the security plan bundle from the record and decisions', async () => {
    gatehouse = await forge.start();
    const n = forge.first;
    await forge.open(n, deepReview());
    await forge.edit(n, tickStages(forge.body(n), [1, 2, 3, 4, 5]));
    expect(find(forge.comments(n), '<!-- gatehouse:plan-bundle -->')).toBeUndefined();
    await forge.edit(n, tickStages(forge.body(n), [6, 7, 8, 9, 10]));
    expect(stageTicks(forge.body(n))).toEqual(ALL);
    const bundle = find(forge.comments(n), '<!-- gatehouse:plan-bundle -->')!;
    expect(bundle).toContain('# 📦 Security plan bundle · payments-api');
    expect(bundle).toContain('**Tier 2 (deep review)**');
    expect(bundle).toContain('| Internet exposure | new public endpoint |');
    expect(bundle).toContain('| Service line | Secure design / architecture review (inferred) |');
    expect(bundle).toMatch(/\| \d{4}-\d{2}-\d{2}T[\d:.]+Z \| 2 \(deep review\) \| {2}\| public-endpoint-or-identity-boundary \|/);
    expect(bundle).toContain('- https://docs.example/adr/12-token-replay');
    expect(find(forge.comments(n), '<!-- gatehouse:intake -->')).toContain('All 10 stages done');
    expect(forge.comments(n).filter((c) => c.startsWith('<!-- gatehouse:plan-bundle -->'))).toHaveLength(1);
  });

  it("re-opening: a new deep-review intake for the same service un-ticks the older review's last stage and says why", async () => {
    gatehouse = await forge.start();
    const [older, newer] = [forge.first, forge.second];
    await forge.open(older, deepReview());
    await forge.edit(older, tickStages(forge.body(older), ALL));
    expect(find(forge.comments(older), '<!-- gatehouse:plan-bundle -->')).toBeDefined();

    await forge.open(newer, forge.intake({ service: 'Payments-API ', identity_changes: ['Authorization change'] }));
    expect(stageTicks(forge.body(older))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const note = forge.comments(older).find((c) => c.includes('Material change: re-review'));
    expect(note).toContain('new tier-2 intake for Payments-API was filed');
    expect(forge.body(newer)).toContain('<!-- gatehouse:planning:start -->');

    // Ticking the last stage again re-assembles the bundle.
    await forge.edit(older, tickStages(forge.body(older), [10]));
    expect(find(forge.comments(older), '<!-- gatehouse:intake -->')).toContain('All 10 stages done');
  });

  it('a tier-1 intake for the same service re-opens nothing', async () => {
    gatehouse = await forge.start();
    const [older, newer] = [forge.first, forge.second];
    await forge.open(older, deepReview());
    await forge.edit(older, tickStages(forge.body(older), ALL));
    await forge.open(newer, forge.intake({ service: 'payments-api' }));
    expect(stageTicks(forge.body(older))).toEqual(ALL);
    expect(forge.body(newer)).not.toContain('gatehouse:planning:start');
  });

  it('incident worksheet: an intake routed to incident gets it; all ticked says worksheet complete and labels follow-up done', async () => {
    gatehouse = await forge.start();
    const n = forge.first;
    await forge.open(n, forge.intake({ active_exploitation: 'yes' }));
    const body = forge.body(n);
    expect(body).toContain('<!-- gatehouse:incident-worksheet:start -->');
    for (const words of [
      'Containment owner',
      'isolate traffic',
      'revoke access',
      'freeze rollout',
      'approve recovery',
      'Timeline',
      'Evidence',
      'Follow-up controls',
    ])
      expect(body).toContain(words);
    expect(find(forge.comments(n), '<!-- gatehouse:intake -->')).toContain('0 of 10 done');

    await forge.edit(n, tickWorksheet(forge.body(n), 9));
    expect(find(forge.comments(n), '<!-- gatehouse:intake -->')).toContain('9 of 10 done');
    expect(forge.labels(n)).not.toContain('incident::follow-up-done');

    await forge.edit(n, tickWorksheet(forge.body(n), 10));
    expect(find(forge.comments(n), '<!-- gatehouse:intake -->')).toContain('Worksheet complete');
    expect(forge.labels(n)).toContain('incident::follow-up-done');
    expect(forge.comments(n).filter((c) => c.startsWith('<!-- gatehouse:intake -->'))).toHaveLength(1);
  });
});
