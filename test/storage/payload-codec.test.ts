import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import {
  COMPRESS_FROM,
  decodePayload,
  decodePayloadAsync,
  encodePayload,
  INFLATE_OFF_THREAD_FROM,
} from '../../src/storage/payload-codec.ts';

describe('payload codec', () => {
  it.each([
    ['empty', ''],
    ['small JSON', '{"action":"opened"}'],
    ['just below the threshold', 'x'.repeat(COMPRESS_FROM - 1)],
    ['at the threshold', 'y'.repeat(COMPRESS_FROM)],
    ['large with multibyte text', JSON.stringify({ body: 'é ✓ 🚀 '.repeat(3000) })],
  ])('round-trips %s', (_name, json) => {
    const encoded = encodePayload(json);
    expect(encoded.encoding).toBe(json.length < COMPRESS_FROM ? 'json' : 'deflate-base64');
    expect(decodePayload(encoded.payload, encoded.encoding)).toBe(json);
  });

  it('shrinks a large payload', () => {
    const json = JSON.stringify({
      urls: Array.from({ length: 200 }, (_, i) => `https://api.github.com/repos/acme/web/issues/${i}/comments`),
    });
    expect(encodePayload(json).payload.length).toBeLessThan(json.length / 4);
  });

  it('refuses an unknown encoding and a corrupt value', () => {
    expect(() => decodePayload('{}', 'gzip')).toThrow();
    expect(() => decodePayload('not deflate at all', 'deflate-base64')).toThrow();
  });

  it('inflates a large stored payload off the event loop, with the same text', async () => {
    // Random text deflates little: its stored form is past the threshold.
    const json = JSON.stringify({ body: randomBytes(3 * 1024 * 1024).toString('base64') });
    const encoded = encodePayload(json);
    expect(encoded.payload.length).toBeGreaterThanOrEqual(INFLATE_OFF_THREAD_FROM);
    let settled = false;
    let turned = false;
    setImmediate(() => (turned = !settled));
    expect(await decodePayloadAsync(encoded.payload, encoded.encoding).finally(() => (settled = true))).toBe(json);
    expect(turned).toBe(true);
  });

  it('decodes small and plain payloads alike, and refuses what decodePayload refuses', async () => {
    const small = encodePayload('{"body":"' + 'z'.repeat(2000) + '"}');
    expect(await decodePayloadAsync(small.payload, small.encoding)).toBe(decodePayload(small.payload, small.encoding));
    expect(await decodePayloadAsync('{}', 'json')).toBe('{}');
    await expect(decodePayloadAsync('{}', 'gzip')).rejects.toThrow();
    await expect(decodePayloadAsync('A'.repeat(INFLATE_OFF_THREAD_FROM), 'deflate-base64')).rejects.toThrow();
  });
});
