import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirBusyError, lockDataDir, ownerAlive, parsePidFile, PID_FILE, selfIdentity } from '../../src/storage/data-dir-lock.ts';

const lockChild = fileURLToPath(new URL('./lock-child.ts', import.meta.url));
const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-lock-'));
  dirs.push(dir);
  return dir;
}

function startSpawn(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  return c;
}

/** The first line the child prints that starts with one of `prefixes`. */
async function firstLine(c: ChildProcess, prefixes: string[]): Promise<string> {
  let stderr = '';
  c.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  for await (const line of createInterface({ input: c.stdout! })) if (prefixes.some((p) => line.startsWith(p))) return line;
  throw new Error(`child ended without ${prefixes.join('/')}: ${stderr}`);
}

/** A Gatehouse-like process holding the lock of `dir`. */
async function holder(dir: string, exitDelayMs = 0): Promise<ChildProcess> {
  const c = startSpawn(process.execPath, ['--import', 'tsx', lockChild, dir, String(exitDelayMs)]);
  const line = await firstLine(c, ['LOCKED', 'REFUSED']);
  expect(line).toBe(`LOCKED ${c.pid}`);
  return c;
}

const exited = (c: ChildProcess) =>
  new Promise<void>((resolve) => (c.exitCode !== null || c.signalCode !== null ? resolve() : c.once('exit', () => resolve())));

