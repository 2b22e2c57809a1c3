/**
 * bench/load: a burst of signed webhooks and Slack commands, on the embedded database (one
 * process) and on PostgreSQL with two replicas; GitHub's, GitLab's and Slack's APIs faked on
 * loopback (test/support/fake-upstreams.ts), Gatehouse in child processes
 * (test/support/gatehouse-child.ts).
 *
 *   npx tsx bench/load.ts [--rounds 3] [--github 500] [--gitlab 200] [--slack 100] [--seconds 5]
 *                         [--only embedded|postgres] [--smaps] [--node-flags='<flags>']
 *   npx tsx bench/load.ts --hostile [--hostile-seconds 60] [--valid-rate 20] [--shape-rate 8]
 *                         [--command-rate 20] [--waves 3] [--drain 20] [--keep-log]
 *
 * `--hostile`: the hostile mix instead (bench/load-hostile.ts): one process on the embedded
 * database, its log written to a file, takes valid deliveries at a steady rate while it gets 64 KB
 * descriptions of the parsers' worst shapes, 20 MB bodies with a wrong signature, 30 MB bodies
 * over the limit and floods of refused commands; prints event-loop delay, valid acknowledgement
 * p50/p99, the hostile requests' status codes, peak RSS and log growth beside their targets
 * (about 2 minutes with the defaults).
 *
 * Each round sends, open loop and spread evenly over `--seconds`, `--github` issue intakes,
 * `--gitlab` GitLab deliveries (half issue intakes, half merge requests) and `--slack`
 * `/gatehouse status <issue URL>` commands, round-robin over the replicas, every one valid and
 * signed. Prints per round: answers that were not 2xx, p50/p99/max acknowledgement latency, and,
 * once the worker is done, whether every delivery was processed exactly once (deliveries done,
 * one intake comment per issue, one label write per issue); and the resident memory (VmRSS) of each
 * Gatehouse process after rounds 1 and the last, with the growth (`--smaps`: which memory
 * mappings grew since round 1, from /proc/<pid>/smaps).
 * PostgreSQL: BENCH_DATABASE_URL (or GATEHOUSE_TEST_PG_URL) names a server where a throwaway
 * database is created and dropped; without either, that half is skipped. GitHub's ~1 s write
 * spacing is off (the fake does not rate-limit). Loopback only; bounded in count and time (each
 * round's processing waits at most 120 s; the whole run is stopped after 15 minutes).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { answers, gitlabBody, intakeBody } from '../test/builders/intake.ts';
import { startFakeUpstreams, type FakeUpstreams } from '../test/support/fake-upstreams.ts';
import { githubDelivery, issuesPayload, testPrivateKey } from '../test/support/github.ts';
import { gitlabDelivery, gitlabFixture, issueHook } from '../test/support/gitlab.ts';
import { slackHeaders, slashCommandBody } from '../test/support/slack.ts';
import {
  mappings,
  nodeMemoryMiB,
  residentMiB,
  START_FLAGS,
  startBenchGatehouse,
  withThrowawayDatabase,
  type BenchProcess,
} from './support/process.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    github: { type: 'string', default: '500' },
    gitlab: { type: 'string', default: '200' },
    slack: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '5' },
    only: { type: 'string' },
    smaps: { type: 'boolean', default: false },
    settle: { type: 'string', default: '0' },
    // Each replica writes a V8 heap snapshot after every round (needs --node-flags='… --heapsnapshot-signal=SIGUSR2').
    snapshots: { type: 'boolean', default: false },
    // As `npm start` runs it (package.json).
    'node-flags': { type: 'string', default: START_FLAGS.join(' ') },
    // The hostile mix (bench/load-hostile.ts).
    hostile: { type: 'boolean', default: false },
    'hostile-seconds': { type: 'string', default: '60' },
    'valid-rate': { type: 'string', default: '20' },
    'shape-rate': { type: 'string', default: '8' },
    'command-rate': { type: 'string', default: '20' },
    waves: { type: 'string', default: '3' },
    drain: { type: 'string', default: '20' },
    'keep-log': { type: 'boolean', default: false },
  },
});
const ROUNDS = Math.max(1, Number(values.rounds));
const N_GITHUB = Number(values.github);
const N_GITLAB = Number(values.gitlab);
const N_SLACK = Number(values.slack);
const SECONDS = Number(values.seconds);
const SETTLE = Number(values.settle);
const GH_SECRET = 'bench-github-secret';
const GL_SECRET = 'bench-gitlab-secret';
const SLACK_SECRET = 'bench-slack-secret';
const REPO = 'Codertocat/Hello-World';
/** GitLab's API names the project by the id in the hook. */
const projectId = (fixture: string): string => String((gitlabFixture(fixture)['project'] as { id: number }).id);
const GL_ISSUES = projectId('issue-hook');
const GL_MRS = projectId('merge-request-hook');

