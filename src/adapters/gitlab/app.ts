/**
 * GitLab ingress: `POST /api/gitlab/webhooks` from project, group or system webhooks.
 * The secret token is checked (constant time) before the body is read; the body is read up to a
 * limit; the delivery goes into the inbox (stored durably, queued, deduplicated) before the 200.
 * Processing happens later, in the worker, through `platform`.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { PlatformAdapter } from '../../ports/platform.ts';
import type { Inbox } from '../../ports/queue.ts';
import { BodyTooLarge, ClientGone, readBody, refuse } from '../http/body.ts';
import type { ScopedSecret } from './webhook-secrets.ts';
import { RefusalLog } from '../http/refusal-log.ts';
import type { Metrics } from '../../ports/metrics.ts';
import { createGitLabApi, type GitLabApi } from './client.ts';
import { PlatformCircuit, type CircuitLimits } from '../circuit.ts';
import { gitlabTurnLimits, WriteTurns } from '../write-turns.ts';
import { GitLabForge, type GitLabForgeOptions } from './forge.ts';
import { EvidenceCache } from '../evidence.ts';
import { StickyComments } from '../sticky-comments.ts';
import { GitLabReleaseForge } from './release.ts';
import type { RetryPolicy } from './requester.ts';
import { translateGitLab } from './translate.ts';
import { covers, matchingScopes, scopedSecrets } from './webhook-secrets.ts';
import { gitlabConfirmer } from './confirm.ts';
import { currentUserSchema } from './schema.ts';
import { SelfIdentity } from '../identity.ts';

/** What the GitLab adapter needs from the configuration (src/config/env.ts fills it from the environment). */
export interface GitLabConfig {
  url: string;
  token: string;
  /** One secret for every hook, or one per project or group path (see src/config/gitlab-secrets.ts). */
  webhookSecret: string | readonly ScopedSecret[];
}

export interface GitLabIngress {
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  platform: PlatformAdapter;
  /** The token's username (GET /user), learnt with retries: nothing is done until it is known. */
  identity: SelfIdentity;
  /** GitLab reachable or not, as this process's requests found it (see ../circuit.ts); share it with other clients. */
  circuit: PlatformCircuit;
  /** GitLab's write turns on this instance (see ../write-turns.ts); share them with other clients. */
  turns: WriteTurns;
}

export interface GitLabIngressOptions {
  config: GitLabConfig;
  inbox: Inbox;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** Known bot username (skips GET /user). */
  botUsername?: string | null;
  /** Wait before the n-th retry of GET /user (default 1 s doubling up to 60 s). */
  identityBackoffMs?: (attempt: number) => number;
  /** The API requester's retry rules (tests shorten the waits). */
  retry?: Partial<RetryPolicy>;
  /** When GitLab counts as unreachable and for how long requests then fail at once (see ../circuit.ts). */
  circuit?: Partial<CircuitLimits>;
  /** The circuit's wall clock (ms; default Date.now). */
  wallClock?: () => number;
  forge?: GitLabForgeOptions;
  /** Largest body read (bytes); the server refuses larger Content-Lengths before us. */
  maxBodyBytes?: number;
}

/** Metric labels stay few: any other header value counts as `other`. */
const KNOWN_EVENTS = new Set([
  'Issue Hook',
  'Confidential Issue Hook',
  'Merge Request Hook',
  'Note Hook',
  'Confidential Note Hook',
  'Pipeline Hook',
  'Release Hook',
  'Push Hook',
  'Tag Push Hook',
  'Job Hook',
  'System Hook',
]);

export { tokenMatches } from './webhook-secrets.ts';

/** The project a payload names (`project.path_with_namespace`), or null. */
const projectPath = (payload: object): string | null => {
  const project = (payload as { project?: unknown }).project;
  const path =
    typeof project === 'object' && project !== null ? (project as { path_with_namespace?: unknown }).path_with_namespace : undefined;
  return typeof path === 'string' && path !== '' ? path : null;
};

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined || s.trim() === '' ? undefined : s.trim();
};

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A delivery id must be a short printable token; anything else is replaced by the body's hash. */
const usableId = (id: string | undefined): string | undefined => (id && id.length <= 200 && /^[\x21-\x7e]+$/.test(id) ? id : undefined);

