/** The threat-model decision log of deep reviews, as Gatehouse keeps it (src/storage/threat-decisions.ts). */
import type { ThreatDecision } from '../core/workflows/threat-log.ts';

export interface ThreatLogStore {
  /** Adds a decision; the same command comment (a redelivery, a retry) is recorded once. */
  recordThreatDecision(decision: ThreatDecision, deliveryId: string | null): Promise<{ inserted: boolean }>;
  /** The issue's decisions, oldest first. */
  threatDecisions(issueKey: string): Promise<ThreatDecision[]>;
}
