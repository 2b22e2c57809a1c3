/** Sections of a PR/MR description: `## Rollback`, `### Emergency reason`… (any heading level). */
import { atxHeading, stripHtmlComments } from '../line-scan.ts';
import { capText, parserInput, textLimit } from '../text.ts';

const FENCE = /^\s{0,3}(```|~~~)/;
const NO_RESPONSE = /^_no response_$/i;

const norm = (s: string): string => s.trim().replace(/\s+/g, ' ').replace(/:$/, '').toLowerCase();

/**
 * The text under the first heading named one of `names` (case-insensitive, a trailing colon
 * ignored), up to the next heading of the same or a higher level; HTML comments and
 * `_No response_` removed. null when no such heading exists or its section is empty.
 */
export function descriptionSection(body: string, names: readonly string[]): string | null {
  const wanted = new Set(names.map(norm));
  const lines = stripHtmlComments(parserInput(body).replace(/\r\n?/g, '\n')).split('\n');
  let level = 0;
  let taken: string[] | null = null;
  let inFence = false;
  for (const line of lines) {
    if (FENCE.test(line)) inFence = !inFence;
    const m = inFence ? null : atxHeading(line);
    if (taken) {
      if (m && m.level <= level) break;
      taken.push(line);
      continue;
    }
    if (m && wanted.has(norm(m.text))) {
      level = m.level;
      taken = [];
    }
  }
  if (!taken) return null;
  const text = taken.join('\n').trim();
  return text === '' || NO_RESPONSE.test(text) ? null : text;
}

/**
 * Why the description cannot be read, or null: a description longer than its platform stores
 * (see `textLimit`) did not come from the platform as it is, so no section of it counts as evidence.
 */
export function descriptionCut(body: string, platform: string): string | null {
  const capped = capText(body, textLimit(platform));
  return capped.cut
    ? `the description is longer than the ${capped.limit.toLocaleString('en-US')} characters ${platform === 'gitlab' ? 'GitLab' : 'GitHub'} stores: it was cut and none of its sections is read`
    : null;
}
