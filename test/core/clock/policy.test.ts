/** The `clocks` policy section: defaults and every validation message. */
import { describe, expect, it } from 'vitest';
import { clockPolicySchema, defaultClockPolicy, parseDuration } from '../../../src/core/clock/policy.ts';

const errors = (input: unknown) => {
  const r = clockPolicySchema.safeParse(input);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('clockPolicySchema', () => {
  it('defaults to one region (the policy zone, else UTC), Mon–Fri 09–17, no holidays, 75 % warning, the contract targets', () => {
    expect(defaultClockPolicy).toEqual({
      regions: [{ holidays: [] }],
      holidays: [],
      hoursPerDay: 8,
      daysPerWeek: 5,
      warnAt: 0.75,
      targets: {
        critical: { slo: '4h', rto: '12h' },
        high: { slo: '1d', rto: '2d' },
        medium: { slo: '3d', rto: '2w' },
        low: { slo: null, rto: null },
      },
    });
    expect(clockPolicySchema.parse({})).toEqual(defaultClockPolicy);
  });

  it('overriding one target keeps the others', () => {
    const p = clockPolicySchema.parse({ targets: { high: { slo: '2h' }, low: { slo: 'none', rto: '4w' } } });
    expect(p.targets.high).toEqual({ slo: '2h', rto: '2d' });
    expect(p.targets.critical).toEqual({ slo: '4h', rto: '12h' });
    expect(p.targets.low).toEqual({ slo: 'none', rto: '4w' });
  });

  it('names every error with its path', () => {
    expect(
      errors({
        timeZone: 'Mars/Olympus',
        regions: [{ timeZone: 'Europe/Berln', hours: { monday: ['17:00-09:00'], funday: [] }, holidays: ['2026-13-01'] }],
        warnAt: 1.5,
        targets: { high: { slo: 'soon' } },
        pause: [],
      }),
    ).toEqual([
      'timeZone: unknown time zone "Mars/Olympus" (an IANA name such as Europe/Berlin, or UTC)',
      'regions.0.timeZone: unknown time zone "Europe/Berln" (an IANA name such as Europe/Berlin, or UTC)',
      'regions.0.hours.monday.0: "17:00-09:00" is not a working window: HH:MM-HH:MM, start before end, end at most 24:00',
      'regions.0.hours: Unrecognized key: "funday"',
      'regions.0.holidays.0: "2026-13-01" is not a date (YYYY-MM-DD)',
      'warnAt: Too big: expected number to be <1',
      'targets.high.slo: "soon" is not a target: a positive number with m, h, d (business days) or w (business weeks), or none',
      ': Unrecognized key: "pause"',
    ]);
  });

  it('refuses a calendar with no working hours at all', () => {
    expect(errors({ regions: [{ hours: { monday: [] } }] })).toEqual(['regions: no region has working hours on any day']);
  });
});

describe('parseDuration', () => {
  const unit = { hoursPerDay: 8, daysPerWeek: 5 };
  it.each([
    ['90m', 90],
    ['4h', 240],
    ['1.5 hours', 90],
    ['1d', 480],
    ['3 days', 1440],
    ['2w', 4800],
    ['none', null],
    [null, null],
    ['0h', undefined],
    ['4', undefined],
    ['-1h', undefined],
  ] as const)('%s → %s', (text, minutes) => {
    expect(parseDuration(text, unit)).toBe(minutes);
  });
});
