/**
 * bench/slack: how long Slack users wait.
 *
 * 1. Notice latency: N tier-3 intake webhooks (signed GitHub deliveries, one issue each) sent to a
 *    Gatehouse on loopback; the time from sending each webhook to the moment its notice reaches
 *    Slack's `chat.postMessage` (a loopback stand-in for GitHub's and Slack's APIs). Prints p50, p99.
 *    The policy's per-channel pacing (chat.sendIntervalMs, 1 s by default, Slack's own rule) spaces
 *    notices to one channel; the bench measures with `--interval 0` by default to see Gatehouse's own
 *    latency, and `--interval 1000` shows what pacing adds.
 * 2. Command acknowledgement: R rounds of C concurrent signed `/gatehouse status <url>` commands;
 *    the time to each 200. Prints p50, p99, max.
 *
 *   npx tsx bench/slack.ts [--intakes 200] [--rate 10] [--interval 0] [--commands 50] [--rounds 5] [--concurrency 16]
 * Each intake's processing makes two GitHub writes, which GitHub asks to space ~1 s apart per
 * installation (the client obeys): worker concurrency (jobs at once, default 16) bounds throughput.
 * Talks to 127.0.0.1 only; bounded in count and time; removes its data dir.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startGatehouse } from '../src/main.ts';
import { githubBody, answers } from '../test/builders/intake.ts';
import { startFakeGitHub } from '../test/support/fake-github.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../test/support/github.ts';
import { slackHeaders, slashCommandBody } from '../test/support/slack.ts';

const { values } = parseArgs({
  options: {
    intakes: { type: 'string', default: '200' },
    rate: { type: 'string', default: '10' },
    interval: { type: 'string', default: '0' },
    commands: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: '16' },
  },
});
const N = Number(values.intakes);
const RATE = Number(values.rate);
const INTERVAL = Number(values.interval);
const C = Number(values.commands);
const R = Number(values.rounds);
const SECRET = 'bench-webhook-secret';

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const ms = (x: number): string => `${x.toFixed(1)} ms`;

// Slack's Web API stand-in: records when each notice arrives, by the issue URL in it.
const arrivals = new Map<number, number>();
const slackApi = createServer((req: IncomingMessage, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const m = /issues\/(\d+)/.exec(form.get('blocks') ?? '');
    if (m && req.url?.endsWith('chat.postMessage')) arrivals.set(Number(m[1]), performance.now());
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, channel: 'C0BENCH', ts: `${Date.now() / 1000}` }));
  });
});
await new Promise<void>((r) => slackApi.listen(0, '127.0.0.1', r));
const github = await startFakeGitHub();

const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-slack-'));
const policyPath = join(dir, 'policy.yml');
writeFileSync(policyPath, `chat:\n  sendIntervalMs: ${INTERVAL}\n`);
const gatehouse = await startGatehouse({
  config: {
    port: 0,
    host: '127.0.0.1',
    databaseUrl: process.env['BENCH_DATABASE_URL'],
    dataDir: join(dir, 'data'),
    policyPath,
    logLevel: 'silent',
    github: { appId: '1', privateKey: testPrivateKey(), webhookSecret: SECRET, apiBaseUrl: `http://${github.host}/api/v3` },
    gitlab: null,
    slack: {
      botToken: 'xoxb-bench',
      signingSecret: 'bench-signing-secret',
      apiUrl: `http://127.0.0.1:${(slackApi.address() as AddressInfo).port}/api/`,
    },
    off: {},
  },
  logger: pino({ level: process.env['BENCH_LOG'] ?? 'silent' }),
  github: { botLogin: 'gatehouse[bot]', throttle: false },
  queue: { concurrency: Number(values.concurrency) },
});

try {
  // 1. Notice latency.
  const body = githubBody({ answers: answers({ blast_radius: 'multiple products or trust domains' }) });
  const sent = new Map<number, number>();
  const started = performance.now();
  const posts: Promise<unknown>[] = [];
  for (let i = 1; i <= N; i++) {
    // One installation per intake: GitHub's write pacing (~1 s between writes) is per installation.
    const payload = issuesPayload({ body, number: i, installationId: i });
    (payload['issue'] as Record<string, unknown>)['html_url'] = `https://github.com/Codertocat/Hello-World/issues/${i}`;
    const d = githubDelivery({ name: 'issues', secret: SECRET, payload });
    sent.set(i, performance.now());
    posts.push(
      fetch(`${gatehouse.url}/api/github/webhooks`, { method: 'POST', headers: d.headers, body: d.body }).then((r) => r.arrayBuffer()),
    );
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(posts);
  const deadline = performance.now() + 60_000 + N * INTERVAL;
  while (arrivals.size < N && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (process.env['BENCH_DEBUG']) {
    console.log(
      'deliveries',
      await gatehouse.store.countDeliveries('done'),
      await gatehouse.store.countDeliveries('pending'),
      await gatehouse.store.countDeliveries('failed'),
    );
    console.log('outbox', await gatehouse.outbox.countByStatus());
    const bad = github.requests.filter((r) => !/labels|comments|access_tokens|contents/.test(r.path));
    console.log('unusual github requests', bad.slice(0, 5), github.requests.length);
  }
  const lat = [...arrivals.entries()].map(([i, at]) => at - sent.get(i)!);
  console.log(
    `notices: ${arrivals.size}/${N} tier-3 intakes reached chat.postMessage (sent at ${RATE}/s, channel pacing ${INTERVAL} ms, worker concurrency ${values.concurrency})`,
  );
  console.log(`  webhook -> chat.postMessage: p50 ${ms(pct(lat, 50))}, p99 ${ms(pct(lat, 99))}, max ${ms(Math.max(...lat))}`);

  // 2. Command acknowledgements under C concurrent commands.
  const acks: number[] = [];
  for (let r = 0; r < R; r++) {
    await Promise.all(
      Array.from({ length: C }, async (_, i) => {
        const text = `status https://github.com/Codertocat/Hello-World/issues/${(i % N) + 1}`;
        const b = slashCommandBody({ text, triggerId: `t-${r}-${i}` });
        const t0 = performance.now();
        const res = await fetch(`${gatehouse.url}/slack/events`, {
          method: 'POST',
          headers: slackHeaders(b, { secret: 'bench-signing-secret' }),
          body: b,
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`command answered ${res.status}`);
        acks.push(performance.now() - t0);
      }),
    );
  }
  console.log(`commands: ${acks.length} /gatehouse status in ${R} rounds of ${C} at once`);
  console.log(`  acknowledgement: p50 ${ms(pct(acks, 50))}, p99 ${ms(pct(acks, 99))}, max ${ms(Math.max(...acks))}`);
} finally {
  await gatehouse.close();
  await github.close();
  slackApi.closeAllConnections();
  slackApi.close();
  rmSync(dir, { recursive: true, force: true });
}
