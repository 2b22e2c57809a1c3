/**
 * One process per embedded data directory: PGlite is a single-user database, and two processes
 * writing one directory would corrupt it. A `gatehouse.pid` file names the owner; a file left by
 * a process that no longer runs (a crash, a kill) is taken over.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export class DataDirBusyError extends Error {
  override name = 'DataDirBusyError';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the directory for this process; returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  const file = join(dataDir, 'gatehouse.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number(readFileSync(file, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new DataDirBusyError(`the embedded database in ${dataDir} is in use by process ${owner}; stop it first, or use DATABASE_URL for a shared PostgreSQL`);
      }
      rmSync(file, { force: true }); // left by a process that is gone
    }
  }
  throw new DataDirBusyError(`could not take the embedded database in ${dataDir}`);
}
