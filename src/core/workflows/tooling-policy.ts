/** Policy of the tooling lifecycle: who may record an intake decision by command comment. */
import { z } from 'zod';

const nonEmpty = z.string().trim().min(1);

/**
 * Accounts whose `/gatehouse decide …` comments are acted on, per forge (none by default: every command
 * is refused). Read from the global policy only: a repository's override cannot name deciders.
 */
export const toolingDecidersSchema = z
  .object({
    github: z.array(nonEmpty).default([]),
    gitlab: z.array(nonEmpty).default([]),
  })
  .strict()
  .prefault({});
