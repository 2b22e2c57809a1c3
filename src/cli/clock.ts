/**
 * `gatehouse clock --criticality <c> --opened <ISO-8601> [--now <ISO-8601>] [--policy <file>] [--json]`
 * (contract: "Command line"): the SLO and RTO due times of a tool outage, in business time.
 *
 * The policy file's `clocks` section (and its `timeZone`, the zone of regions that name none) is
 * read here and validated with the clock schema, over the defaults; other keys are not checked
 * (that is `gatehouse validate`'s job).
 */
import { readFile } from 'node:fs/promises';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import {
  businessMinutesBetween,
  calendarOf,
  calendarSpec,
  clockPolicySchema,
  clockStatus,
  clockTargets,
  CRITICALITIES,
  defaultClockPolicy,
  dueAt,
  isCriticality,
  isValidTimeZone,
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

const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '');

function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: readonly PropertyKey[]): number | null {
  let node: unknown = doc.contents;
  let found = (doc.contents as YamlNode | null) ?? null;
  for (const key of path) {
    if (isMap(node)) node = node.get(key as string, true);
    else if (isSeq(node) && typeof key === 'number') node = node.get(key, true);
    else break;
    if (!node) break;
    found = node as YamlNode;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? null : counter.linePos(offset).line;
}

/** The clock policy and fallback zone of a policy file (its `clocks` and `timeZone` keys). */
export async function loadClockPolicy(path: string | undefined): Promise<{ policy: ClockPolicy; timeZone: string; source: string }> {
  if (!path) return { policy: defaultClockPolicy, timeZone: 'UTC', source: 'built-in default policy' };
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ClockInputError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const line = counter.linePos(yamlError.pos[0]).line;
    throw new ClockInputError(`${path}: not valid YAML${line ? ` (line ${line})` : ''}: ${yamlError.message.split('\n')[0]}`);
  }
  const root: unknown = doc.toJS();
  if (root !== null && root !== undefined && (typeof root !== 'object' || Array.isArray(root))) {
    throw new ClockInputError(`${path}: a policy is a mapping of keys to values`);
  }
  const record = (root ?? {}) as Record<string, unknown>;
  const timeZone = record['timeZone'] ?? 'UTC';
  if (typeof timeZone !== 'string' || !isValidTimeZone(timeZone)) {
    const line = lineOf(doc, counter, ['timeZone']);
    throw new ClockInputError(`${path}: timeZone${line ? ` (line ${line})` : ''}: unknown time zone ${JSON.stringify(timeZone)}`);
  }
  const parsed = clockPolicySchema.safeParse(record['clocks'] ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => {
      const full = ['clocks', ...i.path];
      const line = lineOf(doc, counter, full);
      return `${formatPath(full)}${line ? ` (line ${line})` : ''}: ${i.message}`;
    });
    throw new ClockInputError(`${path}: ${issues.join('; ')}`);
  }
  return { policy: parsed.data, timeZone, source: path };
}

const iso = (d: Date | null): string | null => d?.toISOString() ?? null;

function describeCalendar(policy: ClockPolicy, timeZone: string): string {
  const spec = calendarSpec(policy, timeZone);
  const regions = spec.regions.map((r) => `${r.timeZone}${r.hours ? ' (own hours)' : ' Mon–Fri 09:00–17:00'}`).join(' + ');
  const holidays = new Set([...(spec.holidays ?? []), ...spec.regions.flatMap((r) => r.holidays ?? [])]).size;
  return `business time: ${regions}${holidays ? `, ${holidays} holiday date(s)` : ''}`;
}

function describeClock(kind: ClockKind, target: string | null, minutes: number | null, due: Date | null, warn: Date | null, reading: ClockReading | null): string {
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
      const out: ClockJson = { criticality, opened: opened.toISOString(), sloDue: iso(due.sloDue), rtoDue: iso(due.rtoDue) };
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
    io.out(`${criticality} opened ${opened.toISOString()}${now ? `, now ${now.toISOString()}` : ''} (${describeCalendar(policy, timeZone)})`);
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
