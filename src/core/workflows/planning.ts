/**
 * The security planning flow of a deep review: ten stages, ticked in order in a checklist that
 * Gatehouse keeps in the issue description. A stage ticked before the one before it is un-ticked
 * (unless the policy allows the reorder); when all ten are done, the plan bundle is assembled
 * from the intake record and its decisions. A new deep-review intake for the same service
 * re-opens the review of the older ones (their last stage is un-ticked).
 */
import type { Action } from '../actions.ts';
import type { IntakeRecord } from '../intake/parse.ts';
import { SERVICE_LINE_INFERRED } from '../intake/service-line.ts';
import { issueKey, type IssueEvent, type IssueRef, type Reason, type Tier } from '../model.ts';
import type { Policy } from '../policy/schema.ts';
import type { TierDecision } from '../routing/classify.ts';
import { neutralizeMentions, tableCell } from '../text.ts';
import { readChecklist, readSection, setChecklist } from './sections.ts';
import { threatEntryLine, type ThreatDecision } from './threat-log.ts';

export interface PlanningStage {
  id: string;
  title: string;
  exit: string;
}

export const PLANNING_STAGES: readonly PlanningStage[] = [
  {
    id: 'context',
    title: 'Context and asset classification',
    exit: 'system purpose, owners, environments and the assets it holds are written down and each asset has a classification',
  },
  {
    id: 'boundaries',
    title: 'Trust boundaries and data flows',
    exit: 'a data-flow diagram marks every trust boundary and where sensitive data crosses it',
  },
  {
    id: 'threats',
    title: 'Threat model and attacker paths',
    exit: 'the attacker paths across each boundary are listed, each with a decision (mitigate, accept, transfer) in the decision log',
  },
  {
    id: 'controls',
    title: 'Control strategy',
    exit: 'each accepted threat maps to preventive, detective or compensating controls with an owner',
  },
  {
    id: 'identity',
    title: 'Identity, secrets and key management',
    exit: 'authentication, authorization, service identities, secret storage and key rotation are decided and owned',
  },
  {
    id: 'validation',
    title: 'Validation plan',
    exit: 'the tests that prove the controls work (reviews, scans, abuse cases, pen test scope) are planned with dates',
  },
  {
    id: 'detection',
    title: 'Detection, logging and incident readiness',
    exit: 'security-relevant events are logged, alerts reach an on-call owner, and a runbook exists',
  },
  {
    id: 'compliance',
    title: 'Compliance mapping (when it applies)',
    exit: 'the controls are mapped to the frameworks that apply, or the stage is noted as not applicable and why',
  },
  {
    id: 'release',
    title: 'Release gates and exceptions',
    exit: 'the release class and its required evidence are set, and every open exception has an owner and an expiry',
  },
  {
    id: 'bundle',
    title: 'Final security plan bundle',
    exit: 'the owner and product security agree the plan; Gatehouse then assembles the bundle',
  },
];

export const PLANNING_SECTION = 'planning';
/** Why Gatehouse un-ticked a stage. */
export const PLANNING_ORDER_MARKER = '<!-- gatehouse:planning-order -->';
export const PLAN_BUNDLE_MARKER = '<!-- gatehouse:plan-bundle -->';
export const planningReopenedMarker = (by: IssueRef): string => `<!-- gatehouse:planning-reopened:${issueKey(by)} -->`;

/** The checklist as Gatehouse writes it into the description. */
export function planningChecklist(done: readonly boolean[] = []): string {
  const lines = PLANNING_STAGES.map((s, i) => `- [${done[i] ? 'x' : ' '}] **${i + 1}. ${s.title}** — exit: ${s.exit}`);
  return [
    '### Security planning (Gatehouse)',
    '',
    'Tick each stage when its exit criteria are met, in order. Gatehouse assembles the security plan bundle when all ten are done.',
    '',
    ...lines,
  ].join('\n');
}

/** Tick state of the ten stages from the description block (missing lines count as not done). */
export function stageStates(section: string): boolean[] {
  const items = readChecklist(section);
  return PLANNING_STAGES.map((_, i) => items[i]?.checked ?? false);
}

