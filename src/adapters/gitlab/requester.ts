/**
 * The HTTP layer under gitbeaker, replacing @gitbeaker/rest's own. Its built-in requester retries
 * every 429 and 502 up to ten times, for every method (a POST that GitLab did carry out before
 * answering 502 is sent again: a duplicate note) and ignores `Retry-After`. This one:
 *
 * - 429 (any method: GitLab's rate limiter refuses before doing anything): waits at least
 *   `Retry-After` (seconds or an HTTP date; else `RateLimit-Reset`; else backoff), then retries,
 *   up to `attempts` in all. A wait longer than `maxRetryAfterMs` is not slept through: the error
 *   goes up and the job queue retries later.
 * - 5xx, timeouts and network errors: retried with backoff for GET, PUT and DELETE (idempotent:
 *   our PUTs set a note body or add/remove labels); never for POST or PATCH, whose callers decide
 *   (GitLabForge re-reads the notes before creating again).
 * - With a circuit (../circuit.ts), shared by every client of the process: while GitLab is known to
 *   be unreachable (no connection, timeouts, 5xx on consecutive requests) a request fails at once
 *   with "GitLab unreachable since …", and a failed request is not retried once the circuit opens.
 * - With write turns (../write-turns.ts), shared by every client of the process: a write (not GET
 *   or HEAD) waits for the instance's write turn, one at a time, notes and issues within GitLab's
 *   creation limits; in a job, a wait for a turn or a 429's `Retry-After` gives the worker slot
 *   back (../../ports/work-slot.ts).
 * - Errors are gitbeaker's own classes (`GitbeakerRequestError` with `cause.response`,
 *   `GitbeakerTimeoutError`), so code written against gitbeaker keeps working.
 *
 * It is passed to gitbeaker's resource classes as `requesterFn`; request options are shaped the
 * way gitbeaker's default options handler shapes them (snake_case keys, `key[]=` arrays).
 */
import type { DefaultRequestOptions, FormattedResponse, RequesterType, ResourceOptions } from '@gitbeaker/requester-utils';
import { GitbeakerRequestError, GitbeakerTimeoutError } from '@gitbeaker/rest';
import type { PlatformCircuit } from '../circuit.ts';
import { currentSlot, waitUntil } from '../../ports/work-slot.ts';
import type { WriteKind, WriteTurns } from '../write-turns.ts';

