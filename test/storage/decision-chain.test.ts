import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyStoredChain } from '../../src/cli/decisions.ts';
import { GENESIS_HASH, type GateDecisionRecord } from '../../src/ports/gate-store.ts';
import { canonicalJson, policyHash, recordHash, verifyDecisionChain } from '../../src/storage/decision-chain.ts';
import { gateStoreFor, type KyselyGateStore } from '../../src/storage/gate-store.ts';
import { openStore, type OpenedStore } from '../../src/storage/open.ts';
import { fastQueue } from './backends.ts';
import { freshDataDir } from './fixture.ts';

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
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined }, e: 'x' })).toBe('{"a":{"d":[3,{"y":2,"z":1}]},"b":1,"e":"x"}');
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

describe('verifyDecisionChain', () => {
  it('accepts an intact chain and an empty one', () => {
    const c = chain(5);
    expect(verifyDecisionChain(c)).toEqual({ ok: true, count: 5, head: c[4]!.hash });
    expect(verifyDecisionChain([])).toEqual({ ok: true, count: 0, head: GENESIS_HASH });
  });

  it.each([
    ['a changed verdict', (c: GateDecisionRecord[]) => (c[2] = { ...c[2]!, verdict: 'warn' }), 3, /content does not match its hash/],
    ['changed inputs', (c: GateDecisionRecord[]) => (c[1] = { ...c[1]!, inputs: { evidence: null } }), 2, /content does not match/],
    ['a recomputed hash (the next record still points at the old one)', (c: GateDecisionRecord[]) => {
      const r = { ...c[2]!, verdict: 'warn' };
      c[2] = { ...r, hash: recordHash(r) };
    }, 4, /prevHash .* is not the previous record's hash/],
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
    ['inputs changed by SQL', `update gate_decisions set inputs = jsonb_set(inputs, '{exceptions}', '["github:acme/api#9"]') where seq = 2`, 2],
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
    expect(await verifyStoredChain(gates, 2)).toEqual({ ok: false, count: 4, head: all[4]!.hash, brokenAt: 3, reason: 'record 3 is missing' });
    expect(await storeThenTamper(`update gate_decisions set head_sha = 'b' where seq = 5`)).toMatchObject({ ok: false, brokenAt: 5 });
    expect(await verifyStoredChain(gates, 2)).toMatchObject({ ok: false, count: 5, brokenAt: 5 });
  });

  it('does not count a changed delivery id (not part of the record hash)', async () => {
    expect(await storeThenTamper(`update gate_decisions set delivery_id = 'x' where seq = 2`)).toMatchObject({ ok: true, count: 5 });
  });
});
