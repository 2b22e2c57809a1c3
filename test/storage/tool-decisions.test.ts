import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type OpenedStore } from '../../src/storage/open.ts';
import { toolDecisionStore } from '../../src/storage/tool-decisions.ts';
import type { ToolDecisionRecord } from '../../src/core/workflows/tooling.ts';
import { freshDataDir, removeDataDir } from './fixture.ts';

let dir: string;
let opened: OpenedStore;

beforeAll(async () => {
  dir = await freshDataDir();
  opened = await openStore({ dataDir: dir });
}, 60_000);
afterAll(async () => {
  await opened.close();
  removeDataDir(dir);
});

const decision = (over: Partial<ToolDecisionRecord>): ToolDecisionRecord => ({
  tool: 'sweeper',
  issueKey: 'github:acme/tools#4',
  form: 'request',
  decision: 'build-internal',
  pathForward: 'maintain',
  criticality: 'high',
  repos: ['acme/sweeper'],
  owners: ['alice'],
  decidedBy: 'lead',
  decidedAt: new Date('2026-11-24T10:00:00Z'),
  ...over,
});

describe('the tool decision store', () => {
  it('keeps decisions oldest first, once per delivery, with wait/defer as no inventory change', async () => {
    const store = toolDecisionStore(opened.db);
    expect(
      await store.record(
        decision({ decidedAt: new Date('2026-11-25T10:00:00Z'), decision: 'redirect', pathForward: 'redirect', criticality: 'low' }),
        'd2',
      ),
    ).toEqual({ inserted: true });
    expect(await store.record(decision({}), 'd1')).toEqual({ inserted: true });
    expect(await store.record(decision({}), 'd1')).toEqual({ inserted: false });
    expect(await store.record(decision({ decision: 'wait', pathForward: null, criticality: null }), 'd3')).toEqual({ inserted: true });
    const all = await store.list();
    expect(all.map((d) => d.decision)).toEqual(['build-internal', 'wait', 'redirect']);
    expect(all[0]).toEqual(decision({}));
    expect(all[1]).toMatchObject({ pathForward: null, criticality: null });
  });
});
