// A new embedded database copied from a template instead of created with initdb: initdb runs
// PostgreSQL's bootstrap in WebAssembly and takes 5-6 s on a 2-core machine, a copy well under one.
// The template is made once per installed PGlite version (`npm ci` runs scripts/pglite-template.mjs)
// under node_modules/.cache/gatehouse; without one, PGlite runs initdb as before.
// Plain JavaScript: the install script runs it without a TypeScript loader.
import { cpSync, copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const MARKER = 'PG_VERSION';

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
 * Fills a data dir that holds no database yet from the template, if there is one. PG_VERSION is
 * copied last: a copy cut short is redone at the next start. Returns whether it copied.
 */
export function seedFromTemplate(dataDir) {
  const template = templateDir();
  if (existsSync(join(dataDir, MARKER)) || !existsSync(join(template, MARKER))) return false;
  cpSync(template, dataDir, { recursive: true, force: true, filter: (src) => src !== join(template, MARKER) });
  copyFileSync(join(template, MARKER), join(dataDir, MARKER));
  return true;
}

/** Creates the template (initdb once) unless it exists; atomic: a rename puts it in place. */
export async function makeTemplate() {
  const template = templateDir();
  if (existsSync(join(template, MARKER))) return false;
  const { PGlite } = await import('@electric-sql/pglite');
  const { NodeFS } = await import('@electric-sql/pglite/nodefs');
  const parent = dirname(template);
  const { mkdirSync } = await import('node:fs');
  mkdirSync(parent, { recursive: true });
  const work = mkdtempSync(join(parent, 'making-'));
  try {
    const db = new PGlite({ fs: new NodeFS(work) });
    await db.waitReady;
    await db.close();
    rmSync(template, { recursive: true, force: true });
    renameSync(work, template);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return true;
}
