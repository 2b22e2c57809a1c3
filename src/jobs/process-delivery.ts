/** The worker's job: one stored delivery → event → plan → actions. */
import type { Logger } from 'pino';
import { changeKey, issueKey, type GatehouseEvent, type IssueCommentEvent, type IssueRef, type Platform } from '../core/model.ts';
import {
  needsChangedPaths,
  needsClocks,
  needsRelatedIntakes,
  needsThreatLog,
  plan,
  readIntake,
  relatedService,
  type PlanContext,
  type Render,
} from '../core/plan.ts';
import type { Policy } from '../core/policy/schema.ts';
import type { RelatedIntake } from '../core/workflows/planning.ts';
import type { PlatformAdapter } from '../ports/platform.ts';
import type { DeliveryJob, GateEvaluationJob, GateEvaluations, JobQueue } from '../ports/queue.ts';
import type { Deliveries, StoredDelivery } from '../ports/deliveries.ts';
import type { IntakeStore } from '../ports/intake-store.ts';
import type { KeyLock } from '../ports/key-lock.ts';
import type { TierDecisions } from '../ports/tier-decisions.ts';
import { PLATFORM_OFF } from '../ports/deliveries.ts';
import type { PolicyResolver } from '../policy/resolver.ts';
import type { Metrics } from '../ports/metrics.ts';
import { execute, type PlanStore } from './execute.ts';
import { commandAuthority } from '../core/workflows/commands.ts';
import type { ThreatLogStore } from '../ports/threat-log.ts';
import { needsToolDecisions, withDecisions } from '../core/workflows/tooling.ts';
import type { ToolDecisionStore } from '../ports/tool-decisions.ts';
import { exceptionFactsOnIssue, gateFactsOnChange, gateOnEvent, gateOnScheduled, gatePending } from './gate.ts';
import type { GateStore } from '../ports/gate-store.ts';
import type { CommandLedger } from '../ports/command-ledger.ts';
import { allowCommand, commandOf, commandWindowStart } from '../core/workflows/command-limit.ts';
import { yieldToRequests } from '../ports/yield.ts';

/**
 * What the delivery worker persists through: its delivery (read, then finished or kept pending),
 * the plan's records (`PlanStore`, read before planning and written by its actions), and one worker
 * per issue or change (`KeyLock`).
 */
export type DeliveryWorkStore = Pick<Deliveries, 'getDelivery' | 'finishDelivery' | 'failAttempt'> & PlanStore & KeyLock;

export interface ProcessDeps {
  store: DeliveryWorkStore;
  resolver: PolicyResolver;
  render: Render;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  platforms: Partial<Record<Platform, PlatformAdapter>>;
  /** The release gate's decision records and exception register (the gate is off without it). */
  gateStore?: GateStore;
  /** Carries out stored Slack requests (escalate, notice buttons), when Slack is on. */
  chatops?: { handle(delivery: StoredDelivery): Promise<'done' | 'invalid'> };
  /** Tooling intake decisions, overlaid on the policy's inventory (the decide command is refused without it). */
  toolDecisions?: ToolDecisionStore;
  /** The threat-model decision log of deep reviews. */
  threatLog: ThreatLogStore;
  /** The commands each account sent lately (the per-account command limit counts them here). */
  commandLedger: CommandLedger;
  /** How long a job waits for the bot's own account before it is retried later. Default 30 s. */
  identityWaitMs?: number;
  /** Gate re-evaluations on concluded checks, debounced per commit by `delayMs` (absent or 0: at once). */
  evaluations?: { queue: GateEvaluations; delayMs: number };
}

/** The bot's own account on the platform is not known yet: the delivery is retried later, never acted on with a guess. */
export class IdentityUnknown extends Error {}

/**
 * The policy as plan sees it for tooling: the inventory overlaid with the stored decisions, for
 * decide commands, outages (their clocks) and feature requests only.
 */
async function withToolDecisions<R extends { policy: Policy }>(resolved: R, event: GatehouseEvent, deps: ProcessDeps): Promise<R> {
  if (!deps.toolDecisions || !needsToolDecisions(event, resolved.policy)) return resolved;
  return { ...resolved, policy: withDecisions(resolved.policy, await deps.toolDecisions.list()) };
}

