/**
 * How the worker's GitHub client waits and retries. Probot's Octokit carries the retry and
 * throttling plugins, but as Probot builds it:
 *
 * - its own throttle options replace the ones given to `ProbotOctokit.defaults({...})`: a
 *   secondary rate limit was never retried, and an exhausted quota was retried after waiting for
 *   `x-ratelimit-reset` however far away (an hour holding a worker slot);
 * - the retry plugin retries a 429 after 1, 4, 9 s whatever `retry-after` says;
 * - a request has no timeout: an API that hangs holds the job until the queue abandons it.
 *
 * Here: a rate limit (secondary or primary, 403 or 429) is waited out inside the attempt when
 * GitHub asks for at most `maxWaitSeconds`, up to `rateLimitRetries` times; a longer wait fails
 * the attempt at once with GitHub's message, and the job queue retries later with backoff. A bare
 * 429 obeys `retry-after` the same way. 5xx and network errors keep the retry plugin's backoff
 * (`retries` times). Every request, the token exchange included, times out after
 * `requestTimeoutMs`.
 */
import { ProbotOctokit } from 'probot';

export interface GitHubClientPolicy {
  /** Retries of a 5xx or network error inside one attempt (the queue retries the job too). */
  retries: number;
  /** GitHub's write pacing (~1 s between content-creating requests). */
  throttle: boolean;
  /** The longest wait a rate limit may ask for and still be slept through inside an attempt. */
  maxWaitSeconds: number;
  /** Rate-limit waits per request inside one attempt. */
  rateLimitRetries: number;
  /** The wait after a secondary rate limit without `retry-after` (GitHub: at least a minute). */
  secondaryRetryAfterSeconds: number;
  /** Per-request timeout. */
  requestTimeoutMs: number;
}

export const defaultGitHubClientPolicy: GitHubClientPolicy = {
  retries: 2,
  throttle: true,
  maxWaitSeconds: 60,
  rateLimitRetries: 2,
  secondaryRetryAfterSeconds: 60,
  requestTimeoutMs: 30_000,
};

type Fetch = typeof globalThis.fetch;

/** `fetch` with a timeout per call; a timeout is reported as such, with the request named. */
export function fetchWithTimeout(timeoutMs: number, base: Fetch = (input, init) => globalThis.fetch(input, init)): Fetch {
  return async (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      return await base(input, { ...init, signal });
    } catch (err) {
      if (timeout.aborted && !init?.signal?.aborted) {
        const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
        throw new Error(`GitHub did not answer ${init?.method ?? 'GET'} ${new URL(url).pathname} within ${timeoutMs} ms`, { cause: err });
      }
      throw err;
    }
  };
}

/** Seconds to wait from a `retry-after` header (seconds or an HTTP date), or null. */
export function retryAfterSeconds(value: string | undefined, nowMs: number): number | null {
  const v = value?.trim();
  if (!v) return null;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, (at - nowMs) / 1000);
}

interface Logged {
  log: { warn: (msg: string) => void };
}
interface RequestOptionsLike {
  method: string;
  url: string;
  request?: { retryCount?: number };
}
interface ErrorLike {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | number | undefined> };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True for the limits the throttling plugin handles itself (secondary, or quota exhausted). */
const throttlingHandles = (e: ErrorLike): boolean => /\bsecondary rate\b/i.test(e.message ?? '') || String(e.response?.headers?.['x-ratelimit-remaining'] ?? '') === '0';

/** An Octokit plugin: a 429 the throttling plugin leaves alone obeys `retry-after`, within the cap. */
function obeyRetryAfter(policy: GitHubClientPolicy) {
  return (octokit: { hook: { wrap: (name: 'request', fn: (request: (o: RequestOptionsLike) => Promise<unknown>, o: RequestOptionsLike) => Promise<unknown>) => void } } & Partial<Logged>): Record<string, never> => {
    octokit.hook.wrap('request', async (request, options) => {
      for (let retry = 0; ; retry++) {
        try {
          return await request(options);
        } catch (err) {
          const e = err as ErrorLike;
          if (e.status !== 429 || throttlingHandles(e) || retry >= policy.rateLimitRetries) throw err;
          const wait = retryAfterSeconds(String(e.response?.headers?.['retry-after'] ?? ''), Date.now()) ?? (retry + 1) ** 2;
          if (wait > policy.maxWaitSeconds) throw err;
          octokit.log?.warn(`GitHub answered 429 to ${options.method} ${options.url}; retrying in ${wait} s`);
          const until = Date.now() + wait * 1000;
          await sleep(wait * 1000);
          // Timers may fire a millisecond early: never retry before retry-after has passed.
          if (until - Date.now() > 0) await sleep(until - Date.now());
        }
      }
    });
    return {};
  };
}

/** Probot's Octokit with the waits, caps and timeouts above. Pass `request` to `new Probot` too. */
export function githubOctokit(policy: GitHubClientPolicy): typeof ProbotOctokit {
  const withinCap = (kind: string) => (retryAfter: number, options: RequestOptionsLike, octokit: Logged, retryCount: number): boolean => {
    const retry = retryAfter <= policy.maxWaitSeconds && retryCount < policy.rateLimitRetries;
    octokit.log.warn(`${kind} on ${options.method} ${options.url}: GitHub asks to wait ${retryAfter} s; ${retry ? 'waiting' : 'giving up this attempt (the queue retries later)'}`);
    return retry;
  };
  const throttle = {
    enabled: policy.throttle,
    fallbackSecondaryRateRetryAfter: policy.secondaryRetryAfterSeconds,
    onRateLimit: withinCap('GitHub rate limit'),
    onSecondaryRateLimit: withinCap('GitHub secondary rate limit'),
  };
  // 429 is left to the throttling plugin (rate limits) and to obeyRetryAfter (the rest).
  const retry = { retries: policy.retries, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] };
  // A function: Probot passes its own throttle options when it builds a client, and these must win.
  return ProbotOctokit.plugin(obeyRetryAfter(policy) as never).defaults((options: Record<string, unknown>) => ({
    ...options,
    retry,
    throttle: { ...(options['throttle'] as object | undefined), ...throttle },
  })) as unknown as typeof ProbotOctokit;
}
