/**
 * The release gate in the worker: a change request event, or a check/status/pipeline that
 * concluded on a commit → evidence, current labels, exceptions, the last decision → planGate →
 * actions. Evidence that could not be read leaves the check pending and makes the job retry.
 */
import type { Logger } from 'pino';
import { gateClassification, withGateClassification, type GateFirst, type PriorDecision, type Render } from '../core/plan.ts';
import { repoKey } from '../core/gate/exceptions.ts';
import { isExceptionRequest, parseExceptionRequest, type ExceptionPlanInput } from '../core/gate/exception-request.ts';
import { yieldToRequests } from '../ports/yield.ts';
import { planGate, releaseNoteText, RELEASE_NOTE_MARKER, type GatePlanInput } from '../core/gate/plan.ts';
import { isReleaseCandidate, loweringClassLabels, type ClassLabelFact } from '../core/gate/release-class.ts';
import {
  changeKey,
  issueKey,
  type IssueEvent,
  type ChangeRequestEvent,
  type ChangeRequestSnapshot,
  type CommitChecksEvent,
  type ReleaseEvent,
} from '../core/model.ts';
import type { Policy } from '../core/policy/schema.ts';
import type { Forge } from '../ports/forge.ts';
import type { TierDecisions } from '../ports/tier-decisions.ts';
import type { PlatformAdapter } from '../ports/platform.ts';
import type { PolicyResolver } from '../policy/resolver.ts';
import type { GateStore } from '../ports/gate-store.ts';
import type { GateEvaluationJob, GateEvaluations } from '../ports/queue.ts';
import type { ReleaseForge } from '../ports/release.ts';
import type { KeyLock } from '../ports/key-lock.ts';
import type { Metrics } from '../ports/metrics.ts';
import { policyHash } from '../core/canonical-json.ts';
import { execute, type PlanStore } from './execute.ts';

export interface GateDeps {
  store: PlanStore & KeyLock;
  gateStore: GateStore;
  render: Render;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
}

export interface GateRun {
  forge: Forge;
  release: ReleaseForge;
  policy: Policy;
  policySource: string;
  /** Problems with the repository's policy override that was ignored, shown with the change classification. */
  policyWarnings?: readonly string[];
  deliveryId: string | null;
  installationId: number | null;
}

/** The evidence could not be read in full: the check is pending and the delivery is retried. */
export class GatePending extends Error {}

/** Change request events the gate evaluates on. */
const GATE_ACTIONS = new Set<ChangeRequestEvent['action']>([
  'opened',
  'synchronize',
  'reopened',
  'edited',
  'labeled',
  'unlabeled',
  'reviewed',
]);

const hashes = new WeakMap<Policy, string>();
function hashOf(policy: Policy): string {
  let h = hashes.get(policy);
  if (!h) {
    h = policyHash(policy);
    hashes.set(policy, h);
  }
  return h;
}

/** Whether a change request event is one the gate evaluates (a release candidate by its payload). */
export function gateWants(event: ChangeRequestEvent, policy: Policy): boolean {
  return (
    GATE_ACTIONS.has(event.action) &&
    event.change.state === 'open' &&
    event.change.headSha !== null &&
    isReleaseCandidate(event.change, policy)
  );
}

/**
 * Who added each class label that would lower the class, read from the platform's label events
 * (never the webhook's sender). A read that fails is a fact too: the label cannot be attributed,
 * so it does not count (fail closed) and the reason says why.
 */
