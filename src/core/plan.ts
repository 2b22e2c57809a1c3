/** plan(event, state, policy, now) → actions. Pure: no clock, no network, no environment. */
import { withholdConfidential } from './chat/confidential.ts';
import type { Action, EnsureComment } from './actions.ts';
import { parseIntake, isIntake, type IntakeRecord } from './intake/parse.ts';
import {
  changeKey,
  issueKey,
  type ChangeRequestEvent,
  type ChangeRequestSnapshot,
  type GatehouseEvent,
  type IssueEvent,
  type Reason,
  type RepoRef,
  type Tier,
} from './model.ts';
import type { Policy } from './policy/schema.ts';
import { planFeatureRequest } from './outage/inventory.ts';
import { fireClock, outageCriticality, reconcileClocks, teamTime, type ClockFiring, type ClockState } from './outage/clocks.ts';
import { classifyChanges } from './routing/changes.ts';
import { classifyIntake, type TierDecision } from './routing/classify.ts';
import { neutralizeMentions, tableCell, textLimit } from './text.ts';
import { noticeChannel } from './chat/route.ts';
import { parseThreatDecision, planThreatDecision, type ThreatDecision } from './workflows/threat-log.ts';
import { NOBODY, type CommandAuthority } from './workflows/commands.ts';
import { planIncidentWorksheet } from './workflows/incident.ts';
import { PLANNING_SECTION, planPlanning, type RelatedIntake } from './workflows/planning.ts';
import { GATE_CHANGE_SECTION, GATE_MARKER, planGate, type GatePlanInput } from './gate/plan.ts';
import type { GateVerdict } from './gate/evaluate.ts';
import { planExceptionRequest, type ExceptionPlanInput } from './gate/exception-request.ts';
import { readSection, withSection, type BodySection } from './workflows/sections.ts';
import { planToolDecision, planToolingIssue } from './workflows/tooling.ts';
import { SERVICE_LINE_FIELD, SERVICE_LINE_INFERRED, serviceLine, type ServiceLine } from './intake/service-line.ts';

export type TemplateName =
  | 'comments/intake.md'
  | 'comments/change.md'
  | 'comments/clock.md'
  | 'comments/feature-request.md'
  | 'comments/tool-signal.md'
  | 'comments/gate.md'
  | 'issues/retrospective.md'
  | 'comments/exception.md'
  | 'comments/incident-worksheet.md'
  | 'comments/planning.md'
  | 'comments/plan-bundle.md';
export type Render = (name: TemplateName, view: object) => string;

export interface PriorDecision {
  tier: Tier | null;
  routes: string[];
  reasons: Reason[];
  decidedAt: Date;
  /** The delivery that made it (null or absent: none, such as a re-evaluation). */
  deliveryId?: string | null;
}

export interface PlanContext {
  policy: Policy;
  /** Where the policy came from, shown in comments (e.g. `built-in default`). */
  policySource: string;
  /** Problems with a repository override that was ignored, shown to the requester. */
  policyWarnings: string[];
  now: Date;
  render: Render;
  /** Earlier decisions for this issue or change request, oldest first. */
  history: PriorDecision[];
  /** For change requests: the paths it changes (read by the shell before planning). */
  changedPaths?: readonly string[];
  /** For issues: their stored SLO/RTO clocks. */
  clocks?: readonly ClockState[];
  /** For intakes about to get the planning checklist: other open intakes for the same service. */
  related?: readonly RelatedIntake[];
  /** Who may run the commands that change state: from the global policy, never a repository's override. Absent: nobody may. */
  authority?: CommandAuthority;
  /** The issue's stored threat-model decision log (loaded when `needsThreatLog`); absent: not read. */
  threatLog?: readonly ThreatDecision[];
  /**
   * The intake as `readIntake` read it for this event (the shell reads it once and hands it to
   * `needsRelatedIntakes`, `relatedService` and here). Absent: plan reads it itself.
   */
  intake?: IntakeReading | null;
  /**
   * A change request that is a release candidate: the facts the release gate evaluates (read by the
   * shell), and the policy's hash. The gate's actions are part of this one plan.
   */
  gate?: {
    input: GatePlanInput;
    policyHash: string;
    /** The change request's first gate decision (when and by which delivery), null when none: where its change classification is kept. */
    first?: GateFirst | null;
  };
  /** An issue that is an exception request: the facts its register entry is planned from (read by the shell). */
  exceptionRequest?: ExceptionPlanInput;
}

export const INTAKE_MARKER = '<!-- gatehouse:intake -->';
export const CHANGE_MARKER = '<!-- gatehouse:change -->';

export interface Plan {
  actions: Action[];
  /** Why nothing (or this) is planned, for logs and `gatehouse explain`. */
  note: string;
  /** The release gate's verdict, when the plan includes the gate (a `pending` one with `retry` makes the shell retry). */
  verdict?: GateVerdict;
}

/**
 * One plan for the whole event: every feature that speaks on it (intake, planning, worksheet,
 * release gate, exception register) is planned here; their label changes on one item are merged
 * into one write, and their blocks in one description into one edit.
 */
