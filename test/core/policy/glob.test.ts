/**
 * Glob complexity, checked when the policy is loaded: a table of accepted and refused globs, the
 * messages `gatehouse validate` shows, and a property: every glob the check accepts matches a
 * 4 KB adversarial path in well under 50 ms.
 */
import fc from 'fast-check';
import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { GLOB_LIMITS, globProblem } from '../../../src/core/policy/glob.ts';
import { defaultPolicy, parsePolicy } from '../../../src/core/policy/load.ts';

const ACCEPTED = [
  // The built-in policy and the contract's defaults.
  '**/auth/**',
  '**/payments/**',
  'release/*',
  '**/oauth*/**',
  '**/multitenan*/**',
  '**/*{auth,Auth}*',
  '**/*{tenant,Tenant}*',
  '**/*.{cfn,template}.{json,yaml,yml}',
  '**/id_{rsa,ed25519,ecdsa}*',
  '**/{openapi,swagger}*.{json,yaml,yml}',
  '**/*.{md,mdx,rst,txt,adoc}',
  '.github/workflows/**',
  'docs/**',
  'CODEOWNERS',
  // Realistic shapes.
  'src/**/*.ts',
  '**/auth/**/*.ts',
  'services/*/config/**',
  '**/a/**/b',
  '**/a/**/b/**',
  '*/a/*/b/*/c',
  'release/{1..9}',
  '@(a|b)/**',
  '**/?(x)y*.js',
  '[abc]*/**',
  'x'.repeat(GLOB_LIMITS.maxLength),
];

const REFUSED: [string, RegExp][] = [
  ['**/a/**/a/**/a/**/b', /4 "\*\*" segments followed by more of the pattern \(at most 2\)/],
  ['**/a/**/a/**/b', /3 "\*\*" segments/],
  ['*a*a*b', /a path segment of it has 3 wildcards/],
  // The built-in policy's earlier form: 0.3 s on a 4 KB path.
  ['**/*{auth,Auth}*.*', /a path segment of it has 3 wildcards/],
  ['*a**?**/**', /a path segment of it has 3 wildcards/],
  ['**a**(a)/**/', /a path segment of it has 4 wildcards/],
  ['**/a/**/*b*c', /its 2 "\*\*" segments followed by more of the pattern and 2 wildcards in one segment make 4 \(at most 3\)/],
  ['**/*a*/**/*b*', /make 4/],
  ['x'.repeat(GLOB_LIMITS.maxLength + 1), /longer than 256 characters/],
  ['{a,{b,c}}/**', /braces inside braces/],
  ['+(a|*(b))', /an extglob inside an extglob/],
  ['{a,+(b)}', /an extglob inside braces/],
  ['+(a|{b,c})', /braces inside an extglob/],
  ['{a,b,c,d}/{a,b,c,d}/{a,b,c}', /braces expand to more than 32 alternatives/],
  ['release/{1..1000}', /more than 32 alternatives/],
  ['*(a)*(a)b', /a path segment of it has 4 wildcards/],
  ['**+(a|b)*', /a path segment of it has 4 wildcards/],
  ['**/a/**/+(x)', /make 4/],
];

describe('globProblem', () => {
  it.each(ACCEPTED)('accepts %s', (glob) => {
    expect(globProblem(glob)).toBeNull();
  });
  it.each(REFUSED)('refuses %s', (glob, why) => {
    expect(globProblem(glob)).toMatch(why);
  });
  it('accepts every glob of the built-in policy', () => {
    const globs = [
      ...defaultPolicy.changes.rules.flatMap((r) => r.paths),
      ...defaultPolicy.changes.ignore,
      ...defaultPolicy.gate.highRiskPaths,
      ...defaultPolicy.gate.releaseBranches,
    ];
    expect(globs.length).toBeGreaterThan(40);
    expect(globs.filter((g) => globProblem(g) !== null)).toEqual([]);
  });
});

describe('a policy with a costly glob', () => {
  it('fails to load, each error naming the key and the glob', () => {
    const r = parsePolicy(
      'gate:\n  highRiskPaths: ["**/auth/**", "**/a/**/a/**/a/**/b"]\n  classRules:\n    - { class: high-risk, branches: ["*a*a*a*b"] }\nchanges:\n  rules:\n    - { name: deep, description: Deep, paths: ["**/x/**/y/**/z/**/w"], tier: 2 }\n  ignore: ["docs/**"]\n',
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => `${e.path} (line ${e.line}): ${e.message}`)).toEqual([
      'changes.rules[0].paths[0] (line 7): glob refused: "**/x/**/y/**/z/**/w" would take too long to match: it has 4 "**" segments followed by more of the pattern (at most 2)',
      'gate.highRiskPaths[1] (line 2): glob refused: "**/a/**/a/**/a/**/b" would take too long to match: it has 4 "**" segments followed by more of the pattern (at most 2)',
      'gate.classRules[0].branches[0] (line 4): glob refused: "*a*a*a*b" would take too long to match: a path segment of it has 4 wildcards (at most 2; a repetition extglob counts 2)',
    ]);
  });
});

