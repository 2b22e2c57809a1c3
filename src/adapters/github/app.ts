/**
 * GitHub through Probot: the webhook middleware verifies the signature on the raw body; our one
 * handler puts the delivery in the inbox (stored durably and queued, deduplicated on
 * X-GitHub-Delivery) before Probot acknowledges. Processing happens later, in the worker, through `GitHubPlatform`.
 *
 * We read the body first and hand Probot the text (it verifies a string body as is), so that the
 * delivery is stored exactly as received and signed, not re-serialised from the parsed payload.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { Octokit as CoreOctokit } from '@octokit/core';
import { createNodeMiddleware, Probot, ProbotOctokit } from 'probot';
import { z } from 'zod';
import type { GitHubConfig } from '../../config/env.ts';
import type { PlatformAdapter } from '../../ports/platform.ts';
import type { Inbox } from '../../ports/queue.ts';
import { BodyTooLarge, readBody } from '../../server/body.ts';
import type { Metrics } from '../../server/metrics.ts';
import { defaultGitHubClientPolicy, fetchWithTimeout, githubOctokit, type GitHubClientPolicy } from './client-policy.ts';
import { GitHubForge } from './forge.ts';
import { EvidenceCache } from '../evidence.ts';
import { StickyComments } from '../sticky-comments.ts';
import { GitHubReleaseForge } from './release.ts';
import { translateGitHub } from './translate.ts';
import { SelfIdentity } from '../identity.ts';

export const GITHUB_WEBHOOK_PATH = '/api/github/webhooks';

export interface GitHubIngress {
  middleware: (req: IncomingMessage, res: ServerResponse) => Promise<boolean | void> | boolean | void;
  platform: PlatformAdapter;
  /** Our bot's login (GET /app → `<slug>[bot]`), learnt with retries: nothing is done until it is known. */
  identity: SelfIdentity;
  /** A client authenticated as the App itself (JWT), e.g. for its webhook deliveries. */
  app(): Promise<{ request: (route: string, params?: Record<string, unknown>) => Promise<{ data: unknown; headers: Record<string, string | number | undefined> }> }>;
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
  /** GitHub's write pacing (~1 s between content-creating requests); tests turn it off. */
  throttle?: boolean;
  /** Rate-limit waits and caps, the per-request timeout (see client-policy.ts). */
  client?: Partial<Pick<GitHubClientPolicy, 'maxWaitSeconds' | 'rateLimitRetries' | 'secondaryRetryAfterSeconds' | 'requestTimeoutMs'>>;
  /** Largest body accepted (bytes). Default 25 MiB, GitHub's own cap. */
  maxBodyBytes?: number;
}

const appSchema = z.object({ slug: z.string() });
const installationSchema = z.object({ id: z.number() });

export const INGRESS_REFUSES = 'the GitHub ingress does not call GitHub: actions are taken by the worker';

/**
 * The auth strategy of the ingress's client. Probot asks it for an event's client
 * (`auth({ type: 'event-octokit', event })`) on every delivery; building one each time (a client
 * with installation auth, its hooks and defaults) was ~8% of the HTTP thread's work per delivery.
 * It answers with the very client it belongs to, and that client refuses every request.
 */
export function ingressOnlyAuth(options: { octokit: CoreOctokit }): (() => Promise<CoreOctokit>) & { hook: () => Promise<never> } {
  const auth = async (): Promise<CoreOctokit> => options.octokit;
  return Object.assign(auth, {
    hook: async (): Promise<never> => {
      throw new Error(INGRESS_REFUSES);
    },
  });
}

const IngressOctokit = CoreOctokit.defaults({ authStrategy: ingressOnlyAuth });