export function plan(event: GatehouseEvent, ctx: PlanContext): Plan {
  const planned = planEvent(event, ctx);
  return { ...planned, actions: mergeBodyEdits(mergeLabelWrites(planned.actions)) };
}

function planEvent(event: GatehouseEvent, ctx: PlanContext): Plan {
  switch (event.kind) {
    case 'issue': {
      const planned = withExceptionRequest(planIssue(event, ctx), ctx);
      return { ...planned, actions: withholdConfidential(event.issue, planned.actions) };
    }
    case 'change':
      return withGate(planChange(event, ctx), ctx);
    case 'push':
      return { actions: [], note: 'push events only refresh the policy cache' };
    case 'checks':
    case 'release':
      return { actions: [], note: 'the release gate handles it (src/core/gate)' };
    case 'comment': {
      const last = ctx.history[ctx.history.length - 1];
      const deepReview = last !== undefined && last.tier !== null && last.tier >= ctx.policy.planning.fromTier;
      const threat = planThreatDecision({
        event,
        authority: ctx.authority ?? NOBODY,
        log: ctx.threatLog ?? null,
        deepReview,
        now: ctx.now,
      });
      if (threat.length > 0)
        return {
          actions: withholdConfidential(event.issue, threat),
          note: `threat-model decision: ${threat.map((a) => a.type).join(', ')}`,
        };
      const actions = planToolDecision({
        event,
        policy: ctx.policy,
        now: ctx.now,
        issueKey: issueKey(event.issue.ref),
        authority: ctx.authority ?? NOBODY,
      });
      return {
        actions: withholdConfidential(event.issue, actions),
        note: actions.length === 0 ? 'a comment that is no command' : `decide command: ${actions.map((a) => a.type).join(', ')}`,
      };
    }
  }
}

const INTAKE_ACTIONS = new Set(['opened', 'edited', 'reopened', 'labeled']);

/**
 * The release gate's actions after the change request's own. The change request and its gate speak
 * in one comment: the change classification is a block of the gate's sticky comment, unless the
 * change request had its own change comment before it came under the gate (that comment stays where
 * it is, and is kept up to date). On an event that does not classify the change request (labels,
 * reviews) the block is rendered from Gatehouse's record (`gateClassification`): the comment is
 * written whole by Gatehouse every time, never with text read back from it.
 */
function withGate(planned: Plan, ctx: PlanContext): Plan {
  if (!ctx.gate) return planned;
  const gate = planGate(ctx.gate.input, {
    policy: ctx.policy,
    policySource: ctx.policySource,
    policyHash: ctx.gate.policyHash,
    now: ctx.now,
    render: ctx.render,
  });
  const note = `${planned.note}; ${gate.note}`;
  const target = ctx.gate.input.change.ref;
  const isChangeComment = (a: Action): a is EnsureComment =>
    a.type === 'ensureComment' && a.marker === CHANGE_MARKER && itemOf(a.target) === itemOf(target);
  const change = planned.actions.find(isChangeComment);
  if (!change) {
    const section = gateClassification({ history: ctx.history, gateFirst: ctx.gate.first ?? null, gate: ctx.gate.input }, ctx);
    return { actions: [...planned.actions, ...withGateClassification(gate.actions, section)], note, verdict: gate.verdict };
  }
  if (!classifiedUnderGate(ctx.history, ctx.gate.first))
    return { actions: [...planned.actions, ...gate.actions], note, verdict: gate.verdict };
  const gateActions = withGateClassification(gate.actions, classificationBlock(change.body));
  return { actions: [...planned.actions.filter((a) => !isChangeComment(a)), ...gateActions], note, verdict: gate.verdict };
}

/** When and by which delivery the change request's first gate decision was made. */
export interface GateFirst {
  decidedAt: Date;
  deliveryId: string | null;
}

/** A problem of the intake in a change request's description, as the change classification shows it. */
interface ShownProblem {
  label: string;
  message: string;
}

/**
 * Whether the change request's classification lives in the gate's comment: it was first classified
 * while under the gate (now, or by the delivery that made the gate's first decision, or after it).
 * `history`: its tier decisions before this evaluation, oldest first.
 */
export function classifiedUnderGate(history: readonly PriorDecision[], gateFirst: GateFirst | null | undefined): boolean {
  const first = history[0];
  if (!first) return true;
  if (!gateFirst) return false;
  return (
    (gateFirst.deliveryId !== null && gateFirst.deliveryId === first.deliveryId) ||
    gateFirst.decidedAt.getTime() < first.decidedAt.getTime()
  );
}

/** What the change classification shows: the tier decision, and the facts beside it. */
export interface ChangeClassification {
  tier: Tier | null;
  routes: readonly string[];
  reasons: readonly Reason[];
  /** How many paths the change request changes (shown when no path rule gives a tier). */
  pathCount: number;
  /** The problems of the intake in the description (empty: complete, or no intake). */
  problems: readonly ShownProblem[];
  platform: RepoRef['platform'];
}

type RenderContext = Pick<PlanContext, 'policy' | 'policySource' | 'policyWarnings' | 'render'>;

