import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataDirBusyError, lockDataDir } from '../../src/storage/data-dir-lock.ts';

describe('one process per embedded data directory', () => {
  it('refuses a directory another live process holds, naming it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
    const other = spawn('sleep', ['5']);
    try {
      writeFileSync(join(dir, 'gatehouse.pid'), String(other.pid));
      expect(() => lockDataDir(dir)).toThrow(DataDirBusyError);
      expect(() => lockDataDir(dir)).toThrow(new RegExp(`in use by process ${other.pid}`));
    } finally {
      other.kill();
    }
  });

  it('takes over a directory left by a process that is gone, and releases it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    writeFileSync(join(dir, 'gatehouse.pid'), String(gone.pid));
    const release = lockDataDir(dir);
    expect(readFileSync(join(dir, 'gatehouse.pid'), 'utf8')).toBe(String(process.pid));
    release();
    expect(existsSync(join(dir, 'gatehouse.pid'))).toBe(false);
  });
});