describe('one process per embedded data directory', () => {
  it('records pid, start time, boot id and a token, and releases only its own file', async () => {
    const dir = tempDir();
    const release = await lockDataDir(dir);
    const lines = readFileSync(join(dir, PID_FILE), 'utf8').split('\n');
    const me = selfIdentity();
    expect(lines[0]).toBe(String(process.pid));
    expect(me.startTime).toMatch(/^\d+$/); // this machine has /proc
    expect(lines[1]).toBe(me.startTime);
    expect(lines[2]).toBe(me.bootId);
    expect(lines[3]).toMatch(/^[0-9a-f]{16}$/);
    release();
    expect(existsSync(join(dir, PID_FILE))).toBe(false);
  });

  it('refuses a second live Gatehouse process on the same directory with a one-line error naming the owner', async () => {
    const dir = tempDir();
    const first = await holder(dir);
    const started = Date.now();
    const err = await lockDataDir(dir, { waitMs: 600, pollMs: 50 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataDirBusyError);
    const message = (err as Error).message;
    expect(message).toMatch(new RegExp(`in use by process ${first.pid} \\(still running after 1 s\\); stop it first, or use DATABASE_URL`));
    expect(message).not.toContain('\n');
    expect(Date.now() - started).toBeGreaterThanOrEqual(550); // it waited before refusing
    // another process sees the same
    const second = startSpawn(process.execPath, ['--import', 'tsx', lockChild, dir]);
    expect(await firstLine(second, ['LOCKED', 'REFUSED'])).toMatch(new RegExp(`^REFUSED .*in use by process ${first.pid}`));
    expect(parsePidFile(readFileSync(join(dir, PID_FILE), 'utf8'))?.pid).toBe(first.pid);
  });

  it('a restart while the killed owner is still exiting waits for it and then takes the directory', async () => {
    const dir = tempDir();
    const owner = await holder(dir, 1500);
    owner.kill('SIGTERM'); // dies 1.5 s later, leaving its pid file behind
    const waitedFor: number[] = [];
    const started = Date.now();
    const release = await lockDataDir(dir, { waitMs: 10_000, pollMs: 50, onWait: (pid) => waitedFor.push(pid) });
    const took = Date.now() - started;
    expect(waitedFor).toEqual([owner.pid]);
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(9000);
    // the lock may see the zombie before this process has reaped it and heard its exit
    await exited(owner);
    expect(owner.signalCode).toBe('SIGKILL');
    expect(parsePidFile(readFileSync(join(dir, PID_FILE), 'utf8'))?.pid).toBe(process.pid);
    console.info(`[lock] restart waited ${took} ms for the exiting owner`);
    release();
  });

  it('a killed owner that is a zombie (its parent has not reaped it) counts as gone at once', async () => {
    const dir = tempDir();
    // sh starts the holder in the background and becomes `sleep`, which never reaps it.
    const sh = startSpawn('sh', ['-c', `"${process.execPath}" --import tsx "${lockChild}" "${dir}" & exec sleep 30`]);
    const line = await firstLine(sh, ['LOCKED', 'REFUSED']);
    const pid = Number(line.split(' ')[1]);
    expect(line).toMatch(/^LOCKED \d+$/);
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 50 && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '); i++) await new Promise((r) => setTimeout(r, 20));
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8')).toContain(') Z '); // kill(pid, 0) still succeeds on it
    const started = Date.now();
    const release = await lockDataDir(dir, { waitMs: 5000 });
    expect(Date.now() - started).toBeLessThan(1000);
    release();
  });

  it('a pid file whose pid now belongs to another, unrelated process is stale (the start time differs)', async () => {
    const dir = tempDir();
    const other = startSpawn('sleep', ['30']);
    await new Promise((r) => setTimeout(r, 50));
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    // what a Gatehouse that ran with this pid before a container restart left behind
    const stale = `${other.pid}\n12345\n${bootId}\n0123456789abcdef\n`;
    expect(ownerAlive(parsePidFile(stale)!)).toBe(false);
    writeFileSync(join(dir, PID_FILE), stale);
    const started = Date.now();
    const release = await lockDataDir(dir, { waitMs: 5000 });
    expect(Date.now() - started).toBeLessThan(1000); // taken over without waiting
    expect(parsePidFile(readFileSync(join(dir, PID_FILE), 'utf8'))?.pid).toBe(process.pid);
    release();
  });

  it('a pid file written before a reboot is stale even if the pid and start time match a live process', async () => {
    const dir = tempDir();
    const me = selfIdentity();
    const other = startSpawn('sleep', ['30']);
    await new Promise((r) => setTimeout(r, 50));
    const otherStart = readFileSync(`/proc/${other.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
    expect(ownerAlive({ pid: other.pid!, startTime: otherStart!, bootId: me.bootId })).toBe(true);
    writeFileSync(join(dir, PID_FILE), `${other.pid}\n${otherStart}\nnot-this-boot\nabcdef0123456789\n`);
    (await lockDataDir(dir, { waitMs: 2000 }))();
  });

  it('the old one-line pid file: a live pid is still respected, a gone one is taken over', async () => {
    const dir = tempDir();
    const live = startSpawn('sleep', ['30']);
    writeFileSync(join(dir, PID_FILE), String(live.pid));
    await expect(lockDataDir(dir, { waitMs: 200, pollMs: 50 })).rejects.toThrow(new RegExp(`in use by process ${live.pid}`));
    live.kill('SIGKILL');
    await exited(live);
    const release = await lockDataDir(dir, { waitMs: 2000 });
    expect(parsePidFile(readFileSync(join(dir, PID_FILE), 'utf8'))?.pid).toBe(process.pid);
    release();
  });

  it('an empty or garbled pid file is taken over', async () => {
    const dir = tempDir();
    for (const text of ['', 'not a pid\n', '-4\n']) {
      writeFileSync(join(dir, PID_FILE), text);
      (await lockDataDir(dir, { waitMs: 0 }))();
    }
  });

  it('of several processes racing to take over one stale file, exactly one wins', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, PID_FILE), `999999\n1\n\nfeedfacefeedface\n`);
    const racers = Array.from({ length: 4 }, () => startSpawn(process.execPath, ['--import', 'tsx', lockChild, dir]));
    const lines = await Promise.all(racers.map((c) => firstLine(c, ['LOCKED', 'REFUSED'])));
    expect(lines.filter((l) => l.startsWith('LOCKED'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('REFUSED'))).toHaveLength(3);
  });
});
