/**
 * `gatehouse decisions export|verify|explain`: the release decision records, for auditors and for
 * previewing a policy change. Reads the database the bot uses (DATABASE_URL or the embedded one).
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { z } from 'zod';
import { loadConfig, type Config } from '../config/env.ts';
import type { GateDecisionRecord, GateStore } from '../ports/gate-store.ts';
import {
  DecisionChainVerifier,
  RegisterChainVerifier,
  type ChainLink,
  type ChainVerification,
  type ChainVerifier,
  type ChainVerifierOptions,
} from '../storage/decision-chain.ts';
import type { KyselyGateStore } from '../storage/gate-store.ts';
import { policyHash } from '../core/canonical-json.ts';

export interface DecisionsIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

type DbConfig = Pick<Config, 'databaseUrl' | 'dataDir' | 'chainKey'>;

/** Opens the database read-only in spirit (no queue maintenance), runs `fn` on its records' store, closes it. */
async function withGateStore<T>(config: DbConfig, fn: (gates: KyselyGateStore) => Promise<T>): Promise<T> {
  const [{ openStore }, { KyselyGateStore }] = await Promise.all([import('../storage/open.ts'), import('../storage/gate-store.ts')]);
  const opened = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    existing: true,
  });
  try {
    return await fn(new KyselyGateStore({ db: opened.db }));
  } finally {
    await opened.close();
  }
}

/** A record as exported: every stored field, the time as ISO-8601 UTC. */
export interface ExportedRecord {
  seq: number;
  prevHash: string;
  hash: string;
  key: string;
  headSha: string;
  releaseClass: string;
  verdict: string;
  reasons: unknown[];
  inputs: unknown;
  policyHash: string;
  decidedAt: string;
  deliveryId: string | null;
  /** Hashed with GATEHOUSE_CHAIN_KEY (HMAC-SHA256) rather than sha256. */
  keyed: boolean;
}

export interface DecisionExport {
  /** Verified over the whole table, whatever the filter. */
  chain: { ok: boolean; count: number; head: string | null; brokenAt?: number; reason?: string };
  filter: { since: string | null; key: string | null };
  records: ExportedRecord[];
}

const exported = (r: GateDecisionRecord): ExportedRecord => ({
  seq: r.seq,
  prevHash: r.prevHash,
  hash: r.hash,
  key: r.key,
  headSha: r.headSha,
  releaseClass: r.releaseClass,
  verdict: r.verdict,
  reasons: r.reasons,
  inputs: r.inputs,
  policyHash: r.policyHash,
  decidedAt: r.decidedAt.toISOString(),
  deliveryId: r.deliveryId,
  keyed: r.keyed ?? false,
});

/** `last`: the newest stored record's hash (null on an empty table). */
function chainSummary(v: ChainVerification, last: string | null): DecisionExport['chain'] {
  if (v.ok) return { ok: true, count: v.count, head: last === null ? null : v.head };
  return { ok: false, count: v.count, head: last, brokenAt: v.brokenAt, reason: v.reason };
}

/** Records read per query while verifying: memory stays bounded however long the chain is. */
export const VERIFY_PAGE = 200;

/** Feeds a verifier every stored record of a chain, page by page in seq order; answers the summary and the verifier. */
async function walkChain<R extends ChainLink>(
  read: (afterSeq: number, limit: number) => Promise<R[]>,
  verifier: ChainVerifier<R>,
  pageSize: number,
): Promise<DecisionExport['chain']> {
  let afterSeq = 0;
  let last: string | null = null;
  for (;;) {
    const page = await read(afterSeq, pageSize);
    for (const r of page) verifier.add(r);
    if (page.length === 0) break;
    afterSeq = page.at(-1)!.seq;
    last = page.at(-1)!.hash;
    if (page.length < pageSize) break;
  }
  return chainSummary(verifier.result(), last);
}

/** Verifies every stored decision record, page by page in seq order (keyed records with `opts.key`). */
export async function verifyStoredChain(
  gates: Pick<GateStore, 'gateDecisions'>,
  pageSize = VERIFY_PAGE,
  opts: ChainVerifierOptions = {},
  verifier = new DecisionChainVerifier(opts),
): Promise<DecisionExport['chain']> {
  return walkChain((afterSeq, limit) => gates.gateDecisions({ afterSeq, limit }), verifier, pageSize);
}

