/**
 * bench/ingest: N signed `issues.opened` deliveries over loopback, to a bare Probot app that does
 * nothing and to Gatehouse (which persists every delivery before acknowledging), in the same run.
 *
 *   npx tsx bench/ingest.ts [--n 2000] [--concurrency 32] [--rate 200] [--seconds 10] [--rounds 1] [--warmup 50]
 *
 * Prints acknowledgements per second (closed loop, `--concurrency` in flight) and p50/p99
 * acknowledgement latency at a fixed open-loop rate (`--rate` requests per second).
 * With `--rounds R`, the two servers are measured alternately R times each (a fresh server every
 * time), and the summary gives the median of the per-round ratios: on a shared machine the speed
 * drifts from minute to minute, and alternating keeps that drift out of the comparison.
 * `--warmup W` sends W deliveries (at `--concurrency`) to each fresh server before measuring: the
 * first seconds of a process compile its JavaScript and, in Gatehouse, tier up the embedded
 * database's WebAssembly; a larger W measures the steady state instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '32' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '50' },
  },
});
const N = Number(values.n);
const CONCURRENCY = Number(values.concurrency);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const ROUNDS = Math.max(1, Number(values.rounds));
const WARMUP = Math.max(0, Number(values.warmup));
const SECRET = 'bench-secret';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, unknown>[] }[];
const opened = examples.find((g) => g.name === 'issues')!.examples.find((e) => e['action'] === 'opened')!;
const payload = JSON.stringify({ ...opened, installation: { id: 1 } });
const signature = `sha256=${createHmac('sha256', SECRET).update(payload).digest('hex')}`;
const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

const dispatcher = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });

async function deliver(port: number): Promise<number> {
  const started = performance.now();
  const res = await request(`http://127.0.0.1:${port}/api/github/webhooks`, {
    method: 'POST',
    dispatcher,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issues',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': signature,
    },
    body: payload,
  });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  return performance.now() - started;
}

function startServer(mode: string): Promise<{ child: ChildProcess; port: number; output: string[] }> {
  const child = spawn(process.execPath, [...(process.env['PROF'] ? ['--cpu-prof', '--cpu-prof-dir=' + process.env['PROF']] : []), '--import', 'tsx', new URL('./ingest-server.ts', import.meta.url).pathname, mode, SECRET], {
    env: { ...process.env, BENCH_PRIVATE_KEY: privateKey },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of chunk.split('\n').filter(Boolean)) {
        output.push(line);
        const m = /^READY (\d+)/.exec(line);
        if (m) resolve({ child, port: Number(m[1]), output });
      }
    });
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

/** CPU seconds a process has used (user + system), from /proc; null where there is no /proc. */
function cpuSeconds(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in ticks of 1/100 s
  } catch {
    return null;
  }
}

/** CPU seconds per thread of a process (by thread id), from /proc; empty where there is no /proc. */
function threadCpuSeconds(pid: number | undefined): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      out.set(`${tid === String(pid) ? 'main' : name}#${tid}`, (Number(fields[11]) + Number(fields[12])) / 100);
    }
  } catch {
    // no /proc here
  }
  return out;
}

