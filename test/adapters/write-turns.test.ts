import { describe, expect, it } from 'vitest';
import { githubTurnLimits, gitlabTurnLimits, WriteTurns } from '../../src/adapters/write-turns.ts';

/** A keeper on a clock that stands still unless moved. */
function keeper(limits = githubTurnLimits): { turns: WriteTurns; clock: { now: number } } {
  const clock = { now: 1_000_000 };
  return { turns: new WriteTurns(limits, () => clock.now), clock };
}

describe('WriteTurns', () => {
  it("spaces one installation's writes 1 s apart, first come first served; another installation's writes do not wait", () => {
    const { turns, clock } = keeper();
    const t0 = clock.now;
    expect([0, 1, 2].map(() => turns.reserve('github:1', false) - t0)).toEqual([0, 1_000, 2_000]);
    expect(turns.reserve('github:2', true) - t0).toBe(0);
    expect(turns.reserve('github:1', true) - t0).toBe(3_000);
  });

  it('keeps content-creating writes within 80 a minute and 500 an hour (GitHub), and within 300 a minute (GitLab)', () => {
    const gh = keeper({ ...githubTurnLimits, spacingMs: 0, contentSpacingMs: 0 });
    const t0 = gh.clock.now;
    const at = Array.from({ length: 81 }, () => gh.turns.reserve('github:1', true) - t0);
    expect(at[79]).toBe(0);
    expect(at[80]).toBe(60_000);
    for (let i = 0; i < 500 - 81; i++) gh.turns.reserve('github:1', true);
    expect(gh.turns.reserve('github:1', true) - t0).toBe(3_600_000);

    const gl = keeper(gitlabTurnLimits);
    const g0 = gl.clock.now;
    const notes = Array.from({ length: 301 }, () => gl.turns.reserve('gitlab:x', true) - g0);
    expect(notes[299]).toBe(0);
    expect(notes[300]).toBe(60_000);
  });

  it('keeps a turn for a job handed back, and takes it when the job writes again', () => {
    const { turns, clock } = keeper();
    const t0 = clock.now;
    turns.reserve('github:1', false); // t0
    const held = turns.reserve('github:1', true, 'job-a'); // t0 + 1 s
    turns.hold('github:1', 'job-a', held, true);
    expect(turns.reserve('github:1', false) - t0).toBe(2_000);
    clock.now = t0 + 1_200;
    expect(turns.reserve('github:1', true, 'job-a')).toBe(held);
    // Taken once only.
    expect(turns.reserve('github:1', false, 'job-a') - t0).toBe(3_000);
  });

  it('holds the key back after a rate limit', () => {
    const { turns, clock } = keeper();
    turns.block('github:1', clock.now + 30_000);
    expect(turns.reserve('github:1', false) - clock.now).toBe(30_000);
    expect(turns.nextTurn('github:2', false)).toBe(clock.now);
  });
});