export async function processDelivery(job: DeliveryJob, deps: ProcessDeps): Promise<void> {
  const { store, logger, metrics } = deps;
  const delivery = await store.getDelivery(job.platform, job.deliveryId);
  if (!delivery) {
    // A replay on the embedded database gets a job with its acknowledgement, but is not stored.
    logger.warn({ ...job }, 'job for a delivery that is not stored (a replay of an earlier body, or removed): nothing to do');
    return;
  }
  if (delivery.status !== 'pending') return; // a repeated job: already handled
  const log = logger.child({ platform: delivery.platform, delivery: delivery.deliveryId, event: delivery.eventName });
  /** `invalid` is a failed delivery whose payload was at fault, `refused` an ignored one that was forged (both counted apart in the metrics). */
  const finish = async (outcome: 'done' | 'ignored' | 'failed' | 'invalid' | 'refused', reason: string | null): Promise<void> => {
    const status = outcome === 'invalid' ? 'failed' : outcome === 'refused' ? 'ignored' : outcome;
    await store.finishDelivery(delivery.platform, delivery.deliveryId, status, reason);
    metrics.deliveries.inc({ platform: delivery.platform, event: delivery.eventName, outcome });
  };

  /**
   * The platform is off (its credentials unset, or not yet): the delivery stays pending, its job
   * ends, and the next start with the platform on queues it again (see `resumeWaiting`).
   */
  const wait = async (): Promise<void> => {
    log.info('delivery for a platform that is off: it waits, pending, until the platform is configured');
    await store.failAttempt(delivery.platform, delivery.deliveryId, `${delivery.platform} ${PLATFORM_OFF}`);
    metrics.deliveries.inc({ platform: delivery.platform, event: delivery.eventName, outcome: 'waiting' });
  };
  if (delivery.platform === 'slack') {
    if (!deps.chatops) return wait();
    return finish(await deps.chatops.handle(delivery), null);
  }
  const adapter = deps.platforms[delivery.platform];
  if (!adapter) return wait();
  // Nothing is done before we know who we are: our own comments would be someone else's.
  if (adapter.self && (await adapter.self(deps.identityWaitMs ?? 30_000)) === null) {
    throw new IdentityUnknown(`our own ${delivery.platform} account is not known yet: the delivery waits`);
  }
  // The heavy steps on this thread (reading the payload, translating it, planning) each run on
  // their own turn of the event loop: the HTTP server answers in between.
  await yieldToRequests();
  let payload: unknown;
  try {
    payload = JSON.parse(delivery.payload);
  } catch {
    log.warn('delivery body is not JSON');
    return finish('invalid', 'body is not JSON');
  }
  await yieldToRequests();
  const t = adapter.translate(delivery, payload);
  payload = undefined;
  await yieldToRequests();
  if (t.kind === 'invalid') {
    log.warn({ reason: t.reason }, 'malformed payload');
    await store.appendAudit({
      at: deps.now(),
      deliveryId: delivery.deliveryId,
      issueKey: null,
      action: 'translate',
      detail: null,
      outcome: 'error',
      error: t.reason,
    });
    return finish('invalid', t.reason);
  }
  if (t.kind === 'ignored') {
    log.debug({ reason: t.reason }, 'ignored');
    return finish('ignored', t.reason);
  }
  let event = t.event;
  if (adapter.confirm) {
    const c = await adapter.confirm(event);
    if (c.kind === 'ignored') return finish('ignored', c.reason);
    if (c.kind === 'refused') {
      log.warn({ reason: c.reason, actor: c.actor }, 'delivery refused: the platform does not confirm it');
      await store.appendAudit({
        at: deps.now(),
        deliveryId: delivery.deliveryId,
        issueKey: keyOf(event),
        action: 'refuseDelivery',
        detail: { actor: c.actor, claimedActor: claimedActor(event), reason: c.reason },
        outcome: 'skipped',
        error: c.reason,
      });
      return finish('refused', c.reason);
    }
    if (c.mismatch) {
      log.warn({ mismatch: c.mismatch }, 'the payload misstates who acted; the platform is believed');
      await store.appendAudit({
        at: deps.now(),
        deliveryId: delivery.deliveryId,
        issueKey: keyOf(c.event),
        action: 'actorMismatch',
        detail: { actor: claimedActor(c.event), claimedActor: claimedActor(event), reason: c.mismatch },
        outcome: 'skipped',
        error: null,
      });
    }
    event = c.event;
  }
  if (event.kind === 'comment') {
    const limited = await commandLimited(event, delivery, deps, log);
    if (limited) return finish('ignored', limited);
  }
  if (event.kind === 'push') {
    if (deps.resolver.noticePush(event.repo, event.ref, event.changedPaths))
      log.info({ repo: event.repo.fullName }, 'repository policy changed: cache dropped');
    return finish('done', null);
  }

  const gate = {
    adapter,
    installationId: t.installationId,
    deliveryId: delivery.deliveryId,
    gateStore: deps.gateStore,
    receivedAt: delivery.receivedAt,
    evaluations: deps.evaluations,
  };
  if (event.kind === 'checks' || event.kind === 'release') {
    log.info({ note: await gateOnEvent(event, deps.resolver, gate, deps) }, 'release gate');
    return finish('done', null);
  }

  const ref = event.kind === 'change' ? event.change.ref : event.issue.ref;
  const key = event.kind === 'change' ? changeKey(ref) : issueKey(ref);
  await store.withKeyLock(key, async () => {
    const forge = await adapter.forgeFor(t.installationId);
    const resolved = await withToolDecisions(await deps.resolver.forRepo(ref.repo, forge), event, deps);
    const history = await store.decisionHistory(key);
    const changedPaths = needsChangedPaths(event) ? await forge.listChangedPaths(ref) : undefined;
    const clocks = needsClocks(event, resolved.policy) ? ((await store.getClocks(key))?.clocks ?? []) : undefined;
    await yieldToRequests();
    // The intake body is parsed once, here: what is loaded for it and the plan both use this reading.
    const intake = readIntake(event, resolved.policy);
    await yieldToRequests();
    const related =
      intake && needsRelatedIntakes(event, resolved.policy, intake) ? await relatedIntakes(store, relatedService(intake), ref) : undefined;
    // The stored log, read under the issue's lock: two decisions in quick succession both land.
    const threatLog = needsThreatLog(event) ? await deps.threatLog.threatDecisions(key) : undefined;
    // The release gate's facts (a release candidate) and the exception register's (an exception
    // request): their actions are part of this delivery's one plan, executed in its one run.
    const changeGate = event.kind === 'change' ? await gateFactsOnChange(event, forge, resolved, gate) : null;
    const exceptionRequest = event.kind === 'issue' ? await exceptionFactsOnIssue(event, forge, resolved, gate, deps) : null;
    const gateFacts: PlanContext['gate'] =
      changeGate?.kind === 'facts'
        ? { input: changeGate.facts.input, policyHash: changeGate.facts.policyHash, first: changeGate.first }
        : undefined;
    await yieldToRequests();
    const result = plan(event, {
      intake,
      gate: gateFacts,
      exceptionRequest: exceptionRequest ?? undefined,
      // Who may run state-changing commands comes from the global policy, never the repository's override.
      authority: commandAuthority(deps.resolver.globalPolicy.policy),
      threatLog,
      changedPaths,
      clocks,
      related,
      policy: resolved.policy,
      policySource: resolved.source,
      policyWarnings: resolved.warnings,
      now: deps.now(),
      render: deps.render,
      history: history.map((h) => ({
        tier: h.tier as 0 | 1 | 2 | 3 | null,
        routes: h.routes,
        reasons: h.reasons,
        decidedAt: h.decidedAt,
        deliveryId: h.deliveryId,
      })),
    });
    log.info(
      {
        key,
        note: result.note,
        actions: result.actions.map((a) => a.type),
        ...(changeGate?.kind === 'facts' ? { sha: changeGate.facts.headSha, apiCalls: changeGate.facts.apiCalls } : {}),
        ...(changeGate?.kind === 'skip' && changeGate.note ? { gate: changeGate.note } : {}),
      },
      'planned',
    );
    await yieldToRequests();
    await execute(result.actions, {
      forge,
      store,
      metrics,
      now: deps.now,
      deliveryId: delivery.deliveryId,
      installationId: t.installationId,
      toolDecisions: deps.toolDecisions,
      threatLog: deps.threatLog,
      release: changeGate?.kind === 'facts' ? changeGate.release : undefined,
      gateStore: deps.gateStore,
    });
    if (changeGate?.kind === 'facts' && result.verdict?.retry) throw gatePending(changeGate.facts.key, changeGate.facts.headSha);
  });
  return finish('done', null);
}

