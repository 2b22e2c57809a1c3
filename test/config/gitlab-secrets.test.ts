/** GITLAB_WEBHOOK_SECRET: a single secret, or one per project or group; matching and coverage. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.ts';
import { parseGitLabSecrets } from '../../src/config/gitlab-secrets.ts';
import { covers, matchingScopes, tokenMatches } from '../../src/adapters/gitlab/webhook-secrets.ts';

const base = { GITLAB_URL: 'https://gitlab.example.com', GITLAB_TOKEN: 'glpat-x' };

describe('GITLAB_WEBHOOK_SECRET', () => {
  it.each([
    ['plain secret', 'just-one-secret', 'just-one-secret'],
    ['a secret with = signs (base64) stays a single secret', 'c2VjcmV0=', 'c2VjcmV0='],
  ])('%s', (_name, value, expected) => {
    expect(loadConfig({ ...base, GITLAB_WEBHOOK_SECRET: value }).gitlab?.webhookSecret).toBe(expected);
  });

  it('reads the map form: one secret per project or group path (lower-cased paths)', () => {
    expect(
      loadConfig({ ...base, GITLAB_WEBHOOK_SECRET: 'acme/shop=secret-one-1; Acme/Platform=secret-two-2' }).gitlab?.webhookSecret,
    ).toEqual([
      { scope: 'acme/shop', secret: 'secret-one-1' },
      { scope: 'acme/platform', secret: 'secret-two-2' },
    ]);
    expect(parseGitLabSecrets('acme=group-secret;')).toEqual({ secrets: [{ scope: 'acme', secret: 'group-secret' }] });
  });

  it.each([
    ['an entry without a path', 'acme/shop=secret-one-1;secret-two-2', 'entry 2 is not <project or group path>=<secret>'],
    ['a path twice', 'acme/shop=secret-one-1;acme/shop=secret-two-2', 'acme/shop is listed twice'],
    ['a short secret', 'acme/shop=short;', 'the secret of acme/shop is shorter than 8 characters'],
  ])('refuses %s, without printing the secrets', (_name, value, problem) => {
    let err: unknown;
    try {
      loadConfig({ ...base, GITLAB_WEBHOOK_SECRET: value });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toContain(`GITLAB_WEBHOOK_SECRET: ${problem}`);
    expect((err as ConfigError).message).not.toMatch(/secret-one-1|secret-two-2|short\b/);
  });
});

describe('matching a token', () => {
  const secrets = [
    { scope: 'acme/shop', secret: 'shop-secret' },
    { scope: 'acme/platform', secret: 'platform-secret' },
    { scope: 'acme/platform', secret: 'shared-secret' },
    { scope: 'other', secret: 'shared-secret' },
  ];

  it.each([
    ['shop-secret', ['acme/shop']],
    ['shared-secret', ['acme/platform', 'other']],
    ['shop-secre', []],
    ['shop-secret ', []],
    [undefined, []],
  ])('%s → %j', (token, scopes) => {
    expect(matchingScopes(token, secrets)).toEqual(scopes);
  });

  it('compares in constant time whatever the lengths (hashes first)', () => {
    expect(tokenMatches('a', 'a-much-longer-secret')).toBe(false);
    expect(tokenMatches('a-much-longer-secret', 'a-much-longer-secret')).toBe(true);
  });

  it.each([
    [[null], 'anything/at/all', true],
    [['acme/shop'], 'acme/shop', true],
    [['acme/shop'], 'ACME/Shop', true],
    [['acme/shop'], 'acme/shop-evil', false],
    [['acme/shop'], 'acme/platform', false],
    [['acme'], 'acme/platform/api', true],
    [['acme'], 'acmecorp/api', false],
    [['acme/shop'], null, false],
  ] as const)('scopes %j cover %s: %s', (scopes, path, expected) => {
    expect(covers(scopes, path)).toBe(expected);
  });
});