export interface StageReview {
  /** The states once out-of-order ticks are taken back. */
  states: boolean[];
  /** Stages (0-based) ticked while the one before was not done. */
  outOfOrder: number[];
}

/** A stage counts only once the one before it is done; the rest are out of order. */
export function reviewStages(states: readonly boolean[], allowReorder: boolean): StageReview {
  const fixed = [...states];
  const outOfOrder: number[] = [];
  if (allowReorder) return { states: fixed, outOfOrder };
  for (let i = 1; i < fixed.length; i++) {
    if (fixed[i] && !fixed[i - 1]) {
      fixed[i] = false;
      outOfOrder.push(i);
    }
  }
  return { states: fixed, outOfOrder };
}

/** The review is re-opened: the last stage (the bundle) is un-ticked, the rest kept. */
export function reopenedSection(section: string): string {
  const states = stageStates(section);
  states[states.length - 1] = false;
  return setChecklist(section, states);
}

export interface RelatedIntake {
  ref: IssueRef;
  tier: Tier | null;
}

export interface DecisionEntry {
  tier: Tier | null;
  routes: string[];
  reasons: Reason[];
  decidedAt: Date;
}

export interface PlanningInput {
  event: IssueEvent;
  record: IntakeRecord;
  decision: TierDecision;
  policy: Policy;
  now: Date;
  /** Tier decisions of this issue, oldest first (the current one included when it changed). */
  decisions: readonly DecisionEntry[];
  /** Other open intakes for the same service (loaded by the shell when the checklist is new). */
  related: readonly RelatedIntake[];
  /** The issue's threat-model decision log as Gatehouse stores it (never read from the description). */
  threatLog: readonly ThreatDecision[];
  render: (name: 'comments/planning.md' | 'comments/plan-bundle.md', view: object) => string;
}

const stageView = (states: readonly boolean[]) =>
  PLANNING_STAGES.map((s, i) => ({ n: i + 1, title: s.title, exit: s.exit, done: states[i] ?? false }));

/**
 * The planning flow on one event: its writes, and its status (a part of the intake comment, which
 * the intake's own plan renders: the intake and its planning speak in one comment), or null when
 * the issue has no planning flow.
 */
export interface PlanningPlan {
  actions: Action[];
  status: string | null;
}

export function planPlanning(input: PlanningInput): PlanningPlan {
  const { event, record, decision, policy } = input;
  const target = event.issue.ref;
  const section = readSection(event.issue.body, PLANNING_SECTION);
  const service = typeof record.answers['service'] === 'string' ? record.answers['service'] : null;
  const status = (states: readonly boolean[]): string =>
    input.render('comments/planning.md', {
      done: states.filter(Boolean).length,
      total: PLANNING_STAGES.length,
      stages: stageView(states),
      complete: states.every(Boolean),
      allowReorder: policy.planning.allowReorder,
    });

  if (section === null) {
    if (!record.complete || decision.tier === null || decision.tier < policy.planning.fromTier) return { actions: [], status: null };
    const actions: Action[] = [];
    // A material change to a service under review: the older reviews are re-opened first, so a
    // retry after a failure here finds this checklist missing and does it again.
    // The service's review is the newest earlier deep-review intake (related come oldest first): it is
    // re-opened; older ones were superseded by it already. One, however many the service has had.
    const eligible = input.related.filter(
      (other) => issueKey(other.ref) !== issueKey(target) && other.tier !== null && other.tier >= policy.planning.fromTier,
    );
    for (const other of eligible.slice(-1)) {
      const marker = planningReopenedMarker(target);
      actions.push({ type: 'reopenPlanning', target: other.ref });
      actions.push({
        type: 'ensureComment',
        target: other.ref,
        marker,
        // A confidential intake is not named on another issue (which may be public): only that one was filed.
        body: `${marker}\n### 🔁 Material change: re-review\n\n${event.issue.confidential === true ? `A new intake for ${tableCell(service ?? 'this service')} was filed as a confidential issue (visible to project members only).` : `A new tier-${decision.tier} intake for ${tableCell(service ?? 'this service')} was filed: ${event.issue.url}.`} The last stage of the security planning checklist (${PLANNING_STAGES[PLANNING_STAGES.length - 1]!.title}) is un-ticked: review what changed, then tick it again to re-assemble the plan bundle.`,
      });
    }
    actions.push({ type: 'ensureBodySection', target, sections: [{ name: PLANNING_SECTION, text: planningChecklist() }] });
    return { actions, status: status(PLANNING_STAGES.map(() => false)) };
  }

  const given = stageStates(section);
  const review = reviewStages(given, policy.planning.allowReorder);
  const actions: Action[] = [];
  if (review.outOfOrder.length > 0) {
    actions.push({
      type: 'ensureBodySection',
      target,
      sections: [{ name: PLANNING_SECTION, text: setChecklist(section, review.states).trim() }],
    });
    const lines = review.outOfOrder.map(
      (i) => `- **${i + 1}. ${PLANNING_STAGES[i]!.title}** was ticked before **${i}. ${PLANNING_STAGES[i - 1]!.title}** was done.`,
    );
    actions.push({
      type: 'ensureComment',
      target,
      marker: PLANNING_ORDER_MARKER,
      body: `${PLANNING_ORDER_MARKER}\n### ↩️ Planning stages un-ticked\n\nThe stages of the security plan are done in order: each one builds on the exit criteria of the one before. Gatehouse un-ticked (at ${input.now.toISOString().slice(0, 16).replace('T', ' ')} UTC):\n\n${lines.join('\n')}\n\nTick them again once the stages before them are done.`,
    });
  }
  if (review.states.every(Boolean)) actions.push({ type: 'ensureComment', target, marker: PLAN_BUNDLE_MARKER, body: planBundle(input) });
  return { actions, status: status(review.states) };
}

