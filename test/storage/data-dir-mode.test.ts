/**
 * The embedded database's directory is private: made 0700/0600 at start when this user owns what
 * is open to others, refused with one line when it cannot be fixed; the install's template is not
 * copied when others could have written it.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirPermissionError, makeDataDirPrivate } from '../../src/storage/data-dir-mode.ts';
import { PID_FILE } from '../../src/storage/data-dir-lock.ts';
import { openStore, type StorageLogger } from '../../src/storage/open.ts';
import { protectTemplate, seedFromTemplate, templateProblem } from '../../src/storage/pglite-template.mjs';
import { runCli } from '../support/cli.ts';
import { freshDataDir } from './fixture.ts';

const isRoot = process.getuid?.() === 0;
const modeOf = (p: string): number => statSync(p).mode & 0o777;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};

describe('makeDataDirPrivate', () => {
  it('makes directories 0700 and files 0600, reports what it changed, leaves private entries and links alone', () => {
    const dir = tmp('gatehouse-mode-');
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'base'), { mode: 0o777 });
    chmodSync(join(dir, 'base'), 0o777);
    writeFileSync(join(dir, 'base', '1259'), 'x');
    chmodSync(join(dir, 'base', '1259'), 0o666);
    writeFileSync(join(dir, 'PG_VERSION'), '17', { mode: 0o600 });
    symlinkSync('/etc/hostname', join(dir, 'link'));
    const fixed = makeDataDirPrivate(dir);
    expect(fixed.sort()).toEqual([dir, join(dir, 'base'), join(dir, 'base', '1259')].sort());
    expect([modeOf(dir), modeOf(join(dir, 'base')), modeOf(join(dir, 'base', '1259')), modeOf(join(dir, 'PG_VERSION'))]).toEqual([
      0o700, 0o700, 0o600, 0o600,
    ]);
    expect(modeOf('/etc/hostname')).not.toBe(0o600); // the link was not followed
    expect(makeDataDirPrivate(dir)).toEqual([]);
  });

  it('follows the data dir itself when it is a link', () => {
    const target = tmp('gatehouse-mode-target-');
    chmodSync(target, 0o777);
    const link = join(tmp('gatehouse-mode-link-'), 'data');
    symlinkSync(target, link);
    expect(makeDataDirPrivate(link)).toEqual([link]);
    expect(modeOf(target)).toBe(0o700);
  });
});

describe('openStore on the embedded database', () => {
  it('fixes a world-writable data dir and file at start, and says so', async () => {
    const dir = await freshDataDir();
    chmodSync(dir, 0o777);
    const victim = join(dir, 'global', 'pg_control');
    chmodSync(victim, 0o666);
    const warnings: string[] = [];
    const logger: StorageLogger = { info: () => undefined, warn: (_o, m) => void warnings.push(m ?? ''), error: () => undefined };
    const opened = await openStore({ dataDir: dir, logger });
    try {
      expect(modeOf(dir)).toBe(0o700);
      expect(modeOf(victim)).toBe(0o600);
      expect(warnings).toContainEqual(expect.stringMatching(/^made \d+ entries of the embedded database private \(0700\/0600\)/));
      // What Gatehouse writes there itself is private from the start.
      expect(modeOf(join(dir, PID_FILE))).toBe(0o600);
    } finally {
      await opened.close();
    }
  });

  it('creates a new data dir 0700', async () => {
    const dir = join(tmp('gatehouse-new-parent-'), 'data');
    const opened = await openStore({ dataDir: dir });
    try {
      expect(modeOf(dir)).toBe(0o700);
      expect(modeOf(join(dir, 'pg_wal'))).toBe(0o700);
    } finally {
      await opened.close();
    }
  }, 60_000);

  it.skipIf(!isRoot)('refuses to start, in one line, when a file of the data dir belongs to another user', async () => {
    const dir = await freshDataDir();
    const foreign = join(dir, 'postgresql.auto.conf');
    writeFileSync(foreign, "shared_preload_libraries = 'evil'\n");
    chownSync(foreign, 12345, 12345);
    const err = await openStore({ dataDir: dir }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataDirPermissionError);
    expect((err as Error).message).toBe(
      `refusing to start: ${foreign} in the embedded database's directory is owned by uid 12345, not by this process (uid 0); give the directory to the user Gatehouse runs as (chown -R) or set GATEHOUSE_DATA_DIR to a directory of its own`,
    );
    expect(existsSync(join(dir, PID_FILE))).toBe(false); // refused before anything was written there
  });

  it.skipIf(!isRoot)('`gatehouse start` stops with that one line and exit 1', async () => {
    const dir = tmp('gatehouse-foreign-');
    chownSync(dir, 12345, 12345);
    const saved = { dir: process.env['GATEHOUSE_DATA_DIR'], port: process.env['PORT'] };
    process.env['GATEHOUSE_DATA_DIR'] = dir;
    process.env['PORT'] = '0';
    try {
      const run = await runCli('start');
      expect(run.code).toBe(1);
      expect(run.err.split('\n')).toEqual([
        expect.stringMatching(new RegExp(`^refusing to start: ${dir} in the embedded database's directory is owned by uid 12345`)),
      ]);
    } finally {
      for (const [k, v] of [
        ['GATEHOUSE_DATA_DIR', saved.dir],
        ['PORT', saved.port],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});

describe('the embedded database template', () => {
  const fakeTemplate = (): string => {
    const t = tmp('gatehouse-template-');
    mkdirSync(join(t, 'pg_wal'));
    mkdirSync(join(t, 'base'));
    writeFileSync(join(t, 'base', '1259'), 'catalog');
    writeFileSync(join(t, 'PG_VERSION'), '17\n');
    return t;
  };

  it('is not copied when others could have written it (a poisoned template would seed every new database)', () => {
    const t = fakeTemplate();
    chmodSync(join(t, 'base', '1259'), 0o666);
    expect(templateProblem(t)).toBe(`${join(t, 'base', '1259')} is writable by other users (mode 0666)`);
    const reasons: string[] = [];
    const dir = tmp('gatehouse-seed-');
    expect(seedFromTemplate(dir, { template: t, onRefused: (r) => void reasons.push(r) })).toBe(false);
    expect(reasons).toEqual([templateProblem(t)]);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is protected (0755/0644) by makeTemplate and then copied', () => {
    const t = fakeTemplate();
    chmodSync(t, 0o777);
    chmodSync(join(t, 'base', '1259'), 0o666);
    // made by mkdtemp: readable by its owner only, which an image's non-root user could not copy
    chmodSync(join(t, 'base'), 0o700);
    protectTemplate(t);
    expect([modeOf(t), modeOf(join(t, 'base')), modeOf(join(t, 'base', '1259'))]).toEqual([0o755, 0o755, 0o644]);
    expect(templateProblem(t)).toBeNull();
    const dir = tmp('gatehouse-seed-');
    expect(seedFromTemplate(dir, { template: t })).toBe(true);
    expect(existsSync(join(dir, 'base', '1259'))).toBe(true);
  });
});
