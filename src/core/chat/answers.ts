/**
 * What `/gatehouse status` and `/gatehouse queue` answer, from stored records. Pure: the shell
 * reads the records, these functions write the lines (plain text; the Slack adapter escapes it).
 */
import type { ClockState } from '../outage/clocks.ts';
import type { Policy } from '../policy/schema.ts';
import type { ItemRef } from './command.ts';

export interface StatusView {
  item: ItemRef;
  intake: { complete: boolean; problems: { field: string; message: string }[]; service: string | null; owner: string | null } | null;
  decision: { tier: number | null; routes: string[]; reasons: { rule: string; summary: string }[]; decidedAt: Date } | null;
  clocks: readonly ClockState[];
  gate: { verdict: string; releaseClass: string | null; decidedAt: Date } | null;
  escalations: { key: string; kind: string; acknowledgedBy: string | null; createdAt: Date }[];
}

const at = (d: Date): string => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

const tierName = (policy: Policy, tier: number | null): string =>
  tier === null ? 'not classified' : `Tier ${tier} (${policy.tiers[tier]?.name ?? '?'})`;

/** A clock's state in words at `now`. */
export function clockLine(c: ClockState, now: Date): string {
  const name = c.kind === 'slo' ? 'SLO (response)' : 'RTO (recovery)';
  let state: string;
  if (c.breachedAt) state = `breached ${at(c.breachedAt)}`;
  else if (c.stopped) state = 'met';
  else if (!c.runningSince) state = 'paused';
  else if (c.warnedAt || (c.warnAt && c.warnAt <= now)) state = 'at risk';
  else state = 'on track';
  const due = c.dueAt && !c.stopped && !c.breachedAt ? `, due ${at(c.dueAt)}` : '';
  return `${name} · ${c.criticality}: ${state}${due}`;
}

export function statusAnswer(v: StatusView, policy: Policy, now: Date): string {
  const known = v.intake || v.decision || v.clocks.length > 0 || v.gate || v.escalations.length > 0;
  const what = `${v.item.fullName}${v.item.kind === 'change' && v.item.platform === 'gitlab' ? '!' : '#'}${v.item.number}`;
  if (!known)
    return `Gatehouse has no record of ${what} (${v.item.url}). It tracks intakes, tooling outages and release candidates it has seen on a configured repository.`;
  const lines = [`Status of ${what}${v.intake?.service ? ` — ${v.intake.service}` : ''}`];
  if (v.decision) {
    lines.push(
      `Tier: ${tierName(policy, v.decision.tier)}${v.decision.routes.length > 0 ? ` · route: ${v.decision.routes.join(', ')}` : ''} (decided ${at(v.decision.decidedAt)})`,
    );
    for (const r of v.decision.reasons.slice(0, 6)) lines.push(`  – ${r.summary}`);
  }
  if (v.intake) {
    if (v.intake.complete) lines.push(`Intake: complete${v.intake.owner ? ` · owner ${v.intake.owner}` : ''}`);
    else lines.push(`Intake: incomplete — missing or invalid: ${v.intake.problems.map((p) => p.field).join(', ')}`);
  }
  if (v.clocks.length > 0) {
    lines.push('Clocks:');
    for (const c of v.clocks) lines.push(`  – ${clockLine(c, now)}`);
  } else lines.push('Clocks: none');
  lines.push(
    v.gate
      ? `Release gate: ${v.gate.verdict}${v.gate.releaseClass ? ` (${v.gate.releaseClass})` : ''} at ${at(v.gate.decidedAt)}`
      : 'Release gate: no verdict',
  );
  const open = v.escalations.filter((e) => !e.acknowledgedBy);
  if (v.escalations.length > 0) lines.push(`Escalations: ${v.escalations.length} (${open.length} not acknowledged)`);
  return lines.join('\n');
}

export interface QueueView {
  intakes: { key: string; tier: number | null; complete: boolean; service: string | null; since: Date }[];
  clocks: { key: string; clocks: readonly ClockState[] }[];
  escalations: { key: string; kind: string; title: string; channel: string; createdAt: Date }[];
}

/** Age in whole days/hours, for queue lines. */
export function age(since: Date, now: Date): string {
  const h = Math.max(0, Math.floor((now.getTime() - since.getTime()) / 3_600_000));
  return h >= 48 ? `${Math.floor(h / 24)}d` : `${h}h`;
}

export function queueAnswer(v: QueueView, policy: Policy, now: Date, limit = 10): string {
  const lines: string[] = [];
  const byTier = new Map<string, QueueView['intakes']>();
  for (const i of [...v.intakes].sort((a, b) => a.since.getTime() - b.since.getTime())) {
    const k = i.complete ? tierName(policy, i.tier) : 'Incomplete intake';
    byTier.set(k, [...(byTier.get(k) ?? []), i]);
  }
  lines.push(`Open intake: ${v.intakes.length}`);
  const order = [...byTier.keys()].sort((a, b) => b.localeCompare(a));
  for (const k of order) {
    const list = byTier.get(k)!;
    lines.push(`  ${k}: ${list.length}`);
    for (const i of list.slice(0, limit)) lines.push(`    – ${i.key}${i.service ? ` (${i.service})` : ''} · ${age(i.since, now)} old`);
  }
  const risky = v.clocks
    .flatMap((r) => r.clocks.map((c) => ({ key: r.key, c })))
    // Only clocks still running: a breached clock of an issue since closed or assigned is history, not queue.
    .filter(
      ({ c }) =>
        !c.stopped && c.runningSince !== null && (c.breachedAt !== null || c.warnedAt !== null || (c.warnAt !== null && c.warnAt <= now)),
    )
    .sort((a, b) => (a.c.breachedAt ?? a.c.dueAt ?? now).getTime() - (b.c.breachedAt ?? b.c.dueAt ?? now).getTime());
  lines.push(`Clocks at risk or breached: ${risky.length}`);
  for (const { key, c } of risky.slice(0, limit)) lines.push(`  – ${key}: ${clockLine(c, now)}`);
  const esc = [...v.escalations].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  lines.push(`Open escalations: ${esc.length}`);
  for (const e of esc.slice(0, limit)) lines.push(`  – ${e.title} (${e.kind}, ${e.channel}) · ${age(e.createdAt, now)} old`);
  return lines.join('\n');
}
