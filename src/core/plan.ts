/** plan(event, state, policy, now) → actions. Pure: no clock, no network, no environment. */
import type { Action } from './actions.ts';
import { parseIntake, isIntake, type IntakeRecord } from './intake/parse.ts';
import { issueKey, type GatehouseEvent, type IssueEvent, type Reason, type Tier } from './model.ts';
import type { Policy } from './policy/schema.ts';
import { classifyIntake, type TierDecision } from './routing/classify.ts';
import { neutralizeMentions, tableCell } from './text.ts';

export type TemplateName = 'comments/intake.md';
export type Render = (name: TemplateName, view: object) => string;

export interface PriorDecision {
  tier: Tier | null;
  routes: string[];
  reasons: Reason[];
  decidedAt: Date;
}

export interface PlanContext {
  policy: Policy;
  /** Where the policy came from, shown in comments (e.g. `built-in default`). */
  policySource: string;
  /** Problems with a repository override that was ignored, shown to the requester. */
  policyWarnings: string[];
  now: Date;
  render: Render;
  /** Earlier decisions for this issue, oldest first. */
  history: PriorDecision[];
}

export const INTAKE_MARKER = '<!-- gatehouse:intake -->';

export interface Plan {
  actions: Action[];
  /** Why nothing (or this) is planned, for logs and `gatehouse explain`. */
  note: string;
}

export function plan(event: GatehouseEvent, ctx: PlanContext): Plan {
  switch (event.kind) {
    case 'issue':
      return planIssue(event, ctx);
    case 'push':
      return { actions: [], note: 'push events only refresh the policy cache' };
  }
}

const INTAKE_ACTIONS = new Set(['opened', 'edited', 'reopened', 'labeled']);

function planIssue(event: IssueEvent, ctx: PlanContext): Plan {
  const { issue } = event;
  if (!INTAKE_ACTIONS.has(event.action)) return { actions: [], note: `issue ${event.action}: nothing to do for intake` };
  if (issue.state === 'closed') return { actions: [], note: 'closed issues are not re-evaluated' };
  if (!isIntake(issue.body, issue.labels, ctx.policy)) return { actions: [], note: 'not an intake: left alone' };
  if (event.action === 'labeled' && !sameLabel(event.label ?? '', ctx.policy.labels.intake)) {
    return { actions: [], note: 'a label other than the intake label changed' };
  }
  const record = parseIntake(issue.body, ctx.policy.intake.fields);
  const decision = classifyIntake(record, ctx.policy);
  return { actions: intakeActions(event, record, decision, ctx), note: record.complete ? `tier ${decision.tier}` : 'intake incomplete' };
}

const lower = (s: string): string => s.trim().toLowerCase();
const sameLabel = (a: string, b: string): boolean => lower(a) === lower(b);

function labelChanges(current: readonly string[], desired: readonly string[], managed: readonly string[]): { add: string[]; remove: string[] } {
  const have = new Set(current.map(lower));
  const want = new Set(desired.map(lower));
  return {
    add: desired.filter((l) => !have.has(lower(l))),
    remove: current.filter((l) => managed.some((m) => sameLabel(m, l)) && !want.has(lower(l))),
  };
}

function sameDecision(a: PriorDecision | undefined, d: TierDecision): boolean {
  if (!a) return false;
  const rules = (r: Reason[]): string => r.map((x) => `${x.rule}:${x.evidence.join(',')}`).sort().join('|');
  return a.tier === d.tier && [...a.routes].sort().join() === [...d.routes].sort().join() && rules(a.reasons) === rules(d.reasons);
}

function intakeActions(event: IssueEvent, record: IntakeRecord, decision: TierDecision, ctx: PlanContext): Action[] {
  const { policy } = ctx;
  const target = event.issue.ref;
  const tierDef = decision.tier === null ? null : policy.tiers[decision.tier]!;
  const routeDefs = decision.routes.map((name) => policy.routes.find((r) => r.name === name)!).filter(Boolean);

  const desired = [
    policy.labels.intake,
    record.complete ? policy.labels.intakeComplete : policy.labels.intakeIncomplete,
    ...(tierDef ? [tierDef.label] : []),
    ...routeDefs.map((r) => r.label),
  ];
  const managed = [policy.labels.intakeComplete, policy.labels.intakeIncomplete, ...policy.tiers.map((t) => t.label), ...policy.routes.map((r) => r.label)];
  const labels = labelChanges(event.issue.labels, desired, managed);

  const actions: Action[] = [{ type: 'saveIntake', target, record }];
  const last = ctx.history[ctx.history.length - 1];
  const changed = !sameDecision(last, decision);
  if (changed) actions.push({ type: 'recordDecision', target, tier: decision.tier, routes: decision.routes, reasons: decision.reasons });
  if (labels.add.length > 0 || labels.remove.length > 0) actions.push({ type: 'ensureLabels', target, ...labels });

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
    reasons: decision.reasons.map((r) => ({ rule: r.rule, summary: tableCell(r.summary), evidence: r.evidence.map(tableCell) })),
    history: earlier.map((h) => ({ at: h.decidedAt.toISOString(), tier: h.tier === null ? null : `${h.tier} (${policy.tiers[h.tier]!.name})`, routes: h.routes.join(', ') })),
    policySource: ctx.policySource,
    policyWarnings: ctx.policyWarnings.map(neutralizeMentions),
  });
  actions.push({ type: 'ensureComment', target, marker: INTAKE_MARKER, body });

  for (const rule of decision.notify) {
    const route = decision.reasons.find((r) => r.rule === rule)?.route;
    const channel = route === 'incident' ? policy.chat.incidentChannel : policy.chat.escalationChannel;
    const who = typeof record.answers['owner'] === 'string' ? ` · owner ${record.answers['owner']}` : '';
    actions.push({
      type: 'notifyChat',
      key: `${rule}:${issueKey(target)}`,
      channel,
      text: `${tierDef ? `Tier ${tierDef.level} (${tierDef.name})` : 'Unclassified'}${route ? `, route ${route}` : ''}: ${event.issue.title} — ${service ?? target.repo.fullName}${who} · ${event.issue.url}`,
    });
  }
  return actions;
}
