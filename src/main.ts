/** Wires the shell: storage, queue, platforms, worker and the HTTP server. */
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { createLogger } from './logger.ts';
import { createGitHubIngress, UNAUTHENTICATED_BYTES, type GitHubIngress, type GitHubIngressOptions } from './adapters/github/app.ts';
import { ByteBudget } from './adapters/http/body.ts';
import type { GitLabIngress } from './adapters/gitlab/app.ts';
import type { RetryPolicy } from './adapters/gitlab/requester.ts';
import type { Config } from './config/env.ts';
import type { Slack } from './slack.ts';
import { ClockScheduler } from './jobs/clock-scheduler.ts';
import { ExceptionReminders } from './jobs/exception-reminders.ts';
import { DigestScheduler } from './jobs/digest-scheduler.ts';
import { processDelivery, processEvaluation, resumeWaiting, type ProcessDeps } from './jobs/process-delivery.ts';
import { loadGlobalPolicy } from './policy/global.ts';
import { PolicyResolver } from './policy/resolver.ts';
import type { Store } from './ports/store.ts';
import type { ChatStore } from './storage/chat-store.ts';
import type { JobQueue } from './ports/queue.ts';
import { createRenderer } from './render/templates.ts';
import { createHttpServer, createMetricsServer } from './server/http.ts';
import { createPageHandler } from './server/page.ts';
import { createMetrics, type Metrics } from './server/metrics.ts';
import { readinessProbe, type ReadinessCheck } from './server/readiness.ts';
import { migrationNames } from './storage/migrations.ts';
import { sql } from 'kysely';
import { openStore, pgConnectProblem, type OpenedStore, type QueueOptions } from './storage/open.ts';
import { gateStoreFor } from './storage/gate-store.ts';
import { toolDecisionStore } from './storage/tool-decisions.ts';
import { digestSource } from './storage/digest-source.ts';
import { missedDeliveryLedger } from './storage/missed-deliveries.ts';
import { threatLogStore } from './storage/threat-decisions.ts';
import { commandLedger } from './storage/command-uses.ts';
import type { GateStore } from './ports/gate-store.ts';
import type { DeliveryIntake } from './storage/inbox.ts';
import { MissedDeliverySweeper } from './jobs/redelivery.ts';
import type { CircuitLimits } from './adapters/circuit.ts';
import { HandedBack } from './ports/work-slot.ts';

export interface StartOptions {
  config: Config;
  now?: () => Date;
  logger?: Logger;
  /** GitHub adapter settings for tests and benchmarks. */
  github?: {
    botLogin?: string | null;
    retries?: number;
    throttle?: boolean;
    pacing?: GitHubIngressOptions['pacing'];
    identityBackoffMs?: (attempt: number) => number;
    circuit?: Partial<CircuitLimits>;
  } & GitHubIngressOptions['client'];
  /** GitLab adapter settings for tests: a known bot username skips GET /user. */
  gitlab?: {
    botUsername?: string | null;
    retry?: Partial<RetryPolicy>;
    identityBackoffMs?: (attempt: number) => number;
    circuit?: Partial<CircuitLimits>;
  };
  /** How long a job waits for the bot's own account to be learnt before it is retried later. Default 30 s. */
  identityWaitMs?: number;
  queue?: QueueOptions;
  /**
   * The database, already being opened (the CLI begins it before loading the rest of the
   * application: a new embedded database takes seconds to create, on its own thread). Closed here
   * if start-up fails. Without it, `startGatehouse` opens the database itself.
   */
  opening?: Promise<OpenedStore>;
  /** Do not start the worker (the ingest benchmark measures acknowledgements alone). */
  worker?: boolean;
  /** Clock scheduler period; 0 leaves ticking to the caller (tests with an injected clock). Default 30 s. */
  clockTickMs?: number;
  /** Start the digest scheduler with the worker (default true; tests whose clock is real turn it off, or a Monday's digest would join their Slack traffic). */
  digests?: boolean;
  /** Slack settings for tests: outbox polling and retry backoff; `outbox: false` leaves draining to the caller. */
  slack?: { pollMs?: number; backoffMs?: (attempt: number) => number; outbox?: boolean; leaseMs?: number };
  /** Missed-delivery sweep period (GitHub redeliveries, disabled GitLab hooks); 0 leaves sweeping to the caller. Default 10 min. */
  sweepMs?: number;
  /**
   * The release gate's window after a check, status or pipeline concludes: conclusions on the
   * same commit within it share one evaluation. Default `config.gateDebounceMs`, else 0 (each
   * conclusion evaluates at once).
   */
  gateDebounceMs?: number;
  /** How long each readiness check (`GET /readyz`) may take before it counts as not ready. Default 2 s. */
  readinessTimeoutMs?: number;
}