export interface RetryPolicy {
  /** Attempts per request in all (first try included). */
  attempts: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
  /** The longest Retry-After slept through; a longer one fails the request at once. */
  maxRetryAfterMs: number;
  /** Backoff before retry `n` (1-based) when the server gave no wait. */
  backoffMs: (retry: number) => number;
  sleep: (ms: number) => Promise<void>;
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 4,
  timeoutMs: 30_000,
  maxRetryAfterMs: 60_000,
  backoffMs: (n) => Math.min(500 * 2 ** (n - 1), 8_000),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

/** HTTP status of a gitbeaker error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  if (err instanceof GitbeakerRequestError) return err.cause?.response?.status;
  return undefined;
}

const decamelize = (key: string): string => key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();

function decamelizeDeep(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decamelizeDeep);
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [decamelize(k), decamelizeDeep(v)]));
  }
  return value;
}

/** `{perPage: 100, labels: ['a','b']}` → `per_page=100&labels[]=a&labels[]=b` (what gitbeaker sends). */
export function formatQuery(params: Record<string, unknown> | undefined): string {
  const q = new URLSearchParams();
  const add = (key: string, v: unknown): void => {
    if (v === undefined || v === null) return;
    if (Array.isArray(v)) for (const item of v) add(`${key}[]`, item);
    else if (typeof v === 'object')
      for (const [k, sub] of Object.entries(v as Record<string, unknown>)) add(`${key}[${decamelize(k)}]`, sub);
    else q.append(key, String(v));
  };
  for (const [k, v] of Object.entries(params ?? {})) add(decamelize(k), v);
  return q.toString();
}

/** Milliseconds to wait before retrying a 429, or null when the server said nothing usable. */
export function retryAfterMs(headers: Headers, nowMs: number): number | null {
  const value = headers.get('retry-after')?.trim();
  if (value) {
    if (/^\d+(\.\d+)?$/.test(value)) return Math.ceil(Number(value) * 1000);
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return Math.max(0, at - nowMs);
  }
  const reset = headers.get('ratelimit-reset')?.trim();
  if (reset && /^\d+$/.test(reset)) return Math.max(0, Number(reset) * 1000 - nowMs);
  return null;
}

async function parseBody(response: Response, asStream: boolean): Promise<FormattedResponse['body']> {
  if (asStream) return response.body as FormattedResponse['body'];
  if (response.status === 204) return null;
  const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim();
  if (type === 'application/json') return ((await response.json()) as FormattedResponse['body']) || {};
  // Raw files and everything else as text: the forge reads text files only.
  return response.text();
}

async function requestError(request: Request, response: Response): Promise<GitbeakerRequestError> {
  const text = await response.text().catch(() => '');
  let description = text;
  if ((response.headers.get('content-type') ?? '').includes('application/json')) {
    try {
      const parsed = JSON.parse(text) as { error?: unknown; message?: unknown } | null;
      const detail = parsed?.error ?? parsed?.message ?? '';
      description = typeof detail === 'string' ? detail : JSON.stringify(detail);
    } catch {
      /* keep the text */
    }
  }
  // The cause keeps the response (status, headers); its body was read above.
  return new GitbeakerRequestError(description || `${response.status} ${response.statusText}`, {
    cause: { description, request, response },
  });
}

/**
 * The kind of a write, for the instance's write turns (../write-turns.ts): a new note on an issue or
 * merge request goes first; other notes, issues and merge requests are kept within GitLab's creation
 * limits (300 a minute per user by default).
 */
const writeKind = (verb: string, path: string): WriteKind =>
  verb !== 'POST'
    ? 'other'
    : /\/(issues|merge_requests)\/\d+\/notes$/.test(path)
      ? 'comment'
      : /\/(notes|issues|merge_requests)$/.test(path)
        ? 'content'
        : 'other';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** A gitbeaker `requesterFn` with the retry rules above. */
export function createSafeRequesterFn(
  policy: Partial<RetryPolicy> = {},
  circuit?: PlatformCircuit,
  turns?: WriteTurns,
): (options: ResourceOptions) => RequesterType {
  const p: RetryPolicy = { ...defaultRetryPolicy, ...policy };
  return (service) => {
    const key = `gitlab:${new URL(service.url).host}`;
    const call = async (method: Method, endpoint: string, options: DefaultRequestOptions = {}): Promise<FormattedResponse> => {
      const verb = method.toUpperCase();
      const base = service.url.endsWith('/') ? service.url : `${service.url}/`;
      const url = new URL(endpoint, base);
      url.search = formatQuery(options.searchParams);
      const headers: Record<string, string> = { ...service.headers };
      if (options.sudo !== undefined) headers['sudo'] = String(options.sudo);
      for (const [name, value] of Object.entries(service.authHeaders)) headers[name] = await value();
      let body: string | FormData | undefined;
      if (options.body instanceof FormData) body = options.body;
      else if (options.body && verb !== 'GET' && Object.keys(options.body).length > 0) {
        body = JSON.stringify(decamelizeDeep(options.body));
        headers['content-type'] = 'application/json';
      }

      for (let attempt = 1; ; attempt++) {
        const release =
          turns && verb !== 'GET' && verb !== 'HEAD'
            ? await turns.take(key, writeKind(verb, url.pathname), `${verb} ${url.pathname}`)
            : null;
        const signal = options.signal
          ? AbortSignal.any([options.signal, AbortSignal.timeout(p.timeoutMs)])
          : AbortSignal.timeout(p.timeoutMs);
        const request = new Request(url, { method: verb, headers, body, signal });
        let response: Response;
        circuit?.admit();
        try {
          response = await fetch(request);
        } catch (err) {
          release?.();
          const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
          if (options.signal?.aborted) circuit?.abandoned();
          else
            circuit?.failed(
              timedOut
                ? `no answer to ${verb} ${url.pathname} within ${p.timeoutMs} ms`
                : err instanceof Error
                  ? err.cause instanceof Error
                    ? `${err.message}: ${err.cause.message}`
                    : err.message
                  : String(err),
            );
          if (IDEMPOTENT.has(verb) && attempt < p.attempts && !circuit?.refusing) {
            await p.sleep(p.backoffMs(attempt));
            continue;
          }
          if (timedOut)
            throw new GitbeakerTimeoutError(`GitLab did not answer ${verb} ${url.pathname} within ${p.timeoutMs} ms`, { cause: err });
          throw err;
        }
        release?.();
        if (response.status >= 500)
          circuit?.failed(`${response.status} ${response.statusText} to ${verb} ${url.pathname}`.replace(/\s+/g, ' '));
        else circuit?.succeeded();
        if (response.ok)
          return {
            body: await parseBody(response, options.asStream ?? false),
            headers: Object.fromEntries(response.headers.entries()),
            status: response.status,
          };

        if (response.status === 429 && attempt < p.attempts) {
          const wait = retryAfterMs(response.headers, Date.now());
          if (wait === null || wait <= p.maxRetryAfterMs) {
            await response.body?.cancel();
            const until = Date.now() + (wait ?? 0);
            if (wait !== null) turns?.block(key, until);
            // In a job: waited out with the worker slot given back (or the job handed back).
            if (currentSlot()) await waitUntil(Date.now() + (wait ?? p.backoffMs(attempt)), `GitLab 429 on ${verb} ${url.pathname}`);
            else await p.sleep(wait ?? p.backoffMs(attempt));
            // Timers may fire a millisecond early: never retry before Retry-After has passed.
            const left = until - Date.now();
            if (left > 0) await p.sleep(left);
            continue;
          }
        }
        if (response.status >= 500 && IDEMPOTENT.has(verb) && attempt < p.attempts && !circuit?.refusing) {
          await response.body?.cancel();
          await p.sleep(p.backoffMs(attempt));
          continue;
        }
        throw await requestError(request, response);
      }
    };
    return {
      get: (endpoint, options) => call('get', endpoint, options),
      post: (endpoint, options) => call('post', endpoint, options),
      put: (endpoint, options) => call('put', endpoint, options),
      patch: (endpoint, options) => call('patch', endpoint, options),
      delete: (endpoint, options) => call('delete', endpoint, options),
    } as RequesterType;
  };
}
