/**
 * The embedded database's directory is private to the user Gatehouse runs as: the directory and
 * every directory in it 0700, every file 0600. Checked at each start, before the database opens:
 * what this process owns and is open to others is made private (and reported); anything owned by
 * another user, or that cannot be changed, stops start-up with one line naming it. Symbolic links
 * inside it are not followed (their own mode means nothing); one owned by another user is refused
 * too. GATEHOUSE_DATA_DIR itself may be a link: the directory it points to is checked.
 *
 * The directory's own 0700 is what keeps others out: PGlite creates the files of new relations
 * while it runs with its own modes (0666), and they are unreachable inside a private directory
 * until the next start makes them 0600 too.
 */
import { chmodSync, lstatSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';

export class DataDirPermissionError extends Error {
  override name = 'DataDirPermissionError';
}

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

const mode = (n: number): string => `0${(n & 0o777).toString(8)}`;

/** The uid of this process, or null where there are none (Windows: nothing to check). */
const myUid = (): number | null => (typeof process.getuid === 'function' ? process.getuid() : null);

/**
 * Makes `dir` and everything in it private; returns the paths it changed. Throws
 * DataDirPermissionError (one line) when an entry is owned by another user or cannot be changed.
 */
export function makeDataDirPrivate(dir: string): string[] {
  const uid = myUid();
  if (uid === null) return [];
  const fixed: string[] = [];
  const visit = (path: string, st: Stats): void => {
    if (st.uid !== uid) {
      throw new DataDirPermissionError(
        `refusing to start: ${path} in the embedded database's directory is owned by uid ${st.uid}, not by this process (uid ${uid}); ` +
          `give the directory to the user Gatehouse runs as (chown -R) or set GATEHOUSE_DATA_DIR to a directory of its own`,
      );
    }
    if (st.isSymbolicLink()) return;
    const wanted = st.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE;
    if ((st.mode & 0o077) !== 0 || (st.isDirectory() && (st.mode & 0o700) !== 0o700)) {
      try {
        chmodSync(path, wanted);
      } catch (err) {
        throw new DataDirPermissionError(
          `refusing to start: cannot make ${path} private (mode ${mode(st.mode)}, wanted ${mode(wanted)}): ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        );
      }
      fixed.push(path);
    }
    if (st.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name), lstatSync(join(path, name)));
  };
  visit(dir, statSync(dir)); // the directory itself may be a link to where the data lives: followed
  return fixed;
}
