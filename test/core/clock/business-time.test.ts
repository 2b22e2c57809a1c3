/** The engine on fixed dates: daylight-saving weekends, windows in the skipped/repeated hour, edges. */
import { describe, expect, it } from 'vitest';
import { addBusinessMinutes, businessMinutesBetween, isBusinessTime } from '../../../src/core/clock/business-time.ts';
import { CalendarError, createCalendar, type CalendarSpec } from '../../../src/core/clock/calendar.ts';
import { berlin, iso, newYork, threeRegions } from './fixtures.ts';

const utc = createCalendar({ regions: [{ timeZone: 'UTC' }] });
const add = (spec: CalendarSpec, start: string, n: number) => addBusinessMinutes(createCalendar(spec), iso(start), n).toISOString();
const between = (spec: CalendarSpec, from: string, to: string) => businessMinutesBetween(createCalendar(spec), iso(from), iso(to));
const allDay = (timeZone: string, sunday: string[]): CalendarSpec => ({ regions: [{ timeZone, hours: { sunday } }] });

describe('addBusinessMinutes', () => {
  it('stops at the end of a window rather than rolling to the next opening', () => {
    expect(addBusinessMinutes(utc, iso('2026-11-20T16:00:00Z'), 60).toISOString()).toBe('2026-11-20T17:00:00.000Z');
  });

  it('counts from the next opening when it starts outside business hours', () => {
    expect(addBusinessMinutes(utc, iso('2026-11-21T12:00:00Z'), 60).toISOString()).toBe('2026-11-23T10:00:00.000Z');
    expect(addBusinessMinutes(utc, iso('2026-11-23T06:00:00Z'), 1).toISOString()).toBe('2026-11-23T09:01:00.000Z');
  });

  it('returns the start unchanged for 0 minutes, even outside business hours', () => {
    expect(addBusinessMinutes(utc, iso('2026-11-21T12:34:56.789Z'), 0).toISOString()).toBe('2026-11-21T12:34:56.789Z');
  });

  it('keeps seconds and takes fractional minutes', () => {
    expect(addBusinessMinutes(utc, iso('2026-11-23T09:00:30Z'), 1).toISOString()).toBe('2026-11-23T09:01:30.000Z');
    expect(addBusinessMinutes(utc, iso('2026-11-23T09:00:00Z'), 0.5).toISOString()).toBe('2026-11-23T09:00:30.000Z');
  });

  it('rejects negative or non-finite minutes and invalid dates', () => {
    expect(() => addBusinessMinutes(utc, iso('2026-11-23T09:00:00Z'), -1)).toThrow(RangeError);
    expect(() => addBusinessMinutes(utc, iso('2026-11-23T09:00:00Z'), Number.NaN)).toThrow(RangeError);
    expect(() => addBusinessMinutes(utc, new Date('nope'), 1)).toThrow(/start is not a valid date/);
  });

  it('Europe/Berlin across the spring-forward weekend (2026-03-29): Friday is UTC+1, Monday UTC+2', () => {
    // Fri 16:00 CET = 15:00Z; 60 min to 17:00 CET, then Mon 09:00 CEST = 07:00Z + 60.
    expect(add(berlin, '2026-03-27T15:00:00Z', 120)).toBe('2026-03-30T08:00:00.000Z');
  });

  it('Europe/Berlin across the fall-back weekend (2026-10-25)', () => {
    expect(add(berlin, '2026-10-23T14:00:00Z', 120)).toBe('2026-10-26T09:00:00.000Z');
  });

  it('America/New_York across spring forward (2026-03-08) and fall back (2026-11-01)', () => {
    expect(add(newYork, '2026-03-06T21:00:00Z', 120)).toBe('2026-03-09T14:00:00.000Z');
    expect(add(newYork, '2026-10-30T20:00:00Z', 120)).toBe('2026-11-02T15:00:00.000Z');
  });

  it('a 24-hour window on a daylight-saving Sunday lasts 23 or 25 hours', () => {
    expect(between(allDay('Europe/Berlin', ['00:00-24:00']), '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z')).toBe(23 * 60);
    expect(between(allDay('Europe/Berlin', ['00:00-24:00']), '2026-10-24T00:00:00Z', '2026-10-27T00:00:00Z')).toBe(25 * 60);
    expect(between(allDay('America/New_York', ['00:00-24:00']), '2026-03-07T00:00:00Z', '2026-03-10T00:00:00Z')).toBe(23 * 60);
    expect(between(allDay('America/New_York', ['00:00-24:00']), '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z')).toBe(25 * 60);
    // The last minute of the long day: 24 hours of wall-clock time end one UTC hour later than usual.
    expect(add(allDay('America/New_York', ['00:00-24:00']), '2026-11-01T04:00:00Z', 25 * 60)).toBe('2026-11-02T05:00:00.000Z');
  });

  it('a window inside the skipped hour is empty; across the repeated hour it counts the repeat', () => {
    expect(between(allDay('Europe/Berlin', ['02:00-03:00']), '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z')).toBe(0);
    expect(between(allDay('Europe/Berlin', ['01:30-03:30']), '2026-03-28T00:00:00Z', '2026-03-31T00:00:00Z')).toBe(60);
    expect(between(allDay('America/New_York', ['01:00-02:30']), '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z')).toBe(150);
    // 01:15–01:45 happens twice on 2026-11-01 in New York: 05:15–05:45Z (EDT) and 06:15–06:45Z (EST).
    const twice = allDay('America/New_York', ['01:15-01:45']);
    expect(between(twice, '2026-10-31T00:00:00Z', '2026-11-03T00:00:00Z')).toBe(60);
    expect(add(twice, '2026-11-01T00:00:00Z', 30)).toBe('2026-11-01T05:45:00.000Z');
    expect(add(twice, '2026-11-01T00:00:00Z', 31)).toBe('2026-11-01T06:16:00.000Z');
  });
});

