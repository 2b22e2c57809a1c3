/** Business time and SLO/RTO clock targets (pure). */
export { BusinessCalendar, CalendarError, createCalendar, isValidTimeZone, STANDARD_HOURS, WEEKDAYS } from './calendar.ts';
export type { CalendarSpec, RegionSpec, Weekday, WeeklyHours } from './calendar.ts';
export { addBusinessMinutes, businessMinutesBetween, isBusinessTime } from './business-time.ts';
export { calendarOf, calendarSpec, clockPolicySchema, defaultClockPolicy, parseDuration, regionSchema } from './policy.ts';
export type { ClockPolicy, ClockRegion } from './policy.ts';
export { clockStatus, clockTargets, CRITICALITIES, dueAt, effectiveCriticality, isCriticality, warnAt, warnMinutes } from './targets.ts';
export type { ClockKind, ClockOptions, ClockReading, ClockState, Criticality } from './targets.ts';
