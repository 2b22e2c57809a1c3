/** Routing: intake answers → tier and routes, each with the reasons that gave them. */
import type { Reason, Tier } from '../model.ts';
import type { Condition, Policy, RoutingRule } from '../policy/schema.ts';
import type { IntakeAnswers, IntakeRecord } from '../intake/parse.ts';

export interface TierDecision {
  /** null while the intake is incomplete and no rule applies to incomplete intakes. */
  tier: Tier | null;
  routes: string[];
  reasons: Reason[];
  /** Rules that asked for an immediate chat notice. */
  notify: string[];
}

const norm = (s: string): string => s.trim().replace(/\s+/g, ' ').toLowerCase();

interface Match {
  ok: boolean;
  evidence: string[];
}

function labelOf(policy: Policy, id: string): string {
  return policy.intake.fields.find((f) => f.id === id)?.label ?? id;
}

function show(v: string | string[] | null | undefined): string {
  if (v === null || v === undefined) return '(no answer)';
  return Array.isArray(v) ? v.join(', ') : v;
}

export function evaluateCondition(c: Condition, answers: IntakeAnswers, policy: Policy): Match {
  if ('all' in c) {
    const parts = c.all.map((s) => evaluateCondition(s, answers, policy));
    return parts.every((p) => p.ok) ? { ok: true, evidence: parts.flatMap((p) => p.evidence) } : { ok: false, evidence: [] };
  }
  if ('any' in c) {
    const hits = c.any.map((s) => evaluateCondition(s, answers, policy)).filter((p) => p.ok);
    return hits.length > 0 ? { ok: true, evidence: hits.flatMap((p) => p.evidence) } : { ok: false, evidence: [] };
  }
  if ('not' in c) {
    const inner = evaluateCondition(c.not, answers, policy);
    if (inner.ok) return { ok: false, evidence: [] };
    const field = leafField(c.not);
    return { ok: true, evidence: field ? [`${labelOf(policy, field)} = ${show(answers[field])}`] : [] };
  }
  const value = answers[c.field];
  const values = value === null || value === undefined ? [] : Array.isArray(value) ? value.map(norm) : [norm(value)];
  const label = labelOf(policy, c.field);
  let hit: string[] = [];
  if ('equals' in c) hit = values.includes(norm(c.equals)) ? [c.equals] : [];
  else if ('in' in c) hit = c.in.filter((v) => values.includes(norm(v)));
  else if ('includes' in c) hit = values.includes(norm(c.includes)) ? [c.includes] : [];
  else hit = c.includesAny.filter((v) => values.includes(norm(v)));
  if (hit.length === 0) return { ok: false, evidence: [] };
  // Evidence quotes the answer as given (canonical option spelling), not the rule's spelling.
  const answered = Array.isArray(value) ? value.filter((v) => hit.some((h) => norm(h) === norm(v))) : [show(value)];
  return { ok: true, evidence: answered.map((a) => `${label} = ${a}`) };
}

function leafField(c: Condition): string | null {
  if ('field' in c) return c.field;
  if ('not' in c) return leafField(c.not);
  const first = 'all' in c ? c.all[0] : c.any[0];
  return first ? leafField(first) : null;
}

function reasonFor(rule: RoutingRule, evidence: string[]): Reason {
  return { rule: rule.name, summary: rule.description, evidence, tier: rule.tier ?? null, route: rule.route ?? null };
}

/**
 * The highest tier any fired rule gives wins; fallback rules count only when no regular rule
 * fired; with nothing fired, the policy's default tier. An incomplete intake is classified only
 * by rules marked `evenWhenIncomplete`.
 */
export function classifyIntake(intake: IntakeRecord, policy: Policy): TierDecision {
  const rules = policy.routing.rules.filter((r) => intake.complete || r.evenWhenIncomplete);
  const fired = (list: RoutingRule[]): Reason[] =>
    list.flatMap((r) => {
      const m = evaluateCondition(r.when, intake.answers, policy);
      return m.ok ? [reasonFor(r, m.evidence)] : [];
    });

  let reasons = fired(rules.filter((r) => !r.fallback));
  if (reasons.length === 0 && intake.complete) reasons = fired(rules.filter((r) => r.fallback)).slice(0, 1);

  const tiers = reasons.map((r) => r.tier).filter((t): t is Tier => t !== null);
  let tier: Tier | null = tiers.length > 0 ? (Math.max(...tiers) as Tier) : null;
  if (tier === null && intake.complete) {
    tier = policy.routing.defaultTier;
    reasons = [...reasons, { rule: 'default', summary: policy.routing.defaultReason, evidence: [], tier, route: null }];
  }
  const routes = [...new Set(reasons.map((r) => r.route).filter((r): r is string => r !== null))];
  const notifyRules = new Set(rules.filter((r) => r.notify).map((r) => r.name));
  const notify = reasons.filter((r) => notifyRules.has(r.rule)).map((r) => r.rule);
  return { tier, routes, reasons, notify };
}
