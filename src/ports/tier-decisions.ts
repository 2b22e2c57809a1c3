/** The tier decisions: every tier and routes Gatehouse decided for an issue or change, with the reasons, in order. */
import type { Reason } from '../core/model.ts';

export interface DecisionRow {
  issueKey: string;
  tier: number | null;
  routes: string[];
  reasons: Reason[];
  decidedAt: Date;
  deliveryId: string | null;
}

export interface TierDecisions {
  latestDecision(issueKey: string): Promise<DecisionRow | null>;
  recordDecision(r: DecisionRow): Promise<void>;
  /** Every decision on the issue, oldest first. */
  decisionHistory(issueKey: string): Promise<DecisionRow[]>;
}
