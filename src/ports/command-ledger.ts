/** The commands each account sent lately, as Gatehouse counts them for the per-account limit (src/storage/command-uses.ts). */
import type { Platform } from '../core/model.ts';
import type { CommandCount } from '../core/workflows/command-limit.ts';

export interface SentCommand {
  platform: Platform;
  /** The account as the platform reports it (compared in lower case). */
  actor: string;
  deliveryId: string;
  at: Date;
}

export interface CommandLedger {
  /**
   * Counts the command (once per delivery: a retried job is not counted again) and returns what the
   * account sent since `since`, this command included, and when an ignored command of the account was
   * last audited. Shared by every replica on the same database.
   */
  recordCommand(command: SentCommand, since: Date): Promise<CommandCount>;
  /** Notes that this delivery's ignored command was audited (the next audit is a window later). */
  markLimitAudited(platform: Platform, deliveryId: string): Promise<void>;
}
