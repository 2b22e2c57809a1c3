/**
 * `gatehouse clock --criticality <c> --opened <ISO-8601> [--now <ISO-8601>] [--policy <file>] [--json]`
 * (contract: "Command line"): the SLO and RTO due times of a tool outage, in business time.
 *
 * The policy file's `clocks` section (and its `timeZone`, the zone of regions that name none) is
 * read here and validated with the clock schema, over the defaults; other keys are not checked
 * (that is `gatehouse validate`'s job).
 */
import { formatPolicyError, loadGlobalPolicy, PolicyFileError } from '../policy/global.ts';
import {
  businessMinutesBetween,
  calendarOf,
  calendarSpec,
  clockStatus,
  clockTargets,
  CRITICALITIES,
  defaultClockPolicy,
  dueAt,
  isCriticality,
  warnAt,
  type ClockKind,
  type ClockPolicy,
  type ClockReading,
} from '../core/clock/index.ts';

export interface ClockIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export interface ClockCliOptions {
  criticality: string;
  opened: string;
  now?: string;
  policy?: string;
  json?: boolean;
}

export interface ClockJson {
  criticality: string;
  opened: string;
  sloDue: string | null;
  rtoDue: string | null;
  sloElapsedMinutes?: number;
  rtoElapsedMinutes?: number;
}

class ClockInputError extends Error {}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|([+-])(\d{2}):?(\d{2}))$/i;

/** Strict ISO-8601 date-time with a zone designator (`Z` or ±hh:mm); null otherwise. */
export function parseInstant(text: string): Date | null {
  const m = ISO_RE.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi] = [m[1], m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number, number];
  const s = Number(m[6] ?? 0);
  const ms = Math.floor(Number(`0.${m[7] ?? '0'}`) * 1000);
  const oh = Number(m[10] ?? 0);
  const om = Number(m[11] ?? 0);
  if (mo < 1 || mo > 12 || h > 23 || mi > 59 || s > 59 || oh > 23 || om > 59) return null;
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  const offset = (m[9] === '-' ? -1 : 1) * (oh * 60 + om) * 60_000;
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms) - offset);
}

function instantOption(name: string, text: string): Date {
  const at = parseInstant(text);
  if (!at) throw new ClockInputError(`${name} "${text}" is not an ISO-8601 date-time with a zone (e.g. 2026-11-20T16:00:00Z)`);
  return at;
}

/** The clock policy and fallback zone of a policy file (the whole file is validated, like `gatehouse start` does). */
export async function loadClockPolicy(path: string | undefined): Promise<{ policy: ClockPolicy; timeZone: string; source: string }> {
  if (!path) return { policy: defaultClockPolicy, timeZone: 'UTC', source: 'built-in default policy' };
  try {
    const { policy } = await loadGlobalPolicy(path);
    return { policy: policy.clocks, timeZone: policy.timeZone, source: path };
  } catch (err) {
    if (err instanceof PolicyFileError) throw new ClockInputError(`${path}: ${err.errors.map(formatPolicyError).join('; ')}`);
    throw err;
  }
}

/** ISO-8601 UTC, seconds precision when the milliseconds are zero (`2026-11-23T16:00:00Z`). */
const iso = (d: Date | null): string | null => (d ? d.toISOString().replace(/\.000Z$/, 'Z') : null);

function describeCalendar(policy: ClockPolicy, timeZone: string): string {
  const spec = calendarSpec(policy, timeZone);
  const regions = spec.regions.map((r) => `${r.timeZone}${r.hours ? ' (own hours)' : ' Mon–Fri 09:00–17:00'}`).join(' + ');
  const holidays = new Set([...(spec.holidays ?? []), ...spec.regions.flatMap((r) => r.holidays ?? [])]).size;
  return `business time: ${regions}${holidays ? `, ${holidays} holiday date(s)` : ''}`;
}

function describeClock(
  kind: ClockKind,
  target: string | null,
  minutes: number | null,
  due: Date | null,
  warn: Date | null,
  reading: ClockReading | null,
): string {
  const name = kind.toUpperCase();
  if (minutes === null || !due) return `${name}: none (best effort)`;
  let line = `${name} ${target} = ${minutes} business min: warn ${iso(warn)}, due ${iso(due)}`;
  if (reading) line += ` — ${reading.elapsedMinutes} of ${minutes} min elapsed, ${reading.state}`;
  return line;
}

/** Runs the command; returns the exit code. Errors are one line on stderr, never a stack trace. */
export async function runClock(o: ClockCliOptions, io: ClockIo): Promise<number> {
  try {
    const criticality = o.criticality.trim().toLowerCase();
    if (!isCriticality(criticality)) {
      throw new ClockInputError(`unknown criticality "${o.criticality}" (one of ${CRITICALITIES.join(', ')})`);
    }
    const opened = instantOption('--opened', o.opened);
    const now = o.now === undefined ? null : instantOption('--now', o.now);
    const { policy, timeZone } = await loadClockPolicy(o.policy ?? process.env['GATEHOUSE_POLICY']);
    const options = { timeZone };
    const due = dueAt(policy, criticality, opened, options);
    const status = now ? clockStatus(policy, criticality, opened, now, options) : null;
    if (o.json) {
      const out: ClockJson = { criticality, opened: iso(opened)!, sloDue: iso(due.sloDue), rtoDue: iso(due.rtoDue) };
      if (now) {
        // Both clocks run from the opening (nothing stops them here); 0 when --now is before it.
        const elapsed = Math.max(0, businessMinutesBetween(calendarOf(policy, timeZone), opened, now));
        out.sloElapsedMinutes = elapsed;
        out.rtoElapsedMinutes = elapsed;
      }
      io.out(JSON.stringify(out));
      return 0;
    }
    const warn = warnAt(policy, criticality, opened, options);
    const targets = clockTargets(policy, criticality);
    io.out(`${criticality} opened ${iso(opened)}${now ? `, now ${iso(now)}` : ''} (${describeCalendar(policy, timeZone)})`);
    io.out(describeClock('slo', policy.targets[criticality].slo, targets.slo, due.sloDue, warn.sloWarn, status?.slo ?? null));
    io.out(describeClock('rto', policy.targets[criticality].rto, targets.rto, due.rtoDue, warn.rtoWarn, status?.rto ?? null));
    return 0;
  } catch (err) {
    if (err instanceof ClockInputError || err instanceof RangeError) {
      io.err(`clock: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
