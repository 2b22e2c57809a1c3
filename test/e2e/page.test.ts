/**
 * The read-only page end to end: intakes sent through the real server (signed GitHub deliveries,
 * GitHub's REST API intercepted with nock), clocks, release decisions and an exception stored by
 * the stores the bot uses, then `GET /` rendered in headless Chromium (Debian's /usr/bin/chromium
 * driven by playwright-core; no browser is downloaded). A screenshot goes to test-output/page.png.
 */
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nock from 'nock';
import { chromium, type Browser } from 'playwright-core';
import { startGatehouse, type Gatehouse } from '../../src/main.ts';
import { PAGE_AUDIT_KEY } from '../../src/server/page.ts';
import type { ClockState } from '../../src/core/outage/clocks.ts';
import { intakeBody } from '../builders/intake.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../support/github.ts';
import { GITHUB_API as API, GITHUB_SECRET as SECRET, processed, testConfig } from '../support/harness.ts';
import { freshDataDir } from '../storage/fixture.ts';

const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'page-token-for-tests';
const REPO = '/repos/Codertocat/Hello-World';
const HOSTILE = '<img src=x onerror="window.pwned=1">';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`SKIPPED test/e2e/page.test.ts: ${CHROMIUM} is absent (apt-get install -y chromium)`);

let gatehouse: Gatehouse;
let browser: Browser;

const hours = (n: number): Date => new Date(Date.now() + n * 3_600_000);
const clock = (o: Partial<ClockState>): ClockState => ({
  kind: 'slo',
  criticality: 'high',
  targetMinutes: 480,
  openedAt: hours(-30),
  consumedMinutes: 0,
  runningSince: hours(-2),
  stopped: false,
  warnAt: null,
  dueAt: null,
  warnedAt: null,
  breachedAt: null,
  tool: 'scanner',
  ...o,
});

async function sendIntake(n: number, answers: Parameters<typeof intakeBody>[0]): Promise<void> {
  // What the intake workflows read and write is theirs to test; here the issue answers as GitHub
  // would (the delivered issue, no comments yet) and every write of it is accepted.
  const payload = issuesPayload({ number: n, body: intakeBody(answers) });
  const d = githubDelivery({ name: 'issues', secret: SECRET, payload });
  const path = new RegExp(`^${REPO}/issues/${n}(/[a-z]+)?(\\?.*)?$`);
  nock(API)
    .persist()
    .get(path)
    .reply(200, (uri) => (/\/comments/.test(uri) ? [] : payload['issue']));
  nock(API)
    .persist()
    .post(path)
    .reply(201, (uri) => (/\/labels/.test(uri) ? [] : { id: 100 + n, body: 'x', user: { login: 'gatehouse[bot]', type: 'Bot' } }));
  nock(API)
    .persist()
    .patch(path)
    .reply(200, (uri) => (/\/comments/.test(uri) ? { id: 100 + n, body: 'x' } : payload['issue']));
  const res = await fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body });
  expect(res.status).toBe(200);
  const status = await processed(gatehouse, 'github', d.id);
  expect(status, (await gatehouse.store.getDelivery('github', d.id))?.lastError ?? '').toBe('done');
}

