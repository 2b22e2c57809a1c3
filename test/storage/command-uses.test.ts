import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allowCommand, commandPolicySchema, commandWindowStart } from '../../src/core/workflows/command-limit.ts';
import { commandLedger } from '../../src/storage/command-uses.ts';
import type { OpenedStore } from '../../src/storage/open.ts';
import { backends, type TestDatabase } from './backends.ts';

const T0 = new Date('2026-12-04T12:00:00Z');
const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);
/** The limit a policy without `commands` gives. */
const LIMIT = commandPolicySchema.parse({}).perActor;
const since = (now: Date): Date => commandWindowStart(now, LIMIT);

for (const backend of backends) {
  describe.skipIf(backend.skip)(`the command ledger on ${backend.name}`, () => {
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

    it("counts an account's commands within the window, once per delivery, apart from other accounts and platforms", async () => {
      const ledger = commandLedger(opened.db);
      const send = (actor: string, id: string, now: Date, platform: 'github' | 'gitlab' = 'github') =>
        ledger.recordCommand({ platform, actor, deliveryId: id, at: now }, since(now));
      expect(await send('mallory', 'd1', at(0))).toEqual({ sent: 1, lastLimitAuditAt: null });
      expect(await send('Mallory', 'd2', at(1))).toEqual({ sent: 2, lastLimitAuditAt: null });
      // The same delivery again (a retried job): not counted twice.
      expect(await send('mallory', 'd2', at(2))).toEqual({ sent: 2, lastLimitAuditAt: null });
      expect(await send('alice', 'd3', at(2))).toEqual({ sent: 1, lastLimitAuditAt: null });
      expect(await send('mallory', 'd4', at(2), 'gitlab')).toEqual({ sent: 1, lastLimitAuditAt: null });
      await ledger.markLimitAudited('github', 'd2');
      expect(await send('mallory', 'd5', at(3))).toEqual({ sent: 3, lastLimitAuditAt: at(1) });
      // Ten minutes after the first, it has left the window (and is deleted); the audit a minute later is still in it.
      expect(await send('mallory', 'd6', at(10.5))).toEqual({ sent: 3, lastLimitAuditAt: at(1) });
      expect(await send('mallory', 'd7', at(12))).toEqual({ sent: 3, lastLimitAuditAt: null });
      const rows = await opened.db
        .selectFrom('command_uses')
        .select('delivery_id')
        .where('actor', '=', 'mallory')
        .where('platform', '=', 'github')
        .orderBy('delivery_id')
        .execute();
      expect(rows.map((r) => r.delivery_id)).toEqual(['d5', 'd6', 'd7']);
    });

    it('two workers counting the same flood at once let no more than the limit through', async () => {
      const a = commandLedger(opened.db);
      const b = commandLedger(opened.db);
      const now = at(0);
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 === 0 ? a : b).recordCommand({ platform: 'github', actor: 'mallory', deliveryId: `d${i}`, at: now }, since(now)),
        ),
      );
      expect(results.filter((r) => allowCommand(r, now, LIMIT).kind === 'allow').length).toBeLessThanOrEqual(10);
    });
  });
}
