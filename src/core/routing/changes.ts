/** Change classification: the paths a pull/merge request changes → a tier, with the paths as reasons. */
import picomatch from 'picomatch';
import type { Reason, Tier } from '../model.ts';
import type { ChangeRule, Policy } from '../policy/schema.ts';

export interface ChangeDecision {
  /** null when no rule matched (e.g. a docs-only change). */
  tier: Tier | null;
  reasons: Reason[];
}

const SHOWN_PATHS = 5;

const matchers = new WeakMap<ChangeRule, (path: string) => boolean>();
function matcherFor(rule: ChangeRule): (path: string) => boolean {
  let m = matchers.get(rule);
  if (!m) {
    m = picomatch(rule.paths, { dot: true });
    matchers.set(rule, m);
  }
  return m;
}

export function classifyChanges(allPaths: readonly string[], policy: Policy): ChangeDecision {
  const ignored = picomatch(policy.changes.ignore.length > 0 ? policy.changes.ignore : ['\0'], { dot: true });
  const paths = allPaths.filter((p) => !ignored(p));
  const reasons: Reason[] = [];
  for (const rule of policy.changes.rules) {
    const match = matcherFor(rule);
    const hits = paths.filter((p) => match(p));
    if (hits.length === 0) continue;
    const shown = hits.slice(0, SHOWN_PATHS).map((p) => `path ${p}`);
    if (hits.length > SHOWN_PATHS) shown.push(`and ${hits.length - SHOWN_PATHS} more path(s)`);
    reasons.push({ rule: rule.name, summary: rule.description, evidence: shown, tier: rule.tier, route: null });
  }
  const tiers = reasons.map((r) => r.tier).filter((t): t is Tier => t !== null);
  return { tier: tiers.length > 0 ? (Math.max(...tiers) as Tier) : null, reasons };
}