/** The change comment (its marker first): tier, routes, reasons, intake problems, expected assets, reviewers asked. */
function changeClassificationBody(c: ChangeClassification, ctx: RenderContext): string {
  const { policy } = ctx;
  const tierDef = c.tier === null ? null : (policy.tiers[c.tier] ?? null);
  return ctx.render('comments/change.md', {
    marker: CHANGE_MARKER,
    tier: tierDef,
    routes: c.routes.map((name) => policy.routes.find((r) => r.name === name)).filter(Boolean),
    pathCount: c.pathCount,
    reasons: c.reasons.map((r) => ({ rule: r.rule, summary: tableCell(r.summary), evidence: r.evidence.map(tableCell) })),
    problems: c.problems.map((p) => ({ label: p.label, message: tableCell(p.message) })),
    reviewers: c.tier !== null && c.tier >= policy.changes.reviewFromTier ? reviewersFor(c.platform, policy).map(neutralizeMentions) : [],
    policySource: ctx.policySource,
    policyWarnings: ctx.policyWarnings.map(neutralizeMentions),
  });
}

/** The change comment's text as the gate comment's block (without the change comment's marker). */
const classificationBlock = (body: string): string => (body.startsWith(CHANGE_MARKER) ? body.slice(CHANGE_MARKER.length) : body);

/**
 * The change classification block of the gate's comment when the gate re-evaluates without
 * classifying the change request (checks, labels, reviews), rendered from Gatehouse's own record
 * and the facts the gate read from the platform: the latest stored tier decision (tier, routes,
 * reasons), the changed paths and the problems of the intake in the description as the gate read
 * them (the same reading a classifying event makes), and the policy (expected assets, reviewers).
 * Null: the gate's comment carries none (never classified, or classified before it came under the
 * gate: its own change comment has it). Pure.
 */
export function gateClassification(
  record: {
    /** The change request's stored tier decisions, oldest first. */
    history: readonly PriorDecision[];
    gateFirst: GateFirst | null;
    /** What the gate read: the change request (description, current labels) and its changed paths. */
    gate: Pick<GatePlanInput, 'change' | 'evidence'>;
  },
  ctx: RenderContext,
): string | null {
  const latest = record.history[record.history.length - 1];
  if (!latest || !classifiedUnderGate(record.history, record.gateFirst)) return null;
  const { change, evidence } = record.gate;
  const body = changeClassificationBody(
    {
      tier: latest.tier,
      routes: latest.routes,
      reasons: latest.reasons,
      pathCount: evidence.changedPaths.length,
      problems: intakeProblems(change, ctx.policy),
      platform: change.ref.repo.platform,
    },
    ctx,
  );
  return classificationBlock(body);
}

/** The problems of the intake in a change request's description, read as `readIntake` reads it (none: complete, or no intake). */
function intakeProblems(change: ChangeRequestSnapshot, policy: Policy): ShownProblem[] {
  if (!isIntake(change.body, change.labels, policy)) return [];
  const record = parseIntake(change.body, policy.intake.fields, textLimit(change.ref.repo.platform));
  return record.complete ? [] : record.problems.map((p) => ({ label: p.label, message: p.message }));
}

/** The gate's actions with its sticky comment carrying the change classification block (none: as planned). */
export function withGateClassification(actions: readonly Action[], section: string | null): Action[] {
  if (section === null) return [...actions];
  return actions.map((a) =>
    a.type === 'ensureComment' && a.marker === GATE_MARKER ? { ...a, body: withSection(a.body, GATE_CHANGE_SECTION, section) } : a,
  );
}

function withExceptionRequest(planned: Plan, ctx: PlanContext): Plan {
  if (!ctx.exceptionRequest) return planned;
  const request = planExceptionRequest(ctx.exceptionRequest, { policy: ctx.policy, now: ctx.now, render: ctx.render });
  if (!request) return planned;
  return { actions: [...planned.actions, ...request.actions], note: `${planned.note}; ${request.note}` };
}

const itemOf = (target: { repo: { platform: string; fullName: string }; number: number; kind?: string }): string =>
  `${target.repo.platform}:${target.repo.fullName}${target.kind === 'change' ? '!' : '#'}${target.number}`;

/**
 * The label changes planned for one item, merged into the first of them: one write however many
 * features change its labels (tier and route, worksheet, release gate). A label both added and
 * removed is added (each feature removes only labels it manages and does not want).
 */
export function mergeLabelWrites(actions: readonly Action[]): Action[] {
  const merged = new Map<string, { add: string[]; remove: string[] }>();
  const out: Action[] = [];
  for (const a of actions) {
    if (a.type !== 'ensureLabels') {
      out.push(a);
      continue;
    }
    const key = itemOf(a.target);
    const first = merged.get(key);
    if (!first) {
      const entry = { type: 'ensureLabels' as const, target: a.target, add: [...a.add], remove: [...a.remove] };
      merged.set(key, entry);
      out.push(entry);
      continue;
    }
    for (const l of a.add) if (!first.add.some((x) => sameLabel(x, l))) first.add.push(l);
    for (const l of a.remove) if (!first.remove.some((x) => sameLabel(x, l))) first.remove.push(l);
  }
  for (const entry of merged.values()) entry.remove = entry.remove.filter((r) => !entry.add.some((a) => sameLabel(a, r)));
  return out;
}

