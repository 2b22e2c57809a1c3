/**
 * A Gatehouse on loopback for end-to-end tests: real server, real embedded database; on GitHub's or
 * GitLab's stand-in (nock) when a test needs one, the network closed but for loopback.
 */
import nock from 'nock';
import { afterAll, beforeAll } from 'vitest';
import type { Config } from '../../src/config/env.ts';
import { startGatehouse, type Gatehouse, type StartOptions } from '../../src/main.ts';
import type { Platform } from '../../src/core/model.ts';
import { freshDataDir } from '../storage/fixture.ts';
import { fakeGitHubIssues, type FakeGitHubIssues } from './fake-github-issues.ts';
import { testPrivateKey } from './github.ts';
import { fakeGitLabApi, GITLAB_BOT, GITLAB_SECRET, GITLAB_URL, type FakeGitLabApi } from './gitlab.ts';

export const GITHUB_SECRET = 'webhook-secret-for-tests';
export const GITHUB_API = 'https://api.github.com';

export function testConfig({
  dataDir,
  github = null,
  gitlab = null,
  slack = null,
  policyPath,
  databaseUrl,
}: Partial<Pick<Config, 'github' | 'gitlab' | 'slack' | 'policyPath' | 'databaseUrl'>> & { dataDir: string }): Config {
  return {
    port: 0,
    host: '127.0.0.1',
    databaseUrl,
    dataDir,
    policyPath,
    logLevel: 'silent',
    github,
    gitlab,
    slack,
    off: {
      ...(github ? {} : { github: 'GitHub is off' }),
      ...(gitlab ? {} : { gitlab: 'GitLab is off' }),
      ...(slack ? {} : { slack: 'Slack is off' }),
    },
  };
}

/** Starts Gatehouse on a fresh embedded database with fast queue settings. */
export async function startTestGatehouse(
  config: Omit<Parameters<typeof testConfig>[0], 'dataDir'>,
  extra: Partial<StartOptions> = {},
): Promise<Gatehouse> {
  return startGatehouse({
    config: testConfig({ ...config, dataDir: await freshDataDir() }),
    queue: { pollIntervalMs: 200, retryDelaySeconds: 1, retryBackoff: false },
    // The digests follow the calendar: a test run on a Monday morning would see one. Tests of them tick it.
    digests: false,
    // Nor the missed-delivery sweep, which would ask every test's GitHub for the App's deliveries at start.
    sweepMs: 0,
    ...extra,
  });
}

/** Waits until the worker has handled a delivery; returns its final status. */
export async function processed(gatehouse: Gatehouse, platform: Platform, id: string, timeoutMs = 15_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const d = await gatehouse.store.getDelivery(platform, id);
    if (d && d.status !== 'pending') return d.status;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`delivery ${id} was not processed within ${timeoutMs} ms`);
}

/** Registers the file's hooks: no network but loopback (the server) while its tests run; the stand-ins answer the rest. */
export function loopbackOnly(): void {
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect(/127\.0\.0\.1/);
  });
  afterAll(() => nock.enableNetConnect());
}

/**
 * A Gatehouse on a platform's stand-in, made anew at each `start()`. `fake` is always the current
 * stand-in (reading it before the first start throws), so a test's helpers can hold it once;
 * `stop()` ends the stand-in and returns the requests to the platform that nothing answered. Close
 * the Gatehouse before `stop()`.
 */
export interface OnStandIn<Fake> {
  readonly fake: Fake;
  start: () => Promise<Gatehouse>;
  stop: () => string[];
}

function onStandIn<Fake extends { unmatched: string[]; stop(): void }>(
  host: string,
  make: () => Fake,
  start: () => Promise<Gatehouse>,
): OnStandIn<Fake> {
  let current: Fake | null = null;
  const now = (): Fake => {
    if (!current) throw new Error(`the ${host} stand-in is read before start()`);
    return current;
  };
  return {
    fake: new Proxy({} as Fake, { get: (_target, field): unknown => Reflect.get(now(), field) as unknown }),
    start: () => {
      current = make();
      return start();
    },
    stop: () => {
      const unmatched = now().unmatched.filter((r) => r.includes(host));
      now().stop();
      return unmatched;
    },
  };
}

/** Gatehouse as a GitHub App (`gatehouse[bot]`, no retries, no write spacing) on GitHub's issues stand-in; `extra` over that. */
export function onGitHubIssues(
  { policyPath }: { policyPath?: string } = {},
  extra: Partial<StartOptions> = {},
): OnStandIn<FakeGitHubIssues> {
  return onStandIn(new URL(GITHUB_API).host, fakeGitHubIssues, () =>
    startTestGatehouse(
      { github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: GITHUB_SECRET, apiBaseUrl: GITHUB_API }, policyPath },
      { ...extra, github: { botLogin: 'gatehouse[bot]', retries: 0, throttle: false, ...extra.github } },
    ),
  );
}

/** Gatehouse on GitLab (its bot user, retries 10 ms apart) on GitLab's stand-in; `extra` over that. */
export function onGitLab({ policyPath }: { policyPath?: string } = {}, extra: Partial<StartOptions> = {}): OnStandIn<FakeGitLabApi> {
  return onStandIn(new URL(GITLAB_URL).host, fakeGitLabApi, () =>
    startTestGatehouse(
      { gitlab: { url: GITLAB_URL, token: 'glpat-test', webhookSecret: GITLAB_SECRET }, policyPath },
      { ...extra, gitlab: { botUsername: GITLAB_BOT, retry: { backoffMs: () => 10 }, ...extra.gitlab } },
    ),
  );
}
