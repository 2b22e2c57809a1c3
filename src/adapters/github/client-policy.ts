/**
 * How the worker's GitHub client waits and retries. Probot's Octokit carries the retry and
 * throttling plugins, but as Probot builds it:
 *
 * - its own throttle options replace the ones given to `ProbotOctokit.defaults({...})`: a
 *   secondary rate limit was never retried, and an exhausted quota was retried after waiting for
 *   `x-ratelimit-reset` however far away (an hour holding a worker slot); its pacing sleeps in
 *   the job's worker slot;
 * - the retry plugin retries a 429 after 1, 4, 9 s whatever `retry-after` says;
 * - a request has no timeout: an API that hangs holds the job until the queue abandons it.
 *
 * Here: writes take turns per installation (../write-turns.ts: one at a time, spaced as GitHub
 * asks), in place of the throttling plugin, which slept between writes inside the job's worker
 * slot; a job waiting for its turn gives its slot back (../../ports/work-slot.ts). A rate limit
 * (secondary or primary, 403 or 429) is waited out, the same way, when GitHub asks for at most
 * `maxWaitSeconds`, up to `rateLimitRetries` times; a longer wait fails the attempt at once with
 * GitHub's message, and the job queue retries later with backoff. A bare 429 obeys `retry-after`
 * the same way. A 5xx or network error is retried `retries` times (1 s, then 4 s, …), here rather
 * than by the retry plugin, and not at all while the platform's circuit refuses requests (see
 * ../circuit.ts): an attempt during an outage fails in milliseconds instead of waiting out
 * timeouts and retries, and the job queue retries it later. Every request, the token exchange
 * included, times out after `requestTimeoutMs` and passes through the circuit.
 * Installation tokens are kept per installation until shortly before they expire
 * (./installation-tokens.ts), shared by all clients of the process.
 */
import { ProbotOctokit } from 'probot';
import { PlatformUnreachable, type PlatformCircuit } from '../circuit.ts';
import type { InstallationTokens } from './installation-tokens.ts';
import { waitUntil } from '../../ports/work-slot.ts';
import type { WriteKind, WriteTurns } from '../write-turns.ts';

