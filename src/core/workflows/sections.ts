/**
 * Blocks Gatehouse keeps in an issue description (`<!-- gatehouse:<name>:start -->` …
 * `<!-- gatehouse:<name>:end -->`): checklists people tick on GitHub and GitLab alike, whose
 * edits arrive as ordinary issue `edited` / `update` events.
 */

export const sectionStart = (name: string): string => `<!-- gatehouse:${name}:start -->`;
export const sectionEnd = (name: string): string => `<!-- gatehouse:${name}:end -->`;

const ANY_SECTION = /<!-- gatehouse:([a-z][a-z0-9-]*):start -->[\s\S]*?<!-- gatehouse:\1:end -->/g;
const CHECKBOX = /^(\s*[-*+]\s+\[)([ xX])(\]\s+)(.*?)\s*$/;

const indexOfSection = (body: string, name: string): { from: number; to: number } | null => {
  const from = body.indexOf(sectionStart(name));
  if (from < 0) return null;
  const end = body.indexOf(sectionEnd(name), from);
  if (end < 0) return null;
  return { from, to: end + sectionEnd(name).length };
};

/** The text between the block's markers, or null when the body has no such block. */
export function readSection(body: string | null | undefined, name: string): string | null {
  if (!body) return null;
  const at = indexOfSection(body, name);
  return at ? body.slice(at.from + sectionStart(name).length, at.to - sectionEnd(name).length) : null;
}

/** The body with the block's text replaced, or the block appended when it is not there. */
export function withSection(body: string | null | undefined, name: string, text: string): string {
  const block = `${sectionStart(name)}\n${text.trim()}\n${sectionEnd(name)}`;
  const current = body ?? '';
  const at = indexOfSection(current, name);
  if (at) return current.slice(0, at.from) + block + current.slice(at.to);
  return current.trim() === '' ? block : `${current.replace(/\s+$/, '')}\n\n${block}`;
}

/** The body without any Gatehouse block (what the requester wrote). */
export const stripSections = (body: string): string => body.replace(ANY_SECTION, '');

export interface ChecklistItem {
  checked: boolean;
  text: string;
}

/** The block's `- [ ]` / `- [x]` lines, in order. */
export function readChecklist(text: string): ChecklistItem[] {
  const items: ChecklistItem[] = [];
  for (const line of text.replace(/\r\n?/g, '\n').split('\n')) {
    const m = CHECKBOX.exec(line);
    if (m) items.push({ checked: m[2] !== ' ', text: m[4]! });
  }
  return items;
}

/** The block's text with its n-th checkbox set to `checks[n]` (other lines kept as they are). */
export function setChecklist(text: string, checks: readonly boolean[]): string {
  let n = 0;
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => {
      const m = CHECKBOX.exec(line);
      if (!m) return line;
      const want = checks[n++];
      return want === undefined ? line : `${m[1]}${want ? 'x' : ' '}${m[3]}${m[4]}`;
    })
    .join('\n');
}
