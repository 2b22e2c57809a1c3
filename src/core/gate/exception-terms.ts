/**
 * An exception's terms and their digest: what an approval is bound to. Every term the approver
 * reads counts — the request it belongs to, the finding or control, its category, the repository
 * and paths it covers, the expiry, the compensating controls, the business owner and the exception
 * it renews. The canonical form ignores what does not change the meaning (case where matching
 * ignores case, surrounding and trailing whitespace, line endings, the order and repeats of path
 * globs), so the digest changes exactly when a term does. sha256 of the canonical JSON, computed
 * here with a pure implementation (the core may not import node:crypto).
 */
import { sha256Hex } from '../sha256.ts';
import type { GateException } from './exceptions.ts';

/** What the digest covers. */
export type ExceptionTerms = Pick<
  GateException,
  'id' | 'findingRef' | 'category' | 'scope' | 'expiresAt' | 'compensatingControls' | 'businessOwner' | 'renewalOf'
>;

const TERMS_VERSION = 'gatehouse/exception-terms/v1';

const lower = (s: string | null): string => (s ?? '').trim().toLowerCase();
const text = (s: string): string =>
  s
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .trim();

const paths = (ps: readonly string[]): string[] => [...new Set(ps.map((p) => p.trim()).filter((p) => p !== ''))].sort();

/** The canonical JSON of the terms (keys in a fixed order). */
export function canonicalTerms(t: ExceptionTerms): string {
  return JSON.stringify([
    TERMS_VERSION,
    ['request', lower(t.id)],
    ['finding', lower(t.findingRef)],
    ['category', lower(t.category)],
    ['repository', lower(t.scope.repo)],
    ['paths', paths(t.scope.paths)],
    ['expires', t.expiresAt.toISOString()],
    ['controls', text(t.compensatingControls)],
    ['owner', lower(t.businessOwner)],
    ['renews', lower(t.renewalOf)],
  ]);
}

/** sha256 (hex) of the canonical terms. */
export const termsDigest = (t: ExceptionTerms): string => sha256Hex(canonicalTerms(t));

/** The first 12 hex digits, as comments and notices show the digest. */
export const shortDigest = (digest: string): string => digest.slice(0, 12);

const TERM_NAMES: [string, (t: ExceptionTerms) => unknown][] = [
  ['finding or control', (t) => lower(t.findingRef)],
  ['category', (t) => lower(t.category)],
  ['repository', (t) => lower(t.scope.repo)],
  ['paths', (t) => paths(t.scope.paths)],
  ['expiry', (t) => t.expiresAt.toISOString()],
  ['compensating controls', (t) => text(t.compensatingControls)],
  ['business owner', (t) => lower(t.businessOwner)],
  ['renews', (t) => lower(t.renewalOf)],
];

/** The names of the terms that differ between `a` and `b` (empty: the same terms). */
export function changedTerms(a: ExceptionTerms, b: ExceptionTerms): string[] {
  return TERM_NAMES.filter(([, of]) => JSON.stringify(of(a)) !== JSON.stringify(of(b))).map(([name]) => name);
}
