import { describe, expect, it } from 'vitest';
import { COMPRESS_FROM, decodePayload, encodePayload } from '../../src/storage/payload-codec.ts';

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
    const json = JSON.stringify({ urls: Array.from({ length: 200 }, (_, i) => `https://api.github.com/repos/acme/web/issues/${i}/comments`) });
    expect(encodePayload(json).payload.length).toBeLessThan(json.length / 4);
  });

  it('refuses an unknown encoding and a corrupt value', () => {
    expect(() => decodePayload('{}', 'gzip')).toThrow();
    expect(() => decodePayload('not deflate at all', 'deflate-base64')).toThrow();
  });
});
