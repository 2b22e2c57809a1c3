/**
 * `GITLAB_WEBHOOK_SECRET`: one secret for every hook, or one secret per project or group path.
 *
 * Map form: `<path>=<secret>` entries separated by `;` (or new lines), e.g.
 * `acme/shop=s3cret1;acme/platform=s3cret2`. A group path covers its subgroups and projects.
 * A value is read as a map only when it has a `;` or a new line; a lone top-level group therefore
 * needs a trailing `;` (`acme=s3cret;`). Anything else is a single secret, as before.
 */

import type { ScopedSecret } from '../adapters/gitlab/webhook-secrets.ts';

const PATH_SEGMENT = '[A-Za-z0-9_][A-Za-z0-9_.-]*';
const ENTRY = new RegExp(`^(${PATH_SEGMENT}(?:/${PATH_SEGMENT})*)=(.+)$`);

/** Parses the variable; answers the secrets or the problems (never the secrets themselves). */
export function parseGitLabSecrets(value: string): { secrets: ScopedSecret[] } | { problems: string[] } {
  if (!/[;\n]/.test(value)) return { secrets: [{ scope: null, secret: value }] };
  const entries = value
    .split(/[;\n]/)
    .map((e) => e.trim())
    .filter((e) => e !== '');
  const secrets: ScopedSecret[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  entries.forEach((entry, i) => {
    const m = ENTRY.exec(entry);
    if (!m) {
      problems.push(`GITLAB_WEBHOOK_SECRET: entry ${i + 1} is not <project or group path>=<secret>`);
      return;
    }
    const scope = m[1]!.toLowerCase();
    const secret = m[2]!.trim();
    if (seen.has(scope)) problems.push(`GITLAB_WEBHOOK_SECRET: ${scope} is listed twice`);
    seen.add(scope);
    if (secret.length < 8) problems.push(`GITLAB_WEBHOOK_SECRET: the secret of ${scope} is shorter than 8 characters`);
    secrets.push({ scope, secret });
  });
  if (entries.length === 0) problems.push('GITLAB_WEBHOOK_SECRET: no <path>=<secret> entries');
  return problems.length > 0 ? { problems } : { secrets };
}
