/** Property checks of the engine against the minute-by-minute oracle. */
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { addBusinessMinutes, businessMinutesBetween } from '../../../src/core/clock/business-time.ts';
import { createCalendar, type CalendarSpec } from '../../../src/core/clock/calendar.ts';
import { MINUTE, SEED, startArb } from './fixtures.ts';
import { oracleAdd, oracleBetween, oracleIsBusiness } from './oracle.ts';

export interface Bounds {
  runs: number;
  /** Largest target for addBusinessMinutes, in minutes. */
  maxTarget: number;
  /** Longest span for businessMinutesBetween, in minutes. */
  maxSpan: number;
}

/** Two properties per calendar: addBusinessMinutes and businessMinutesBetween agree with the oracle. */
export function agreesWithOracle(name: string, spec: CalendarSpec, bounds: Bounds): void {
  const calendar = createCalendar(spec);

  it(`${name}: addBusinessMinutes equals the oracle (${bounds.runs} cases)`, () => {
    fc.assert(
      fc.property(startArb, fc.integer({ min: 0, max: bounds.maxTarget }), (start, n) => {
        expect(addBusinessMinutes(calendar, new Date(start), n).toISOString()).toBe(new Date(oracleAdd(spec, start, n)).toISOString());
      }),
      { numRuns: bounds.runs, seed: SEED },
    );
  });

  it(`${name}: businessMinutesBetween equals the oracle (${bounds.runs} cases)`, () => {
    fc.assert(
      fc.property(startArb, fc.integer({ min: 0, max: bounds.maxSpan }), (from, span) => {
        const to = from + span * MINUTE;
        const expected = oracleBetween(spec, from, to);
        expect(businessMinutesBetween(calendar, new Date(from), new Date(to))).toBe(expected);
        expect(businessMinutesBetween(calendar, new Date(to), new Date(from))).toBe(-expected || 0);
      }),
      { numRuns: bounds.runs, seed: SEED + 1 },
    );
  });
}

/** businessMinutesBetween(s, add(s, n)) === n for starts inside business time (engine only: wide ranges). */
export function inverseHolds(name: string, spec: CalendarSpec, runs: number): void {
  const calendar = createCalendar(spec);
  it(`${name}: businessMinutesBetween(s, addBusinessMinutes(s, n)) === n from inside business time (${runs} cases)`, () => {
    const inside = startArb.filter((s) => oracleIsBusiness(spec, s));
    fc.assert(
      fc.property(inside, fc.integer({ min: 0, max: 20 * 480 }), (start, n) => {
        const s = new Date(start);
        expect(businessMinutesBetween(calendar, s, addBusinessMinutes(calendar, s, n))).toBe(n);
      }),
      { numRuns: runs, seed: SEED + 2 },
    );
  });
}
