/**
 * Release candidates and their release class. The class comes from the policy's branch and path
 * rules, else prod; a `release-class::*` label may raise it (emergency is label-only, a raise);
 * a label that would lower it counts only when an account the global policy names
 * (`gate.classSetters`) added it, as the platform's label events say (never the payload sender).
 */
import picomatch from 'picomatch';
import type { Platform } from '../model.ts';
import type { Policy } from '../policy/schema.ts';
import { RELEASE_CLASSES, type ReleaseClass } from './policy.ts';

/** An account that added a label, as the platform's label events say (the Forge port's `LabelActor`). */
export interface LabelActorFact {
  login: string;
  /** ISO-8601. */
  at: string;
  bot: boolean;
}

/** Who added a class label, read by the shell from the platform's label events. */
export interface ClassLabelFact {
  label: string;
  /** null: no label event attributes it (removed since, too many events, a deleted account). */
  addedBy: LabelActorFact | null;
  /** The label events could not be read: the label cannot be attributed. */
  error?: string | null;
}

/** A lowering label that did not count: it is removed, the refusal audited and escalated. */
export interface RefusedClassLabel {
  label: string;
  releaseClass: ReleaseClass;
  /** The account the platform says added it, or null when none could be read. */
  actor: string | null;
  reason: string;
}

export interface ReleaseClassDecision {
  releaseClass: ReleaseClass;
  /** What decided it. */
  source: 'label' | 'branch' | 'path' | 'default';
  /** One line: the label, the rule and the branch or paths. */
  detail: string;
  /** Labels that would have lowered the class and did not count. */
  refused: RefusedClassLabel[];
}

type CandidateView = { labels: readonly string[]; targetBranch: string; state?: string; ref?: { repo: { platform: Platform } } };

const lower = (s: string): string => s.trim().toLowerCase();
export const CLASS_RANK: Record<ReleaseClass, number> = { 'non-prod': 0, prod: 1, 'high-risk': 2, emergency: 3 };
const SHOWN_PATHS = 5;

/** A PR/MR labelled with the release label or targeting a release branch. */
export function isReleaseCandidate(change: CandidateView, policy: Pick<Policy, 'gate'>): boolean {
  const { gate } = policy;
  if (change.labels.some((l) => lower(l) === lower(gate.releaseLabel))) return true;
  return gate.releaseBranches.length > 0 && picomatch(gate.releaseBranches, { dot: true })(change.targetBranch);
}

/** The release classes the labels name, each with the label as the policy spells it. */
export function classLabelsOn(labels: readonly string[], policy: Pick<Policy, 'gate'>): { releaseClass: ReleaseClass; label: string }[] {
  const have = new Set(labels.map(lower));
  return RELEASE_CLASSES.filter((c) => have.has(lower(policy.gate.labels.classes[c]))).map((c) => ({
    releaseClass: c,
    label: policy.gate.labels.classes[c],
  }));
}

function pathsShown(hits: readonly string[]): string {
  const shown = hits.slice(0, SHOWN_PATHS).join(', ');
  return hits.length > SHOWN_PATHS ? `${shown} and ${hits.length - SHOWN_PATHS} more` : shown;
}

/** The class the policy's rules give (high-risk paths, `classRules` by target branch or changed paths), else prod. */
export function classFromRules(
  change: CandidateView,
  changedPaths: readonly string[],
  policy: Pick<Policy, 'gate'>,
): Omit<ReleaseClassDecision, 'refused'> {
  const { gate } = policy;
  const found: Omit<ReleaseClassDecision, 'refused'>[] = [];
  const isHighRisk = gate.highRiskPaths.length > 0 ? picomatch(gate.highRiskPaths, { dot: true }) : () => false;
  const highRisk = changedPaths.filter((p) => isHighRisk(p));
  if (highRisk.length > 0) found.push({ releaseClass: 'high-risk', source: 'path', detail: `high-risk path ${pathsShown(highRisk)}` });
  gate.classRules.forEach((rule, i) => {
    if (rule.branches && picomatch(rule.branches, { dot: true })(change.targetBranch)) {
      found.push({ releaseClass: rule.class, source: 'branch', detail: `class rule ${i + 1}: target branch ${change.targetBranch}` });
    } else if (rule.paths) {
      const match = picomatch(rule.paths, { dot: true });
      const hits = changedPaths.filter((p) => match(p));
      if (hits.length > 0)
        found.push({ releaseClass: rule.class, source: 'path', detail: `class rule ${i + 1}: path ${pathsShown(hits)}` });
    }
  });
  if (found.length > 0) return found.reduce((a, b) => (CLASS_RANK[b.releaseClass] > CLASS_RANK[a.releaseClass] ? b : a));
  return { releaseClass: 'prod', source: 'default', detail: 'no rule names a class: prod' };
}

