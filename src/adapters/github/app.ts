/**
 * GitHub: the webhook route refuses a request without GitHub's headers before reading its body,
 * verifies the X-Hub-Signature-256 HMAC while the body streams in (within a bound on unverified
 * bytes shared by all requests), and puts the delivery in the inbox (stored durably exactly as
 * received and signed, queued, deduplicated on X-GitHub-Delivery and on the body's digest) before
 * the 200. Nothing of a refused request is logged but its reason. Processing happens later, in the
 * worker, through Probot's authenticated clients (`platform`).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Probot } from 'probot';
import type { PlatformAdapter } from '../../ports/platform.ts';
import type { Inbox } from '../../ports/queue.ts';
import { BodyTimeout, BodyTooLarge, ByteBudget, ClientGone, readChunks, refuse } from '../http/body.ts';
import type { Metrics } from '../../ports/metrics.ts';
import { RefusalLog } from '../http/refusal-log.ts';
import {
  defaultGitHubClientPolicy,
  fetchThroughCircuit,
  fetchWithTimeout,
  githubOctokit,
  type GitHubClientPolicy,
} from './client-policy.ts';
import { PlatformCircuit, type CircuitLimits } from '../circuit.ts';
import { InstallationTokens } from './installation-tokens.ts';
import { githubTurnLimits, WriteTurns, type TurnLimits } from '../write-turns.ts';
import { GitHubForge } from './forge.ts';
import { EvidenceCache } from '../evidence.ts';
import { StickyComments } from '../sticky-comments.ts';
import { GitHubReleaseForge } from './release.ts';
import { translateGitHub } from './translate.ts';
import { appSchema, installationSchema } from './schema.ts';
import { SelfIdentity } from '../identity.ts';

/** What the GitHub App needs from the configuration (src/config/env.ts fills it from the environment). */
export interface GitHubConfig {
  appId: string;
  privateKey: string;
  webhookSecret: string;
  /** REST API base, e.g. https://api.github.com or https://ghe.example/api/v3 */
  apiBaseUrl: string;
}

export interface GitHubIngress {
  middleware: (req: IncomingMessage, res: ServerResponse) => Promise<boolean | void> | boolean | void;
  platform: PlatformAdapter;
  /** Our bot's login (GET /app → `<slug>[bot]`), learnt with retries: nothing is done until it is known. */
  identity: SelfIdentity;
  /** A client authenticated as the App itself (JWT), e.g. for its webhook deliveries. */
  app(): Promise<{
    request: (
      route: string,
      params?: Record<string, unknown>,
    ) => Promise<{ data: unknown; headers: Record<string, string | number | undefined> }>;
  }>;
  /** GitHub reachable or not, as this process's requests found it (see ../circuit.ts). */
  circuit: PlatformCircuit;
}

export interface GitHubIngressOptions {
  config: GitHubConfig;
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** Known bot login (skips GET /app). */
  botLogin?: string | null;
  /** Wait before the n-th retry of GET /app (default 1 s doubling up to 60 s). */
  identityBackoffMs?: (attempt: number) => number;
  /** Octokit request retries (the queue retries too). */
  retries?: number;
  /** GitHub's write pacing (writes take turns per installation, ../write-turns.ts); tests turn it off. */
  throttle?: boolean;
  /** The spacing of write turns (default GitHub's, `githubTurnLimits`); tests shorten it. */
  pacing?: Partial<TurnLimits>;
  /** Rate-limit waits and caps, the per-request timeout (see client-policy.ts). */
  client?: Partial<Pick<GitHubClientPolicy, 'maxWaitSeconds' | 'rateLimitRetries' | 'secondaryRetryAfterSeconds' | 'requestTimeoutMs'>>;
  /** When GitHub counts as unreachable and for how long requests then fail at once (see ../circuit.ts). */
  circuit?: Partial<CircuitLimits>;
  /** The wall clock of token expiry and the circuit's cool-down (ms; default Date.now). */
  wallClock?: () => number;
  /** Largest body accepted (bytes). Default 25 MiB, GitHub's own cap. */
  maxBodyBytes?: number;
  /** The bound on unverified bytes in flight, shared with the other routes (default: one of UNAUTHENTICATED_BYTES for this route). */
  unauthenticated?: ByteBudget;
  /** How long an unverified body may take to arrive whole, waits for room in that bound included (default 30 s): past it, 503 (no room) or 408 (slow). */
  bodyDeadlineMs?: number;
}