/** Verifies every stored register record (exception approvals and status changes, emergency releases). */
export async function verifyStoredRegister(
  gates: Pick<GateStore, 'registerRecords'>,
  pageSize = VERIFY_PAGE,
  opts: ChainVerifierOptions = {},
  verifier = new RegisterChainVerifier(opts),
): Promise<DecisionExport['chain']> {
  return walkChain((afterSeq, limit) => gates.registerRecords({ afterSeq, limit }), verifier, pageSize);
}

/** The verification line both formats and `verify` print. */
export function chainLine(chain: DecisionExport['chain'], name = 'chain'): string {
  if (chain.ok) return `${name} intact: ${chain.count} records, head ${chain.head ?? '(empty)'}`;
  return `${name} broken at seq ${chain.brokenAt}: ${chain.reason} (${chain.count} records)`;
}

/** The whole chain verified, then the slice asked for. */
export async function buildExport(
  gates: Pick<GateStore, 'gateDecisions'>,
  filter: { since?: Date; key?: string },
  opts: ChainVerifierOptions = {},
): Promise<DecisionExport> {
  const chain = await verifyStoredChain(gates, VERIFY_PAGE, opts);
  const records = (await gates.gateDecisions(filter)).map(exported);
  return { chain, filter: { since: filter.since?.toISOString() ?? null, key: filter.key ?? null }, records };
}

/** A table cell: one line, pipes escaped. */
const cell = (s: string): string => s.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|').trim();

/** A reason in one line: its rule and summary when it has them, else its JSON. */
function reasonText(reason: unknown): string {
  if (reason && typeof reason === 'object') {
    const r = reason as Record<string, unknown>;
    const summary = typeof r['summary'] === 'string' ? r['summary'] : null;
    const rule = typeof r['rule'] === 'string' ? r['rule'] : null;
    const severity = typeof r['severity'] === 'string' ? r['severity'] : null;
    if (summary || rule) return `${severity ? `[${severity}] ` : ''}${rule ? `${rule}: ` : ''}${summary ?? ''}`.trim();
  }
  return JSON.stringify(reason);
}

export function exportMarkdown(e: DecisionExport): string {
  const lines = ['# Release decision records', '', `Hash chain (verified over every stored record): ${chainLine(e.chain)}`, ''];
  const filters = [e.filter.since ? `decided at or after ${e.filter.since}` : null, e.filter.key ? `change ${e.filter.key}` : null].filter(
    Boolean,
  );
  lines.push(`Records: ${e.records.length}${filters.length > 0 ? ` (${filters.join(', ')})` : ''}`, '');
  if (e.records.length === 0) return `${lines.join('\n')}\n`;
  lines.push(
    '| seq | decided at (UTC) | change | head commit | release class | verdict | reasons | policy hash | record hash | previous hash |',
  );
  lines.push('|---:|---|---|---|---|---|---|---|---|---|');
  for (const r of e.records) {
    const reasons = r.reasons.length > 0 ? r.reasons.map((x) => cell(reasonText(x))).join('<br>') : '—';
    lines.push(
      `| ${r.seq} | ${r.decidedAt} | ${cell(r.key)} | \`${cell(r.headSha)}\` | ${cell(r.releaseClass)} | **${cell(r.verdict)}** | ${reasons} | \`${r.policyHash}\` | \`${r.hash}\` | \`${r.prevHash}\` |`,
    );
  }
  lines.push(
    '',
    'Each record hash is the sha256 (keyed records: HMAC-SHA256 with GATEHOUSE_CHAIN_KEY) of the canonical JSON (keys sorted, no whitespace) of its seq, prevHash, key, headSha, releaseClass, verdict, reasons, inputs, policyHash and decidedAt; the JSON export holds the inputs.',
  );
  return `${lines.join('\n')}\n`;
}

export interface ExportOptions {
  since?: string;
  format?: string;
  out?: string;
  key?: string;
}

function parseSince(since: string | undefined): Date | undefined | Error {
  if (since === undefined) return undefined;
  const d = new Date(since);
  return /^\d{4}-\d{2}-\d{2}/.test(since) && !Number.isNaN(d.getTime())
    ? d
    : new Error(`--since: "${since}" is not an ISO-8601 date or time (e.g. 2026-01-01 or 2026-01-01T00:00:00Z)`);
}

