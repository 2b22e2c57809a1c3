/** Policy text → validated policy, or every error with its path (and line) in the file. */
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { defaultPolicyInput } from './default.ts';
import { policySchema, referenceIssues, type Policy } from './schema.ts';

export interface PolicyError {
  /** Dotted path in the file, e.g. `routing.rules[2].tier`. */
  path: string;
  line: number | null;
  message: string;
}

export type PolicyResult = { ok: true; policy: Policy } | { ok: false; errors: PolicyError[] };

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export const formatPath = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)), '') || '(root)';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge: objects merge key by key, arrays and scalars from `over` replace. */
export function mergeDeep(base: unknown, over: unknown): unknown {
  if (!isObject(base) || !isObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeDeep(base[k], v);
  return out;
}

/** Validates an already-parsed policy object merged over `base` (default: the built-in policy); `line` locates a path in the file. */
export function validatePolicy(
  input: unknown,
  base: unknown = defaultPolicyInput,
  line: (path: PropertyKey[]) => number | null = () => null,
): PolicyResult {
  if (input !== null && input !== undefined && !isObject(input)) {
    return { ok: false, errors: [{ path: '(root)', line: line([]), message: 'a policy is a mapping of keys to values' }] };
  }
  const merged = mergeDeep(base, input ?? {});
  const parsed = policySchema.safeParse(merged);
  if (parsed.success) return { ok: true, policy: parsed.data };
  return { ok: false, errors: issuesToErrors(allIssues(parsed.error.issues as Issue[], merged), line) };
}

type Issue = { path: PropertyKey[]; message: string; code?: string; keys?: string[] };

/** Structural issues, plus the cross-reference checks zod skips while the structure is broken. */
function allIssues(structural: Issue[], merged: unknown): Issue[] {
  const seen = new Set(structural.map((i) => `${formatPath(i.path)}|${i.message}`));
  return [...structural, ...referenceIssues(merged).filter((i) => !seen.has(`${formatPath(i.path)}|${i.message}`))];
}

/** One error per problem; an unknown key is reported at its own path. */
function issuesToErrors(issues: readonly Issue[], line: (path: PropertyKey[]) => number | null): PolicyError[] {
  return issues.flatMap((i) => {
    if (i.code === 'unrecognized_keys' && i.keys) {
      return i.keys.map((k) => {
        const path = [...i.path, k];
        return { path: formatPath(path), line: line(path), message: `unknown key "${k}"` };
      });
    }
    return [{ path: formatPath(i.path), line: line(i.path), message: i.message }];
  });
}

function lineOf(doc: ReturnType<typeof parseDocument>, counter: LineCounter, path: readonly PropertyKey[]): number | null {
  // Walk down as far as the path exists in the file; report the deepest node found.
  let node: unknown = doc.contents;
  let found: YamlNode | null = (doc.contents as YamlNode | null) ?? null;
  for (const key of path) {
    if (isMap(node)) node = node.get(key as string, true);
    else if (isSeq(node) && typeof key === 'number') node = node.get(key, true);
    else break;
    if (!node) break;
    found = node as YamlNode;
  }
  const offset = found?.range?.[0];
  return offset === undefined ? null : counter.linePos(offset).line;
}

export type PolicyText = { ok: true; input: unknown; line: (path: PropertyKey[]) => number | null } | { ok: false; errors: PolicyError[] };

/** Reads policy YAML into plain data, with the line of any path in it; YAML errors with their lines. */
export function readPolicyText(text: string): PolicyText {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => ({
        path: '(yaml)',
        line: e.linePos?.[0]?.line ?? counter.linePos(e.pos[0]).line,
        message: e.message.split('\n')[0] ?? e.message,
      })),
    };
  }
  const input = doc.toJS({ maxAliasCount: 100 }) as Json;
  if (input !== null && !isObject(input)) {
    return { ok: false, errors: [{ path: '(root)', line: 1, message: 'a policy is a mapping of keys to values' }] };
  }
  return { ok: true, input, line: (path) => lineOf(doc, counter, path) };
}

/** Parses policy YAML. Unknown keys, wrong types and dangling references are all reported. */
export function parsePolicy(text: string, base: unknown = defaultPolicyInput): PolicyResult {
  const read = readPolicyText(text);
  if (!read.ok) return read;
  return validatePolicy(read.input, base, read.line);
}

export const defaultPolicy: Policy = policySchema.parse(defaultPolicyInput);
