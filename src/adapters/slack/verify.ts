/**
 * Slack request signing (v0): HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the signing secret,
 * compared in constant time; a timestamp more than five minutes off, either way, is refused (a
 * replayed or forged request).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_SKEW_SECONDS = 300;

export type Verification = { ok: true } | { ok: false; reason: string };

const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

export function signSlack(secret: string, timestamp: string | number, body: string | Buffer): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:`).update(body).digest('hex')}`;
}

export function verifySlackRequest(
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  secret: string,
  nowMs: number,
): Verification {
  const ts = one(headers['x-slack-request-timestamp']);
  const sig = one(headers['x-slack-signature']);
  if (!ts || !sig) return { ok: false, reason: 'missing x-slack-signature or x-slack-request-timestamp' };
  if (!/^\d{1,12}$/.test(ts)) return { ok: false, reason: 'x-slack-request-timestamp is not a number' };
  if (Math.abs(Math.floor(nowMs / 1000) - Number(ts)) > MAX_SKEW_SECONDS)
    return { ok: false, reason: 'x-slack-request-timestamp is more than 5 minutes off' };
  const expected = Buffer.from(signSlack(secret, ts, body), 'utf8');
  const given = Buffer.from(sig, 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'signature does not match' };
  return { ok: true };
}
