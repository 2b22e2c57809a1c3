/**
 * A limit on the commands one account sends: anyone can comment on a public repository, and every
 * `/gatehouse …` comment may cost API writes (a decision, a refusal comment). An account that sends
 * more than `max` commands within `windowMinutes` has its further commands ignored: nothing is
 * written to the platform for them, the first ignored one in a window is audited, the rest only
 * counted. The shell counts the commands (in the database, so the limit holds across replicas) and
 * asks `allowCommand`; the limit comes from the global policy only (`commands.perActor`).
 */
import { z } from 'zod';

export const commandPolicySchema = z
  .object({
    /**
     * Commands one account may send within the window (every `/gatehouse …` comment counts, whether
     * it is carried out, refused or ignored); more are ignored until the window has room again.
     */
    perActor: z
      .object({
        max: z.number().int().min(1).default(10),
        windowMinutes: z.number().int().min(1).max(1440).default(10),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type CommandPolicy = z.infer<typeof commandPolicySchema>;
export type CommandLimit = CommandPolicy['perActor'];

// `/gatehouse` (not `/gatehouse-x`) and the word after it, at the start of the comment's first
// non-empty line, as the command parsers read it (`\s` as they use it: any blank, no-break spaces too).
const COMMAND = /^\s*\/gatehouse(?![\w-])\s*([A-Za-z][\w-]*)?/i;

/**
 * The command a comment sends (`decide`, `threat-decision`, … in lower case; `''` for a bare
 * `/gatehouse`), or null when its first non-empty line is no `/gatehouse` command. Unknown words
 * count too: the limit is on what an account sends, not on what Gatehouse understands.
 */
export function commandOf(body: string): string | null {
  const first =
    body
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .find((l) => l.trim() !== '') ?? '';
  const m = COMMAND.exec(first.slice(0, 200));
  return m ? (m[1] ?? '').toLowerCase() : null;
}

/** The start of the window that `now` closes. */
export const commandWindowStart = (now: Date, limit: CommandLimit): Date => new Date(now.getTime() - limit.windowMinutes * 60_000);

export interface CommandCount {
  /** Commands the account sent within the window ending at `now`, this one included. */
  sent: number;
  /** When an ignored command of this account was last audited (null: never, or not kept). */
  lastLimitAuditAt: Date | null;
}

export type CommandAllowance =
  | { kind: 'allow' }
  /** Ignored: no write on the platform. `audit`: the first one ignored in this window, audited; later ones are only counted. */
  | { kind: 'limit'; audit: boolean; reason: string };

export function allowCommand(count: CommandCount, now: Date, limit: CommandLimit): CommandAllowance {
  if (count.sent <= limit.max) return { kind: 'allow' };
  const since = commandWindowStart(now, limit);
  const audit = count.lastLimitAuditAt === null || count.lastLimitAuditAt.getTime() <= since.getTime();
  return {
    kind: 'limit',
    audit,
    reason: `${count.sent} commands within ${limit.windowMinutes} minutes, more than the ${limit.max} allowed (commands.perActor): ignored`,
  };
}
