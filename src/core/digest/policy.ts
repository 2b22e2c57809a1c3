/**
 * The `cadence` section of the policy (the operating cadence's digests) and the `page` section
 * (who may read the web page). Every key has a default; a policy file names only what it changes.
 *
 * ```yaml
 * cadence:
 *   channel: '#prodsec-leads'          # where digests go; unset: chat.escalationChannel
 *   agingDays: 14                      # an open tier 2/3 intake older than this is an aging review
 *   catchUpHours: 24                   # a digest missed while the bot was down is still sent this late
 *   weekly:    { enabled: true, day: monday, at: '09:00' }
 *   biweekly:  { enabled: true, day: monday, at: '09:00', anchor: '2026-01-05' }   # every other week from the anchor's week
 *   monthly:   { enabled: true, dayOfMonth: 1, at: '09:00' }
 *   quarterly: { enabled: true, at: '09:00' }                  # the first day of January, April, July, October
 * page:
 *   access: token                      # token (GATEHOUSE_PAGE_TOKEN as a Bearer token, never ?token=) or header
 *   header: X-Forwarded-User           # access: header -> this header, believed only from GATEHOUSE_TRUSTED_PROXIES
 * ```
 * Times are wall-clock times in the policy's `timeZone`.
 */
import { z } from 'zod';

const channel = z
  .string()
  .trim()
  .regex(/^[#A-Za-z0-9][\w.-]*$/, 'a channel is #name or a channel id');
const time = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time is HH:MM (24-hour)');
const weekday = z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']);
const localDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date is YYYY-MM-DD');

export const cadencePolicySchema = z
  .object({
    channel: channel.optional(),
    agingDays: z.number().int().min(1).default(14),
    catchUpHours: z.number().int().min(0).default(24),
    weekly: z
      .object({
        enabled: z.boolean().default(true),
        day: weekday.default('monday'),
        at: time.default('09:00'),
        channel: channel.optional(),
      })
      .strict()
      .prefault({}),
    biweekly: z
      .object({
        enabled: z.boolean().default(true),
        day: weekday.default('monday'),
        at: time.default('09:00'),
        anchor: localDate.default('2026-01-05'),
        channel: channel.optional(),
      })
      .strict()
      .prefault({}),
    monthly: z
      .object({
        enabled: z.boolean().default(true),
        dayOfMonth: z.number().int().min(1).max(28).default(1),
        at: time.default('09:00'),
        channel: channel.optional(),
      })
      .strict()
      .prefault({}),
    quarterly: z
      .object({ enabled: z.boolean().default(true), at: time.default('09:00'), channel: channel.optional() })
      .strict()
      .prefault({}),
  })
  .strict();
export type CadencePolicy = z.infer<typeof cadencePolicySchema>;

export const pagePolicySchema = z
  .object({
    access: z.enum(['token', 'header']).default('token'),
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'a header name is letters, digits and -')
      .default('X-Forwarded-User'),
  })
  .strict();
