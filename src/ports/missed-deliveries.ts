/**
 * What the missed-delivery sweep (jobs/redelivery.ts) keeps: the redeliveries it asked GitHub
 * for, once per guid, and the GitLab hooks it reported disabled or paused, once per hook and
 * state; and what it reads to find the GitLab projects Gatehouse has seen. Kept in the database
 * by src/storage/missed-deliveries.ts, so a restart or a second replica never asks or reports twice.
 */
export interface RedeliveryAsk {
  guid: string;
  hookDeliveryId: number;
  event: string;
  deliveredAt: Date;
  askedAt: Date;
}

export interface MissedDeliveryLedger {
  /** Records the ask before it is made: false when this or another replica asked for `guid` already. */
  claimRedelivery(ask: RedeliveryAsk): Promise<boolean>;
  /** The ask's outcome: `asked`, or why GitHub refused it for good. */
  settleRedelivery(guid: string, outcome: string): Promise<void>;
  /** Forgets an ask that may not have arrived: the next sweep asks again. */
  forgetRedelivery(guid: string): Promise<void>;
  /** GitLab projects named by intakes and clocks (`path_with_namespace`). */
  gitlabProjects(): Promise<string[]>;
  /** The JSON text of GitLab deliveries received since `since`, newest first, at most `limit`. */
  recentGitLabPayloads(since: Date, limit: number): Promise<string[]>;
  /** The hook is healthy again: its next disabled state is reported anew. */
  hookHealthy(hook: string): Promise<void>;
  /** Records the hook's state; when it is new or changed, the how-manieth report this is (one replica reports it), else null. */
  hookAlert(hook: string, state: string, at: Date): Promise<number | null>;
}
