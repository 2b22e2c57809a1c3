import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GENESIS_HASH, type EmergencyRecordInput, type GateDecisionInput, type GateException } from '../../src/ports/gate-store.ts';
import { sql } from 'kysely';
import { verifyStoredRegister } from '../../src/cli/decisions.ts';
import { policyHash } from '../../src/core/canonical-json.ts';
import { gateStoreFor, type KyselyGateStore } from '../../src/storage/gate-store.ts';
import type { OpenedStore } from '../../src/storage/open.ts';
import { backends, type TestDatabase } from './backends.ts';
import { freshDataDir } from './fixture.ts';
import { verifyDecisionChain } from '../support/decision-chain.ts';

const POLICY = policyHash({ gate: { classes: { prod: { approvals: 1 } } } });
const t0 = new Date('2026-03-02T10:00:00.000Z');
const at = (minutes: number): Date => new Date(t0.getTime() + minutes * 60_000);

const decision = (over: Partial<GateDecisionInput> = {}): GateDecisionInput => ({
  key: 'github:acme/api!12',
  headSha: 'a'.repeat(40),
  releaseClass: 'prod',
  verdict: 'block',
  reasons: [{ rule: 'secrets-scan', summary: 'The secrets scan failed', evidence: ['check secret-scan: failure'] }],
  inputs: { evidence: { headSha: 'a'.repeat(40), checks: [{ name: 'secret-scan', state: 'failure' }], findings: [] }, exceptions: [] },
  policyHash: POLICY,
  decidedAt: t0,
  deliveryId: 'd-1',
  ...over,
});

const exception = (over: Partial<GateException> = {}): GateException => ({
  id: 'github:acme/api#42',
  findingRef: 'js/sql-injection',
  category: 'sast',
  scope: { repo: 'github:acme/api', paths: ['src/legacy/**'] },
  compensatingControls: 'WAF rule 1042 blocks the pattern',
  businessOwner: '@cfo',
  requestedBy: '@dev',
  requestedAt: t0,
  expiresAt: at(60 * 24 * 30),
  status: 'approved',
  approvedBy: '@security-lead',
  approvedAt: at(60),
  approvedDigest: 'd'.repeat(64),
  renewalOf: null,
  ...over,
});

const emergency = (over: Partial<EmergencyRecordInput> = {}): EmergencyRecordInput => ({
  key: 'github:acme/api!13',
  headSha: 'b'.repeat(40),
  reason: 'Payment outage, hotfix',
  evidence: { checks: [{ name: 'sast', state: 'pending' }] },
  approver: '@oncall-director',
  controlsBypassed: ['sast', 'approvals'],
  followUp: { issueUrl: null, dueAt: at(60 * 24 * 5) },
  decidedAt: t0,
  ...over,
});

