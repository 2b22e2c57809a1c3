/**
 * The `clocks` section of the policy: business calendar, targets per criticality, warning point.
 *
 * ```yaml
 * clocks:
 *   timeZone: Europe/Berlin        # zone of regions that name none (absent: the policy's timeZone, else UTC)
 *   regions:                       # united: business time when any region works
 *     - name: emea
 *       timeZone: Europe/Berlin
 *       hours:                     # absent: Monday–Friday 09:00–17:00; present: unnamed days are off
 *         monday: ['09:00-12:00', '13:00-17:00']
 *       holidays: ['2026-12-24']   # this region's local dates
 *   holidays: ['2026-12-25']       # every region, each on its own local date
 *   hoursPerDay: 8                 # a business day in targets ("1d")
 *   daysPerWeek: 5                 # a business week in targets ("2w")
 *   warnAt: 0.75                   # warning point, share of the target
 *   targets:
 *     critical: { slo: 4h, rto: 12h }   # m, h, d (business days), w (business weeks); null or none
 * ```
 */
import { z } from 'zod';
import { BusinessCalendar, WEEKDAYS, isValidTimeZone, parseLocalDate, parseWindow, type CalendarSpec, type Weekday } from './calendar.ts';

const DURATION_RE = /^\s*(\d+(?:\.\d+)?)\s*(m|min|mins|minutes?|h|hours?|d|days?|w|weeks?)\s*$/i;

/** A target's length in business minutes; null for `none`/null; undefined when malformed. */
export function parseDuration(text: string | null, unit: { hoursPerDay: number; daysPerWeek: number }): number | null | undefined {
  if (text === null || text.trim().toLowerCase() === 'none') return null;
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const u = m[2]!.toLowerCase()[0];
  const perUnit = u === 'm' ? 1 : u === 'h' ? 60 : u === 'd' ? unit.hoursPerDay * 60 : unit.hoursPerDay * unit.daysPerWeek * 60;
  const minutes = Math.round(n * perUnit);
  return minutes > 0 ? minutes : undefined;
}

const timeZoneSchema = z
  .string()
  .trim()
  .min(1)
  .superRefine((tz, ctx) => {
    if (!isValidTimeZone(tz))
      ctx.addIssue({ code: 'custom', message: `unknown time zone "${tz}" (an IANA name such as Europe/Berlin, or UTC)` });
  });

const windowSchema = z.string().superRefine((w, ctx) => {
  if (!parseWindow(w))
    ctx.addIssue({ code: 'custom', message: `"${w}" is not a working window: HH:MM-HH:MM, start before end, end at most 24:00` });
});

const dateSchema = z.string().superRefine((d, ctx) => {
  if (parseLocalDate(d) === null) ctx.addIssue({ code: 'custom', message: `"${d}" is not a date (YYYY-MM-DD)` });
});

const hoursSchema = z
  .object(
    Object.fromEntries(WEEKDAYS.map((d) => [d, z.array(windowSchema).optional()])) as Record<
      Weekday,
      z.ZodOptional<z.ZodArray<typeof windowSchema>>
    >,
  )
  .strict();

export const regionSchema = z
  .object({
    name: z.string().trim().min(1).optional(),
    timeZone: timeZoneSchema.optional(),
    hours: hoursSchema.optional(),
    holidays: z.array(dateSchema).default([]),
  })
  .strict();
export type ClockRegion = z.infer<typeof regionSchema>;

const durationSchema = z
  .string()
  .nullable()
  .superRefine((d, ctx) => {
    if (d !== null && parseDuration(d, { hoursPerDay: 8, daysPerWeek: 5 }) === undefined) {
      ctx.addIssue({
        code: 'custom',
        message: `"${d}" is not a target: a positive number with m, h, d (business days) or w (business weeks), or none`,
      });
    }
  });

const target = (slo: string | null, rto: string | null) =>
  z
    .object({ slo: durationSchema.default(slo), rto: durationSchema.default(rto) })
    .strict()
    .prefault({});

export const clockPolicySchema = z
  .object({
    timeZone: timeZoneSchema.optional(),
    regions: z.array(regionSchema).min(1).prefault([{}]),
    holidays: z.array(dateSchema).default([]),
    hoursPerDay: z.number().positive().max(24).default(8),
    daysPerWeek: z.number().int().min(1).max(7).default(5),
    warnAt: z.number().gt(0).lt(1).default(0.75),
    targets: z
      .object({
        critical: target('4h', '12h'),
        high: target('1d', '2d'),
        medium: target('3d', '2w'),
        low: target(null, null),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((p, ctx) => {
    const works = p.regions.some((r) => r.hours === undefined || Object.values(r.hours).some((w) => w && w.length > 0));
    if (!works) ctx.addIssue({ code: 'custom', path: ['regions'], message: 'no region has working hours on any day' });
  });
export type ClockPolicy = z.infer<typeof clockPolicySchema>;

/** The default: one region in the policy's time zone (default UTC), Monday–Friday 09:00–17:00, no holidays. */
export const defaultClockPolicy: ClockPolicy = clockPolicySchema.parse({});

/** The calendar spec of a clock policy; `fallbackTimeZone` (the main policy's `timeZone`) for regions and policy naming none. */
export function calendarSpec(policy: ClockPolicy, fallbackTimeZone = 'UTC'): CalendarSpec {
  return {
    regions: policy.regions.map((r, i) => ({
      name: r.name ?? `clocks.regions[${i}]`,
      timeZone: r.timeZone ?? policy.timeZone ?? fallbackTimeZone,
      ...(r.hours ? { hours: r.hours } : {}),
      holidays: r.holidays,
    })),
    holidays: policy.holidays,
  };
}

const calendars = new WeakMap<ClockPolicy, Map<string, BusinessCalendar>>();

/** The policy's compiled calendar (cached per policy object: treat policies as immutable). */
export function calendarOf(policy: ClockPolicy, fallbackTimeZone = 'UTC'): BusinessCalendar {
  let byZone = calendars.get(policy);
  if (!byZone) calendars.set(policy, (byZone = new Map()));
  let calendar = byZone.get(fallbackTimeZone);
  if (!calendar) byZone.set(fallbackTimeZone, (calendar = new BusinessCalendar(calendarSpec(policy, fallbackTimeZone))));
  return calendar;
}
