/** Policy sections of the tracked workflows: the security planning flow and the incident worksheet. */
import { z } from 'zod';

const nonEmpty = z.string().trim().min(1);
const tierNumber = z.number().int().min(0).max(3);

export const planningPolicySchema = z
  .object({
    /** Intakes from this tier on get the ten-stage planning checklist. */
    fromTier: tierNumber.default(2),
    /** Let a stage be ticked before the one before it (Gatehouse un-ticks it otherwise). */
    allowReorder: z.boolean().default(false),
    /**
     * Accounts whose `/gatehouse threat-decision …` comments add to a deep review's decision log, per
     * forge (logins on GitHub, usernames on GitLab). None by default: every such command is refused.
     * Read from the global policy only: a repository's override cannot name deciders.
     */
    threatDeciders: z
      .object({ github: z.array(nonEmpty).default([]), gitlab: z.array(nonEmpty).default([]) })
      .strict()
      .prefault({}),
  })
  .strict();

export const incidentPolicySchema = z
  .object({
    /** The route whose intakes get the runtime investigation worksheet. */
    route: nonEmpty.default('incident'),
    /** Added when every item of the worksheet is ticked (removed when one is un-ticked again). */
    followUpDoneLabel: nonEmpty.default('incident::follow-up-done'),
  })
  .strict();
