/**
 * One process per embedded data directory: PGlite is a single-user database, and two processes
 * writing one directory would corrupt it. A `gatehouse.pid` file names the owner.
 *
 * Like PostgreSQL's postmaster.pid, the file records more than the pid, because pids are reused
 * (a container restarts with the same pids; after a reboot they start over):
 *   line 1  pid
 *   line 2  the process's start time (field 22 of /proc/<pid>/stat, clock ticks since boot)
 *   line 3  the kernel's boot id (/proc/sys/kernel/random/boot_id)
 *   line 4  a random token
 * The file names a live owner only when a process with that pid runs, is not a zombie, and has
 * the recorded start time on the recorded boot. Anything else is left by a process that is gone
 * (a crash, a kill) and is taken over. Where /proc is missing only the pid can be checked.
 *
 * A restart that comes while the killed owner is still exiting waits (polling, `waitMs`) instead
 * of refusing at once; an owner still alive after that is refused with a one-line error.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirBusyError extends Error {
  override name = 'DataDirBusyError';
}

export const PID_FILE = 'gatehouse.pid';

export interface LockDataDirOptions {
  /** How long to wait for a live owner to exit before refusing. Default 10 000 ms. */
  waitMs?: number;
  /** Polling interval while waiting. Default 100 ms. */
  pollMs?: number;
  /** Told once when the owner is still there and we start waiting for it. */
  onWait?: (owner: number) => void;
}

/** What identifies one run of one process. `null` fields are unknown on this system. */
export interface ProcessIdentity {
  pid: number;
  startTime: string | null;
  bootId: string | null;
}

interface Stat {
  state: string;
  startTime: string;
}

function readStat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const startTime = fields[19];
    return state && startTime && /^\d+$/.test(startTime) ? { state, startTime } : null;
  } catch {
    return null;
  }
}

let bootIdCache: string | null | undefined;
function bootId(): string | null {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache;
}

/** This process, as the pid file records it. */
export function selfIdentity(): ProcessIdentity {
  return { pid: process.pid, startTime: readStat(process.pid)?.startTime ?? null, bootId: bootId() };
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Parses a pid file; the old one-line form (just the pid) reads with unknown start time and boot. */
export function parsePidFile(text: string): ProcessIdentity | null {
  const [pidLine, startLine, bootLine] = text.split('\n').map((l) => l.trim());
  const pid = Number(pidLine);
  if (!pidLine || !Number.isInteger(pid) || pid <= 0) return null;
  return { pid, startTime: startLine || null, bootId: bootLine || null };
}

/**
 * Whether the recorded owner still runs: the pid exists, is not a zombie (a killed process its
 * parent has not reaped yet is gone for our purpose), and, where known, started at the recorded
 * time on the recorded boot.
 */
export function ownerAlive(owner: ProcessIdentity): boolean {
  if (owner.bootId && bootId() && owner.bootId !== bootId()) return false; // written before a reboot
  if (!pidExists(owner.pid)) return false;
  const stat = readStat(owner.pid);
  if (!stat) return true; // no /proc (or not readable): the pid is all we can check
  if (stat.state === 'Z' || stat.state === 'X') return false;
  if (owner.startTime && stat.startTime !== owner.startTime) return false; // the pid now belongs to another process
  return true;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the directory for this process; resolves to the release function. Waits up to `waitMs`
 * for a live owner to exit; throws DataDirBusyError if it does not.
 */
export async function lockDataDir(dataDir: string, opts: LockDataDirOptions = {}): Promise<() => void> {
  const waitMs = opts.waitMs ?? 10_000;
  const pollMs = opts.pollMs ?? 100;
  const deadline = Date.now() + waitMs;
  const file = join(dataDir, PID_FILE);
  const me = selfIdentity();
  const token = randomBytes(8).toString('hex');
  const content = `${me.pid}\n${me.startTime ?? ''}\n${me.bootId ?? ''}\n${token}\n`;
  let told = false;
  for (;;) {
    if (tryCreate(file, content, token)) {
      return () => {
        // Only our own file is removed (never one a later owner wrote after a takeover).
        try {
          if (readFileSync(file, 'utf8') === content) rmSync(file, { force: true });
        } catch {
          /* already gone */
        }
      };
    }
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // released between the two calls
      throw err;
    }
    const owner = parsePidFile(text);
    const busy = owner !== null && owner.pid !== process.pid && ownerAlive(owner);
    if (!busy) {
      takeOver(file, text, token);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new DataDirBusyError(
        `the embedded database in ${dataDir} is in use by process ${owner.pid}` +
          (waitMs > 0 ? ` (still running after ${Math.round(waitMs / 1000)} s)` : '') +
          '; stop it first, or use DATABASE_URL for a shared PostgreSQL',
      );
    }
    if (!told) {
      told = true;
      opts.onWait?.(owner.pid);
    }
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
}

/** Creates the pid file whole (written aside, then linked: a reader never sees it half written). */
function tryCreate(file: string, content: string, token: string): boolean {
  const tmp = `${file}.${token}.new`;
  writeFileSync(tmp, content, { mode: 0o600 });
  try {
    linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * Removes a stale pid file. It is moved aside first (atomic), so that of two processes taking over
 * at once, the slower one cannot delete the file the faster one has just created: if what was
 * moved is not what we judged stale, it is put back.
 */
function takeOver(file: string, staleText: string, token: string): void {
  const aside = `${file}.${token}.stale`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    if (readFileSync(aside, 'utf8') !== staleText) {
      try {
        linkSync(aside, file);
      } catch {
        /* a third process holds it now; we will read that one next */
      }
    }
  } finally {
    rmSync(aside, { force: true });
  }
}
