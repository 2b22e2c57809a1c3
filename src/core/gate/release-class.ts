/** Release candidates and their release class: from the label, else the policy's branch and path rules, else prod. */
import picomatch from 'picomatch';
import type { Policy } from '../policy/schema.ts';
import { RELEASE_CLASSES, type ReleaseClass } from './policy.ts';

export interface ReleaseClassDecision {
  releaseClass: ReleaseClass;
  /** What decided it. */
  source: 'label' | 'branch' | 'path' | 'default';
  /** One line: the label, the rule and the branch or paths. */
  detail: string;
}

type CandidateView = { labels: readonly string[]; targetBranch: string; state?: string };

const lower = (s: string): string => s.trim().toLowerCase();
const RANK: Record<ReleaseClass, number> = { 'non-prod': 0, prod: 1, 'high-risk': 2, emergency: 3 };
const SHOWN_PATHS = 5;

/** A PR/MR labelled with the release label or targeting a release branch. */
export function isReleaseCandidate(change: CandidateView, policy: Pick<Policy, 'gate'>): boolean {
  const { gate } = policy;
  if (change.labels.some((l) => lower(l) === lower(gate.releaseLabel))) return true;
  return gate.releaseBranches.length > 0 && picomatch(gate.releaseBranches, { dot: true })(change.targetBranch);
}

/** The release class the labels name (the most severe when several do), or null. */
export function classFromLabels(labels: readonly string[], policy: Pick<Policy, 'gate'>): ReleaseClass | null {
  const have = new Set(labels.map(lower));
  const named = RELEASE_CLASSES.filter((c) => have.has(lower(policy.gate.labels.classes[c])));
  return named.length === 0 ? null : named.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
}

function pathsShown(hits: readonly string[]): string {
  const shown = hits.slice(0, SHOWN_PATHS).join(', ');
  return hits.length > SHOWN_PATHS ? `${shown} and ${hits.length - SHOWN_PATHS} more` : shown;
}

/**
 * The release class: a `release-class::*` label wins (the most severe of several); else the most
 * severe of the policy's rules that match (high-risk paths, `classRules` by target branch or
 * changed paths); else prod. Non-prod and emergency come from the label only.
 */
export function releaseClass(change: CandidateView, changedPaths: readonly string[], policy: Pick<Policy, 'gate'>): ReleaseClassDecision {
  const { gate } = policy;
  const byLabel = classFromLabels(change.labels, policy);
  if (byLabel) return { releaseClass: byLabel, source: 'label', detail: `label ${gate.labels.classes[byLabel]}` };

  const found: ReleaseClassDecision[] = [];
  const isHighRisk = gate.highRiskPaths.length > 0 ? picomatch(gate.highRiskPaths, { dot: true }) : () => false;
  const highRisk = changedPaths.filter((p) => isHighRisk(p));
  if (highRisk.length > 0) found.push({ releaseClass: 'high-risk', source: 'path', detail: `high-risk path ${pathsShown(highRisk)}` });
  gate.classRules.forEach((rule, i) => {
    if (rule.branches && picomatch(rule.branches, { dot: true })(change.targetBranch)) {
      found.push({ releaseClass: rule.class, source: 'branch', detail: `class rule ${i + 1}: target branch ${change.targetBranch}` });
    } else if (rule.paths) {
      const match = picomatch(rule.paths, { dot: true });
      const hits = changedPaths.filter((p) => match(p));
      if (hits.length > 0) found.push({ releaseClass: rule.class, source: 'path', detail: `class rule ${i + 1}: path ${pathsShown(hits)}` });
    }
  });
  if (found.length > 0) return found.reduce((a, b) => (RANK[b.releaseClass] > RANK[a.releaseClass] ? b : a));
  return { releaseClass: 'prod', source: 'default', detail: 'no label or rule names a class: prod' };
}
