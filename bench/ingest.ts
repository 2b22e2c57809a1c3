/**
 * bench/ingest: signed `issues.opened` deliveries over loopback, to a bare Probot app that does
 * nothing and to Gatehouse (which persists every delivery before acknowledging), in the same run.
 *
 *   npx tsx bench/ingest.ts [--n 24000] [--slices 8] [--concurrency 32] [--warmup 4000]
 *                           [--rate 200] [--seconds 10] [--client lean|undici] [--node-flags=OPTIONS]
 *
 * Throughput: both servers run side by side, and each gets `--n` deliveries in `--slices` slices,
 * alternating (probot, gatehouse, gatehouse, probot, ...), closed loop with `--concurrency` in
 * flight. A Gatehouse slice lasts until its deliveries are all in the database, so none of its
 * work spills into the next slice, and each slice (and each latency phase) waits until the other
 * server has used no CPU for 100 ms. On a shared machine the speed drifts from second to second;
 * short alternating slices keep that drift out of the comparison, and the per-pair ratios show
 * how much it moved. Prints acknowledgements per second (deliveries over the time until the last
 * acknowledgement), CPU per delivery (server threads and the load generator), and the ratio
 * overall and per pair of slices; and, for Gatehouse, deliveries per second over the time until
 * the last one is in the database (Gatehouse stores each delivery, with its job and flushed to
 * disk, before acknowledging it, so this differs from the acknowledgement rate only by the round
 * trip of asking). The acknowledgement floor asked of Gatehouse: at least 300 a second, and p99
 * under 100 ms at 200 a second.
 * Latency: p50/p99 acknowledgement latency at a fixed open-loop rate (`--rate` per second).
 * `--warmup W` sends W deliveries to each server first: the first seconds of a process compile
 * its JavaScript and, in Gatehouse, tier up the embedded database's WebAssembly.
 * `--client`: the lean load generator (bench/lean-client.ts, default) or undici's.
 * `--node-flags=OPTIONS` (with `=`, as the options start with `--`): Node options for both
 * servers; by default those of `npm start` (package.json); `--node-flags=` for none.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent, request } from 'undici';
import { LeanPool } from './lean-client.ts';
import { START_FLAGS } from '../test/support/child-gatehouse.ts';

const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '24000' },
    concurrency: { type: 'string', default: '32' },
    rate: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '10' },
    slices: { type: 'string', default: '8' },
    warmup: { type: 'string', default: '4000' },
    client: { type: 'string', default: 'lean' },
    'node-flags': { type: 'string', default: START_FLAGS.join(' ') },
  },
});
const N = Number(values.n);
const CONCURRENCY = Number(values.concurrency);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const SLICES = Math.max(1, Number(values.slices));
const WARMUP = Math.max(0, Number(values.warmup));
const CLIENT = values.client === 'undici' ? 'undici' : 'lean';
const NODE_FLAGS = (values['node-flags'] ?? '').split(' ').filter(Boolean);
const SECRET = 'bench-secret';

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as { name: string; examples: Record<string, unknown>[] }[];
const opened = examples.find((g) => g.name === 'issues')!.examples.find((e) => e['action'] === 'opened')!;
/**
 * Every delivery's body differs (a unique `bench_seq` first, the example after it): Gatehouse
 * acknowledges a body it has seen under another delivery id as a replay and never stores it.
 */
const rest = JSON.stringify({ ...opened, installation: { id: 1 } }).slice(1);
const privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();

/** A new signed body and its delivery id. */
function nextDelivery(): { id: string; body: Buffer; signature: string } {
  const id = randomUUID();
  const body = Buffer.from(`{"bench_seq":"${id}",${rest}`);
  return { id, body, signature: `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}` };
}

const headers = {
  'content-type': 'application/json',
  'x-github-event': 'issues',
};

/** Sends one signed `issues.opened` (a new delivery id each time); resolves to its latency in ms. */
interface Sender {
  deliver(): Promise<number>;
  close(): Promise<void>;
}

function sender(port: number): Sender {
  const check = (status: number, started: number): number => {
    if (status !== 200) throw new Error(`status ${status}`);
    return performance.now() - started;
  };
  if (CLIENT === 'undici') {
    const dispatcher = new Agent({ connections: 256, pipelining: 1, keepAliveTimeout: 30_000 });
    return {
      async deliver() {
        const d = nextDelivery();
        const started = performance.now();
        const res = await request(`http://127.0.0.1:${port}/api/github/webhooks`, {
          method: 'POST',
          dispatcher,
          headers: { ...headers, 'x-github-delivery': d.id, 'x-hub-signature-256': d.signature },
          body: d.body,
        });
        await res.body.dump();
        return check(res.statusCode, started);
      },
      close: () => dispatcher.close(),
    };
  }
  const pool = new LeanPool(port, 256);
  const head = `POST /api/github/webhooks HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n`;
  return {
    async deliver() {
      const d = nextDelivery();
      const started = performance.now();
      return check(
        await pool.request({ head: `${head}x-hub-signature-256: ${d.signature}\r\nx-github-delivery: ${d.id}`, body: d.body }),
        started,
      );
    },
    close: async () => pool.close(),
  };
}