describe('businessMinutesBetween', () => {
  it('counts business minutes in [from, to), whole minutes rounded down', () => {
    expect(businessMinutesBetween(utc, iso('2026-11-20T16:00:00Z'), iso('2026-11-23T10:00:00Z'))).toBe(120);
    expect(businessMinutesBetween(utc, iso('2026-11-23T09:00:30Z'), iso('2026-11-23T09:02:00Z'))).toBe(1);
    expect(businessMinutesBetween(utc, iso('2026-11-21T00:00:00Z'), iso('2026-11-22T23:59:00Z'))).toBe(0);
  });

  it('is antisymmetric', () => {
    expect(businessMinutesBetween(utc, iso('2026-11-23T10:00:00Z'), iso('2026-11-20T16:00:00Z'))).toBe(-120);
    expect(businessMinutesBetween(utc, iso('2026-11-22T10:00:00Z'), iso('2026-11-21T16:00:00Z'))).toBe(0);
  });

  it('Europe/Berlin across the spring-forward weekend', () => {
    expect(between(berlin, '2026-03-27T15:00:00Z', '2026-03-30T08:00:00Z')).toBe(120);
  });

  it('a week is 5 × 8 hours in a single zone', () => {
    expect(between(newYork, '2026-03-02T00:00:00Z', '2026-03-09T00:00:00Z')).toBe(40 * 60);
    expect(between(newYork, '2026-03-09T00:00:00Z', '2026-03-16T00:00:00Z')).toBe(40 * 60);
  });
});

describe('united regions', () => {
  const team = createCalendar(threeRegions);

  it('a minute is business time when any region works: Tokyo 00–08Z, Berlin 08–16Z, New York 14–22Z on a winter Friday', () => {
    expect(businessMinutesBetween(team, iso('2026-11-20T00:00:00Z'), iso('2026-11-21T00:00:00Z'))).toBe(22 * 60);
    expect(isBusinessTime(team, iso('2026-11-20T21:59:00Z'))).toBe(true);
    expect(isBusinessTime(team, iso('2026-11-20T22:00:00Z'))).toBe(false);
    // Weekend: New York ends Friday 22:00Z, Tokyo starts Monday 00:00Z (09:00 JST).
    expect(addBusinessMinutes(team, iso('2026-11-20T21:00:00Z'), 120).toISOString()).toBe('2026-11-23T01:00:00.000Z');
  });

  it('a holiday removes only the region whose local date it is, global holidays every region on its own date', () => {
    const tokyoOff = createCalendar({
      regions: [...threeRegions.regions.slice(0, 2), { timeZone: 'Asia/Tokyo', holidays: ['2026-11-20'] }],
    });
    expect(businessMinutesBetween(tokyoOff, iso('2026-11-20T00:00:00Z'), iso('2026-11-21T00:00:00Z'))).toBe(14 * 60);
    const allOff = createCalendar({ ...threeRegions, holidays: ['2026-11-20'] });
    expect(businessMinutesBetween(allOff, iso('2026-11-19T00:00:00Z'), iso('2026-11-22T00:00:00Z'))).toBe(22 * 60);
  });
});

describe('createCalendar', () => {
  it('rejects unknown zones, malformed windows and dates, and calendars without working time', () => {
    expect(() => createCalendar({ regions: [] })).toThrow(CalendarError);
    expect(() => createCalendar({ regions: [{ timeZone: 'Mars/Olympus' }] })).toThrow(/unknown time zone "Mars\/Olympus"/);
    expect(() => createCalendar({ regions: [{ timeZone: 'UTC', hours: { monday: ['17:00-09:00'] } }] })).toThrow(/not a window/);
    expect(() => createCalendar({ regions: [{ timeZone: 'UTC', hours: { monday: ['9-5'] } }] })).toThrow(/not a window/);
    expect(() => createCalendar({ regions: [{ timeZone: 'UTC', holidays: ['2026-02-30'] }] })).toThrow(/not a date/);
    expect(() => createCalendar({ regions: [{ timeZone: 'UTC', hours: {} }] })).toThrow(/working hours/);
  });

  it('a calendar that only works on holidays-free days still finds its time', () => {
    const spec: CalendarSpec = {
      regions: [{ timeZone: 'UTC', hours: { monday: ['10:00-11:00'] } }],
      holidays: ['2026-11-23', '2026-11-30'],
    };
    expect(add(spec, '2026-11-20T00:00:00Z', 30)).toBe('2026-12-07T10:30:00.000Z');
  });
});
