// A new embedded database copied from a template instead of created with initdb: initdb runs
// PostgreSQL's bootstrap in WebAssembly and takes 5-6 s on a 2-core machine, a copy well under one.
// The template is made once per installed PGlite version (`npm ci` runs scripts/pglite-template.mjs)
// under node_modules/.cache/gatehouse; without one, PGlite runs initdb as before.
// Plain JavaScript: the install script runs it without a TypeScript loader.
import {
  chmodSync,
  constants,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARKER = 'PG_VERSION';
const WAL_SEGMENT = /^[0-9A-F]{24}$/;
const BLOCK = 8192;
const ZEROS = Buffer.alloc(BLOCK);

function pgliteDir() {
  // .../node_modules/@electric-sql/pglite/dist/index.cjs -> .../node_modules/@electric-sql/pglite
  return dirname(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')));
}

/** Where the template for the installed PGlite version lives (it may not exist). */
export function templateDir() {
  const dir = pgliteDir();
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  return join(dir, '..', '..', '.cache', 'gatehouse', `pglite-${version}-data`);
}

/**
 * Copies a PGlite data dir. WAL segments (16 MB, mostly zeros) are copied sparse: their data,
 * then a hole. PG_VERSION comes last, so a copy cut short does not look like a database.
 */
export function copyDataDir(src, dst) {
  const walDir = join(src, 'pg_wal');
  const skip = (p) => p === join(src, MARKER) || (p.startsWith(walDir) && WAL_SEGMENT.test(p.slice(walDir.length + 1)));
  cpSync(src, dst, { recursive: true, force: true, mode: constants.COPYFILE_FICLONE, filter: (p) => !skip(p) });
  for (const name of readdirSync(walDir)) {
    if (!WAL_SEGMENT.test(name)) continue;
    const buf = readFileSync(join(walDir, name));
    let blocks = Math.ceil(buf.length / BLOCK);
    while (
      blocks > 0 &&
      buf.subarray((blocks - 1) * BLOCK, blocks * BLOCK).equals(ZEROS.subarray(0, Math.min(BLOCK, buf.length - (blocks - 1) * BLOCK)))
    )
      blocks -= 1;
    const target = join(dst, 'pg_wal', name);
    writeFileSync(target, buf.subarray(0, blocks * BLOCK), { mode: 0o600 });
    truncateSync(target, buf.length);
  }
  copyFileSync(join(src, MARKER), join(dst, MARKER));
}

/** Every entry of a tree (lstat: links are not followed), the root first. */
function* walk(path) {
  const st = lstatSync(path);
  yield { path, st };
  if (st.isDirectory()) for (const name of readdirSync(path)) yield* walk(join(path, name));
}

/**
 * Why the template must not be copied, or null: every database made from it would carry what
 * someone else wrote into it, so no entry may be writable by group or others, or owned by a user
 * other than this one or root.
 */
export function templateProblem(template) {
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  if (uid === null) return null;
  for (const { path, st } of walk(template)) {
    if (st.uid !== uid && st.uid !== 0) return `${path} is owned by uid ${st.uid}`;
    if (!st.isSymbolicLink() && (st.mode & 0o022) !== 0)
      return `${path} is writable by other users (mode 0${(st.mode & 0o777).toString(8)})`;
  }
  return null;
}

/**
 * Sets the template's modes to directories 0755 and files 0644, where this user owns the entry: no
 * one else may write it (PGlite makes its files 0666), and everyone may read it (the template holds
 * nothing but an empty database, and an image's non-root user copies it; mkdtemp made it 0700).
 */
export function protectTemplate(template) {
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  for (const { path, st } of walk(template)) {
    if (st.isSymbolicLink() || (uid !== null && st.uid !== uid)) continue;
    const mode = st.isDirectory() ? 0o755 : 0o644;
    if ((st.mode & 0o777) !== mode) chmodSync(path, mode);
  }
}

/**
 * Fills a data dir that holds no database yet from the template, if there is one and no one else
 * could have written it (`onRefused` is told why not); a copy cut short is redone at the next
 * start. Returns whether it copied.
 */
export function seedFromTemplate(dataDir, { template = templateDir(), onRefused } = {}) {
  if (existsSync(join(dataDir, MARKER)) || !existsSync(join(template, MARKER))) return false;
  const problem = templateProblem(template);
  if (problem) {
    onRefused?.(problem);
    return false;
  }
  copyDataDir(template, dataDir);
  return true;
}

/**
 * Creates the template (initdb once) unless it exists, writable by this user only (PGlite makes
 * its files 0666). A rename puts it in place: another install running at the same time may win
 * that race, which is as good.
 */
export async function makeTemplate(template = templateDir()) {
  if (existsSync(join(template, MARKER))) {
    protectTemplate(template); // one made by an older version was left writable by others
    return false;
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const { NodeFS } = await import('@electric-sql/pglite/nodefs');
  mkdirSync(dirname(template), { recursive: true });
  const work = mkdtempSync(join(dirname(template), 'making-'));
  try {
    const db = new PGlite({ fs: new NodeFS(work) });
    await db.waitReady;
    await db.close();
    protectTemplate(work);
    rmSync(template, { recursive: true, force: true }); // a copy without PG_VERSION, cut short
    renameSync(work, template);
  } catch (err) {
    if (!existsSync(join(template, MARKER))) throw err;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return true;
}
