/**
 * Slack end to end through the real HTTP server on loopback: Slack's documented request shapes,
 * signed; GitHub's and GitLab's APIs and Slack's Web API and response_url intercepted with nock
 * (no other network; every interceptor used).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { answers, gitlabBody, intakeBody } from '../builders/intake.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';
import { GITLAB_API, GITLAB_BOT, GITLAB_SECRET, GITLAB_URL, gitlabDelivery, issueHook } from '../support/gitlab.ts';
import { GITHUB_API, GITHUB_SECRET, processed, startTestGatehouse, loopbackOnly } from '../support/harness.ts';
import { RESPONSE_HOST, SLACK_API, blockActionBody, slackConfig, slackHeaders, slashCommandBody } from '../support/slack.ts';

const REPO = '/repos/Codertocat/Hello-World';
const ISSUE_URL = 'https://github.com/Codertocat/Hello-World/issues/1';
const ALLOWED = 'U0ALLOWED';
const OTHER = 'U2147483697'; // the documented example's user
const MEMBER = 'U0MEMBER';

/** The acknowledgers' user group, as Slack lists it. */
function groupMembers(): void {
  nock(SLACK_API)
    .post('/api/usergroups.users.list', (b: Record<string, string>) => b['usergroup'] === 'S0TEAM')
    .reply(200, { ok: true, users: [MEMBER] });
}

let gatehouse: Gatehouse;

const slack = (body: string, headers: Record<string, string> = slackHeaders(body)): Promise<Response> =>
  fetch(`${gatehouse.url}/slack/events`, { method: 'POST', headers, body });

interface Posted {
  channel: string;
  text: string;
  blocks: {
    type: string;
    text?: { type: string; text: string };
    fields?: { type: string; text: string }[];
    elements?: { type: string; text?: unknown }[];
  }[];
}

/** Intercepts chat.postMessage once, recording what was sent. */
function expectPost(into: Posted[], reply: { channel: string; ts: string } = { channel: 'C0ESCALATE', ts: `${Date.now() / 1000}` }): void {
  nock(SLACK_API)
    .post('/api/chat.postMessage', (b: Record<string, string>) => {
      into.push({ channel: b['channel']!, text: b['text']!, blocks: JSON.parse(b['blocks'] ?? '[]') as Posted['blocks'] });
      return true;
    })
    .reply(200, { ok: true, ...reply });
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

type Workflow = 'planning' | 'incident-worksheet';

/** The calls the tracked workflows add on GitHub: their checklists in the description, in one edit (their status is in the intake comment). */
function workflowCalls(names: readonly Workflow[], n: number): void {
  nock(GITHUB_API).get(`${REPO}/issues/${n}`).reply(200, { number: n, body: '' });
  nock(GITHUB_API)
    .patch(`${REPO}/issues/${n}`, (b: { body: string }) => names.every((name) => b.body.includes(`<!-- gatehouse:${name}:start -->`)))
    .reply(200, { number: n });
}

/** A GitHub issue-opened delivery whose intake classifies, with the API calls it makes. */
async function githubIntake(body: string, title: string, number = 1, workflows: Workflow[] = ['planning']): Promise<void> {
  nock(GITHUB_API)
    .post('/app/installations/1/access_tokens')
    .reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z', permissions: {}, repository_selection: 'all' });
  nock(GITHUB_API).get(`${REPO}/contents/.github%2Fgatehouse.yml`).reply(404, { message: 'Not Found' });
  nock(GITHUB_API).get(`${REPO}/issues/${number}/comments`).query(true).reply(200, []);
  nock(GITHUB_API).post(`${REPO}/issues/${number}/labels`).reply(200, []);
  nock(GITHUB_API)
    .post(`${REPO}/issues/${number}/comments`, (b: { body: string }) => b.body.startsWith('<!-- gatehouse:intake -->'))
    .reply(201, { id: 99, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });
  if (workflows.length > 0) workflowCalls(workflows, number);
  const payload = issuesPayload({ body, number });
  (payload['issue'] as Record<string, unknown>)['title'] = title;
  const d = githubDelivery({ name: 'issues', secret: GITHUB_SECRET, payload });
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  expect(await processed(gatehouse, 'github', d.id)).toBe('done');
}

loopbackOnly();

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-slack-'));
  const policyPath = join(dir, 'policy.yml');
  writeFileSync(
    policyPath,
    [
      'chat:',
      `  escalators: { users: [${ALLOWED}] }`,
      `  acknowledgers: { users: [${ALLOWED}], groups: [S0TEAM] }`,
      `  accounts: { ${ALLOWED}: { github: octocat } }`,
      '  sendIntervalMs: 0',
      'gate:',
      '  exceptions:',
      '    approvers: { github: [octocat] }',
      '',
    ].join('\n'),
  );
  gatehouse = await startTestGatehouse(
    {
      github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: GITHUB_SECRET, apiBaseUrl: GITHUB_API },
      gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: GITLAB_SECRET },
      slack: slackConfig,
      policyPath,
    },
    {
      github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false },
      gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 } },
      slack: { pollMs: 100 },
    },
  );
});

