/**
 * `yieldToRequests`: the worker's steps wait their turn, one per turn of the event loop, so that
 * timers and I/O (the HTTP server) run between two steps even when many deliveries are worked on.
 */
import { describe, expect, it } from 'vitest';
import { yieldToRequests } from '../../src/ports/yield.ts';

const hold = (ms: number): void => {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // busy
  }
};

describe('yieldToRequests', () => {
  it('lets one waiting step go on per turn of the event loop: a due timer runs between any two steps', async () => {
    let timerRuns = 0;
    let ticking = true;
    const tick = (): void => {
      timerRuns++;
      if (ticking) setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    await new Promise((r) => setTimeout(r, 5));
    const seen: number[] = [];
    // Sixteen deliveries at once, each with a 5 ms step (the timer is due again after each).
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        await yieldToRequests();
        seen.push(timerRuns);
        hold(5);
      }),
    );
    ticking = false;
    expect(seen).toHaveLength(16);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!, `step ${i}`).toBeGreaterThan(seen[i - 1]!);
  });

  it('lets every waiter go on, in order, also those that wait again', async () => {
    const order: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map(async (name) => {
        await yieldToRequests();
        order.push(`${name}1`);
        await yieldToRequests();
        order.push(`${name}2`);
      }),
    );
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2', 'b2', 'c2']);
  });
});
