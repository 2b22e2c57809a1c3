/** `gatehouse clock` (contract: "Command line"), through main() and once through the real binary. */
import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseInstant } from '../../src/cli/clock.ts';
import { cliSandbox, runCli } from '../support/cli.ts';

const sandbox = cliSandbox('gatehouse-clock-');
const run = runCli;

async function json(...args: string[]): Promise<Record<string, unknown>> {
  const r = await run('clock', ...args, '--json');
  expect(r).toMatchObject({ code: 0, err: '' });
  return JSON.parse(r.out) as Record<string, unknown>;
}

async function file(name: string, text: string): Promise<string> {
  const path = join(sandbox(), name);
  await writeFile(path, text);
  return path;
}

/** Exit 1 with exactly one line on stderr that says `expected`, nothing on stdout, no stack trace. */
async function fails(args: string[], expected: string | RegExp): Promise<void> {
  const r = await run('clock', ...args);
  expect(r.code).toBe(1);
  expect(r.out).toBe('');
  expect(r.err.split('\n')).toHaveLength(1);
  expect(r.err).toMatch(expected);
  expect(r.err).not.toMatch(/\n\s+at /);
}

describe('gatehouse clock --json', () => {
  it('acceptance: high opened Friday 2026-11-20T16:00:00Z → sloDue Monday 16:00Z, rtoDue Tuesday 16:00Z', async () => {
    const out = await json('--criticality', 'high', '--opened', '2026-11-20T16:00:00Z');
    expect(out).toEqual({
      criticality: 'high',
      opened: '2026-11-20T16:00:00Z',
      sloDue: '2026-11-23T16:00:00Z',
      rtoDue: '2026-11-24T16:00:00Z',
    });
    expect(Object.keys(out)).toEqual(['criticality', 'opened', 'sloDue', 'rtoDue']);
    expect(new Date(out['sloDue'] as string).getTime()).toBe(Date.parse('2026-11-23T16:00:00Z'));
  });

  it('with --now adds the business minutes elapsed on each clock', async () => {
    const out = await json('--criticality', 'critical', '--opened', '2026-11-20T15:00:00Z', '--now', '2026-11-23T10:30:00Z');
    expect(out).toEqual({
      criticality: 'critical',
      opened: '2026-11-20T15:00:00Z',
      sloDue: '2026-11-23T11:00:00Z',
      rtoDue: '2026-11-24T11:00:00Z',
      sloElapsedMinutes: 210,
      rtoElapsedMinutes: 210,
    });
    const before = await json('--criticality', 'critical', '--opened', '2026-11-20T15:00:00Z', '--now', '2026-11-20T14:00:00Z');
    expect(before).toMatchObject({ sloElapsedMinutes: 0, rtoElapsedMinutes: 0 });
  });

  it('low has no clocks: null due times', async () => {
    expect(await json('--criticality', 'low', '--opened', '2026-11-20T16:00:00Z', '--now', '2026-11-20T16:30:00Z')).toEqual({
      criticality: 'low',
      opened: '2026-11-20T16:00:00Z',
      sloDue: null,
      rtoDue: null,
      sloElapsedMinutes: 30,
      rtoElapsedMinutes: 30,
    });
  });

  it('takes any zone designator and any case of the criticality', async () => {
    const out = await json('--criticality', 'HIGH', '--opened', '2026-11-20T17:00:00.000+01:00');
    expect(out).toMatchObject({ criticality: 'high', opened: '2026-11-20T16:00:00Z', sloDue: '2026-11-23T16:00:00Z' });
  });
});

describe('gatehouse clock --policy', () => {
  it('reads the clocks section: regions, holidays', async () => {
    const path = await file(
      'berlin.yml',
      ['clocks:', '  regions:', '    - name: emea', '      timeZone: Europe/Berlin', "  holidays: ['2026-11-23']", ''].join('\n'),
    );
    // Friday 17:00 CET is closing time; Monday is a holiday; Tuesday 09:00 CET = 08:00Z.
    expect(await json('--criticality', 'high', '--opened', '2026-11-20T16:00:00Z', '--policy', path)).toMatchObject({
      sloDue: '2026-11-24T16:00:00Z',
      rtoDue: '2026-11-25T16:00:00Z',
    });
  });

  it("uses the policy's timeZone for a calendar that names none, and GATEHOUSE_POLICY when --policy is absent", async () => {
    const path = await file('ny.yml', 'timeZone: America/New_York\n');
    process.env['GATEHOUSE_POLICY'] = path;
    expect(await json('--criticality', 'critical', '--opened', '2026-11-20T15:00:00Z')).toMatchObject({
      sloDue: '2026-11-20T19:00:00Z',
      rtoDue: '2026-11-23T19:00:00Z',
    });
  });

  it('a broken policy file exits 1 with one clear line', async () => {
    await fails(
      ['--criticality', 'high', '--opened', '2026-11-20T16:00:00Z', '--policy', join(sandbox(), 'missing.yml')],
      /missing\.yml: cannot read \(ENOENT\)/,
    );
    const yaml = await file('bad.yml', 'clocks:\n  regions: [\n');
    await fails(['--criticality', 'high', '--opened', '2026-11-20T16:00:00Z', '--policy', yaml], /bad\.yml: not valid YAML \(line \d\)/);
    const zone = await file('zone.yml', ['clocks:', '  regions:', '    - timeZone: Europe/Berln', '  warnAt: 2', ''].join('\n'));
    await fails(
      ['--criticality', 'high', '--opened', '2026-11-20T16:00:00Z', '--policy', zone],
      'clock: ' +
        zone +
        ': clocks.regions[0].timeZone (line 3): unknown time zone "Europe/Berln" (an IANA name such as Europe/Berlin, or UTC); clocks.warnAt (line 4): Too big: expected number to be <1',
    );
    const top = await file('top.yml', 'timeZone: Moon/Base\n');
    await fails(
      ['--criticality', 'high', '--opened', '2026-11-20T16:00:00Z', '--policy', top],
      /top\.yml: timeZone \(line 1\): unknown time zone "Moon\/Base"/,
    );
    const list = await file('list.yml', '- a\n- b\n');
    await fails(['--criticality', 'high', '--opened', '2026-11-20T16:00:00Z', '--policy', list], /a policy is a mapping/);
  });
});