export async function exportDecisions(config: DbConfig, o: ExportOptions, io: DecisionsIo): Promise<number> {
  const format = o.format ?? 'json';
  if (format !== 'json' && format !== 'markdown') {
    io.err(`--format: "${format}" is not json or markdown`);
    return 1;
  }
  const since = parseSince(o.since);
  if (since instanceof Error) {
    io.err(since.message);
    return 1;
  }
  const e = await withGateStore(config, (gates) => buildExport(gates, { since, key: o.key }, keyOptions(config)));
  const text = format === 'json' ? `${JSON.stringify(e, null, 2)}\n` : exportMarkdown(e);
  if (o.out) {
    await writeFile(o.out, text);
    io.out(`wrote ${e.records.length} records to ${o.out}`);
  } else {
    io.out(text.trimEnd());
  }
  if (!e.chain.ok) {
    io.err(chainLine(e.chain));
    return 1;
  }
  return 0;
}

const keyOptions = (config: DbConfig, unkeyedUntil?: number): ChainVerifierOptions => ({
  ...(config.chainKey === undefined ? {} : { key: config.chainKey }),
  ...(unkeyedUntil === undefined ? {} : { unkeyedUntil }),
});

export interface VerifyOptions {
  /** Heads kept earlier (a decision or register record's hash): each must still be in its chain, intact up to it. */
  head?: string[];
  /** With GATEHOUSE_CHAIN_KEY: decision records up to this seq may be unkeyed (written before the key was set). */
  unkeyedUntil?: string;
  /** The same for the register chain's records. */
  registerUnkeyedUntil?: string;
}

/** A `--…-unkeyed-until` value: undefined, a seq, or an Error naming the option. */
function seqOption(name: string, value: string | undefined): number | undefined | Error {
  if (value === undefined) return undefined;
  const n = Number(value);
  return /^\d+$/.test(value) && Number.isSafeInteger(n) ? n : new Error(`${name}: "${value}" is not a seq (0, 1, 2, …)`);
}

/**
 * Verifies both chains (decision records, then the register); with `--head`, also that each kept
 * head is still a record of one of them with everything before it intact: a rewrite whose hashes
 * were all recomputed (the chain verifies) is caught by a head kept outside the database.
 */
export async function verifyDecisions(config: DbConfig, io: DecisionsIo, o: VerifyOptions = {}): Promise<number> {
  const heads = o.head ?? [];
  const bad = heads.filter((h) => !/^[0-9a-f]{64}$/.test(h));
  if (bad.length > 0) {
    io.err(`--head: "${bad[0]}" is not a record hash (64 lower-case hex digits, as verify prints it)`);
    return 1;
  }
  const until = seqOption('--unkeyed-until', o.unkeyedUntil);
  const registerUntil = seqOption('--register-unkeyed-until', o.registerUnkeyedUntil);
  for (const v of [until, registerUntil]) {
    if (v instanceof Error) {
      io.err(v.message);
      return 1;
    }
  }
  const decisions = new DecisionChainVerifier(keyOptions(config, until as number | undefined));
  const register = new RegisterChainVerifier(keyOptions(config, registerUntil as number | undefined));
  const [chain, registerChain] = await withGateStore(
    config,
    async (gates) =>
      [await verifyStoredChain(gates, VERIFY_PAGE, {}, decisions), await verifyStoredRegister(gates, VERIFY_PAGE, {}, register)] as const,
  );
  let ok = chain.ok && registerChain.ok;
  (chain.ok ? io.out : io.err)(chainLine(chain));
  (registerChain.ok ? io.out : io.err)(chainLine(registerChain, 'register chain'));
  for (const head of heads) {
    const inDecisions = decisions.intactSeq(head);
    const inRegister = inDecisions === null ? register.intactSeq(head) : null;
    if (inDecisions !== null) io.out(`head ${head}: decision record ${inDecisions}, intact up to it`);
    else if (inRegister !== null) io.out(`head ${head}: register record ${inRegister}, intact up to it`);
    else {
      ok = false;
      io.err(
        `head ${head} is not in the stored chains (or not intact up to it): a record up to that head was rewritten or removed since it was kept`,
      );
    }
  }
  if (config.chainKey === undefined && heads.length === 0 && ok)
    io.out('unkeyed chains: anyone who can write the database can recompute them; keep the heads above and check them with --head');
  return ok ? 0 : 1;
}

// --- replay --------------------------------------------------------------------------------

