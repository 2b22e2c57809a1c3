/** What the digests and the web page are built from (core/digest/data.ts), as storage reads it (src/storage/digest-source.ts). */
import type { DigestData } from '../core/digest/data.ts';
import type { Tool } from '../core/policy/schema.ts';

export interface DigestSourceOptions {
  /** Older history than this is not read (closed intakes, decisions, misses, acknowledged notices). */
  since: Date;
  tools: readonly Tool[];
  /** Row caps per table (a guard, not pagination). Default 5000. */
  limit?: number;
}

export interface DigestSource {
  /** Intakes, clocks, misses, notices, gate decisions and exceptions since `opts.since`. */
  digestData(opts: DigestSourceOptions): Promise<DigestData>;
  /** Whether a notification with this key exists already (a replica sent this period's digest). */
  notificationExists(key: string): Promise<boolean>;
}