/** The class labels on the change request that would lower the class its rules give: whose adder the shell must read. */
export function loweringClassLabels(change: CandidateView, changedPaths: readonly string[], policy: Pick<Policy, 'gate'>): string[] {
  const base = classFromRules(change, changedPaths, policy).releaseClass;
  return classLabelsOn(change.labels, policy)
    .filter((x) => CLASS_RANK[x.releaseClass] < CLASS_RANK[base])
    .map((x) => x.label);
}

/** Whether the global policy names this account as one that may set (lower) the release class. */
export function isClassSetter(login: string, platform: Platform | undefined, policy: Pick<Policy, 'gate'>): boolean {
  const setters = platform === 'github' ? policy.gate.classSetters.github : platform === 'gitlab' ? policy.gate.classSetters.gitlab : [];
  return setters.some((s) => lower(s) === lower(login));
}

/**
 * The release class: the policy's rules (else prod), raised by the most severe `release-class::*`
 * label above it; a label below it lowers it only when `facts` show that a class setter named by
 * the global policy added it (then the most severe of the accepted lowering labels). A lowering
 * label without that fact is refused. Non-prod and emergency come from labels only.
 */
export function releaseClass(
  change: CandidateView,
  changedPaths: readonly string[],
  policy: Pick<Policy, 'gate'>,
  facts: readonly ClassLabelFact[] = [],
): ReleaseClassDecision {
  const base = classFromRules(change, changedPaths, policy);
  const labels = classLabelsOn(change.labels, policy);
  const raises = labels.filter((x) => CLASS_RANK[x.releaseClass] > CLASS_RANK[base.releaseClass]);
  const lowers = labels.filter((x) => CLASS_RANK[x.releaseClass] < CLASS_RANK[base.releaseClass]);
  const platform = change.ref?.repo.platform;
  const refused: RefusedClassLabel[] = [];
  const accepted: { releaseClass: ReleaseClass; label: string; by: string }[] = [];
  for (const l of lowers) {
    const fact = facts.find((f) => lower(f.label) === lower(l.label));
    const by = fact?.addedBy ?? null;
    const why = `${l.label} would lower the class from ${base.releaseClass} (${base.detail})`;
    if (!fact || fact.error) {
      refused.push({
        label: l.label,
        releaseClass: l.releaseClass,
        actor: null,
        reason: `${why}, and who added it could not be read${fact?.error ? ` (${fact.error})` : ''}`,
      });
    } else if (!by) {
      refused.push({
        label: l.label,
        releaseClass: l.releaseClass,
        actor: null,
        reason: `${why}, and no label event of the platform attributes it to an account`,
      });
    } else if (!isClassSetter(by.login, platform, policy)) {
      refused.push({
        label: l.label,
        releaseClass: l.releaseClass,
        actor: by.login,
        reason: `${why}; ${by.login} added it and is not a class setter of the global policy (gate.classSetters)`,
      });
    } else {
      accepted.push({ releaseClass: l.releaseClass, label: l.label, by: by.login });
    }
  }
  if (raises.length > 0) {
    const top = raises.reduce((a, b) => (CLASS_RANK[b.releaseClass] > CLASS_RANK[a.releaseClass] ? b : a));
    return {
      releaseClass: top.releaseClass,
      source: 'label',
      detail: `label ${top.label} (raises ${base.releaseClass}: ${base.detail})`,
      refused,
    };
  }
  if (accepted.length > 0) {
    const top = accepted.reduce((a, b) => (CLASS_RANK[b.releaseClass] > CLASS_RANK[a.releaseClass] ? b : a));
    return {
      releaseClass: top.releaseClass,
      source: 'label',
      detail: `label ${top.label}, added by class setter ${top.by} (lowers ${base.releaseClass}: ${base.detail})`,
      refused,
    };
  }
  if (base.source === 'default' && labels.length > 0 && refused.length === 0) {
    return { ...base, detail: `label ${labels[0]!.label}: prod`, source: 'label', refused };
  }
  return { ...base, refused };
}
