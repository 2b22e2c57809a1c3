/**
 * The operating cadence's digests, built from stored data for one slot (see schedule.ts):
 * - weekly: intake health, aging reviews, open escalations, new material findings;
 * - bi-weekly: standard-pattern adoption, golden-path friction, repeated issue categories;
 * - monthly: figures by service line, exception aging, SLO/RTO attainment, high-risk backlog;
 * - quarterly: tier mix, queue health, the tooling inventory review (zombie tools called out).
 * Each is a `Notice` of kind `digest` for the outbox. Pure: the data and the slot in, text out.
 */
import type { Notice } from '../chat/notice.ts';
import type { ClockState } from '../outage/clocks.ts';
import type { DigestData, DigestIntake } from './data.ts';
import type { DigestSlot } from './schedule.ts';

export interface DigestSection {
  heading: string;
  lines: string[];
}

export interface Digest {
  slot: DigestSlot;
  title: string;
  sections: DigestSection[];
}

export interface DigestOptions {
  /** An open tier 2/3 intake older than this many days is an aging review. */
  agingDays: number;
}

const DAY_MS = 86_400_000;
const TIER_NAMES = ['self-service', 'advisory', 'deep review', 'leadership'];
const CADENCE_TITLE = { weekly: 'Weekly', biweekly: 'Bi-weekly', monthly: 'Monthly', quarterly: 'Quarterly' } as const;
const MATERIAL = new Set(['critical', 'high']);
const FINDING_RULES = new Set(['finding-blocking', 'finding-warning']);

const within = (at: Date, slot: DigestSlot): boolean => at.getTime() >= slot.from.getTime() && at.getTime() < slot.to.getTime();
const openAt = (i: DigestIntake, at: Date): boolean =>
  i.openedAt.getTime() < at.getTime() && (i.closedAt === null || i.closedAt.getTime() >= at.getTime());
const days = (ms: number): number => Math.floor(ms / DAY_MS);
const tierName = (t: number | null): string => (t === null ? 'no tier yet' : `tier ${t} (${TIER_NAMES[t] ?? '?'})`);
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;
const answer = (i: DigestIntake, id: string): string | null => {
  const v = i.answers[id];
  const s = Array.isArray(v) ? v.join(', ') : v;
  return s && s.trim() !== '' ? s.trim() : null;
};
/** The intake's service line (the service catalog); absent answers count as `unspecified`. */
export const serviceLine = (i: DigestIntake): string => answer(i, 'service_line') ?? 'unspecified';

function countBy<T>(items: readonly T[], key: (t: T) => string): [string, number][] {
  const m = new Map<string, number>();
  for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + 1);
  return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}
const listCounts = (pairs: [string, number][]): string => (pairs.length === 0 ? 'none' : pairs.map(([k, n]) => `${k} ${n}`).join(', '));
const tierMix = (intakes: readonly DigestIntake[]): string => {
  const parts = [0, 1, 2, 3].map((t) => `T${t} ${intakes.filter((i) => i.tier === t).length}`);
  const none = intakes.filter((i) => i.tier === null).length;
  return parts.join(', ') + (none > 0 ? `, no tier ${none}` : '');
};

function intakeHealth(data: DigestData, slot: DigestSlot): DigestSection {
  const fresh = data.intakes.filter((i) => within(i.openedAt, slot));
  const complete = fresh.filter((i) => i.complete).length;
  return {
    heading: 'Intake health',
    lines: [
      `${plural(fresh.length, 'new intake')}: ${complete} complete, ${fresh.length - complete} incomplete`,
      `By tier: ${tierMix(fresh)}`,
    ],
  };
}

function agingReviews(data: DigestData, slot: DigestSlot, opts: DigestOptions): DigestSection {
  const limit = slot.to.getTime() - opts.agingDays * DAY_MS;
  const aging = data.intakes
    .filter((i) => openAt(i, slot.to) && (i.tier ?? 0) >= 2 && i.openedAt.getTime() <= limit)
    .sort((a, b) => a.openedAt.getTime() - b.openedAt.getTime());
  return {
    heading: `Aging reviews (tier 2/3 open over ${opts.agingDays} days)`,
    lines:
      aging.length === 0
        ? ['none']
        : aging
            .slice(0, 10)
            .map((i) => `${i.key}: ${tierName(i.tier)}, ${days(slot.to.getTime() - i.openedAt.getTime())} days open`)
            .concat(aging.length > 10 ? [`… and ${aging.length - 10} more`] : []),
  };
}

function openEscalations(data: DigestData, slot: DigestSlot): DigestSection {
  const open = data.escalations.filter(
    (e) => e.kind !== 'digest' && e.acknowledgedAt === null && e.createdAt.getTime() < slot.to.getTime(),
  );
  return {
    heading: 'Open escalations',
    lines:
      open.length === 0
        ? ['none']
        : open
            .slice(0, 10)
            .map((e) => `${e.kind}: ${e.title} (${days(slot.to.getTime() - e.createdAt.getTime())} days unacknowledged)`)
            .concat(open.length > 10 ? [`… and ${open.length - 10} more`] : []),
  };
}