for (const backend of backends) {
  describe.skipIf(backend.skip)(`GateStore on ${backend.name}`, () => {
    let tdb: TestDatabase;
    let opened: OpenedStore;
    let gates: KyselyGateStore;
    // The embedded data dir is chosen here: the gate store fsyncs the WAL in it.
    let dataDir = '/nonexistent';
    const open = (): Promise<OpenedStore> => tdb.open(backend.name === 'pglite' ? { dataDir } : {});

    beforeEach(async () => {
      tdb = await backend.create();
      dataDir = backend.name === 'pglite' ? await freshDataDir() : '/nonexistent';
      opened = await open();
      gates = gateStoreFor(opened, { dataDir });
    });
    afterEach(async () => {
      await gates?.close();
      await opened?.close();
      await tdb?.cleanup();
    });

    it('appends records to one chain: seq 1 points at the genesis hash, each next one at the previous hash', async () => {
      const r1 = await gates.recordGateDecision(decision());
      const r2 = await gates.recordGateDecision(
        decision({ key: 'gitlab:grp/web!3', verdict: 'pass', reasons: [], decidedAt: at(1), deliveryId: null }),
      );
      const r3 = await gates.recordGateDecision(decision({ verdict: 'warn', decidedAt: at(2) }));
      expect([r1.seq, r2.seq, r3.seq]).toEqual([1, 2, 3]);
      expect(r1.prevHash).toBe(GENESIS_HASH);
      expect(r2.prevHash).toBe(r1.hash);
      expect(r3.prevHash).toBe(r2.hash);
      expect(new Set([r1.hash, r2.hash, r3.hash]).size).toBe(3);

      const all = await gates.gateDecisions();
      expect(all).toEqual([r1, r2, r3]);
      expect(verifyDecisionChain(all)).toEqual({ ok: true, count: 3, head: r3.hash });
      expect(await gates.latestGateDecision('github:acme/api!12')).toEqual(r3);
      expect(await gates.latestGateDecision('github:acme/api!99')).toBeNull();
      expect(await gates.gateDecisions({ key: 'github:acme/api!12' })).toEqual([r1, r3]);
      expect(await gates.gateDecisions({ since: at(1) })).toEqual([r2, r3]);
      expect(await gates.gateDecisions({ since: at(1), key: 'gitlab:grp/web!3' })).toEqual([r2]);
      expect(await gates.gateDecision(2)).toEqual(r2);
      expect(await gates.gateDecision(4)).toBeNull();
      expect(r2.deliveryId).toBeNull();
    });

    it('stores reasons and inputs as plain JSON, and the hash still holds after the database reorders keys', async () => {
      const r = await gates.recordGateDecision(
        decision({
          reasons: [{ z: 1, a: { y: [3, 2, 1], b: 'é ✓' }, gone: undefined }],
          inputs: {
            collectedAt: new Date('2026-03-02T09:59:00.000Z'),
            nested: { zz: null, aa: 1.5, big: 12345678901234 },
            nul: 'a\u0000b',
          },
        }),
      );
      expect(r.reasons).toEqual([{ z: 1, a: { y: [3, 2, 1], b: 'é ✓' } }]);
      expect(r.inputs).toEqual({
        collectedAt: '2026-03-02T09:59:00.000Z',
        nested: { zz: null, aa: 1.5, big: 12345678901234 },
        nul: 'a\ufffdb',
      });
      const [stored] = await gates.gateDecisions();
      expect(stored).toEqual(r);
      expect(verifyDecisionChain([stored!]).ok).toBe(true);
    });

    it('refuses a record without a key or with a malformed policy hash, and stores nothing', async () => {
      await expect(gates.recordGateDecision(decision({ key: '' }))).rejects.toThrow(/^invalid decision record: key: /);
      await expect(gates.recordGateDecision(decision({ policyHash: 'abc' }))).rejects.toThrow(/policyHash: a sha256/);
      await expect(gates.recordGateDecision(decision({ decidedAt: new Date('nope') }))).rejects.toThrow(/decidedAt: /);
      expect(await gates.gateDecisions()).toEqual([]);
      expect((await gates.recordGateDecision(decision())).seq).toBe(1);
    });

    it('keeps one chain under concurrent appends in one process', async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => gates.recordGateDecision(decision({ key: `github:acme/api!${i}`, decidedAt: at(i) }))),
      );
      expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      const all = await gates.gateDecisions();
      expect(verifyDecisionChain(all)).toMatchObject({ ok: true, count: 20 });
      expect(new Set(all.map((r) => r.prevHash)).size).toBe(20);
    });

    it('keeps the records after the database is closed and opened again', async () => {
      const r = await gates.recordGateDecision(decision());
      await gates.close();
      await opened.close();
      opened = await open();
      gates = gateStoreFor(opened, { dataDir });
      expect(await gates.gateDecisions()).toEqual([r]);
      const next = await gates.recordGateDecision(decision({ decidedAt: at(5) }));
      expect(next).toMatchObject({ seq: 2, prevHash: r.hash });
    });

    if (backend.name === 'postgres') {
      it('keeps one chain when two processes append at once (no prevHash used twice)', async () => {
        const other = await open();
        const otherGates = gateStoreFor(other, { dataDir: '/nonexistent' });
        try {
          const n = 40;
          await Promise.all([
            ...Array.from({ length: n }, (_, i) => gates.recordGateDecision(decision({ key: `github:acme/a!${i}`, decidedAt: at(i) }))),
            ...Array.from({ length: n }, (_, i) =>
              otherGates.recordGateDecision(decision({ key: `github:acme/b!${i}`, decidedAt: at(i) })),
            ),
          ]);
          const all = await gates.gateDecisions();
          expect(all).toHaveLength(2 * n);
          expect(verifyDecisionChain(all)).toMatchObject({ ok: true, count: 2 * n });
          expect(new Set(all.map((r) => r.prevHash)).size).toBe(2 * n);
          // both writers took part
          expect(all.some((r) => r.key.startsWith('github:acme/a!'))).toBe(true);
          expect(all.some((r) => r.key.startsWith('github:acme/b!'))).toBe(true);
        } finally {
          await otherGates.close();
          await other.close();
        }
      });
    }

    it('registers exceptions, reads them by repository, and keeps the reminder until the expiry changes', async () => {
      await gates.saveException(exception());
      await gates.saveException(
        exception({ id: 'github:acme/api#43', status: 'requested', approvedBy: null, approvedAt: null, requestedAt: at(10) }),
      );
      await gates.saveException(exception({ id: 'github:acme/web#7', scope: { repo: 'github:acme/web', paths: [] } }));
      expect(await gates.getException('github:acme/api#42')).toEqual({ ...exception(), remindedAt: null });
      expect(await gates.getException('github:acme/api#404')).toBeNull();
      expect((await gates.exceptionsFor('github:acme/api')).map((e) => [e.id, e.status])).toEqual([
        ['github:acme/api#42', 'approved'],
        ['github:acme/api#43', 'requested'],
      ]);
      expect(await gates.exceptionsFor('github:acme/none')).toEqual([]);

      await gates.markExceptionReminded('github:acme/api#42', at(120));
      // an edit that keeps the expiry keeps the reminder
      await gates.saveException(exception({ compensatingControls: 'WAF rule 1042 and alerting' }));
      expect(await gates.getException('github:acme/api#42')).toMatchObject({
        compensatingControls: 'WAF rule 1042 and alerting',
        remindedAt: at(120),
      });
      // a new expiry is reminded of again
      await gates.saveException(exception({ expiresAt: at(60 * 24 * 60) }));
      expect(await gates.getException('github:acme/api#42')).toMatchObject({ expiresAt: at(60 * 24 * 60), remindedAt: null });
      // revoking is a status like any other
      await gates.saveException(exception({ status: 'revoked' }));
      expect((await gates.getException('github:acme/api#42'))?.status).toBe('revoked');

      // The digest of the approved terms is kept, and cleared with the approval.
      expect((await gates.getException('github:acme/api#42'))?.approvedDigest).toBe('d'.repeat(64));
      await gates.saveException(exception({ status: 'requested', approvedBy: null, approvedAt: null, approvedDigest: null }));
      expect(await gates.getException('github:acme/api#42')).toMatchObject({ status: 'requested', approvedDigest: null });
      await expect(gates.saveException(exception({ approvedDigest: 'not-a-digest' }))).rejects.toThrow('invalid exception: approvedDigest');
    });

    it('chains every exception status change, changed terms of an approved one and each new emergency record in the register', async () => {
      const id = 'github:acme/api#42';
      await gates.saveException(exception({ status: 'requested', approvedBy: null, approvedAt: null }));
      await gates.saveException(
        exception({ status: 'requested', approvedBy: null, approvedAt: null, compensatingControls: 'edited while requested' }),
      );
      expect(await gates.registerRecords()).toEqual([]); // a request is not an approval
      await gates.saveException(exception());
      await gates.saveException(exception()); // the request issue re-read, nothing changed
      await gates.saveException(exception({ expiresAt: at(60 * 24 * 365) })); // an approved exception's terms changed
      await gates.markExceptionReminded(id, at(5)); // not a change of terms
      await gates.saveException(exception({ status: 'revoked' }));
      await gates.saveEmergencyRecord(emergency());
      await gates.saveEmergencyRecord(emergency({ followUp: { issueUrl: 'https://github.com/acme/api/issues/77', dueAt: at(1) } }));
      const records = await gates.registerRecords();
      expect(records.map((r) => [r.seq, r.kind, r.subject])).toEqual([
        [1, 'exception.approved', id],
        [2, 'exception.approved', id],
        [3, 'exception.revoked', id],
        [4, 'emergency', 'github:acme/api!13'],
      ]);
      expect(records[0]!.prevHash).toBe(GENESIS_HASH);
      expect(records[0]!.content).toMatchObject({
        id,
        status: 'approved',
        approvedBy: '@security-lead',
        approvedAt: at(60).toISOString(),
        findingRef: 'js/sql-injection',
        scope: { repo: 'github:acme/api', paths: ['src/legacy/**'] },
      });
      expect(records[1]!.content).toMatchObject({ expiresAt: at(60 * 24 * 365).toISOString() });
      expect(records[3]!.content).toMatchObject({
        approver: '@oncall-director',
        headSha: 'b'.repeat(40),
        controlsBypassed: ['sast', 'approvals'],
      });
      expect(await gates.registerRecords({ subject: 'github:acme/api!13' })).toEqual([records[3]]);
      expect(await verifyStoredRegister(gates, 2)).toEqual({ ok: true, count: 4, head: records[3]!.hash });
      // Someone with database access names another approver: the register chain breaks there.
      await sql`update register_records set content = jsonb_set(content, '{approvedBy}', '"@friend"') where seq = 2`.execute(opened.db);
      expect(await verifyStoredRegister(gates, 2)).toMatchObject({
        ok: false,
        brokenAt: 2,
        reason: expect.stringMatching(/content does not match its hash/),
      });
    });

    it('lists approved exceptions expiring before a moment, earliest first, expired ones included', async () => {
      await gates.saveException(exception({ id: 'e#1', expiresAt: at(100) }));
      await gates.saveException(exception({ id: 'e#2', expiresAt: at(50) }));
      await gates.saveException(exception({ id: 'e#3', expiresAt: at(300) }));
      await gates.saveException(exception({ id: 'e#4', expiresAt: at(10), status: 'requested', approvedBy: null, approvedAt: null }));
      await gates.saveException(exception({ id: 'e#5', expiresAt: at(10), status: 'revoked' }));
      expect((await gates.exceptionsExpiringBefore(at(200))).map((e) => e.id)).toEqual(['e#2', 'e#1']);
      expect(await gates.exceptionsExpiringBefore(at(50))).toEqual([]);
    });

    it('counts a repeated exception category by distinct repositories since a moment, rejected requests aside', async () => {
      await gates.saveException(exception({ id: 'github:acme/api#1', category: 'secrets' }));
      await gates.saveException(exception({ id: 'github:acme/api#2', category: 'secrets' })); // same repo again
      await gates.saveException(
        exception({ id: 'github:acme/web#1', category: 'secrets', scope: { repo: 'github:acme/web', paths: [] }, status: 'requested' }),
      );
      await gates.saveException(
        exception({ id: 'gitlab:grp/pay#1', category: 'secrets', scope: { repo: 'gitlab:grp/pay', paths: [] }, status: 'rejected' }),
      );
      await gates.saveException(
        exception({
          id: 'gitlab:grp/old#1',
          category: 'secrets',
          scope: { repo: 'gitlab:grp/old', paths: [] },
          requestedAt: at(-60 * 24 * 100),
        }),
      );
      await gates.saveException(
        exception({ id: 'gitlab:grp/dep#1', category: 'dependencies', scope: { repo: 'gitlab:grp/dep', paths: [] } }),
      );
      expect(await gates.countExceptionsByCategory('secrets', at(-60 * 24 * 90))).toBe(2);
      expect(await gates.countExceptionsByCategory('secrets', at(-60 * 24 * 365))).toBe(3);
      expect(await gates.countExceptionsByCategory('dependencies', at(-1))).toBe(1);
      expect(await gates.countExceptionsByCategory('container', at(-1))).toBe(0);
    });

    it('stores one emergency record per change and head commit; a repeat only fills in the follow-up issue', async () => {
      const first = await gates.saveEmergencyRecord(emergency());
      expect(first).toEqual({ id: expect.any(Number), ...emergency() });
      const again = await gates.saveEmergencyRecord(
        emergency({ reason: 'retried delivery', followUp: { issueUrl: 'https://github.com/acme/api/issues/77', dueAt: at(1) } }),
      );
      expect(again).toEqual({ ...first, followUp: { issueUrl: 'https://github.com/acme/api/issues/77', dueAt: first.followUp.dueAt } });
      // a URL once set stays
      await gates.saveEmergencyRecord(emergency({ followUp: { issueUrl: 'https://github.com/acme/api/issues/78', dueAt: at(1) } }));
      const next = await gates.saveEmergencyRecord(emergency({ headSha: 'c'.repeat(40), decidedAt: at(30) }));
      expect(await gates.emergencyRecordsFor('github:acme/api!13')).toEqual([again, next]);
      expect(await gates.emergencyRecordsFor('github:acme/api!14')).toEqual([]);
      await expect(gates.saveEmergencyRecord(emergency({ approver: '' }))).rejects.toThrow(/^invalid emergency record: approver: /);
    });
  });
}
