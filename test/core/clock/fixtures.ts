/** Calendars and generators shared by the clock tests. */
import fc from 'fast-check';
import type { CalendarSpec } from '../../../src/core/clock/calendar.ts';

export const MINUTE = 60_000;
export const iso = (s: string): Date => new Date(s);

export const berlin: CalendarSpec = { regions: [{ name: 'emea', timeZone: 'Europe/Berlin' }] };
export const newYork: CalendarSpec = { regions: [{ name: 'amer', timeZone: 'America/New_York' }] };

/** Windows that straddle, sit inside and end in the hours that daylight saving skips or repeats (both changes are on Sundays). */
export const dstEdges: CalendarSpec = {
  regions: [
    {
      name: 'night-emea',
      timeZone: 'Europe/Berlin',
      hours: {
        sunday: ['00:30-02:30', '02:15-04:00', '02:10-02:50'],
        monday: ['09:00-17:00'],
        wednesday: ['00:00-24:00'],
        saturday: ['22:00-24:00'],
      },
    },
    {
      name: 'night-amer',
      timeZone: 'America/New_York',
      hours: { sunday: ['00:00-01:30', '01:45-03:00', '02:00-02:30', '23:59-24:00'], friday: ['17:00-23:00'] },
    },
  ],
};

/** Per-region and global holidays, several of them next to the daylight-saving weekends. */
export const withHolidays: CalendarSpec = {
  regions: [
    { name: 'emea', timeZone: 'Europe/Berlin', holidays: ['2026-03-30', '2026-10-23', '2026-05-01'] },
    { name: 'amer', timeZone: 'America/New_York', holidays: ['2026-03-09', '2026-11-02', '2026-11-26'] },
  ],
  holidays: ['2026-03-27', '2026-03-06', '2026-10-26', '2026-10-30', '2026-12-25'],
};

/** A team online 9–5 across all time zones. */
export const threeRegions: CalendarSpec = {
  regions: [
    { name: 'amer', timeZone: 'America/New_York' },
    { name: 'emea', timeZone: 'Europe/Berlin' },
    { name: 'apac', timeZone: 'Asia/Tokyo' },
  ],
};

const YEAR_START = Date.UTC(2026, 0, 1);
/** Instants (UTC) just before the 2026 daylight-saving changes in Berlin and New York. */
const DST_ANCHORS = [Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1), Date.UTC(2026, 2, 8, 7), Date.UTC(2026, 10, 1, 6)];

/** Minute-aligned instants: anywhere in 2026, or within four days of a daylight-saving change. */
export const startArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 365 * 1440 - 1 }).map((m) => YEAR_START + m * MINUTE),
  fc.tuple(fc.constantFrom(...DST_ANCHORS), fc.integer({ min: -4 * 1440, max: 4 * 1440 })).map(([a, m]) => a + m * MINUTE),
);

export const SEED = 20261120;
