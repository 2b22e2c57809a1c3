/**
 * Deliveries the platforms failed to bring us.
 *
 * GitHub never sends a failed delivery again by itself, and keeps it for redelivery three days.
 * The sweep lists the App's recent deliveries (`GET /app/hook/deliveries`, newest first, paged by
 * `cursor`), and for each one that failed (status code 0 or >= 400, or a status other than `OK`),
 * was delivered less than three days ago and whose guid Gatehouse has not stored (a delivery we
 * stored but answered late counts failed on GitHub's side and needs nothing), asks for it again
 * (`POST /app/hook/deliveries/{id}/attempts`), once per guid: the ask is recorded first, under a
 * unique key, so a restart or a second replica never asks twice. An ask GitHub refuses with a 5xx
 * or that never reaches it is forgotten and tried on the next sweep; a 4xx is kept as the outcome.
 *
 * GitLab pauses a project hook after four failures in a row and disables it after forty. For the
 * projects Gatehouse has seen (intakes, clocks, recent deliveries), the sweep reads the hooks
 * (`GET /projects/:id/hooks`) and reports each hook that is disabled or paused to the escalation
 * channel through the outbox, once per hook and state; a hook seen healthy again is reported
 * anew the next time it is disabled. (A hook that fails again while still paused keeps its state:
 * GitLab's growing pause is not reported each time.)
 */
import { z } from 'zod';
import type { Notice } from '../core/chat/notice.ts';
import type { MissedDeliveryLedger } from '../ports/missed-deliveries.ts';
import type { NotificationInput } from '../ports/notifications.ts';
import type { StoredDelivery } from '../ports/deliveries.ts';

export interface SweepLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

/** The App's own client (JWT auth): Octokit's `request`. */
export interface GitHubAppClient {
  request(
    route: string,
    params?: Record<string, unknown>,
  ): Promise<{ data: unknown; headers: Record<string, string | number | undefined> }>;
}

/** GitLab's REST requester (gitbeaker's, paths relative to `/api/v4/`). */
export interface GitLabRest {
  get(
    endpoint: string,
    options?: { searchParams?: Record<string, unknown> },
  ): Promise<{ body: unknown; headers: Record<string, string>; status: number }>;
}

export interface MissedDeliveryOptions {
  ledger: MissedDeliveryLedger;
  store: {
    getDelivery(platform: 'github', id: string): Promise<StoredDelivery | null>;
    enqueueNotification(n: NotificationInput): Promise<{ inserted: boolean }>;
  };
  logger: SweepLogger;
  now: () => Date;
  github?: { app: () => Promise<GitHubAppClient> } | null;
  /** `url`: the instance, e.g. `https://gitlab.example.com`. */
  gitlab?: { rest: GitLabRest; url: string } | null;
  /** The policy's escalation channel, read at each sweep. */
  escalationChannel: () => string;
  /** How far back GitHub can redeliver. Default 3 days. */
  maxAgeMs?: number;
  /** Pages of 100 deliveries read at most per sweep. Default 50. */
  maxPages?: number;
}

export interface GitHubSweep {
  listed: number;
  failed: number;
  /** Failed, but stored by Gatehouse: nothing to do. */
  stored: number;
  /** Asked before (this process or another). */
  alreadyAsked: number;
  asked: number;
  errors: number;
}

export interface GitLabSweep {
  projects: number;
  hooks: number;
  disabled: number;
  reported: number;
  errors: number;
}

const THREE_DAYS = 3 * 24 * 3600 * 1000;

const hookDelivery = z.object({
  id: z.number(),
  guid: z.string(),
  delivered_at: z.string(),
  status: z.string(),
  status_code: z.number(),
  event: z.string(),
  action: z.string().nullish(),
  redelivery: z.boolean().optional(),
});
const deliveriesPage = z.array(hookDelivery);
type HookDelivery = z.infer<typeof hookDelivery>;

const projectHook = z.object({
  id: z.number(),
  url: z.string(),
  alert_status: z.string().nullish(),
  disabled_until: z.string().nullish(),
});
const hooksPage = z.array(projectHook);

