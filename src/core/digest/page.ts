/**
 * The web page's view: the queue by tier and age, clocks at risk and breached, exceptions by days
 * to expiry, recent gate verdicts, and two weekly charts (SLO attainment, intake volume) laid out
 * as bar geometry for an inline SVG. Pure: the stored data and `now` in, plain data out; the
 * template escapes every text.
 */
import type { ClockState } from '../outage/clocks.ts';
import { attainment, serviceLine } from './build.ts';
import type { DigestData } from './data.ts';
import { fromLocal, isoDay, isoWeek, localClock } from './schedule.ts';

const DAY_MS = 86_400_000;
const TIER_NAMES = ['self-service', 'advisory', 'deep review', 'leadership'];
const AGE_BUCKETS: [string, number][] = [
  ['under 7 days', 7],
  ['7–13 days', 14],
  ['14–29 days', 30],
  ['30 days or more', Infinity],
];
const EXPIRY_BUCKETS: [string, number][] = [
  ['expired', 0],
  ['within 7 days', 7],
  ['8–30 days', 30],
  ['31–90 days', 90],
  ['over 90 days', Infinity],
];

export interface ChartBar {
  label: string;
  /** The figure shown above the bar (`75%`, `4`, `–` when none). */
  value: string;
  x: number;
  y: number;
  width: number;
  height: number;
  labelX: number;
  valueY: number;
}

export interface Chart {
  title: string;
  width: number;
  height: number;
  baseline: number;
  bars: ChartBar[];
  empty: boolean;
  note: string | null;
}

export interface PageView {
  generatedAt: string;
  timeZone: string;
  queue: {
    ageHeadings: string[];
    tiers: { name: string; counts: number[]; total: number }[];
    total: number;
    oldest: { key: string; tier: string; service: string; serviceLine: string; days: number; complete: boolean }[];
  };
  clocks: { atRisk: ClockRowView[]; breached: ClockRowView[] };
  exceptions: {
    buckets: { label: string; count: number; urgent: boolean }[];
    rows: { id: string; category: string; repo: string; days: number; expiresAt: string; expired: boolean }[];
  };
  verdicts: { key: string; verdict: string; releaseClass: string; decidedAt: string; reason: string }[];
  sloChart: Chart;
  volumeChart: Chart;
}

export interface ClockRowView {
  key: string;
  kind: string;
  criticality: string;
  tool: string;
  dueAt: string;
  state: string;
}

const stamp = (d: Date | null): string => (d ? `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC` : '—');

function clockRows(data: DigestData, pick: (c: ClockState) => boolean, state: (c: ClockState) => string): ClockRowView[] {
  return data.clocks
    .flatMap((row) => row.clocks.filter(pick).map((c) => ({ key: row.key, c })))
    .sort((a, b) => (a.c.dueAt?.getTime() ?? Infinity) - (b.c.dueAt?.getTime() ?? Infinity))
    .map(({ key, c }) => ({
      key,
      kind: c.kind.toUpperCase(),
      criticality: c.criticality,
      tool: c.tool ?? '—',
      dueAt: stamp(c.dueAt),
      state: state(c),
    }));
}

function chart(
  title: string,
  note: string | null,
  labels: string[],
  values: (number | null)[],
  format: (v: number) => string,
  max: number,
): Chart {
  const width = 640;
  const height = 200;
  const top = 24;
  const baseline = height - 28;
  const slot = (width - 20) / labels.length;
  const barWidth = Math.max(6, Math.floor(slot * 0.6));
  const bars = labels.map((label, i) => {
    const v = values[i] ?? null;
    const h = v === null || max === 0 ? 0 : Math.round(((baseline - top) * v) / max);
    const x = Math.round(10 + i * slot + (slot - barWidth) / 2);
    return {
      label,
      value: v === null ? '–' : format(v),
      x,
      y: baseline - h,
      width: barWidth,
      height: h,
      labelX: x + barWidth / 2,
      valueY: baseline - h - 6,
    };
  });
  return { title, note, width, height, baseline, bars, empty: values.every((v) => v === null || v === 0) };
}

export interface PageOptions {
  timeZone: string;
  /** Weeks shown in the charts. Default 12. */
  weeks?: number;
}

