/** The bot's own account: learnt with a bounded backoff, waited for, never guessed. */
import { describe, expect, it } from 'vitest';
import { defaultIdentityBackoff, SelfIdentity } from '../../src/adapters/identity.ts';

describe('SelfIdentity', () => {
  it.each([
    [1, 1000],
    [2, 2000],
    [5, 16_000],
    [7, 60_000],
    [30, 60_000],
  ])('waits %i → %i ms before retrying (bounded)', (attempt, ms) => {
    expect(defaultIdentityBackoff(attempt)).toBe(ms);
  });

  it('retries until the platform answers; waiters get the name once known, null before', async () => {
    let calls = 0;
    const errors: number[] = [];
    const id = new SelfIdentity({
      learn: async () => {
        calls++;
        if (calls < 3) throw new Error('500');
        return 'gatehouse[bot]';
      },
      backoffMs: () => 20,
      onError: (_err, attempt) => errors.push(attempt),
    });
    expect(id.name).toBeNull();
    expect(await id.wait(0)).toBeNull();
    expect(await id.wait(5)).toBeNull();
    expect(await id.wait(1000)).toBe('gatehouse[bot]');
    expect(calls).toBe(3);
    expect(errors).toEqual([1, 2]);
    id.stop();
  });

  it('a known name is never asked for; a stopped identity stops asking', async () => {
    const known = new SelfIdentity({ known: 'bot', learn: () => Promise.reject(new Error('not asked')) });
    expect(await known.wait(10)).toBe('bot');
    let calls = 0;
    const failing = new SelfIdentity({ learn: () => Promise.reject(new Error(String(++calls))), backoffMs: () => 10 });
    failing.start();
    await new Promise((r) => setTimeout(r, 35));
    failing.stop();
    const after = calls;
    await new Promise((r) => setTimeout(r, 40));
    expect(calls).toBe(after);
    expect(failing.name).toBeNull();
  });
});
