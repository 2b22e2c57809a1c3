/**
 * When each digest of the operating cadence is due, in the policy's time zone: the latest slot at
 * or before `now` of every enabled cadence (weekly, bi-weekly, monthly, quarterly), with the period
 * it reviews and the outbox key that makes it go out once (`digest:weekly:2026-W49`). A slot older
 * than `catchUpHours` is not sent any more (the bot was down). Pure: `now` is given.
 */
import { tzOffset } from '@date-fns/tz';
import type { CadencePolicy } from './policy.ts';

export type Cadence = 'weekly' | 'biweekly' | 'monthly' | 'quarterly';
export const CADENCES: readonly Cadence[] = ['weekly', 'biweekly', 'monthly', 'quarterly'];

export interface DigestSlot {
  cadence: Cadence;
  /** The outbox key: one notification per slot, whatever the number of replicas. */
  key: string;
  /** When it is due (the slot's wall-clock time in the policy's zone). */
  at: Date;
  /** The period reviewed: [from, to), `to` = `at`. */
  from: Date;
  to: Date;
  /** What it covers, in words: `week of 2026-11-23`, `November 2026`, `2026-Q3`. */
  label: string;
}

const DAY_MS = 86_400_000;
const WEEKDAY_INDEX = { sunday: 0, monday: 1, tuesday: 2, wednesday: 3, thursday: 4, friday: 5, saturday: 6 } as const;
const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** A local calendar date as a UTC-midnight day number (days since 1970-01-01). */
type DayNumber = number;

const dayOf = (y: number, m: number, d: number): DayNumber => Math.floor(Date.UTC(y, m - 1, d) / DAY_MS);
const ymd = (day: DayNumber): { y: number; m: number; d: number } => {
  const t = new Date(day * DAY_MS);
  return { y: t.getUTCFullYear(), m: t.getUTCMonth() + 1, d: t.getUTCDate() };
};
const weekdayOf = (day: DayNumber): number => new Date(day * DAY_MS).getUTCDay();
const pad = (n: number): string => String(n).padStart(2, '0');
export const isoDay = (day: DayNumber): string => {
  const { y, m, d } = ymd(day);
  return `${y}-${pad(m)}-${pad(d)}`;
};

/** The local date (day number) and minutes after local midnight of an instant in `tz`. */
export function localClock(at: Date, tz: string): { day: DayNumber; minutes: number } {
  const local = at.getTime() + tzOffset(tz, at) * 60_000;
  const day = Math.floor(local / DAY_MS);
  return { day, minutes: Math.floor((local - day * DAY_MS) / 60_000) };
}

/** The instant of a local wall-clock time in `tz` (a time skipped by a DST change moves forward). */
export function fromLocal(day: DayNumber, minutes: number, tz: string): Date {
  const wall = day * DAY_MS + minutes * 60_000;
  let guess = wall - tzOffset(tz, new Date(wall)) * 60_000;
  guess = wall - tzOffset(tz, new Date(guess)) * 60_000;
  return new Date(guess);
}

/** ISO-8601 week of a local date: `2026-W49`. */
export function isoWeek(day: DayNumber): string {
  const wd = (weekdayOf(day) + 6) % 7; // Monday 0
  const thursday = day - wd + 3;
  const year = ymd(thursday).y;
  const week = Math.floor((thursday - dayOf(year, 1, 1)) / 7) + 1;
  return `${year}-W${pad(week)}`;
}

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The latest local day ≤ today with the weekday whose slot time is not after now. */
function latestWeekly(day: DayNumber, minutes: number, weekday: number, at: number): DayNumber {
  let d = day - ((weekdayOf(day) - weekday + 7) % 7);
  if (d === day && minutes < at) d -= 7;
  return d;
}

function slotFor(cadence: Cadence, policy: CadencePolicy, tz: string, now: Date): DigestSlot {
  const { day, minutes } = localClock(now, tz);
  if (cadence === 'weekly' || cadence === 'biweekly') {
    const spec = policy[cadence];
    const at = minutesOf(spec.at);
    let d = latestWeekly(day, minutes, WEEKDAY_INDEX[spec.day], at);
    const span = cadence === 'weekly' ? 7 : 14;
    if (cadence === 'biweekly') {
      const [ay, am, ad] = policy.biweekly.anchor.split('-').map(Number) as [number, number, number];
      const anchor = dayOf(ay, am, ad);
      const anchorMonday = anchor - ((weekdayOf(anchor) + 6) % 7);
      const monday = d - ((weekdayOf(d) + 6) % 7);
      if (((((monday - anchorMonday) / 7) % 2) + 2) % 2 === 1) d -= 7;
    }
    const to = fromLocal(d, at, tz);
    return {
      cadence,
      key: `digest:${cadence}:${isoWeek(d)}`,
      at: to,
      from: fromLocal(d - span, at, tz),
      to,
      label: `${isoDay(d - span)} to ${isoDay(d - 1)}`,
    };
  }
  const { y, m } = ymd(day);
  if (cadence === 'monthly') {
    const at = minutesOf(policy.monthly.at);
    const dom = policy.monthly.dayOfMonth;
    let slot = dayOf(y, m, dom);
    if (slot > day || (slot === day && minutes < at)) slot = dayOf(m === 1 ? y - 1 : y, m === 1 ? 12 : m - 1, dom);
    const s = ymd(slot);
    const prev = dayOf(s.m === 1 ? s.y - 1 : s.y, s.m === 1 ? 12 : s.m - 1, dom);
    const to = fromLocal(slot, at, tz);
    const p = ymd(prev);
    return {
      cadence,
      key: `digest:monthly:${s.y}-${pad(s.m)}`,
      at: to,
      from: fromLocal(prev, at, tz),
      to,
      label: dom === 1 ? `${MONTHS[p.m - 1]} ${p.y}` : `${isoDay(prev)} to ${isoDay(slot - 1)}`,
    };
  }
  const at = minutesOf(policy.quarterly.at);
  const qStart = (yy: number, q: number): DayNumber => dayOf(yy, (q - 1) * 3 + 1, 1);
  let qy = y;
  let q = Math.floor((m - 1) / 3) + 1;
  if (qStart(qy, q) === day && minutes < at) [qy, q] = q === 1 ? [qy - 1, 4] : [qy, q - 1];
  const [py, pq] = q === 1 ? [qy - 1, 4] : [qy, q - 1];
  const to = fromLocal(qStart(qy, q), at, tz);
  return { cadence, key: `digest:quarterly:${qy}-Q${q}`, at: to, from: fromLocal(qStart(py, pq), at, tz), to, label: `${py}-Q${pq}` };
}

/** The slots due at `now`: the latest of every enabled cadence, unless older than the catch-up window. */
export function dueDigests(policy: CadencePolicy, tz: string, now: Date): DigestSlot[] {
  const out: DigestSlot[] = [];
  for (const c of CADENCES) {
    if (!policy[c].enabled) continue;
    const slot = slotFor(c, policy, tz, now);
    if (now.getTime() - slot.at.getTime() <= policy.catchUpHours * 3_600_000) out.push(slot);
  }
  return out;
}