/**
 * The description blocks planned for one item, merged into one edit in the place of the last of
 * them (whatever was planned before any of them, such as re-opening another intake's review, stays
 * before it): one read and at most one write however many workflows keep a block there (incident
 * worksheet and planning checklist). A block planned twice keeps its place and its last text.
 */
export function mergeBodyEdits(actions: readonly Action[]): Action[] {
  const last = new Map<string, number>();
  actions.forEach((a, i) => {
    if (a.type === 'ensureBodySection') last.set(itemOf(a.target), i);
  });
  const sections = new Map<string, BodySection[]>();
  const out: Action[] = [];
  actions.forEach((a, i) => {
    if (a.type !== 'ensureBodySection') {
      out.push(a);
      return;
    }
    const key = itemOf(a.target);
    const merged = sections.get(key) ?? [];
    sections.set(key, merged);
    for (const s of a.sections) {
      const at = merged.findIndex((m) => m.name === s.name);
      if (at >= 0) merged[at] = { ...s };
      else merged.push({ ...s });
    }
    if (last.get(key) === i) out.push({ type: 'ensureBodySection', target: a.target, sections: merged });
  });
  return out;
}

/** An intake as read once from its body: the parsed answers and their tier decision. */
export interface IntakeReading {
  record: IntakeRecord;
  decision: TierDecision;
}

/**
 * The intake of an issue or change request event, read once (null: the event does not need it:
 * not an intake, closed, or an action that does not re-evaluate it). The shell hands the reading to
 * `needsRelatedIntakes`, `relatedService` and `plan`: the body is parsed once per delivery.
 */
export function readIntake(event: GatehouseEvent, policy: Policy): IntakeReading | null {
  let item;
  if (event.kind === 'issue') {
    if (!INTAKE_ACTIONS.has(event.action) || event.issue.state !== 'open') return null;
    if (event.action === 'labeled' && !sameLabel(event.label ?? '', policy.labels.intake)) return null;
    item = event.issue;
  } else if (event.kind === 'change') {
    if (!CHANGE_ACTIONS.has(event.action) || event.change.state !== 'open') return null;
    item = event.change;
  } else return null;
  if (!isIntake(item.body, item.labels, policy)) return null;
  const record = parseIntake(item.body, policy.intake.fields, textLimit(item.ref.repo.platform));
  return { record, decision: classifyIntake(record, policy) };
}

const readingOf = (event: GatehouseEvent, ctx: Pick<PlanContext, 'intake' | 'policy'>): IntakeReading | null =>
  ctx.intake !== undefined ? ctx.intake : readIntake(event, ctx.policy);

function planIssue(event: IssueEvent, ctx: PlanContext): Plan {
  const intake = planIntake(event, ctx);
  const tooling = [
    ...planClocks(event, ctx),
    ...planFeatureRequest(event, ctx.policy, (view) => ctx.render('comments/feature-request.md', view)),
    ...planToolingIssue(event, ctx.policy),
  ];
  if (tooling.length === 0) return intake;
  return { actions: [...intake.actions, ...tooling], note: `${intake.note}; tooling: ${tooling.map((a) => a.type).join(', ')}` };
}

/** Whether the shell must load this issue's clocks before planning. */
export function needsClocks(event: GatehouseEvent, policy: Policy): boolean {
  return event.kind === 'issue' && (outageCriticality(event.issue, policy) !== null || event.action === 'unlabeled');
}

