/** The engine against the minute-by-minute oracle: holidays, a three-region united calendar, the inverse. */
import { describe } from 'vitest';
import { berlin, dstEdges, newYork, threeRegions, withHolidays } from './fixtures.ts';
import { agreesWithOracle, inverseHolds } from './oracle-check.ts';

describe('business time = the oracle (holidays, united regions)', () => {
  agreesWithOracle('per-region and global holidays (Berlin + New York)', withHolidays, { runs: 150, maxTarget: 1200, maxSpan: 3 * 1440 });
  agreesWithOracle('three regions united (New York, Berlin, Tokyo)', threeRegions, { runs: 150, maxTarget: 1500, maxSpan: 2 * 1440 });
});

describe('the inverse property', () => {
  inverseHolds('Europe/Berlin', berlin, 100);
  inverseHolds('America/New_York', newYork, 100);
  inverseHolds('DST-edge windows', dstEdges, 100);
  inverseHolds('holidays', withHolidays, 100);
  inverseHolds('three regions', threeRegions, 100);
});