afterEach(async () => {
  await gatehouse.close();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every intercepted call was made').toEqual([]);
});

describe('the /slack/events route', () => {
  it('answers a signed /gatehouse help with 200 within 3 s, naming every subcommand, to the asker only', async () => {
    const body = slashCommandBody({ text: 'help' });
    const started = Date.now();
    const res = await slack(body);
    const took = Date.now() - started;
    expect(res.status).toBe(200);
    expect(took).toBeLessThan(3000);
    const answer = (await res.json()) as { response_type: string; text: string };
    expect(answer.response_type).toBe('ephemeral');
    for (const sub of ['help', 'status', 'queue', 'escalate']) expect(answer.text).toContain(`/gatehouse ${sub}`);
  });

  it.each([
    ['a wrong signature', (b: string) => ({ ...slackHeaders(b), 'x-slack-signature': `v0=${'0'.repeat(64)}` })],
    ['a timestamp 6 minutes old', (b: string) => slackHeaders(b, { at: Date.now() - 6 * 60_000 })],
    ['a timestamp 6 minutes ahead', (b: string) => slackHeaders(b, { at: Date.now() + 6 * 60_000 })],
    ['no signature at all', () => ({ 'content-type': 'application/x-www-form-urlencoded' })],
    ['a body signed with another secret', (b: string) => slackHeaders(b, { secret: 'not-the-secret' })],
  ])('refuses %s with 401 and stores nothing', async (_name, headersOf) => {
    const body = slashCommandBody({ text: `escalate ${ISSUE_URL} forged`, userId: ALLOWED });
    const res = await slack(body, headersOf(body));
    expect(res.status).toBe(401);
    expect(await gatehouse.store.listDeliveries('pending', 10)).toEqual([]);
  });

  it('answers a typo with a suggestion, visible only to the asker', async () => {
    const res = await slack(slashCommandBody({ text: 'stauts https://github.com/a/b/issues/1' }));
    const answer = (await res.json()) as { response_type: string; text: string };
    expect(answer.response_type).toBe('ephemeral');
    expect(answer.text).toContain('Did you mean `/gatehouse status`?');
  });

  it('answers the Events API URL check', async () => {
    const body = JSON.stringify({ token: 'x', challenge: 'c-123', type: 'url_verification' });
    const res = await slack(body, slackHeaders(body, { contentType: 'application/json' }));
    expect(await res.json()).toEqual({ challenge: 'c-123' });
  });
});

describe('/gatehouse status', () => {
  it('answers the tier and the clocks of an issue Gatehouse classified', async () => {
    await githubIntake(intakeBody({ exposure: 'new public endpoint' }), 'New public endpoint');
    const res = await slack(slashCommandBody({ text: `status ${ISSUE_URL}`, userId: ALLOWED }));
    const answer = (await res.json()) as { text: string };
    expect(answer.text).toContain('Tier: Tier 2 (deep review)');
    expect(answer.text).toContain('Intake: complete');
    expect(answer.text).toContain('Clocks: none');
    expect(answer.text).toContain('Release gate: no verdict');
  });

  it('answers the SLO/RTO clocks of a tooling outage with their due times and state', async () => {
    nock(GITHUB_API).post('/app/installations/1/access_tokens').reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z' });
    nock(GITHUB_API).get(`${REPO}/contents/.github%2Fgatehouse.yml`).reply(404, { message: 'Not Found' });
    const payload = issuesPayload({ body: 'The scanner fails every job.', number: 5, labels: ['tool::outage', 'criticality::critical'] });
    Object.assign(payload['issue'] as Record<string, unknown>, { created_at: new Date().toISOString(), assignees: [], assignee: null });
    const d = githubDelivery({ name: 'issues', secret: GITHUB_SECRET, payload });
    await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
    expect(await processed(gatehouse, 'github', d.id)).toBe('done');
    const answer = (
      (await (
        await slack(slashCommandBody({ text: 'status https://github.com/Codertocat/Hello-World/issues/5', userId: ALLOWED }))
      ).json()) as { text: string }
    ).text;
    // Business hours decide whether a clock runs right now: on track with a due time, or paused.
    expect(answer).toMatch(/SLO \(response\) · critical: (on track, due \d{4}-\d\d-\d\d \d\d:\d\d UTC|paused)/);
    expect(answer).toMatch(/RTO \(recovery\) · critical: (on track, due \d{4}-\d\d-\d\d \d\d:\d\d UTC|paused)/);
  });

  it('says so for a URL Gatehouse has no record of, and for a URL it cannot read', async () => {
    const unknown = (await (
      await slack(slashCommandBody({ text: 'status https://github.com/acme/nothing/issues/404', userId: ALLOWED }))
    ).json()) as { text: string };
    expect(unknown.text).toContain('Gatehouse has no record of acme/nothing#404');
    const junk = (await (await slack(slashCommandBody({ text: 'status https://example.org/whatever', userId: ALLOWED }))).json()) as {
      text: string;
    };
    expect(junk.text).toContain('not an issue, pull request or merge request URL Gatehouse knows');
  });
});

