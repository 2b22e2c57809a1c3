/**
 * How much work a path glob may make picomatch do. picomatch compiles a glob to a backtracking
 * regular expression: every `*` or `**` that is followed by more of the pattern tries each split
 * of the path, and the splits multiply — `**\/a/**\/a/**\/a/**\/b` took 16 s on one path, and
 * `*a*a*b` seconds on one 4 KB path segment. picomatch has no option that bounds matching work
 * (its `maxLength` bounds the pattern only), so globs are checked when the policy is loaded.
 *
 * The cost of a failing match grows as n^k for a path of n characters, k being the wildcards whose
 * tries multiply:
 * - a `**` segment followed by more of the pattern tries every later `/` (a trailing `/**` takes
 *   the rest at once);
 * - every `*` inside one path segment tries every length up to the next `/` (`*a*` is n^2 on a
 *   long segment); wildcards in different segments do not multiply, one `/` ends each;
 * - a repetition or negation extglob (`*(…)`, `+(…)`, `!(…)`) counts as two.
 * A glob is accepted with at most 2 such `**`, at most 2 wildcards in one segment, and at most 3
 * of the two together (the `/` positions the `**` try and the length of the segment they leave
 * share the path's n characters): every accepted glob matches a 4 KB path in milliseconds, which
 * the property test in test/core/policy/glob.test.ts holds it to. `**\/a/**\/a/**\/b` (12 s on a
 * 4 KB path) and `**\/*auth*.*` (three in one segment: 0.3 s) are refused. Braces and extglobs may not
 * nest, braces expand to at most 32 alternatives, and a glob is at most 256 characters.
 */
import { z } from 'zod';

export const GLOB_LIMITS = {
  maxLength: 256,
  /** `**` segments followed by more of the pattern. */
  maxGlobstars: 2,
  /** Wildcards in one path segment (a repetition extglob counts 2). */
  maxSegmentWildcards: 2,
  /** `**` segments plus the most wildcards in one segment. */
  maxWildcards: 3,
  /** Alternatives all the braces expand to together (the product of each group's). */
  maxAlternatives: 32,
} as const;

type Token = { kind: 'star'; length: number; repetition: boolean } | { kind: 'sep' } | { kind: 'lit' };

/** Alternatives a brace group's body gives: comma-separated items, or a `a..b[..step]` range. */
function braceAlternatives(body: string): number {
  const range = /^(-?\d+|[A-Za-z])\.\.(-?\d+|[A-Za-z])(?:\.\.(-?\d+))?$/.exec(body);
  if (range) {
    const [, from = '', to = '', step] = range;
    const a = /^-?\d+$/.test(from) ? Number(from) : from.charCodeAt(0);
    const b = /^-?\d+$/.test(to) ? Number(to) : to.charCodeAt(0);
    const s = Math.max(1, Math.abs(Number(step ?? 1)) || 1);
    return Math.floor(Math.abs(b - a) / s) + 1;
  }
  let items = 1;
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '\\') i++;
    else if (c === '(' || c === '[') depth++;
    else if ((c === ')' || c === ']') && depth > 0) depth--;
    else if (c === ',' && depth === 0) items++;
  }
  return items;
}

const EXTGLOB = new Set(['*', '+', '?', '@', '!']);