/** The `cursor` of the `rel="next"` link, or null on the last page. */
export function nextCursor(link: string | number | undefined): string | null {
  if (typeof link !== 'string') return null;
  for (const part of link.split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (!m) continue;
    try {
      return new URL(m[1]!, 'https://api.github.com').searchParams.get('cursor');
    } catch {
      return null;
    }
  }
  return null;
}

/** GitHub counted the delivery failed. */
export const deliveryFailed = (d: Pick<HookDelivery, 'status' | 'status_code'>): boolean =>
  d.status_code === 0 || d.status_code >= 400 || d.status !== 'OK';

/** A disabled or paused hook's state, or null when it is delivering. */
export function hookState(h: z.infer<typeof projectHook>, now: Date): 'disabled' | 'temporarily_disabled' | null {
  if (h.alert_status === 'disabled') return 'disabled';
  if (h.alert_status === 'temporarily_disabled') return 'temporarily_disabled';
  if (h.disabled_until && Date.parse(h.disabled_until) > now.getTime()) return 'temporarily_disabled';
  return null;
}

const statusOf = (err: unknown): number | undefined => {
  const e = err as { status?: unknown; cause?: { response?: { status?: unknown } } } | null;
  const s = e?.status ?? e?.cause?.response?.status;
  return typeof s === 'number' ? s : undefined;
};
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

const gitlabDeliveryProject = z.object({ project: z.object({ id: z.number(), path_with_namespace: z.string() }) });

export class MissedDeliverySweeper {
  readonly #o: MissedDeliveryOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<unknown> | null = null;
  #stopped = false;

  constructor(options: MissedDeliveryOptions) {
    this.#o = options;
  }

