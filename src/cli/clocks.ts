/** `gatehouse clocks [--json]`: the open SLO/RTO clocks, with their state and due times. */
import type { Config } from '../config/env.ts';
import { issueKey } from '../core/model.ts';
import type { ClockState } from '../core/outage/clocks.ts';
import { openStore } from '../storage/open.ts';

export interface ClocksIo {
  out: (s: string) => void;
}

type Shown = { issue: string; clock: string; criticality: string; state: string; warnAt: string | null; dueAt: string | null };

function stateOf(c: ClockState): string {
  if (c.stopped) return 'stopped';
  if (c.breachedAt) return 'breached';
  if (c.warnedAt) return 'at-risk';
  return c.runningSince ? 'running' : 'paused';
}

export async function listClocks(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  opts: { json?: boolean; limit?: number },
  io: ClocksIo,
): Promise<number> {
  const opened = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    existing: true,
  });
  try {
    const rows = await opened.store.listOpenClocks(opts.limit ?? 1000);
    const shown: Shown[] = rows.flatMap((r) =>
      r.clocks
        .filter((c) => !c.stopped)
        .map((c) => ({
          issue: issueKey(r.target),
          clock: c.kind,
          criticality: c.criticality,
          state: stateOf(c),
          warnAt: c.warnAt?.toISOString() ?? null,
          dueAt: c.dueAt?.toISOString() ?? null,
        })),
    );
    if (opts.json) {
      io.out(JSON.stringify(shown));
      return 0;
    }
    if (shown.length === 0) {
      io.out('no open clocks');
      return 0;
    }
    for (const s of shown)
      io.out(`${s.issue}  ${s.clock.toUpperCase()}  ${s.criticality.padEnd(8)}  ${s.state.padEnd(8)}  due ${s.dueAt ?? '(paused)'}`);
    return 0;
  } finally {
    await opened.close();
  }
}