const platform = z.enum(['github', 'gitlab', 'slack']);
const isoDate = z.union([z.date(), z.iso.datetime({ offset: true })]).transform((v) => (v instanceof Date ? v : new Date(v)));
/** What a stored decision must hold to be replayed: the gate's input (change, evidence, every exception considered). */
const replayInputs = z.object({
  change: z.object({
    ref: z.object({
      repo: z.object({ platform, fullName: z.string(), id: z.number().nullable(), defaultBranch: z.string().nullable() }),
      number: z.number(),
      kind: z.enum(['issue', 'change']).optional(),
    }),
    labels: z.array(z.string()),
    targetBranch: z.string(),
    body: z.string(),
    author: z.object({ login: z.string(), isBot: z.boolean() }),
    title: z.string(),
    url: z.string(),
  }),
  evidence: z.object({
    headSha: z.string(),
    collectedAt: z.string(),
    checks: z.array(
      z.object({
        name: z.string(),
        state: z.enum(['pending', 'success', 'failure', 'neutral', 'skipped', 'cancelled']),
        source: z.enum(['check-run', 'status', 'job']),
        url: z.string().nullable(),
      }),
    ),
    // Records written before approvals carried their facts replay with them unknown: such an approval does not count.
    approvals: z.array(
      z.object({
        login: z.string(),
        atHead: z.boolean(),
        commitSha: z.string().nullable().default(null),
        bot: z.boolean().default(false),
        canWrite: z.boolean().nullable().default(null),
        lastPusher: z.boolean().default(false),
      }),
    ),
    authorLogin: z.string().nullable().optional(),
    changesRequestedBy: z.array(z.string()),
    changedPaths: z.array(z.string()),
    findings: z.array(
      z.object({
        id: z.string(),
        ruleId: z.string(),
        category: z.string(),
        severity: z.enum(['critical', 'high', 'medium', 'low', 'info', 'unknown']),
        title: z.string(),
        location: z.string().nullable(),
        tool: z.string(),
        url: z.string().nullable(),
      }),
    ),
    errors: z.array(
      z.object({
        source: z.enum(['checks', 'statuses', 'reviews', 'files', 'findings', 'reports', 'pipeline', 'approvals']),
        message: z.string(),
        status: z.number().optional(),
        kind: z.enum(['api', 'not-enabled', 'no-analysis', 'truncated', 'invalid']).optional(),
      }),
    ),
    stats: z.object({
      apiCalls: z.number(),
      checkRuns: z.number(),
      findings: z.number(),
      statuses: z.number().optional(),
      cached: z.boolean().optional(),
    }),
  }),
  exceptions: z.array(
    z.object({
      id: z.string(),
      findingRef: z.string(),
      category: z.string().nullable(),
      scope: z.object({ repo: z.string(), paths: z.array(z.string()) }),
      status: z.enum(['requested', 'approved', 'rejected', 'revoked']),
      approvedBy: z.string().nullable(),
      approvedAt: isoDate.nullable(),
      // Records decided before approvals were bound to terms hold none.
      approvedDigest: z.string().nullable().default(null),
      expiresAt: isoDate,
      requestedBy: z.string(),
      requestedAt: isoDate,
      businessOwner: z.string(),
      compensatingControls: z.string(),
      renewalOf: z.string().nullable(),
    }),
  ), // Who added the lowering class labels (records from before these facts hold none: such a label does not count).
  classLabels: z
    .array(
      z.object({
        label: z.string(),
        addedBy: z.object({ login: z.string(), at: z.string(), bot: z.boolean() }).nullable(),
        error: z.string().nullable().optional(),
      }),
    )
    .default([]),
});

export interface ReplayResult {
  seq: number;
  key: string;
  headSha: string;
  decidedAt: string;
  policy: { source: string; stored: string; now: string; changed: boolean };
  old: { verdict: string; releaseClass: string; reasons: unknown[] };
  new: { verdict: string; releaseClass: string; reasons: unknown[] };
  verdictChanged: boolean;
  /** Reasons (one line each) the new policy gives and the old decision did not, and the other way round. */
  reasonsAdded: string[];
  reasonsDropped: string[];
}