  /** Sweeps now, then every `periodMs`; sweeps never overlap. */
  start(periodMs: number): void {
    if (this.#timer || this.#stopped) return;
    const tick = (): void => {
      if (this.#running || this.#stopped) return;
      this.#running = this.sweep()
        .catch((err: unknown) => this.#o.logger.warn({ err: messageOf(err) }, 'missed-delivery sweep failed'))
        .finally(() => {
          this.#running = null;
        });
    };
    tick();
    this.#timer = setInterval(tick, periodMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  async sweep(): Promise<{ github: GitHubSweep | null; gitlab: GitLabSweep | null }> {
    const github = this.#o.github ? await this.sweepGitHub() : null;
    const gitlab = this.#o.gitlab ? await this.sweepGitLab() : null;
    return { github, gitlab };
  }

  async sweepGitHub(): Promise<GitHubSweep> {
    const { ledger, store, logger } = this.#o;
    const report: GitHubSweep = { listed: 0, failed: 0, stored: 0, alreadyAsked: 0, asked: 0, errors: 0 };
    if (!this.#o.github) return report;
    const app = await this.#o.github.app();
    const cutoff = this.#o.now().getTime() - (this.#o.maxAgeMs ?? THREE_DAYS);
    // Newest first; one guid may appear several times (redeliveries): the newest entry decides.
    const seen = new Set<string>();
    const candidates: HookDelivery[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < (this.#o.maxPages ?? 50); page++) {
      const res = await app.request('GET /app/hook/deliveries', { per_page: 100, ...(cursor ? { cursor } : {}) });
      const list = deliveriesPage.parse(res.data);
      let old = false;
      for (const d of list) {
        report.listed++;
        if (Date.parse(d.delivered_at) < cutoff) {
          old = true;
          continue;
        }
        if (seen.has(d.guid)) continue;
        seen.add(d.guid);
        if (deliveryFailed(d)) candidates.push(d);
      }
      cursor = nextCursor(res.headers['link']);
      if (old || !cursor || list.length === 0) break;
    }
    report.failed = candidates.length;
    for (const d of candidates) {
      if (await store.getDelivery('github', d.guid)) {
        report.stored++;
        continue;
      }
      const asked = await ledger.claimRedelivery({
        guid: d.guid,
        hookDeliveryId: d.id,
        event: d.action ? `${d.event}.${d.action}` : d.event,
        deliveredAt: new Date(d.delivered_at),
        askedAt: this.#o.now(),
      });
      if (!asked) {
        report.alreadyAsked++;
        continue;
      }
      try {
        await app.request('POST /app/hook/deliveries/{delivery_id}/attempts', { delivery_id: d.id });
        await ledger.settleRedelivery(d.guid, 'asked');
        report.asked++;
        logger.info(
          { guid: d.guid, event: d.event, deliveredAt: d.delivered_at, status: d.status },
          'asked GitHub to redeliver a failed delivery',
        );
      } catch (err) {
        report.errors++;
        const status = statusOf(err);
        logger.warn({ guid: d.guid, status, err: messageOf(err) }, 'GitHub refused to redeliver a failed delivery');
        // Refused for good (4xx): keep the outcome. Otherwise the ask may not have arrived: forget it.
        if (status !== undefined && status >= 400 && status < 500) {
          await ledger.settleRedelivery(d.guid, `refused: ${status} ${messageOf(err)}`.slice(0, 500));
        } else {
          await ledger.forgetRedelivery(d.guid);
        }
      }
    }
    if (report.failed > 0) logger.info({ ...report }, 'GitHub failed deliveries swept');
    return report;
  }

  /** GitLab projects Gatehouse has seen: `path_with_namespace` (ids where only an id is known). */
  async seenProjects(): Promise<string[]> {
    const { ledger } = this.#o;
    const projects = new Set(await ledger.gitlabProjects());
    // Recent deliveries (the last three days, newest 1,000): the payload names the project.
    const since = new Date(this.#o.now().getTime() - THREE_DAYS);
    for (const payload of await ledger.recentGitLabPayloads(since, 1000)) {
      try {
        const p = gitlabDeliveryProject.safeParse(JSON.parse(payload));
        if (p.success) projects.add(p.data.project.path_with_namespace);
      } catch {
        /* a payload that does not parse names no project */
      }
    }
    return [...projects].sort();
  }

  async sweepGitLab(): Promise<GitLabSweep> {
    const { ledger, logger } = this.#o;
    const report: GitLabSweep = { projects: 0, hooks: 0, disabled: 0, reported: 0, errors: 0 };
    const gitlab = this.#o.gitlab;
    if (!gitlab) return report;
    const projects = await this.seenProjects();
    report.projects = projects.length;
    for (const project of projects) {
      let hooks: z.infer<typeof hooksPage>;
      try {
        const res = await gitlab.rest.get(`projects/${encodeURIComponent(project)}/hooks`, { searchParams: { perPage: 100 } });
        hooks = hooksPage.parse(res.body);
      } catch (err) {
        // Reading hooks needs the Maintainer role; without it there is nothing to detect.
        report.errors++;
        logger.warn({ project, status: statusOf(err), err: messageOf(err) }, 'could not read the GitLab project hooks');
        continue;
      }
      for (const h of hooks) {
        report.hooks++;
        const key = `${project}#${h.id}`;
        const state = hookState(h, this.#o.now());
        if (state === null) {
          await ledger.hookHealthy(key);
          continue;
        }
        report.disabled++;
        const at = this.#o.now();
        // Whichever replica runs it, one of them learns the hook is new or changed and reports it.
        const reports = await ledger.hookAlert(key, state, at);
        if (reports === null) continue;
        const until = h.disabled_until ? ` until ${h.disabled_until}` : '';
        const notice: Notice = {
          kind: 'manual',
          title: `GitLab ${state === 'disabled' ? 'disabled' : 'paused'} the webhook of ${project}`,
          reasons: [
            state === 'disabled'
              ? `GitLab disabled hook ${h.id} (${h.url}) after repeated failures: it sends nothing until someone re-enables it`
              : `GitLab paused hook ${h.id} (${h.url})${until} after failures in a row`,
            `Events from ${project} do not reach Gatehouse meanwhile: check the hook's recent events in Settings → Webhooks, then Test it to re-enable`,
          ],
          severity: null,
          owner: null,
          due: [],
          url: `${gitlab.url.replace(/\/+$/, '')}/${project}/-/hooks`,
          labels: [],
          route: null,
          itemKey: null,
        };
        await this.#o.store.enqueueNotification({
          key: `gitlab-hook:${key}:${reports}`,
          channel: this.#o.escalationChannel(),
          text: `${notice.title}: ${notice.reasons[0]}`,
          notice,
          createdAt: at,
        });
        report.reported++;
        logger.warn(
          { project, hook: h.id, state, disabledUntil: h.disabled_until ?? null },
          'GitLab webhook disabled; reported to the escalation channel',
        );
      }
    }
    return report;
  }
}