describe('/gatehouse queue', () => {
  it('lists open intake by tier and age and open escalations; a closed intake leaves it', async () => {
    await githubIntake(intakeBody({ exposure: 'new public endpoint' }), 'New public endpoint');
    const before = ((await (await slack(slashCommandBody({ text: 'queue', userId: ALLOWED }))).json()) as { text: string }).text;
    expect(before).toContain('Open intake: 1');
    expect(before).toContain('Tier 2 (deep review): 1');
    expect(before).toContain('github:Codertocat/Hello-World#1 (payments-api)');
    expect(before).toContain('Open escalations: 0');

    const closed = issuesPayload({
      action: 'closed',
      body: intakeBody({ exposure: 'new public endpoint' }),
      labels: ['intake', 'intake::complete', 'tier::deep-review'],
    });
    const d = githubDelivery({ name: 'issues', secret: GITHUB_SECRET, payload: closed });
    await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
    expect(await processed(gatehouse, 'github', d.id)).toBe('done');
    const after = ((await (await slack(slashCommandBody({ text: 'queue', userId: ALLOWED }))).json()) as { text: string }).text;
    expect(after).toContain('Open intake: 0');
  });
});

describe('escalation notices', () => {
  it('posts one notice for a tier-3 GitHub intake, in the escalation channel, naming the item', async () => {
    const posted: Posted[] = [];
    expectPost(posted);
    await githubIntake(intakeBody({ blast_radius: 'multiple products or trust domains' }), 'Cross-tenant data sync');
    await waitFor(() => posted.length === 1);
    expect(posted[0]!.channel).toBe('#prodsec-escalations');
    const all = JSON.stringify(posted[0]!.blocks);
    expect(all).toContain('Cross-tenant data sync');
    expect(all).toContain(ISSUE_URL);
    expect(all).toContain('Tier 3 (leadership)');
    expect(all).toContain('tier::leadership');
    const row = await gatehouse.outbox.get('intake-leadership:github:Codertocat/Hello-World#1');
    expect(row).toMatchObject({ status: 'sent', channelId: 'C0ESCALATE' });
  });

  it('posts one notice for a tier-3 GitLab intake', async () => {
    const posted: Posted[] = [];
    expectPost(posted);
    nock(GITLAB_API)
      .get('/projects/1/repository/files/.gitlab%2Fgatehouse.yml/raw')
      .query(true)
      .reply(404, { message: '404 File Not Found' });
    nock(GITLAB_API).get('/projects/1/issues/23/notes').query(true).reply(200, []);
    nock(GITLAB_API)
      .put('/projects/1/issues/23', (b: { add_labels?: string }) => b.add_labels !== undefined)
      .reply(200, { iid: 23 });
    nock(GITLAB_API)
      .post('/projects/1/issues/23/notes', (b: { body: string }) => b.body.startsWith('<!-- gatehouse:intake -->'))
      .reply(201, { id: 1, body: 'x', system: false, author: { id: 9, username: GITLAB_BOT } });
    // The deep review's planning checklist: the description read and updated (its status is in the intake note).
    nock(GITLAB_API).get('/projects/1/issues/23').reply(200, { iid: 23, description: '' });
    nock(GITLAB_API)
      .put('/projects/1/issues/23', (b: { description?: string }) => (b.description ?? '').includes('<!-- gatehouse:planning:start -->'))
      .reply(200, { iid: 23 });
    const d = gitlabDelivery({
      event: 'Issue Hook',
      payload: issueHook({
        description: gitlabBody({ answers: answers({ blast_radius: 'multiple products or trust domains' }) }),
        labels: ['intake'],
      }),
    });
    expect((await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    expect(await processed(gatehouse, 'gitlab', d.id)).toBe('done');
    await waitFor(() => posted.length === 1);
    expect(posted[0]!.channel).toBe('#prodsec-escalations');
    expect(JSON.stringify(posted[0]!.blocks)).toContain('gitlabhq/gitlab-test');
  });

  it('handles a GitLab confidential issue as an issue, and its notice carries neither its title nor its answers', async () => {
    const posted: Posted[] = [];
    expectPost(posted, { channel: 'C0INCIDENT', ts: `${Date.now() / 1000}` });
    nock(GITLAB_API)
      .get('/projects/1/repository/files/.gitlab%2Fgatehouse.yml/raw')
      .query(true)
      .reply(404, { message: '404 File Not Found' });
    nock(GITLAB_API).get('/projects/1/issues/23/notes').query(true).reply(200, []);
    nock(GITLAB_API)
      .put('/projects/1/issues/23', (b: { add_labels?: string }) => (b.add_labels ?? '').includes('route::incident'))
      .reply(200, { iid: 23 });
    const comments: string[] = [];
    nock(GITLAB_API)
      .post('/projects/1/issues/23/notes', (b: { body: string }) => (comments.push(b.body), true))
      .reply(201, { id: 1, body: 'x', system: false, author: { id: 9, username: GITLAB_BOT } });
    // The incident worksheet and the planning checklist: the description read and updated once, with both.
    nock(GITLAB_API).get('/projects/1/issues/23').reply(200, { iid: 23, description: '' });
    nock(GITLAB_API)
      .put(
        '/projects/1/issues/23',
        (b: { description?: string }) =>
          !!b.description?.includes('<!-- gatehouse:incident-worksheet:start -->') &&
          b.description.includes('<!-- gatehouse:planning:start -->'),
      )
      .reply(200, { iid: 23 });
    const payload = issueHook({
      description: gitlabBody({ answers: answers({ active_exploitation: 'yes', service: 'ledger-vault', owner: '@mallory' }) }),
      labels: ['intake'],
    });
    Object.assign(payload['object_attributes'] as Record<string, unknown>, { title: 'Ledger signing key leaked', confidential: true });
    const d = gitlabDelivery({ event: 'Confidential Issue Hook', payload });
    expect((await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    expect(await processed(gatehouse, 'gitlab', d.id)).toBe('done');
    await waitFor(() => posted.length === 1);
    expect(posted[0]!.channel).toBe('#prodsec-incidents');
    const sent = JSON.stringify(posted[0]);
    expect(sent).toContain('Confidential issue gitlabhq/gitlab-test#23');
    expect(sent).toContain('route::incident');
    for (const secret of ['Ledger signing key leaked', 'ledger-vault', '@mallory', 'mallory']) expect(sent).not.toContain(secret);
    // On the issue itself (members only) the bot says everything, as on any issue.
    expect(comments.find((c) => c.startsWith('<!-- gatehouse:intake -->'))).toContain('route: incident');
    // The queue, in Slack, lists it without its service; its escalation without its title.
    const queue = ((await (await slack(slashCommandBody({ text: 'queue', userId: ALLOWED }))).json()) as { text: string }).text;
    expect(queue).toContain('gitlab:gitlabhq/gitlab-test#23');
    expect(queue).toContain('Confidential issue gitlabhq/gitlab-test#23');
    for (const secret of ['Ledger signing key leaked', 'ledger-vault', 'mallory']) expect(queue).not.toContain(secret);
  });

  it('posts a suspected-exploitation intake at once to the incident channel, carrying route::incident', async () => {
    const posted: Posted[] = [];
    expectPost(posted);
    await githubIntake(intakeBody({ active_exploitation: 'yes' }), 'Tokens leaking in logs', 1, ['incident-worksheet', 'planning']);
    await waitFor(() => posted.length === 1);
    await new Promise((r) => setTimeout(r, 300)); // a second notice would have gone out by now
    expect(posted).toHaveLength(1);
    expect(posted[0]!.channel).toBe('#prodsec-incidents');
    expect(JSON.stringify(posted[0]!.blocks)).toContain('route::incident');
    expect(JSON.stringify(posted[0]!.blocks)).toContain('Tokens leaking in logs');
  });

  it('sends a hostile issue title as plain text: nothing in it can mention or link', async () => {
    const posted: Posted[] = [];
    expectPost(posted);
    const hostile = '<!channel> @here <@U123> <https://evil|click>';
    await githubIntake(intakeBody({ active_exploitation: 'yes' }), hostile, 1, ['incident-worksheet', 'planning']);
    await waitFor(() => posted.length === 1);
    const msg = posted[0]!;
    expect(msg.text).not.toContain('<!channel>');
    expect(msg.text).toContain('&lt;!channel&gt;');
    const texts = msg.blocks
      .flatMap((b) => [b.text, ...(b.fields ?? []), ...((b.elements ?? []) as { type: string; text?: unknown }[])])
      .filter((t): t is { type: string; text: string } => !!t && typeof (t as { text?: unknown }).text === 'string');
    const carrying = texts.filter((t) => t.text.includes('!channel') || t.text.includes('evil'));
    expect(carrying.length).toBeGreaterThan(0);
    for (const t of carrying) expect(t.type).toBe('plain_text');
    for (const t of texts.filter((t) => t.type === 'mrkdwn')) expect(t.text).not.toMatch(/<!channel>|<!here>|<@U123>|<https:\/\/evil/);
  });
});

describe('/gatehouse escalate', () => {
  it('by an allowed user labels and comments on the item and posts one notice', async () => {
    let labels: unknown;
    let comment = '';
    nock(GITHUB_API).post('/app/installations/1/access_tokens').reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z' });
    nock(GITHUB_API).get(`${REPO}/installation`).reply(200, { id: 1 });
    nock(GITHUB_API)
      .post(`${REPO}/issues/1/labels`, (b: { labels: string[] }) => ((labels = b.labels), true))
      .reply(200, []);
    nock(GITHUB_API).get(`${REPO}/issues/1/comments`).query(true).reply(200, []);
    nock(GITHUB_API)
      .post(`${REPO}/issues/1/comments`, (b: { body: string }) => ((comment = b.body), true))
      .reply(201, { id: 7, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });
    const posted: Posted[] = [];
    expectPost(posted);
    let confirmation = '';
    nock(RESPONSE_HOST)
      .post('/commands/1234/5678', (b: { text: string }) => ((confirmation = b.text), true))
      .reply(200, 'ok');

    const res = await slack(
      slashCommandBody({ text: `escalate ${ISSUE_URL} customer data may be exposed`, userId: ALLOWED, userName: 'dana' }),
    );
    expect(res.status).toBe(200);
    expect(((await res.json()) as { text: string }).text).toContain('Escalating');
    await waitFor(() => posted.length === 1 && confirmation !== '');
    expect(labels).toEqual(['escalated']);
    expect(comment).toContain('customer data may be exposed');
    expect(comment).toContain('dana');
    expect(posted[0]!.channel).toBe('#prodsec-escalations');
    expect(JSON.stringify(posted[0]!.blocks)).toContain('customer data may be exposed');
    expect(confirmation).toContain('Escalated');
  });

  it('a replayed request (the same signed body sent again) is carried out once', async () => {
    nock(GITHUB_API).post('/app/installations/1/access_tokens').reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z' });
    nock(GITHUB_API).get(`${REPO}/installation`).reply(200, { id: 1 });
    nock(GITHUB_API).post(`${REPO}/issues/1/labels`).once().reply(200, []);
    nock(GITHUB_API).get(`${REPO}/issues/1/comments`).query(true).once().reply(200, []);
    nock(GITHUB_API)
      .post(`${REPO}/issues/1/comments`)
      .once()
      .reply(201, { id: 7, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });
    const posted: Posted[] = [];
    expectPost(posted);
    let confirmations = 0;
    nock(RESPONSE_HOST)
      .post('/commands/1234/5678')
      .reply(200, () => ((confirmations += 1), 'ok'));
    const body = slashCommandBody({ text: `escalate ${ISSUE_URL} replay me`, userId: ALLOWED });
    const headers = slackHeaders(body);
    const [a, b] = await Promise.all([slack(body, headers), slack(body, headers)]);
    const c = await slack(body, headers);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
    await waitFor(() => posted.length === 1 && confirmations === 1);
    await new Promise((r) => setTimeout(r, 800)); // a second run would have posted by now
    expect(posted).toHaveLength(1);
    expect(confirmations).toBe(1);
  });

  it('on a repository the app is not installed on says so, instead of retrying for ever', async () => {
    nock(GITHUB_API).get('/repos/acme/elsewhere/installation').reply(404, { message: 'Not Found' });
    let answer = '';
    nock(RESPONSE_HOST)
      .post('/commands/1234/5678', (b: { text: string }) => ((answer = b.text), true))
      .reply(200, 'ok');
    await slack(slashCommandBody({ text: 'escalate https://github.com/acme/elsewhere/issues/3 please look', userId: ALLOWED }));
    await waitFor(() => answer !== '');
    expect(answer).toContain('Gatehouse cannot reach https://github.com/acme/elsewhere/issues/3 (HTTP 404)');
    const audit = await gatehouse.store.auditFor('github:acme/elsewhere#3');
    expect(audit).toEqual([expect.objectContaining({ action: 'chat.escalate', outcome: 'error' })]);
    expect(await gatehouse.outbox.countByStatus()).toEqual({ pending: 0, sent: 0, failed: 0 });
  });

  it('by anyone else is refused, changes nothing, and the attempt is in the audit log', async () => {
    let refusal = '';
    nock(RESPONSE_HOST)
      .post('/commands/1234/5678', (b: { text: string }) => ((refusal = b.text), true))
      .reply(200, 'ok');
    const res = await slack(slashCommandBody({ text: `escalate ${ISSUE_URL} let me in`, userId: OTHER }));
    expect(res.status).toBe(200);
    await waitFor(() => refusal !== '');
    expect(refusal).toContain('not allowed to escalate');
    // No GitHub or Slack Web API interceptor exists: any change would have failed the request.
    const audit = await gatehouse.store.auditFor('github:Codertocat/Hello-World#1');
    expect(audit).toEqual([expect.objectContaining({ action: 'chat.escalate', outcome: 'skipped', error: 'not allowed by the policy' })]);
    expect(await gatehouse.outbox.countByStatus()).toEqual({ pending: 0, sent: 0, failed: 0 });
  });
});

describe('release gate in Slack', () => {
  it('status names the last release-gate verdict of a pull request', async () => {
    await gatehouse.gateStore.recordGateDecision({
      key: 'github:Codertocat/Hello-World!9',
      headSha: 'a'.repeat(40),
      releaseClass: 'high-risk',
      verdict: 'block',
      reasons: [],
      inputs: {},
      policyHash: 'b'.repeat(64),
      decidedAt: new Date(),
      deliveryId: null,
    });
    const answer = (
      (await (
        await slack(slashCommandBody({ text: 'status https://github.com/Codertocat/Hello-World/pull/9', userId: ALLOWED }))
      ).json()) as { text: string }
    ).text;
    expect(answer).toContain('Release gate: block (high-risk)');
  });

  const EXC = 'github:Codertocat/Hello-World#12';
  const expiry = (): string => new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
  const requestBody = (over: Record<string, string> = {}): string =>
    Object.entries({
      'Finding or control': 'js/sql-injection',
      Category: 'sast',
      Repository: 'Codertocat/Hello-World',
      Paths: '_No response_',
      'Compensating controls': 'WAF rule 12',
      'Business owner': '@owner',
      'Requested expiry': expiry(),
      Renews: '_No response_',
      ...over,
    })
      .map(([k, v]) => `### ${k}\n\n${v}`)
      .join('\n\n');
  /** GitHub's GET /repos/{owner}/{repo}/issues/12: the request as it is now. */
  const issueNow = (body: string, author = 'dev', labels = ['exception']) => ({
    number: 12,
    body,
    state: 'open',
    user: { login: author, type: 'User' },
    labels: labels.map((name, i) => ({ id: i + 1, name })),
  });

  /**
   * The requester opens the exception request on GitHub: Gatehouse registers it, comments, and posts
   * the notice whose Approve button carries the terms digest. Returns the button's value.
   */
  async function exceptionRequested(author = 'dev'): Promise<string> {
    const body = requestBody();
    nock(GITHUB_API)
      .post('/app/installations/1/access_tokens')
      .reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z', permissions: {}, repository_selection: 'all' });
    nock(GITHUB_API).get(`${REPO}/contents/.github%2Fgatehouse.yml`).reply(404, { message: 'Not Found' });
    nock(GITHUB_API).get(`${REPO}/issues/12`).reply(200, issueNow(body, author));
    nock(GITHUB_API).get(`${REPO}/issues/12/comments`).query(true).reply(200, []);
    nock(GITHUB_API)
      .post(`${REPO}/issues/12/comments`, (b: { body: string }) => b.body.startsWith('<!-- gatehouse:exception -->'))
      .reply(201, { id: 7, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });
    const posted: Posted[] = [];
    expectPost(posted, { channel: 'C0EXC', ts: '1700000000.000400' });
    const payload = issuesPayload({ body, number: 12, labels: ['exception'], sender: { login: author, type: 'User' } });
    const issue = payload['issue'] as Record<string, unknown>;
    issue['user'] = { ...(issue['user'] as object), login: author };
    issue['created_at'] = new Date().toISOString();
    const d = githubDelivery({ name: 'issues', secret: GITHUB_SECRET, payload });
    expect((await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body })).status).toBe(200);
    expect(await processed(gatehouse, 'github', d.id)).toBe('done');
    await waitFor(() => posted.length === 1);
    const actions = posted[0]!.blocks.find((b) => b.type === 'actions') as unknown as { elements: { action_id: string; value?: string }[] };
    const button = actions.elements.find((e) => e.action_id === 'gatehouse_approve_exception')!;
    expect(JSON.parse(button.value!)).toEqual({
      notice: `exception-request:${EXC}`,
      terms: (await gatehouse.gateStore.getException(EXC))!.approvedDigest ?? expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    return button.value!;
  }

  it("Approve exception by a mapped exception approver approves exactly the notice's terms, labels and comments the request", async () => {
    const value = await exceptionRequested();
    let labels: unknown;
    let comment = '';
    nock(GITHUB_API).get(`${REPO}/installation`).reply(200, { id: 1 });
    nock(GITHUB_API).get(`${REPO}/issues/12`).reply(200, issueNow(requestBody()));
    nock(GITHUB_API)
      .post(`${REPO}/issues/12/labels`, (b: { labels: string[] }) => ((labels = b.labels), true))
      .reply(200, []);
    nock(GITHUB_API).get(`${REPO}/issues/12/comments`).query(true).reply(200, []);
    nock(GITHUB_API)
      .post(`${REPO}/issues/12/comments`, (b: { body: string }) => ((comment = b.body), true))
      .reply(201, { id: 8, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });
    let update: Record<string, string> = {};
    nock(SLACK_API)
      .post('/api/chat.update', (b: Record<string, string>) => ((update = b), true))
      .reply(200, { ok: true, channel: 'C0EXC', ts: '1700000000.000400' });
    await slack(blockActionBody({ actionId: 'gatehouse_approve_exception', value, userId: ALLOWED }));
    await waitFor(() => update['ts'] !== undefined);
    const terms = (JSON.parse(value) as { terms: string }).terms;
    expect(labels).toEqual(['exception::approved']);
    expect(comment).toContain('Exception approved from Slack by octocat');
    expect(comment).toContain(terms.slice(0, 12));
    expect(update['blocks']).toContain(`Approved by <@${ALLOWED}>`);
    expect(await gatehouse.gateStore.getException(EXC)).toMatchObject({ status: 'approved', approvedBy: 'octocat', approvedDigest: terms });
  });

  it.each([
    ['other compensating controls', { 'Compensating controls': 'None, we will be careful' }],
    ['another repository', { Repository: 'Codertocat/Spoon-Knife' }],
  ])('Approve exception on a notice whose request was edited since (%s) is refused, audited, and approves nothing', async (_name, edit) => {
    const value = await exceptionRequested();
    // The requester edits the request after the notice went out; the approver clicks the old notice.
    nock(GITHUB_API).get(`${REPO}/installation`).reply(200, { id: 1 });
    nock(GITHUB_API)
      .get(`${REPO}/issues/12`)
      .reply(200, issueNow(requestBody(edit)));
    let refusal = '';
    nock(RESPONSE_HOST)
      .post(/.*/, (b: { text: string }) => ((refusal = b.text), true))
      .reply(200, 'ok');
    await slack(blockActionBody({ actionId: 'gatehouse_approve_exception', value, userId: ALLOWED }));
    await waitFor(() => refusal !== '');
    expect(refusal).toContain('the request changed since this notice');
    expect(await gatehouse.gateStore.getException(EXC)).toMatchObject({ status: 'requested', approvedBy: null, approvedDigest: null });
    const audit = (await gatehouse.store.auditFor(EXC)).filter((a) => a.action === 'chat.approve-exception');
    expect(audit).toEqual([
      expect.objectContaining({
        outcome: 'skipped',
        detail: expect.objectContaining({
          slackUser: ALLOWED,
          approver: 'octocat',
          reason: expect.stringContaining('changed since this notice'),
        }),
      }),
    ]);
  });

  it('Approve exception by the requester (an approver) is refused, audited, and approves nothing', async () => {
    const value = await exceptionRequested('octocat');
    nock(GITHUB_API).get(`${REPO}/installation`).reply(200, { id: 1 });
    nock(GITHUB_API).get(`${REPO}/issues/12`).reply(200, issueNow(requestBody(), 'octocat'));
    let refusal = '';
    nock(RESPONSE_HOST)
      .post(/.*/, (b: { text: string }) => ((refusal = b.text), true))
      .reply(200, 'ok');
    await slack(blockActionBody({ actionId: 'gatehouse_approve_exception', value, userId: ALLOWED }));
    await waitFor(() => refusal !== '');
    expect(refusal).toContain('octocat requested this exception');
    expect(await gatehouse.gateStore.getException(EXC)).toMatchObject({ status: 'requested', approvedBy: null });
    expect((await gatehouse.store.auditFor(EXC)).filter((a) => a.action === 'chat.approve-exception')).toEqual([
      expect.objectContaining({ outcome: 'skipped', detail: expect.objectContaining({ approver: 'octocat' }) }),
    ]);
  });

  it('Approve exception by someone who is not an approver is refused and changes nothing', async () => {
    const value = await exceptionRequested();
    let refusal = '';
    nock(RESPONSE_HOST)
      .post(/.*/, (b: { text: string }) => ((refusal = b.text), true))
      .reply(200, 'ok');
    await slack(blockActionBody({ actionId: 'gatehouse_approve_exception', value, userId: OTHER }));
    await waitFor(() => refusal !== '');
    expect(refusal).toContain('is not mapped to a GitHub account');
    expect(await gatehouse.gateStore.getException(EXC)).toMatchObject({ status: 'requested', approvedBy: null });
    const audit = (await gatehouse.store.auditFor(EXC)).filter((a) => a.action === 'chat.approve-exception');
    expect(audit).toEqual([expect.objectContaining({ action: 'chat.approve-exception', outcome: 'skipped' })]);
  });
});

describe('notice buttons', () => {
  it('Acknowledge records who and when and updates the same message', async () => {
    const posted: Posted[] = [];
    expectPost(posted, { channel: 'C0INCIDENT', ts: '1700000000.000100' });
    await githubIntake(intakeBody({ active_exploitation: 'yes' }), 'Tokens leaking', 1, ['incident-worksheet', 'planning']);
    await waitFor(() => posted.length === 1);
    let update: Record<string, string> = {};
    nock(SLACK_API)
      .post('/api/chat.update', (b: Record<string, string>) => ((update = b), true))
      .reply(200, { ok: true, channel: 'C0INCIDENT', ts: '1700000000.000100' });
    const key = 'active-exploitation:github:Codertocat/Hello-World#1';
    const res = await slack(blockActionBody({ actionId: 'gatehouse_acknowledge', value: key, userId: ALLOWED }));
    expect(res.status).toBe(200);
    await waitFor(() => update['ts'] !== undefined);
    expect(update['channel']).toBe('C0INCIDENT');
    expect(update['ts']).toBe('1700000000.000100');
    expect(update['blocks']).toContain(`Acknowledged by <@${ALLOWED}>`);
    const row = await gatehouse.outbox.get(key);
    expect(row?.acknowledgedBy).toBe(ALLOWED);
    expect(row?.acknowledgedAt).toBeInstanceOf(Date);
  });

  it('Acknowledge by someone the policy does not name is refused and audited', async () => {
    const posted: Posted[] = [];
    expectPost(posted);
    await githubIntake(intakeBody({ active_exploitation: 'yes' }), 'Tokens leaking', 1, ['incident-worksheet', 'planning']);
    await waitFor(() => posted.length === 1);
    let refusal = '';
    nock(RESPONSE_HOST)
      .post(/.*/, (b: { text: string }) => ((refusal = b.text), true))
      .reply(200, 'ok');
    const key = 'active-exploitation:github:Codertocat/Hello-World#1';
    groupMembers();
    await slack(blockActionBody({ actionId: 'gatehouse_acknowledge', value: key, userId: OTHER }));
    await waitFor(() => refusal !== '');
    expect(refusal).toContain('not allowed to acknowledge');
    expect((await gatehouse.outbox.get(key))?.acknowledgedBy).toBeNull();
    const audit = await gatehouse.store.auditFor('github:Codertocat/Hello-World#1');
    expect(audit.filter((e) => e.action === 'chat.acknowledge')).toEqual([expect.objectContaining({ outcome: 'skipped' })]);
  });

  it('Acknowledge by a member of a user group the policy names is taken', async () => {
    const posted: Posted[] = [];
    expectPost(posted, { channel: 'C0INCIDENT', ts: '1700000000.000300' });
    await githubIntake(intakeBody({ active_exploitation: 'yes' }), 'Tokens leaking', 1, ['incident-worksheet', 'planning']);
    await waitFor(() => posted.length === 1);
    groupMembers();
    let update: Record<string, string> = {};
    nock(SLACK_API)
      .post('/api/chat.update', (b: Record<string, string>) => ((update = b), true))
      .reply(200, { ok: true, channel: 'C0INCIDENT', ts: '1700000000.000300' });
    const key = 'active-exploitation:github:Codertocat/Hello-World#1';
    await slack(blockActionBody({ actionId: 'gatehouse_acknowledge', value: key, userId: MEMBER }));
    await waitFor(() => update['ts'] !== undefined);
    expect((await gatehouse.outbox.get(key))?.acknowledgedBy).toBe(MEMBER);
  });

  it('Take ownership assigns the issue to the clicker’s mapped GitHub account', async () => {
    const posted: Posted[] = [];
    expectPost(posted, { channel: 'C0INCIDENT', ts: '1700000000.000200' });
    await githubIntake(intakeBody({ active_exploitation: 'yes' }), 'Tokens leaking', 1, ['incident-worksheet', 'planning']);
    await waitFor(() => posted.length === 1);
    let assignees: unknown;
    nock(GITHUB_API).get(`${REPO}/installation`).reply(200, { id: 1 });
    nock(GITHUB_API)
      .post(`${REPO}/issues/1/assignees`, (b: { assignees: string[] }) => ((assignees = b.assignees), true))
      .reply(201, {});
    let update: Record<string, string> = {};
    nock(SLACK_API)
      .post('/api/chat.update', (b: Record<string, string>) => ((update = b), true))
      .reply(200, { ok: true, channel: 'C0INCIDENT', ts: '1700000000.000200' });
    await slack(
      blockActionBody({
        actionId: 'gatehouse_take_ownership',
        value: 'active-exploitation:github:Codertocat/Hello-World#1',
        userId: ALLOWED,
      }),
    );
    await waitFor(() => update['ts'] !== undefined);
    expect(assignees).toEqual(['octocat']);
    expect(update['blocks']).toContain(`Owned by <@${ALLOWED}>`);
  });
});
