/**
 * Canonical JSON and the policy's content hash: pure, so the gate (jobs) names the policy it
 * decided under and storage hashes its chained records with the same text.
 */
import { sha256Hex } from './sha256.ts';

/**
 * The value as it is stored and read back: plain JSON. Dates become ISO strings (`toJSON`),
 * `undefined` members and functions disappear, and a NUL character (which PostgreSQL's jsonb
 * refuses) becomes U+FFFD, so that a record with odd evidence is still stored.
 */
export function toPlainJson(value: unknown): unknown {
  const text = JSON.stringify(value === undefined ? null : value);
  return JSON.parse(text.replaceAll('\\u0000', '\\ufffd')) as unknown;
}

/**
 * JSON with object keys sorted (by UTF-16 code unit) at every level and no whitespace. Two values
 * equal as JSON data give the same text, whatever order their keys came in (jsonb reorders them).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return 'null';
    if (typeof value === 'bigint') return value.toString();
    return JSON.stringify(value);
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined && typeof v !== 'function' && typeof v !== 'symbol')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The policy's content hash: sha256 (hex) of its canonical JSON (the parsed policy, not the file's text). */
export function policyHash(policy: unknown): string {
  return sha256Hex(canonicalJson(toPlainJson(policy)));
}