/** Resolves once Gatehouse says every acknowledged delivery is in its database. */
function settle(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    const onLine = (chunk: string): void => {
      if (chunk.includes('SETTLED')) {
        child.stdout!.off('data', onLine);
        resolve();
      }
    };
    child.stdout!.on('data', onLine);
    child.kill('SIGUSR2');
  });
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function measure(mode: string): Promise<{ mode: string; ackPerSec: number; storedPerSec: number | null; serverCpuMs: number | null; busiest: string; clientCpuMs: number; p50: number; p99: number; max: number; errors: number; stored: string }> {
  const { child, port, output } = await startServer(mode);
  let errors = 0;
  let warmed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (warmed++ < WARMUP) await deliver(port).catch(() => errors++);
    }),
  );
  if (mode === 'gatehouse') await settle(child); // the journal drained: the measurement starts empty

  // Closed loop: throughput.
  let next = 0;
  const serverCpu0 = cpuSeconds(child.pid);
  const threads0 = threadCpuSeconds(child.pid);
  const clientCpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < N) await deliver(port).catch(() => errors++);
    }),
  );
  const ackSeconds = (performance.now() - t0) / 1000;
  const ackPerSec = N / ackSeconds;
  const clientCpu = process.cpuUsage(clientCpu0);
  const clientCpuMs = ((clientCpu.user + clientCpu.system) / 1000) / N;
  // Gatehouse acknowledges once a delivery is journaled; how long until all N are in the database?
  let storedPerSec: number | null = null;
  if (mode === 'gatehouse') {
    await settle(child);
    storedPerSec = N / ((performance.now() - t0) / 1000);
  }
  // Server CPU per delivery, through storing (Gatehouse's database thread included).
  const serverCpu1 = cpuSeconds(child.pid);
  const threads1 = threadCpuSeconds(child.pid);
  const busiest = [...threads1]
    .map(([t, sec]) => [t, ((sec - (threads0.get(t) ?? 0)) * 1000) / N] as const)
    .filter(([, ms]) => ms >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([t, ms]) => `${t.split('#')[0]} ${ms.toFixed(3)}`)
    .join(', ');
  const serverCpuMs = serverCpu0 === null || serverCpu1 === null ? null : ((serverCpu1 - serverCpu0) * 1000) / N;

  // Open loop at a fixed rate: latency.
  const latencies: number[] = [];
  const total = RATE * SECONDS;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(deliver(port).then((ms) => void latencies.push(ms), () => void errors++));
  }
  await Promise.all(inflight);
  latencies.sort((a, b) => a - b);

  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  const stored = output.find((l) => l.startsWith('STORED'))?.split(' ')[1] ?? 'n/a';
  return { mode, ackPerSec, storedPerSec, serverCpuMs, busiest, clientCpuMs, p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: latencies[latencies.length - 1] ?? 0, errors, stored };
}

type Result = Awaited<ReturnType<typeof measure>>;
const rounds: { probot: Result; gatehouse: Result }[] = [];
for (let r = 0; r < ROUNDS; r++) {
  // Alternate which goes first, so that neither always runs on a warmer or cooler machine.
  const first = r % 2 === 0 ? 'probot' : 'gatehouse';
  const a = await measure(first);
  const b = await measure(first === 'probot' ? 'gatehouse' : 'probot');
  rounds.push(first === 'probot' ? { probot: a, gatehouse: b } : { probot: b, gatehouse: a });
}
await dispatcher.close();

const fmt = (r: Result) =>
  `${r.mode.padEnd(10)} ${r.ackPerSec.toFixed(0).padStart(8)} ack/s   p50 ${r.p50.toFixed(2).padStart(7)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms   max ${r.max.toFixed(1).padStart(7)} ms   errors ${r.errors}   stored ${r.stored}   cpu/delivery server ${r.serverCpuMs?.toFixed(3) ?? 'n/a'} ms, client ${r.clientCpuMs.toFixed(3)} ms\n${' '.repeat(11)}server threads (cpu ms/delivery): ${r.busiest || 'n/a'}`;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
console.log(`bench/ingest: ${N} deliveries at concurrency ${CONCURRENCY} after ${WARMUP} warm-up; latency at ${RATE} req/s for ${SECONDS} s; ${ROUNDS} round(s) (node ${process.version})`);
rounds.forEach(({ probot, gatehouse }, i) => {
  if (ROUNDS > 1) console.log(`-- round ${i + 1}`);
  console.log(fmt(probot));
  console.log(fmt(gatehouse));
  console.log(`ratio (gatehouse / bare probot throughput): ${(gatehouse.ackPerSec / probot.ackPerSec).toFixed(2)}   target >= 0.50`);
  console.log(`gatehouse: all ${N} stored in the database (journal drained) at ${gatehouse.storedPerSec?.toFixed(0)} deliveries/s; ratio to bare probot ${((gatehouse.storedPerSec ?? 0) / probot.ackPerSec).toFixed(2)}`);
  console.log(`gatehouse p99 at ${RATE} req/s: ${gatehouse.p99.toFixed(2)} ms   target < 100 ms`);
});
if (ROUNDS > 1) {
  const ratios = rounds.map((r) => r.gatehouse.ackPerSec / r.probot.ackPerSec);
  console.log(`== ${ROUNDS} rounds: ratio median ${median(ratios).toFixed(2)} (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})   target >= 0.50`);
  console.log(`   gatehouse p99 median ${median(rounds.map((r) => r.gatehouse.p99)).toFixed(2)} ms (max ${Math.max(...rounds.map((r) => r.gatehouse.p99)).toFixed(2)} ms)   target < 100 ms`);
}
