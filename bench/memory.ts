/**
 * bench/memory: the resident memory of `npm start`'s process, idle and after a burst of webhooks,
 * beside a bare Probot app's.
 *
 *   npx tsx bench/memory.ts [--burst 500] [--idle 10] [--settle 20] [--seconds 5]
 *                           [--only embedded|postgres|probot] [--node-flags='<flags>'] [--env K=V,…] [--no-start-env] [--tsx]
 *
 * Each subject runs in a child process the way a user runs it: Gatehouse as `npm start` runs it,
 * `node <the flags of package.json's start script>` on the JavaScript `npm run build` emits into
 * dist/ (built first; bench/memory-gatehouse.mjs starts it as bin/gatehouse.js would, with
 * GitHub's write spacing off), `--tsx` on the TypeScript sources through tsx instead, on (a) the embedded database in a new temp
 * dir and (b) PostgreSQL (a throwaway database on GATEHOUSE_TEST_PG_URL or BENCH_DATABASE_URL;
 * "skipped" without either), and (c) a bare Probot app (bench/memory-probot.mjs) that makes the
 * same writes, a label and a comment per opened issue. GitHub's API is a fake on loopback
 * (test/support/fake-github.ts, GHE_HOST with GHE_PROTOCOL=http).
 *
 * Per subject: VmRSS after `--idle` seconds idle after start; then `--burst` signed `issues`
 * intake deliveries (new issue numbers, spread over `--seconds`), waited for until every issue has
 * its comment, then `--settle` seconds idle, VmRSS again; VmHWM (the peak) at the end. Gatehouse's
 * pieces are read as well: the main thread's V8 heap (used/committed) and external memory, from
 * /metrics, and the PGlite thread's WebAssembly memory (the resident part of the process's
 * mappings of 4 GiB or more: a WebAssembly memory reserves its whole address range up front).
 * `--node-flags` replaces the start script's flags (to measure a flag); `--env` adds environment
 * to the start script's (MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_), `--no-start-env` drops that.
 * Loopback only; the whole run is stopped after 10 minutes.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { intakeBody } from '../test/builders/intake.ts';
import { startFakeGitHub, type FakeGitHub } from '../test/support/fake-github.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../test/support/github.ts';
import {
  mappings,
  nodeMemoryMiB,
  residentMiB,
  START_ENV,
  START_FLAGS,
  startBenchGatehouse,
  startBenchProcess,
  withThrowawayDatabase,
  type BenchProcess,
} from './support/process.ts';

const { values } = parseArgs({
  options: {
    burst: { type: 'string', default: '500' },
    idle: { type: 'string', default: '10' },
    settle: { type: 'string', default: '20' },
    seconds: { type: 'string', default: '5' },
    only: { type: 'string' },
    'node-flags': { type: 'string', default: START_FLAGS.join(' ') },
    env: { type: 'string', default: '' },
    tsx: { type: 'boolean', default: false },
    'start-env': { type: 'boolean', default: true },
  },
  allowNegative: true,
});
const BURST = Number(values.burst);
const IDLE_S = Number(values.idle);
const SETTLE_S = Number(values.settle);
const SECONDS = Number(values.seconds);
const NODE_FLAGS = values['node-flags'].split(' ').filter(Boolean);
const EXTRA_ENV = Object.fromEntries(
  values.env
    .split(',')
    .filter(Boolean)
    .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
);
const SECRET = 'bench-memory-secret';
const PROBOT = new URL('./memory-probot.mjs', import.meta.url).pathname;

const hardStop = setTimeout(() => {
  console.error('bench/memory: stopped after 10 minutes');
  process.exit(2);
}, 10 * 60_000);
hardStop.unref();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Row {
  subject: string;
  idleRss: number;
  burstRss: number;
  hwm: number;
  idlePieces: string;
  burstPieces: string;
  burstIn: number;
}

/**
 * Resident MiB of WebAssembly memories (the PGlite thread's): a read-write mapping followed by the
 * inaccessible reservation V8 keeps behind it, together 4 GiB or more (its guard region).
 */
function wasmMiB(pid: number): number {
  const maps = mappings(pid);
  let sum = 0;
  for (let i = 0; i + 1 < maps.length; i++) {
    const [a, b] = [maps[i]!, maps[i + 1]!];
    if (a.perms.startsWith('rw') && b.perms.startsWith('---') && b.start === a.end && b.end - a.start >= 2 ** 32) sum += a.rssMiB;
  }
  return sum;
}

async function pieces(pid: number, url: string | null): Promise<string> {
  const wasm = wasmMiB(pid);
  if (!url) return wasm ? `wasm ${wasm.toFixed(0)}` : '';
  const heap = await nodeMemoryMiB(url);
  return `heap ${heap.used.toFixed(0)}/${heap.total.toFixed(0)}, external ${heap.external.toFixed(0)}, wasm ${wasm.toFixed(0)}`;
}

