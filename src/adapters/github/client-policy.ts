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
 * 429 obeys `retry-after` the same way. A 5xx or network error is retried `retries` times (1 s,
 * then 4 s, …), here rather than by the retry plugin, and not at all while the platform's circuit
 * refuses requests (see ../circuit.ts): an attempt during an outage fails in milliseconds instead
 * of waiting out timeouts and retries, and the job queue retries it later. Every request, the
 * token exchange included, times out after `requestTimeoutMs` and passes through the circuit.
 * Installation tokens are kept per installation until shortly before they expire
 * (./installation-tokens.ts), shared by all clients of the process.
 */
import { ProbotOctokit } from 'probot';
import { PlatformUnreachable, type PlatformCircuit } from '../circuit.ts';
import type { InstallationTokens } from './installation-tokens.ts';

export interface GitHubClientPolicy {
  /**
   * Retries of a 5xx or network error inside one attempt (the queue retries the job too). A token
   * request that fails is retried as part of the request that needed it: at most this many times.
   */
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
  retries: 1,
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

/** The wait before the n-th retry (1-based) of a 5xx or network error: 1 s, 4 s, 9 s… */
export const serverErrorBackoffMs = (retry: number): number => retry * retry * 1000;

/**
 * The longest an attempt spends on GitHub requests that fail while GitHub is unreachable or
 * answering 5xx: `failures` of them (then the circuit opens and the rest fail at once), each up
 * to the request timeout, with the backoffs between the retries of one request.
 */
export function worstOutageAttemptMs(policy: Pick<GitHubClientPolicy, 'retries' | 'requestTimeoutMs'>, failures: number): number {
  let backoff = 0;
  for (let n = 1; n <= Math.min(policy.retries, failures - 1); n++) backoff += serverErrorBackoffMs(n);
  return failures * policy.requestTimeoutMs + backoff;
}

/**
 * `fetch` through the platform's circuit: refused at once while it is open, and every outcome
 * recorded (no answer or a 5xx is a failure; any other answer closes it).
 */
export function fetchThroughCircuit(circuit: PlatformCircuit, base: Fetch): Fetch {
  return async (input, init) => {
    circuit.admit();
    let res: Response;
    try {
      res = await base(input, init);
    } catch (err) {
      if (init?.signal?.aborted) circuit.abandoned();
      else
        circuit.failed(
          err instanceof Error ? (err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message) : String(err),
        );
      throw err;
    }
    if (res.status >= 500) {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      circuit.failed(`${res.status} ${res.statusText} to ${init?.method ?? 'GET'} ${new URL(url).pathname}`.replace(/\s+/g, ' '));
    } else circuit.succeeded();
    return res;
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
  cause?: unknown;
  response?: { headers?: Record<string, string | number | undefined> };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** True for the limits the throttling plugin handles itself (secondary, or quota exhausted). */
const throttlingHandles = (e: ErrorLike): boolean =>
  /\bsecondary rate\b/i.test(e.message ?? '') || String(e.response?.headers?.['x-ratelimit-remaining'] ?? '') === '0';

/** A request refused by the circuit (the error from fetch, as @octokit/request wraps it). */
const refusedByCircuit = (e: ErrorLike): boolean => e instanceof PlatformUnreachable || e.cause instanceof PlatformUnreachable;

/**
 * An Octokit plugin, outside the others: a 429 the throttling plugin leaves alone obeys
 * `retry-after`, within the cap; a 5xx or network error is retried `retries` times unless the
 * circuit refuses requests by then.
 */
function obeyRetryAfter(policy: GitHubClientPolicy, circuit: PlatformCircuit | undefined) {
  return (
    octokit: {
      hook: {
        wrap: (
          name: 'request',
          fn: (request: (o: RequestOptionsLike) => Promise<unknown>, o: RequestOptionsLike) => Promise<unknown>,
        ) => void;
      };
    } & Partial<Logged>,
  ): Record<string, never> => {
    octokit.hook.wrap('request', async (request, options) => {
      let serverRetries = 0;
      for (let retry = 0; ;) {
        try {
          return await request(options);
        } catch (err) {
          const e = err as ErrorLike;
          if (e.status === undefined || e.status >= 500) {
            if (refusedByCircuit(e) || circuit?.refusing || serverRetries >= policy.retries) throw err;
            serverRetries += 1;
            const wait = serverErrorBackoffMs(serverRetries);
            octokit.log?.warn(`GitHub failed ${options.method} ${options.url} (${e.message ?? 'no answer'}); retrying in ${wait / 1000} s`);
            await sleep(wait);
            continue;
          }
          if (e.status !== 429 || throttlingHandles(e) || retry >= policy.rateLimitRetries) throw err;
          retry += 1;
          const wait = retryAfterSeconds(String(e.response?.headers?.['retry-after'] ?? ''), Date.now()) ?? retry ** 2;
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

/** What the clients of one process share: the circuit and the installation tokens. */
export interface GitHubClientShared {
  circuit?: PlatformCircuit;
  tokens?: InstallationTokens;
}

/** Probot's Octokit with the waits, caps and timeouts above. Pass `request` to `new Probot` too. */
export function githubOctokit(policy: GitHubClientPolicy, shared: GitHubClientShared = {}): typeof ProbotOctokit {
  const withinCap =
    (kind: string) =>
    (retryAfter: number, options: RequestOptionsLike, octokit: Logged, retryCount: number): boolean => {
      const retry = retryAfter <= policy.maxWaitSeconds && retryCount < policy.rateLimitRetries;
      octokit.log.warn(
        `${kind} on ${options.method} ${options.url}: GitHub asks to wait ${retryAfter} s; ${retry ? 'waiting' : 'giving up this attempt (the queue retries later)'}`,
      );
      return retry;
    };
  const throttle = {
    enabled: policy.throttle,
    fallbackSecondaryRateRetryAfter: policy.secondaryRetryAfterSeconds,
    onRateLimit: withinCap('GitHub rate limit'),
    onSecondaryRateLimit: withinCap('GitHub secondary rate limit'),
  };
  // The retry plugin retries nothing: 429 is left to the throttling plugin (rate limits) and to
  // obeyRetryAfter (the rest, and 5xx and network errors, which are status 500).
  const retry = { enabled: false };
  // A function: Probot passes its own throttle options when it builds a client, and these must win.
  // The token cache replaces Probot's in the auth options of every client it builds (the App's
  // and each installation's, which inherits the App's auth options).
  return ProbotOctokit.plugin(obeyRetryAfter(policy, shared.circuit) as never).defaults((options: Record<string, unknown>) => ({
    ...options,
    retry,
    throttle: { ...(options['throttle'] as object | undefined), ...throttle },
    ...(shared.tokens && typeof options['auth'] === 'object' && options['auth'] !== null
      ? { auth: { ...(options['auth'] as object), cache: shared.tokens } }
      : {}),
  })) as unknown as typeof ProbotOctokit;
}