function startServer(mode: string): Promise<{ child: ChildProcess; port: number; output: string[] }> {
  const child = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      ...(process.env['PROF'] ? ['--cpu-prof', '--cpu-prof-dir=' + process.env['PROF']] : []),
      '--import',
      'tsx',
      new URL('./ingest-server.ts', import.meta.url).pathname,
      mode,
      SECRET,
    ],
    {
      env: { ...process.env, BENCH_PRIVATE_KEY: privateKey },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
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

interface Server {
  mode: 'probot' | 'gatehouse';
  child: ChildProcess;
  output: string[];
  deliver: () => Promise<number>;
  close: () => Promise<void>;
}

interface Totals {
  n: number;
  ackSeconds: number;
  storedSeconds: number;
  serverCpuSeconds: number | null;
  threads: Map<string, number>;
  clientCpuMicros: number;
  /** CPU the other server used meanwhile (it should be idle). */
  otherCpuSeconds: number;
  errors: number;
}

async function start(mode: Server['mode']): Promise<Server> {
  const { child, port, output } = await startServer(mode);
  return { mode, child, output, ...sender(port) };
}

/** `count` deliveries at `--concurrency` in flight; errors counted. */
async function closedLoop(server: Server, count: number): Promise<number> {
  let next = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < count) await server.deliver().catch(() => errors++);
    }),
  );
  return errors;
}

/**
 * Waits until a server has used no CPU for 100 ms (at most 2 s): after a burst a process still
 * collects garbage and runs its timers, and that must not be counted against the other server.
 */
async function quiet(server: Server): Promise<void> {
  for (let waited = 0; waited < 2000; waited += 100) {
    const c0 = cpuSeconds(server.child.pid);
    await new Promise((r) => setTimeout(r, 100));
    if (c0 === null || cpuSeconds(server.child.pid) === c0) return;
  }
}

/** One slice: `count` deliveries to one server; for Gatehouse, until all are in the database. */
async function slice(server: Server, other: Server, count: number, totals: Totals): Promise<number> {
  await quiet(other);
  const other0 = cpuSeconds(other.child.pid);
  const cpu0 = cpuSeconds(server.child.pid);
  const threads0 = threadCpuSeconds(server.child.pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  totals.errors += await closedLoop(server, count);
  const ackSeconds = (performance.now() - t0) / 1000;
  const client = process.cpuUsage(client0);
  // The slice ends once every delivery is stored (asked, not assumed), so
  // that none of its work spills into the other server's slice.
  if (server.mode === 'gatehouse') await settle(server.child);
  totals.storedSeconds += (performance.now() - t0) / 1000;
  const cpu1 = cpuSeconds(server.child.pid);
  totals.otherCpuSeconds += (cpuSeconds(other.child.pid) ?? 0) - (other0 ?? 0);
  for (const [t, sec] of threadCpuSeconds(server.child.pid))
    totals.threads.set(t, (totals.threads.get(t) ?? 0) + sec - (threads0.get(t) ?? 0));
  totals.serverCpuSeconds =
    cpu0 === null || cpu1 === null || totals.serverCpuSeconds === null ? null : totals.serverCpuSeconds + cpu1 - cpu0;
  totals.clientCpuMicros += client.user + client.system;
  totals.n += count;
  totals.ackSeconds += ackSeconds;
  return count / ackSeconds;
}

/** Open loop at `--rate` for `--seconds`: acknowledgement latencies, sorted. */
async function latencies(server: Server): Promise<{ sorted: number[]; errors: number }> {
  const out: number[] = [];
  let errors = 0;
  const total = RATE * SECONDS;
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const wait = t0 + (i * 1000) / RATE - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    inflight.push(
      server.deliver().then(
        (ms) => void out.push(ms),
        () => void errors++,
      ),
    );
  }
  await Promise.all(inflight);
  return { sorted: out.sort((a, b) => a - b), errors };
}

async function stop(server: Server): Promise<string> {
  await server.close();
  const exited = new Promise((r) => server.child.once('exit', r));
  server.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  return server.output.find((l) => l.startsWith('STORED'))?.split(' ')[1] ?? 'n/a';
}

