/**
 * The examples under examples/: the global policy loads as GATEHOUSE_POLICY would load it, and the
 * repository override passes `gatehouse validate --override` with no ignored key — it only
 * tightens, over the built-in policy and over the example global policy alike.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import { parseOverride } from '../../src/core/policy/tighten.ts';
import { loadGlobalPolicy } from '../../src/policy/global.ts';
import { cliSandbox, runCli } from '../support/cli.ts';

const example = (name: string) => fileURLToPath(new URL(`../../examples/${name}`, import.meta.url));
const POLICY = example('policy.yml');
const OVERRIDE = example('override.yml');

cliSandbox('gatehouse-examples-');

describe('examples/policy.yml', () => {
  it('is a valid global policy', async () => {
    const { code, out, err } = await runCli('validate', POLICY);
    expect(err).toBe('');
    expect(out).toBe(`${POLICY} is valid: 16 intake fields, 7 routing rules, 4 tiers`);
    expect(code).toBe(0);
  });

  it('loads as the global policy and names the people it is for', async () => {
    const { policy } = await loadGlobalPolicy(POLICY);
    expect(policy.timeZone).toBe('Europe/Berlin');
    expect(policy.gate.securityReviewers.github).toEqual(['alice']);
    expect(policy.gate.exceptions.approvers.github).toEqual(['ciso']);
    expect(policy.tooling.deciders.github).toEqual(['prodsec-lead']);
    // What it leaves out keeps the built-in default.
    expect(policy.routing.rules).toEqual(defaultPolicy.routing.rules);
    expect(policy.intake).toEqual(defaultPolicy.intake);
  });
});

describe('examples/override.yml', () => {
  it('passes validate --override over the built-in policy with every key applied', async () => {
    const { code, out, err } = await runCli('validate', '--override', OVERRIDE);
    expect(err).toBe('');
    expect(out).toBe(`${OVERRIDE} is valid over built-in default: every key applies`);
    expect(code).toBe(0);
  });

  it('passes validate --override over examples/policy.yml with every key applied', async () => {
    const { code, out, err } = await runCli('validate', '--override', OVERRIDE, '--policy', POLICY);
    expect(err).toBe('');
    expect(out).toBe(`${OVERRIDE} is valid over ${POLICY}: every key applies`);
    expect(code).toBe(0);
  });

  it('only tightens: every global rule still applies, and each value it sets is stricter', async () => {
    const { policy: global } = await loadGlobalPolicy(POLICY);
    const result = parseOverride(await readFile(OVERRIDE, 'utf8'), global);
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.ignored).toEqual([]);
    const p = result.policy;
    expect(p.routing.rules.slice(0, global.routing.rules.length)).toEqual(global.routing.rules);
    expect(p.routing.rules.map((r) => r.name)).toContain('payments-customer-data');
    expect(p.changes.rules.slice(0, global.changes.rules.length)).toEqual(global.changes.rules);
    expect(p.routing.defaultTier).toBeGreaterThan(global.routing.defaultTier);
    expect(p.changes.reviewFromTier).toBeLessThan(global.changes.reviewFromTier);
    expect(p.changes.reviewers).toEqual(global.changes.reviewers);
    expect(p.clocks.warnAt).toBeLessThan(global.clocks.warnAt);
    expect(p.planning.fromTier).toBeLessThan(global.planning.fromTier);
    expect(p.gate).toEqual(global.gate);
    expect(p.chat).toEqual(global.chat);
  });
});
