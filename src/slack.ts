/**
 * Slack, assembled: the ingress on the shared server, the Web API client, the chat-ops worker side
 * and the outbox that sends escalation notices. `startSlack` is what main.ts calls when Slack is on.
 * Wiring, beside main.ts: it builds the jobs (ChatOps, ChatOutbox) on the Slack adapter's parts.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Hosts } from './core/chat/command.ts';
import type { Policy } from './core/policy/schema.ts';
import type { SlackConfig } from './config/env.ts';
import { ChatOps } from './jobs/chat-ops.ts';
import { ChatOutbox } from './jobs/chat-outbox.ts';
import type { PlatformAdapter } from './ports/platform.ts';
import type { Inbox } from './ports/queue.ts';
import type { PlanStore } from './jobs/execute.ts';
import type { Metrics } from './ports/metrics.ts';
import type { ChatStore } from './storage/chat-store.ts';
import { fallbackText } from './adapters/slack/blocks.ts';
import type { ByteBudget } from './adapters/http/body.ts';
import { createSlackIngress, ephemeral, type SlackIngress } from './adapters/slack/ingress.ts';
import { SlackWeb } from './adapters/slack/web.ts';

export interface SlackOptions {
  config: SlackConfig;
  policy: () => Policy;
  store: PlanStore;
  outbox: ChatStore;
  inbox: Inbox;
  platforms: Partial<Record<'github' | 'gitlab', PlatformAdapter>>;
  hosts: Hosts;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  /** Outbox polling (other replicas' notices, retries). Default 1000 ms. */
  pollMs?: number;
  backoffMs?: (attempt: number) => number;
  /** The outbox's lease (default 2 minutes): how long a dead replica's claimed notices wait. */
  leaseMs?: number;
  /** This process is the only one on the database (embedded): leases left by a dead run are given up at start. */
  soleWorker?: boolean;
  gateVerdict?: ConstructorParameters<typeof ChatOps>[0]['gateVerdict'];
  gateStore?: ConstructorParameters<typeof ChatOps>[0]['gateStore'];
  /** The bound on unverified bytes in flight, shared with the GitHub route. */
  unauthenticated?: ByteBudget;
}

export interface Slack {
  ingress: SlackIngress;
  ops: ChatOps;
  outbox: ChatOutbox;
  web: SlackWeb;
}

const responseUrl = z.string().url();

/** Posts a later, ephemeral answer to a response_url that came in a signed Slack request. */
async function respond(url: string, text: string, logger: Logger): Promise<void> {
  if (!responseUrl.safeParse(url).success) return;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...ephemeral(text), replace_original: false }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) logger.warn({ status: res.status }, 'Slack response_url refused the answer');
}

export function startSlack(opts: SlackOptions): Slack {
  const { logger } = opts;
  const web = new SlackWeb({ token: opts.config.botToken, apiUrl: opts.config.apiUrl });
  const answer = (url: string, text: string): Promise<void> => respond(url, text, logger);
  const ops = new ChatOps({
    store: opts.store,
    outbox: opts.outbox,
    chat: web,
    policy: opts.policy,
    platforms: opts.platforms,
    hosts: opts.hosts,
    metrics: opts.metrics,
    logger,
    now: opts.now,
    respond: answer,
    gateVerdict: opts.gateVerdict,
    gateStore: opts.gateStore,
  });
  const ingress = createSlackIngress({
    signingSecret: opts.config.signingSecret,
    botToken: opts.config.botToken,
    command: opts.policy().chat.command,
    hosts: opts.hosts,
    inbox: opts.inbox,
    reader: ops,
    metrics: opts.metrics,
    logger,
    now: opts.now,
    respond: answer,
    unauthenticated: opts.unauthenticated,
  });
  const outbox = new ChatOutbox({
    outbox: opts.outbox,
    chat: web,
    now: opts.now,
    logger: logger.child({ component: 'chat-outbox' }),
    metrics: opts.metrics,
    sendIntervalMs: () => opts.policy().chat.sendIntervalMs,
    fallbackText,
    pollMs: opts.pollMs,
    backoffMs: opts.backoffMs,
    leaseMs: opts.leaseMs,
    soleWorker: opts.soleWorker,
  });
  return { ingress, ops, outbox, web };
}

/** The web hosts a pasted URL may name: GitHub's (from its API base) and GitLab's. */
export function forgeHosts(config: { github: { apiBaseUrl: string } | null; gitlab: { url: string } | null }): Hosts {
  const github: string[] = [];
  if (config.github) {
    const api = new URL(config.github.apiBaseUrl);
    github.push(api.host === 'api.github.com' ? 'github.com' : api.host);
  }
  const gitlab = config.gitlab ? [new URL(config.gitlab.url).host] : [];
  return { github, gitlab };
}