/** A debounced gate re-evaluation falls due (see `GateEvaluations`): throwing retries it. */
export async function processEvaluation(job: GateEvaluationJob, deps: ProcessDeps): Promise<void> {
  const adapter = deps.platforms[job.platform];
  const log = deps.logger.child({ platform: job.platform, delivery: job.deliveryId, sha: job.sha });
  if (!adapter) {
    log.error('gate evaluation for a platform that is off; dropped');
    return;
  }
  if (adapter.self && (await adapter.self(deps.identityWaitMs ?? 30_000)) === null) {
    throw new IdentityUnknown(`our own ${job.platform} account is not known yet: the gate evaluation waits`);
  }
  const note = await gateOnScheduled(
    job,
    deps.resolver,
    { adapter, installationId: job.installationId, deliveryId: job.deliveryId, gateStore: deps.gateStore },
    deps,
  );
  log.info({ note }, 'release gate');
}

/**
 * The per-account command limit (global policy `commands.perActor`): a `/gatehouse …` comment from
 * an account that sent more commands within the window is ignored before anything reads or writes
 * on the platform. The first one ignored in a window is audited; every one is counted in the
 * metrics. Returns the reason when the command is ignored, else null.
 */
async function commandLimited(event: IssueCommentEvent, delivery: StoredDelivery, deps: ProcessDeps, log: Logger): Promise<string | null> {
  const command = commandOf(event.comment.body);
  const platform = event.issue.ref.repo.platform;
  if (command === null || platform === 'slack') return null;
  const limit = deps.resolver.globalPolicy.policy.commands.perActor;
  const now = deps.now();
  const count = await deps.commandLedger.recordCommand(
    { platform, actor: event.actor.login, deliveryId: delivery.deliveryId, at: now },
    commandWindowStart(now, limit),
  );
  const allowance = allowCommand(count, now, limit);
  if (allowance.kind === 'allow') return null;
  deps.metrics.commandsLimited.inc({ platform });
  if (allowance.audit) {
    log.warn(
      { actor: event.actor.login, sent: count.sent, limit },
      'commands of this account are ignored for now: more than the policy allows',
    );
    await deps.store.appendAudit({
      at: now,
      deliveryId: delivery.deliveryId,
      issueKey: issueKey(event.issue.ref),
      action: 'limitCommands',
      detail: {
        actor: event.actor.login,
        command,
        commentId: String(event.comment.id),
        sent: count.sent,
        max: limit.max,
        windowMinutes: limit.windowMinutes,
      },
      outcome: 'skipped',
      error: allowance.reason,
    });
    await deps.commandLedger.markLimitAudited(platform, delivery.deliveryId);
  }
  return allowance.reason;
}

