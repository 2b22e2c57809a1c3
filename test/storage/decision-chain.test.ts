import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStoredChain } from '../../src/cli/decisions.ts';
import { GENESIS_HASH, type GateDecisionRecord } from '../../src/ports/gate-store.ts';
import { canonicalJson, policyHash } from '../../src/core/canonical-json.ts';
import { DecisionChainVerifier, recordHash } from '../../src/storage/decision-chain.ts';
import { gateStoreFor, type KyselyGateStore } from '../../src/storage/gate-store.ts';
import { openStore, type OpenedStore } from '../../src/storage/open.ts';
import { fastQueue } from './backends.ts';
import { freshDataDir } from './fixture.ts';
import { verifyDecisionChain } from '../support/decision-chain.ts';

const t0 = Date.parse('2026-03-02T10:00:00.000Z');

/** A chain of n records built in memory, as the store builds it. */
function chain(n: number): GateDecisionRecord[] {
  const out: GateDecisionRecord[] = [];
  for (let i = 1; i <= n; i++) {
    const content = {
      seq: i,
      prevHash: out.at(-1)?.hash ?? GENESIS_HASH,
      key: `github:acme/api!${i}`,
      headSha: String(i).repeat(40).slice(0, 40),
      releaseClass: 'prod',
      verdict: i % 2 ? 'pass' : 'block',
      reasons: [{ rule: 'r', n: i }],
      inputs: { evidence: { checks: [{ name: 'sast', state: 'success' }] }, exceptions: [] },
      policyHash: 'f'.repeat(64),
      decidedAt: new Date(t0 + i * 1000),
    };
    out.push({ ...content, deliveryId: null, hash: recordHash(content) });
  }
  return out;
}

describe('canonicalJson and hashes', () => {
  it('sorts keys at every level, drops undefined members and keeps array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, e: 'x' })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"e":"x"}',
    );
    expect(canonicalJson([null, true, 1.5, 'é'])).toBe('[null,true,1.5,"é"]');
    expect(canonicalJson(new Date(t0))).toBe('"2026-03-02T10:00:00.000Z"');
  });

  it('gives a policy the same hash whatever its key order, and another hash when a value changes', () => {
    const a = policyHash({ gate: { mode: 'enforce', classes: { prod: { approvals: 1 }, 'high-risk': { approvals: 2 } } } });
    const b = policyHash({ gate: { classes: { 'high-risk': { approvals: 2 }, prod: { approvals: 1 } }, mode: 'enforce' } });
    const c = policyHash({ gate: { mode: 'enforce', classes: { prod: { approvals: 1 }, 'high-risk': { approvals: 1 } } } });
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('covers every hashed field', () => {
    const [r] = chain(1);
    const changed: Partial<GateDecisionRecord>[] = [
      { seq: 2 },
      { prevHash: '1'.repeat(64) },
      { key: 'github:acme/api!99' },
      { headSha: 'e'.repeat(40) },
      { releaseClass: 'high-risk' },
      { verdict: 'block' },
      { reasons: [] },
      { inputs: {} },
      { policyHash: '0'.repeat(64) },
      { decidedAt: new Date(t0 + 1) },
    ];
    for (const c of changed) expect(recordHash({ ...r!, ...c }), JSON.stringify(c)).not.toBe(r!.hash);
    // the delivery id is not part of it
    expect(recordHash({ ...r!, deliveryId: 'other' } as GateDecisionRecord)).toBe(r!.hash);
  });
});

describe('DecisionChainVerifier over a whole chain', () => {
  it('accepts an intact chain and an empty one', () => {
    const c = chain(5);
    expect(verifyDecisionChain(c)).toEqual({ ok: true, count: 5, head: c[4]!.hash });
    expect(verifyDecisionChain([])).toEqual({ ok: true, count: 0, head: GENESIS_HASH });
  });

  it.each([
    ['a changed verdict', (c: GateDecisionRecord[]) => (c[2] = { ...c[2]!, verdict: 'warn' }), 3, /content does not match its hash/],
    ['changed inputs', (c: GateDecisionRecord[]) => (c[1] = { ...c[1]!, inputs: { evidence: null } }), 2, /content does not match/],
    [
      'a recomputed hash (the next record still points at the old one)',
      (c: GateDecisionRecord[]) => {
        const r = { ...c[2]!, verdict: 'warn' };
        c[2] = { ...r, hash: recordHash(r) };
      },
      4,
      /prevHash .* is not the previous record's hash/,
    ],
    ['a removed record', (c: GateDecisionRecord[]) => c.splice(3, 1), 4, /record 4 is missing/],
    ['two removed records', (c: GateDecisionRecord[]) => c.splice(1, 2), 2, /records 2-3 are missing/],
    ['a removed first record', (c: GateDecisionRecord[]) => c.shift(), 1, /record 1 is missing/],
    ['swapped records', (c: GateDecisionRecord[]) => c.splice(1, 2, c[2]!, c[1]!), 2, /record 2 is missing/],
    ['a wrong genesis', (c: GateDecisionRecord[]) => (c[0] = { ...c[0]!, prevHash: '1'.repeat(64) }), 1, /prevHash/],
  ])('finds %s at its seq', (_, tamper, seq, reason) => {
    const c = chain(5);
    tamper(c);
    const v = verifyDecisionChain(c);
    expect(v).toMatchObject({ ok: false, brokenAt: seq });
    expect(v.ok ? '' : v.reason).toMatch(reason);
  });
});

