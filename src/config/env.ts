/** The only module that reads process.env. Parsed once with zod; every problem is reported. */
import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
// The platform adapters declare the settings they need (GitHubConfig, GitLabConfig); this module fills them in.
import type { GitHubConfig } from '../adapters/github/app.ts';
import type { GitLabConfig } from '../adapters/gitlab/app.ts';
import { parseGitLabSecrets } from './gitlab-secrets.ts';

const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const envSchema = z
  .object({
    PORT: optional
      .transform((v) => v ?? '3000')
      .pipe(
        z
          .string()
          .regex(/^\d{1,5}$/, 'must be a port number')
          .transform(Number),
      )
      .pipe(z.number().max(65535, 'must be a port number')),
    HOST: optional,
    DATABASE_URL: optional.pipe(
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
        .optional(),
    ),
    GATEHOUSE_DATA_DIR: optional.transform((v) => v ?? './data'),
    GATEHOUSE_POLICY: optional,
    APP_ID: optional.pipe(z.string().regex(/^\d+$/, 'must be the numeric GitHub App id').optional()),
    PRIVATE_KEY: optional,
    PRIVATE_KEY_PATH: optional,
    WEBHOOK_SECRET: optional,
    GHE_HOST: optional,
    GHE_PROTOCOL: optional.pipe(z.enum(['http', 'https']).default('https')),
    GITLAB_URL: optional.pipe(z.string().url().optional()),
    GITLAB_TOKEN: optional,
    GITLAB_WEBHOOK_SECRET: optional,
    SLACK_BOT_TOKEN: optional,
    SLACK_SIGNING_SECRET: optional,
    SLACK_API_URL: optional.pipe(z.string().url().optional()),
    GATEHOUSE_PAGE_TOKEN: optional,
    GATEHOUSE_TRUSTED_PROXIES: optional.transform((v, ctx) => {
      const entries = (v ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      for (const entry of entries)
        if (!isProxyEntry(entry))
          ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address or CIDR range (e.g. 127.0.0.1,10.0.0.0/8)` });
      return entries;
    }),
    METRICS_PORT: optional.pipe(
      z
        .string()
        .regex(/^\d{1,5}$/, 'must be a port number')
        .transform(Number)
        .pipe(z.number().max(65535, 'must be a port number'))
        .optional(),
    ),
    METRICS_HOST: optional,
    GATEHOUSE_GATE_DEBOUNCE_MS: optional.pipe(
      z
        .string()
        .regex(/^\d{1,6}$/, 'must be a whole number of milliseconds (0 to 600000)')
        .transform(Number)
        .pipe(z.number().max(600_000, 'must be at most 600000 (10 minutes)'))
        .optional(),
    ),
    GATEHOUSE_CHAIN_KEY: optional.pipe(z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -hex 32)').optional()),
    LOG_LEVEL: optional.pipe(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  })
  .passthrough();

export interface SlackConfig {
  botToken: string;
  signingSecret: string;
  apiUrl: string | undefined;
}

export interface Config {
  port: number;
  host: string | undefined;
  databaseUrl: string | undefined;
  dataDir: string;
  policyPath: string | undefined;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  github: GitHubConfig | null;
  gitlab: GitLabConfig | null;
  slack: SlackConfig | null;
  /** Slack without its bot token yet: `/slack/events` answers Slack's URL verification only. */
  slackUrlCheck?: { signingSecret: string };
  /** The web page's access token (policy `page.access: token`); unset: the page answers 403. */
  pageToken?: string;
  /** Reverse proxies whose page-access header is believed (policy `page.access: header`): addresses or CIDR ranges. */
  trustedProxies?: string[];
  /** `/metrics` on a listener of its own (then the main port answers 404 for it); unset: on the main port. */
  metrics?: { port: number; host: string };
  /** HMAC key of the decision and register chains (GATEHOUSE_CHAIN_KEY); unset: plain sha256. */
  chainKey?: string;
  /**
   * Release gate: conclusions of checks, statuses or pipelines on one commit within this window
   * share one evaluation (GATEHOUSE_GATE_DEBOUNCE_MS, default 5000); 0 evaluates on each at once.
   */
  gateDebounceMs?: number;
  /** Why each platform that is off is off (one line each). */
  off: Partial<Record<'github' | 'gitlab' | 'slack', string>>;
}

/** An IP address, or an address/prefix range (prefix at most 32 for IPv4, 128 for IPv6). */
function isProxyEntry(entry: string): boolean {
  const [address, prefix, extra] = entry.split('/');
  const family = isIP(address ?? '');
  if (family === 0 || extra !== undefined) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/** The release gate's default debounce window after a check concludes (GATEHOUSE_GATE_DEBOUNCE_MS). */
export const DEFAULT_GATE_DEBOUNCE_MS = 5000;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    // One problem, one line; several, one line each.
    super(
      problems.length === 1
        ? `invalid configuration: ${problems[0]}`
        : `invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
  }
}

/**
 * Every command reads a `.env` file in the working directory, when there is one: it fills the
 * variables the environment leaves unset (a variable the environment sets wins over the file).
 */
export function loadDotEnv(path = '.env'): void {
  if (!existsSync(path)) return;
  try {
    process.loadEnvFile(path);
  } catch (err) {
    throw new ConfigError([
      `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err))})`,
    ]);
  }
}

/** Why a PEM text is not a usable private key (OpenSSL's reason, one line), or null when it is one. */
function privateKeyProblem(pem: string): string | null {
  try {
    createPrivateKey(pem);
    return null;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split('\n')[0]!.replace(/^error:[0-9A-F]+:/i, '') : String(err);
    return reason.slice(0, 200);
  }
}

/** Parses an environment (process.env by default). Throws ConfigError listing every problem. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const off: Config['off'] = {};

  let github: GitHubConfig | null = null;
  let privateKey = e.PRIVATE_KEY?.replace(/\\n/g, '\n');
  if (!privateKey && e.PRIVATE_KEY_PATH) {
    try {
      privateKey = readFileSync(e.PRIVATE_KEY_PATH, 'utf8');
    } catch (err) {
      problems.push(`PRIVATE_KEY_PATH: cannot read ${e.PRIVATE_KEY_PATH} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  // A PRIVATE_KEY_PATH that cannot be read is reported once, above; it is not missing as well.
  const githubParts = {
    APP_ID: e.APP_ID,
    'PRIVATE_KEY or PRIVATE_KEY_PATH': privateKey ?? e.PRIVATE_KEY_PATH,
    WEBHOOK_SECRET: e.WEBHOOK_SECRET,
  };
  const missingGithub = Object.entries(githubParts)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missingGithub.length === 0) {
    if (privateKey !== undefined) {
      const keyVar = e.PRIVATE_KEY ? 'PRIVATE_KEY' : `PRIVATE_KEY_PATH (${e.PRIVATE_KEY_PATH})`;
      // A key that is PEM-shaped but unreadable would only fail at the first API call: refused here.
      const why = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey) ? privateKeyProblem(privateKey) : null;
      if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(privateKey))
        problems.push(`${keyVar}: not a PEM private key; give the GitHub App's private key (.pem)`);
      else if (why !== null)
        problems.push(`${keyVar}: not a readable private key (${why}); give the GitHub App's private key (.pem) as GitHub issued it`);
      const apiBaseUrl = e.GHE_HOST ? `${e.GHE_PROTOCOL}://${e.GHE_HOST}/api/v3` : 'https://api.github.com';
      github = { appId: e.APP_ID!, privateKey, webhookSecret: e.WEBHOOK_SECRET!, apiBaseUrl };
    }
  } else if (missingGithub.length < 3) {
    problems.push(`GitHub is half-configured: missing ${missingGithub.join(', ')}`);
  } else {
    off.github = 'GitHub is off: set APP_ID, PRIVATE_KEY (or PRIVATE_KEY_PATH) and WEBHOOK_SECRET';
  }

  let gitlab: GitLabConfig | null = null;
  const gitlabParts = { GITLAB_URL: e.GITLAB_URL, GITLAB_TOKEN: e.GITLAB_TOKEN, GITLAB_WEBHOOK_SECRET: e.GITLAB_WEBHOOK_SECRET };
  const missingGitlab = Object.entries(gitlabParts)
    .filter(([, v]) => !v)
    .map(([k]) => k);
  if (missingGitlab.length === 0) {
    const secrets = parseGitLabSecrets(e.GITLAB_WEBHOOK_SECRET!);
    if ('problems' in secrets) problems.push(...secrets.problems);
    else
      gitlab = {
        url: e.GITLAB_URL!,
        token: e.GITLAB_TOKEN!,
        webhookSecret: secrets.secrets.length === 1 && secrets.secrets[0]!.scope === null ? e.GITLAB_WEBHOOK_SECRET! : secrets.secrets,
      };
  } else if (missingGitlab.length < 3) problems.push(`GitLab is half-configured: missing ${missingGitlab.join(', ')}`);
  else off.gitlab = 'GitLab is off: set GITLAB_URL, GITLAB_TOKEN and GITLAB_WEBHOOK_SECRET';

  let slack: SlackConfig | null = null;
  let slackUrlCheck: { signingSecret: string } | undefined;
  if (e.SLACK_BOT_TOKEN && e.SLACK_SIGNING_SECRET)
    slack = { botToken: e.SLACK_BOT_TOKEN, signingSecret: e.SLACK_SIGNING_SECRET, apiUrl: e.SLACK_API_URL };
  else if (e.SLACK_SIGNING_SECRET) {
    // Slack checks the events URL when the app is created, before there is a bot token to set:
    // with the signing secret alone, the route answers that check and nothing else.
    slackUrlCheck = { signingSecret: e.SLACK_SIGNING_SECRET };
    off.slack =
      "Slack is half-configured: set SLACK_BOT_TOKEN (Install App → Bot User OAuth Token) and restart; until then /slack/events answers only Slack's URL check";
  } else if (e.SLACK_BOT_TOKEN)
    off.slack = 'Slack is off: SLACK_SIGNING_SECRET is missing, so no Slack request can be verified (Basic Information → Signing Secret)';
  else off.slack = 'Slack is off: set SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN';

  if (e.METRICS_HOST && e.METRICS_PORT === undefined)
    problems.push('METRICS_HOST: set METRICS_PORT too (metrics on their own listener), or unset METRICS_HOST');
  if (e.METRICS_PORT !== undefined && e.METRICS_PORT === e.PORT && e.PORT !== 0) problems.push('METRICS_PORT: must differ from PORT');

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    dataDir: e.GATEHOUSE_DATA_DIR,
    policyPath: e.GATEHOUSE_POLICY,
    logLevel: e.LOG_LEVEL,
    pageToken: e.GATEHOUSE_PAGE_TOKEN,
    trustedProxies: e.GATEHOUSE_TRUSTED_PROXIES,
    ...(e.METRICS_PORT !== undefined ? { metrics: { port: e.METRICS_PORT, host: e.METRICS_HOST ?? '127.0.0.1' } } : {}),
    ...(e.GATEHOUSE_CHAIN_KEY ? { chainKey: e.GATEHOUSE_CHAIN_KEY } : {}),
    gateDebounceMs: e.GATEHOUSE_GATE_DEBOUNCE_MS ?? DEFAULT_GATE_DEBOUNCE_MS,
    github,
    gitlab,
    slack,
    ...(slackUrlCheck ? { slackUrlCheck } : {}),
    off,
  };
}