describe.skipIf(!haveChromium)('the web page in headless Chromium', () => {
  beforeAll(async () => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1/);
    gatehouse = await startGatehouse({
      config: {
        ...testConfig({
          dataDir: await freshDataDir(),
          github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: API },
        }),
        pageToken: TOKEN,
      },
      queue: { pollIntervalMs: 200, retryDelaySeconds: 1, retryBackoff: false },
      github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false },
      clockTickMs: 0,
    });
    nock(API)
      .post('/app/installations/1/access_tokens')
      .reply(201, { token: 'ghs_test', expires_at: '2099-01-01T00:00:00Z', permissions: {}, repository_selection: 'all' });
    nock(API).get(`${REPO}/contents/.github%2Fgatehouse.yml`).reply(404, { message: 'Not Found' });
    await sendIntake(1, { service: 'payments-api', exposure: 'new public endpoint', service_line: 'Secure design / architecture review' });
    await sendIntake(2, { service: 'docs-site', golden_path: 'yes', service_line: 'Platform standards and golden paths' });
    await sendIntake(3, { service: HOSTILE, data_sensitivity: 'restricted' });
    await sendIntake(4, { service: 'ledger', blast_radius: 'multiple products or trust domains' });

    const ref = (n: number) => ({
      repo: { platform: 'github' as const, fullName: 'acme/scanner', id: null, defaultBranch: 'main' },
      number: n,
    });
    await gatehouse.store.saveClocks({
      issueKey: 'github:acme/scanner#11',
      target: ref(11),
      installationId: 1,
      clocks: [clock({ warnAt: hours(-1), warnedAt: hours(-1), dueAt: hours(3) })],
      nextFireAt: hours(3),
    });
    await gatehouse.store.saveClocks({
      issueKey: 'github:acme/scanner#12',
      target: ref(12),
      installationId: 1,
      clocks: [clock({ criticality: 'critical', dueAt: hours(-4), breachedAt: hours(-4) }), clock({ kind: 'rto', stopped: true })],
      nextFireAt: null,
    });
    for (const [i, verdict, cls, summary] of [
      [7, 'pass', 'prod', 'Everything the class requires is in place'],
      [8, 'block', 'high-risk', 'Open critical finding: SQL injection in /payments'],
      [9, 'warn', 'prod', 'Open high finding: reflected XSS'],
    ] as const) {
      await gatehouse.gateStore.recordGateDecision({
        key: `github:acme/app!${i}`,
        headSha: 'a'.repeat(40),
        releaseClass: cls,
        verdict,
        reasons: [
          {
            rule: verdict === 'block' ? 'finding-blocking' : 'finding-warning',
            severity: verdict === 'pass' ? 'info' : verdict,
            summary,
            evidence: [],
            subject: 'code-scanning:1',
          },
        ],
        inputs: {},
        policyHash: 'c'.repeat(64),
        decidedAt: hours(-10 + i),
        deliveryId: null,
      });
    }
    await gatehouse.gateStore.saveException({
      id: 'github:acme/app#40',
      findingRef: 'js/sql-injection',
      category: 'sast',
      scope: { repo: 'github:acme/app', paths: [] },
      compensatingControls: 'WAF rule',
      businessOwner: '@owner',
      requestedBy: '@dev',
      requestedAt: hours(-24 * 20),
      expiresAt: hours(24 * 5),
      status: 'approved',
      approvedBy: '@ciso',
      approvedAt: hours(-24 * 19),
      approvedDigest: null,
      renewalOf: null,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gatehouse?.close();
    nock.cleanAll();
    nock.enableNetConnect();
  });

  it('refuses a request without access (403, one line)', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Basic ${TOKEN}` }] as Record<string, string>[]) {
      const res = await fetch(`${gatehouse.url}/`, { headers });
      expect(res.status).toBe(403);
      const text = await res.text();
      expect(text.trim().split('\n')).toHaveLength(1);
      expect(text).toMatch(/^forbidden: /);
    }
    const page = await browser.newPage();
    const res = await page.goto(`${gatehouse.url}/`);
    expect(res?.status()).toBe(403);
    await page.close();
  });

  it('renders every section with the stored data, user text escaped, and saves a screenshot', async () => {
    const bearer = await fetch(`${gatehouse.url}/`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(bearer.headers.get('content-security-policy')).toContain("default-src 'none'");

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` } });
    const res = await page.goto(`${gatehouse.url}/`);
    expect(res?.status()).toBe(200);
    for (const id of ['queue', 'oldest', 'clocks', 'exceptions', 'verdicts', 'slo-chart', 'volume-chart']) {
      expect(await page.locator(`section#${id}`).isVisible(), id).toBe(true);
    }
    const text = (id: string): Promise<string> => page.locator(`section#${id}`).innerText();
    expect(await text('queue')).toMatch(/4 open/);
    expect(await text('queue')).toMatch(/Tier 2 · deep review/);
    expect(await text('oldest')).toContain('payments-api');
    expect(await text('oldest')).toContain('Secure design / architecture review');
    expect(await text('oldest')).toContain('unspecified');
    expect(await text('clocks')).toContain('1 at risk, 1 breached');
    expect(await text('clocks')).toContain('github:acme/scanner#12');
    expect(await text('exceptions')).toContain('github:acme/app#40');
    expect(await text('verdicts')).toContain('Open critical finding: SQL injection in /payments');
    expect(await page.locator('section#verdicts .pill.v-block').count()).toBe(1);
    expect(await page.locator('section#volume-chart svg rect.bar').count()).toBe(12);
    expect(await page.locator('section#slo-chart svg text.v').allTextContents()).toContain('50%');
    // The hostile service name is text, not markup.
    expect(await text('oldest')).toContain(HOSTILE);
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();

    mkdirSync('test-output', { recursive: true });
    await page.screenshot({ path: 'test-output/page.png', fullPage: true });
    await page.close();
  });
});

