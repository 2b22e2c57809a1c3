import { describe, expect, it } from 'vitest';
import type { DigestData } from '../../../src/core/digest/data.ts';
import { buildPageView } from '../../../src/core/digest/page.ts';

const NOW = new Date('2026-12-02T12:00:00Z');
const at = (iso: string): Date => new Date(iso);
const intake = (key: string, tier: number | null, opened: string, closed: string | null = null) => ({
  key,
  repo: 'acme/app',
  complete: tier !== null,
  tier,
  rules: [],
  openedAt: at(opened),
  closedAt: closed ? at(closed) : null,
  answers: {},
});

const data: DigestData = {
  intakes: [
    intake('a', 2, '2026-12-01T10:00:00Z'),
    intake('b', 2, '2026-11-20T10:00:00Z'),
    intake('c', 3, '2026-10-01T10:00:00Z'),
    intake('d', null, '2026-11-30T10:00:00Z'),
    intake('e', 1, '2026-11-30T10:00:00Z', '2026-12-01T00:00:00Z'),
  ],
  clocks: [],
  misses: [],
  escalations: [],
  gateDecisions: [
    {
      key: 'x!1',
      verdict: 'pass',
      releaseClass: 'prod',
      decidedAt: at('2026-12-01T00:00:00Z'),
      reasons: [{ rule: 'scan-missing', severity: 'info', summary: 'No SAST', subject: null }],
    },
    {
      key: 'x!2',
      verdict: 'block',
      releaseClass: 'high-risk',
      decidedAt: at('2026-12-02T00:00:00Z'),
      reasons: [
        { rule: 'x', severity: 'info', summary: 'info first', subject: null },
        { rule: 'scan-failed', severity: 'block', summary: 'Secrets scan failed', subject: null },
      ],
    },
  ],
  exceptions: [
    {
      id: 'e1',
      category: 'sast',
      repo: 'r',
      findingRef: 'f',
      status: 'approved',
      requestedAt: at('2026-11-01T00:00:00Z'),
      approvedAt: null,
      expiresAt: at('2026-12-05T00:00:00Z'),
    },
    {
      id: 'e2',
      category: null,
      repo: 'r',
      findingRef: 'f',
      status: 'approved',
      requestedAt: at('2026-11-01T00:00:00Z'),
      approvedAt: null,
      expiresAt: at('2026-11-30T00:00:00Z'),
    },
    {
      id: 'e3',
      category: 'dep',
      repo: 'r',
      findingRef: 'f',
      status: 'approved',
      requestedAt: at('2026-11-01T00:00:00Z'),
      approvedAt: null,
      expiresAt: at('2027-02-20T00:00:00Z'),
    },
    {
      id: 'e4',
      category: 'dep',
      repo: 'r',
      findingRef: 'f',
      status: 'requested',
      requestedAt: at('2026-11-01T00:00:00Z'),
      approvedAt: null,
      expiresAt: at('2027-01-20T00:00:00Z'),
    },
  ],
  tools: [],
};

describe('page view', () => {
  const v = buildPageView(data, NOW, { timeZone: 'UTC', weeks: 4 });
  it.each([
    ['Tier 2 · deep review', [1, 1, 0, 0], 2],
    ['Tier 3 · leadership', [0, 0, 0, 1], 1],
    ['No tier yet (incomplete)', [1, 0, 0, 0], 1],
    ['Tier 1 · advisory', [0, 0, 0, 0], 0],
  ])('queue row %s', (name, counts, total) => expect(v.queue.tiers.find((t) => t.name === name)).toEqual({ name, counts, total }));

  it('lists the oldest first, exceptions by days to expiry, verdicts newest first with their blocking reason', () => {
    expect(v.queue.total).toBe(4);
    expect(v.queue.oldest.map((o) => o.key)).toEqual(['c', 'b', 'd', 'a']);
    expect(v.exceptions.buckets.map((b) => [b.label, b.count])).toEqual([
      ['expired', 1],
      ['within 7 days', 1],
      ['8–30 days', 0],
      ['31–90 days', 1],
      ['over 90 days', 0],
    ]);
    expect(v.exceptions.rows.map((r) => [r.id, r.days, r.expired])).toEqual([
      ['e2', -2, true],
      ['e1', 3, false],
      ['e3', 80, false],
    ]);
    expect(v.verdicts.map((d) => [d.key, d.reason])).toEqual([
      ['x!2', 'Secrets scan failed'],
      ['x!1', 'No SAST'],
    ]);
  });

  it('charts intake volume by ISO week, this week last', () => {
    expect(v.volumeChart.bars.map((b) => [b.label, b.value])).toEqual([
      ['W46', '0'],
      ['W47', '1'],
      ['W48', '0'],
      ['W49', '3'], // Monday 2026-11-30 starts W49
    ]);
    expect(v.sloChart.empty).toBe(true);
    expect(v.sloChart.bars.every((b) => b.value === '–' && b.height === 0)).toBe(true);
  });
});
