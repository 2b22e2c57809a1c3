/**
 * GitLab's requester through the outage circuit (nock for GitLab): two failed requests in a row
 * stop the retries and refuse the next requests without sending them, with the reason; after the
 * cool-down one request probes and its answer lets everything through again.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PlatformCircuit } from '../../src/adapters/circuit.ts';
import { createGitLabApi } from '../../src/adapters/gitlab/client.ts';

const URL_ = 'https://gitlab.example.com';
beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());
afterEach(() => {
  expect(nock.pendingMocks()).toEqual([]);
  nock.cleanAll();
});

describe('GitLab requester and the circuit', () => {
  it('opens after two failures, refuses without a request, and closes on the probe’s answer', async () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const circuit = new PlatformCircuit('GitLab', { failures: 2, cooldownMs: 30_000 }, () => now);
    const api = createGitLabApi({ url: URL_, token: 't', retry: { attempts: 4, backoffMs: () => 1 }, circuit });
    // Four attempts allowed, but the circuit opens after the second 502: no third request.
    nock(URL_).get('/api/v4/user').times(2).reply(502, 'Bad Gateway');
    await expect(api.users.showCurrentUser()).rejects.toThrow();
    expect(circuit.refusing).toBe(true);
    await expect(api.users.showCurrentUser()).rejects.toThrow(
      /^GitLab unreachable since 2030-01-01T00:00:00.000Z \(502 Bad Gateway to GET \/api\/v4\/user\): waiting until 2030-01-01T00:00:30.000Z before trying again$/,
    );

    now += 30_000;
    nock(URL_).get('/api/v4/user').times(2).reply(200, { id: 1, username: 'gatehouse-bot' });
    expect(await api.users.showCurrentUser()).toMatchObject({ username: 'gatehouse-bot' });
    expect(circuit.refusing).toBe(false);
    expect(await api.users.showCurrentUser()).toMatchObject({ username: 'gatehouse-bot' });
  });
});
