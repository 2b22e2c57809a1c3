/**
 * Linear-time readers for the Markdown that people write: ATX headings, task-list checkboxes and
 * HTML comments. They scan strings instead of running backtracking patterns, so that no body,
 * however it is shaped, costs more than one pass; each function states the pattern it reads
 * exactly like.
 */

/** Lines longer than this are never headings or checkboxes (they stay plain content). */
export const MAX_MARKUP_LINE = 4096;

/** JavaScript's `\s`: white space and line terminators. */
export function isSpace(c: number): boolean {
  return (
    c === 0x20 ||
    (c >= 0x09 && c <= 0x0d) ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** What `.` does not match: `\n`, `\r`, U+2028, U+2029. */
export const isLineTerminator = (c: number): boolean => c === 0x0a || c === 0x0d || c === 0x2028 || c === 0x2029;

const HASH = 0x23;

const skipSpace = (s: string, i: number): number => {
  while (i < s.length && isSpace(s.charCodeAt(i))) i++;
  return i;
};

const hasLineTerminator = (s: string, from: number, to: number): boolean => {
  for (let i = from; i < to; i++) if (isLineTerminator(s.charCodeAt(i))) return true;
  return false;
};

/**
 * The capture of `\s+(.+?)<tail>$` (or `(.*?)` when `allowEmpty`), where `gapStart`..`textStart` is the
 * whole run of white space the `\s+` matched and `<tail>` is `\s*#*\s*` (`hashes`) or `\s*`. null when
 * the pattern does not match.
 */
function lazyText(line: string, gapStart: number, textStart: number, allowEmpty: boolean, hashes: boolean): string | null {
  const n = line.length;
  if (textStart === n) {
    if (allowEmpty) return '';
    // `\s+` gives back one white-space character for `.+?`; it must not be a line terminator.
    for (let i = n - 1; i > gapStart; i--) if (!isLineTerminator(line.charCodeAt(i))) return line[i]!;
    return null;
  }
  // The longest tail that `\s*#*\s*` (or `\s*`) matches; the shortest text before it is the capture.
  let tail = n;
  while (tail > textStart && isSpace(line.charCodeAt(tail - 1))) tail--;
  if (hashes) {
    while (tail > textStart && line.charCodeAt(tail - 1) === HASH) tail--;
    while (tail > textStart && isSpace(line.charCodeAt(tail - 1))) tail--;
  }
  const end = allowEmpty ? tail : Math.max(textStart + 1, tail);
  return hasLineTerminator(line, textStart, end) ? null : line.slice(textStart, end);
}

export interface AtxHeading {
  level: number;
  text: string;
}

/**
 * An ATX heading, read exactly like `^\s{0,3}(#{1,6})\s+(.+?)\s*#*\s*$` (`(.*?)` when `allowEmpty`);
 * null for any other line and for lines longer than {@link MAX_MARKUP_LINE}.
 */
export function atxHeading(line: string, allowEmpty = false): AtxHeading | null {
  if (line.length > MAX_MARKUP_LINE) return null;
  const indent = skipSpace(line, 0);
  if (indent > 3) return null;
  let gap = indent;
  while (gap < line.length && line.charCodeAt(gap) === HASH) gap++;
  const level = gap - indent;
  if (level < 1 || level > 6) return null;
  const textStart = skipSpace(line, gap);
  if (textStart === gap) return null;
  const text = lazyText(line, gap, textStart, allowEmpty, true);
  return text === null ? null : { level, text };
}

export interface CheckboxItem {
  /** `\s*[-*+]\s+\[` */
  prefix: string;
  /** ' ', 'x' or 'X' */
  mark: string;
  /** `\]\s+` */
  gap: string;
  text: string;
}

/**
 * A task-list line, read exactly like `^(\s*[<bullets>]\s+\[)([ xX])(\]\s+)(.+?)\s*$` (`(.*?)` when
 * `allowEmpty`); null for any other line and for lines longer than {@link MAX_MARKUP_LINE}.
 */
export function checkboxItem(line: string, bullets: string, allowEmpty = false): CheckboxItem | null {
  if (line.length > MAX_MARKUP_LINE) return null;
  const bullet = skipSpace(line, 0);
  if (bullet >= line.length || !bullets.includes(line[bullet]!)) return null;
  const open = skipSpace(line, bullet + 1);
  if (open === bullet + 1 || line[open] !== '[') return null;
  const mark = line[open + 1];
  if ((mark !== ' ' && mark !== 'x' && mark !== 'X') || line[open + 2] !== ']') return null;
  const gapStart = open + 3;
  const textStart = skipSpace(line, gapStart);
  if (textStart === gapStart) return null;
  const text = lazyText(line, gapStart, textStart, allowEmpty, false);
  if (text === null) return null;
  // When `.+?` took a character back from the white space, the gap ends before it.
  const gapEnd = text !== '' && textStart === line.length ? line.lastIndexOf(text) : textStart;
  return { prefix: line.slice(0, open + 1), mark, gap: line.slice(open + 2, gapEnd), text };
}

/** The text without `<!-- … -->` comments, exactly as `.replace(/<!--[\s\S]*?-->/g, '')`. */
export function stripHtmlComments(text: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const open = text.indexOf('<!--', from);
    if (open < 0) break;
    const close = text.indexOf('-->', open + 4);
    // No close after this opening means none after any later one either.
    if (close < 0) break;
    out += text.slice(from, open);
    from = close + 3;
  }
  return from === 0 ? text : out + text.slice(from);
}

/** The text without trailing `ch` characters, as `.replace(/<ch>+$/, '')`. */
export function trimTrailing(text: string, ch: string): string {
  let end = text.length;
  while (end > 0 && text[end - 1] === ch) end--;
  return text.slice(0, end);
}
