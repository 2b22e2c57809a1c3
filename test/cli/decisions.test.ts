import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { evaluateGate } from '../../src/core/gate/evaluate.ts';
import { defaultPolicy, parsePolicy } from '../../src/core/policy/load.ts';
import type { Policy } from '../../src/core/policy/schema.ts';
import type { DecisionExport, ReplayResult } from '../../src/cli/decisions.ts';
import type { GateDecisionRecord } from '../../src/ports/gate-store.ts';
import { canonicalJson, policyHash } from '../../src/core/canonical-json.ts';
import { recordHash } from '../../src/storage/decision-chain.ts';
import { verifyDecisionChain } from '../support/decision-chain.ts';
import { gateStoreFor } from '../../src/storage/gate-store.ts';
import { openStore } from '../../src/storage/open.ts';
import { evidence, exception, finding, gateInput, NOW } from '../builders/gate.ts';
import { fastQueue } from '../storage/backends.ts';
import { freshDataDir } from '../storage/fixture.ts';
import { cliSandbox, runCli } from '../support/cli.ts';

const dir = cliSandbox('gatehouse-decisions-');
/** The policy the decisions were made under: it names the approver of the builder's exception. */
const POLICY_YAML = 'gate:\n  exceptions:\n    approvers: { github: [ciso] }\n';
const decidedUnder: Policy = (() => {
  const r = parsePolicy(POLICY_YAML);
  if (!r.ok) throw new Error(`test policy: ${JSON.stringify(r.errors)}`);
  return r.policy;
})();
const at = (minutes: number): Date => new Date(NOW.getTime() + minutes * 60_000);

/** Runs SQL on the data dir (the CLI holds the data dir only while a command runs). */
async function onDatabase(dataDir: string, fn: (db: Awaited<ReturnType<typeof openStore>>['db']) => Promise<unknown>): Promise<void> {
  const opened = await openStore({ dataDir, queue: fastQueue });
  try {
    await fn(opened.db);
  } finally {
    await opened.close();
  }
}

/** Three decisions a real gate would have made (the inputs are the gate's own input). */
async function seed(dataDir: string): Promise<void> {
  const opened = await openStore({ dataDir, queue: fastQueue });
  const gates = gateStoreFor(opened, { dataDir });
  try {
    const cases = [
      { key: 'github:acme/shop!7', input: gateInput({ ev: evidence({ approvals: [] }) }), at: at(0) },
      { key: 'github:acme/shop!7', input: gateInput(), at: at(30) },
      { key: 'github:acme/shop!8', input: gateInput({ ev: evidence({ findings: [finding()] }), exceptions: [exception()] }), at: at(60) },
    ];
    for (const c of cases) {
      const v = evaluateGate(c.input, decidedUnder, c.at);
      await gates.recordGateDecision({
        key: c.key,
        headSha: c.input.evidence.headSha,
        releaseClass: v.releaseClass,
        verdict: v.verdict,
        reasons: v.reasons,
        inputs: c.input,
        policyHash: policyHash(decidedUnder),
        decidedAt: c.at,
        deliveryId: null,
      });
    }
    // records a replay cannot use: inputs without the change and the exceptions, malformed evidence
    const base = {
      key: 'github:acme/shop!9',
      headSha: 'c'.repeat(40),
      releaseClass: 'prod',
      verdict: 'pass',
      reasons: [],
      policyHash: policyHash(decidedUnder),
      deliveryId: null,
    };
    await gates.recordGateDecision({ ...base, inputs: { evidence: evidence(), labels: ['release'] }, decidedAt: at(90) });
    await gates.recordGateDecision({ ...base, inputs: { ...gateInput(), evidence: { ...evidence(), checks: 'none' } }, decidedAt: at(91) });
  } finally {
    await gates.close();
    await opened.close();
  }
}