async function classLabelFacts(forge: Forge, change: ChangeRequestSnapshot, labels: readonly string[]): Promise<ClassLabelFact[]> {
  return Promise.all(
    labels.map(async (label): Promise<ClassLabelFact> => {
      try {
        return { label, addedBy: await forge.labelAddedBy(change.ref, label) };
      } catch (err) {
        return { label, addedBy: null, error: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
}

/** What the gate reads before planning: its facts, or why it does not evaluate. */
export type GateFacts =
  | { kind: 'facts'; input: GatePlanInput; policyHash: string; key: string; headSha: string; apiCalls: number }
  | { kind: 'skip'; note: string };

/**
 * Reads what the gate evaluates one change request on (the caller holds its key lock). Labels are
 * read from the API: a payload's can be stale, and check events carry none.
 */
export async function readGateFacts(
  change: ChangeRequestSnapshot,
  run: Pick<GateRun, 'forge' | 'release' | 'policy'>,
  deps: Pick<GateDeps, 'gateStore'>,
  trigger: { labelAdded?: string | null; actor?: string | null; receivedAt?: Date } = {},
): Promise<GateFacts> {
  const { release, policy } = run;
  const headSha = change.headSha;
  if (!headSha) return { kind: 'skip', note: 'no head commit' };
  const currentLabels = await release.currentLabels(change.ref);
  const snapshot: ChangeRequestSnapshot = { ...change, labels: currentLabels };
  if (!isReleaseCandidate(snapshot, policy)) return { kind: 'skip', note: 'not a release candidate' };
  const key = changeKey(change.ref);
  const previous = await deps.gateStore.latestGateDecision(key);
  // A delivery retried (or delayed) past a decision about a newer head describes an old commit: it
  // must not overwrite that verdict, label and comment with the old commit's.
  if (previous && trigger.receivedAt && previous.headSha !== headSha && previous.decidedAt.getTime() > trigger.receivedAt.getTime()) {
    return {
      kind: 'skip',
      note: `stale event: ${key} was decided at ${previous.headSha.slice(0, 12)} after this delivery (head ${headSha.slice(0, 12)}) arrived`,
    };
  }
  const [evidence, exceptions] = await Promise.all([
    release.collectEvidence(change.ref, headSha, { scanPatterns: policy.gate.scans, sources: policy.gate.sources }),
    deps.gateStore.exceptionsFor(repoKey(change.ref.repo)),
  ]);
  const classLabels = await classLabelFacts(run.forge, snapshot, loweringClassLabels(snapshot, evidence.changedPaths, policy));
  return {
    kind: 'facts',
    input: {
      change: snapshot,
      currentLabels,
      evidence,
      exceptions,
      previous,
      labelAdded: trigger.labelAdded ?? null,
      actor: trigger.actor ?? null,
      classLabels,
    },
    policyHash: hashOf(policy),
    key,
    headSha,
    apiCalls: evidence.stats.apiCalls,
  };
}

/** The evidence could not be read in full: the check stays pending and the job is retried. */
export function gatePending(key: string, headSha: string): GatePending {
  return new GatePending(
    `release evidence for ${key} at ${headSha.slice(0, 12)} could not be read in full; the check stays pending and the delivery is retried`,
  );
}

/**
 * Evaluates one change request on a commit's checks (the caller holds its key lock): facts, plan,
 * actions. Returns the plan's note. (A change request's own delivery plans the gate within its one
 * plan: see `gateFactsOnChange`.)
 */
export async function evaluateChange(
  change: ChangeRequestSnapshot,
  run: GateRun,
  deps: GateDeps,
  trigger: { labelAdded?: string | null; actor?: string | null; receivedAt?: Date } = {},
): Promise<string> {
  const { release, policy } = run;
  const facts = await readGateFacts(change, run, deps, trigger);
  if (facts.kind === 'skip') return facts.note;
  const { key, headSha } = facts;
  const recorded = facts.input.previous ? await classificationRecord(key, deps.store, deps.gateStore) : null;
  // Reading the evidence (reports, description) and planning each get their own turn of the event loop.
  await yieldToRequests();
  const result = planGate(facts.input, {
    policy,
    policySource: run.policySource,
    policyHash: facts.policyHash,
    now: deps.now(),
    render: deps.render,
  });
  // The change classification block, rendered from the record (never copied from the comment as read).
  const section = recorded
    ? gateClassification(
        { ...recorded, gate: facts.input },
        { policy, policySource: run.policySource, policyWarnings: [...(run.policyWarnings ?? [])], render: deps.render },
      )
    : null;
  const actions = withGateClassification(result.actions, section);
  deps.logger.info(
    { key, sha: headSha, verdict: result.verdict.verdict, apiCalls: facts.apiCalls, actions: actions.map((a) => a.type) },
    result.note,
  );
  await yieldToRequests();
  await execute(actions, {
    forge: run.forge,
    store: deps.store,
    metrics: deps.metrics,
    now: deps.now,
    deliveryId: run.deliveryId,
    installationId: run.installationId,
    release,
    gateStore: deps.gateStore,
  });
  if (result.verdict.retry) throw gatePending(key, headSha);
  return result.note;
}

/**
 * What the change classification block of the gate's comment is rendered from when the gate
 * re-evaluates alone: Gatehouse's own records of the change request — its tier decisions, and its
 * first gate decision (whether the classification lives in the gate's comment). Read only for a
 * change request the gate decided before (a first evaluation has no block to carry).
 */
async function classificationRecord(
  key: string,
  store: Pick<TierDecisions, 'decisionHistory'>,
  gateStore: Pick<GateStore, 'gateDecisions'>,
): Promise<{ history: PriorDecision[]; gateFirst: GateFirst | null }> {
  const [rows, [first]] = await Promise.all([store.decisionHistory(key), gateStore.gateDecisions({ key, limit: 1 })]);
  return { history: rows.map(priorDecision), gateFirst: first ? { decidedAt: first.decidedAt, deliveryId: first.deliveryId } : null };
}

/** A stored tier decision as the plan reads it. */
const priorDecision = (r: Awaited<ReturnType<TierDecisions['decisionHistory']>>[number]): PriorDecision => ({
  tier: r.tier as PriorDecision['tier'],
  routes: r.routes,
  reasons: r.reasons,
  decidedAt: r.decidedAt,
  deliveryId: r.deliveryId,
});

/**
 * A check, status or pipeline concluded on `sha`: forget the cached evidence and re-evaluate every
 * open change request whose head it is, each under its key lock.
 */
export async function evaluateCommit(
  event: CommitChecksEvent,
  run: Omit<GateRun, 'policy' | 'policySource' | 'policyWarnings'>,
  policyFor: () => Promise<{ policy: Policy; source: string; warnings?: readonly string[] }>,
  deps: GateDeps,
): Promise<string> {
  run.release.forget(event.sha);
  const changes = await run.release.changeRequestsForCommit(event.repo, event.sha);
  if (changes.length === 0) return `no open change request at ${event.sha.slice(0, 12)}`;
  const { policy, source, warnings } = await policyFor();
  const notes: string[] = [];
  let pending: GatePending | null = null;
  for (const change of changes) {
    const key = changeKey(change.ref);
    try {
      const note = await deps.store.withKeyLock(key, () =>
        evaluateChange(change, { ...run, policy, policySource: source, policyWarnings: warnings }, deps),
      );
      notes.push(`${key}: ${note}`);
    } catch (err) {
      if (!(err instanceof GatePending)) throw err;
      pending = err;
      notes.push(`${key}: pending`);
    }
  }
  if (pending) throw pending;
  return notes.join('; ');
}

/** What process-delivery hands over: its adapter, store and policy resolver. */
export interface DeliveryGate {
  adapter: PlatformAdapter;
  installationId: number | null;
  deliveryId: string;
  gateStore: GateStore | undefined;
  /** When the delivery arrived: a payload older than the newest decision about another head is stale. */
  receivedAt?: Date;
  /**
   * Debounced re-evaluation on concluded checks: the first conclusion on a commit schedules one
   * evaluation `delayMs` later and conclusions within that window join it. Absent or 0: every
   * conclusion evaluates at once.
   */
  evaluations?: { queue: GateEvaluations; delayMs: number };
}

async function releaseOf(d: DeliveryGate): Promise<{ release: ReleaseForge; gateStore: GateStore } | null> {
  if (!d.adapter.releaseFor || !d.gateStore) return null;
  return { release: await d.adapter.releaseFor(d.installationId), gateStore: d.gateStore };
}

/** The gate on a change request's own delivery: its facts and the ports its actions need, or why it does not evaluate. */
export type ChangeGate =
  | {
      kind: 'facts';
      facts: Extract<GateFacts, { kind: 'facts' }>;
      release: ReleaseForge;
      gateStore: GateStore;
      /** The change request's first gate decision: its change classification is in the gate's comment when it came under the gate first. */
      first: GateFirst | null;
    }
  | { kind: 'skip'; note: string | null };

/**
 * A change request event (inside its key lock): what the gate evaluates, when it is a release
 * candidate. The delivery plans the gate in its one plan with the change request's own actions.
 */
export async function gateFactsOnChange(
  event: ChangeRequestEvent,
  forge: Forge,
  resolved: { policy: Policy },
  d: DeliveryGate,
): Promise<ChangeGate> {
  if (!gateWants(event, resolved.policy)) return { kind: 'skip', note: null };
  const ports = await releaseOf(d);
  if (!ports) return { kind: 'skip', note: 'release gate off (no release forge or gate store)' };
  if (event.action === 'reviewed' && event.change.headSha) ports.release.forget(event.change.headSha);
  const facts = await readGateFacts(
    event.change,
    { forge, release: ports.release, policy: resolved.policy },
    { gateStore: ports.gateStore },
    { labelAdded: event.action === 'labeled' ? (event.label ?? null) : null, actor: event.actor.login, receivedAt: d.receivedAt },
  );
  if (facts.kind === 'skip') return facts;
  const [first] = facts.input.previous ? await ports.gateStore.gateDecisions({ key: facts.key, limit: 1 }) : [];
  return {
    kind: 'facts',
    facts,
    release: ports.release,
    gateStore: ports.gateStore,
    first: first ? { decidedAt: first.decidedAt, deliveryId: first.deliveryId } : null,
  };
}

/**
 * A check, status or pipeline concluded: re-evaluate the change requests at the commit — at once,
 * or (with `d.evaluations`) in one evaluation a short window later that every conclusion on the
 * same commit within the window joins, so a matrix of hundreds of jobs costs one evidence read.
 */
export async function gateOnCommit(
  event: CommitChecksEvent,
  resolver: PolicyResolver,
  d: DeliveryGate,
  deps: Omit<GateDeps, 'gateStore'>,
): Promise<string> {
  const ports = await releaseOf(d);
  if (!ports) return 'release gate off (no release forge or gate store)';
  const debounce = d.evaluations;
  if (debounce && debounce.delayMs > 0 && event.repo.platform !== 'slack') {
    const job: GateEvaluationJob = {
      platform: event.repo.platform,
      installationId: d.installationId,
      repo: event.repo,
      sha: event.sha,
      deliveryId: d.deliveryId,
    };
    const scheduled = await debounce.queue.schedule(job, debounce.delayMs);
    return scheduled
      ? `gate evaluation at ${event.sha.slice(0, 12)} scheduled in ${debounce.delayMs} ms`
      : `joined the gate evaluation at ${event.sha.slice(0, 12)} that is waiting to start`;
  }
  const forge = await d.adapter.forgeFor(d.installationId);
  return evaluateCommit(
    event,
    { forge, release: ports.release, deliveryId: d.deliveryId, installationId: d.installationId },
    async () => {
      const r = await resolver.forRepo(event.repo, forge);
      return { policy: r.policy, source: r.source, warnings: r.warnings };
    },
    { ...deps, gateStore: ports.gateStore },
  );
}

/**
 * A scheduled (debounced) evaluation falls due: the change requests at the commit are evaluated
 * with evidence read now, which includes every conclusion that joined the evaluation.
 */
export async function gateOnScheduled(
  job: GateEvaluationJob,
  resolver: PolicyResolver,
  d: Omit<DeliveryGate, 'evaluations' | 'receivedAt'>,
  deps: Omit<GateDeps, 'gateStore'>,
): Promise<string> {
  const event: CommitChecksEvent = {
    kind: 'checks',
    action: 'completed',
    deliveryId: job.deliveryId,
    repo: job.repo,
    sha: job.sha,
    source: 'scheduled',
    changeNumbers: [],
  };
  return gateOnCommit(event, resolver, d, deps);
}

/** A commit's checks concluded, or a release was published. */
export async function gateOnEvent(
  event: CommitChecksEvent | ReleaseEvent,
  resolver: PolicyResolver,
  d: DeliveryGate,
  deps: Omit<GateDeps, 'gateStore'>,
): Promise<string> {
  if (event.kind === 'checks') return gateOnCommit(event, resolver, d, deps);
  const ports = await releaseOf(d);
  if (!ports) return 'release gate off (no release forge or gate store)';
  // A release names its tag, and a branch or a commit as its target: the verdict is the tagged commit's.
  const sha = (await ports.release.tagCommit(event.repo, event.tag)) ?? event.sha;
  if (!sha) return `release ${event.tag}: the tag does not exist (yet) and the payload names no commit; no verdict added`;
  const forge = await d.adapter.forgeFor(d.installationId);
  const { policy } = await resolver.forRepo(event.repo, forge);
  const prefix = `${event.repo.platform}:${event.repo.fullName}!`.toLowerCase();
  const decision = await ports.gateStore.latestVerdictForCommit(prefix, sha);
  const action = {
    type: 'addReleaseNote' as const,
    repo: event.repo,
    tag: event.tag,
    marker: RELEASE_NOTE_MARKER,
    text: releaseNoteText(sha, decision, policy),
  };
  await execute([action], {
    forge,
    store: deps.store,
    metrics: deps.metrics,
    now: deps.now,
    deliveryId: d.deliveryId,
    installationId: d.installationId,
    release: ports.release,
    gateStore: ports.gateStore,
  });
  return `release ${event.tag}: ${decision ? `verdict ${decision.verdict} (record #${decision.seq})` : 'no decision for the tagged commit'} added to the notes`;
}

/**
 * An issue event (inside its key lock): what the exception register is planned from, when the
 * issue is an exception request (null otherwise). The request is read as it is now from the
 * platform's API (description, labels, author: a delivery may be old, replayed or out of order),
 * and who added the approval label from its label events; the payload only says which issue to look
 * at. The delivery plans it in its one plan with the issue's own actions.
 */
export async function exceptionFactsOnIssue(
  event: IssueEvent,
  forge: Forge,
  resolved: { policy: Policy },
  d: Pick<DeliveryGate, 'gateStore'>,
  deps: { now: () => Date },
): Promise<ExceptionPlanInput | null> {
  const { policy } = resolved;
  if (!d.gateStore || !isExceptionRequest(event.issue, policy)) return null;
  if (!forge.readIssue) throw new Error(`the ${forge.platform} forge cannot read an issue: exception requests are not evaluated`);
  const gateStore = d.gateStore;
  const now = deps.now();
  const ref = event.issue.ref;
  const current = await forge.readIssue(ref);
  const issue = {
    ...event.issue,
    body: current.body,
    labels: current.labels,
    state: current.state,
    author: { login: current.author ?? 'ghost', isBot: false },
  };
  const found = await gateStore.getException(issueKey(ref));
  const stored = found ? (({ remindedAt: _r, ...rest }) => rest)(found) : null;
  const approvedLabel = policy.gate.exceptions.approvedLabel.trim().toLowerCase();
  const labelled = current.labels.some((l) => l.trim().toLowerCase() === approvedLabel);
  // Who added the label matters only for a request that is not approved yet.
  const labelActor = labelled && stored?.status !== 'approved' ? await forge.labelAddedBy(ref, policy.gate.exceptions.approvedLabel) : null;
  const category = parseExceptionRequest(issue, policy, now).exception?.category ?? null;
  const since = new Date(now.getTime() - policy.gate.exceptions.repeated.windowDays * 86_400_000);
  const categoryCount = category && !stored ? await gateStore.countExceptionsByCategory(category, since) : 0;
  return { event: { ...event, issue }, stored, categoryCount, labelActor };
}
