/** Running the CLI in tests: `main()` with captured output, a temp dir, and GATEHOUSE_POLICY unset. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { main } from '../../src/cli.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export async function runCli(...args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['node', 'gatehouse', ...args], { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Registers hooks for a temp dir (removed afterwards) and an unset GATEHOUSE_POLICY; returns the dir's getter. */
export function cliSandbox(prefix: string): () => string {
  let dir = '';
  let saved: string | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    saved = process.env['GATEHOUSE_POLICY'];
    delete process.env['GATEHOUSE_POLICY'];
  });
  afterEach(() => {
    if (saved === undefined) delete process.env['GATEHOUSE_POLICY'];
    else process.env['GATEHOUSE_POLICY'] = saved;
  });
  return () => dir;
}