/** GET / from a chosen local address (any 127.x.y.z reaches a server on 127.0.0.1 on Linux). */
function getFrom(url: string, localAddress: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers, localAddress }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

function headerPolicy(): string {
  const policyPath = join(mkdtempSync(join(tmpdir(), 'gatehouse-page-')), 'policy.yml');
  writeFileSync(policyPath, 'page:\n  access: header\n  header: X-Forwarded-User\n');
  return policyPath;
}

describe('the web page by reverse-proxy header', () => {
  it('believes the header only from a trusted proxy address; from any other peer it is refused and audited with the address', async () => {
    const g = await startGatehouse({
      config: { ...testConfig({ dataDir: await freshDataDir(), policyPath: headerPolicy() }), trustedProxies: ['127.0.0.1'] },
      clockTickMs: 0,
    });
    try {
      const refused = await getFrom(`${g.url}/`, '127.0.0.1');
      expect(refused.status).toBe(403);
      expect(refused.text).toContain('X-Forwarded-User');
      const ok = await getFrom(`${g.url}/`, '127.0.0.1', { 'x-forwarded-user': 'alice' });
      expect(ok.status).toBe(200);
      expect(ok.text).toContain('Queue by tier and age');

      // The attacker reaches the port directly (not through the proxy) and names a user.
      const forged = await getFrom(`${g.url}/`, '127.0.0.2', { 'x-forwarded-user': 'ciso' });
      expect(forged.status).toBe(403);
      expect(forged.text.trim().split('\n')).toHaveLength(1);
      expect(forged.text).toMatch(/^forbidden: 127\.0\.0\.2 is not a trusted reverse proxy/);
      expect(forged.text).not.toContain('Queue by tier and age');
      const audit = await g.store.auditFor(PAGE_AUDIT_KEY);
      expect(audit).toEqual([
        expect.objectContaining({
          action: 'page.read',
          outcome: 'skipped',
          detail: { peer: '127.0.0.2', claimed: 'X-Forwarded-User: ciso' },
        }),
      ]);
    } finally {
      await g.close();
    }
  });

  it('with no trusted proxy configured, refuses even a request that carries the header', async () => {
    const g = await startGatehouse({ config: testConfig({ dataDir: await freshDataDir(), policyPath: headerPolicy() }), clockTickMs: 0 });
    try {
      const res = await fetch(`${g.url}/`, { headers: { 'x-forwarded-user': 'alice' } });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('GATEHOUSE_TRUSTED_PROXIES');
    } finally {
      await g.close();
    }
  });
});

describe('the web page by token', () => {
  it('takes the token only as Authorization: Bearer; ?token= is refused with a message naming the header, and audited', async () => {
    const g = await startGatehouse({ config: { ...testConfig({ dataDir: await freshDataDir() }), pageToken: TOKEN }, clockTickMs: 0 });
    try {
      const query = await fetch(`${g.url}/?token=${TOKEN}`);
      expect(query.status).toBe(403);
      expect(await query.text()).toBe(
        'forbidden: the page token is not accepted in the URL (?token=); send it as Authorization: Bearer <token>\n',
      );
      // Not even together with a good bearer token: the URL has leaked it already.
      const both = await fetch(`${g.url}/?token=${TOKEN}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(both.status).toBe(403);
      const bearer = await fetch(`${g.url}/`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(bearer.status).toBe(200);
      expect(await bearer.text()).toContain('Queue by tier and age');
      const audit = await g.store.auditFor(PAGE_AUDIT_KEY);
      expect(audit).toEqual([
        expect.objectContaining({ action: 'page.read', outcome: 'skipped', detail: { peer: '127.0.0.1', claimed: 'token in the URL' } }),
      ]);
    } finally {
      await g.close();
    }
  });
});