function sameClocks(a: readonly ClockState[], b: readonly ClockState[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function planClocks(event: IssueEvent, ctx: PlanContext): Action[] {
  const existing = ctx.clocks ?? [];
  if (existing.length === 0 && outageCriticality(event.issue, ctx.policy) === null) return [];
  const next = reconcileClocks(event.issue, existing, ctx.policy, ctx.now);
  // A clock already past its moments (an outage labelled late) fires at once.
  const fired = next.map((c) => fireClock(c, ctx.now));
  const clocks = fired.map((f) => f.clock);
  const actions: Action[] = [];
  for (const f of fired) if (f.fired) actions.push(...clockFiringActions(event.issue.ref, f.clock, f.fired, ctx, event.issue.url));
  if (!sameClocks(existing, clocks)) actions.push({ type: 'saveClocks', target: event.issue.ref, clocks });
  return actions;
}

/** The marker of a clock's warning or breach comment: one comment each, ever. */
export const clockMarker = (kind: string, fired: ClockFiring): string => `<!-- gatehouse:clock:${kind}:${fired} -->`;

/** A warning or a breach: the label, one comment with the due time in the team's zone, and (breach) the escalation. */
export function clockFiringActions(
  target: IssueEvent['issue']['ref'],
  clock: ClockState,
  fired: ClockFiring,
  ctx: Pick<PlanContext, 'policy' | 'render'>,
  url?: string,
): Action[] {
  const t = ctx.policy.tooling;
  const [atRisk, breached] = clock.kind === 'slo' ? [t.sloAtRisk, t.sloBreached] : [t.rtoAtRisk, t.rtoBreached];
  const name = clock.kind === 'slo' ? 'SLO (response)' : 'RTO (recovery)';
  const due = clock.dueAt ? teamTime(clock.dueAt, ctx.policy) : 'now';
  const body = ctx.render('comments/clock.md', {
    marker: clockMarker(clock.kind, fired),
    breached: fired === 'breached',
    name,
    criticality: clock.criticality,
    target: `${clock.targetMinutes / 60} business hours`,
    due,
  });
  const actions: Action[] = [
    { type: 'ensureLabels', target, add: [fired === 'breached' ? breached : atRisk], remove: fired === 'breached' ? [atRisk] : [] },
    { type: 'ensureComment', target, marker: clockMarker(clock.kind, fired), body },
  ];
  if (fired === 'breached' && clock.tool)
    actions.push({ type: 'recordMiss', target, tool: clock.tool, kind: clock.kind, at: clock.breachedAt ?? new Date(0) });
  if (fired === 'breached') {
    const kind = clock.kind === 'slo' ? 'slo-breached' : 'rto-breached';
    const text = `${name} breached for a ${clock.criticality} tooling outage: ${target.repo.fullName}#${target.number} (due ${due})`;
    actions.push({
      type: 'notifyChat',
      key: `${clock.kind}-breached:${issueKey(target)}`,
      channel: noticeChannel(ctx.policy, kind, null),
      text,
      notice: {
        kind,
        title: `${name} breached: ${clock.tool ?? target.repo.fullName} (${target.repo.fullName}#${target.number})`,
        reasons: [`The ${clock.criticality} outage's ${name} target of ${clock.targetMinutes / 60} business hours has passed`],
        severity: clock.criticality,
        owner: null,
        due: clock.dueAt ? [{ label: `${clock.kind.toUpperCase()} was due`, at: clock.dueAt.toISOString() }] : [],
        url: url ?? null,
        labels: [fired === 'breached' ? breached : atRisk],
        route: null,
        itemKey: issueKey(target),
      },
    });
  }
  return actions;
}

/** A scheduler tick for one issue's clocks: what they owe at `now`, and their new state. */
export function planClockTick(
  target: IssueEvent['issue']['ref'],
  clocks: readonly ClockState[],
  ctx: Pick<PlanContext, 'policy' | 'render' | 'now'> & {
    /** Misses per tool within the policy's window, before this tick. */ recentMisses: Readonly<Record<string, number>>;
  },
): Action[] {
  const fired = clocks.map((c) => fireClock(c, ctx.now));
  const actions: Action[] = [];
  const misses = { ...ctx.recentMisses };
  for (const f of fired) {
    if (!f.fired) continue;
    actions.push(...clockFiringActions(target, f.clock, f.fired, ctx));
    const tool = f.clock.tool;
    if (f.fired !== 'breached' || !tool) continue;
    misses[tool] = (misses[tool] ?? 0) + 1;
    if (misses[tool] === ctx.policy.tooling.repeatedMisses.count) actions.push(...repeatedMissActions(target, tool, ctx));
  }
  // Saved last: a crash before it repeats the firing, which finds its comment already there.
  actions.push({ type: 'saveClocks', target, clocks: fired.map((f) => f.clock) });
  return actions;
}

export const TOOL_SIGNAL_MARKER = '<!-- gatehouse:tool-signal -->';

/** One tool keeps missing its targets: say so once, on its latest issue and in the escalation stream. */
function repeatedMissActions(target: IssueEvent['issue']['ref'], tool: string, ctx: Pick<PlanContext, 'policy' | 'render'>): Action[] {
  const { count, windowDays } = ctx.policy.tooling.repeatedMisses;
  const body = ctx.render('comments/tool-signal.md', { marker: TOOL_SIGNAL_MARKER, tool, count, windowDays });
  return [
    { type: 'ensureComment', target, marker: TOOL_SIGNAL_MARKER, body },
    {
      type: 'notifyChat',
      key: `tool-signal:${tool}:${issueKey(target)}`,
      channel: noticeChannel(ctx.policy, 'repeated-miss', null),
      text: `${tool} has missed its SLO/RTO ${count} times in ${windowDays} days (latest: ${target.repo.fullName}#${target.number}). Time to act: move it to path::improve, or lower its criticality.`,
      notice: {
        kind: 'repeated-miss',
        title: `${tool} keeps missing its SLO/RTO (latest: ${target.repo.fullName}#${target.number})`,
        reasons: [`${count} misses within ${windowDays} days`, 'Time to act: move it to path::improve, or lower its criticality'],
        severity: null,
        owner: null,
        due: [],
        url: null,
        labels: [],
        route: null,
        itemKey: issueKey(target),
      },
    },
  ];
}

function planIntake(event: IssueEvent, ctx: PlanContext): Plan {
  const { issue } = event;
  if (event.action === 'closed' && isIntake(issue.body, issue.labels, ctx.policy))
    return { actions: [{ type: 'closeIntake', target: issue.ref }], note: 'intake closed: it leaves the queue' };
  if (!INTAKE_ACTIONS.has(event.action)) return { actions: [], note: `issue ${event.action}: nothing to do for intake` };
  if (issue.state === 'closed') return { actions: [], note: 'closed issues are not re-evaluated' };
  if (!isIntake(issue.body, issue.labels, ctx.policy)) return { actions: [], note: 'not an intake: left alone' };
  if (event.action === 'labeled' && !sameLabel(event.label ?? '', ctx.policy.labels.intake)) {
    return { actions: [], note: 'a label other than the intake label changed' };
  }
  const reading = readingOf(event, ctx);
  if (!reading) return { actions: [], note: 'not an intake: left alone' };
  const { record, decision } = reading;
  const workflows = workflowPlans(event, record, decision, ctx);
  // What the requester waits for comes first: the intake comment (tier, route, reasons, and the
  // status of its workflows: one comment), then the labels, then the workflows' description blocks.
  return {
    actions: [...intakeActions(event, record, decision, ctx, workflows), ...workflows.actions],
    note: record.complete ? `tier ${decision.tier}` : 'intake incomplete',
  };
}

interface WorkflowPlans {
  actions: Action[];
  /** The status of each workflow the intake has, shown in the intake comment. */
  planning: string | null;
  worksheet: string | null;
}

/** The tracked workflows of an intake: the incident worksheet and the security planning flow. */
function workflowPlans(event: IssueEvent, parsed: IntakeRecord, decision: TierDecision, ctx: PlanContext): WorkflowPlans {
  const record = withServiceLine(parsed, intakeServiceLine(parsed, decision, ctx.policy, false));
  const last = ctx.history[ctx.history.length - 1];
  const decisions = sameDecision(last, decision) ? ctx.history : [...ctx.history, { ...decision, decidedAt: ctx.now }];
  const worksheet = planIncidentWorksheet({ event, decision, policy: ctx.policy, render: ctx.render });
  const planning = planPlanning({
    event,
    record,
    decision,
    policy: ctx.policy,
    now: ctx.now,
    decisions,
    related: ctx.related ?? [],
    threatLog: ctx.threatLog ?? [],
    render: ctx.render,
  });
  return { actions: [...worksheet.actions, ...planning.actions], planning: planning.status, worksheet: worksheet.status };
}

/** Whether the shell must load the issue's stored threat-model decision log: a threat-decision command, or a deep review's planning flow (its bundle carries the log). */
export function needsThreatLog(event: GatehouseEvent): boolean {
  if (event.kind === 'comment') return parseThreatDecision(event.comment.body) !== null;
  return event.kind === 'issue' && readSection(event.issue.body, PLANNING_SECTION) !== null;
}

/**
 * Whether the shell must load the other open intakes for this issue's service before planning:
 * from the intake as `readIntake` read it (the body is not parsed again).
 */
export function needsRelatedIntakes(event: GatehouseEvent, policy: Policy, intake: IntakeReading | null): boolean {
  if (event.kind !== 'issue' || event.issue.state !== 'open' || !INTAKE_ACTIONS.has(event.action) || !intake) return false;
  if (readSection(event.issue.body, PLANNING_SECTION) !== null) return false;
  const { tier } = intake.decision;
  return intake.record.complete && tier !== null && tier >= policy.planning.fromTier;
}

/** The service an intake is about (its related intakes are this service's), from the reading. */
export function relatedService(intake: IntakeReading): string | null {
  const service = intake.record.answers['service'];
  return typeof service === 'string' ? service : null;
}

const lower = (s: string): string => s.trim().toLowerCase();
const sameLabel = (a: string, b: string): boolean => lower(a) === lower(b);

function labelChanges(
  current: readonly string[],
  desired: readonly string[],
  managed: readonly string[],
): { add: string[]; remove: string[] } {
  const have = new Set(current.map(lower));
  const want = new Set(desired.map(lower));
  return {
    add: desired.filter((l) => !have.has(lower(l))),
    remove: current.filter((l) => managed.some((m) => sameLabel(m, l)) && !want.has(lower(l))),
  };
}

function sameDecision(a: PriorDecision | undefined, d: TierDecision): boolean {
  if (!a) return false;
  const rules = (r: Reason[]): string =>
    r
      .map((x) => `${x.rule}:${x.evidence.join(',')}`)
      .sort()
      .join('|');
  return a.tier === d.tier && [...a.routes].sort().join() === [...d.routes].sort().join() && rules(a.reasons) === rules(d.reasons);
}

function intakeActions(
  event: IssueEvent,
  parsed: IntakeRecord,
  decision: TierDecision,
  ctx: PlanContext,
  workflows: Pick<WorkflowPlans, 'planning' | 'worksheet'>,
): Action[] {
  const { policy } = ctx;
  const line = intakeServiceLine(parsed, decision, policy, false);
  const record = withServiceLine(parsed, line);
  const target = event.issue.ref;
  const tierDef = decision.tier === null ? null : policy.tiers[decision.tier]!;
  const routeDefs = decision.routes.map((name) => policy.routes.find((r) => r.name === name)!).filter(Boolean);

  const desired = [
    policy.labels.intake,
    record.complete ? policy.labels.intakeComplete : policy.labels.intakeIncomplete,
    ...(tierDef ? [tierDef.label] : []),
    ...routeDefs.map((r) => r.label),
  ];
  const managed = [
    policy.labels.intakeComplete,
    policy.labels.intakeIncomplete,
    ...policy.tiers.map((t) => t.label),
    ...policy.routes.map((r) => r.label),
  ];
  const labels = labelChanges(event.issue.labels, desired, managed);

  const actions: Action[] = [{ type: 'saveIntake', target, key: issueKey(target), record }];
  const last = ctx.history[ctx.history.length - 1];
  const changed = !sameDecision(last, decision);
  if (changed)
    actions.push({
      type: 'recordDecision',
      target,
      key: issueKey(target),
      tier: decision.tier,
      routes: decision.routes,
      reasons: decision.reasons,
    });
  // Escalations are queued before the forge is written to: a slow or failing GitHub/GitLab never
  // holds back an incident notice (the notice key makes a retry's second enqueue a no-op).
  actions.push(...intakeNotices(event, record, decision, ctx));

  const service = typeof record.answers['service'] === 'string' ? record.answers['service'] : null;
  const earlier = changed ? ctx.history : ctx.history.slice(0, -1);
  const body = ctx.render('comments/intake.md', {
    marker: INTAKE_MARKER,
    service: service ? tableCell(service) : null,
    complete: record.complete,
    incompleteLabel: policy.labels.intakeIncomplete,
    problems: record.problems.map((p) => ({ label: p.label, message: tableCell(p.message) })),
    tier: tierDef,
    routes: routeDefs,
    serviceLine: line ? { value: tableCell(line.value), inferred: line.inferred, because: line.because } : null,
    reasons: decision.reasons.map((r) => ({ rule: r.rule, summary: tableCell(r.summary), evidence: r.evidence.map(tableCell) })),
    history: earlier.map((h) => ({
      at: h.decidedAt.toISOString(),
      tier: h.tier === null ? null : `${h.tier} (${policy.tiers[h.tier]!.name})`,
      routes: h.routes.join(', '),
    })),
    planning: workflows.planning,
    worksheet: workflows.worksheet,
    policySource: ctx.policySource,
    policyWarnings: ctx.policyWarnings.map(neutralizeMentions),
  });
  actions.push({ type: 'ensureComment', target, marker: INTAKE_MARKER, body });
  if (labels.add.length > 0 || labels.remove.length > 0) actions.push({ type: 'ensureLabels', target, ...labels });

  return actions;
}

function intakeServiceLine(record: IntakeRecord, decision: TierDecision, policy: Policy, onChangeRequest: boolean): ServiceLine | null {
  const field = policy.intake.fields.find((f) => f.id === SERVICE_LINE_FIELD);
  const answer = record.answers[SERVICE_LINE_FIELD];
  return serviceLine({
    answer: typeof answer === 'string' ? answer : null,
    routes: decision.routes,
    reasons: decision.reasons,
    onChangeRequest,
    options: field?.options ?? [],
  });
}

/** The record as stored: an inferred service line is kept beside the answers. */
function withServiceLine(record: IntakeRecord, line: ServiceLine | null): IntakeRecord {
  if (!line?.inferred) return record;
  return { ...record, answers: { ...record.answers, [SERVICE_LINE_INFERRED]: line.value } };
}

/**
 * The intake's escalations, one notice each: rules that notify at once (suspected exploitation →
 * the incident channel), and a tier-3 (leadership) intake. An intake that is both gets one notice.
 */
function intakeNotices(event: IssueEvent, record: IntakeRecord, decision: TierDecision, ctx: PlanContext): Action[] {
  const { policy } = ctx;
  const target = event.issue.ref;
  const tierDef = decision.tier === null ? null : policy.tiers[decision.tier]!;
  const service = typeof record.answers['service'] === 'string' ? record.answers['service'] : null;
  const owner = typeof record.answers['owner'] === 'string' ? record.answers['owner'] : null;
  const deadline =
    typeof record.answers['deadline'] === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(record.answers['deadline'])
      ? record.answers['deadline']
      : null;
  const severity = tierDef ? `Tier ${tierDef.level} (${tierDef.name})` : 'Unclassified';
  const notice = (key: string, kind: 'incident' | 'intake-leadership' | 'manual', route: string | null, reasons: Reason[]): Action => ({
    type: 'notifyChat',
    key,
    channel: noticeChannel(policy, kind, route),
    text: `${severity}${route ? `, route ${route}` : ''}: ${event.issue.title} — ${service ?? target.repo.fullName}${owner ? ` · owner ${owner}` : ''} · ${event.issue.url}`,
    notice: {
      kind,
      title: event.issue.title,
      reasons: reasons.map((r) => `${r.summary}${r.evidence.length > 0 ? ` (${r.evidence.join('; ')})` : ''}`),
      severity,
      owner,
      due: deadline ? [{ label: 'Requested deadline', at: `${deadline}T00:00:00.000Z` }] : [],
      url: event.issue.url,
      labels: [
        ...(tierDef ? [tierDef.label] : []),
        ...decision.routes.map((name) => policy.routes.find((r) => r.name === name)?.label).filter((l): l is string => !!l),
      ],
      route,
      itemKey: issueKey(target),
    },
  });
  const actions: Action[] = [];
  let leadershipSaid = false;
  for (const rule of decision.notify) {
    const reason = decision.reasons.find((r) => r.rule === rule);
    const route = reason?.route ?? null;
    const kind = route === 'incident' ? 'incident' : decision.tier === 3 ? 'intake-leadership' : 'manual';
    if (decision.tier === 3) leadershipSaid = true;
    actions.push(
      notice(
        `${rule}:${issueKey(target)}`,
        kind,
        route,
        route === 'incident' ? decision.reasons.filter((r) => r.route === 'incident') : decision.reasons,
      ),
    );
  }
  if (decision.tier === 3 && record.complete && !leadershipSaid) {
    actions.push(
      notice(
        `intake-leadership:${issueKey(target)}`,
        'intake-leadership',
        decision.routes[0] ?? null,
        decision.reasons.filter((r) => r.tier === 3),
      ),
    );
  }
  return actions;
}

/** Change-request events that can change what it touches or what its description says. */
const CHANGE_ACTIONS = new Set(['opened', 'synchronize', 'reopened', 'edited']);

/** Events on which a change that needs it asks the security reviewers for a review. */
const REVIEW_ACTIONS = new Set(['opened', 'synchronize', 'reopened']);

/** Whether the shell must read the changed paths before planning this event. */
export function needsChangedPaths(event: GatehouseEvent): boolean {
  return event.kind === 'change' && CHANGE_ACTIONS.has(event.action) && event.change.state === 'open';
}

function planChange(event: ChangeRequestEvent, ctx: PlanContext): Plan {
  const { change } = event;
  const { policy } = ctx;
  if (!CHANGE_ACTIONS.has(event.action)) return { actions: [], note: `change request ${event.action}: nothing to classify` };
  if (change.state !== 'open') return { actions: [], note: 'closed change requests are not re-evaluated' };

  const byPaths = classifyChanges(ctx.changedPaths ?? [], policy);
  const reading = readingOf(event, ctx);
  const intake = reading?.record ?? null;
  const byIntake = reading?.decision ?? null;
  const tiers = [byPaths.tier, byIntake?.tier ?? null].filter((t): t is Tier => t !== null);
  const tier: Tier | null = tiers.length > 0 ? (Math.max(...tiers) as Tier) : null;
  const routes = byIntake?.routes ?? [];
  const reasons = [...byPaths.reasons, ...(byIntake?.reasons ?? [])];
  const last = ctx.history[ctx.history.length - 1];
  if (tier === null && !last && !intake) return { actions: [], note: 'no security-relevant change' };

  const target = change.ref;
  const tierDef = tier === null ? null : policy.tiers[tier]!;
  const routeDefs = routes.map((name) => policy.routes.find((r) => r.name === name)!).filter(Boolean);
  const desired = [...(tierDef ? [tierDef.label] : []), ...routeDefs.map((r) => r.label)];
  const managed = [...policy.tiers.map((t) => t.label), ...policy.routes.map((r) => r.label)];
  const labels = labelChanges(change.labels, desired, managed);

  const decision: TierDecision = { tier, routes, reasons, notify: byIntake?.notify ?? [] };
  const actions: Action[] = [];
  if (intake)
    actions.push({
      type: 'saveIntake',
      target,
      key: changeKey(target),
      record: withServiceLine(intake, intakeServiceLine(intake, decision, policy, true)),
    });
  const changed = !sameDecision(last, decision);
  if (changed) actions.push({ type: 'recordDecision', target, key: changeKey(target), tier, routes, reasons });
  const platform = change.ref.repo.platform;
  const problems = intake && !intake.complete ? intake.problems.map((p) => ({ label: p.label, message: p.message })) : [];
  const body = changeClassificationBody({ tier, routes, reasons, pathCount: (ctx.changedPaths ?? []).length, problems, platform }, ctx);
  actions.push({ type: 'ensureComment', target, marker: CHANGE_MARKER, body });
  if (labels.add.length > 0 || labels.remove.length > 0) actions.push({ type: 'ensureLabels', target, ...labels });

  const crossed = tier !== null && tier >= policy.changes.reviewFromTier && (last?.tier ?? -1) < policy.changes.reviewFromTier;
  const reviewers = reviewersFor(platform, policy).filter((r) => r.toLowerCase() !== change.author.login.toLowerCase());
  if (crossed && REVIEW_ACTIONS.has(event.action) && reviewers.length > 0) actions.push({ type: 'requestReview', target, reviewers });
  return { actions, note: tier === null ? 'no security tier' : `tier ${tier}` };
}

/** Who is asked for a review: the security reviewers, then the accounts only requested (never counted by the gate). */
function reviewersFor(on: RepoRef['platform'], policy: Policy): string[] {
  const platform = on === 'gitlab' ? 'gitlab' : 'github';
  const all = [...policy.changes.reviewers[platform], ...policy.changes.requestReviewers[platform]];
  return all.filter((r, i) => all.findIndex((o) => o.toLowerCase() === r.toLowerCase()) === i);
}