const newTotals = (): Totals => ({
  n: 0,
  ackSeconds: 0,
  storedSeconds: 0,
  serverCpuSeconds: 0,
  threads: new Map(),
  clientCpuMicros: 0,
  otherCpuSeconds: 0,
  errors: 0,
});
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const probot = await start('probot');
const gatehouse = await start('gatehouse');
const totals = { probot: newTotals(), gatehouse: newTotals() };
const warmErrors = (await closedLoop(probot, WARMUP)) + (await closedLoop(gatehouse, WARMUP));
await settle(gatehouse.child); // every warm-up delivery stored: the measurement starts empty
const perSlice = Math.max(1, Math.floor(N / SLICES));
/** Gatehouse's rate over bare Probot's, per pair of slices. */
const ratios: number[] = [];
for (let i = 0; i < SLICES; i++) {
  // Alternate which goes first, so that neither always follows the other.
  const order = i % 2 === 0 ? [probot, gatehouse] : [gatehouse, probot];
  const rates: Record<string, number> = {};
  for (const server of order)
    rates[server.mode] = await slice(server, server === probot ? gatehouse : probot, perSlice, totals[server.mode]);
  ratios.push(rates['gatehouse']! / rates['probot']!);
}
await quiet(gatehouse);
const probotLatency = await latencies(probot);
await quiet(probot);
const latency = { probot: probotLatency, gatehouse: await latencies(gatehouse) };
const stored = { probot: await stop(probot), gatehouse: await stop(gatehouse) };

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const ackPerSec = (t: Totals): number => t.n / t.ackSeconds;
const line = (mode: 'probot' | 'gatehouse'): string => {
  const t = totals[mode];
  const l = latency[mode];
  const threads = [...t.threads]
    .map(([name, sec]) => [name, (sec * 1000) / t.n] as const)
    .filter(([, ms]) => ms >= 0.01)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => `${name.split('#')[0]} ${ms.toFixed(3)}`)
    .join(', ');
  const cpu = t.serverCpuSeconds === null ? 'n/a' : ((t.serverCpuSeconds * 1000) / t.n).toFixed(3);
  return (
    `${mode.padEnd(10)} ${ackPerSec(t).toFixed(0).padStart(8)} ack/s   p50 ${percentile(l.sorted, 50).toFixed(2).padStart(7)} ms   p99 ${percentile(l.sorted, 99).toFixed(2).padStart(7)} ms   max ${(l.sorted.at(-1) ?? NaN).toFixed(1).padStart(7)} ms   errors ${t.errors + l.errors}   stored ${stored[mode]}   cpu/delivery server ${cpu} ms, client ${(t.clientCpuMicros / 1000 / t.n).toFixed(3)} ms\n` +
    `${' '.repeat(11)}server threads (cpu ms/delivery): ${threads || 'n/a'}\n` +
    `${' '.repeat(11)}the other server, idle meanwhile, used ${(t.otherCpuSeconds * 1000).toFixed(0)} ms of CPU over ${t.ackSeconds.toFixed(1)} s`
  );
};
console.log(
  `bench/ingest: ${SLICES} alternating slices of ${perSlice} deliveries per server at concurrency ${CONCURRENCY}, after ${WARMUP} warm-up; ${CLIENT} client; node flags '${NODE_FLAGS.join(' ')}'; latency at ${RATE} req/s for ${SECONDS} s (node ${process.version})`,
);
console.log(line('probot'));
console.log(line('gatehouse'));
console.log(
  `ratio (gatehouse / bare probot throughput): ${(ackPerSec(totals.gatehouse) / ackPerSec(totals.probot)).toFixed(2)} overall; per slice pair median ${median(ratios).toFixed(2)} (min ${Math.min(...ratios).toFixed(2)}, max ${Math.max(...ratios).toFixed(2)})   target >= 0.50`,
);
console.log(
  `gatehouse: every slice stored in the database before the next: ${(totals.gatehouse.n / totals.gatehouse.storedSeconds).toFixed(0)} deliveries/s; ratio to bare probot ${(totals.gatehouse.n / totals.gatehouse.storedSeconds / ackPerSec(totals.probot)).toFixed(2)}`,
);
console.log(
  `gatehouse p99 at ${RATE} req/s: ${percentile(latency.gatehouse.sorted, 99).toFixed(2)} ms   target < 100 ms; acknowledgements ${ackPerSec(totals.gatehouse).toFixed(0)}/s   target >= 300`,
);
if (warmErrors > 0) console.log(`(${warmErrors} errors during warm-up)`);
