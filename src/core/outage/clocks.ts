/**
 * The SLO/RTO clock lifecycle of a tooling outage issue. Pure: the issue's current state and the
 * stored clocks in, the clocks as they should now be out; and, at a clock's due moments, the
 * warning and breach it owes.
 *
 * A clock counts business minutes from the issue's opening (labels added later count from the
 * opening). SLO stops for good at the first assignee. RTO pauses while the issue is closed and
 * resumes when it is reopened. Either pauses while a pause label is present.
 */
import { TZDate } from '@date-fns/tz';
import { format } from 'date-fns';
import {
  addBusinessMinutes,
  businessMinutesBetween,
  calendarOf,
  clockTargets,
  effectiveCriticality,
  isCriticality,
  warnMinutes,
} from '../clock/index.ts';
import type { ClockKind, Criticality } from '../clock/index.ts';
import type { IssueSnapshot } from '../model.ts';
import type { Policy } from '../policy/schema.ts';
import { toolFor } from './inventory.ts';

export interface ClockState {
  kind: ClockKind;
  criticality: Criticality;
  targetMinutes: number;
  openedAt: Date;
  /** Business minutes counted in earlier running stretches. */
  consumedMinutes: number;
  /** Start of the current running stretch; null while paused or stopped. */
  runningSince: Date | null;
  /** Met (SLO: assigned) or no longer applicable: never runs again. */
  stopped: boolean;
  warnAt: Date | null;
  dueAt: Date | null;
  warnedAt: Date | null;
  breachedAt: Date | null;
  /** The inventory tool the issue is about, for the repeated-miss signal. */
  tool: string | null;
}

const lower = (s: string): string => s.trim().toLowerCase();

function labelValue(labels: readonly string[], prefix: string): string | null {
  const p = lower(prefix);
  const hit = labels.find((l) => lower(l).startsWith(p));
  return hit ? lower(hit).slice(p.length) : null;
}

/**
 * The criticality that drives this issue's clocks, or null when it runs none: only outages
 * (`tool::outage`) run clocks; criticality and path-forward come from the labels, else from the
 * inventory; `redirect` caps at `low`.
 */
export function outageCriticality(issue: Pick<IssueSnapshot, 'labels' | 'ref'>, policy: Policy): Criticality | null {
  const t = policy.tooling;
  if (!issue.labels.some((l) => lower(l) === lower(t.outageLabel))) return null;
  const tool = toolFor(issue, policy);
  const label = labelValue(issue.labels, t.criticalityPrefix);
  const criticality = label && isCriticality(label) ? label : (tool?.criticality ?? null);
  if (!criticality) return null;
  return effectiveCriticality(criticality, labelValue(issue.labels, t.pathPrefix) ?? tool?.pathForward);
}

function schedule(c: Omit<ClockState, 'warnAt' | 'dueAt'>, policy: Policy): ClockState {
  if (!c.runningSince) return { ...c, warnAt: null, dueAt: null };
  const calendar = calendarOf(policy.clocks, policy.timeZone);
  const left = (minutes: number): number => Math.max(0, minutes - c.consumedMinutes);
  return {
    ...c,
    warnAt: addBusinessMinutes(calendar, c.runningSince, left(warnMinutes(policy.clocks, c.targetMinutes))),
    dueAt: addBusinessMinutes(calendar, c.runningSince, left(c.targetMinutes)),
  };
}

/** Ends the running stretch at `now`, adding its business minutes to what was consumed. */
function halt<C extends Omit<ClockState, 'warnAt' | 'dueAt'>>(c: C, now: Date, policy: Policy): C {
  if (!c.runningSince) return c;
  const calendar = calendarOf(policy.clocks, policy.timeZone);
  const stretch = now > c.runningSince ? businessMinutesBetween(calendar, c.runningSince, now) : 0;
  return { ...c, consumedMinutes: c.consumedMinutes + stretch, runningSince: null };
}

/** The clocks an issue should have now, from its state and the stored clocks. */
export function reconcileClocks(issue: IssueSnapshot, existing: readonly ClockState[], policy: Policy, now: Date): ClockState[] {
  const criticality = outageCriticality(issue, policy);
  const targets = criticality ? clockTargets(policy.clocks, criticality) : { slo: null, rto: null };
  const paused = issue.labels.some((l) => policy.tooling.pauseLabels.some((p) => lower(p) === lower(l)));
  const openedAt = new Date(issue.createdAt);
  const tool = toolFor(issue, policy)?.name ?? null;
  const out: ClockState[] = [];
  for (const kind of ['slo', 'rto'] as const) {
    const prev = existing.find((c) => c.kind === kind);
    const target = targets[kind];
    if (target === null || criticality === null) {
      // No longer an outage, or a criticality without this clock: stop it, keep its history.
      if (prev && !prev.stopped) out.push(schedule({ ...halt(prev, now, policy), stopped: true }, policy));
      else if (prev) out.push(prev);
      continue;
    }
    let c: Omit<ClockState, 'warnAt' | 'dueAt'> = prev
      ? { ...prev, criticality, targetMinutes: target, tool }
      : {
          kind,
          criticality,
          targetMinutes: target,
          openedAt,
          consumedMinutes: 0,
          runningSince: openedAt,
          stopped: false,
          warnedAt: null,
          breachedAt: null,
          tool,
        };
    if (!prev && openedAt > now) c = { ...c, runningSince: now };
    const met = kind === 'slo' ? issue.assignees.length > 0 : false;
    const shouldRun = !c.stopped && !met && !paused && !(kind === 'rto' && issue.state === 'closed');
    if (met && !c.stopped) c = { ...halt(c, now, policy), stopped: true };
    else if (!shouldRun && c.runningSince) c = halt(c, now, policy);
    else if (shouldRun && !c.runningSince) c = { ...c, runningSince: now };
    out.push(schedule(c, policy));
  }
  return out;
}

/** The next moment this clock owes something (its warning or its breach), or null. */
export function nextFireAt(c: ClockState): Date | null {
  const moments = [c.warnedAt || c.breachedAt ? null : c.warnAt, c.breachedAt ? null : c.dueAt].filter((d): d is Date => d !== null);
  return moments.length > 0 ? new Date(Math.min(...moments.map((d) => d.getTime()))) : null;
}

export type ClockFiring = 'at-risk' | 'breached';

/**
 * What a clock owes at `now`: a breach when its due time has passed (a warning that was missed
 * while the bot was down is not sent late), else a warning at its warning point.
 */
export function fireClock(c: ClockState, now: Date): { clock: ClockState; fired: ClockFiring | null } {
  if (!c.runningSince || c.stopped) return { clock: c, fired: null };
  if (!c.breachedAt && c.dueAt && c.dueAt <= now)
    return { clock: { ...c, breachedAt: now, warnedAt: c.warnedAt ?? now }, fired: 'breached' };
  if (!c.warnedAt && !c.breachedAt && c.warnAt && c.warnAt <= now) return { clock: { ...c, warnedAt: now }, fired: 'at-risk' };
  return { clock: c, fired: null };
}

/** A moment in the team's time zone, for comments: `Mon 23 Nov 2026 11:00 UTC`. */
export function teamTime(at: Date, policy: Policy): string {
  const zone = policy.clocks.timeZone ?? policy.timeZone;
  return `${format(new TZDate(at.getTime(), zone), 'EEE d MMM yyyy HH:mm')} ${zone}`;
}
