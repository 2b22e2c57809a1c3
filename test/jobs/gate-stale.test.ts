/** A change-request delivery older than the newest decision about another head is stale: it changes nothing. */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { evaluateChange } from '../../src/jobs/gate.ts';
import { defaultPolicy } from '../../src/core/policy/load.ts';
import type { ChangeRequestSnapshot } from '../../src/core/model.ts';
import type { GateDecisionRecord, GateStore } from '../../src/ports/gate-store.ts';
import type { ReleaseForge } from '../../src/ports/release.ts';
import type { Forge } from '../../src/ports/forge.ts';
import type { Store } from '../../src/ports/store.ts';
import { createMetrics } from '../../src/server/metrics.ts';

const change: ChangeRequestSnapshot = {
  ref: { repo: { platform: 'github', fullName: 'acme/shop', id: 1, defaultBranch: 'main' }, number: 12, kind: 'change' },
  title: 'Release 1.2',
  body: '',
  labels: ['release'],
  state: 'open',
  author: { login: 'dev', isBot: false },
  url: 'https://github.com/acme/shop/pull/12',
  headSha: 'a'.repeat(40),
  targetBranch: 'main',
  draft: false,
};

const decidedAt = new Date('2026-12-02T12:00:10Z');
const previous = {
  seq: 3,
  key: 'github:acme/shop!12',
  headSha: 'b'.repeat(40),
  verdict: 'block',
  decidedAt,
} as unknown as GateDecisionRecord;
const refuse = (): never => {
  throw new Error('a stale event must not read evidence or write anything');
};
const release = { currentLabels: async () => ['release'], collectEvidence: refuse, setGateCheck: refuse } as unknown as ReleaseForge;
const gateStore = { latestGateDecision: async () => previous, exceptionsFor: refuse } as unknown as GateStore;
const deps = {
  store: {} as Store,
  gateStore,
  render: () => '',
  metrics: createMetrics(),
  logger: pino({ level: 'silent' }),
  now: () => new Date('2026-12-02T12:01:00Z'),
};
const run = { forge: {} as Forge, release, policy: defaultPolicy, policySource: 'test', deliveryId: 'd1', installationId: 1 };

describe('evaluateChange', () => {
  it('skips a delivery that arrived before a decision about a newer head', async () => {
    const note = await evaluateChange(change, run, deps, { receivedAt: new Date('2026-12-02T12:00:00Z') });
    expect(note).toMatch(/^stale event: github:acme\/shop!12 was decided at bbbbbbbbbbbb/);
  });

  it('evaluates a delivery that arrived after that decision', async () => {
    await expect(evaluateChange(change, run, deps, { receivedAt: new Date('2026-12-02T12:00:20Z') })).rejects.toThrow(
      'a stale event must not read evidence',
    );
  });
});