/** Bytes of bodies not yet verified held at once, across all requests: 64 MiB (two and a half bodies at GitHub's 25 MiB cap). */
export const UNAUTHENTICATED_BYTES = 64 * 1024 * 1024;

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
};

export async function createGitHubIngress(opts: GitHubIngressOptions): Promise<GitHubIngress> {
  const { inbox, metrics, logger } = opts;
  const policy: GitHubClientPolicy = {
    ...defaultGitHubClientPolicy,
    ...opts.client,
    retries: opts.retries ?? defaultGitHubClientPolicy.retries,
    throttle: opts.throttle ?? true,
  };
  const wallClock = opts.wallClock ?? Date.now;
  const circuit = new PlatformCircuit('GitHub', opts.circuit, wallClock, (state) => {
    if (state.kind === 'open')
      logger.warn(
        {
          platform: 'github',
          since: new Date(state.since).toISOString(),
          until: new Date(state.until).toISOString(),
          error: state.lastError,
        },
        'GitHub unreachable: requests fail at once until the cool-down ends (deliveries are retried by the queue)',
      );
    else if (state.kind === 'closed') logger.info({ platform: 'github' }, 'GitHub answers again');
  });
  const tokens = new InstallationTokens({ now: wallClock });
  // One keeper of write turns for every client of the process: the pacing is per installation.
  const turns = new WriteTurns({ ...githubTurnLimits, ...opts.pacing });
  const Octokit = githubOctokit(policy, { circuit, tokens, turns });
  const request = { fetch: fetchThroughCircuit(circuit, fetchWithTimeout(policy.requestTimeoutMs)) };
  // The worker acts through `probot`, with the full client (retry, throttling, REST methods).
  const probot = new Probot({
    appId: opts.config.appId,
    privateKey: opts.config.privateKey,
    secret: opts.config.webhookSecret,
    baseUrl: opts.config.apiBaseUrl,
    log: logger.child({ component: 'probot' }),
    Octokit,
    request,
  });

  const max = opts.maxBodyBytes ?? 25 * 1024 * 1024;
  const identity = new SelfIdentity({
    known: opts.botLogin,
    learn: async () => {
      const octokit = await probot.auth();
      const res = await octokit.request('GET /app');
      return `${appSchema.parse(res.data).slug}[bot]`;
    },
    backoffMs: opts.identityBackoffMs,
    onError: (err, attempt) =>
      logger.warn(
        { err: err instanceof Error ? err.message : String(err), attempt },
        'could not learn the GitHub App slug (GET /app); nothing is done until it is known',
      ),
  });
  /** Our login, or an error: acting without it could take our own comments for someone else's. */
  const self = (): string => {
    if (identity.name === null) throw new Error('the GitHub App login is not known yet (GET /app): not acting yet');
    return identity.name;
  };
  /** Release evidence per change request and head commit, shared by the worker's jobs. */
  const evidenceCache = new EvidenceCache();
  // Our sticky comments' ids per item, for every installation's forge (see ../sticky-comments.ts).
  const stickies = new StickyComments();
  /** Installation per repository, learned when a repository is named outside a webhook. */
  const installations = new Map<string, number>();
  const budget = opts.unauthenticated ?? new ByteBudget(UNAUTHENTICATED_BYTES);
  const bodyDeadlineMs = opts.bodyDeadlineMs ?? 30_000;
  const secret = opts.config.webhookSecret;
  const refusals = new RefusalLog(logger, 'GitHub webhook refused');
  const refused = (req: IncomingMessage, res: ServerResponse, status: number, error: string, reason: string): true => {
    metrics.deliveries.inc({ platform: 'github', event: 'unverified', outcome: 'refused' });
    // Never the body nor a header's value, and one line a minute per reason however many arrive.
    refusals.note(reason, { platform: 'github', status });
    refuse(req, res, status, { error });
    return true;
  };

  /**
   * Refuses before reading a body without the three headers GitHub always sends, verifies the
   * HMAC while the body streams in (holding at most its share of the unauthenticated budget), and
   * only then parses and stores it.
   */
  const middleware = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const event = header(req, 'x-github-event');
    const id = header(req, 'x-github-delivery');
    const signature = header(req, 'x-hub-signature-256');
    if (!event || !id || !signature)
      return refused(req, res, 400, 'missing X-GitHub-Event, X-GitHub-Delivery or X-Hub-Signature-256', 'headers');
    if (!/^\s*application\/json\s*(;|$)/i.test(String(req.headers['content-type'] ?? '')))
      return refused(req, res, 415, 'GitHub webhooks are accepted as application/json', 'content-type');
    const expected = /^sha256=([0-9a-f]{64})$/i.exec(signature);
    if (!expected || event.length > 100 || id.length > 200)
      return refused(req, res, 400, 'malformed X-Hub-Signature-256, X-GitHub-Event or X-GitHub-Delivery', 'headers');
    // The HMAC is computed as the body streams in, its bytes counted against the unverified budget
    // as they arrive (and given back when the read settles); joined into one buffer only once the
    // signature holds.
    const hmac = createHmac('sha256', secret);
    let body: { chunks: Buffer[]; size: number };
    try {
      body = await readChunks(req, max, { onChunk: (chunk) => hmac.update(chunk), budget, deadlineMs: bodyDeadlineMs });
    } catch (err) {
      if (err instanceof BodyTooLarge) return refused(req, res, 413, err.message, 'too-large');
      if (err instanceof BodyTimeout && err.reason === 'budget') {
        metrics.deliveries.inc({ platform: 'github', event: 'unverified', outcome: 'deferred' });
        refusals.note('budget', { platform: 'github', status: 503 });
        refuse(req, res, 503, { error: 'too many unverified requests in flight; retry later' }, { headers: { 'retry-after': '5' } });
        return true;
      }
      if (err instanceof BodyTimeout) {
        refused(req, res, 408, err.message, 'slow');
        req.socket.destroy();
        return true;
      }
      if (err instanceof ClientGone) {
        metrics.deliveries.inc({ platform: 'github', event: 'unverified', outcome: 'abandoned' });
        return true;
      }
      throw err;
    }
    if (!timingSafeEqual(hmac.digest(), Buffer.from(expected[1]!, 'hex')))
      return refused(req, res, 401, 'signature does not match the body and the webhook secret', 'signature');
    const raw = body.chunks.length === 1 ? body.chunks[0]! : Buffer.concat(body.chunks, body.size);
    const text = raw.toString('utf8');
    // Every webhook payload is a JSON object; other JSON (`false`, `[]`, `1`) is refused too.
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return refused(req, res, 400, 'body is not JSON', 'json');
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
      return refused(req, res, 400, 'body is not a JSON object', 'json');
    const { inserted, duplicateOf } = await inbox.accept({
      platform: 'github',
      deliveryId: id,
      eventName: event,
      payload: text,
      receivedAt: opts.now(),
      // The signed bytes' digest: the same body under a new X-GitHub-Delivery is a replay.
      bodyDigest: createHash('sha256').update(raw).digest('hex'),
    });
    if (duplicateOf !== undefined)
      logger.warn(
        { platform: 'github', delivery: id, duplicateOf, event },
        'a replay: this body was delivered before under another id; acknowledged, not acted on again',
      );
    metrics.deliveries.inc({ platform: 'github', event, outcome: inserted ? 'accepted' : 'duplicate' });
    const answer = JSON.stringify({ ok: true, duplicate: !inserted });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
    return true;
  };

  return {
    middleware,
    platform: {
      self: (waitMs) => identity.wait(waitMs),
      translate: (delivery, payload) => translateGitHub(delivery.eventName, delivery.deliveryId, payload, self()),
      releaseFor: async (installationId) => {
        if (installationId === null) throw new Error('GitHub delivery without an installation: cannot act');
        const appId = Number(opts.config.appId);
        return new GitHubReleaseForge(await probot.auth(installationId), {
          botLogin: self(),
          appId: Number.isFinite(appId) ? appId : null,
          cache: evidenceCache,
          now: opts.now,
        });
      },
      forgeFor: async (installationId) => {
        if (installationId === null) throw new Error('GitHub delivery without an installation: cannot act');
        const botLogin = self();
        const octokit = await probot.auth(installationId);
        return new GitHubForge(octokit, botLogin, { stickies, logger });
      },
      forgeForRepo: async (repo) => {
        const botLogin = self();
        // A repository named outside a webhook (a Slack command): find the App's installation on it.
        let id = installations.get(repo.fullName.toLowerCase());
        if (id === undefined) {
          const [owner, name] = [repo.fullName.slice(0, repo.fullName.indexOf('/')), repo.fullName.slice(repo.fullName.indexOf('/') + 1)];
          const app = await probot.auth();
          const res = await app.request('GET /repos/{owner}/{repo}/installation', { owner, repo: name });
          id = installationSchema.parse(res.data).id;
          installations.set(repo.fullName.toLowerCase(), id);
        }
        return new GitHubForge(await probot.auth(id), botLogin, { stickies, logger });
      },
    },
    app: () => probot.auth(),
    circuit,
    identity,
  };
}