/** Critical and high findings a release gate saw for the first time in the period. */
export function newMaterialFindings(data: DigestData, slot: DigestSlot): { key: string; severity: string; summary: string }[] {
  const seen = new Set<string>();
  const out: { key: string; severity: string; summary: string }[] = [];
  const ordered = [...data.gateDecisions].sort((a, b) => a.decidedAt.getTime() - b.decidedAt.getTime());
  for (const d of ordered) {
    if (d.decidedAt.getTime() >= slot.to.getTime()) break;
    for (const r of d.reasons) {
      if (!FINDING_RULES.has(r.rule)) continue;
      const severity = /^Open (\w+) finding/.exec(r.summary)?.[1]?.toLowerCase() ?? (r.severity === 'block' ? 'critical' : 'high');
      if (!MATERIAL.has(severity)) continue;
      const id = `${d.key} ${r.subject ?? r.summary}`;
      if (seen.has(id)) continue;
      seen.add(id);
      if (within(d.decidedAt, slot)) out.push({ key: d.key, severity, summary: r.summary });
    }
  }
  return out;
}

function materialFindings(data: DigestData, slot: DigestSlot): DigestSection {
  const found = newMaterialFindings(data, slot);
  return {
    heading: 'New material findings (critical/high)',
    lines:
      found.length === 0
        ? ['none']
        : found
            .slice(0, 10)
            .map((f) => `${f.key}: ${f.summary}`)
            .concat(found.length > 10 ? [`… and ${found.length - 10} more`] : []),
  };
}

function serviceLines(data: DigestData, slot: DigestSlot): DigestSection {
  const fresh = data.intakes.filter((i) => within(i.openedAt, slot));
  const open = data.intakes.filter((i) => openAt(i, slot.to));
  const lines = [...new Set([...fresh, ...open].map(serviceLine))].sort((a, b) =>
    a === 'unspecified' ? 1 : b === 'unspecified' ? -1 : a.localeCompare(b),
  );
  return {
    heading: 'By service line',
    lines:
      lines.length === 0
        ? ['no intakes']
        : lines.map((l) => {
            const f = fresh.filter((i) => serviceLine(i) === l);
            const o = open.filter((i) => serviceLine(i) === l);
            return `${l}: ${f.length} new, ${o.length} open, ${o.filter((i) => (i.tier ?? 0) >= 2).length} open at tier 2/3`;
          }),
  };
}

function exceptionAging(data: DigestData, slot: DigestSlot): DigestSection {
  const at = slot.to.getTime();
  const live = data.exceptions.filter((e) => e.status === 'approved' && e.expiresAt.getTime() > at);
  const buckets: [string, number][] = [
    ['under 30 days old', 0],
    ['30-89 days', 0],
    ['90 days or more', 0],
  ];
  for (const e of live) {
    const age = days(at - (e.approvedAt ?? e.requestedAt).getTime());
    buckets[age < 30 ? 0 : age < 90 ? 1 : 2]![1] += 1;
  }
  const soon = live.filter((e) => e.expiresAt.getTime() - at <= 14 * DAY_MS).length;
  const waiting = data.exceptions.filter((e) => e.status === 'requested');
  const lapsed = data.exceptions.filter((e) => e.status === 'approved' && within(e.expiresAt, slot)).length;
  return {
    heading: 'Exception aging',
    lines: [
      `${plural(live.length, 'active exception')}: ${listCounts(buckets)}`,
      `${soon} expire within 14 days; ${lapsed} lapsed in the period`,
      `${plural(waiting.length, 'request')} awaiting approval${waiting.length > 0 ? ` (oldest ${days(at - Math.min(...waiting.map((w) => w.requestedAt.getTime())))} days)` : ''}`,
    ],
  };
}

/** Met (stopped before breaching), breached, running: clocks opened in [from, to). */
export function attainment(
  clocks: readonly ClockState[],
  kind: string,
  from: Date,
  to: Date,
): { met: number; breached: number; running: number } {
  const r = { met: 0, breached: 0, running: 0 };
  for (const c of clocks) {
    if (c.kind !== kind || c.openedAt.getTime() < from.getTime() || c.openedAt.getTime() >= to.getTime()) continue;
    if (c.breachedAt !== null && c.breachedAt.getTime() < to.getTime()) r.breached += 1;
    else if (c.stopped) r.met += 1;
    else r.running += 1;
  }
  return r;
}
const pct = (met: number, breached: number): string => (met + breached === 0 ? 'n/a' : `${Math.round((met / (met + breached)) * 100)}%`);