describe('tampering with stored records (embedded database)', () => {
  let opened: OpenedStore;
  let gates: KyselyGateStore;

  beforeAll(async () => {
    const dataDir = await freshDataDir();
    opened = await openStore({ dataDir, queue: fastQueue });
    gates = gateStoreFor(opened, { dataDir });
  });
  afterAll(async () => {
    await gates?.close();
    await opened?.close();
  });

  /** Five stored records; runs `tamper` on the table and answers the verification of what is read back. */
  async function storeThenTamper(tamper: string) {
    await sql`delete from gate_decisions`.execute(opened.db);
    for (let i = 0; i < 5; i++) {
      await gates.recordGateDecision({
        key: `github:acme/api!${i}`,
        headSha: 'a'.repeat(40),
        releaseClass: 'prod',
        verdict: 'block',
        reasons: [{ rule: 'critical-finding', finding: `code-scanning:${i}` }],
        inputs: { evidence: { findings: [{ id: `code-scanning:${i}`, severity: 'critical' }] }, exceptions: [] },
        policyHash: 'f'.repeat(64),
        decidedAt: new Date(t0 + i * 60_000),
        deliveryId: `d-${i}`,
      });
    }
    expect(verifyDecisionChain(await gates.gateDecisions())).toMatchObject({ ok: true, count: 5 });
    await sql.raw(tamper).execute(opened.db);
    return verifyDecisionChain(await gates.gateDecisions());
  }

  it.each([
    ['a verdict changed by SQL', `update gate_decisions set verdict = 'pass' where seq = 3`, 3],
    [
      'inputs changed by SQL',
      `update gate_decisions set inputs = jsonb_set(inputs, '{exceptions}', '["github:acme/api#9"]') where seq = 2`,
      2,
    ],
    ['reasons emptied by SQL', `update gate_decisions set reasons = '[]' where seq = 5`, 5],
    ['a time moved by SQL', `update gate_decisions set decided_at = decided_at - interval '1 hour' where seq = 1`, 1],
    ['a deleted record', `delete from gate_decisions where seq = 4`, 4],
  ])('detects %s at its seq', async (_, tamper, seq) => {
    expect(await storeThenTamper(tamper)).toMatchObject({ ok: false, brokenAt: seq });
  });

  it('verifies a stored chain page by page, across page boundaries', async () => {
    await sql`delete from gate_decisions`.execute(opened.db);
    expect(await verifyStoredChain(gates, 2)).toEqual({ ok: true, count: 0, head: null });
    await storeThenTamper('select 1');
    const all = await gates.gateDecisions();
    for (const size of [1, 2, 5, 200]) expect(await verifyStoredChain(gates, size)).toEqual({ ok: true, count: 5, head: all[4]!.hash });
    // a record missing at a page boundary, and one altered inside the last page
    await sql`delete from gate_decisions where seq = 3`.execute(opened.db);
    expect(await verifyStoredChain(gates, 2)).toEqual({
      ok: false,
      count: 4,
      head: all[4]!.hash,
      brokenAt: 3,
      reason: 'record 3 is missing',
    });
    expect(await storeThenTamper(`update gate_decisions set head_sha = 'b' where seq = 5`)).toMatchObject({ ok: false, brokenAt: 5 });
    expect(await verifyStoredChain(gates, 2)).toMatchObject({ ok: false, count: 5, brokenAt: 5 });
  });

  it('does not count a changed delivery id (not part of the record hash)', async () => {
    expect(await storeThenTamper(`update gate_decisions set delivery_id = 'x' where seq = 2`)).toMatchObject({ ok: true, count: 5 });
  });
});