describe('gatehouse clock: bad input', () => {
  it('an unknown criticality', async () => {
    await fails(
      ['--criticality', 'urgent', '--opened', '2026-11-20T16:00:00Z', '--json'],
      'clock: unknown criticality "urgent" (one of critical, high, medium, low)',
    );
  });

  it.each(['yesterday', '2026-11-20', '2026-11-20T16:00:00', '2026-02-30T10:00:00Z', '2026-11-20T24:00:00Z', ''])(
    'an unparsable --opened %j',
    async (opened) => {
      await fails(
        ['--criticality', 'high', '--opened', opened, '--json'],
        /^clock: --opened ".*" is not an ISO-8601 date-time with a zone/,
      );
    },
  );

  it('an unparsable --now', async () => {
    await fails(
      ['--criticality', 'high', '--opened', '2026-11-20T16:00:00Z', '--now', 'soon', '--json'],
      /^clock: --now "soon" is not an ISO-8601 date-time/,
    );
  });

  it('a missing required option (commander)', async () => {
    await fails(['--opened', '2026-11-20T16:00:00Z'], /required option '--criticality <c>' not specified/);
  });
});

describe('gatehouse clock (human summary)', () => {
  it('prints the calendar, targets, warning points and due times', async () => {
    const r = await run('clock', '--criticality', 'critical', '--opened', '2026-11-20T15:00:00Z', '--now', '2026-11-23T10:30:00Z');
    expect(r.code).toBe(0);
    expect(r.out.split('\n')).toEqual([
      'critical opened 2026-11-20T15:00:00Z, now 2026-11-23T10:30:00Z (business time: UTC Mon–Fri 09:00–17:00)',
      'SLO 4h = 240 business min: warn 2026-11-23T10:00:00Z, due 2026-11-23T11:00:00Z — 210 of 240 min elapsed, at-risk',
      'RTO 12h = 720 business min: warn 2026-11-23T16:00:00Z, due 2026-11-24T11:00:00Z — 210 of 720 min elapsed, running',
    ]);
    const low = await run('clock', '--criticality', 'low', '--opened', '2026-11-20T15:00:00Z');
    expect(low.out).toContain('SLO: none (best effort)');
  });
});

describe('parseInstant', () => {
  it.each([
    ['2026-11-20T16:00:00Z', '2026-11-20T16:00:00.000Z'],
    ['2026-11-20T16:00Z', '2026-11-20T16:00:00.000Z'],
    ['2026-11-20t16:00:00.123456z', '2026-11-20T16:00:00.123Z'],
    ['2026-11-20T11:00:00-05:00', '2026-11-20T16:00:00.000Z'],
    ['2026-11-21T01:30:00+0930', '2026-11-20T16:00:00.000Z'],
  ])('%s → %s', (text, expected) => {
    expect(parseInstant(text)?.toISOString()).toBe(expected);
  });
});

describe('the real binary', () => {
  it('node bin/gatehouse.js clock --criticality high --opened 2026-11-20T16:00:00Z --json', () => {
    const env = { ...process.env };
    delete env['GATEHOUSE_POLICY'];
    const stdout = execFileSync(
      process.execPath,
      ['bin/gatehouse.js', 'clock', '--criticality', 'high', '--opened', '2026-11-20T16:00:00Z', '--json'],
      { encoding: 'utf8', env },
    );
    const out = JSON.parse(stdout) as Record<string, string>;
    expect(Date.parse(out['sloDue']!)).toBe(Date.parse('2026-11-23T16:00:00Z'));
    expect(Date.parse(out['rtoDue']!)).toBe(Date.parse('2026-11-24T16:00:00Z'));
  });

  it('exits 1 with one line on stderr for bad input', () => {
    try {
      execFileSync(
        process.execPath,
        ['bin/gatehouse.js', 'clock', '--criticality', 'urgent', '--opened', '2026-11-20T16:00:00Z', '--json'],
        { encoding: 'utf8', stdio: 'pipe' },
      );
      expect.unreachable();
    } catch (err) {
      const e = err as { status: number; stderr: string; stdout: string };
      expect(e.status).toBe(1);
      expect(e.stdout).toBe('');
      expect(e.stderr.trim()).toBe('clock: unknown criticality "urgent" (one of critical, high, medium, low)');
    }
  });
});
