/**
 * A new embedded database starts as a copy of the install's template (made by `npm ci`), not by
 * initdb: each copy is a database of its own, and a data dir that has one is never overwritten.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { StorageLogger } from '../../src/storage/open.ts';
import { openStore, type OpenedStore } from '../../src/storage/open.ts';
import { makeTemplate, seedFromTemplate, templateDir } from '../../src/storage/pglite-template.mjs';

const dirs: string[] = [];
const stores: OpenedStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
/** An empty data dir, as a new install has. */
async function newDir(): Promise<string> {
  const d = mkdtempSync(join(tmpdir(), 'gatehouse-new-'));
  dirs.push(d);
  return d;
}

describe('embedded database template', () => {
  beforeAll(async () => {
    await makeTemplate(); // already there after npm ci; made here otherwise
  }, 60_000);

  it('exists for the installed PGlite version', () => {
    expect(templateDir()).toMatch(/node_modules[\\/]\.cache[\\/]gatehouse[\\/]pglite-\d+\.\d+\.\d+-data$/);
    expect(existsSync(join(templateDir(), 'PG_VERSION'))).toBe(true);
  });

  it('seeds a data dir without a database, once, and never one that has a database', async () => {
    const dir = await newDir();
    expect(seedFromTemplate(dir)).toBe(true);
    expect(readFileSync(join(dir, 'PG_VERSION'), 'utf8')).toBe(readFileSync(join(templateDir(), 'PG_VERSION'), 'utf8'));
    writeFileSync(join(dir, 'postgresql.auto.conf'), '# mine\n');
    expect(seedFromTemplate(dir)).toBe(false);
    expect(readFileSync(join(dir, 'postgresql.auto.conf'), 'utf8')).toBe('# mine\n');
  });

  it('openStore on a new data dir starts from the template; two such databases are independent', async () => {
    const lines: string[] = [];
    const logger: StorageLogger = { info: (_o, m) => void lines.push(m ?? ''), warn: () => undefined, error: () => undefined };
    const [a, b] = [await newDir(), await newDir()];
    const sa = await openStore({ dataDir: a, logger });
    stores.push(sa);
    const sb = await openStore({ dataDir: b });
    stores.push(sb);
    expect(lines).toContain('new embedded database, created from the template');
    await sa.inbox.accept({
      platform: 'github',
      deliveryId: 'only-in-a',
      eventName: 'issues',
      payload: '{}',
      receivedAt: new Date(),
    });
    expect(await sa.store.getDelivery('github', 'only-in-a')).not.toBeNull();
    expect(await sb.store.getDelivery('github', 'only-in-a')).toBeNull();
    // reopened: no second seeding
    await sa.close();
    stores.splice(stores.indexOf(sa), 1);
    lines.length = 0;
    const again = await openStore({ dataDir: a, logger });
    stores.push(again);
    expect(lines).not.toContain('new embedded database, created from the template');
    expect(await again.store.getDelivery('github', 'only-in-a')).not.toBeNull();
  });
});
