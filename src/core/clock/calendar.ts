/**
 * Business calendars: one or more on-duty regions, each with an IANA time zone, working windows
 * per weekday (local wall-clock time) and holidays (local dates). The regions are UNITED: an
 * instant is business time when any region is working at that instant.
 *
 * A compiled calendar answers one question fast: the business intervals (UTC milliseconds, merged
 * and sorted) within one UTC day. Each day is computed once, from each region's local dates, and
 * cached; the engine in `business-time.ts` walks these days, never minutes.
 *
 * Exact across daylight-saving changes: a window `[start, end)` on local date D covers exactly the
 * instants whose local wall-clock time falls on D between start and end. On a spring-forward day a
 * window inside the skipped hour is empty (a window across it is an hour shorter); on a fall-back
 * day a window across the repeated hour is an hour longer, and the repeated wall-clock minutes
 * count twice (they are two different instants).
 */
import { tzOffset } from '@date-fns/tz';

export const MINUTE_MS = 60_000;
export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** Working windows per weekday, each `HH:MM-HH:MM` in local time (end up to `24:00`). */
export type WeeklyHours = Partial<Record<Weekday, readonly string[]>>;

/** The standard week: Monday–Friday 09:00–17:00. */
export const STANDARD_HOURS: Readonly<Record<Weekday, readonly string[]>> = {
  sunday: [],
  monday: ['09:00-17:00'],
  tuesday: ['09:00-17:00'],
  wednesday: ['09:00-17:00'],
  thursday: ['09:00-17:00'],
  friday: ['09:00-17:00'],
  saturday: [],
};

export interface RegionSpec {
  /** For messages only. */
  name?: string;
  /** IANA time zone, e.g. `Europe/Berlin` (or `UTC`). */
  timeZone: string;
  /** Absent: the standard week. Present: days not named have no working time. */
  hours?: WeeklyHours;
  /** Local dates `YYYY-MM-DD` on which this region does not work. */
  holidays?: readonly string[];
}

export interface CalendarSpec {
  regions: readonly RegionSpec[];
  /** Local dates `YYYY-MM-DD` on which no region works (each in its own zone). */
  holidays?: readonly string[];
}

export class CalendarError extends RangeError {
  override name = 'CalendarError';
}

/** One window in minutes after local midnight: `[start, end)`, 0 ≤ start < end ≤ 1440. */
export interface Window {
  start: number;
  end: number;
}

const WINDOW_RE = /^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$/;

