/** The variables of the house: trusted proxies, the metrics listener, the chain key. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/env.ts';

const problems = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
};

describe('loadConfig: page proxies, metrics listener, chain key', () => {
  it.each([
    ['', []],
    ['127.0.0.1', ['127.0.0.1']],
    [' 127.0.0.1 , 10.0.0.0/8,::1,fd00::/8 ', ['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']],
  ])('GATEHOUSE_TRUSTED_PROXIES=%j reads %j', (value, expected) => {
    expect(loadConfig({ GATEHOUSE_TRUSTED_PROXIES: value }).trustedProxies).toEqual(expected);
  });

  it.each(['proxy.internal', '10.0.0.0/33', '::1/129', '10.0.0.1/8/2', '300.1.1.1'])('refuses GATEHOUSE_TRUSTED_PROXIES=%s', (value) => {
    expect(problems({ GATEHOUSE_TRUSTED_PROXIES: value })).toEqual([
      expect.stringMatching(/^GATEHOUSE_TRUSTED_PROXIES: ".*" is not an IP address or CIDR range/),
    ]);
  });

  it('puts /metrics on its own listener only when METRICS_PORT is set (host default 127.0.0.1)', () => {
    expect(loadConfig({}).metrics).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9464' }).metrics).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' }).metrics).toEqual({ port: 9464, host: '0.0.0.0' });
    expect(problems({ METRICS_HOST: '0.0.0.0' })).toEqual([expect.stringMatching(/^METRICS_HOST: set METRICS_PORT too/)]);
    expect(problems({ METRICS_PORT: '3000' })).toEqual(['METRICS_PORT: must differ from PORT']);
    expect(problems({ METRICS_PORT: '70000' })).toEqual(['METRICS_PORT: must be a port number']);
  });

  it('takes a chain key of at least 32 characters', () => {
    expect(loadConfig({}).chainKey).toBeUndefined();
    expect(loadConfig({ GATEHOUSE_CHAIN_KEY: 'k'.repeat(32) }).chainKey).toBe('k'.repeat(32));
    expect(problems({ GATEHOUSE_CHAIN_KEY: 'short' })).toEqual([
      expect.stringMatching(/^GATEHOUSE_CHAIN_KEY: must be at least 32 characters/),
    ]);
  });
});
