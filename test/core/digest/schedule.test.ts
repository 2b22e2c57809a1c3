import { describe, expect, it } from 'vitest';
import { cadencePolicySchema } from '../../../src/core/digest/policy.ts';
import { dueDigests, isoWeek } from '../../../src/core/digest/schedule.ts';
import { latestSlot } from '../../support/digest-slot.ts';

const policy = cadencePolicySchema.parse({});
const day = (iso: string): number => Math.floor(Date.parse(`${iso}T00:00:00Z`) / 86_400_000);

describe('digest schedule', () => {
  it.each([
    ['2026-12-02', '2026-W49'],
    ['2026-01-01', '2026-W01'],
    ['2027-01-01', '2026-W53'],
    ['2024-12-30', '2025-W01'],
  ])('ISO week of %s is %s', (d, w) => expect(isoWeek(day(d))).toBe(w));

  it.each([
    // now (UTC), zone, expected keys due
    // bi-weekly: every other week from the anchor's (2026-01-05, W02): W50 yes, W49 no
    ['2026-11-30T09:00:00Z', 'UTC', ['digest:weekly:2026-W49']],
    ['2026-11-30T08:59:59Z', 'UTC', []],
    // the weekly slot of Monday 09:00 is 24.5 h old: past the catch-up window
    ['2026-12-01T09:30:00Z', 'UTC', ['digest:monthly:2026-12']],
    ['2026-12-07T09:00:00Z', 'UTC', ['digest:weekly:2026-W50', 'digest:biweekly:2026-W50']],
    ['2026-10-01T10:00:00Z', 'UTC', ['digest:monthly:2026-10', 'digest:quarterly:2026-Q4']],
    // 09:00 in Berlin is 08:00 UTC in winter
    ['2026-11-30T08:00:00Z', 'Europe/Berlin', ['digest:weekly:2026-W49']],
    ['2026-11-30T07:59:00Z', 'Europe/Berlin', []],
  ])('at %s in %s: %j', (now, tz, keys) => {
    expect(dueDigests(policy, tz, new Date(now)).map((s) => s.key)).toEqual(keys);
  });

  it('reviews the period before the slot, in the zone', () => {
    const w = latestSlot('weekly', policy, 'Europe/Berlin', new Date('2026-12-02T12:00:00Z'));
    expect(w).toMatchObject({ key: 'digest:weekly:2026-W49', label: '2026-11-23 to 2026-11-29' });
    expect(w.from.toISOString()).toBe('2026-11-23T08:00:00.000Z');
    expect(w.to.toISOString()).toBe('2026-11-30T08:00:00.000Z');
    const m = latestSlot('monthly', policy, 'UTC', new Date('2026-12-02T12:00:00Z'));
    expect(m).toMatchObject({ key: 'digest:monthly:2026-12', label: 'November 2026' });
    expect(m.from.toISOString()).toBe('2026-11-01T09:00:00.000Z');
    const q = latestSlot('quarterly', policy, 'UTC', new Date('2026-12-02T12:00:00Z'));
    expect(q).toMatchObject({ key: 'digest:quarterly:2026-Q4', label: '2026-Q3' });
    expect(q.from.toISOString()).toBe('2026-07-01T09:00:00.000Z');
    const b = latestSlot('biweekly', policy, 'UTC', new Date('2026-12-02T12:00:00Z'));
    expect(b.key).toBe('digest:biweekly:2026-W48');
    expect(b.from.toISOString()).toBe('2026-11-09T09:00:00.000Z');
  });

  it('crosses a daylight-saving change: the Monday after the clocks go back is still 09:00 local', () => {
    const w = latestSlot('weekly', policy, 'Europe/Berlin', new Date('2026-10-26T08:30:00Z'));
    expect(w.at.toISOString()).toBe('2026-10-26T08:00:00.000Z');
    expect(w.from.toISOString()).toBe('2026-10-19T07:00:00.000Z');
  });

  it('does not catch up a slot older than catchUpHours, and skips disabled cadences', () => {
    expect(dueDigests(policy, 'UTC', new Date('2026-12-02T12:00:00Z')).map((s) => s.key)).toEqual([]);
    const off = cadencePolicySchema.parse({ weekly: { enabled: false }, catchUpHours: 48 });
    expect(dueDigests(off, 'UTC', new Date('2026-12-02T08:00:00Z')).map((s) => s.key)).toEqual(['digest:monthly:2026-12']);
  });
});
