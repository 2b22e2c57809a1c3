/** The tooling intake decisions, as Gatehouse keeps them (src/storage/tool-decisions.ts). */
import type { ToolDecisionRecord } from '../core/workflows/tooling.ts';

export interface ToolDecisionStore {
  /** Records a decision; a second call with the same delivery id is a no-op. */
  record(decision: ToolDecisionRecord, deliveryId: string | null): Promise<{ inserted: boolean }>;
  /** Every decision, oldest first. */
  list(): Promise<ToolDecisionRecord[]>;
}