const hardStop = setTimeout(() => {
  console.error('bench/load: stopped after 15 minutes');
  process.exit(2);
}, 15 * 60_000);
hardStop.unref();

interface Request {
  kind: 'github' | 'gitlab' | 'slack';
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** One round's requests, interleaved by kind; issue numbers are new in every round. */
function roundRequests(round: number, fake: FakeUpstreams): Request[] {
  const gh: Request[] = [];
  const base = round * 10_000;
  for (let i = 0; i < N_GITHUB; i++) {
    const d = githubDelivery({ name: 'issues', secret: GH_SECRET, payload: issuesPayload({ body: intakeBody({}), number: base + i + 1 }) });
    gh.push({ kind: 'github', path: '/api/github/webhooks', headers: d.headers, body: d.body });
  }
  const gl: Request[] = [];
  for (let i = 0; i < N_GITLAB; i++) {
    const iid = base + i + 1;
    let payload: Record<string, unknown>;
    let event: string;
    if (i % 2 === 0) {
      payload = issueHook({ description: gitlabBody({ answers: answers({}) }), iid });
      event = 'Issue Hook';
    } else {
      payload = gitlabFixture('merge-request-hook');
      Object.assign(payload['object_attributes'] as object, { iid, action: 'open', state: 'opened' });
      event = 'Merge Request Hook';
    }
    const d = gitlabDelivery({ event, payload, token: GL_SECRET });
    gl.push({ kind: 'gitlab', path: '/api/gitlab/webhooks', headers: d.headers, body: d.body });
  }
  const sl: Request[] = [];
  for (let i = 0; i < N_SLACK; i++) {
    const form = new URLSearchParams(
      slashCommandBody({
        text: `status https://${fake.host}/${REPO}/issues/${base + (i % Math.max(1, N_GITHUB)) + 1}`,
        triggerId: `t${round}.${i}`,
      }),
    );
    form.set('response_url', `${fake.url}/slack-response/${round}/${i}`);
    const body = form.toString();
    sl.push({ kind: 'slack', path: '/slack/events', headers: slackHeaders(body, { secret: SLACK_SECRET }), body });
  }
  // Interleave so that every kind is spread over the whole burst.
  const all: Request[] = [];
  const lists = [gh, gl, sl];
  const total = gh.length + gl.length + sl.length;
  const taken = [0, 0, 0];
  for (let k = 0; k < total; k++) {
    // Pick the list that is furthest behind its share.
    let best = 0;
    let lag = -Infinity;
    for (let j = 0; j < 3; j++) {
      const list = lists[j]!;
      if (taken[j]! >= list.length) continue;
      const l = ((k + 1) * list.length) / total - taken[j]!;
      if (l > lag) [best, lag] = [j, l];
    }
    all.push(lists[best]![taken[best]!++]!);
  }
  return all;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Sum of gatehouse_deliveries_total{outcome=...} over the replicas' /metrics. */
async function deliveriesCounted(replicas: BenchProcess[], outcome: string): Promise<number> {
  let n = 0;
  for (const r of replicas) {
    const text = await (await fetch(`${r.url}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (line.startsWith('gatehouse_deliveries_total{') && line.includes(`outcome="${outcome}"`))
        n += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return n;
}

/** Resident memory per mapping (start address → MiB, with its name), from /proc/<pid>/smaps. */
function byStart(pid: number): Map<string, { name: string; sizeMiB: number; rssMiB: number }> {
  return new Map(
    mappings(pid).map((m) => [
      m.start.toString(16).padStart(8, '0'),
      { name: m.name, sizeMiB: (m.end - m.start) / 2 ** 20, rssMiB: m.rssMiB },
    ]),
  );
}

/** The mappings whose resident memory grew most between two snapshots. */
function growth(before: ReturnType<typeof byStart>, after: ReturnType<typeof byStart>, top = 6): string {
  const rows = [...after.entries()].map(([start, m]) => ({ start, ...m, grew: m.rssMiB - (before.get(start)?.rssMiB ?? 0) }));
  const gone = [...before.entries()].filter(([start]) => !after.has(start)).reduce((a, [, m]) => a + m.rssMiB, 0);
  rows.sort((a, b) => b.grew - a.grew);
  return (
    rows
      .slice(0, top)
      .map(
        (r) =>
          `${r.grew >= 0 ? '+' : ''}${r.grew.toFixed(1)} MiB in ${r.name} ${r.start} (${r.sizeMiB.toFixed(0)} MiB mapped${before.has(r.start) ? '' : ', new'})`,
      )
      .join('; ') + `; mappings gone: -${gone.toFixed(1)} MiB`
  );
}

async function burst(replicas: BenchProcess[], requests: Request[]): Promise<{ latencies: number[]; bad: string[] }> {
  const latencies: number[] = [];
  const bad: string[] = [];
  const start = performance.now();
  const gap = (SECONDS * 1000) / requests.length;
  await Promise.all(
    requests.map(async (req, i) => {
      const due = start + i * gap;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const target = replicas[i % replicas.length]!;
      const sent = performance.now();
      try {
        const res = await fetch(`${target.url}${req.path}`, { method: 'POST', headers: req.headers, body: req.body });
        await res.arrayBuffer();
        latencies.push(performance.now() - sent);
        if (res.status < 200 || res.status > 299) bad.push(`${req.kind} ${res.status}`);
      } catch (err) {
        bad.push(`${req.kind} ${err instanceof Error ? err.message : String(err)}`);
      }
    }),
  );
  return { latencies: latencies.sort((a, b) => a - b), bad };
}

async function run(label: string, count: number, env: Record<string, string>): Promise<void> {
  const fake = await startFakeUpstreams();
  const replicas: BenchProcess[] = [];
  try {
    const full = {
      ...env,
      APP_ID: '1',
      PRIVATE_KEY: testPrivateKey(),
      WEBHOOK_SECRET: GH_SECRET,
      GHE_HOST: fake.host,
      GHE_PROTOCOL: 'http',
      GITLAB_URL: fake.url,
      GITLAB_TOKEN: 'glpat-bench',
      GITLAB_WEBHOOK_SECRET: GL_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-bench',
      SLACK_SIGNING_SECRET: SLACK_SECRET,
      SLACK_API_URL: `${fake.url}/api/`,
      LOG_LEVEL: 'error',
      GATEHOUSE_CHILD_THROTTLE: '0',
      GATEHOUSE_CHILD_BOT_LOGIN: 'gatehouse[bot]',
      GATEHOUSE_CHILD_CLOCK_TICK_MS: '30000',
    };
    replicas.push(
      ...(await Promise.all(
        Array.from({ length: count }, () => startBenchGatehouse(full, { nodeFlags: values['node-flags'].split(' ').filter(Boolean) })),
      )),
    );
    console.log(`\n== ${label}: ${count} process${count > 1 ? 'es' : ''} (pids ${replicas.map((r) => r.pid).join(', ')})`);
    const rss: number[][] = [];
    const firstMaps: ReturnType<typeof byStart>[] = [];
    let expectedDeliveries = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const requests = roundRequests(round, fake);
      const began = performance.now();
      const { latencies, bad } = await burst(replicas, requests);
      const sentIn = (performance.now() - began) / 1000;
      expectedDeliveries += N_GITHUB + N_GITLAB;
      // Wait until the worker has handled every webhook delivery of the rounds so far.
      const until = Date.now() + 120_000;
      let done = 0;
      while (Date.now() < until) {
        done = await deliveriesCounted(replicas, 'done');
        if (done >= expectedDeliveries) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const processedIn = (performance.now() - began) / 1000;
      await new Promise((r) => setTimeout(r, 1000)); // room for a second comment to show up
      const base = round * 10_000;
      let commentsOff = 0;
      let labelWritesOff = 0;
      for (let i = 0; i < N_GITHUB; i++) {
        const key = `${REPO}#${base + i + 1}`;
        if ((fake.githubComments.get(key) ?? []).filter((c) => c.body.includes('<!-- gatehouse:intake -->')).length !== 1) commentsOff++;
        if (fake.githubLabelWrites.get(key) !== 1) labelWritesOff++;
      }
      for (let i = 0; i < N_GITLAB; i += 2) {
        const key = `${GL_ISSUES}/issues/${base + i + 1}`;
        if ((fake.gitlabNotes.get(key) ?? []).filter((c) => c.body.includes('<!-- gatehouse:intake -->')).length !== 1) commentsOff++;
        if (fake.gitlabLabelWrites.get(key) !== 1) labelWritesOff++;
      }
      let mrNotesOver = 0;
      for (let i = 1; i < N_GITLAB; i += 2)
        if ((fake.gitlabNotes.get(`${GL_MRS}/merge_requests/${base + i + 1}`) ?? []).length > 1) mrNotesOver++;
      const failed = await deliveriesCounted(replicas, 'failed');
      const memory = replicas.map((r) => residentMiB(r.pid));
      const heaps = await Promise.all(replicas.map((r) => nodeMemoryMiB(r.url)));
      // Memory is read once the replicas have been idle for --settle seconds (V8 shrinks its heap
      // after a burst only when allocation stops): the same moment after every round.
      if (SETTLE > 0) await new Promise((r) => setTimeout(r, SETTLE * 1000));
      if (values.snapshots) {
        for (const r of replicas) process.kill(r.pid, 'SIGUSR2');
        await new Promise((r) => setTimeout(r, 15_000));
      }
      const maps = replicas.map((r) => byStart(r.pid));
      if (round === 1) firstMaps.push(...maps);
      else if (values.smaps) maps.forEach((m, i) => console.log(`         replica ${i + 1} since round 1: ${growth(firstMaps[i]!, m)}`));
      rss.push(memory);
      const issues = N_GITHUB + Math.ceil(N_GITLAB / 2);
      console.log(
        `round ${round}: ${requests.length} requests sent in ${sentIn.toFixed(1)} s; non-2xx ${bad.length}${bad.length ? ` (${[...new Set(bad)].slice(0, 5).join('; ')})` : ''}; ` +
          `ack p50 ${quantile(latencies, 0.5).toFixed(1)} ms, p99 ${quantile(latencies, 0.99).toFixed(1)} ms, max ${(latencies.at(-1) ?? NaN).toFixed(1)} ms`,
      );
      console.log(
        `         processed: deliveries done ${done}/${expectedDeliveries} (failed ${failed}) after ${processedIn.toFixed(1)} s; ` +
          `issues with other than one intake comment ${commentsOff}/${issues}, other than one label write ${labelWritesOff}/${issues}, MRs with more than one note ${mrNotesOver}; ` +
          `RSS ${memory.map((m, i) => `${m.toFixed(0)} MiB (JS heap ${heaps[i]!.used.toFixed(0)} used of ${heaps[i]!.total.toFixed(0)}, external ${heaps[i]!.external.toFixed(0)})`).join(', ')}` +
          `${done === expectedDeliveries && commentsOff === 0 && labelWritesOff === 0 && failed === 0 ? ' — exactly once: yes' : ' — exactly once: NO'}`,
      );
    }
    const first = rss[0]!;
    const last = rss.at(-1)!;
    console.log(
      `RSS after round 1 → round ${ROUNDS}: ${first.map((m, i) => `${m.toFixed(0)} → ${last[i]!.toFixed(0)} MiB (${(((last[i]! - m) / m) * 100).toFixed(1)} %)`).join(', ')}`,
    );
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await fake.close();
  }
}

async function main(): Promise<void> {
  if (values.only !== 'postgres') {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-load-'));
    try {
      await run('embedded database', 1, { GATEHOUSE_DATA_DIR: join(dir, 'data') });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (values.only !== 'embedded') {
    const server = process.env['BENCH_DATABASE_URL'] || process.env['GATEHOUSE_TEST_PG_URL'];
    if (!server) {
      console.log('\n== PostgreSQL: skipped (set BENCH_DATABASE_URL to a postgres:// server URL)');
      return;
    }
    await withThrowawayDatabase(server, async (url) => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-load-'));
      try {
        await run('PostgreSQL, two replicas', 2, { DATABASE_URL: url, GATEHOUSE_DATA_DIR: join(dir, 'unused') });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
}

if (values.hostile) {
  const { runHostile } = await import('./load-hostile.ts');
  await runHostile({
    seconds: Math.max(1, Number(values['hostile-seconds'])),
    validRate: Number(values['valid-rate']),
    shapeRate: Number(values['shape-rate']),
    commandRate: Number(values['command-rate']),
    waves: Math.max(0, Number(values.waves)),
    drainSeconds: Math.max(0, Number(values.drain)),
    nodeFlags: values['node-flags'].split(' ').filter(Boolean),
    keepLog: values['keep-log'],
  });
} else {
  await main();
}
clearTimeout(hardStop);
