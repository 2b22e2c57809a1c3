/** Contract targets: "SLO/RTO clocks" (default policy) and the acceptance examples. */
import { describe, expect, it } from 'vitest';
import { clockPolicySchema, defaultClockPolicy, type ClockPolicy } from '../../../src/core/clock/policy.ts';
import {
  clockStatus,
  clockTargets,
  CRITICALITIES,
  dueAt,
  effectiveCriticality,
  warnAt,
  type Criticality,
} from '../../../src/core/clock/targets.ts';
import { iso } from './fixtures.ts';

const isoOrNull = (d: Date | null) => d?.toISOString() ?? null;
const due = (criticality: Criticality, opened: string, policy: ClockPolicy = defaultClockPolicy, timeZone?: string) => {
  const r = dueAt(policy, criticality, iso(opened), timeZone ? { timeZone } : {});
  return { sloDue: isoOrNull(r.sloDue), rtoDue: isoOrNull(r.rtoDue) };
};

describe('contract targets (business minutes; a day is 8 hours, a week 5 days)', () => {
  it.each([
    ['critical', 4 * 60, 12 * 60],
    ['high', 8 * 60, 2 * 8 * 60],
    ['medium', 3 * 8 * 60, 2 * 5 * 8 * 60],
    ['low', null, null],
  ] as const)('%s: SLO %s, RTO %s', (criticality, slo, rto) => {
    expect(clockTargets(defaultClockPolicy, criticality)).toEqual({ slo, rto });
  });
});

describe('dueAt under the default policy (UTC, Monday–Friday 09:00–17:00)', () => {
  it('acceptance: high opened Friday 2026-11-20T16:00Z → SLO Monday 16:00Z, RTO Tuesday 16:00Z', () => {
    expect(due('high', '2026-11-20T16:00:00Z')).toEqual({ sloDue: '2026-11-23T16:00:00.000Z', rtoDue: '2026-11-24T16:00:00.000Z' });
  });

  it.each([
    ['critical', '2026-11-20T15:00:00Z', '2026-11-23T11:00:00.000Z', '2026-11-24T11:00:00.000Z'],
    ['critical', '2026-11-23T09:00:00Z', '2026-11-23T13:00:00.000Z', '2026-11-24T13:00:00.000Z'],
    ['critical', '2026-11-21T03:00:00Z', '2026-11-23T13:00:00.000Z', '2026-11-24T13:00:00.000Z'],
    ['high', '2026-11-23T09:00:00Z', '2026-11-23T17:00:00.000Z', '2026-11-24T17:00:00.000Z'],
    ['high', '2026-11-23T12:30:00Z', '2026-11-24T12:30:00.000Z', '2026-11-25T12:30:00.000Z'],
    ['medium', '2026-11-16T09:00:00Z', '2026-11-18T17:00:00.000Z', '2026-11-27T17:00:00.000Z'],
    ['medium', '2026-11-20T16:00:00Z', '2026-11-25T16:00:00.000Z', '2026-12-04T16:00:00.000Z'],
    ['low', '2026-11-20T16:00:00Z', null, null],
  ] as const)('%s opened %s → SLO %s, RTO %s', (criticality, opened, sloDue, rtoDue) => {
    expect(due(criticality, opened)).toEqual({ sloDue, rtoDue });
  });

  it('acceptance: critical opened Friday 15:00Z is at risk Monday 10:00Z (75 % = 180 min) and breached Monday 11:00Z', () => {
    const opened = iso('2026-11-20T15:00:00Z');
    const w = warnAt(defaultClockPolicy, 'critical', opened);
    expect(isoOrNull(w.sloWarn)).toBe('2026-11-23T10:00:00.000Z');
    expect(isoOrNull(w.rtoWarn)).toBe('2026-11-23T16:00:00.000Z'); // 540 of 720 minutes
    const at = (now: string) => clockStatus(defaultClockPolicy, 'critical', opened, iso(now)).slo;
    expect(at('2026-11-20T17:00:00Z')).toMatchObject({ elapsedMinutes: 120, state: 'running' });
    expect(at('2026-11-23T09:59:00Z')).toMatchObject({ elapsedMinutes: 179, state: 'running' });
    expect(at('2026-11-23T10:00:00Z')).toMatchObject({ elapsedMinutes: 180, warnMinutes: 180, state: 'at-risk' });
    expect(at('2026-11-23T10:59:59Z')).toMatchObject({ elapsedMinutes: 239, state: 'at-risk' });
    expect(at('2026-11-23T11:00:00Z')).toMatchObject({ elapsedMinutes: 240, targetMinutes: 240, state: 'breached' });
    expect(at('2026-11-20T14:00:00Z')).toMatchObject({ elapsedMinutes: 0, state: 'running' });
  });

  it('low has no clocks to report', () => {
    expect(clockStatus(defaultClockPolicy, 'low', iso('2026-11-20T15:00:00Z'), iso('2026-12-20T15:00:00Z'))).toEqual({
      slo: null,
      rto: null,
    });
  });
});