async function burst(url: string, fake: FakeGitHub): Promise<number> {
  const began = performance.now();
  const gap = (SECONDS * 1000) / BURST;
  let bad = 0;
  await Promise.all(
    Array.from({ length: BURST }, async (_, i) => {
      const wait = began + i * gap - performance.now();
      if (wait > 0) await sleep(wait);
      const d = githubDelivery({ name: 'issues', secret: SECRET, payload: issuesPayload({ body: intakeBody({}), number: i + 1 }) });
      // A connection the server drops (its bound on bodies not yet verified) counts as not acknowledged.
      const res = await fetch(`${url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body }).catch(() => null);
      await res?.arrayBuffer();
      if (!res || res.status < 200 || res.status > 299) bad++;
    }),
  );
  if (bad) console.log(`  ${bad} deliveries were not acknowledged with 2xx`);
  const until = Date.now() + 180_000;
  const commented = (): number =>
    [...fake.comments.values()].filter((l) => l.some((c) => c.body.includes('<!-- gatehouse:intake -->'))).length;
  while (commented() < BURST && Date.now() < until) await sleep(250);
  if (commented() < BURST) console.log(`  only ${commented()}/${BURST} issues were commented on within 180 s`);
  return (performance.now() - began) / 1000;
}

/** Measures a subject that `start` starts with the fake's environment (GitHub App, the fake as GitHub Enterprise). */
async function measure(subject: string, start: (env: Record<string, string>) => Promise<BenchProcess>, metrics: boolean): Promise<Row> {
  const fake = await startFakeGitHub();
  const run = await start({
    APP_ID: '1',
    PRIVATE_KEY: testPrivateKey(),
    WEBHOOK_SECRET: SECRET,
    GHE_HOST: fake.host,
    GHE_PROTOCOL: 'http',
  });
  const pid = run.pid;
  try {
    await sleep(IDLE_S * 1000);
    const idleRss = residentMiB(pid, 'VmRSS');
    const idlePieces = await pieces(pid, metrics ? run.url : null);
    const burstIn = await burst(run.url, fake);
    await sleep(SETTLE_S * 1000);
    const burstRss = residentMiB(pid, 'VmRSS');
    const burstPieces = await pieces(pid, metrics ? run.url : null);
    const row = { subject, idleRss, burstRss, hwm: residentMiB(pid, 'VmHWM'), idlePieces, burstPieces, burstIn };
    console.log(
      `${subject}: idle ${idleRss.toFixed(0)} MiB (${idlePieces}); after burst ${burstRss.toFixed(0)} MiB (${burstPieces}), processed in ${burstIn.toFixed(1)} s; peak ${row.hwm.toFixed(0)} MiB`,
    );
    return row;
  } catch (err) {
    console.error(
      `${subject}: ${run.child.exitCode !== null || run.child.signalCode !== null ? `exited (${run.child.signalCode ?? run.child.exitCode})` : 'failed'}; its last lines:\n${run.logs.slice(-30).join('\n')}`,
    );
    throw err;
  } finally {
    await run.stop();
    await fake.close();
  }
}

// `npm start`'s flags on the emitted JavaScript (or, with --tsx, the sources through tsx), GitHub's
// write spacing off: the fake does not rate-limit, and 500 intakes spaced by it would take minutes.
if (!values.tsx && values.only !== 'probot') {
  execFileSync('npm', ['run', '-s', 'build'], { cwd: new URL('..', import.meta.url).pathname, stdio: 'inherit' });
}
const gatehouse =
  (env: Record<string, string>) =>
  (fakeEnv: Record<string, string>): Promise<BenchProcess> =>
    startBenchGatehouse(
      { ...fakeEnv, ...env, GATEHOUSE_CHILD_THROTTLE: '0', ...EXTRA_ENV },
      { nodeFlags: NODE_FLAGS, startEnv: values['start-env'], built: !values.tsx },
    );
const rows: (Row | string)[] = [];

if (!values.only || values.only === 'embedded') {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-memory-'));
  try {
    rows.push(await measure('Gatehouse, embedded database', gatehouse({ GATEHOUSE_DATA_DIR: join(dir, 'data') }), true));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
if (!values.only || values.only === 'postgres') {
  const server = process.env['BENCH_DATABASE_URL'] || process.env['GATEHOUSE_TEST_PG_URL'];
  if (!server) {
    rows.push('Gatehouse, PostgreSQL: skipped (set GATEHOUSE_TEST_PG_URL to a postgres:// server URL)');
  } else {
    await withThrowawayDatabase(server, async (url) => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-memory-'));
      try {
        rows.push(await measure('Gatehouse, PostgreSQL', gatehouse({ DATABASE_URL: url, GATEHOUSE_DATA_DIR: join(dir, 'unused') }), true));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}
if (!values.only || values.only === 'probot') {
  rows.push(await measure('bare Probot app', (env) => startBenchProcess([PROBOT], { ...env, ...EXTRA_ENV }), false));
}

console.log(
  `\nnode ${process.version}; Gatehouse ${values.tsx ? 'through tsx' : 'built'}, flags: ${NODE_FLAGS.join(' ') || '(none)'}, env: ${
    Object.entries({ ...(values['start-env'] ? START_ENV : {}), ...EXTRA_ENV })
      .map(([k, v]) => `${k}=${v}`)
      .join(' ') || '(none)'
  }; burst ${BURST} intakes over ${SECONDS} s, idle ${IDLE_S} s, settle ${SETTLE_S} s`,
);
console.log(
  '| subject | idle RSS (MiB) | after burst (MiB) | peak VmHWM (MiB) | idle: heap used/committed, external, wasm | after burst: same |',
);
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  if (typeof r === 'string') console.log(`| ${r} | | | | | |`);
  else
    console.log(
      `| ${r.subject} | ${r.idleRss.toFixed(0)} | ${r.burstRss.toFixed(0)} | ${r.hwm.toFixed(0)} | ${r.idlePieces || '–'} | ${r.burstPieces || '–'} |`,
    );
}
clearTimeout(hardStop);
