/**
 * GitLab security reports (`gl-sast-report.json`, `gl-secret-detection-report.json`,
 * `gl-dependency-scanning-report.json`, `gl-container-scanning-report.json`, `gl-dast-report.json`…,
 * GitLab's published security report schemas, v14 and v15) → open findings; SARIF documents are
 * handed to the SARIF parser. Each vulnerability is read on its own: a malformed one is reported
 * in `problems` and the others are kept.
 */
import type { Finding, Severity } from '../../core/gate/evidence.ts';
import { ENTRIES_PER_SLICE, isSarif, parseSarif, type ParsedFindings } from '../sarif.ts';
import { yieldToRequests } from '../../ports/yield.ts';
import { gitlabReportSchema, reportVulnerabilitySchema } from './schema.ts';

/** GitLab report / artifact types → the gate's scan kinds. */
const CATEGORY: Record<string, string> = {
  sast: 'sast',
  secret_detection: 'secrets',
  dependency_scanning: 'dependencies',
  container_scanning: 'container',
  cluster_image_scanning: 'container',
  dast: 'dast',
  api_fuzzing: 'dast',
  coverage_fuzzing: 'fuzzing',
};

/** The artifact file types that carry security reports. */
export const SECURITY_REPORT_TYPES: ReadonlySet<string> = new Set(Object.keys(CATEGORY));

export const categoryOfReportType = (type: string | undefined): string | null => (type ? (CATEGORY[type] ?? null) : null);

export function gitlabSeverity(value: string | undefined): Severity {
  switch (value?.toLowerCase()) {
    case 'critical':
      return 'critical';
    case 'high':
      return 'high';
    case 'medium':
      return 'medium';
    case 'low':
      return 'low';
    case 'info':
      return 'info';
    default:
      return 'unknown'; // Unknown, Undefined, absent
  }
}

export interface ReportContext {
  /** The artifact's file type (`sast`, `secret_detection`…), when the job said. */
  reportType?: string;
  /** The scan kind to use when neither the report nor the artifact type says. */
  fallbackCategory: string;
  /** Where the finding is seen (the job's page). */
  url: string | null;
}

/**
 * A security report or SARIF document (already JSON-decoded) → findings. Throws (ZodError) when it
 * is neither. Read `ENTRIES_PER_SLICE` entries at a time, the event loop getting a turn between.
 */
export async function parseSecurityReport(doc: unknown, ctx: ReportContext): Promise<ParsedFindings> {
  if (isSarif(doc)) {
    const category = categoryOfReportType(ctx.reportType) ?? ctx.fallbackCategory;
    return parseSarif(doc, { idPrefix: `gitlab:${category}`, category, url: ctx.url });
  }
  const report = gitlabReportSchema.parse(doc);
  const type = report.scan?.type ?? ctx.reportType;
  const category = categoryOfReportType(type) ?? categoryOfReportType(ctx.reportType) ?? ctx.fallbackCategory;
  const reportTool = report.scan?.scanner?.name ?? type ?? 'gitlab';
  const findings: Finding[] = [];
  const problems: string[] = [];
  for (const [i, raw] of report.vulnerabilities.entries()) {
    if ((i + 1) % ENTRIES_PER_SLICE === 0) await yieldToRequests();
    const parsed = reportVulnerabilitySchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problems.push(`vulnerabilities[${i}]: ${issue ? `${issue.path.join('.') || 'entry'}: ${issue.message}` : 'invalid'}`);
      continue;
    }
    const v = parsed.data;
    const primary = v.identifiers[0]!;
    const loc = v.location ?? null;
    const pkg = loc?.dependency?.package?.name;
    const location = loc?.file ?? loc?.image ?? (loc?.hostname ? `${loc.hostname}${loc.path ?? ''}` : null);
    const key = v.id ?? v.cve ?? `${primary.value}:${location ?? ''}:${pkg ?? ''}:${loc?.start_line ?? ''}`;
    findings.push({
      id: `gitlab:${category}:${key}`,
      ruleId: primary.value,
      category,
      severity: gitlabSeverity(v.severity),
      title:
        (v.name ?? v.message ?? primary.name ?? primary.value) +
        (pkg && !(v.name ?? '').includes(pkg) ? ` in ${pkg}${loc?.dependency?.version ? ` ${loc.dependency.version}` : ''}` : ''),
      // A path (or image) only: exceptions are scoped by path globs.
      location,
      tool: v.scanner?.name ?? reportTool,
      url: ctx.url,
    });
  }
  return { findings, problems };
}
