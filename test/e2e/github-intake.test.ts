/**
 * End to end through the real HTTP server on loopback: signed GitHub deliveries in, GitHub's REST
 * API intercepted with nock (no other network), the embedded database on disk.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nock from 'nock';
import type { Gatehouse } from '../../src/main.ts';
import { intakeBody } from '../builders/intake.ts';
import { githubDelivery, issuesPayload, testPrivateKey, type Delivery } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed as handled, startTestGatehouse, loopbackOnly } from '../support/harness.ts';

const REPO = '/repos/Codertocat/Hello-World';

let gatehouse: Gatehouse;

async function post(d: Delivery, headers: Record<string, string> = d.headers): Promise<Response> {
  return fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers, body: d.body });
}

const processed = (id: string): Promise<string> => handled(gatehouse, 'github', id);

/** The token exchange and the (absent) repository policy override: once per installation/repo. */
function installationAndPolicy(): void {
  nock(API)
    .post('/app/installations/1/access_tokens')
    .reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z', permissions: {}, repository_selection: 'all' });
  nock(API).get(`${REPO}/contents/.github%2Fgatehouse.yml`).reply(404, { message: 'Not Found' });
}

/**
 * The calls a tracked workflow adds: its checklist appended to the description (read, then
 * PATCHed; `planning`: a deep review; `incident-worksheet`: the incident route). Its status is in
 * the intake comment: no comment of its own.
 */
/** The one description edit of an intake's workflows: one read, one write carrying every block named. */
function workflowCalls(name: 'planning' | 'incident-worksheet' | ('planning' | 'incident-worksheet')[], n = 1): void {
  const names = Array.isArray(name) ? name : [name];
  nock(API).get(`${REPO}/issues/${n}`).reply(200, { number: n, body: '' });
  nock(API)
    .patch(`${REPO}/issues/${n}`, (b: { body: string }) => names.every((x) => b.body.includes(`<!-- gatehouse:${x}:start -->`)))
    .reply(200, { number: n });
}

loopbackOnly();

beforeEach(async () => {
  gatehouse = await startTestGatehouse(
    { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API } },
    { github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false } },
  );
});

afterEach(async () => {
  await gatehouse.close();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  expect(pending, 'every intercepted GitHub call was made').toEqual([]);
});

