/** The engine against the minute-by-minute oracle: one zone at a time, across both 2026 DST changes. */
import { describe } from 'vitest';
import { berlin, dstEdges, newYork } from './fixtures.ts';
import { agreesWithOracle } from './oracle-check.ts';

describe('business time = the oracle (single zones)', () => {
  agreesWithOracle('Europe/Berlin Mon–Fri 09–17', berlin, { runs: 200, maxTarget: 1200, maxSpan: 3 * 1440 });
  agreesWithOracle('America/New_York Mon–Fri 09–17', newYork, { runs: 200, maxTarget: 1200, maxSpan: 3 * 1440 });
  agreesWithOracle('windows in the skipped and repeated hours (Berlin + New York)', dstEdges, {
    runs: 150,
    maxTarget: 600,
    maxSpan: 2 * 1440,
  });
});
