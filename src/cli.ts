/** `gatehouse <command>`: start, validate, templates export, explain. */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { translateGitHub } from './adapters/github/translate.ts';
import { runClock, type ClockCliOptions } from './cli/clock.ts';
import { explainDecision, registerDecisions } from './cli/decisions.ts';
import { registerDeliveries } from './cli/deliveries.ts';
import { ConfigError, loadConfig, loadDotEnv } from './config/env.ts';
import { intakeFormView } from './core/intake/form.ts';
import { exceptionFormView } from './core/gate/exception-request.ts';
import { parsePolicy } from './core/policy/load.ts';
import { parseOverride } from './core/policy/tighten.ts';
import { plan } from './core/plan.ts';
import { commandAuthority } from './core/workflows/commands.ts';
import { formatPolicyError, loadGlobalPolicy, PolicyFileError } from './policy/global.ts';
import { createRenderer } from './render/templates.ts';
import { TOOLING_FORMS, toolingFormView } from './core/workflows/tooling-forms.ts';

export const EXPORT_PATHS = {
  github: '.github/ISSUE_TEMPLATE/security-review.yml',
  gitlab: '.gitlab/issue_templates/Security review.md',
} as const;

/** The release gate's "Exception request" form, rendered with the same templates. */
export const EXCEPTION_EXPORT_PATHS = {
  github: '.github/ISSUE_TEMPLATE/exception-request.yml',
  gitlab: '.gitlab/issue_templates/Exception request.md',
} as const;

/** Renders both exception request templates for a policy file (or the default policy). */
export async function exportExceptionTemplates(
  policyPath: string | undefined,
): Promise<Record<keyof typeof EXCEPTION_EXPORT_PATHS, string>> {
  const { policy } = await loadGlobalPolicy(policyPath);
  const render = createRenderer();
  const view = exceptionFormView(policy);
  return { github: render('intake/github-issue-form.yml', view), gitlab: render('intake/gitlab-issue-template.md', view) };
}

/** The tooling lifecycle's forms: a net-new tooling request and an ownership handover, rendered with the same templates. */
export const TOOLING_EXPORT_PATHS = {
  request: {
    github: `.github/ISSUE_TEMPLATE/${TOOLING_FORMS.request.githubFile}.yml`,
    gitlab: `.gitlab/issue_templates/${TOOLING_FORMS.request.gitlabFile}.md`,
  },
  handover: {
    github: `.github/ISSUE_TEMPLATE/${TOOLING_FORMS.handover.githubFile}.yml`,
    gitlab: `.gitlab/issue_templates/${TOOLING_FORMS.handover.gitlabFile}.md`,
  },
} as const;

/** Renders the four tooling templates (request and handover, GitHub and GitLab) for a policy file (or the default policy). */
export async function exportToolingTemplates(policyPath: string | undefined): Promise<{ path: string; text: string }[]> {
  const { policy } = await loadGlobalPolicy(policyPath);
  const render = createRenderer();
  return (['request', 'handover'] as const).flatMap((kind) => {
    const view = toolingFormView(kind, policy);
    return [
      { path: TOOLING_EXPORT_PATHS[kind].github, text: render('intake/github-issue-form.yml', view) },
      { path: TOOLING_EXPORT_PATHS[kind].gitlab, text: render('intake/gitlab-issue-template.md', view) },
    ];
  });
}

interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
}

const stdio: Io = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) };

/** Renders both intake templates for a policy file (or the default policy). */
export async function exportTemplates(policyPath: string | undefined): Promise<Record<keyof typeof EXPORT_PATHS, string>> {
  const { policy } = await loadGlobalPolicy(policyPath);
  const render = createRenderer();
  const view = intakeFormView(policy);
  return { github: render('intake/github-issue-form.yml', view), gitlab: render('intake/gitlab-issue-template.md', view) };
}

/** Guesses the GitHub event name from a payload's shape when the file does not say it. */
function githubEventName(payload: Record<string, unknown>): string | null {
  if ('issue' in payload && !('comment' in payload)) return 'issues';
  if ('pull_request' in payload && 'number' in payload) return 'pull_request';
  if ('ref' in payload && 'commits' in payload) return 'push';
  return null;
}

