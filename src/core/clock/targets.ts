/**
 * SLO/RTO targets by criticality (contract: "SLO/RTO clocks"), their due times and warning points.
 * Targets are business minutes (a business day = `hoursPerDay` business hours, a week =
 * `daysPerWeek` business days), independent of how long the calendar's windows are.
 */
import { addBusinessMinutes, businessMinutesBetween } from './business-time.ts';
import { calendarOf, parseDuration, type ClockPolicy } from './policy.ts';

export const CRITICALITIES = ['critical', 'high', 'medium', 'low'] as const;
export type Criticality = (typeof CRITICALITIES)[number];

export const isCriticality = (value: string): value is Criticality => (CRITICALITIES as readonly string[]).includes(value);

/** `path::redirect` caps a tool's clocks at `low`; every other path-forward leaves them alone. */
export function effectiveCriticality(criticality: Criticality, pathForward: string | null | undefined): Criticality {
  if (pathForward?.trim().toLowerCase() !== 'redirect') return criticality;
  const cap: Criticality = 'low';
  return CRITICALITIES.indexOf(criticality) > CRITICALITIES.indexOf(cap) ? criticality : cap;
}

export type ClockKind = 'slo' | 'rto';

export interface ClockOptions {
  /** Time zone of regions that name none and of a `clocks` section without `timeZone`: the main policy's `timeZone`. Default UTC. */
  timeZone?: string;
}

/** Targets in business minutes, null where the criticality has none. */
export function clockTargets(policy: ClockPolicy, criticality: Criticality): Record<ClockKind, number | null> {
  const t = policy.targets[criticality];
  const minutes = (d: string | null) => parseDuration(d, policy) ?? null;
  return { slo: minutes(t.slo), rto: minutes(t.rto) };
}

/** Business minutes at which a clock warns: `warnAt` of the target, rounded to the minute. */
export const warnMinutes = (policy: ClockPolicy, target: number): number => Math.round(target * policy.warnAt);

/** When the SLO and RTO are due for an issue of this criticality opened at `openedAt`. */
export function dueAt(
  policy: ClockPolicy,
  criticality: Criticality,
  openedAt: Date,
  options: ClockOptions = {},
): { sloDue: Date | null; rtoDue: Date | null } {
  const calendar = calendarOf(policy, options.timeZone);
  const t = clockTargets(policy, criticality);
  return {
    sloDue: t.slo === null ? null : addBusinessMinutes(calendar, openedAt, t.slo),
    rtoDue: t.rto === null ? null : addBusinessMinutes(calendar, openedAt, t.rto),
  };
}

/** When each clock reaches its warning point (`warnAt`, default 75 % of the target's business minutes). */
export function warnAt(
  policy: ClockPolicy,
  criticality: Criticality,
  openedAt: Date,
  options: ClockOptions = {},
): { sloWarn: Date | null; rtoWarn: Date | null } {
  const calendar = calendarOf(policy, options.timeZone);
  const t = clockTargets(policy, criticality);
  return {
    sloWarn: t.slo === null ? null : addBusinessMinutes(calendar, openedAt, warnMinutes(policy, t.slo)),
    rtoWarn: t.rto === null ? null : addBusinessMinutes(calendar, openedAt, warnMinutes(policy, t.rto)),
  };
}

export type ClockState = 'running' | 'at-risk' | 'breached';

export interface ClockReading {
  targetMinutes: number;
  warnMinutes: number;
  /** Business minutes from opening to `now` (0 when `now` is before the opening). */
  elapsedMinutes: number;
  warnAt: Date;
  dueAt: Date;
  /** `breached` from the due time on, `at-risk` from the warning point on. */
  state: ClockState;
}

/**
 * Both clocks of an issue that has run uninterrupted since `openedAt` (no assignee, not closed, no
 * pause): targets, elapsed business minutes, warning point, due time and state at `now`.
 */
export function clockStatus(
  policy: ClockPolicy,
  criticality: Criticality,
  openedAt: Date,
  now: Date,
  options: ClockOptions = {},
): Record<ClockKind, ClockReading | null> {
  const calendar = calendarOf(policy, options.timeZone);
  const targets = clockTargets(policy, criticality);
  const elapsed = Math.max(0, businessMinutesBetween(calendar, openedAt, now));
  const reading = (target: number | null): ClockReading | null => {
    if (target === null) return null;
    const warn = warnMinutes(policy, target);
    return {
      targetMinutes: target,
      warnMinutes: warn,
      elapsedMinutes: elapsed,
      warnAt: addBusinessMinutes(calendar, openedAt, warn),
      dueAt: addBusinessMinutes(calendar, openedAt, target),
      state: elapsed >= target ? 'breached' : elapsed >= warn ? 'at-risk' : 'running',
    };
  };
  return { slo: reading(targets.slo), rto: reading(targets.rto) };
}
