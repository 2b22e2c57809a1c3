/**
 * The ORACLE: a deliberately naive business-time model that walks minute by minute and asks each
 * region "is this local minute inside a window of its weekday, and is its local date not a
 * holiday?" (local time from @date-fns/tz's TZDate). No intervals, no offsets, no cleverness —
 * only a memo of each zone's local reading of a minute, so that property runs stay fast.
 */
import { TZDate } from '@date-fns/tz';
import type { CalendarSpec } from '../../../src/core/clock/calendar.ts';

const MINUTE = 60_000;
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
const STANDARD: Record<string, string[]> = {
  monday: ['09:00-17:00'],
  tuesday: ['09:00-17:00'],
  wednesday: ['09:00-17:00'],
  thursday: ['09:00-17:00'],
  friday: ['09:00-17:00'],
};

interface Local {
  date: string;
  weekday: (typeof DAYS)[number];
  minuteOfDay: number;
}

const memo = new Map<string, Map<number, Local>>();

/** The wall-clock reading of UTC minute `ms` in `timeZone`. */
export function localMinute(timeZone: string, ms: number): Local {
  let zone = memo.get(timeZone);
  if (!zone) memo.set(timeZone, (zone = new Map()));
  const hit = zone.get(ms);
  if (hit) return hit;
  const d = new TZDate(ms, timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  const local: Local = {
    date: `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`,
    weekday: DAYS[d.getDay()]!,
    minuteOfDay: d.getHours() * 60 + d.getMinutes(),
  };
  if (zone.size > 2_000_000) zone.clear();
  zone.set(ms, local);
  return local;
}

function toMinutes(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h! * 60 + m!;
}

/** Is the minute starting at `ms` business time in any region? */
export function oracleIsBusiness(spec: CalendarSpec, ms: number): boolean {
  return spec.regions.some((region) => {
    const local = localMinute(region.timeZone, ms);
    if ((spec.holidays ?? []).includes(local.date) || (region.holidays ?? []).includes(local.date)) return false;
    const windows = (region.hours ?? STANDARD)[local.weekday] ?? [];
    return windows.some((w) => {
      const [start, end] = w.split('-') as [string, string];
      return toMinutes(start) <= local.minuteOfDay && local.minuteOfDay < toMinutes(end);
    });
  });
}

/** Walks from `start` (minute-aligned) until `n` business minutes have passed. */
export function oracleAdd(spec: CalendarSpec, start: number, n: number): number {
  if (n === 0) return start;
  let seen = 0;
  for (let t = start; ; t += MINUTE) {
    if (oracleIsBusiness(spec, t) && ++seen === n) return t + MINUTE;
  }
}

/** Counts the business minutes in `[from, to)` (minute-aligned, from ≤ to). */
export function oracleBetween(spec: CalendarSpec, from: number, to: number): number {
  let n = 0;
  for (let t = from; t < to; t += MINUTE) if (oracleIsBusiness(spec, t)) n++;
  return n;
}
