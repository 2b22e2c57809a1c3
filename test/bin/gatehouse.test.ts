/**
 * bin/gatehouse.js runs the JavaScript `npm run build` emits into dist/ while its stamp is newer
 * than every file under src/, and the TypeScript sources through tsx otherwise.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A checkout whose dist/cli.js and src/cli.ts each say which one ran. */
function checkout(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bin-'));
  dirs.push(dir);
  cpSync(join(root, 'bin'), join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  mkdirSync(join(dir, 'src', 'core'), { recursive: true });
  mkdirSync(join(dir, 'dist'));
  const say = (what: string): string => `export async function main() { process.stdout.write('${what}'); return 0; }\n`;
  writeFileSync(join(dir, 'src', 'cli.ts'), `${say('sources')}const typed: number = 1; void typed;\n`);
  writeFileSync(join(dir, 'src', 'core', 'a.ts'), 'export {};\n');
  writeFileSync(join(dir, 'dist', 'cli.js'), say('built'));
  return dir;
}

const run = (dir: string): string => execFileSync(process.execPath, [join(dir, 'bin', 'gatehouse.js'), 'help'], { encoding: 'utf8' });
const at = (path: string, iso: string): void => utimesSync(path, new Date(iso), new Date(iso));

describe('bin/gatehouse.js', () => {
  it('runs dist/ while its build stamp is newer than every source file', () => {
    const dir = checkout();
    for (const f of ['src/cli.ts', 'src/core/a.ts', 'src/core']) at(join(dir, f), '2026-01-01T00:00:00Z');
    writeFileSync(join(dir, 'dist', '.built'), '');
    expect(run(dir)).toBe('built');
  });

  it('runs the sources through tsx when a source file is newer than the build, or there is no build', () => {
    const dir = checkout();
    expect(run(dir)).toBe('sources');
    writeFileSync(join(dir, 'dist', '.built'), '');
    at(join(dir, 'dist', '.built'), '2026-01-01T00:00:00Z');
    at(join(dir, 'src', 'cli.ts'), '2026-01-01T00:00:00Z');
    at(join(dir, 'src', 'core', 'a.ts'), '2026-02-01T00:00:00Z');
    expect(run(dir)).toBe('sources');
  });
});