function sloRto(data: DigestData, slot: DigestSlot): DigestSection {
  const all = data.clocks.flatMap((c) => c.clocks);
  return {
    heading: 'SLO/RTO attainment',
    lines: (['slo', 'rto'] as const).map((k) => {
      const a = attainment(all, k, slot.from, slot.to);
      return `${k.toUpperCase()}: ${a.met} met, ${a.breached} breached, ${a.running} running (${pct(a.met, a.breached)} attained)`;
    }),
  };
}

function highRiskBacklog(data: DigestData, slot: DigestSlot): DigestSection {
  const open = data.intakes.filter((i) => openAt(i, slot.to));
  const latest = new Map<string, { verdict: string; releaseClass: string }>();
  for (const d of [...data.gateDecisions].sort((a, b) => a.decidedAt.getTime() - b.decidedAt.getTime()))
    if (d.decidedAt.getTime() < slot.to.getTime()) latest.set(d.key, d);
  const blocked = [...latest.entries()].filter(([, d]) => d.verdict === 'block');
  return {
    heading: 'High-risk backlog',
    lines: [
      `${open.filter((i) => i.tier === 3).length} open at tier 3 (leadership), ${open.filter((i) => i.tier === 2).length} at tier 2 (deep review)`,
      `${plural(blocked.length, 'release')} blocked${
        blocked.length > 0
          ? `: ${blocked
              .slice(0, 5)
              .map(([k, d]) => `${k} (${d.releaseClass})`)
              .join(', ')}`
          : ''
      }`,
    ],
  };
}

function adoption(data: DigestData, slot: DigestSlot): DigestSection {
  const fresh = data.intakes.filter((i) => within(i.openedAt, slot));
  const yes = fresh.filter((i) => answer(i, 'golden_path')?.toLowerCase() === 'yes').length;
  const no = fresh.filter((i) => answer(i, 'golden_path')?.toLowerCase() === 'no').length;
  return {
    heading: 'Standard-pattern adoption',
    lines: [
      `Golden-path template: ${yes} yes, ${no} no, ${fresh.length - yes - no} unanswered (${yes + no === 0 ? 'n/a' : `${Math.round((yes / (yes + no)) * 100)}%`} adoption)`,
    ],
  };
}

function friction(data: DigestData, slot: DigestSlot): DigestSection {
  const golden = data.intakes.filter(
    (i) => within(i.openedAt, slot) && answer(i, 'golden_path')?.toLowerCase() === 'yes' && i.tier !== null,
  );
  const zero = golden.filter((i) => i.tier === 0).length;
  const rules = countBy(
    golden.filter((i) => i.tier !== 0).flatMap((i) => i.rules),
    (r) => r,
  );
  return {
    heading: 'Golden-path friction',
    lines: [
      `${plural(golden.length, 'golden-path intake')}: ${zero} stayed self-service (tier 0), ${golden.length - zero} routed higher`,
      ...(rules.length > 0 ? [`What moved them up: ${listCounts(rules.slice(0, 5))}`] : []),
    ],
  };
}

function repeatedCategories(data: DigestData, slot: DigestSlot): DigestSection {
  const cats = countBy(
    data.exceptions.filter((e) => within(e.requestedAt, slot) && e.status !== 'rejected'),
    (e) => e.category ?? 'uncategorised',
  );
  const rules = countBy(
    data.intakes.filter((i) => within(i.openedAt, slot)).flatMap((i) => i.rules),
    (r) => r,
  );
  return {
    heading: 'Repeated issue categories',
    lines: [`Exception categories: ${listCounts(cats.slice(0, 5))}`, `Routing rules firing most: ${listCounts(rules.slice(0, 5))}`],
  };
}

function tierMixSection(data: DigestData, slot: DigestSlot): DigestSection {
  const fresh = data.intakes.filter((i) => within(i.openedAt, slot));
  return { heading: 'Tier mix', lines: [`${plural(fresh.length, 'intake')}: ${tierMix(fresh)}`] };
}

function queueHealth(data: DigestData, slot: DigestSlot): DigestSection {
  const openStart = data.intakes.filter((i) => openAt(i, slot.from)).length;
  const openEnd = data.intakes.filter((i) => openAt(i, slot.to));
  const closed = data.intakes.filter((i) => i.closedAt !== null && within(i.closedAt, slot)).length;
  const opened = data.intakes.filter((i) => within(i.openedAt, slot)).length;
  const ages = openEnd.map((i) => days(slot.to.getTime() - i.openedAt.getTime())).sort((a, b) => a - b);
  const median = ages.length === 0 ? null : ages[Math.floor(ages.length / 2)];
  return {
    heading: 'Queue health',
    lines: [
      `Open ${openStart} at the start, ${openEnd.length} at the end; ${opened} opened, ${closed} closed`,
      ages.length === 0 ? 'Nothing open' : `Open intakes: median age ${median} days, oldest ${ages[ages.length - 1]} days`,
    ],
  };
}

