/**
 * Test databases, fast.
 *
 * `await freshDataDir()` returns a new, empty-but-migrated PGlite data directory (our tables
 * already in place). A new PGlite data dir costs ~4 s of
 * initdb; instead a template is built once — cached in the OS temp dir under a key of the
 * PGlite version and the migrations' source, shared by every worker process and
 * later runs — and copied (`copyDataDir`, WAL sparse) for each call. Pass the directory to
 * `openStore({ dataDir })`. Directories are removed after the importing test file (afterAll)
 * and at process exit; `removeDataDir` removes one sooner. Close the store before that.
 *
 * PostgreSQL: `pgTestUrl` is GATEHOUSE_TEST_PG_URL (or undefined); `await freshPgDatabase()`
 * creates a throwaway database on that server and returns its URL and a `drop()`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll } from 'vitest';
import { openStore } from '../../src/storage/open.ts';
import { copyDataDir } from '../../src/storage/pglite-template.mjs';

const created = new Set<string>();
let template: Promise<string> | null = null;

function templateKey(): string {
  const h = createHash('sha256');
  for (const pkg of ['@electric-sql/pglite']) h.update(readFileSync(new URL(`../../node_modules/${pkg}/package.json`, import.meta.url)));
  for (const f of ['../../src/storage/migrations.ts', '../../src/storage/queue.ts']) h.update(readFileSync(new URL(f, import.meta.url)));
  return h.digest('hex').slice(0, 16);
}

async function buildTemplate(): Promise<string> {
  const final = join(tmpdir(), `gatehouse-pglite-template-${templateKey()}`);
  if (existsSync(join(final, 'PG_VERSION'))) return final;
  const building = mkdtempSync(join(tmpdir(), 'gatehouse-pglite-building-'));
  const opened = await openStore({ dataDir: building });
  await opened.close();
  try {
    renameSync(building, final); // atomic; another process may have won the race
  } catch {
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(join(final, 'PG_VERSION'))) throw new Error(`could not create the PGlite template at ${final}`);
  }
  return final;
}

/** A new migrated PGlite data directory, copied from the shared template. */
export async function freshDataDir(): Promise<string> {
  template ??= buildTemplate();
  const src = await template;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-db-'));
  copyDataDir(src, dir);
  created.add(dir);
  return dir;
}

export function removeDataDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  created.delete(dir);
}

const removeAll = (): void => {
  for (const dir of created) rmSync(dir, { recursive: true, force: true });
  created.clear();
};
// Vitest workers can end without an 'exit' event: clean up after each test file as well (outside
// Vitest, as in the benchmarks that use the stand-ins, there is no test file to follow).
if (process.env['VITEST']) afterAll(removeAll);
process.on('exit', removeAll);

export const pgTestUrl: string | undefined = process.env['GATEHOUSE_TEST_PG_URL'] || undefined;

/** Creates a throwaway database on the GATEHOUSE_TEST_PG_URL server. */
export async function freshPgDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!pgTestUrl) throw new Error('GATEHOUSE_TEST_PG_URL is not set');
  const name = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: pgTestUrl });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(pgTestUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: pgTestUrl });
      await c.connect();
      try {
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