describe('a rewrite by someone with database access who recomputes the chain', () => {
  const KEY = 'k'.repeat(16) + '-chain-key-for-tests-0123456789';
  let opened: OpenedStore;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await freshDataDir();
    opened = await openStore({ dataDir, queue: fastQueue });
  });
  afterAll(async () => {
    await opened?.close();
  });

  /** Five records written by the bot (keyed with `key` when given). */
  async function written(key?: string): Promise<GateDecisionRecord[]> {
    await sql`delete from gate_decisions`.execute(opened.db);
    const gates = gateStoreFor(opened, { dataDir, ...(key ? { chainKey: key } : {}) });
    for (let i = 1; i <= 5; i++) {
      await gates.recordGateDecision({
        key: `github:acme/api!${i}`,
        headSha: 'a'.repeat(40),
        releaseClass: 'prod',
        verdict: 'block',
        reasons: [{ rule: 'critical-finding' }],
        inputs: { exceptions: [] },
        policyHash: 'f'.repeat(64),
        decidedAt: new Date(t0 + i * 60_000),
        deliveryId: null,
      });
    }
    const all = await gates.gateDecisions();
    await gates.close();
    return all;
  }

  /** The attacker: record 3 becomes a pass, and every hash from it on is recomputed (with `key`, or plain sha256) and written back. */
  async function rewrite(opts: { key?: string; keyed: boolean }): Promise<GateDecisionRecord[]> {
    const gates = gateStoreFor(opened, { dataDir });
    const all = await gates.gateDecisions();
    await gates.close();
    let prev = all[1]!.hash;
    for (const r of all.slice(2)) {
      const forged = { ...r, verdict: r.seq === 3 ? 'pass' : r.verdict, prevHash: prev };
      const hash = recordHash(forged, opts.key);
      await sql`update gate_decisions set verdict = ${forged.verdict}, prev_hash = ${prev}, hash = ${hash}, keyed = ${opts.keyed} where seq = ${r.seq}`.execute(
        opened.db,
      );
      prev = hash;
    }
    const after = gateStoreFor(opened, { dataDir });
    const records = await after.gateDecisions();
    await after.close();
    return records;
  }

  it('unkeyed: the chain verifies again, but a head kept before the rewrite is no longer in it', async () => {
    const before = await written();
    const kept = before.at(-1)!.hash;
    const after = await rewrite({ keyed: false });
    expect(after[2]!.verdict).toBe('pass');
    expect(verifyDecisionChain(after)).toMatchObject({ ok: true, count: 5 }); // what the hash chain alone cannot see
    const v = new DecisionChainVerifier();
    for (const r of after) v.add(r);
    expect(v.intactSeq(kept)).toBeNull();
    // A head kept before the rewritten record still verifies: nothing up to it changed.
    expect(v.intactSeq(before[1]!.hash)).toBe(2);
  });

  it('keyed: a chain recomputed without the key does not verify with it, whether marked unkeyed or keyed', async () => {
    const before = await written(KEY);
    expect(before.every((r) => r.keyed)).toBe(true);
    expect(before[0]!.hash).not.toBe(recordHash(before[0]!)); // HMAC, not sha256
    expect(verifyDecisionChain(before, { key: KEY })).toEqual({ ok: true, count: 5, head: before[4]!.hash });
    // Without the key the records cannot be checked: that is a failure, not a pass.
    expect(verifyDecisionChain(before)).toMatchObject({
      ok: false,
      brokenAt: 1,
      reason: expect.stringContaining('set GATEHOUSE_CHAIN_KEY'),
    });
    // With the wrong key.
    expect(verifyDecisionChain(before, { key: `${KEY}x` })).toMatchObject({
      ok: false,
      brokenAt: 1,
      reason: expect.stringMatching(/content does not match/),
    });

    const downgraded = await rewrite({ keyed: false });
    expect(verifyDecisionChain(downgraded, { key: KEY })).toMatchObject({
      ok: false,
      brokenAt: 3,
      reason: expect.stringMatching(/not keyed although GATEHOUSE_CHAIN_KEY is set/),
    });
    await written(KEY);
    const guessed = await rewrite({ key: 'a guessed key that is not the real one', keyed: true });
    expect(verifyDecisionChain(guessed, { key: KEY })).toMatchObject({
      ok: false,
      brokenAt: 3,
      reason: expect.stringMatching(/content does not match its hash/),
    });
  });

  it('keyed: unkeyed records written before the key was set are accepted only up to --unkeyed-until', async () => {
    await written();
    const gates = gateStoreFor(opened, { dataDir, chainKey: KEY });
    await gates.recordGateDecision({
      key: 'github:acme/api!6',
      headSha: 'a'.repeat(40),
      releaseClass: 'prod',
      verdict: 'pass',
      reasons: [],
      inputs: {},
      policyHash: 'f'.repeat(64),
      decidedAt: new Date(t0 + 6 * 60_000),
      deliveryId: null,
    });
    const all = await gates.gateDecisions();
    await gates.close();
    expect(all.map((r) => r.keyed)).toEqual([false, false, false, false, false, true]);
    expect(verifyDecisionChain(all, { key: KEY })).toMatchObject({ ok: false, brokenAt: 1 });
    expect(verifyDecisionChain(all, { key: KEY, unkeyedUntil: 5 })).toEqual({ ok: true, count: 6, head: all[5]!.hash });
    expect(verifyDecisionChain(all, { key: KEY, unkeyedUntil: 4 })).toMatchObject({ ok: false, brokenAt: 5 });
  });
});