/** Parses `HH:MM-HH:MM`; null when malformed or empty (start ≥ end). */
export function parseWindow(text: string): Window | null {
  const m = WINDOW_RE.exec(text);
  if (!m) return null;
  const [sh, sm, eh, em] = [m[1], m[2], m[3], m[4]].map(Number) as [number, number, number, number];
  if (sm > 59 || em > 59 || sh > 23 || eh > 24 || (eh === 24 && em !== 0)) return null;
  const start = sh * 60 + sm;
  const end = eh * 60 + em;
  return start < end ? { start, end } : null;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `YYYY-MM-DD` → days since 1970-01-01 (the date's number, independent of any zone); null if invalid. */
export function parseLocalDate(text: string): number | null {
  const m = DATE_RE.exec(text);
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(y, mo - 1, d);
  const back = new Date(ms);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return ms / DAY_MS;
}

/** True when the runtime knows the time zone. */
export function isValidTimeZone(timeZone: string): boolean {
  if (timeZone.trim() === '') return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return Number.isFinite(tzOffset(timeZone, new Date(0)));
  } catch {
    return false;
  }
}

interface CompiledRegion {
  name: string;
  timeZone: string;
  fixedOffsetMs: number | null;
  /** Index 0 = Sunday; windows sorted. */
  week: Window[][];
  holidays: Set<number>;
  cache: Map<number, number[]>;
}

/** A day's business time: flat `[start0, end0, start1, end1, …]` (UTC ms, merged, sorted) and the total. */
export interface BusinessDay {
  readonly intervals: readonly number[];
  readonly totalMs: number;
}

const EMPTY_DAY: BusinessDay = { intervals: [], totalMs: 0 };
const CACHE_LIMIT = 40_000;

/** A compiled calendar. Immutable from the outside; it caches the days it has computed. */
export class BusinessCalendar {
  readonly spec: CalendarSpec;
  readonly #regions: CompiledRegion[];
  readonly #days = new Map<number, BusinessDay>();

  constructor(spec: CalendarSpec) {
    this.spec = spec;
    if (spec.regions.length === 0) throw new CalendarError('a calendar needs at least one region');
    const global = (spec.holidays ?? []).map((h) => holiday(h, 'holidays'));
    this.#regions = spec.regions.map((r, i) => compileRegion(r, i, global));
    if (this.#regions.every((r) => r.week.every((w) => w.length === 0))) {
      throw new CalendarError('a calendar needs working hours on at least one weekday');
    }
  }

  /** Business intervals within UTC day `day` (days since the epoch), merged and clipped to the day. */
  day(day: number): BusinessDay {
    const hit = this.#days.get(day);
    if (hit) return hit;
    const from = day * DAY_MS;
    const to = from + DAY_MS;
    const pieces: [number, number][] = [];
    for (const region of this.#regions) {
      // Instants of UTC day d have local dates d-1, d or d+1 in any zone (offsets -12h…+14h).
      for (let local = day - 1; local <= day + 1; local++) {
        const iv = regionDay(region, local);
        for (let i = 0; i < iv.length; i += 2) {
          const a = Math.max(iv[i]!, from);
          const b = Math.min(iv[i + 1]!, to);
          if (a < b) pieces.push([a, b]);
        }
      }
    }
    let result = EMPTY_DAY;
    if (pieces.length > 0) {
      pieces.sort((x, y) => x[0] - y[0]);
      const intervals: number[] = [];
      let total = 0;
      let [cs, ce] = pieces[0]!;
      for (let i = 1; i < pieces.length; i++) {
        const [s, e] = pieces[i]!;
        if (s <= ce) {
          if (e > ce) ce = e;
        } else {
          intervals.push(cs, ce);
          total += ce - cs;
          cs = s;
          ce = e;
        }
      }
      intervals.push(cs, ce);
      total += ce - cs;
      result = { intervals, totalMs: total };
    }
    if (this.#days.size >= CACHE_LIMIT) this.#days.clear();
    this.#days.set(day, result);
    return result;
  }
}

function holiday(text: string, where: string): number {
  const d = parseLocalDate(text);
  if (d === null) throw new CalendarError(`${where}: "${text}" is not a date (YYYY-MM-DD)`);
  return d;
}

function compileRegion(spec: RegionSpec, index: number, global: number[]): CompiledRegion {
  const name = spec.name ?? `regions[${index}]`;
  if (!isValidTimeZone(spec.timeZone)) throw new CalendarError(`${name}: unknown time zone "${spec.timeZone}"`);
  const hours = spec.hours ?? STANDARD_HOURS;
  const week = WEEKDAYS.map((day) =>
    (hours[day] ?? [])
      .map((text) => {
        const w = parseWindow(text);
        if (!w) throw new CalendarError(`${name}: ${day}: "${text}" is not a window (HH:MM-HH:MM, start before end)`);
        return w;
      })
      .sort((a, b) => a.start - b.start),
  );
  const holidays = new Set([...global, ...(spec.holidays ?? []).map((h) => holiday(h, `${name}: holidays`))]);
  const fixed = /^(UTC|Etc\/UTC|Etc\/GMT|GMT|Etc\/Universal|Universal|Etc\/Zulu|Zulu)$/i.test(spec.timeZone) ? 0 : null;
  return { name, timeZone: spec.timeZone, fixedOffsetMs: fixed, week, holidays, cache: new Map() };
}

function offsetMs(region: CompiledRegion, at: number): number {
  if (region.fixedOffsetMs !== null) return region.fixedOffsetMs;
  return tzOffset(region.timeZone, new Date(at)) * MINUTE_MS;
}

/** Stretches of constant UTC offset covering `[lo, hi)`: flat `[from, to, offset, …]`. */
function offsetSegments(region: CompiledRegion, lo: number, hi: number): number[] {
  const out: number[] = [];
  let from = lo;
  let offset = offsetMs(region, lo);
  // At most a few transitions fit into the range; find each by bisection to the minute.
  for (let guard = 0; guard < 8; guard++) {
    const last = offsetMs(region, hi - MINUTE_MS);
    if (last === offset) break;
    let a = from; // offset(a) === offset
    let b = hi - MINUTE_MS; // offset(b) !== offset
    while (b - a > MINUTE_MS) {
      const mid = a + Math.floor((b - a) / 2 / MINUTE_MS) * MINUTE_MS;
      if (offsetMs(region, mid) === offset) a = mid;
      else b = mid;
    }
    out.push(from, b, offset);
    from = b;
    offset = offsetMs(region, b);
  }
  out.push(from, hi, offset);
  return out;
}

/** The region's working intervals (UTC ms, flat pairs) for its local date `local`. */
function regionDay(region: CompiledRegion, local: number): number[] {
  const hit = region.cache.get(local);
  if (hit) return hit;
  let result: number[] = [];
  const windows = region.week[(((local + 4) % 7) + 7) % 7]!;
  if (windows.length > 0 && !region.holidays.has(local)) {
    const midnight = local * DAY_MS; // local midnight as if the zone were UTC
    const segments = offsetSegments(region, midnight - 15 * HOUR_MS, midnight + DAY_MS + 15 * HOUR_MS);
    for (const w of windows) {
      for (let i = 0; i < segments.length; i += 3) {
        const off = segments[i + 2]!;
        const a = Math.max(midnight + w.start * MINUTE_MS - off, segments[i]!);
        const b = Math.min(midnight + w.end * MINUTE_MS - off, segments[i + 1]!);
        if (a < b) result.push(a, b);
      }
    }
    if (result.length > 2) result = mergeFlat(result);
  }
  if (region.cache.size >= CACHE_LIMIT) region.cache.clear();
  region.cache.set(local, result);
  return result;
}

function mergeFlat(flat: number[]): number[] {
  const pairs: [number, number][] = [];
  for (let i = 0; i < flat.length; i += 2) pairs.push([flat[i]!, flat[i + 1]!]);
  pairs.sort((x, y) => x[0] - y[0]);
  const out: number[] = [];
  for (const [s, e] of pairs) {
    const n = out.length;
    if (n > 0 && s <= out[n - 1]!) out[n - 1] = Math.max(out[n - 1]!, e);
    else out.push(s, e);
  }
  return out;
}

/** Compiles a calendar; throws `CalendarError` on an unknown zone, a bad window or date, or no working time. */
export function createCalendar(spec: CalendarSpec): BusinessCalendar {
  return new BusinessCalendar(spec);
}