export interface Gatehouse {
  server: Server;
  url: string;
  /** The metrics listener's URL when METRICS_PORT gives it one of its own (else null: /metrics is on `url`). */
  metricsUrl: string | null;
  store: Store;
  /** Where deliveries arrive: `accept` resolves once the delivery is stored with its job. */
  inbox: DeliveryIntake;
  queue: JobQueue;
  metrics: Metrics;
  logger: Logger;
  clocks: ClockScheduler;
  /** The release gate's decision records, exception register and emergency records. */
  gateStore: GateStore;
  /** Slack, when configured. */
  slack: Slack | null;
  /** The escalation outbox (filled whether or not Slack is on; drained when it is). */
  outbox: ChatStore;
  /** Exception expiry reminders (ticked hourly with the worker; tests tick it themselves). */
  reminders: ExceptionReminders;
  /** Failed GitHub deliveries asked again, disabled GitLab hooks reported (null with neither on). */
  missed: MissedDeliverySweeper | null;
  /** The operating cadence's digests (ticked every minute with the worker; tests tick it themselves). */
  digests: DigestScheduler;
  close(): Promise<void>;
}

export async function startGatehouse(opts: StartOptions): Promise<Gatehouse> {
  const { config } = opts;
  const now = opts.now ?? (() => new Date());
  const logger = opts.logger ?? createLogger(config.logLevel);
  let global: Awaited<ReturnType<typeof loadGlobalPolicy>>;
  try {
    global = await loadGlobalPolicy(config.policyPath);
  } catch (err) {
    await opts.opening?.then((o) => o.close()).catch(() => undefined);
    throw err;
  }
  const opened = await (opts.opening ?? openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger, queue: opts.queue }));
  const metrics = createMetrics();
  const { store, queue } = opened;
  const gateStore = gateStoreFor(opened, {
    dataDir: config.dataDir,
    ...(config.chainKey === undefined ? {} : { chainKey: config.chainKey }),
  });
  metrics.setDepthSource(() => queue.depth());
  metrics.setPacingSource(() => queue.pacing);
  metrics.setFailedSource(() => store.countDeliveries('failed'));
  metrics.setOutboxSource(() => opened.store.outbox.countByStatus());

  // One bound on bytes of bodies not yet verified (GitHub's and Slack's signatures cover the whole body).
  const unauthenticated = new ByteBudget(UNAUTHENTICATED_BYTES);
  let github: GitHubIngress | null = null;
  let gitlab: GitLabIngress | null = null;
  try {
    if (config.github) {
      github = await createGitHubIngress({
        config: config.github,
        inbox: opened.inbox,
        metrics,
        logger,
        now,
        unauthenticated,
        botLogin: opts.github?.botLogin,
        identityBackoffMs: opts.github?.identityBackoffMs,
        retries: opts.github?.retries,
        throttle: opts.github?.throttle,
        pacing: opts.github?.pacing,
        client: opts.github,
        circuit: opts.github?.circuit,
      });
    }
    if (config.gitlab) {
      // GitLab's and Slack's adapters (and their clients, gitbeaker and Bolt) are loaded only when
      // that platform is on: a process without them does not hold their code.
      const { createGitLabIngress } = await import('./adapters/gitlab/app.ts');
      gitlab = createGitLabIngress({
        config: config.gitlab,
        inbox: opened.inbox,
        metrics,
        logger,
        now,
        botUsername: opts.gitlab?.botUsername,
        identityBackoffMs: opts.gitlab?.identityBackoffMs,
        retry: opts.gitlab?.retry,
        circuit: opts.gitlab?.circuit,
      });
    }
  } catch (err) {
    metrics.close();
    await opened.close();
    throw err;
  }

  const deps: ProcessDeps = {
    store,
    gateStore,
    toolDecisions: toolDecisionStore(opened.db),
    threatLog: threatLogStore(opened.db),
    commandLedger: commandLedger(opened.db),
    resolver: new PolicyResolver(global, { audit: { store, now } }),
    render: createRenderer(),
    metrics,
    logger,
    now,
    platforms: { ...(github ? { github: github.platform } : {}), ...(gitlab ? { gitlab: gitlab.platform } : {}) },
    identityWaitMs: opts.identityWaitMs,
  };
  const gateDebounceMs = opts.gateDebounceMs ?? config.gateDebounceMs ?? 0;
  if (gateDebounceMs > 0) deps.evaluations = { queue, delayMs: gateDebounceMs };

  // The embedded database has one process at a time: claims found at start are a dead run's.
  const soleWorker = opened.kind !== 'postgres';
  const clocks = new ClockScheduler({ ...deps, soleWorker });

  // Slack: the ingress, chat-ops in the worker, and the outbox that sends escalation notices.
  const slackSetup = config.slack ? await import('./slack.ts') : null;
  const slack: Slack | null =
    config.slack && slackSetup
      ? slackSetup.startSlack({
          config: config.slack,
          unauthenticated,
          policy: () => global.policy,
          store,
          outbox: opened.store.outbox,
          inbox: opened.inbox,
          platforms: { ...(github ? { github: github.platform } : {}), ...(gitlab ? { gitlab: gitlab.platform } : {}) },
          hosts: slackSetup.forgeHosts(config),
          metrics,
          logger,
          now,
          pollMs: opts.slack?.pollMs,
          backoffMs: opts.slack?.backoffMs,
          leaseMs: opts.slack?.leaseMs,
          soleWorker,
          gateStore,
          gateVerdict: async (key) => {
            const d = await gateStore.latestGateDecision(key);
            return d ? { verdict: d.verdict, releaseClass: d.releaseClass, decidedAt: d.decidedAt } : null;
          },
        })
      : null;
  if (slack) deps.chatops = slack.ops;

  const gitlabApi =
    gitlab && config.gitlab
      ? (await import('./adapters/gitlab/client.ts')).createGitLabApi({
          url: config.gitlab.url,
          token: config.gitlab.token,
          retry: opts.gitlab?.retry,
          circuit: gitlab.circuit,
          turns: gitlab.turns,
        })
      : null;
  const missed =
    github || gitlab
      ? new MissedDeliverySweeper({
          ledger: missedDeliveryLedger(opened.db),
          store,
          logger,
          now,
          github: github ? { app: github.app } : null,
          gitlab: gitlabApi && config.gitlab ? { rest: gitlabApi.rest, url: config.gitlab.url } : null,
          escalationChannel: () => global.policy.chat.escalationChannel,
        })
      : null;

  let ready = false;
  // Slack's token, checked when readiness is asked (auth.test), and again every 5 minutes once it worked.
  let slackVerifiedAt = -Infinity;
  const latestMigration = migrationNames().at(-1) ?? '';
  const readinessChecks: ReadinessCheck[] = [
    {
      // Reachable (a cheap query) and migrated (this version's last migration is recorded).
      name: 'database',
      probe: async () => {
        try {
          const { rows } = await sql<{ name: string | null }>`select max(name) as name from gatehouse_migration`.execute(opened.db);
          const at = rows[0]?.name ?? null;
          return at !== null && at >= latestMigration
            ? null
            : `migrations not done (at ${at ?? 'none'}, this version needs ${latestMigration})`;
        } catch (err) {
          if (config.databaseUrl) throw pgConnectProblem(err, config.databaseUrl);
          throw new Error(`the embedded database does not answer (${err instanceof Error ? err.message : String(err)})`, { cause: err });
        }
      },
    },
    ...(github
      ? [
          {
            name: 'github',
            probe: () =>
              github.identity.name !== null
                ? null
                : `the GitHub App's identity is not known yet (GET /app${github.identity.lastError ? ` failed: ${github.identity.lastError}` : ' has not answered'}); check APP_ID, PRIVATE_KEY and GHE_HOST`,
          },
        ]
      : []),
    ...(gitlab
      ? [
          {
            name: 'gitlab',
            probe: () =>
              gitlab.identity.name !== null
                ? null
                : `the GitLab token's user is not known yet (GET /user${gitlab.identity.lastError ? ` failed: ${gitlab.identity.lastError}` : ' has not answered'}); check GITLAB_URL and GITLAB_TOKEN`,
          },
        ]
      : []),
    ...(slack
      ? [
          {
            name: 'slack',
            probe: async () => {
              if (Date.now() - slackVerifiedAt < 300_000) return null;
              const why = await slack.web.verify();
              if (why === null) slackVerifiedAt = Date.now();
              return why;
            },
          },
        ]
      : []),
  ];
  const slackUrlCheck =
    !slack && config.slackUrlCheck
      ? (await import('./adapters/slack/ingress.ts')).createSlackUrlCheck({
          signingSecret: config.slackUrlCheck.signingSecret,
          reason: config.off.slack ?? 'Slack is off',
          metrics,
          logger,
          now,
          unauthenticated,
        })
      : null;
  const server = createHttpServer({
    github: github ? github.middleware : { off: config.off.github ?? 'GitHub is off' },
    gitlab: gitlab ? gitlab.handler : { off: config.off.gitlab ?? 'GitLab is off' },
    slack: slack ? slack.ingress.handler : (slackUrlCheck ?? { off: config.off.slack ?? 'Slack is off' }),
    ready: () => ready,
    readiness: readinessProbe(readinessChecks, opts.readinessTimeoutMs),
    page: createPageHandler({
      digests: digestSource(opened.db),
      policy: () => global.policy,
      token: config.pageToken,
      trustedProxies: config.trustedProxies ?? [],
      now,
      log: (fields, message) => logger.warn(fields, message),
      audit: (entry) => store.appendAudit(entry),
    }),
    metrics,
    metricsHere: config.metrics === undefined,
    onError: (err) => logger.error({ err }, 'request failed'),
  });

  if (opts.worker !== false) {
    await queue.work(
      async (job) => {
        try {
          await processDelivery(job, deps);
        } catch (err) {
          // Waiting for a write turn far away: the queue runs the job again then (not an attempt).
          if (err instanceof HandedBack) throw err;
          // The queue counts the attempt and keeps the error on the row; it retries with backoff.
          const message = err instanceof Error ? err.message : String(err);
          logger.warn({ ...job, err: message }, 'delivery failed; will retry');
          metrics.deliveries.inc({ platform: job.platform, event: 'unknown', outcome: 'retried' });
          throw err;
        }
      },
      async (job, error) => {
        // The queue marked its row failed, with this error.
        logger.error({ ...job, error }, 'delivery failed after every retry; kept as failed for inspection');
        metrics.deliveries.inc({ platform: job.platform, event: 'unknown', outcome: 'failed' });
      },
    );
    await queue.workEvaluations(async (job) => {
      try {
        await processEvaluation(job, deps);
      } catch (err) {
        if (err instanceof HandedBack) throw err;
        logger.warn(
          { repo: job.repo.fullName, sha: job.sha, err: err instanceof Error ? err.message : String(err) },
          'gate evaluation failed; will retry',
        );
        throw err;
      }
    });
  }
  // Our own accounts, learnt (with retries) before any delivery of theirs is acted on.
  github?.identity.start();
  gitlab?.identity.start();
  const reminders = new ExceptionReminders({ store, gateStore, policy: () => global.policy, metrics, logger, now });
  // Clocks and reminders act on the platforms: they start once our own accounts are known (a
  // clock claimed and fired without them would fail and wait out its lease).
  let stopped = false;
  if (opts.worker !== false && (opts.clockTickMs ?? 30_000) > 0) {
    void Promise.all([github?.identity.known(), gitlab?.identity.known()]).then(() => {
      if (stopped) return;
      clocks.start(opts.clockTickMs ?? 30_000);
      reminders.start();
    });
  }
  const digests = new DigestScheduler({ store, digests: digestSource(opened.db), policy: () => global.policy, logger, now });
  if (opts.worker !== false && (opts.clockTickMs ?? 30_000) > 0 && opts.digests !== false) digests.start();
  if (slack && opts.worker !== false && opts.slack?.outbox !== false) slack.outbox.start();
  if (missed && opts.worker !== false && (opts.sweepMs ?? 600_000) > 0) missed.start(opts.sweepMs ?? 600_000);

  const metricsServer = config.metrics ? createMetricsServer(metrics, (err) => logger.error({ err }, 'metrics request failed')) : null;
  const listen = (s: Server, port: number, host: string) =>
    new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, host, () => resolve());
    });
  try {
    await listen(server, config.port, config.host ?? '0.0.0.0');
    if (metricsServer && config.metrics) await listen(metricsServer, config.metrics.port, config.metrics.host);
  } catch (err) {
    await stopListening(server);
    if (metricsServer) await stopListening(metricsServer);
    // Nothing may keep running when start-up fails (the database thread, the queue, the clock timer).
    stopped = true;
    github?.identity.stop();
    gitlab?.identity.stop();
    await clocks.stop();
    await reminders.stop();
    await digests.stop();
    await slack?.outbox.stop();
    await missed?.stop();
    await gateStore.close();
    await opened.close();
    metrics.close();
    throw err;
  }
  ready = true;
  const address = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${address.port}`;
  const metricsAddress = metricsServer?.address() as AddressInfo | undefined;
  const metricsUrl =
    metricsAddress && config.metrics
      ? `http://${config.metrics.host === '0.0.0.0' ? '127.0.0.1' : config.metrics.host.includes(':') ? `[${config.metrics.host}]` : config.metrics.host}:${metricsAddress.port}`
      : null;
  const on = (['github', 'gitlab', 'slack'] as const).filter((p) =>
    p === 'github' ? github !== null : p === 'gitlab' ? gitlab !== null : slack !== null,
  );
  logger.info(
    {
      port: address.port,
      platforms: { on, off: Object.values(config.off) },
      database: config.databaseUrl ? 'postgresql' : `embedded (${config.dataDir})`,
      policy: global.source,
    },
    `gatehouse listening on :${address.port}; platforms on: ${on.length > 0 ? on.join(', ') : 'none'}`,
  );
  for (const reason of Object.values(config.off)) logger.info(reason);
  // Deliveries kept for a platform that was off: queued again now that it is on, or counted.
  if (opts.worker !== false) {
    try {
      const waiting = await resumeWaiting({ store, queue, on });
      for (const [platform, n] of Object.entries(waiting))
        logger.warn(
          { platform, waiting: n },
          `${n} ${platform} deliveries wait, pending, until ${platform} is configured: ${config.off[platform as keyof typeof config.off] ?? 'it is off'}`,
        );
    } catch (err) {
      logger.error(
        { err: err instanceof Error ? err.message : String(err) },
        'could not queue again the deliveries kept while a platform was off; they stay pending',
      );
    }
  }
  if (metricsAddress && config.metrics)
    logger.info(
      { metrics: `${config.metrics.host}:${metricsAddress.port}` },
      `metrics on ${config.metrics.host}:${metricsAddress.port} (not on the main port)`,
    );

  let closing: Promise<void> | null = null;
  return {
    server,
    url,
    metricsUrl,
    store,
    inbox: opened.inbox,
    queue,
    metrics,
    logger,
    clocks,
    gateStore,
    slack,
    outbox: opened.store.outbox,
    reminders,
    missed,
    digests,
    close() {
      closing ??= (async () => {
        const began = Date.now();
        /** One step of the shutdown, given at most `limitMs`: what is still running after it is handed back. */
        const step = async (name: string, work: () => Promise<unknown> | undefined, limitMs = 10_000): Promise<void> => {
          const t = Date.now();
          let timer: NodeJS.Timeout | undefined;
          try {
            const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), limitMs)));
            if ((await Promise.race([work(), late])) === 'late')
              logger.warn(
                { step: name, limitMs },
                'a step of the shutdown is still running; not waiting for it (its work is handed back: leases run out, jobs are retried)',
              );
          } catch (err) {
            logger.warn({ step: name, err: err instanceof Error ? err.message : String(err) }, 'a step of the shutdown failed; going on');
          }
          clearTimeout(timer);
          logger.debug({ step: name, ms: Date.now() - t }, 'shutdown step done');
        };
        ready = false;
        stopped = true;
        github?.identity.stop();
        gitlab?.identity.stop();
        // No new requests; the schedulers stop taking work; running jobs get the queue's stop
        // timeout to finish, then are handed back (retried by the next start or another replica).
        await step('http', () => stopListening(server));
        if (metricsServer) await step('metrics', () => stopListening(metricsServer));
        await step(
          'schedulers',
          () => Promise.all([clocks.stop(), reminders.stop(), digests.stop(), slack?.outbox.stop(), missed?.stop()]),
          2_000,
        );
        await step('gate store', () => gateStore.close());
        await step('database', () => opened.close());
        metrics.close();
        logger.info({ ms: Date.now() - began }, 'shut down');
      })();
      return closing;
    },
  };
}

/** Closes a server (one never listening closes at once) and its open connections. */
function stopListening(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
