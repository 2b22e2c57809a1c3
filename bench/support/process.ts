/**
 * The benches' process handling: Gatehouse (or a peer) in a child process on loopback, started as
 * `npm start` runs it and resolved once it prints `READY <url> <pid>`; its memory read from /proc
 * and /metrics; stopped with SIGTERM (`stop()`). And a throwaway PostgreSQL database to run it on.
 */
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { START_ENV, START_FLAGS, startChild, type ChildGatehouse } from '../../test/support/child-gatehouse.ts';

export type BenchProcess = ChildGatehouse;
export { START_ENV, START_FLAGS };

const CHILD = new URL('../../test/support/gatehouse-child.ts', import.meta.url).pathname;
const BUILT_CHILD = new URL('../memory-gatehouse.mjs', import.meta.url).pathname;

/**
 * Gatehouse with `nodeFlags` (default `npm start`'s) and `npm start`'s environment (unless
 * `startEnv` is false) under `env`: the TypeScript sources through tsx (test/support/gatehouse-child.ts),
 * or with `built` the JavaScript `npm run build` emitted (bench/memory-gatehouse.mjs; build it first).
 */
export function startBenchGatehouse(
  env: Record<string, string>,
  { nodeFlags = [...START_FLAGS], startEnv = true, built = false }: { nodeFlags?: string[]; startEnv?: boolean; built?: boolean } = {},
): Promise<BenchProcess> {
  return startChild(built ? [...nodeFlags, BUILT_CHILD] : [...nodeFlags, '--import', 'tsx', CHILD], {
    ...(startEnv ? START_ENV : {}),
    ...env,
  });
}

/** Any other Node script that prints `READY <url> <pid>` once it listens (a peer app). */
export function startBenchProcess(args: string[], env: Record<string, string>): Promise<BenchProcess> {
  return startChild(args, env);
}

/** A process's resident memory now (VmRSS) or at its peak (VmHWM), in MiB. */
export function residentMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export interface Mapping {
  start: number;
  end: number;
  perms: string;
  /** The mapped file, or `anonymous`. */
  name: string;
  rssMiB: number;
}

/** A process's memory mappings in address order, with their resident memory (/proc/<pid>/smaps). */
export function mappings(pid: number): Mapping[] {
  const out: Mapping[] = [];
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) out.push({ start: parseInt(m[1]!, 16), end: parseInt(m[2]!, 16), perms: m[3]!, name: m[4] || 'anonymous', rssMiB: 0 });
    else if (line.startsWith('Rss:') && out.length) out.at(-1)!.rssMiB = Number(/(\d+)/.exec(line)![1]) / 1024;
  }
  return out;
}

/** Gatehouse's main-thread V8 heap (used, committed) and external memory in MiB, from its /metrics. */
export async function nodeMemoryMiB(url: string): Promise<{ used: number; total: number; external: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) / 2 ** 20 : NaN;
  };
  return {
    used: read('gatehouse_nodejs_heap_size_used_bytes'),
    total: read('gatehouse_nodejs_heap_size_total_bytes'),
    external: read('gatehouse_nodejs_external_memory_bytes'),
  };
}

/** Runs `use` on a new database on the PostgreSQL server at `server` (a postgres:// URL), dropped afterwards. */
export async function withThrowawayDatabase<T>(server: string, use: (url: string) => Promise<T>): Promise<T> {
  const name = `gatehouse_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: server });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(server);
  url.pathname = `/${name}`;
  try {
    return await use(url.toString());
  } finally {
    const c = new pg.Client({ connectionString: server });
    await c.connect();
    await c.query(`drop database if exists ${name} with (force)`);
    await c.end();
  }
}