/** The security plan bundle: a Markdown document from the intake record and its decisions. */
export function planBundle(
  input: Pick<PlanningInput, 'event' | 'record' | 'decisions' | 'decision' | 'policy' | 'now' | 'render' | 'threatLog'>,
): string {
  const { event, record, policy } = input;
  const answers = policy.intake.fields.map((f) => {
    const v = record.answers[f.id];
    const shown =
      v === null || v === undefined
        ? f.id === 'service_line' && typeof record.answers[SERVICE_LINE_INFERRED] === 'string'
          ? `${record.answers[SERVICE_LINE_INFERRED] as string} (inferred)`
          : '—'
        : Array.isArray(v)
          ? v.join(', ')
          : v;
    return { label: f.label, value: tableCell(shown) };
  });
  const tierName = (t: Tier | null): string => (t === null ? 'unclassified' : `${t} (${policy.tiers[t]!.name})`);
  const decisions = input.decisions.map((d) => ({
    at: d.decidedAt.toISOString(),
    tier: tierName(d.tier),
    routes: d.routes.join(', '),
    rules: d.reasons.map((r) => r.rule).join(', '),
  }));
  const links =
    typeof record.answers['links'] === 'string'
      ? record.answers['links']
          .split(/\r?\n/)
          .map((l) => l.replace(/^\s*[-*+]\s+/, '').trim())
          .filter((l) => l !== '')
          .map(neutralizeMentions)
      : [];
  return input.render('comments/plan-bundle.md', {
    marker: PLAN_BUNDLE_MARKER,
    title: tableCell(event.issue.title),
    service: tableCell(typeof record.answers['service'] === 'string' ? record.answers['service'] : event.issue.ref.repo.fullName),
    issue: `${event.issue.ref.repo.fullName}#${event.issue.ref.number}`,
    url: event.issue.url,
    assembledAt: input.now.toISOString(),
    tier: tierName(input.decision.tier),
    routes: input.decision.routes.join(', '),
    reasons: input.decision.reasons.map((r) => ({
      rule: r.rule,
      summary: tableCell(r.summary),
      evidence: r.evidence.map(tableCell).join('; '),
    })),
    answers,
    decisions,
    links,
    threatDecisions: input.threatLog.map(threatEntryLine),
    stages: stageView(PLANNING_STAGES.map(() => true)),
  });
}
