/** The per-platform circuit's decisions, with a fixed clock. */
import { describe, expect, it } from 'vitest';
import { closedCircuit, decide, PlatformCircuit, record, type CircuitState } from '../../src/adapters/circuit.ts';

const limits = { failures: 2, cooldownMs: 30_000 };
const T = Date.parse('2030-01-01T00:00:00Z');

describe('record', () => {
  const cases: { name: string; state: CircuitState; failure: string | null; now: number; want: CircuitState }[] = [
    { name: 'an answer keeps it closed', state: closedCircuit, failure: null, now: T, want: closedCircuit },
    {
      name: 'one failure counts',
      state: closedCircuit,
      failure: 'ECONNREFUSED',
      now: T,
      want: { kind: 'closed', consecutive: 1, firstFailureAt: T, lastError: 'ECONNREFUSED' },
    },
    {
      name: 'an answer forgets earlier failures',
      state: { kind: 'closed', consecutive: 1, firstFailureAt: T, lastError: 'x' },
      failure: null,
      now: T + 1,
      want: closedCircuit,
    },
    {
      name: 'the second failure in a row opens it, since the first',
      state: { kind: 'closed', consecutive: 1, firstFailureAt: T, lastError: 'x' },
      failure: '503',
      now: T + 5_000,
      want: { kind: 'open', since: T, until: T + 35_000, lastError: '503' },
    },
    {
      name: 'a failed probe opens it for another cool-down',
      state: { kind: 'probing', since: T, lastError: 'x' },
      failure: 'timeout',
      now: T + 40_000,
      want: { kind: 'open', since: T, until: T + 70_000, lastError: 'timeout' },
    },
    {
      name: 'an answered probe closes it',
      state: { kind: 'probing', since: T, lastError: 'x' },
      failure: null,
      now: T + 40_000,
      want: closedCircuit,
    },
    {
      name: 'a late failure of a request sent before it opened extends the cool-down',
      state: { kind: 'open', since: T, until: T + 30_000, lastError: 'x' },
      failure: 'y',
      now: T + 1_000,
      want: { kind: 'open', since: T, until: T + 31_000, lastError: 'y' },
    },
  ];
  for (const c of cases) it(c.name, () => expect(record(c.state, c.failure, c.now, limits)).toEqual(c.want));
});

describe('decide', () => {
  const open: CircuitState = { kind: 'open', since: T, until: T + 30_000, lastError: 'ECONNREFUSED' };
  it('closed: requests pass', () => expect(decide(closedCircuit, T).kind).toBe('pass'));
  it('open: refused until the cool-down ends', () =>
    expect(decide(open, T + 29_999)).toEqual({ kind: 'refuse', since: T, until: T + 30_000, lastError: 'ECONNREFUSED' }));
  it('open, cool-down over: one probe', () =>
    expect(decide(open, T + 30_000)).toEqual({ kind: 'probe', state: { kind: 'probing', since: T, lastError: 'ECONNREFUSED' } }));
  it('probing: the others are refused until the probe ends', () =>
    expect(decide({ kind: 'probing', since: T, lastError: 'e' }, T + 31_000)).toEqual({
      kind: 'refuse',
      since: T,
      until: null,
      lastError: 'e',
    }));
});

describe('PlatformCircuit', () => {
  it('refuses with the reason and the time it waits until, lets one probe through, and closes on its answer', () => {
    let now = T;
    const c = new PlatformCircuit('GitHub', limits, () => now);
    c.admit();
    c.failed('connect ECONNREFUSED 127.0.0.1:9');
    now += 1_000;
    c.admit();
    c.failed('connect ECONNREFUSED 127.0.0.1:9');
    expect(() => c.admit()).toThrow(
      'GitHub unreachable since 2030-01-01T00:00:00.000Z (connect ECONNREFUSED 127.0.0.1:9): waiting until 2030-01-01T00:00:31.000Z before trying again',
    );
    now = T + 31_000;
    c.admit(); // the probe
    expect(() => c.admit()).toThrow(/waiting for a probe request/);
    c.succeeded();
    expect(c.refusing).toBe(false);
    // Closed with its count of failures reset: one more failure leaves it closed.
    c.admit();
    c.failed('connect ECONNREFUSED 127.0.0.1:9');
    expect(c.refusing).toBe(false);
    c.admit();
  });

  it('a probe abandoned by its caller lets the next request probe', () => {
    let now = T;
    const c = new PlatformCircuit('GitLab', limits, () => now);
    c.failed('a');
    c.failed('b');
    now += 30_000;
    c.admit();
    c.abandoned();
    c.admit();
    expect(() => c.admit()).toThrow(/waiting for a probe request/);
  });
});