/**
 * `validate --override`: the override applied to the global policy as the bot applies it. Exit 0
 * when it is valid, listing each key it may not set (ignored) and why; exit 1 when it is invalid.
 */
async function validateOverride(path: string, globalPath: string | undefined, io: Io): Promise<number> {
  const global = await loadGlobalPolicy(globalPath);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    io.err(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    return 1;
  }
  const result = parseOverride(text, global.policy);
  if (!result.ok) {
    io.err(`${path}: ${result.errors.length} error(s); the bot ignores this override whole`);
    for (const e of result.errors) io.err(`  ${path}: ${formatPolicyError(e)}`);
    return 1;
  }
  const n = result.ignored.length;
  io.out(
    `${path} is valid over ${global.source}: ${n === 0 ? 'every key applies' : `${n} key(s) ignored (an override may only tighten the global policy)`}`,
  );
  for (const k of result.ignored) io.out(`  ignored ${k.path}: ${k.reason}`);
  return 0;
}

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  let code = 0;
  const program = new Command()
    .name('gatehouse')
    .description('Product-security automation: intake and tier routing, clocks, escalation and release gates')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.out(s.trimEnd()), writeErr: (s) => io.err(s.trimEnd()) })
    // Every command reads the same configuration: a .env file beside the process, if present,
    // fills the variables the environment leaves unset.
    .hook('preAction', () => loadDotEnv());

  program
    .command('start')
    .description('start the bot (what `npm start` runs)')
    .action(async () => {
      const config = loadConfig();
      // A new embedded database takes seconds to create, on its own thread: begin opening the
      // database now, while the rest of the application loads.
      const [{ openStore }, { createLogger }] = await Promise.all([import('./storage/open.ts'), import('./logger.ts')]);
      const logger = createLogger(config.logLevel);
      const opening = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, logger });
      opening.catch(() => undefined); // awaited (and reported) by startGatehouse
      const { startGatehouse } = await import('./main.ts');
      let gatehouse: Awaited<ReturnType<typeof startGatehouse>>;
      try {
        gatehouse = await startGatehouse({ config, logger, opening });
      } catch (err) {
        const errno = (err as NodeJS.ErrnoException).code;
        if (errno === 'EADDRINUSE' || errno === 'EACCES') {
          io.err(`cannot listen on port ${config.port}: ${errno === 'EADDRINUSE' ? 'it is in use' : 'permission denied'} (set PORT)`);
          code = 1;
          return;
        }
        throw err;
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          gatehouse.logger.info(`${signal}: shutting down`);
          void gatehouse.close().then(resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });

  program
    .command('validate')
    .argument('[policy]', 'policy file (YAML); default: GATEHOUSE_POLICY or the built-in policy')
    .option(
      '--override <file>',
      "check a repository's override (.github/gatehouse.yml, .gitlab/gatehouse.yml) against the global policy: prints each key it may not set and why",
    )
    .option('--policy <file>', 'with --override: the global policy (default: GATEHOUSE_POLICY or the built-in policy)')
    .description('check a policy file, or a repository override against the global policy; prints every error with its path')
    .action(async (file: string | undefined, o: { override?: string; policy?: string }) => {
      if (o.override !== undefined) {
        code = await validateOverride(o.override, o.policy ?? file ?? process.env['GATEHOUSE_POLICY'], io);
        return;
      }
      const path = file ?? process.env['GATEHOUSE_POLICY'];
      if (!path) {
        const { policy } = await loadGlobalPolicy(undefined);
        io.out(
          `built-in default policy is valid: ${policy.intake.fields.length} intake fields, ${policy.routing.rules.length} routing rules, ${policy.tiers.length} tiers`,
        );
        return;
      }
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        io.err(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
        code = 1;
        return;
      }
      const result = parsePolicy(text);
      if (result.ok) {
        const p = result.policy;
        io.out(
          `${path} is valid: ${p.intake.fields.length} intake fields, ${p.routing.rules.length} routing rules, ${p.tiers.length} tiers`,
        );
        return;
      }
      io.err(`${path}: ${result.errors.length} error(s)`);
      for (const e of result.errors) io.err(`  ${path}: ${formatPolicyError(e)}`);
      code = 1;
    });

  program
    .command('clock')
    .description('SLO/RTO due times of a tool outage in business time')
    .requiredOption('--criticality <c>', 'critical, high, medium or low')
    .requiredOption('--opened <ISO-8601>', 'when the issue was opened, e.g. 2026-11-20T16:00:00Z')
    .option('--now <ISO-8601>', 'also report the business minutes elapsed since the opening')
    .option('--policy <file>', 'policy file (default: GATEHOUSE_POLICY or the built-in policy)')
    .option('--json', 'print JSON')
    .action(async (o: ClockCliOptions) => {
      code = await runClock(o, io);
    });

  const templates = program.command('templates').description('intake templates');
  templates
    .command('export')
    .description('write the GitHub issue form and the GitLab description template')
    .requiredOption('--out <dir>', 'directory to write into (a repository root)')
    .option('--policy <file>', 'policy file (default: GATEHOUSE_POLICY or the built-in policy)')
    .action(async (o: { out: string; policy?: string }) => {
      const files = await exportTemplates(o.policy ?? process.env['GATEHOUSE_POLICY']);
      for (const key of ['github', 'gitlab'] as const) {
        const target = join(o.out, EXPORT_PATHS[key]);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, files[key]);
        io.out(`wrote ${target}`);
      }
      const exceptionFiles = await exportExceptionTemplates(o.policy ?? process.env['GATEHOUSE_POLICY']);
      for (const key of ['github', 'gitlab'] as const) {
        const target = join(o.out, EXCEPTION_EXPORT_PATHS[key]);
        await writeFile(target, exceptionFiles[key]);
        io.out(`wrote ${target}`);
      }
      for (const file of await exportToolingTemplates(o.policy ?? process.env['GATEHOUSE_POLICY'])) {
        const target = join(o.out, file.path);
        await writeFile(target, file.text);
        io.out(`wrote ${target}`);
      }
    });

  program
    .command('clocks')
    .description('list the open SLO/RTO clocks with their state and due time (reads the database)')
    .option('--json', 'print JSON')
    .option('--limit <n>', 'at most this many issues', '1000')
    .action(async (o: { json?: boolean; limit: string }) => {
      const { listClocks } = await import('./cli/clocks.ts');
      code = await listClocks(loadConfig(), { json: o.json, limit: Number(o.limit) }, io);
    });

  program
    .command('explain')
    .description(
      'print the actions Gatehouse would plan for a webhook payload (no network, nothing written), or replay a stored release decision under a policy (--decision)',
    )
    .option('--event <file>', 'payload JSON file')
    .option('--decision <seq>', 'a stored release decision record to replay under --policy (same as `decisions explain <seq>`)')
    .option('--json', 'with --decision: print JSON')
    .option('--platform <platform>', 'platform of the payload', 'github')
    .option('--name <event>', 'event name (e.g. issues); guessed from the payload when absent')
    .option('--policy <file>', 'policy file (default: GATEHOUSE_POLICY or the built-in policy)')
    .option('--changed-paths <paths>', 'for a pull request: the paths it changes, comma-separated (read from the API when running)')
    .action(
      async (o: {
        event?: string;
        decision?: string;
        json?: boolean;
        platform: string;
        name?: string;
        policy?: string;
        changedPaths?: string;
      }) => {
        if (o.decision !== undefined) {
          code = await explainDecision(loadConfig(), o.decision, { policy: o.policy, json: o.json }, io);
          return;
        }
        if (o.event === undefined) {
          io.err(
            'explain: give --event <payload.json> (what Gatehouse would do for a webhook) or --decision <seq> (replay a stored release decision)',
          );
          code = 1;
          return;
        }
        if (o.platform !== 'github') {
          io.err(`explain: platform "${o.platform}" is not supported yet (github)`);
          code = 1;
          return;
        }
        let payload: unknown;
        try {
          payload = JSON.parse(await readFile(o.event, 'utf8'));
        } catch (err) {
          io.err(`explain: cannot read ${o.event} as JSON (${err instanceof Error ? err.message : String(err)})`);
          code = 1;
          return;
        }
        const record = (typeof payload === 'object' && payload !== null ? payload : {}) as Record<string, unknown>;
        const name = o.name ?? githubEventName(record);
        if (!name) {
          io.err('explain: cannot tell the event from the payload; pass --name (e.g. --name issues)');
          code = 1;
          return;
        }
        const global = await loadGlobalPolicy(o.policy ?? process.env['GATEHOUSE_POLICY']);
        const t = translateGitHub(name, 'explain', payload, null);
        if (t.kind !== 'event') {
          io.out(JSON.stringify({ event: name, outcome: t.kind, reason: t.reason }, null, 2));
          if (t.kind === 'invalid') code = 1;
          return;
        }
        const changedPaths =
          o.changedPaths
            ?.split(',')
            .map((p) => p.trim())
            .filter(Boolean) ?? [];
        const result = plan(t.event, {
          policy: global.policy,
          policySource: global.source,
          policyWarnings: [],
          now: new Date(),
          render: createRenderer(),
          history: [],
          changedPaths,
          authority: commandAuthority(global.policy),
        });
        io.out(
          JSON.stringify(
            {
              event: `${name}${t.event.kind === 'push' ? '' : `.${t.event.action}`}`,
              policy: global.source,
              note: result.note,
              actions: result.actions,
            },
            null,
            2,
          ),
        );
      },
    );

  registerDecisions(program, io, (c) => (code = c));
  registerDeliveries(program, io, (c) => (code = c));

  program
    .command('setup')
    .description("create the GitHub App from app.yml with GitHub's manifest flow and write APP_ID, PRIVATE_KEY and WEBHOOK_SECRET to .env")
    .requiredOption('--url <url>', 'where GitHub will reach Gatehouse (its webhook route is appended), e.g. https://gatehouse.example.com')
    .option('--org <org>', 'create the App in this organisation (default: your own account)')
    .option('--name <name>', "the App's name on GitHub, unique there (default: app.yml's)")
    .option('--manifest <file>', 'the App manifest', 'app.yml')
    .option('--env-file <file>', 'where the credentials are written', '.env')
    .option('--port <port>', 'port of the local set-up page', '3000')
    .option('--host <host>', 'address of the local set-up page', '127.0.0.1')
    .option('--force', 'replace a GitHub App already named in the env file')
    .action(
      async (o: {
        url: string;
        org?: string;
        name?: string;
        manifest: string;
        envFile: string;
        port: string;
        host: string;
        force?: boolean;
      }) => {
        const port = Number(o.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          io.err(`--port: must be a port number (got ${JSON.stringify(o.port)})`);
          code = 1;
          return;
        }
        if (existsSync(o.envFile)) process.loadEnvFile(o.envFile);
        const { githubHosts, runSetup } = await import('./cli/setup.ts');
        code = await runSetup({
          url: o.url,
          org: o.org,
          name: o.name,
          manifestPath: o.manifest,
          envPath: o.envFile,
          force: o.force === true,
          host: o.host,
          port,
          timeoutMs: 60 * 60_000,
          github: githubHosts(process.env),
          out: io.out,
        });
      },
    );

  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode;
    if (err instanceof ConfigError || err instanceof PolicyFileError || (err instanceof Error && OPERATOR_ERRORS.has(err.name))) {
      io.err(err.message);
      return 1;
    }
    // Anything else: one line, and the stack only when the log level asks for detail.
    io.err(`gatehouse: ${oneLine(err)}`);
    if (/^(debug|trace)$/i.test(process.env['LOG_LEVEL'] ?? '') && err instanceof Error && err.stack) io.err(err.stack);
    return 1;
  }
  return code;
}

/** Errors whose message already names what to fix, in one line: shown as they are. */
const OPERATOR_ERRORS = new Set([
  'DataDirBusyError',
  'DataDirPermissionError',
  'NoDatabaseError',
  'DatabaseConnectError',
  'JournalLeftError',
]);

function oneLine(err: unknown): string {
  const text =
    err instanceof Error
      ? `${err.message}${(err as NodeJS.ErrnoException).code ? ` (${(err as NodeJS.ErrnoException).code})` : ''}`
      : String(err);
  const flat = text.replace(/\s+/g, ' ').trim();
  return `${flat.length > 300 ? `${flat.slice(0, 299)}…` : flat} (LOG_LEVEL=debug shows the stack)`;
}
