/**
 * What the digests and the web page are built from: plain rows the shell reads from the store
 * (intake records with their latest tier decision, clocks, clock misses, escalation notices, gate
 * decision records, the exception register) and the policy's tooling inventory.
 */
import type { ClockState } from '../outage/clocks.ts';
import type { Tool } from '../policy/schema.ts';

export interface DigestIntake {
  key: string;
  /** Repository (GitHub owner/name, GitLab project path). */
  repo: string;
  complete: boolean;
  /** Latest tier decision (null: none yet, e.g. still incomplete). */
  tier: number | null;
  /** Rules that fired in the latest decision. */
  rules: string[];
  /** First seen: the first tier decision, else the record's first save. */
  openedAt: Date;
  closedAt: Date | null;
  answers: Record<string, string | string[] | null>;
}

export interface DigestClocks {
  key: string;
  clocks: ClockState[];
}

export interface DigestMiss {
  issueKey: string;
  tool: string;
  kind: string;
  at: Date;
}

export interface DigestEscalation {
  key: string;
  kind: string;
  title: string;
  severity: string | null;
  url: string | null;
  createdAt: Date;
  acknowledgedAt: Date | null;
}

export interface DigestGateReason {
  rule: string;
  severity: string;
  summary: string;
  subject: string | null;
}

export interface DigestGateDecision {
  key: string;
  verdict: string;
  releaseClass: string;
  decidedAt: Date;
  reasons: DigestGateReason[];
}

export interface DigestException {
  id: string;
  category: string | null;
  repo: string;
  findingRef: string;
  status: string;
  requestedAt: Date;
  approvedAt: Date | null;
  expiresAt: Date;
}

export interface DigestData {
  intakes: DigestIntake[];
  clocks: DigestClocks[];
  misses: DigestMiss[];
  escalations: DigestEscalation[];
  gateDecisions: DigestGateDecision[];
  exceptions: DigestException[];
  tools: Tool[];
}