export function buildPageView(data: DigestData, now: Date, opts: PageOptions): PageView {
  const t = now.getTime();
  const open = data.intakes.filter((i) => i.closedAt === null);
  const age = (d: Date): number => Math.floor((t - d.getTime()) / DAY_MS);
  const tierRows = [0, 1, 2, 3, null].map((tier) => {
    const inTier = open.filter((i) => i.tier === tier);
    const counts = AGE_BUCKETS.map(
      ([, limit], b) => inTier.filter((i) => age(i.openedAt) < limit && (b === 0 || age(i.openedAt) >= AGE_BUCKETS[b - 1]![1])).length,
    );
    return { name: tier === null ? 'No tier yet (incomplete)' : `Tier ${tier} · ${TIER_NAMES[tier]}`, counts, total: inTier.length };
  });

  const live = (c: ClockState): boolean => !c.stopped && c.breachedAt === null;
  const atRisk = clockRows(
    data,
    (c) => live(c) && (c.warnedAt !== null || (c.warnAt !== null && c.warnAt.getTime() <= t)),
    () => 'at risk',
  );
  const breached = clockRows(
    data,
    (c) => !c.stopped && c.breachedAt !== null,
    () => 'breached',
  );

  const approved = data.exceptions.filter((e) => e.status === 'approved' && e.expiresAt.getTime() > t - 30 * DAY_MS);
  const daysTo = (d: Date): number => Math.ceil((d.getTime() - t) / DAY_MS);
  const buckets = EXPIRY_BUCKETS.map(([label, limit], b) => ({
    label,
    count: approved.filter((e) => {
      const d = daysTo(e.expiresAt);
      return b === 0 ? e.expiresAt.getTime() <= t : e.expiresAt.getTime() > t && d <= limit && d > EXPIRY_BUCKETS[b - 1]![1];
    }).length,
    urgent: b <= 1,
  }));

  const weeks = opts.weeks ?? 12;
  const { day } = localClock(now, opts.timeZone);
  const monday = day - ((new Date(day * DAY_MS).getUTCDay() + 6) % 7);
  const starts = Array.from({ length: weeks }, (_, i) => monday - 7 * (weeks - 1 - i));
  const ranges = starts.map((s) => ({
    label: isoWeek(s).slice(5),
    from: fromLocal(s, 0, opts.timeZone),
    to: fromLocal(s + 7, 0, opts.timeZone),
    first: isoDay(s),
  }));
  const allClocks = data.clocks.flatMap((c) => c.clocks);
  const slo = ranges.map((r) => {
    const a = attainment(allClocks, 'slo', r.from, r.to);
    const b = attainment(allClocks, 'rto', r.from, r.to);
    const met = a.met + b.met;
    const total = met + a.breached + b.breached;
    return total === 0 ? null : (met / total) * 100;
  });
  const volume = ranges.map(
    (r) => data.intakes.filter((i) => i.openedAt.getTime() >= r.from.getTime() && i.openedAt.getTime() < r.to.getTime()).length,
  );

  return {
    generatedAt: stamp(now),
    timeZone: opts.timeZone,
    queue: {
      ageHeadings: AGE_BUCKETS.map(([l]) => l),
      tiers: tierRows,
      total: open.length,
      oldest: [...open]
        .sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime())
        .slice(0, 10)
        .map((i) => ({
          key: i.key,
          tier: i.tier === null ? '—' : `T${i.tier}`,
          service: typeof i.answers['service'] === 'string' ? i.answers['service'] : '—',
          serviceLine: serviceLine(i),
          days: age(i.openedAt),
          complete: i.complete,
        })),
    },
    clocks: { atRisk, breached },
    exceptions: {
      buckets,
      rows: [...approved]
        .sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime())
        .slice(0, 15)
        .map((e) => ({
          id: e.id,
          category: e.category ?? '—',
          repo: e.repo,
          days: daysTo(e.expiresAt),
          expiresAt: stamp(e.expiresAt),
          expired: e.expiresAt.getTime() <= t,
        })),
    },
    verdicts: [...data.gateDecisions]
      .sort((a, b) => b.decidedAt.getTime() - a.decidedAt.getTime())
      .slice(0, 15)
      .map((d) => ({
        key: d.key,
        verdict: d.verdict,
        releaseClass: d.releaseClass,
        decidedAt: stamp(d.decidedAt),
        reason:
          (d.reasons.find((r) => r.severity === 'block') ?? d.reasons.find((r) => r.severity === 'warn') ?? d.reasons[0])?.summary ?? '',
      })),
    sloChart: chart(
      'SLO/RTO attainment by week',
      'Clocks opened that week: met ÷ (met + breached); – where none was decided',
      ranges.map((r) => r.label),
      slo,
      (v) => `${Math.round(v)}%`,
      100,
    ),
    volumeChart: chart(
      'Intake volume by week',
      'New intakes first classified that week',
      ranges.map((r) => r.label),
      volume,
      (v) => String(v),
      Math.max(1, ...volume),
    ),
  };
}
