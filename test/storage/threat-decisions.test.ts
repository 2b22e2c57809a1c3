import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ThreatDecision } from '../../src/core/workflows/threat-log.ts';
import type { OpenedStore } from '../../src/storage/open.ts';
import { threatLogStore } from '../../src/storage/threat-decisions.ts';
import { backends, type TestDatabase } from './backends.ts';

const decision = (over: Partial<ThreatDecision>): ThreatDecision => ({
  issueKey: 'github:acme/app#7',
  commentId: '1001',
  decidedBy: 'alice',
  decidedAt: new Date('2026-12-02T12:34:00Z'),
  text: 'Replayed tokens: accept with a 5-minute expiry',
  ...over,
});

for (const backend of backends) {
  describe.skipIf(backend.skip)(`the threat-model decision log on ${backend.name}`, () => {
    let tdb: TestDatabase;
    let opened: OpenedStore;

    beforeEach(async () => {
      tdb = await backend.create();
      opened = await tdb.open();
    });
    afterEach(async () => {
      await opened?.close();
      await tdb?.cleanup();
    });

    it("keeps an issue's decisions oldest first, one per command comment, apart from other issues'", async () => {
      const log = threatLogStore(opened.db);
      expect(
        await log.recordThreatDecision(
          decision({ commentId: '1002', decidedAt: new Date('2026-12-03T08:00:00Z'), decidedBy: 'bob', text: '<b>No</b> public bucket' }),
          'd2',
        ),
      ).toEqual({ inserted: true });
      expect(await log.recordThreatDecision(decision({}), 'd1')).toEqual({ inserted: true });
      // The same comment again (a redelivery, a retry after a failed comment, another delivery id): once.
      expect(await log.recordThreatDecision(decision({ text: 'changed' }), 'd1')).toEqual({ inserted: false });
      expect(await log.recordThreatDecision(decision({ text: 'changed' }), 'd3')).toEqual({ inserted: false });
      // The same comment id on another issue is another entry.
      expect(await log.recordThreatDecision(decision({ issueKey: 'gitlab:acme/app#7' }), 'd4')).toEqual({ inserted: true });
      expect(await log.threatDecisions('github:acme/app#7')).toEqual([
        decision({}),
        decision({ commentId: '1002', decidedAt: new Date('2026-12-03T08:00:00Z'), decidedBy: 'bob', text: '<b>No</b> public bucket' }),
      ]);
      expect(await log.threatDecisions('gitlab:acme/app#7')).toEqual([decision({ issueKey: 'gitlab:acme/app#7' })]);
      expect(await log.threatDecisions('github:acme/other#1')).toEqual([]);
    });

    it('survives a reopen of the database', async () => {
      await threatLogStore(opened.db).recordThreatDecision(decision({}), null);
      await opened.close();
      opened = await tdb.open();
      expect(await threatLogStore(opened.db).threatDecisions('github:acme/app#7')).toEqual([decision({})]);
    });
  });
}