export interface GitHubClientPolicy {
  /**
   * Retries of a 5xx or network error inside one attempt (the queue retries the job too). A token
   * request that fails is retried as part of the request that needed it: at most this many times.
   */
  retries: number;
  /** GitHub's write pacing: writes take turns per installation (../write-turns.ts). */
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

/** A request refused by the circuit (the error from fetch, as @octokit/request wraps it). */
const refusedByCircuit = (e: ErrorLike): boolean => e instanceof PlatformUnreachable || e.cause instanceof PlatformUnreachable;

const header = (e: ErrorLike, name: string): string => String(e.response?.headers?.[name] ?? '');

/**
 * The wait (seconds) a refused request asks for, when it is a rate limit: a secondary limit (403
 * or 429 saying so) waits `retry-after` or the fallback; an exhausted quota waits until a second
 * after `x-ratelimit-reset`; any other 429 waits `retry-after`, else 1, 4, 9 s.
 */
function rateLimitWaitSeconds(e: ErrorLike, retry: number, policy: GitHubClientPolicy, nowMs: number): number | null {
  if (e.status !== 403 && e.status !== 429) return null;
  if (/\bsecondary rate\b/i.test(e.message ?? '')) return Number(header(e, 'retry-after')) || policy.secondaryRetryAfterSeconds;
  if (header(e, 'x-ratelimit-remaining') === '0')
    return Math.max(Math.ceil((Number(header(e, 'x-ratelimit-reset')) * 1000 - nowMs) / 1000) + 1, 0);
  if (e.status !== 429) return null;
  return retryAfterSeconds(header(e, 'retry-after'), nowMs) ?? retry ** 2;
}

/** Requests that get a token: never paced (the plugin's list of the ones GitHub Apps make). */
const isAuthRequest = (method: string, path: string): boolean =>
  method === 'POST' && (/^\/app\/installations\/[^/]+\/access_tokens$/.test(path) || /^\/applications\/[^/]+\/token$/.test(path));

/**
 * The kind of a write, for its installation's write turns (../write-turns.ts): a new comment on an
 * issue or pull request goes first; other content-creating writes (GitHub's "content-generating
 * requests": issues, pull requests, reviews, releases…) are kept within the content limits. The
 * path may still be the route's template (`/repos/{owner}/{repo}/issues/{issue_number}/comments`).
 */
const writeKind = (method: string, path: string): WriteKind =>
  method !== 'POST'
    ? 'other'
    : /^\/repos\/[^/]+\/[^/]+\/issues\/[^/]+\/comments$/.test(path)
      ? 'comment'
      : /^\/repos\/[^/]+\/[^/]+\/(issues|pulls|releases|pulls\/[^/]+\/(comments|reviews)|pulls\/comments\/[^/]+\/replies|commits\/[^/]+\/comments)$/.test(
            path,
          )
        ? 'content'
        : 'other';

/** The request's path without the API's base (GitHub Enterprise serves the API under /api/v3). */
const pathOf = (url: string): string => new URL(url, 'http://github.test').pathname.replace(/^\/api\/v3(?=\/)/, '');

/**
 * An Octokit plugin, outside the others. A write (POST, PATCH, PUT, DELETE, not a token request)
 * waits for its installation's write turn (../write-turns.ts) under its job's worker slot. A rate
 * limit (secondary or primary, 403 or 429) or a bare 429 is waited out when GitHub asks for at most
 * `maxWaitSeconds`, up to `rateLimitRetries` times, the installation's writes held back meanwhile;
 * a longer wait fails the attempt at once (the queue retries later). Waits go through the job's
 * slot: parked with the slot given back, or the job handed back to the queue when far away. A 5xx
 * or network error is retried `retries` times unless the circuit refuses requests by then.
 */
function pacedRequests(policy: GitHubClientPolicy, circuit: PlatformCircuit | undefined, turns: WriteTurns | undefined) {
  return (
    octokit: {
      hook: {
        wrap: (
          name: 'request',
          fn: (request: (o: RequestOptionsLike) => Promise<unknown>, o: RequestOptionsLike) => Promise<unknown>,
        ) => void;
      };
    } & Partial<Logged>,
    octokitOptions: { auth?: unknown } = {},
  ): Record<string, never> => {
    const auth = octokitOptions.auth;
    const installation =
      typeof auth === 'object' && auth !== null && 'installationId' in auth
        ? String((auth as { installationId: unknown }).installationId)
        : 'app';
    const key = `github:${installation}`;
    octokit.hook.wrap('request', async (request, options) => {
      const path = pathOf(options.url);
      const write = turns !== undefined && options.method !== 'GET' && options.method !== 'HEAD' && !isAuthRequest(options.method, path);
      let serverRetries = 0;
      for (let retry = 0; ;) {
        const release = write ? await turns.take(key, writeKind(options.method, path), `${options.method} ${path}`) : null;
        let failure: unknown;
        try {
          return await request(options);
        } catch (err) {
          failure = err;
        } finally {
          release?.();
        }
        const e = failure as ErrorLike;
        if (e.status === undefined || e.status >= 500) {
          if (refusedByCircuit(e) || circuit?.refusing || serverRetries >= policy.retries) throw failure;
          serverRetries += 1;
          const wait = serverErrorBackoffMs(serverRetries);
          octokit.log?.warn(`GitHub failed ${options.method} ${options.url} (${e.message ?? 'no answer'}); retrying in ${wait / 1000} s`);
          await sleep(wait);
          continue;
        }
        const wait = rateLimitWaitSeconds(e, retry + 1, policy, Date.now());
        if (wait === null) throw failure;
        const giveUp = wait > policy.maxWaitSeconds || retry >= policy.rateLimitRetries;
        octokit.log?.warn(
          `GitHub rate limit (${e.status}) on ${options.method} ${options.url}: GitHub asks to wait ${wait} s; ${giveUp ? 'giving up this attempt (the queue retries later)' : 'waiting'}`,
        );
        if (giveUp) throw failure;
        retry += 1;
        const until = Date.now() + wait * 1000;
        turns?.block(key, until);
        await waitUntil(until, `GitHub rate limit on ${options.method} ${path}`);
      }
    });
    return {};
  };
}

/** What the clients of one process share: the circuit and the installation tokens. */
export interface GitHubClientShared {
  circuit?: PlatformCircuit;
  tokens?: InstallationTokens;
  /** Write turns per installation (without: writes are not paced). */
  turns?: WriteTurns;
}

/** Probot's Octokit with the waits, caps and timeouts above. Pass `request` to `new Probot` too. */
export function githubOctokit(policy: GitHubClientPolicy, shared: GitHubClientShared = {}): typeof ProbotOctokit {
  // The throttling plugin is off: it paces by sleeping in the job's slot. Its pacing is the write
  // turns' (`shared.turns`), its handling of rate limits pacedRequests'.
  const throttle = { enabled: false };
  // The retry plugin retries nothing: rate limits, 429, 5xx and network errors (status 500) are pacedRequests'.
  const retry = { enabled: false };
  // A function: Probot passes its own throttle options when it builds a client, and these must win.
  // The token cache replaces Probot's in the auth options of every client it builds (the App's
  // and each installation's, which inherits the App's auth options).
  const turns = policy.throttle ? shared.turns : undefined;
  return ProbotOctokit.plugin(pacedRequests(policy, shared.circuit, turns) as never).defaults((options: Record<string, unknown>) => ({
    ...options,
    retry,
    throttle,
    ...(shared.tokens && typeof options['auth'] === 'object' && options['auth'] !== null
      ? { auth: { ...(options['auth'] as object), cache: shared.tokens } }
      : {}),
  })) as unknown as typeof ProbotOctokit;
}
