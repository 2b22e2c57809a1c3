/** The embedded writer's hand-over of payloads to be deflated on the database thread. */
import { describe, expect, it } from 'vitest';
import { deferDeflate, deflateParams } from '../../src/storage/pglite-inbox.ts';
import { COMPRESS_FROM, type EncodedDelivery } from '../../src/storage/payload-codec.ts';

const d = (id: string, payload: string, encoding: EncodedDelivery['encoding'] = 'json'): EncodedDelivery => ({
  platform: 'github',
  deliveryId: id,
  eventName: 'issues',
  payload,
  encoding,
  receivedAt: new Date('2026-11-20T10:00:00.000Z'),
});

describe('deferDeflate and deflateParams', () => {
  const big = 'x'.repeat(COMPRESS_FROM);
  const big2 = 'z'.repeat(COMPRESS_FROM + 1);
  const small = 'y'.repeat(COMPRESS_FROM - 1);

  it('marks large JSON payloads deflate-base64 and hands their text to the database thread', () => {
    const firsts = new Map([
      ['a', d('a', big)],
      ['b', d('b', small)],
      ['c', d('c', 'already-deflated', 'deflate-base64')],
      ['e', d('e', big2)],
    ]);
    const { rows, toDeflate } = deferDeflate(firsts);
    expect([...rows.values()].map((r) => [r.deliveryId, r.encoding, r.payload])).toEqual([
      ['a', 'deflate-base64', big],
      ['b', 'json', small],
      ['c', 'deflate-base64', 'already-deflated'],
      ['e', 'deflate-base64', big2],
    ]);
    expect(toDeflate).toEqual([big, big2]);
    expect(deflateParams(['github', 'a', big, 'deflate-base64', 'b', small, 'c', 'already-deflated', 'e', big2], toDeflate)).toEqual([
      'github',
      'a',
      { deflate: big },
      'deflate-base64',
      'b',
      small,
      'c',
      'already-deflated',
      'e',
      { deflate: big2 },
    ]);
  });

  it('refuses an insert where a payload to deflate is missing (it would be stored unreadable)', () => {
    expect(() => deflateParams(['github', 'a'], [big])).toThrow(/1 payload\(s\) to deflate not found/);
    // out of row order: the second is not met after the first
    expect(() => deflateParams(['github', big2, big], [big, big2])).toThrow(/1 payload\(s\) to deflate not found/);
  });
});
