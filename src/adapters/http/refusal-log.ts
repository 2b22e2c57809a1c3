/**
 * Refusals logged without letting a flood write the log: the first refusal of each reason in a
 * window is logged (reason and status only, never a body or a header's value), the rest are
 * counted and reported with the next line of that reason.
 */
import type { Logger } from 'pino';

export class RefusalLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly message: string,
    private readonly windowMs = 60_000,
    private readonly clock: () => number = Date.now,
  ) {}

  /** Logs (warn) unless this reason was logged within the window; then it is only counted. */
  note(reason: string, fields: Record<string, string | number> = {}): void {
    const now = this.clock();
    const seen = this.last.get(reason);
    if (seen && now - seen.at < this.windowMs) {
      seen.suppressed++;
      return;
    }
    this.logger.warn(
      {
        ...fields,
        reason,
        ...(seen && seen.suppressed > 0 ? { alsoRefused: seen.suppressed, sinceSeconds: Math.round((now - seen.at) / 1000) } : {}),
      },
      this.message,
    );
    // the reasons are a handful of fixed strings: the map stays small
    this.last.set(reason, { at: now, suppressed: 0 });
  }
}
