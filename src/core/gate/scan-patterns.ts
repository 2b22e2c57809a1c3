/** Which scan kind a check, status or CI job is, by its name: the adapters read evidence by it. */

/**
 * Scan kind → pattern matched case-insensitively against check, status and job names, e.g. the
 * contract's defaults `{ secrets: 'secret', sast: 'sast|codeql|semgrep', dependencies:
 * 'dependency|sca|audit', provenance: 'provenance|slsa|attest|(?<![a-z])(co)?sign(ing|ed|ature)?(?![a-z])' }`. A pattern is a regular
 * expression source. The adapters use it to decide which GitLab jobs' reports to read and to give
 * a finding's `category` when the report does not say.
 */
export type ScanPatterns = Readonly<Record<string, string>>;

export const defaultScanPatterns: ScanPatterns = {
  secrets: 'secret',
  sast: 'sast|codeql|semgrep',
  dependencies: 'dependency|sca|audit',
  provenance: 'provenance|slsa|attest|(?<![a-z])(co)?sign(ing|ed|ature)?(?![a-z])',
};

/** The first scan kind whose pattern matches `name` (case-insensitive), or null. An invalid pattern matches nothing. */
export function scanKindOf(name: string, patterns: ScanPatterns): string | null {
  for (const [kind, source] of Object.entries(patterns)) {
    try {
      if (new RegExp(source, 'i').test(name)) return kind;
    } catch {
      /* a bad pattern is the policy loader's to report */
    }
  }
  return null;
}
