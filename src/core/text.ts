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
