/**
 * Failures an operator can act on, through the real binary (`node bin/gatehouse.js …` in a child
 * process): every command reads `.env` as `start` does; the commands that read the database never
 * create one; a start-up problem is one line on stderr naming what to fix, and exit code 1.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { lockDataDir } from '../../src/storage/data-dir-lock.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/** Whether another user may reach and read `dir` (every directory above it searchable by others). */
function othersMayRun(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if ((statSync(d).mode & 0o005) !== 0o005) return false;
    if (dirname(d) === d) return true;
  }
}

const BIN = new URL('../../bin/gatehouse.js', import.meta.url).pathname;
const pgTestUrl = process.env['GATEHOUSE_TEST_PG_URL'] || undefined;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const sandbox = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'gatehouse-operator-'));
  dirs.push(d);
  return d;
};

interface Exit {
  code: number | null;
  out: string;
  err: string;
}

/** Runs the binary with only the given environment (plus PATH), in `cwd`. */
function gatehouse(args: string[], env: Record<string, string>, opts: { cwd?: string; uid?: number; gid?: number } = {}): Promise<Exit> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? sandbox(),
    env: { PATH: process.env['PATH'] ?? '', HOME: tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
  return new Promise((resolve) => {
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** Exit code 1 and exactly one line on stderr, without a stack trace. */
function expectOneLine(r: Exit, pattern: RegExp): void {
  expect(r.code, `stdout: ${r.out}\nstderr: ${r.err}`).toBe(1);
  const lines = r.err.trimEnd().split('\n');
  expect(lines, r.err).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.err).not.toMatch(/\n\s+at /);
}

async function closedPort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const NO_DATABASE = (dir: string): RegExp =>
  new RegExp(`^no database at ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: start the bot once or set GATEHOUSE_DATA_DIR/DATABASE_URL$`);

describe('every command reads .env as start does', () => {
  it('a .env file in the working directory fills what the environment leaves unset; the environment wins', async () => {
    const cwd = sandbox();
    const fromFile = join(cwd, 'from-dotenv');
    const fromEnv = join(cwd, 'from-environment');
    writeFileSync(join(cwd, '.env'), `# the data dir of this install\nGATEHOUSE_DATA_DIR=${fromFile}\n`);

    const byFile = await gatehouse(['decisions', 'verify'], {}, { cwd });
    expectOneLine(byFile, NO_DATABASE(fromFile));

    const byEnv = await gatehouse(['decisions', 'verify'], { GATEHOUSE_DATA_DIR: fromEnv }, { cwd });
    expectOneLine(byEnv, NO_DATABASE(fromEnv));
    expect(existsSync(fromFile)).toBe(false);
    expect(existsSync(fromEnv)).toBe(false);
    expect(existsSync(join(cwd, 'data'))).toBe(false);
  });

  it('a .env that sets a bad value is refused by every command, as by start', async () => {
    const cwd = sandbox();
    writeFileSync(join(cwd, '.env'), 'DATABASE_URL=mysql://nope\n');
    expectOneLine(await gatehouse(['clocks'], {}, { cwd }), /^invalid configuration: DATABASE_URL: must be a postgres:\/\/ URL$/);
  });
});

describe('the commands that read the database never create one', () => {
  const commands = [
    ['decisions', 'verify'],
    ['decisions', 'export'],
    ['decisions', 'explain', '1'],
    ['deliveries'],
    ['deliveries', '--failed'],
    ['deliveries', 'retry', 'github', 'x'],
    ['clocks'],
  ];

  it.each(commands.map((c) => [c.join(' '), c] as const))(
    'gatehouse %s on a missing data dir: exit 1, one line, the dir still absent',
    async (_name, args) => {
      const dir = join(sandbox(), 'data');
      const r = await gatehouse(args, { GATEHOUSE_DATA_DIR: dir });
      expectOneLine(r, NO_DATABASE(dir));
      expect(r.out).not.toMatch(/chain intact/);
      expect(existsSync(dir)).toBe(false);
    },
  );

  it('an empty data dir is no database either (and stays empty)', async () => {
    const dir = join(sandbox(), 'data');
    mkdirSync(dir);
    expectOneLine(await gatehouse(['decisions', 'verify'], { GATEHOUSE_DATA_DIR: dir }), NO_DATABASE(dir));
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(false);
  });
});

describe('gatehouse start: one line naming the fix, exit code 1', () => {
  const start = (env: Record<string, string>, opts: { cwd?: string; uid?: number; gid?: number } = {}) =>
    gatehouse(['start'], { PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env }, opts);

  it('PostgreSQL not listening on its port', async () => {
    const port = await closedPort();
    const r = await start({ DATABASE_URL: `postgres://gatehouse:s3cret-pw@127.0.0.1:${port}/gatehouse` });
    expectOneLine(
      r,
      new RegExp(`^cannot reach PostgreSQL at 127\\.0\\.0\\.1:${port}: connection refused; start PostgreSQL there, or fix DATABASE_URL$`),
    );
    expect(r.err + r.out).not.toContain('s3cret-pw');
  });

  it('something else than PostgreSQL on the port', async () => {
    const http = createServer((c) => c.end('HTTP/1.1 400 Bad Request\r\n\r\n')).listen(0, '127.0.0.1');
    await new Promise((r) => http.once('listening', r));
    const port = (http.address() as AddressInfo).port;
    try {
      const r = await start({ DATABASE_URL: `postgres://gatehouse:pw@127.0.0.1:${port}/gatehouse` });
      expectOneLine(
        r,
        new RegExp(
          `^PostgreSQL at 127\\.0\\.0\\.1:${port} closed the connection during start-up; is that port PostgreSQL .*Check DATABASE_URL$`,
        ),
      );
    } finally {
      http.close();
    }
  });

  it.skipIf(!pgTestUrl)('PostgreSQL refusing the password', async (ctx) => {
    const url = new URL(pgTestUrl!);
    url.password = 'not-the-password';
    // A server that trusts every connection takes any password: nothing to prove there.
    const probe = new pg.Client({ connectionString: url.toString() });
    const accepted = await probe.connect().then(
      () => true,
      () => false,
    );
    await probe.end().catch(() => undefined);
    if (accepted) ctx.skip();
    const r = await start({ DATABASE_URL: url.toString() });
    expectOneLine(
      r,
      new RegExp(
        `^PostgreSQL at .+ refused the password of user "${decodeURIComponent(url.username) || '.*'}"; fix the password in DATABASE_URL$`,
      ),
    );
    expect(r.err + r.out).not.toContain('not-the-password');
  });
  if (!pgTestUrl) console.warn('SKIPPED the wrong-password case of test/cli/operator-errors.test.ts: GATEHOUSE_TEST_PG_URL is unset');

  it('a data dir it may not write', async () => {
    const root = sandbox();
    chmodSync(root, 0o755);
    const parent = join(root, 'read-only');
    mkdirSync(parent);
    chmodSync(parent, 0o555);
    let dir = join(parent, 'data');
    // root writes anywhere: the bot runs as an unprivileged user then — which needs a checkout that
    // user may read. In a private checkout (a 0700 temporary directory), root is refused by sysfs instead.
    const isRoot = process.getuid?.() === 0;
    const asUser = isRoot && othersMayRun(REPO) ? { uid: 65534, gid: 65534 } : {};
    if (isRoot && !('uid' in asUser)) dir = `/sys/gatehouse-test-${process.pid}/data`;
    const r = await start({ GATEHOUSE_DATA_DIR: dir }, { cwd: root, ...asUser });
    expectOneLine(
      r,
      new RegExp(
        `^cannot write the embedded database's directory ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\((permission denied|it is on a read-only file system)\\); make it writable by the user Gatehouse runs as, or set GATEHOUSE_DATA_DIR \\(or DATABASE_URL\\)$`,
      ),
    );
    expect(existsSync(dir)).toBe(false);
  });

  it('a GitHub App key that is PEM-shaped but garbage never starts', async () => {
    const r = await start({
      GATEHOUSE_DATA_DIR: join(sandbox(), 'data'),
      APP_ID: '1',
      WEBHOOK_SECRET: 'x',
      PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\ngarbage\n-----END RSA PRIVATE KEY-----\n',
    });
    expectOneLine(
      r,
      /^invalid configuration: PRIVATE_KEY: not a readable private key \(.+\); give the GitHub App's private key \(\.pem\) as GitHub issued it$/,
    );
    expect(r.out).not.toMatch(/listening/);
  });

  it('an unreadable PRIVATE_KEY_PATH names the file', async () => {
    const path = join(sandbox(), 'missing.pem');
    const r = await start({ GATEHOUSE_DATA_DIR: join(sandbox(), 'data'), APP_ID: '1', WEBHOOK_SECRET: 'x', PRIVATE_KEY_PATH: path });
    expectOneLine(
      r,
      new RegExp(`^invalid configuration: PRIVATE_KEY_PATH: cannot read ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(ENOENT\\)$`),
    );
  });

  it('a data dir held by another running process', async () => {
    const dir = join(sandbox(), 'data');
    mkdirSync(dir, { mode: 0o700 });
    const unlock = await lockDataDir(dir); // this test process is the live owner
    try {
      const r = await start({ GATEHOUSE_DATA_DIR: dir });
      expectOneLine(
        r,
        new RegExp(
          `^the embedded database in .+ is in use by process ${process.pid} \\(still running after 10 s\\); stop it first, or use DATABASE_URL for a shared PostgreSQL$`,
        ),
      );
    } finally {
      unlock();
    }
  }, 40_000);
});

describe('any other failure', () => {
  it('is one line on stderr and exit code 1; LOG_LEVEL=debug adds the stack', async () => {
    const out = join(sandbox(), 'a-file');
    writeFileSync(out, '');
    const plain = await gatehouse(['templates', 'export', '--out', out], {});
    expectOneLine(plain, /^gatehouse: ENOTDIR: not a directory, mkdir '.+' \(ENOTDIR\) \(LOG_LEVEL=debug shows the stack\)$/);
    const debug = await gatehouse(['templates', 'export', '--out', out], { LOG_LEVEL: 'debug' });
    expect(debug.code).toBe(1);
    expect(debug.err).toMatch(/\n\s+at /);
  });
});
