/** A Gatehouse on loopback for end-to-end tests: real server, real embedded database. */
import type { Config } from '../../src/config/env.ts';
import { startGatehouse, type Gatehouse, type StartOptions } from '../../src/main.ts';
import type { Platform } from '../../src/core/model.ts';
import { freshDataDir } from '../storage/fixture.ts';

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