/** Replays one stored decision's inputs under a policy (at its own decision time). */
export async function explainDecision(
  config: DbConfig,
  seqText: string,
  o: { policy?: string; json?: boolean },
  io: DecisionsIo,
): Promise<number> {
  const seq = Number(seqText);
  if (!Number.isSafeInteger(seq) || seq < 1) {
    io.err(`decisions explain: "${seqText}" is not a record's seq (1, 2, …)`);
    return 1;
  }
  const [{ loadGlobalPolicy }, { evaluateGate }] = await Promise.all([import('../policy/global.ts'), import('../core/gate/evaluate.ts')]);
  const global = await loadGlobalPolicy(o.policy ?? process.env['GATEHOUSE_POLICY']);
  const record = await withGateStore(config, (gates) => gates.gateDecision(seq));
  if (!record) {
    io.err(`decisions explain: there is no decision record ${seq}`);
    return 1;
  }
  const held = record.inputs && typeof record.inputs === 'object' && !Array.isArray(record.inputs) ? Object.keys(record.inputs).sort() : [];
  const missing = ['change', 'evidence', 'exceptions'].filter((k) => !held.includes(k));
  if (missing.length > 0) {
    io.err(
      `decisions explain: record ${seq} cannot be replayed: its inputs lack ${missing.join(', ')} (they hold ${held.length > 0 ? held.join(', ') : 'nothing'})`,
    );
    return 1;
  }
  const parsed = replayInputs.safeParse(record.inputs);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(inputs)'}: ${i.message}`);
    io.err(`decisions explain: record ${seq} does not hold what a replay needs (change, evidence, exceptions): ${problems.join('; ')}`);
    return 1;
  }
  const v = evaluateGate(parsed.data, global.policy, record.decidedAt);
  const now = policyHash(global.policy);
  const result: ReplayResult = {
    seq,
    key: record.key,
    headSha: record.headSha,
    decidedAt: record.decidedAt.toISOString(),
    policy: { source: global.source, stored: record.policyHash, now, changed: now !== record.policyHash },
    old: { verdict: record.verdict, releaseClass: record.releaseClass, reasons: record.reasons },
    new: { verdict: v.verdict, releaseClass: v.releaseClass, reasons: v.reasons },
    verdictChanged: v.verdict !== record.verdict,
    reasonsAdded: [],
    reasonsDropped: [],
  };
  const before = record.reasons.map(reasonText);
  const after = v.reasons.map(reasonText);
  result.reasonsAdded = after.filter((r) => !before.includes(r));
  result.reasonsDropped = before.filter((r) => !after.includes(r));
  if (o.json) {
    io.out(JSON.stringify(result, null, 2));
    return 0;
  }
  io.out(`decision ${seq}: ${record.key} at ${record.headSha}, decided ${result.decidedAt}`);
  io.out(`policy: ${global.source} (${result.policy.changed ? `changed: stored ${record.policyHash}, now ${now}` : `unchanged: ${now}`})`);
  io.out(`old verdict: ${record.verdict} (${record.releaseClass})`);
  for (const r of record.reasons) io.out(`  - ${reasonText(r)}`);
  io.out(`new verdict: ${v.verdict} (${v.releaseClass})${result.verdictChanged ? '  <- changed' : ''}`);
  for (const r of v.reasons) io.out(`  - ${reasonText(r)}`);
  for (const r of result.reasonsAdded) io.out(`added: ${r}`);
  for (const r of result.reasonsDropped) io.out(`dropped: ${r}`);
  if (result.reasonsAdded.length === 0 && result.reasonsDropped.length === 0) io.out('the same reasons');
  return 0;
}

/** Adds `decisions export|verify|explain` to the program; `done` receives each command's exit code. */
export function registerDecisions(program: Command, io: DecisionsIo, done: (code: number) => void): void {
  const decisions = program
    .command('decisions')
    .description('release decision records: export for auditors, verify the hash chain, replay under a policy');
  decisions
    .command('export')
    .description('write the decision records (JSON or Markdown) after verifying the whole hash chain; exit 1 when it is broken')
    .option('--since <ISO-8601>', 'only records decided at or after this time')
    .option('--key <key>', 'only one change request, e.g. github:owner/repo!12')
    .option('--format <format>', 'json or markdown', 'json')
    .option('--out <file>', 'write to a file instead of stdout')
    .action(async (o: ExportOptions) => done(await exportDecisions(loadConfig(), o, io)));
  decisions
    .command('verify')
    .description(
      'verify the hash chains of the decision records and of the register (exception approvals, emergency releases); exit 1 naming the first broken seq, or a kept head no longer in its chain',
    )
    .option(
      '--head <hash>',
      'a head printed by an earlier verify (repeatable): it must still be in its chain, intact up to it',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--unkeyed-until <seq>', 'with GATEHOUSE_CHAIN_KEY: decision records up to this seq were written before the key was set')
    .option('--register-unkeyed-until <seq>', 'the same for the register chain')
    .action(async (o: VerifyOptions) => done(await verifyDecisions(loadConfig(), io, o)));
  decisions
    .command('explain')
    .argument('<seq>', 'the decision record to replay')
    .description(
      "replay a stored decision's inputs under a policy (default: GATEHOUSE_POLICY or the built-in one) and print the old and new verdicts",
    )
    .option('--policy <file>', 'policy file to replay under')
    .option('--json', 'print JSON')
    .action(async (seq: string, o: { policy?: string; json?: boolean }) => done(await explainDecision(loadConfig(), seq, o, io)));
}