export async function createGitHubIngress(opts: GitHubIngressOptions): Promise<GitHubIngress> {
  const { inbox, metrics, logger } = opts;
  const policy: GitHubClientPolicy = { ...defaultGitHubClientPolicy, ...opts.client, retries: opts.retries ?? 2, throttle: opts.throttle ?? true };
  const Octokit = githubOctokit(policy);
  const request = { fetch: fetchWithTimeout(policy.requestTimeoutMs) };
  const probotWith = (Octokit: typeof ProbotOctokit): Probot =>
    new Probot({
      appId: opts.config.appId,
      privateKey: opts.config.privateKey,
      secret: opts.config.webhookSecret,
      baseUrl: opts.config.apiBaseUrl,
      log: logger.child({ component: 'probot' }),
      Octokit,
      request,
    });
  // The worker acts through `probot`, with the full client (retry, throttling, REST methods).
  const probot = probotWith(Octokit);
  // The ingress only verifies and stores: it never calls GitHub, yet Probot asks for a client for
  // every event it receives. One client, which refuses to send anything, serves them all.
  const ingress = probotWith(IngressOctokit as unknown as typeof ProbotOctokit);

  const max = opts.maxBodyBytes ?? 25 * 1024 * 1024;
  const identity = new SelfIdentity({
    known: opts.botLogin,
    learn: async () => {
      const octokit = await probot.auth();
      const res = await octokit.request('GET /app');
      return `${appSchema.parse(res.data).slug}[bot]`;
    },
    backoffMs: opts.identityBackoffMs,
    onError: (err, attempt) => logger.warn({ err: err instanceof Error ? err.message : String(err), attempt }, 'could not learn the GitHub App slug (GET /app); nothing is done until it is known'),
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
  // Bodies of the requests in flight, by X-GitHub-Delivery. The handler runs only for a body whose
  // signature held; should requests with one id but different bodies overlap (a forgery racing the
  // real one), it cannot tell which is which and stores the verified payload re-serialised instead.
  const bodies = new Map<string, string[]>();
  const rawBody = (id: string): string | undefined => {
    const list = bodies.get(id);
    return list && list.every((b) => b === list[0]) ? list[0] : undefined;
  };

  const probotMiddleware = await createNodeMiddleware(
    (app) => {
      app.onAny(async (context) => {
        const raw = rawBody(context.id);
        const { inserted, duplicateOf } = await inbox.accept({
          platform: 'github',
          deliveryId: context.id,
          eventName: context.name,
          payload: raw ?? JSON.stringify(context.payload),
          receivedAt: opts.now(),
          // The signed bytes' digest: the same body under a new X-GitHub-Delivery is a replay.
          bodyDigest: raw === undefined ? null : createHash('sha256').update(raw, 'utf8').digest('hex'),
        });
        if (duplicateOf !== undefined) logger.warn({ platform: 'github', delivery: context.id, duplicateOf, event: context.name }, 'a replay: this body was delivered before under another id; acknowledged, not acted on again');
        metrics.deliveries.inc({ platform: 'github', event: context.name, outcome: inserted ? 'accepted' : 'duplicate' });
      });
    },
    { probot: ingress, webhooksPath: GITHUB_WEBHOOK_PATH },
  );

  const middleware = async (req: IncomingMessage, res: ServerResponse): Promise<boolean | void> => {
    let text: string;
    try {
      text = (await readBody(req, max)).toString('utf8');
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      res.once('finish', () => req.destroy());
      res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', connection: 'close' });
      res.end(JSON.stringify({ error: err.message }));
      return true;
    }
    // Every webhook payload is a JSON object; other JSON (`false`, `[]`, `1`) would pass Probot's
    // parse and fail inside it as a 500. A body that is not even JSON gets Probot's own 400.
    const json = /^\s*application\/json\s*(;|$)/i.test(String(req.headers['content-type'] ?? ''));
    if (json && (/^\s*[^\s{]/.test(text) || /^\s*$/.test(text))) {
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error: 'body is not a JSON object' }));
      return true;
    }
    (req as IncomingMessage & { body?: string }).body = text;
    const id = req.headers['x-github-delivery'];
    if (typeof id !== 'string') return probotMiddleware(req, res);
    const list = bodies.get(id) ?? [];
    list.push(text);
    bodies.set(id, list);
    try {
      return await probotMiddleware(req, res);
    } finally {
      list.splice(list.indexOf(text), 1);
      if (list.length === 0 && bodies.get(id) === list) bodies.delete(id);
    }
  };

  return {
    middleware,
    platform: {
      self: (waitMs) => identity.wait(waitMs),
      translate: (delivery, payload) => translateGitHub(delivery.eventName, delivery.deliveryId, payload, self()),
      releaseFor: async (installationId) => {
        if (installationId === null) throw new Error('GitHub delivery without an installation: cannot act');
        const appId = Number(opts.config.appId);
        return new GitHubReleaseForge(await probot.auth(installationId), { botLogin: self(), appId: Number.isFinite(appId) ? appId : null, cache: evidenceCache, now: opts.now });
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
    identity,
  };
}