describe('GitHub intake end to end', () => {
  it('labels a complete intake with exactly one tier and posts one comment listing the expected assets', async () => {
    installationAndPolicy();
    let labels: unknown;
    let comment = '';
    nock(API).get(`${REPO}/issues/1/comments`).query(true).reply(200, []);
    nock(API)
      .post(`${REPO}/issues/1/labels`, (b: { labels: string[] }) => ((labels = b.labels), true))
      .reply(200, []);
    nock(API)
      .post(`${REPO}/issues/1/comments`, (b: { body: string }) => ((comment = b.body), true))
      .reply(201, { id: 99, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });

    workflowCalls('planning');

    const d = githubDelivery({
      name: 'issues',
      secret: SECRET,
      payload: issuesPayload({ body: intakeBody({ exposure: 'new public endpoint' }) }),
    });
    const res = await post(d);
    expect(res.status).toBe(200);
    expect(await processed(d.id)).toBe('done');

    expect(labels).toEqual(['intake', 'intake::complete', 'tier::deep-review']);
    expect(comment).toContain('<!-- gatehouse:intake -->');
    expect(comment).toContain('Tier 2');
    for (const asset of ['Architecture diagram', 'Threat assumptions', 'Control mapping', 'Rollout/rollback notes', 'Identified owners']) {
      expect(comment).toContain(asset);
    }
    expect(comment).toContain('Internet exposure = new public endpoint');
    const history = await gatehouse.store.decisionHistory('github:Codertocat/Hello-World#1');
    expect(history.map((h) => h.tier)).toEqual([2]);
  });

  it('keeps the Service line answer with the stored intake, and infers none when it is given', async () => {
    installationAndPolicy();
    nock(API).get(`${REPO}/issues/1/comments`).query(true).reply(200, []);
    nock(API).post(`${REPO}/issues/1/labels`).reply(200, []);
    let comment = '';
    nock(API)
      .post(`${REPO}/issues/1/comments`, (b: { body: string }) => ((comment = b.body), true))
      .reply(201, { id: 99, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });
    const d = githubDelivery({
      name: 'issues',
      secret: SECRET,
      payload: issuesPayload({ body: intakeBody({ service_line: 'Cloud / Kubernetes control review' }) }),
    });
    expect((await post(d)).status).toBe(200);
    expect(await processed(d.id)).toBe('done');
    const stored = await gatehouse.store.getIntake('github:Codertocat/Hello-World#1');
    expect(stored?.answers['service_line']).toBe('Cloud / Kubernetes control review');
    expect(stored?.answers['service_line_inferred'] ?? null).toBeNull();
    expect(comment).not.toContain('(inferred)');
  });

  it.each([
    ['a wrong signature', (d: Delivery) => ({ ...d.headers, 'x-hub-signature-256': `sha256=${'0'.repeat(64)}` })],
    ['no signature', (d: Delivery) => Object.fromEntries(Object.entries(d.headers).filter(([k]) => k !== 'x-hub-signature-256'))],
    [
      'a signature made with another secret',
      (d: Delivery) => githubDelivery({ name: 'issues', secret: 'other', payload: JSON.parse(d.body), id: d.id }).headers,
    ],
  ])('rejects %s with 4xx, stores nothing and calls no API', async (_name, headersOf) => {
    const d = githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: intakeBody({}) }) });
    const res = await post(d, headersOf(d));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await gatehouse.store.getDelivery('github', d.id)).toBeNull();
    // nock has no interceptors: any API call would fail the delivery and leave pending mocks.
  });

  it('stores the body exactly as received and signed, not re-serialised', async () => {
    installationAndPolicy();
    const d = githubDelivery({
      name: 'issues',
      secret: SECRET,
      payload: issuesPayload({ body: 'Not an intake: \u00e9 \u2713 🚀' }),
      format: (p) => `${JSON.stringify(p, null, 2)}\n`,
    });
    expect((await post(d)).status).toBe(200);
    expect(await processed(d.id)).toBe('done');
    expect((await gatehouse.store.getDelivery('github', d.id))?.payload).toBe(d.body);
  });

  it('with a forged body racing the real one under the same delivery id, stores the real payload', async () => {
    installationAndPolicy();
    const real = githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: 'The README has a typo.' }) });
    const forged = githubDelivery({ name: 'issues', secret: 'not-the-secret', payload: issuesPayload({ body: 'forged' }), id: real.id });
    const [a, b] = await Promise.all([post(forged), post(real), post(forged)]);
    expect([a.status, b.status]).toEqual([expect.any(Number), 200]);
    expect(a.status).toBeGreaterThanOrEqual(400);
    expect(await processed(real.id)).toBe('done');
    expect(JSON.parse((await gatehouse.store.getDelivery('github', real.id))?.payload ?? 'null')).toEqual(JSON.parse(real.body));
  });

  it('handles the same delivery sent three times (two at once) once: one comment', async () => {
    installationAndPolicy();
    nock(API).get(`${REPO}/issues/1/comments`).query(true).reply(200, []);
    nock(API).post(`${REPO}/issues/1/labels`).reply(200, []);
    nock(API)
      .post(`${REPO}/issues/1/comments`)
      .once()
      .reply(201, { id: 99, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } });

    const d = githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: intakeBody({}) }) });
    const [a, b] = await Promise.all([post(d), post(d)]);
    const c = await post(d);
    expect([a.status, b.status, c.status]).toEqual([200, 200, 200]);
    expect(await processed(d.id)).toBe('done');
    // Give a wrongly duplicated job the time to run (and hit nock with no interceptor left).
    await new Promise((r) => setTimeout(r, 1500));
    const audit = await gatehouse.store.auditFor('github:Codertocat/Hello-World#1');
    expect(audit.filter((e) => e.action === 'ensureComment')).toHaveLength(1);
  });

  it('re-evaluates an edit that changes the answers: swaps the tier label and edits the same comment', async () => {
    installationAndPolicy();
    let firstComment = '';
    nock(API).get(`${REPO}/issues/1/comments`).query(true).reply(200, []);
    nock(API).post(`${REPO}/issues/1/labels`).reply(200, []);
    nock(API)
      .post(`${REPO}/issues/1/comments`, (b: { body: string }) => ((firstComment = b.body), true))
      .reply(201, { id: 99 });
    const opened = githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: intakeBody({}) }) });
    await post(opened);
    expect(await processed(opened.id)).toBe('done');
    expect(firstComment).toContain('Tier 1');

    // The edit: blast radius across trust domains → tier 3. The payload carries the labels we set.
    let added: unknown;
    let edited = '';
    // The comment made on open is known by its id: it is read and edited without listing the issue's comments.
    nock(API)
      .get(`${REPO}/issues/comments/99`)
      .reply(200, { id: 99, body: firstComment, user: { login: 'gatehouse[bot]', type: 'Bot' } });
    nock(API)
      .post(`${REPO}/issues/1/labels`, (b: { labels: string[] }) => ((added = b.labels), true))
      .reply(200, []);
    nock(API).delete(`${REPO}/issues/1/labels/tier%3A%3Aadvisory`).reply(200, []);
    nock(API)
      .patch(`${REPO}/issues/comments/99`, (b: { body: string }) => ((edited = b.body), true))
      .reply(200, { id: 99 });
    workflowCalls('planning');
    const edit = githubDelivery({
      name: 'issues',
      secret: SECRET,
      payload: issuesPayload({
        action: 'edited',
        body: intakeBody({ blast_radius: 'multiple products or trust domains' }),
        labels: ['intake', 'intake::complete', 'tier::advisory'],
      }),
    });
    await post(edit);
    expect(await processed(edit.id)).toBe('done');
    expect(added).toEqual(['tier::leadership']);
    expect(edited).toContain('Tier 3');
    expect(edited).toContain('Blast radius = multiple products or trust domains');
    expect(edited).toContain('Plain-language risk statement');
    const history = await gatehouse.store.decisionHistory('github:Codertocat/Hello-World#1');
    expect(history.map((h) => h.tier)).toEqual([1, 3]);
  });

  it('names every missing field on an incomplete intake, then completes it on edit', async () => {
    installationAndPolicy();
    let labels: unknown;
    let comment = '';
    nock(API).get(`${REPO}/issues/1/comments`).query(true).reply(200, []);
    nock(API)
      .post(`${REPO}/issues/1/labels`, (b: { labels: string[] }) => ((labels = b.labels), true))
      .reply(200, []);
    nock(API)
      .post(`${REPO}/issues/1/comments`, (b: { body: string }) => ((comment = b.body), true))
      .reply(201, { id: 99 });
    const d = githubDelivery({
      name: 'issues',
      secret: SECRET,
      payload: issuesPayload({ body: intakeBody({ owner: null, blast_radius: null, deadline: '2026-02-30' }) }),
    });
    await post(d);
    expect(await processed(d.id)).toBe('done');
    expect(labels).toEqual(['intake', 'intake::incomplete']);
    expect(comment).toMatch(/\| Owner \| is missing \|/);
    expect(comment).toMatch(/\| Blast radius \| is missing \|/);
    expect(comment).toContain('Requested deadline');

    let added: unknown;
    nock(API)
      .get(`${REPO}/issues/comments/99`)
      .reply(200, { id: 99, body: comment, user: { login: 'gatehouse[bot]', type: 'Bot' } });
    nock(API)
      .post(`${REPO}/issues/1/labels`, (b: { labels: string[] }) => ((added = b.labels), true))
      .reply(200, []);
    nock(API).delete(`${REPO}/issues/1/labels/intake%3A%3Aincomplete`).reply(200, []);
    nock(API).patch(`${REPO}/issues/comments/99`).reply(200, { id: 99 });
    const edit = githubDelivery({
      name: 'issues',
      secret: SECRET,
      payload: issuesPayload({ action: 'edited', body: intakeBody({}), labels: ['intake', 'intake::incomplete'] }),
    });
    await post(edit);
    expect(await processed(edit.id)).toBe('done');
    expect(added).toEqual(['intake::complete', 'tier::advisory']);
  });

  it('leaves issues that are not intakes alone, and ignores its own events', async () => {
    // Only the repository policy is read (it could rename the intake label); nothing is written.
    installationAndPolicy();
    const plain = githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: 'The README has a typo.' }) });
    expect((await post(plain)).status).toBe(200);
    expect(await processed(plain.id)).toBe('done');
    const own = githubDelivery({
      name: 'issues',
      secret: SECRET,
      payload: issuesPayload({
        action: 'labeled',
        body: intakeBody({}),
        labels: ['intake'],
        sender: { login: 'gatehouse[bot]', type: 'Bot' },
      }),
    });
    expect((await post(own)).status).toBe(200);
    expect(await processed(own.id)).toBe('ignored');
  });

  it('acknowledges a malformed payload and keeps it as failed with the reason, calling no API', async () => {
    const d = githubDelivery({
      name: 'issues',
      secret: SECRET,
      payload: { action: 'opened', issue: { title: 42 } },
      unchecked: 'malformed on purpose: the server must refuse it',
    });
    expect((await post(d)).status).toBe(200);
    expect(await processed(d.id)).toBe('failed');
    const stored = await gatehouse.store.getDelivery('github', d.id);
    expect(stored?.lastError).toMatch(/issues payload: .*issue/);
    const metrics = await (await fetch(`${gatehouse.url}/metrics`)).text();
    expect(metrics).toContain('gatehouse_deliveries_total{platform="github",event="issues",outcome="invalid"} 1');
  });

  it('routes suspected active exploitation to the incident route and queues one notice', async () => {
    installationAndPolicy();
    let labels: unknown;
    nock(API).get(`${REPO}/issues/1/comments`).query(true).reply(200, []);
    nock(API)
      .post(`${REPO}/issues/1/labels`, (b: { labels: string[] }) => ((labels = b.labels), true))
      .reply(200, []);
    nock(API)
      .post(`${REPO}/issues/1/comments`, (b: { body: string }) => b.body.startsWith('<!-- gatehouse:intake -->'))
      .reply(201, { id: 99 });
    // The worksheet and the planning checklist: one description edit.
    workflowCalls(['incident-worksheet', 'planning']);
    const d = githubDelivery({
      name: 'issues',
      secret: SECRET,
      payload: issuesPayload({ body: intakeBody({ active_exploitation: 'yes' }) }),
    });
    await post(d);
    expect(await processed(d.id)).toBe('done');
    expect(labels).toEqual(['intake', 'intake::complete', 'tier::leadership', 'route::incident']);
    const notices = await gatehouse.outbox.openEscalations(100);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ channel: '#prodsec-incidents', status: 'pending' });
  });

  it('serves /healthz and /metrics, and answers 503 on platforms that are off', async () => {
    const health = await fetch(`${gatehouse.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const gitlab = await fetch(`${gatehouse.url}/api/gitlab/webhooks`, { method: 'POST', body: '{}' });
    expect(gitlab.status).toBe(503);
    expect((await gitlab.json()) as object).toEqual({ error: 'GitLab is off' });
    const metrics = await (await fetch(`${gatehouse.url}/metrics`)).text();
    expect(metrics).toContain('gatehouse_queue_depth');
    expect(metrics).toContain('gatehouse_deliveries_total');
    expect(metrics).not.toContain('gatehouse_delivery_backlog');
  });
});
