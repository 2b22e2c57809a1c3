/**
 * Installation tokens through the GitHub ingress's clients (nock for GitHub): one token request
 * per installation for every client of the process until shortly before GitHub's `expires_at`,
 * and a token request that fails is tried twice at most before GitHub counts as unreachable and
 * the next requests fail at once, without a request.
 */
import nock from 'nock';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGitHubIngress, type GitHubIngress } from '../../src/adapters/github/app.ts';
import { TOKEN_EXPIRY_MARGIN_MS } from '../../src/adapters/github/installation-tokens.ts';
import { createMetrics } from '../../src/server/metrics.ts';
import { testPrivateKey } from '../support/github.ts';
import { recordingInbox } from '../support/ingress.ts';

const API = 'https://api.github.com';
const REPO = { platform: 'github' as const, fullName: 'octo/widgets', id: 1, defaultBranch: 'main' };
const FILE = '/repos/octo/widgets/contents/README.md';

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

let clock = Date.parse('2030-01-01T00:00:00Z');

async function ingress(): Promise<GitHubIngress> {
  return createGitHubIngress({
    config: { appId: '1', privateKey: testPrivateKey(), webhookSecret: 's', apiBaseUrl: API },
    inbox: recordingInbox(),
    metrics: createMetrics(),
    logger: pino({ level: 'silent' }),
    now: () => new Date(clock),
    wallClock: () => clock,
    botLogin: 'gatehouse[bot]',
    throttle: false,
  });
}

const tokenReply = (token: string, expiresAt: number) => ({
  token,
  expires_at: new Date(expiresAt).toISOString(),
  permissions: { issues: 'write' },
  repository_selection: 'all',
});

describe('installation tokens', () => {
  it('one token request for many calls of one installation from separate clients, a new one only near expires_at', async () => {
    clock = Date.parse('2030-01-01T00:00:00Z');
    const gh = await ingress();
    const expiresAt = clock + 60 * 60_000;
    const first = nock(API).post('/app/installations/7/access_tokens').once().reply(201, tokenReply('ghs_one', expiresAt));
    const reads = nock(API).get(FILE).matchHeader('authorization', 'token ghs_one').times(6).reply(404, { message: 'Not Found' });
    // Six jobs, each with its own client of installation 7 (as `forgeFor` gives every job).
    for (let i = 0; i < 3; i++) expect(await (await gh.platform.forgeFor(7)).readFile(REPO, 'README.md')).toBeNull();
    await Promise.all([0, 1, 2].map(async () => expect(await (await gh.platform.forgeFor(7)).readFile(REPO, 'README.md')).toBeNull()));
    expect(first.isDone()).toBe(true);
    expect(reads.isDone()).toBe(true); // a second token request would have found no answer: calls fail

    // Still well before expiry: the same token.
    clock = expiresAt - TOKEN_EXPIRY_MARGIN_MS - 1000;
    nock(API).get(FILE).matchHeader('authorization', 'token ghs_one').reply(404, { message: 'Not Found' });
    expect(await (await gh.platform.forgeFor(7)).readFile(REPO, 'README.md')).toBeNull();

    // Within the margin before GitHub's expires_at: a new token, once.
    clock = expiresAt - TOKEN_EXPIRY_MARGIN_MS + 1000;
    nock(API)
      .post('/app/installations/7/access_tokens')
      .once()
      .reply(201, tokenReply('ghs_two', clock + 60 * 60_000));
    nock(API).get(FILE).matchHeader('authorization', 'token ghs_two').times(2).reply(404, { message: 'Not Found' });
    expect(await (await gh.platform.forgeFor(7)).readFile(REPO, 'README.md')).toBeNull();
    expect(await (await gh.platform.forgeFor(7)).readFile(REPO, 'README.md')).toBeNull();
  });

  it('a token GitHub issued for ten minutes is not used after it expired', async () => {
    clock = Date.parse('2030-01-01T00:00:00Z');
    const gh = await ingress();
    nock(API)
      .post('/app/installations/8/access_tokens')
      .reply(201, tokenReply('ghs_short', clock + 10 * 60_000));
    nock(API).get(FILE).matchHeader('authorization', 'token ghs_short').reply(404, { message: 'Not Found' });
    expect(await (await gh.platform.forgeFor(8)).readFile(REPO, 'README.md')).toBeNull();
    clock += 10 * 60_000;
    nock(API)
      .post('/app/installations/8/access_tokens')
      .reply(201, tokenReply('ghs_next', clock + 60 * 60_000));
    nock(API).get(FILE).matchHeader('authorization', 'token ghs_next').reply(404, { message: 'Not Found' });
    expect(await (await gh.platform.forgeFor(8)).readFile(REPO, 'README.md')).toBeNull();
  });

  it('a failing token request is tried twice in all; then GitHub counts as unreachable and calls fail at once until the cool-down ends', async () => {
    clock = Date.parse('2030-01-01T00:00:00Z');
    const gh = await ingress();
    const refused = nock(API).post('/app/installations/9/access_tokens').times(2).reply(503, { message: 'Service Unavailable' });
    await expect((await gh.platform.forgeFor(9)).readFile(REPO, 'README.md')).rejects.toThrow();
    expect(refused.isDone()).toBe(true);
    expect(gh.circuit.refusing).toBe(true);
    // Another job: no request at all (nock refuses any), a clear reason.
    const t0 = performance.now();
    await expect((await gh.platform.forgeFor(9)).readFile(REPO, 'README.md')).rejects.toThrow(
      /^GitHub unreachable since 2030-01-01T00:00:00.000Z \(503 Service Unavailable to POST \/app\/installations\/9\/access_tokens\): waiting until 2030-01-01T00:00:30.000Z/,
    );
    expect(performance.now() - t0).toBeLessThan(500);

    // After the cool-down one request goes through; its answer closes the circuit.
    clock += gh.circuit.limits.cooldownMs;
    nock(API)
      .post('/app/installations/9/access_tokens')
      .reply(201, tokenReply('ghs_back', clock + 60 * 60_000));
    nock(API).get(FILE).twice().reply(404, { message: 'Not Found' });
    expect(await (await gh.platform.forgeFor(9)).readFile(REPO, 'README.md')).toBeNull();
    expect(gh.circuit.refusing).toBe(false);
    expect(await (await gh.platform.forgeFor(9)).readFile(REPO, 'README.md')).toBeNull();
  });
});
