import { describe, expect, it } from 'vitest';
import { canonicalTerms, changedTerms, shortDigest, termsDigest, type ExceptionTerms } from '../../../src/core/gate/exception-terms.ts';

const terms = (over: Partial<ExceptionTerms> = {}): ExceptionTerms => ({
  id: 'github:acme/requests#12',
  findingRef: 'js/sql-injection',
  category: 'sast',
  scope: { repo: 'github:acme/shop', paths: ['src/db/**', 'src/legacy/**'] },
  expiresAt: new Date('2027-01-01T00:00:00.000Z'),
  compensatingControls: 'WAF rule 1234 blocks the payloads.\nAlerting on 5xx.',
  businessOwner: '@shop-owner',
  renewalOf: null,
  ...over,
});

describe('termsDigest', () => {
  it('is a sha256 of the canonical terms, stable across runs', () => {
    expect(termsDigest(terms())).toMatch(/^[0-9a-f]{64}$/);
    expect(termsDigest(terms())).toBe(termsDigest(terms()));
    expect(canonicalTerms(terms())).toBe(
      '["gatehouse/exception-terms/v1",["request","github:acme/requests#12"],["finding","js/sql-injection"],["category","sast"],["repository","github:acme/shop"],["paths",["src/db/**","src/legacy/**"]],["expires","2027-01-01T00:00:00.000Z"],["controls","WAF rule 1234 blocks the payloads.\\nAlerting on 5xx."],["owner","@shop-owner"],["renews",""]]',
    );
    expect(shortDigest(termsDigest(terms()))).toHaveLength(12);
  });

  it.each<[string, Partial<ExceptionTerms>]>([
    [
      'case of the finding, repository and owner',
      {
        findingRef: 'JS/SQL-Injection',
        scope: { repo: 'github:Acme/Shop', paths: ['src/db/**', 'src/legacy/**'] },
        businessOwner: '@Shop-Owner',
      },
    ],
    ['order and repeats of the paths', { scope: { repo: 'github:acme/shop', paths: ['src/legacy/**', ' src/db/** ', 'src/db/**'] } }],
    [
      'line endings and trailing spaces of the controls',
      { compensatingControls: '  WAF rule 1234 blocks the payloads.  \r\nAlerting on 5xx.\r\n' },
    ],
  ])('ignores what does not change the meaning: %s', (_name, over) => {
    expect(termsDigest(terms(over))).toBe(termsDigest(terms()));
  });

  it.each<[string, Partial<ExceptionTerms>]>([
    ['request', { id: 'github:acme/requests#13' }],
    ['finding or control', { findingRef: 'js/xss' }],
    ['category', { category: 'secrets' }],
    ['repository', { scope: { repo: 'github:acme/other', paths: ['src/db/**', 'src/legacy/**'] } }],
    ['paths', { scope: { repo: 'github:acme/shop', paths: ['src/**'] } }],
    ['expiry', { expiresAt: new Date('2027-01-02T00:00:00.000Z') }],
    ['compensating controls', { compensatingControls: 'WAF rule 1234 blocks the payloads.' }],
    ['business owner', { businessOwner: '@someone' }],
    ['renews', { renewalOf: 'github:acme/requests#3' }],
  ])('changes with the %s', (name, over) => {
    expect(termsDigest(terms(over))).not.toBe(termsDigest(terms()));
    if (name !== 'request') expect(changedTerms(terms(), terms(over))).toEqual([name]);
  });
});