/** Pieces of globs: wildcards of every kind, literals, separators, braces, classes, extglobs. */
const GLOB_PIECES = [
  '**',
  '*',
  '?',
  'a',
  'b',
  'auth',
  '.',
  '.ts',
  '/',
  '/**/',
  '{a,b}',
  '{x,y,z}',
  '[ab]',
  '+(a|b)',
  '*(a)',
  '@(a|b)',
  '!(b)',
  'a*',
  '*a',
];
const glob = fc.array(fc.constantFrom(...GLOB_PIECES), { minLength: 1, maxLength: 14 }).map((p) => p.join(''));

/**
 * A 4 KB path made of units that resemble the glob's literals, the shape that makes backtracking
 * costly; as Git names paths: no empty segment, no leading `/`.
 */
const UNITS = ['a', 'b', 'a/', 'b/', '/', '.', 'auth', 'auth/', 'ab', 'x', 'y', 'z', '.ts', 'a.'];
const hostilePath = fc
  .array(fc.tuple(fc.constantFrom(...UNITS), fc.integer({ min: 1, max: 4096 })), { minLength: 1, maxLength: 4 })
  .map((parts) => {
    let p = '';
    for (const [unit, times] of parts) p += unit.repeat(times);
    while (p.length < 4096) p += p || 'a';
    return p
      .slice(0, 4096)
      .replace(/\/{2,}/g, '/')
      .replace(/^\//, 'a')
      .padEnd(4096, 'a');
  });

/**
 * The CPU time of a match (best of two), in ms: the glob's cost, not the machine's load (several
 * test processes share two cores; wall time would measure them).
 */
function matchMs(match: (s: string) => boolean, path: string): number {
  let best = Infinity;
  for (let i = 0; i < 2; i++) {
    const t = process.cpuUsage();
    match(path);
    const d = process.cpuUsage(t);
    best = Math.min(best, (d.user + d.system) / 1000);
  }
  return best;
}

describe('every accepted glob matches fast', () => {
  it('matches a 4 KB adversarial path in under 50 ms', () => {
    let slowest = { ms: 0, glob: '', path: '' };
    fc.assert(
      fc.property(glob, hostilePath, (g, path) => {
        fc.pre(globProblem(g) === null);
        const match = picomatch(g, { dot: true });
        const ms = matchMs(match, path);
        if (ms > slowest.ms) slowest = { ms, glob: g, path: path.slice(0, 40) };
        expect(ms, `${g} on ${path.slice(0, 60)}…`).toBeLessThan(50);
      }),
      { numRuns: 200 },
    );
    console.info(`[glob] slowest accepted glob: ${slowest.ms.toFixed(1)} ms (${slowest.glob} on ${slowest.path}…)`);
  });

  it('the worst shapes at the limits, on paths built from their own literals', () => {
    const worst = [
      '**/a/**/*b',
      '**/*a*b',
      '**/*a/**/b',
      '*a*b/**',
      '**/a/**/b*c',
      '**/*{auth,Auth}*',
      '+(a|b)/**/a',
      'x*(a)b/**',
      '*a*/*b*/*c*',
    ];
    const long = (unit: string, tail = ''): string => `${unit.repeat(Math.ceil(4096 / unit.length))}`.slice(0, 4096 - tail.length) + tail;
    const paths = [
      long('a'),
      long('a/'),
      `${'a/'.repeat(1024)}${'a'.repeat(2048)}`,
      long('auth'),
      long('auth', '/x'),
      long('auth.', '/x'),
      long('a', '/x'),
      long('ab', '/x'),
      `${'a/'.repeat(1000)}${long('auth.', '/x').slice(2000)}`,
    ];
    for (const g of worst) {
      expect(globProblem(g), g).toBeNull();
      const match = picomatch(g, { dot: true });
      for (const p of paths) expect(matchMs(match, p), `${g} on ${p.slice(0, 20)}…`).toBeLessThan(50);
    }
  });

  it('the refused shapes are the slow ones (a sample, on a shorter path)', () => {
    const match = picomatch('**/a/**/a/**/b', { dot: true });
    expect(globProblem('**/a/**/a/**/b')).not.toBeNull();
    expect(matchMs(match, 'a/'.repeat(512))).toBeGreaterThan(1);
  });
});
