/**
 * Blocks Gatehouse keeps in an issue description (`<!-- gatehouse:<name>:start -->` …
 * `<!-- gatehouse:<name>:end -->`): checklists people tick on GitHub and GitLab alike, whose
 * edits arrive as ordinary issue `edited` / `update` events.
 */
import { checkboxItem } from '../line-scan.ts';
import { parserInput } from '../text.ts';

export const sectionStart = (name: string): string => `<!-- gatehouse:${name}:start -->`;
export const sectionEnd = (name: string): string => `<!-- gatehouse:${name}:end -->`;

const MARKER = '<!-- gatehouse:';
const MARKER_CLOSE = ' -->';

interface Marker {
  at: number;
  end: number;
  name: string;
  kind: 'start' | 'end';
}

const isNameStart = (c: number): boolean => c >= 0x61 && c <= 0x7a;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2d;

/** Every `<!-- gatehouse:<name>:start -->` / `…:end -->` in the body, in order (one pass). */
function markersOf(body: string): Marker[] {
  const out: Marker[] = [];
  for (let at = body.indexOf(MARKER); at >= 0; at = body.indexOf(MARKER, at + 1)) {
    let i = at + MARKER.length;
    if (i >= body.length || !isNameStart(body.charCodeAt(i))) continue;
    while (i < body.length && isNameChar(body.charCodeAt(i))) i++;
    const name = body.slice(at + MARKER.length, i);
    const kind = body.startsWith(`:start${MARKER_CLOSE}`, i) ? 'start' : body.startsWith(`:end${MARKER_CLOSE}`, i) ? 'end' : null;
    if (kind) out.push({ at, end: i + (kind === 'start' ? 6 : 4) + MARKER_CLOSE.length, name, kind });
  }
  return out;
}

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
  return current.trim() === '' ? block : `${current.trimEnd()}\n\n${block}`;
}

/** A block of the description: its name and its text. */
export interface BodySection {
  name: string;
  text: string;
}

/** The body with each block's text replaced, or appended (in order) when it is not there. */
export function withSections(body: string | null | undefined, sections: readonly BodySection[]): string {
  return sections.reduce<string>((b, s) => withSection(b, s.name, s.text), body ?? '');
}

/**
 * The body without any Gatehouse block (what the requester wrote): each start marker up to the
 * first end marker of the same name after it, leftmost first, as
 * `/<!-- gatehouse:([a-z][a-z0-9-]*):start -->[\s\S]*?<!-- gatehouse:\1:end -->/g` — in one pass.
 */
export function stripSections(body: string): string {
  const markers = markersOf(body);
  const ends = new Map<string, Marker[]>();
  for (const m of markers) if (m.kind === 'end') (ends.get(m.name) ?? ends.set(m.name, []).get(m.name)!).push(m);
  // Per name, the next end marker not yet passed (starts are visited in order, so it only moves on).
  const next = new Map<string, number>();
  let out = '';
  let from = 0;
  for (const m of markers) {
    if (m.kind !== 'start' || m.at < from) continue;
    const candidates = ends.get(m.name) ?? [];
    let k = next.get(m.name) ?? 0;
    while (k < candidates.length && candidates[k]!.at < m.end) k++;
    next.set(m.name, k);
    if (k === candidates.length) continue;
    out += body.slice(from, m.at);
    from = candidates[k]!.end;
  }
  return from === 0 ? body : out + body.slice(from);
}

export interface ChecklistItem {
  checked: boolean;
  text: string;
}

/** The block's `- [ ]` / `- [x]` lines, in order. */
export function readChecklist(text: string): ChecklistItem[] {
  const items: ChecklistItem[] = [];
  for (const line of parserInput(text).replace(/\r\n?/g, '\n').split('\n')) {
    const m = checkboxItem(line, '-*+', true);
    if (m) items.push({ checked: m.mark !== ' ', text: m.text });
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
      const m = checkboxItem(line, '-*+', true);
      if (!m) return line;
      const want = checks[n++];
      return want === undefined ? line : `${m.prefix}${want ? 'x' : ' '}${m.gap}${m.text}`;
    })
    .join('\n');
}

/** The hidden marker `openIssue` puts in a body. */
export const issueMarker = (key: string): string => `<!-- gatehouse:issue:${key} -->`;

/**
 * `body` with the section between `<!-- marker -->` and `<!-- /marker -->` set to `text`
 * (replaced in place when present, else appended after a blank line). Both release adapters use it.
 */
export function spliceSection(body: string, marker: string, text: string): string {
  const start = `<!-- ${marker} -->`;
  const end = `<!-- /${marker} -->`;
  const section = `${start}\n${text.trim()}\n${end}`;
  const from = body.indexOf(start);
  const to = from === -1 ? -1 : body.indexOf(end, from + start.length);
  if (from !== -1 && to !== -1) return body.slice(0, from) + section + body.slice(to + end.length);
  const head = body.trimEnd();
  return head === '' ? section : `${head}\n\n${section}`;
}