describe('gatehouse decisions', () => {
  let dataDir: string;
  const saved = { dataDir: process.env['GATEHOUSE_DATA_DIR'], url: process.env['DATABASE_URL'] };

  beforeAll(async () => {
    dataDir = await freshDataDir();
    await seed(dataDir);
  });
  beforeEach(() => {
    process.env['GATEHOUSE_DATA_DIR'] = dataDir;
    delete process.env['DATABASE_URL'];
  });
  afterAll(() => {
    for (const [k, v] of [
      ['GATEHOUSE_DATA_DIR', saved.dataDir],
      ['DATABASE_URL', saved.url],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('exports JSON whose hash chain an auditor can verify from the file alone', async () => {
    const r = await runCli('decisions', 'export');
    expect(r.code).toBe(0);
    const e = JSON.parse(r.out) as DecisionExport;
    expect(e.chain).toEqual({ ok: true, count: 5, head: e.records[4]!.hash });
    expect(e.records.map((x) => [x.seq, x.key, x.verdict])).toEqual([
      [1, 'github:acme/shop!7', 'block'],
      [2, 'github:acme/shop!7', 'pass'],
      [3, 'github:acme/shop!8', 'pass'],
      [4, 'github:acme/shop!9', 'pass'],
      [5, 'github:acme/shop!9', 'pass'],
    ]);
    expect(e.records[0]!.prevHash).toBe('0'.repeat(64));
    // recomputed with nothing but node:crypto and the documented canonical form
    const { createHash } = await import('node:crypto');
    let prev = '0'.repeat(64);
    for (const x of e.records) {
      const { hash, deliveryId: _d, keyed, ...content } = x;
      expect(keyed).toBe(false); // no GATEHOUSE_CHAIN_KEY: plain sha256
      expect(x.prevHash).toBe(prev);
      expect(createHash('sha256').update(canonicalJson(content)).digest('hex')).toBe(hash);
      prev = hash;
    }
    expect(verifyDecisionChain(e.records.map((x) => ({ ...x, decidedAt: new Date(x.decidedAt) })))).toMatchObject({ ok: true, count: 5 });
  });

  it('exports a slice (--since, --key) to a file, still verifying the whole chain', async () => {
    const out = join(dir(), 'since.json');
    const r = await runCli('decisions', 'export', '--since', at(30).toISOString(), '--out', out);
    expect(r).toMatchObject({ code: 0, out: `wrote 4 records to ${out}` });
    const e = JSON.parse(await readFile(out, 'utf8')) as DecisionExport;
    expect(e.chain).toMatchObject({ ok: true, count: 5 });
    expect(e.filter).toEqual({ since: at(30).toISOString(), key: null });
    expect(e.records.map((x) => x.seq)).toEqual([2, 3, 4, 5]);
    const byKey = JSON.parse((await runCli('decisions', 'export', '--key', 'github:acme/shop!8')).out) as DecisionExport;
    expect(byKey.records.map((x) => x.seq)).toEqual([3]);
  });

  it('exports Markdown for auditors: the verification line and a table of every record', async () => {
    const r = await runCli('decisions', 'export', '--format', 'markdown');
    expect(r.code).toBe(0);
    const json = JSON.parse((await runCli('decisions', 'export')).out) as DecisionExport;
    expect(r.out).toContain(`Hash chain (verified over every stored record): chain intact: 5 records, head ${json.chain.head}`);
    const rows = r.out.split('\n').filter((l) => /^\| \d+ \|/.test(l));
    expect(rows).toHaveLength(5);
    expect(r.out).toMatch(/^\| seq \| decided at \(UTC\) \| change \| head commit \| release class \| verdict \| reasons \|/m);
    expect(rows[0]).toContain('| github:acme/shop!7 |');
    expect(rows[0]).toContain('**block**');
    expect(rows[0]).toContain('[block] approvals-missing:');
    expect(rows[2]).toContain(`\`${json.records[2]!.hash}\``);
  });

  it('refuses a bad --since or --format with a clear error', async () => {
    expect(await runCli('decisions', 'export', '--since', 'yesterday')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^--since: "yesterday" is not an ISO-8601/),
    });
    expect(await runCli('decisions', 'export', '--format', 'csv')).toMatchObject({
      code: 1,
      err: '--format: "csv" is not json or markdown',
    });
  });

  it('replays a stored decision under a changed policy: old and new verdicts and reasons', async () => {
    const policy = join(dir(), 'no-approvals.yml');
    await writeFile(policy, 'gate:\n  classes:\n    prod:\n      approvals: 0\n');
    const r = await runCli('decisions', 'explain', '1', '--policy', policy);
    expect(r.code).toBe(0);
    expect(r.out).toContain('decision 1: github:acme/shop!7 at');
    expect(r.out).toMatch(/policy: .*no-approvals\.yml \(changed: stored [0-9a-f]{64}, now [0-9a-f]{64}\)/);
    expect(r.out).toMatch(/old verdict: block \(prod\)\n( {2}- .*\n)* {2}- \[block\] approvals-missing: 0 of 1 required approval/);
    expect(r.out).toMatch(/new verdict: pass \(prod\) {2}<- changed/);
    expect(r.out.split('\n').filter((l) => /^(added|dropped): /.test(l))).toEqual([
      'dropped: [block] approvals-missing: 0 of 1 required approval(s) for prod',
    ]);
    // `gatehouse explain --decision` is the same replay.
    const viaExplain = await runCli('explain', '--decision', '1', '--policy', policy);
    expect(viaExplain).toMatchObject({ code: 0, out: r.out });
    expect(await runCli('explain')).toMatchObject({ code: 1, err: expect.stringContaining('give --event <payload.json>') });

    const original = join(dir(), 'policy.yml');
    await writeFile(original, POLICY_YAML);
    const same = JSON.parse((await runCli('decisions', 'explain', '3', '--json', '--policy', original)).out) as ReplayResult;
    // the policy decided under again: the same verdict, the exception still waiving the finding at decision time
    expect(same).toMatchObject({
      policy: { changed: false },
      old: { verdict: 'pass' },
      new: { verdict: 'pass' },
      verdictChanged: false,
      reasonsAdded: [],
      reasonsDropped: [],
    });
    expect(same.new.reasons.map((x) => (x as { rule: string }).rule)).toContain('exception-applied');

    expect(await runCli('decisions', 'explain', '9')).toMatchObject({ code: 1, err: 'decisions explain: there is no decision record 9' });
    expect(await runCli('decisions', 'explain', '4')).toMatchObject({
      code: 1,
      err: 'decisions explain: record 4 cannot be replayed: its inputs lack change, exceptions (they hold evidence, labels)',
    });
    expect(await runCli('decisions', 'explain', '5')).toMatchObject({
      code: 1,
      err: expect.stringMatching(/^decisions explain: record 5 does not hold what a replay needs .*evidence\.checks/),
    });
    expect(await runCli('decisions', 'explain', 'x')).toMatchObject({ code: 1, err: expect.stringContaining('is not a record') });
  });

  it('verify: exit 0 when intact; exit 1 naming the first broken seq after a record is altered or deleted', async () => {
    const ok = await runCli('decisions', 'verify');
    expect(ok.code).toBe(0);
    expect(ok.out.split('\n')).toEqual([
      expect.stringMatching(/^chain intact: 5 records, head [0-9a-f]{64}$/),
      'register chain intact: 0 records, head (empty)',
      'unkeyed chains: anyone who can write the database can recompute them; keep the heads above and check them with --head',
    ]);

    await onDatabase(dataDir, (db) => sql`update gate_decisions set verdict = 'pass' where seq = 1`.execute(db));
    const altered = await runCli('decisions', 'verify');
    expect(altered.code).toBe(1);
    expect(altered.err).toMatch(/^chain broken at seq 1: its content does not match its hash/);
    // the export says so too, and fails
    const exp = await runCli('decisions', 'export');
    expect(exp.code).toBe(1);
    expect((JSON.parse(exp.out) as DecisionExport).chain).toMatchObject({ ok: false, brokenAt: 1 });

    await onDatabase(dataDir, (db) => sql`update gate_decisions set verdict = 'block' where seq = 1`.execute(db));
    expect((await runCli('decisions', 'verify')).code).toBe(0);
    await onDatabase(dataDir, (db) => sql`delete from gate_decisions where seq = 2`.execute(db));
    expect(await runCli('decisions', 'verify')).toMatchObject({ code: 1, err: 'chain broken at seq 2: record 2 is missing (4 records)' });
  });
});

describe('gatehouse decisions verify --head', () => {
  const KEY = 'chain-key-for-tests-0123456789abcdef';
  let dataDir: string;
  const saved = { dataDir: process.env['GATEHOUSE_DATA_DIR'], url: process.env['DATABASE_URL'], key: process.env['GATEHOUSE_CHAIN_KEY'] };

  beforeEach(async () => {
    dataDir = await freshDataDir();
    process.env['GATEHOUSE_DATA_DIR'] = dataDir;
    delete process.env['DATABASE_URL'];
    delete process.env['GATEHOUSE_CHAIN_KEY'];
  });
  afterAll(() => {
    for (const [k, v] of [
      ['GATEHOUSE_DATA_DIR', saved.dataDir],
      ['DATABASE_URL', saved.url],
      ['GATEHOUSE_CHAIN_KEY', saved.key],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  /** n block verdicts as the bot records them (keyed with `key`), and an approved exception in the register. */
  async function record(n: number, key?: string): Promise<void> {
    const opened = await openStore({ dataDir, queue: fastQueue });
    const gates = gateStoreFor(opened, { dataDir, ...(key ? { chainKey: key } : {}) });
    try {
      const from = (await gates.gateDecisions()).length;
      for (let i = from + 1; i <= from + n; i++) {
        await gates.recordGateDecision({
          key: `github:acme/shop!${i}`,
          headSha: 'a'.repeat(40),
          releaseClass: 'prod',
          verdict: 'block',
          reasons: [{ rule: 'finding-blocking' }],
          inputs: {},
          policyHash: policyHash(defaultPolicy),
          decidedAt: at(i),
          deliveryId: null,
        });
      }
      if (from === 0)
        await gates.saveException({
          ...exception(),
          id: 'github:acme/shop#40',
          status: 'approved',
          approvedBy: 'security-lead',
          approvedAt: at(0),
        });
    } finally {
      await gates.close();
      await opened.close();
    }
  }

  /** What an attacker with database access does: record `seq` turned into a pass, every later hash recomputed (sha256). */
  async function rewriteAndRecompute(seq: number): Promise<void> {
    await onDatabase(dataDir, async (db) => {
      const gates = gateStoreFor({ kind: 'postgres', db }, { dataDir });
      const all: GateDecisionRecord[] = await gates.gateDecisions();
      let prev = all[seq - 2]?.hash ?? '0'.repeat(64);
      for (const r of all.slice(seq - 1)) {
        const forged = { ...r, verdict: r.seq === seq ? 'pass' : r.verdict, prevHash: prev };
        const hash = recordHash(forged);
        await sql`update gate_decisions set verdict = ${forged.verdict}, prev_hash = ${prev}, hash = ${hash}, keyed = false where seq = ${r.seq}`.execute(
          db,
        );
        prev = hash;
      }
    });
  }

  const heads = (out: string): { decisions: string; register: string } => ({
    decisions: /^chain intact: \d+ records, head ([0-9a-f]{64})$/m.exec(out)![1]!,
    register: /^register chain intact: \d+ records, head ([0-9a-f]{64})$/m.exec(out)![1]!,
  });

  it('passes while the kept heads are in their chains, intact up to them, also after new records', async () => {
    await record(3);
    const first = await runCli('decisions', 'verify');
    expect(first.code).toBe(0);
    const kept = heads(first.out);
    await record(2);
    const later = await runCli('decisions', 'verify', '--head', kept.decisions, '--head', kept.register);
    expect(later).toMatchObject({ code: 0, err: '' });
    expect(later.out).toContain(`head ${kept.decisions}: decision record 3, intact up to it`);
    expect(later.out).toContain(`head ${kept.register}: register record 1, intact up to it`);
  });

  it('exit 1 when a record before the kept head was rewritten and the chain recomputed (plain verify cannot see it)', async () => {
    await record(4);
    const kept = heads((await runCli('decisions', 'verify')).out);
    await rewriteAndRecompute(2);
    expect((await runCli('decisions', 'verify')).code).toBe(0); // the recomputed chain is consistent
    const checked = await runCli('decisions', 'verify', '--head', kept.decisions);
    expect(checked.code).toBe(1);
    expect(checked.err).toBe(
      `head ${kept.decisions} is not in the stored chains (or not intact up to it): a record up to that head was rewritten or removed since it was kept`,
    );
  });

  it('exit 1 when the newest records, the kept head among them, were deleted', async () => {
    await record(4);
    const kept = heads((await runCli('decisions', 'verify')).out);
    await onDatabase(dataDir, (db) => sql`delete from gate_decisions where seq >= 3`.execute(db));
    expect((await runCli('decisions', 'verify')).code).toBe(0);
    expect((await runCli('decisions', 'verify', '--head', kept.decisions)).code).toBe(1);
  });

  it('exit 1 on a --head that is not a hash', async () => {
    expect(await runCli('decisions', 'verify', '--head', 'latest')).toMatchObject({
      code: 1,
      err: '--head: "latest" is not a record hash (64 lower-case hex digits, as verify prints it)',
    });
  });

  it('with GATEHOUSE_CHAIN_KEY: a recomputed chain fails even without a kept head; without the key a keyed chain cannot be verified', async () => {
    await record(4, KEY);
    process.env['GATEHOUSE_CHAIN_KEY'] = KEY;
    expect((await runCli('decisions', 'verify')).code).toBe(0);
    await rewriteAndRecompute(2);
    const v = await runCli('decisions', 'verify');
    expect(v.code).toBe(1);
    expect(v.err).toMatch(/^chain broken at seq 2: it is not keyed although GATEHOUSE_CHAIN_KEY is set/);
    delete process.env['GATEHOUSE_CHAIN_KEY'];
    const noKey = await runCli('decisions', 'verify');
    expect(noKey.code).toBe(1);
    expect(noKey.err).toMatch(/^chain broken at seq 1: it is keyed \(HMAC\): set GATEHOUSE_CHAIN_KEY to verify it/);
  });

  it('with GATEHOUSE_CHAIN_KEY set after records were written: --unkeyed-until accepts those records only', async () => {
    await record(2);
    await record(1, KEY);
    process.env['GATEHOUSE_CHAIN_KEY'] = KEY;
    expect((await runCli('decisions', 'verify')).code).toBe(1);
    const ok = await runCli('decisions', 'verify', '--unkeyed-until', '2', '--register-unkeyed-until', '1');
    expect(ok).toMatchObject({ code: 0, err: '' });
    expect(ok.out).toMatch(/^chain intact: 3 records/);
  });
});