/**
 * The other open intakes for this intake's service in the same repository (the installation or
 * token acting here can edit them), with their latest tier (for re-opening their reviews).
 */
async function relatedIntakes(store: IntakeStore & TierDecisions, service: string | null, self: IssueRef): Promise<RelatedIntake[]> {
  if (service === null) return [];
  const rows = (await store.openIntakesForService(service)).filter(
    (r) => r.issueKey !== issueKey(self) && r.platform === self.repo.platform && r.repo === self.repo.fullName,
  );
  const out: RelatedIntake[] = [];
  for (const r of rows) {
    const tier = (await store.latestDecision(r.issueKey))?.tier ?? null;
    out.push({ ref: { repo: self.repo, number: r.number }, tier: tier as RelatedIntake['tier'] });
  }
  return out;
}

/** The issue or change an event is about (audit rows are found by it), if any. */
function keyOf(event: GatehouseEvent): string | null {
  if (event.kind === 'change') return changeKey(event.change.ref);
  if (event.kind === 'issue' || event.kind === 'comment') return issueKey(event.issue.ref);
  return null;
}

const claimedActor = (event: GatehouseEvent): string | null =>
  event.kind === 'issue' || event.kind === 'change' || event.kind === 'comment' ? event.actor.login : null;

/**
 * At start: the pending deliveries of each platform that is on are queued again (a job still
 * waiting or running is left alone), and those of a platform that is off are counted for the log.
 */
export async function resumeWaiting(deps: {
  store: Pick<Deliveries, 'pendingDeliveryIds'>;
  queue: Pick<JobQueue, 'requeue'>;
  on: readonly Platform[];
  limit?: number;
}): Promise<Partial<Record<Platform, number>>> {
  const waiting: Partial<Record<Platform, number>> = {};
  for (const platform of ['github', 'gitlab', 'slack'] as const) {
    if (!deps.on.includes(platform)) {
      const ids = await deps.store.pendingDeliveryIds(platform, deps.limit ?? 10_000);
      if (ids.length > 0) waiting[platform] = ids.length;
      continue;
    }
    // Only those kept while the platform was off: a delivery in flight keeps its own job.
    for (const deliveryId of await deps.store.pendingDeliveryIds(platform, deps.limit ?? 10_000, true))
      await deps.queue.requeue({ platform, deliveryId });
  }
  return waiting;
}
