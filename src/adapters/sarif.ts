/**
 * SARIF 2.1.0 (OASIS) results → open findings. Reads `runs[].results[]` with the rule they break
 * (`ruleId`, `rule.id`, or `ruleIndex` into `tool.driver.rules`), its level (or the rule's default
 * level), the first location, and the `security-severity` score GitHub and many scanners put on
 * the rule (CVSS-like: >= 9 critical, >= 7 high, >= 4 medium, > 0 low). Suppressed results and
 * results whose `kind` is not a failure (`pass`, `notApplicable`, `informational`) are not findings.
 */
import { z } from 'zod';
import type { Finding, Severity } from '../core/gate/evidence.ts';
import { yieldToRequests } from '../ports/yield.ts';

const text = z.object({ text: z.string().optional() }).partial().nullable().optional();

const ruleSchema = z.object({
  id: z.string(),
  name: z.string().optional(),
  shortDescription: text,
  fullDescription: text,
  defaultConfiguration: z.object({ level: z.string().optional() }).nullable().optional(),
  properties: z.record(z.string(), z.unknown()).nullable().optional(),
});

const locationSchema = z.object({
  physicalLocation: z
    .object({
      artifactLocation: z.object({ uri: z.string().optional() }).nullable().optional(),
      region: z.object({ startLine: z.number().optional() }).nullable().optional(),
    })
    .nullable()
    .optional(),
});

const resultSchema = z.object({
  ruleId: z.string().optional(),
  ruleIndex: z.number().int().optional(),
  rule: z.object({ id: z.string().optional(), index: z.number().int().optional() }).nullable().optional(),
  kind: z.string().optional(),
  level: z.string().optional(),
  message: text,
  locations: z.array(locationSchema).nullable().optional(),
  fingerprints: z.record(z.string(), z.string()).nullable().optional(),
  partialFingerprints: z.record(z.string(), z.string()).nullable().optional(),
  suppressions: z.array(z.unknown()).nullable().optional(),
  properties: z.record(z.string(), z.unknown()).nullable().optional(),
});

const runSchema = z.object({
  tool: z.object({ driver: z.object({ name: z.string(), rules: z.array(ruleSchema).nullable().optional() }) }),
  results: z.array(z.unknown()).nullable().optional(),
});

export const sarifSchema = z.object({ version: z.string().optional(), runs: z.array(runSchema) });

export const isSarif = (doc: unknown): boolean =>
  typeof doc === 'object' && doc !== null && Array.isArray((doc as { runs?: unknown }).runs);

/** A `security-severity` score (string or number) → severity, or null when absent or not a number. */
export function scoreSeverity(score: unknown): Severity | null {
  const n = typeof score === 'number' ? score : typeof score === 'string' && score.trim() !== '' ? Number(score) : NaN;
  if (!Number.isFinite(n)) return null;
  if (n >= 9) return 'critical';
  if (n >= 7) return 'high';
  if (n >= 4) return 'medium';
  if (n > 0) return 'low';
  return 'info';
}

export function levelSeverity(level: string | undefined): Severity {
  switch (level) {
    case 'error':
      return 'high';
    case 'warning':
      return 'medium';
    case 'note':
      return 'low';
    case 'none':
      return 'info';
    default:
      return 'unknown';
  }
}

const NOT_FAILURES = new Set(['pass', 'notApplicable', 'informational']);

export interface SarifContext {
  /** Prefix of every finding id, e.g. `gitlab:sast`. */
  idPrefix: string;
  category: string;
  url: string | null;
}

export interface ParsedFindings {
  findings: Finding[];
  /** Entries that could not be read (the rest were kept). */
  problems: string[];
}

/** Entries read between two turns of the event loop (a few milliseconds' work). */
export const ENTRIES_PER_SLICE = 500;

/**
 * Reads the findings. A report can hold a hundred thousand results (a few hundred milliseconds of
 * work): they are read `ENTRIES_PER_SLICE` at a time, the event loop (and the HTTP server on it)
 * getting a turn between slices.
 */
export async function parseSarif(doc: unknown, ctx: SarifContext): Promise<ParsedFindings> {
  const report = sarifSchema.parse(doc);
  const findings: Finding[] = [];
  const problems: string[] = [];
  let read = 0;
  for (const [r, run] of report.runs.entries()) {
    const rules = run.tool.driver.rules ?? [];
    // By id, the first of a repeated id winning: one lookup per result, not a walk of the rules.
    const ruleById = new Map<string, (typeof rules)[number]>();
    for (const rule of rules) if (!ruleById.has(rule.id)) ruleById.set(rule.id, rule);
    const tool = run.tool.driver.name;
    for (const [i, raw] of (run.results ?? []).entries()) {
      if (++read % ENTRIES_PER_SLICE === 0) await yieldToRequests();
      const parsed = resultSchema.safeParse(raw);
      if (!parsed.success) {
        problems.push(`runs[${r}].results[${i}]: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
        continue;
      }
      const res = parsed.data;
      if ((res.suppressions ?? []).length > 0) continue;
      if (res.kind && NOT_FAILURES.has(res.kind)) continue;
      const index = res.ruleIndex ?? res.rule?.index;
      const ruleId = res.ruleId ?? res.rule?.id ?? (index !== undefined ? rules[index]?.id : undefined);
      if (!ruleId) {
        problems.push(`runs[${r}].results[${i}]: no rule id`);
        continue;
      }
      const rule = ruleById.get(ruleId) ?? (index !== undefined ? rules[index] : undefined);
      const level = res.level ?? rule?.defaultConfiguration?.level ?? 'warning';
      const severity =
        scoreSeverity(res.properties?.['security-severity']) ??
        scoreSeverity(rule?.properties?.['security-severity']) ??
        levelSeverity(level);
      const loc = res.locations?.[0]?.physicalLocation;
      const path = loc?.artifactLocation?.uri ?? null;
      const line = loc?.region?.startLine;
      const fingerprint =
        Object.values(res.fingerprints ?? {})[0] ??
        Object.values(res.partialFingerprints ?? {})[0] ??
        `${ruleId}:${path ?? ''}:${line ?? ''}`;
      findings.push({
        id: `${ctx.idPrefix}:${fingerprint}`,
        ruleId,
        category: ctx.category,
        severity,
        title: res.message?.text ?? rule?.shortDescription?.text ?? rule?.name ?? ruleId,
        location: path,
        tool,
        url: ctx.url,
      });
    }
  }
  return { findings, problems };
}