describe('effectiveCriticality', () => {
  it('path::redirect caps every criticality at low; other paths leave it alone', () => {
    for (const c of CRITICALITIES) {
      expect(effectiveCriticality(c, 'redirect')).toBe('low');
      expect(effectiveCriticality(c, ' Redirect ')).toBe('low');
      for (const p of ['integrate', 'maintain', 'improve', 'sunset', null, undefined]) expect(effectiveCriticality(c, p)).toBe(c);
    }
  });
});

describe('policy-shaped calendars', () => {
  it('targets are business minutes, independent of the window length (4-hour days)', () => {
    const short = clockPolicySchema.parse({
      regions: [{ hours: { monday: ['09:00-13:00'], tuesday: ['09:00-13:00'], wednesday: ['09:00-13:00'] } }],
    });
    expect(due('high', '2026-11-23T09:00:00Z', short)).toEqual({ sloDue: '2026-11-24T13:00:00.000Z', rtoDue: '2026-11-30T13:00:00.000Z' });
  });

  it('regions without a zone take clocks.timeZone, else the main policy zone (option), else UTC', () => {
    expect(due('critical', '2026-11-20T07:00:00Z').sloDue).toBe('2026-11-20T13:00:00.000Z');
    expect(due('critical', '2026-11-20T07:00:00Z', defaultClockPolicy, 'Europe/Berlin').sloDue).toBe('2026-11-20T12:00:00.000Z');
    const tokyo = clockPolicySchema.parse({ timeZone: 'Asia/Tokyo' });
    expect(due('critical', '2026-11-20T07:00:00Z', tokyo, 'Europe/Berlin').sloDue).toBe('2026-11-23T03:00:00.000Z');
    const ny = clockPolicySchema.parse({ timeZone: 'Asia/Tokyo', regions: [{ timeZone: 'America/New_York' }] });
    expect(due('critical', '2026-11-20T07:00:00Z', ny, 'Europe/Berlin').sloDue).toBe('2026-11-20T18:00:00.000Z');
  });

  it('holidays, warning point and units come from the policy', () => {
    const p = clockPolicySchema.parse({
      holidays: ['2026-11-23'],
      warnAt: 0.5,
      hoursPerDay: 4,
      targets: { high: { slo: '1d', rto: '90m' } },
    });
    expect(clockTargets(p, 'high')).toEqual({ slo: 240, rto: 90 });
    expect(due('high', '2026-11-20T16:00:00Z', p)).toEqual({ sloDue: '2026-11-24T12:00:00.000Z', rtoDue: '2026-11-24T09:30:00.000Z' });
    expect(isoOrNull(warnAt(p, 'high', iso('2026-11-20T16:00:00Z')).sloWarn)).toBe('2026-11-24T10:00:00.000Z');
  });

  it('is fast: 100,000 dueAt computations (all criticalities, random 2026 openings) well under 3 s', () => {
    const start = Date.UTC(2026, 0, 1);
    const t0 = performance.now();
    let n = 0;
    for (let i = 0; i < 100_000; i++) {
      const opened = new Date(start + ((i * 7_919) % 525_600) * 60_000);
      if (dueAt(defaultClockPolicy, CRITICALITIES[i % 4]!, opened).sloDue) n++;
    }
    const ms = performance.now() - t0;
    console.log(`100,000 dueAt computations: ${ms.toFixed(0)} ms`);
    expect(n).toBe(75_000);
    expect(ms).toBeLessThan(3_000);
  });
});
