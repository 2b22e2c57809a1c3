/**
 * How long a delivery can take to reach the dead letters (`failed`) while GitHub or GitLab is
 * unreachable, with the production defaults, computed from the settings themselves:
 *
 *   attempts · worst attempt + worst total wait between attempts + attempts · poll interval
 *
 * The worst attempt is `failures` requests that time out (after them the circuit refuses every
 * request at once), with the backoff of one retry between them; once the circuit is open an
 * attempt fails in milliseconds, but the bound does not count on it. Waiting for a free worker
 * slot comes on top (milliseconds per refused attempt, shared by 16 slots).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { defaultCircuitLimits } from '../../src/adapters/circuit.ts';
import { defaultGitHubClientPolicy, serverErrorBackoffMs, type GitHubClientPolicy } from '../../src/adapters/github/client-policy.ts';
import { defaultRetryPolicy } from '../../src/adapters/gitlab/requester.ts';
import { defaultQueueOptions, retryDelaySeconds, type QueueOptions } from '../../src/storage/queue.ts';

/** The longest a job waits between its attempts in all (seconds): each retry's delay with the random factor at its top. */
function worstRetryWaitSeconds(o: Required<Pick<QueueOptions, 'retryLimit' | 'retryDelaySeconds' | 'retryBackoff'>>): number {
  vi.spyOn(Math, 'random').mockReturnValue(1);
  let total = 0;
  for (let n = 1; n <= o.retryLimit; n++) total += retryDelaySeconds(o, n);
  vi.restoreAllMocks();
  return total;
}

/**
 * The longest an attempt spends on GitHub requests that fail: `failures` of them (then the circuit
 * opens and the rest fail at once), each up to the request timeout, with the client's backoffs
 * between the retries of one request.
 */
function worstOutageAttemptMs(policy: Pick<GitHubClientPolicy, 'retries' | 'requestTimeoutMs'>, failures: number): number {
  let backoff = 0;
  for (let n = 1; n <= Math.min(policy.retries, failures - 1); n++) backoff += serverErrorBackoffMs(n);
  return failures * policy.requestTimeoutMs + backoff;
}

afterEach(() => vi.restoreAllMocks());

describe('dead letter in bounded time during an outage (production defaults)', () => {
  it('queue backoff: the n-th retry waits at most delay·2^n', () => {
    expect(worstRetryWaitSeconds({ retryLimit: 5, retryDelaySeconds: 2, retryBackoff: true })).toBe(4 + 8 + 16 + 32 + 64);
    expect(worstRetryWaitSeconds({ retryLimit: 2, retryDelaySeconds: 1, retryBackoff: false })).toBe(2);
  });

  it('a GitHub attempt during an outage: two requests that time out and one retry backoff', () => {
    expect(defaultGitHubClientPolicy.retries).toBe(1);
    expect(defaultCircuitLimits.failures).toBe(2);
    expect(worstOutageAttemptMs(defaultGitHubClientPolicy, defaultCircuitLimits.failures)).toBe(2 * 30_000 + 1_000);
  });

  it('a delivery reaches failed within 8.3 minutes (at most 15)', () => {
    const attempts = defaultQueueOptions.retryLimit + 1;
    const github = worstOutageAttemptMs(defaultGitHubClientPolicy, defaultCircuitLimits.failures);
    // GitLab: the same two failed requests, with the requester's first backoff between them.
    const gitlab = defaultCircuitLimits.failures * defaultRetryPolicy.timeoutMs + defaultRetryPolicy.backoffMs(1);
    // Waiting for the bot's own account (30 s) is shorter than either.
    const attemptMs = Math.max(github, gitlab, 30_000);
    const boundMs =
      attempts * attemptMs + worstRetryWaitSeconds(defaultQueueOptions) * 1000 + attempts * defaultQueueOptions.pollIntervalMs;
    expect({ attempts, attemptMs, waitsMs: worstRetryWaitSeconds(defaultQueueOptions) * 1000, boundMs }).toEqual({
      attempts: 6,
      attemptMs: 61_000,
      waitsMs: 124_000,
      boundMs: 496_000,
    });
    expect(boundMs).toBeLessThanOrEqual(15 * 60_000);
  });
});
