/** Echoing user text safely. */

const ZERO_WIDTH_SPACE = '\u200b';

/**
 * Breaks `@user`, `@org/team` mentions (and `@` that an entity like `&#64;` would produce after
 * HTML escaping) so that echoed text pings nobody. HTML itself is escaped by the template engine.
 */
export function neutralizeMentions(text: string): string {
  return text.replace(/@/g, `@${ZERO_WIDTH_SPACE}`);
}

/**
 * One line, safe inside a Markdown table cell: mentions broken, pipes escaped, newlines folded,
 * and link/image brackets escaped so echoed text cannot add links or tracking images.
 */
export function tableCell(text: string): string {
  return neutralizeMentions(text)
    .replace(/[\r\n]+/g, ' ')
    .replace(/([|[\]])/g, '\\$1')
    .trim();
}

/**
 * The longest text each platform stores in an issue, pull/merge request description or comment
 * (GitHub: 65,536 characters; GitLab: 1,000,000). A longer text did not come from the platform
 * as it is: it is read only up to the limit, and treated as cut.
 */
export const TEXT_LIMITS = { github: 65_536, gitlab: 1_000_000 } as const;

/** No parser reads more than this much of any text (the largest platform limit). */
export const MAX_TEXT = TEXT_LIMITS.gitlab;

export const textLimit = (platform: string): number => (platform === 'gitlab' ? TEXT_LIMITS.gitlab : TEXT_LIMITS.github);

export interface CappedText {
  text: string;
  /** The text had more than `limit` characters and was cut there. */
  cut: boolean;
  limit: number;
}

/** The first `limit` characters (Unicode code points, as the platforms count them) of the text. */
export function capText(text: string, limit: number = MAX_TEXT): CappedText {
  // A string never has more code points than UTF-16 units.
  if (text.length <= limit) return { text, cut: false, limit };
  let units = 0;
  for (let points = 0; points < limit && units < text.length; points++) {
    const c = text.charCodeAt(units);
    units += c >= 0xd800 && c <= 0xdbff && units + 1 < text.length && (text.charCodeAt(units + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
  }
  return units >= text.length ? { text, cut: false, limit } : { text: text.slice(0, units), cut: true, limit };
}

/** The text as a parser reads it: at most {@link MAX_TEXT} characters. */
export const parserInput = (text: string): string => (text.length <= MAX_TEXT ? text : capText(text, MAX_TEXT).text);