export function createGitLabIngress(opts: GitLabIngressOptions): GitLabIngress {
  const { inbox, metrics, logger, config } = opts;
  const max = opts.maxBodyBytes ?? 25 * 1024 * 1024;
  const secrets = scopedSecrets(config.webhookSecret);
  const circuit = new PlatformCircuit('GitLab', opts.circuit, opts.wallClock ?? Date.now, (state) => {
    if (state.kind === 'open')
      logger.warn(
        {
          platform: 'gitlab',
          since: new Date(state.since).toISOString(),
          until: new Date(state.until).toISOString(),
          error: state.lastError,
        },
        'GitLab unreachable: requests fail at once until the cool-down ends (deliveries are retried by the queue)',
      );
    else if (state.kind === 'closed') logger.info({ platform: 'gitlab' }, 'GitLab answers again');
  });
  const turns = new WriteTurns(gitlabTurnLimits);
  const api: GitLabApi = createGitLabApi({ url: config.url, token: config.token, retry: opts.retry, circuit, turns });
  /** Release evidence per merge request and head commit, shared by the worker's jobs. */
  const evidenceCache = new EvidenceCache();
  // Our sticky notes' ids per item, for every forge of this process (see ../sticky-comments.ts).
  const forgeOptions: GitLabForgeOptions = { stickies: new StickyComments(), logger, ...opts.forge };
  const identity = new SelfIdentity({
    known: opts.botUsername,
    learn: async () => currentUserSchema.parse(await api.users.showCurrentUser()).username,
    backoffMs: opts.identityBackoffMs,
    onError: (err, attempt) =>
      logger.warn(
        { err: err instanceof Error ? err.message : String(err), attempt },
        'could not learn the GitLab token user (GET /user); nothing is done until it is known',
      ),
  });
  /** Our username, or an error: acting without it we could edit someone else's note. */
  const self = (): string => {
    if (identity.name === null) throw new Error('GitLab token user unknown (GET /user failed): not acting yet');
    return identity.name;
  };
  const everyProject = secrets.some((s) => s.scope !== null);
  let confirm: ReturnType<typeof gitlabConfirmer> | null = null;
  const refusals = new RefusalLog(logger, 'GitLab webhook refused');

  const handler = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const scopes = matchingScopes(header(req, 'x-gitlab-token'), secrets);
    // Nothing of the body is read before the token, the event and the type are right.
    if (scopes.length === 0) {
      metrics.deliveries.inc({ platform: 'gitlab', event: 'unverified', outcome: 'refused' });
      refusals.note('token');
      return refuse(req, res, 401, { error: 'missing or wrong X-Gitlab-Token' });
    }
    const eventName = header(req, 'x-gitlab-event');
    if (!eventName) return refuse(req, res, 400, { error: 'missing X-Gitlab-Event' });
    // GitLab sends JSON as application/json; anything else is refused before the body is read.
    if ((header(req, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase() !== 'application/json') {
      return refuse(req, res, 415, { error: 'GitLab webhooks send application/json' });
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, max);
    } catch (err) {
      if (err instanceof ClientGone) return; // nothing to answer
      if (!(err instanceof BodyTooLarge)) throw err;
      return refuse(req, res, 413, { error: `body larger than ${max} bytes` });
    }
    const text = raw.toString('utf8');
    let payload: unknown;
    try {
      payload = JSON.parse(text);
    } catch {
      return send(res, 400, { error: 'body is not JSON' });
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
      return send(res, 400, { error: 'body is not a JSON object' });
    // A project's (or group's) secret speaks for that project (group) only.
    const project = projectPath(payload);
    if (!covers(scopes, project)) {
      logger.warn(
        { project: project ?? '(none)', event: eventName, scopes },
        'GitLab delivery refused: its token is the webhook secret of another project or group',
      );
      metrics.deliveries.inc({ platform: 'gitlab', event: KNOWN_EVENTS.has(eventName) ? eventName : 'other', outcome: 'refused' });
      return send(res, 403, { error: 'the X-Gitlab-Token is not the webhook secret of this project' });
    }
    // GitLab keeps Idempotency-Key (and X-Gitlab-Event-UUID) across its retries. Without either
    // (old GitLab, a replay by hand), the body's hash stands in: the same body is the same delivery.
    const bodyDigest = createHash('sha256').update(raw).digest('hex');
    const deliveryId = usableId(header(req, 'idempotency-key')) ?? usableId(header(req, 'x-gitlab-event-uuid')) ?? `sha256:${bodyDigest}`;
    // The same body under a new id is a replay: acknowledged, not acted on again.
    const { inserted, duplicateOf } = await inbox.accept({
      platform: 'gitlab',
      deliveryId,
      eventName,
      payload: text,
      receivedAt: opts.now(),
      bodyDigest,
    });
    if (duplicateOf !== undefined)
      logger.warn(
        { platform: 'gitlab', delivery: deliveryId, duplicateOf, event: eventName, project },
        'a replay: this body was delivered before under another id; acknowledged, not acted on again',
      );
    metrics.deliveries.inc({
      platform: 'gitlab',
      event: KNOWN_EVENTS.has(eventName) ? eventName : 'other',
      outcome: inserted ? 'accepted' : 'duplicate',
    });
    send(res, 200, { ok: true, duplicate: !inserted });
  };

  return {
    handler,
    identity,
    circuit,
    turns,
    platform: {
      self: (waitMs) => identity.wait(waitMs),
      translate: (delivery, payload) => translateGitLab(delivery.eventName, delivery.deliveryId, payload, self()),
      confirm: (event) => {
        confirm ??= gitlabConfirmer({ api, botUsername: self(), everyProject, now: opts.now });
        return confirm(event);
      },
      releaseFor: async () => new GitLabReleaseForge(api, { botUsername: self(), cache: evidenceCache, now: opts.now }),
      // Without our username we could edit someone else's note: known first, or retried later.
      forgeFor: async () => new GitLabForge(api, self(), forgeOptions),
      forgeForRepo: async () => new GitLabForge(api, self(), forgeOptions),
    },
  };
}