export interface InventoryRow {
  name: string;
  criticality: string;
  pathForward: string;
  owners: string[];
  slo: string;
  rto: string;
  lastActivity: Date | null;
  issues: number;
  zombie: boolean;
}

/** The quarterly inventory review: every tool, its attainment and last activity; zombies have no issues, no activity and no owners. */
export function inventoryReview(data: DigestData, slot: DigestSlot): InventoryRow[] {
  return data.tools.map((t) => {
    const clocks = data.clocks.flatMap((c) => c.clocks.filter((s) => s.tool === t.name).map((s) => ({ key: c.key, s })));
    const repos = new Set(t.repos.map((r) => r.toLowerCase()));
    const intakes = data.intakes.filter((i) => repos.has(i.repo.toLowerCase()));
    const misses = data.misses.filter((m) => m.tool === t.name);
    const times = [
      ...clocks.map((c) => c.s.openedAt),
      ...clocks.flatMap((c) => (c.s.breachedAt ? [c.s.breachedAt] : [])),
      ...intakes.map((i) => i.openedAt),
      ...misses.map((m) => m.at),
    ].filter((d) => d.getTime() < slot.to.getTime());
    const last = times.length === 0 ? null : new Date(Math.max(...times.map((d) => d.getTime())));
    const issues = new Set([
      ...clocks.filter((c) => within(c.s.openedAt, slot)).map((c) => c.key),
      ...intakes.filter((i) => within(i.openedAt, slot)).map((i) => i.key),
    ]).size;
    const att = (k: string): string => {
      const a = attainment(
        clocks.map((c) => c.s),
        k,
        slot.from,
        slot.to,
      );
      return a.met + a.breached + a.running === 0 ? 'no clocks' : `${a.met} met, ${a.breached} breached (${pct(a.met, a.breached)})`;
    };
    const active = last !== null && last.getTime() >= slot.from.getTime();
    return {
      name: t.name,
      criticality: t.criticality,
      pathForward: t.pathForward,
      owners: t.owners,
      slo: att('slo'),
      rto: att('rto'),
      lastActivity: last,
      issues,
      zombie: issues === 0 && !active && t.owners.length === 0,
    };
  });
}

function inventory(data: DigestData, slot: DigestSlot): DigestSection[] {
  const rows = inventoryReview(data, slot);
  const zombies = rows.filter((r) => r.zombie);
  return [
    {
      heading: 'Tooling inventory review',
      lines:
        rows.length === 0
          ? ['no tools in the inventory']
          : rows.map(
              (r) =>
                `${r.name}: ${r.criticality}, path::${r.pathForward}; SLO ${r.slo}; RTO ${r.rto}; last activity ${r.lastActivity ? r.lastActivity.toISOString().slice(0, 10) : 'never'}${r.zombie ? ' — zombie' : ''}`,
            ),
    },
    {
      heading: 'Zombie tools to re-assess (no issues, no activity, no owners)',
      lines: zombies.length === 0 ? ['none'] : zombies.map((r) => r.name),
    },
  ];
}

export function buildDigest(slot: DigestSlot, data: DigestData, opts: DigestOptions): Digest {
  const sections: DigestSection[] =
    slot.cadence === 'weekly'
      ? [
          intakeHealth(data, slot),
          serviceLines(data, slot),
          agingReviews(data, slot, opts),
          openEscalations(data, slot),
          materialFindings(data, slot),
        ]
      : slot.cadence === 'biweekly'
        ? [adoption(data, slot), friction(data, slot), repeatedCategories(data, slot)]
        : slot.cadence === 'monthly'
          ? [serviceLines(data, slot), exceptionAging(data, slot), sloRto(data, slot), highRiskBacklog(data, slot)]
          : [tierMixSection(data, slot), queueHealth(data, slot), sloRto(data, slot), ...inventory(data, slot)];
  return { slot, title: `${CADENCE_TITLE[slot.cadence]} digest: ${slot.label}`, sections };
}

/** The digest as an outbox notice (one line per figure, each prefixed by its section). */
export function digestNotice(d: Digest): Notice {
  return {
    kind: 'digest',
    title: d.title,
    reasons: d.sections.flatMap((s) => s.lines.map((l) => `${s.heading}: ${l}`)),
    severity: null,
    owner: null,
    due: [],
    url: null,
    labels: [],
    route: null,
    itemKey: null,
  };
}

/** The plain-text fallback: the title and every section. */
export function digestText(d: Digest): string {
  return [d.title, ...d.sections.map((s) => `${s.heading}\n${s.lines.map((l) => `- ${l}`).join('\n')}`)].join('\n\n');
}