/** The glob as wildcards, segment separators and literals; or the reason it cannot be accepted. */
function tokenize(glob: string): Token[] | string {
  const tokens: Token[] = [];
  let alternatives = 1;
  let braceStart = -1;
  let extDepth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '\\') {
      i++;
      tokens.push({ kind: 'lit' });
      continue;
    }
    if (c === '[') {
      // A character class is one character, whatever it lists.
      const end = glob.indexOf(']', i + 2);
      if (end > i) i = end;
      tokens.push({ kind: 'lit' });
      continue;
    }
    if (EXTGLOB.has(c) && glob[i + 1] === '(') {
      if (extDepth > 0) return 'an extglob inside an extglob';
      if (braceStart >= 0) return 'an extglob inside braces';
      extDepth = 1;
      i++;
      // `*(…)`, `+(…)`, `!(…)` repeat (or match anything but): they guess like `*`.
      tokens.push(c === '*' || c === '+' || c === '!' ? { kind: 'star', length: 1, repetition: true } : { kind: 'lit' });
      continue;
    }
    if (c === '(' && extDepth > 0) return 'an extglob inside an extglob';
    if (c === ')' && extDepth > 0) {
      extDepth = 0;
      tokens.push({ kind: 'lit' });
      continue;
    }
    if (c === '{') {
      if (braceStart >= 0) return 'braces inside braces';
      if (extDepth > 0) return 'braces inside an extglob';
      braceStart = i;
      tokens.push({ kind: 'lit' });
      continue;
    }
    if (c === '}' && braceStart >= 0) {
      alternatives *= braceAlternatives(glob.slice(braceStart + 1, i));
      if (alternatives > GLOB_LIMITS.maxAlternatives) return `its braces expand to more than ${GLOB_LIMITS.maxAlternatives} alternatives`;
      braceStart = -1;
      tokens.push({ kind: 'lit' });
      continue;
    }
    if (c === '*') {
      let j = i;
      while (glob[j + 1] === '*') j++;
      // `**(a)` is a `*` and then the extglob `*(a)`.
      if (glob[j + 1] === '(') j--;
      if (j >= i) tokens.push({ kind: 'star', length: j - i + 1, repetition: false });
      i = j;
      continue;
    }
    // A `/` inside braces or an extglob does not end a segment of the pattern.
    if (c === '/' && braceStart < 0 && extDepth === 0) {
      tokens.push({ kind: 'sep' });
      continue;
    }
    tokens.push({ kind: 'lit' });
  }
  return tokens;
}

/** Why `glob` is refused (too long, or too much matching work), or null when it is accepted. */
export function globProblem(glob: string): string | null {
  if (glob.length > GLOB_LIMITS.maxLength) return `it is longer than ${GLOB_LIMITS.maxLength} characters`;
  const tokens = tokenize(glob);
  if (typeof tokens === 'string') return tokens;
  let globstars = 0;
  let segment = 0;
  let worstSegment = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'sep') {
      segment = 0;
      continue;
    }
    if (t.kind !== 'star') continue;
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    const whole =
      t.length >= 2 && !t.repetition && (prev === undefined || prev.kind === 'sep') && (next === undefined || next.kind === 'sep');
    if (whole) {
      // A `**` segment guesses only when more than wildcards follows it (a trailing `/**` takes the rest at once).
      if (tokens.slice(i + 1).some((x) => x.kind === 'lit')) globstars++;
      continue;
    }
    // Every wildcard inside a segment tries each length up to the next `/`: their tries multiply.
    // A repetition extglob also guesses how often it repeats, and its content overlaps the
    // wildcards around it: it counts twice.
    segment += t.repetition ? 2 : 1;
    worstSegment = Math.max(worstSegment, segment);
  }
  if (globstars > GLOB_LIMITS.maxGlobstars)
    return `it has ${globstars} "**" segments followed by more of the pattern (at most ${GLOB_LIMITS.maxGlobstars})`;
  if (worstSegment > GLOB_LIMITS.maxSegmentWildcards)
    return `a path segment of it has ${worstSegment} wildcards (at most ${GLOB_LIMITS.maxSegmentWildcards}; a repetition extglob counts 2)`;
  if (globstars + worstSegment > GLOB_LIMITS.maxWildcards) {
    return `its ${globstars} "**" segments followed by more of the pattern and ${worstSegment} wildcards in one segment make ${globstars + worstSegment} (at most ${GLOB_LIMITS.maxWildcards})`;
  }
  return null;
}

/** The start of every refusal's message: overrides find their refused globs by it. */
export const GLOB_REFUSED = 'glob refused';

/** The message of a refused glob, naming it. */
export const globRefusal = (glob: string, problem: string): string =>
  `${GLOB_REFUSED}: ${JSON.stringify(glob.length > 80 ? `${glob.slice(0, 80)}…` : glob)} would take too long to match: ${problem}`;

/** A path or branch glob (picomatch) in the policy: non-empty, and not too costly to match. */
export const globSchema = z
  .string()
  .trim()
  .min(1)
  .superRefine((glob, ctx) => {
    const problem = globProblem(glob);
    if (problem !== null) ctx.addIssue({ code: 'custom', message: globRefusal(glob, problem) });
  });
