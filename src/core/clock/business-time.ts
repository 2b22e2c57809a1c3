/**
 * The business-time engine: pure arithmetic over a calendar's merged UTC business intervals,
 * walked a UTC day at a time (whole days are skipped by their total), never a minute at a time.
 */
import { DAY_MS, MINUTE_MS, type BusinessCalendar } from './calendar.ts';

/** No calendar with working hours needs more than this to find any target (100 years). */
const MAX_DAYS = 36_525;

function instant(d: Date, what: string): number {
  const t = d instanceof Date ? d.getTime() : Number.NaN;
  if (!Number.isFinite(t)) throw new RangeError(`${what} is not a valid date`);
  return t;
}

/**
 * The moment at which `minutes` business minutes after `start` have elapsed: the earliest instant
 * `t ≥ start` with exactly that much business time in `[start, t)`.
 *
 * - The result of a positive target lies in business time or at the end of a window: 60 minutes
 *   from Friday 16:00 in a 09:00–17:00 week is Friday 17:00, not Monday 09:00.
 * - 0 minutes is the identity: it returns `start` unchanged, even outside business hours (a zero
 *   target is due at once; rolling it forward to the next opening would invent a delay).
 * - A start outside business hours counts from the next opening.
 * - Fractional minutes are allowed (rounded to the millisecond); negative or non-finite throw.
 */
export function addBusinessMinutes(calendar: BusinessCalendar, start: Date, minutes: number): Date {
  const t0 = instant(start, 'start');
  if (!Number.isFinite(minutes) || minutes < 0) throw new RangeError(`minutes must be a finite number ≥ 0 (got ${minutes})`);
  let remaining = Math.round(minutes * MINUTE_MS);
  if (remaining === 0) return new Date(t0);
  const first = Math.floor(t0 / DAY_MS);
  for (let d = first; d < first + MAX_DAYS; d++) {
    const day = calendar.day(d);
    if (day.totalMs === 0) continue;
    if (d !== first && day.totalMs < remaining) {
      remaining -= day.totalMs;
      continue;
    }
    const iv = day.intervals;
    for (let i = 0; i < iv.length; i += 2) {
      const end = iv[i + 1]!;
      if (end <= t0) continue;
      const from = Math.max(iv[i]!, t0);
      const len = end - from;
      if (len >= remaining) return new Date(from + remaining);
      remaining -= len;
    }
  }
  throw new RangeError('no business time found within 100 years');
}

/** Business milliseconds in `[from, to)` (from ≤ to). */
function businessMs(calendar: BusinessCalendar, from: number, to: number): number {
  const firstDay = Math.floor(from / DAY_MS);
  const lastDay = Math.floor(to / DAY_MS);
  let total = 0;
  for (let d = firstDay; d <= lastDay; d++) {
    const day = calendar.day(d);
    if (day.totalMs === 0) continue;
    if (d !== firstDay && d !== lastDay) {
      total += day.totalMs;
      continue;
    }
    const iv = day.intervals;
    for (let i = 0; i < iv.length; i += 2) {
      const a = Math.max(iv[i]!, from);
      const b = Math.min(iv[i + 1]!, to);
      if (a < b) total += b - a;
    }
  }
  return total;
}

/**
 * Whole business minutes between two moments (business time in `[from, to)`, rounded down to the
 * minute). Antisymmetric: when `to` is before `from` the answer is the negated count.
 * `businessMinutesBetween(c, s, addBusinessMinutes(c, s, n)) === n` for every whole `n`.
 */
export function businessMinutesBetween(calendar: BusinessCalendar, from: Date, to: Date): number {
  const a = instant(from, 'from');
  const b = instant(to, 'to');
  if (b < a) return -Math.floor(businessMs(calendar, b, a) / MINUTE_MS) || 0;
  return Math.floor(businessMs(calendar, a, b) / MINUTE_MS);
}

/** True when `at` is business time (some region is inside a working window). */
export function isBusinessTime(calendar: BusinessCalendar, at: Date): boolean {
  const t = instant(at, 'at');
  const iv = calendar.day(Math.floor(t / DAY_MS)).intervals;
  for (let i = 0; i < iv.length; i += 2) if (iv[i]! <= t && t < iv[i + 1]!) return true;
  return false;
}
