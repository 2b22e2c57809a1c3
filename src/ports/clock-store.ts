/** The SLO/RTO clocks per issue (claimed by the scheduler under a lease), and the misses of each tool's clocks. */
import type { IssueRef } from '../core/model.ts';
import type { ClockState } from '../core/outage/clocks.ts';

export interface ClockRow {
  issueKey: string;
  target: IssueRef;
  /** GitHub installation that can act on the issue (null on GitLab). */
  installationId: number | null;
  clocks: ClockState[];
  /** Earliest warning or breach still owed; null when nothing is. */
  nextFireAt: Date | null;
}

export interface ClockStore {
  /** Upserts an issue's clocks and releases any claim on them. */
  saveClocks(row: ClockRow): Promise<void>;
  getClocks(issueKey: string): Promise<ClockRow | null>;
  /**
   * Claims up to `limit` issues whose clocks owe something at `now` (and are not claimed by
   * another worker), for `leaseMs`. Reads only due rows (index on next_fire_at).
   */
  claimDueClocks(now: Date, limit: number, leaseMs: number): Promise<ClockRow[]>;
  /** Gives up every clock claim: for a sole worker at start, whose claims found were a dead run's. Returns how many. */
  releaseClockClaims(): Promise<number>;
  /** Issues whose clocks still owe something, earliest first. */
  listOpenClocks(limit: number): Promise<ClockRow[]>;
  /** The earliest moment after `after` at which a clock owes something (the scheduler wakes then); null when none. */
  nextClockDue(after: Date): Promise<Date | null>;
  /** A tool's clock missed its target (once per issue and clock kind). */
  recordMiss(m: { issueKey: string; tool: string; kind: string; at: Date }): Promise<void>;
  /** Misses per tool since a moment. */
  countMisses(tools: readonly string[], since: Date): Promise<Record<string, number>>;
}
