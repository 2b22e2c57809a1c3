/**
 * `npm test` runs the PostgreSQL suites too when PostgreSQL is installed: with no
 * GATEHOUSE_TEST_PG_URL given, a throwaway server is started for the run (initdb in a temporary
 * directory, loopback only, fsync off) and stopped at the end. Without PostgreSQL's binaries the
 * suites skip and the summary says how to run them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const findBin = (): string | null => {
  for (const v of [17, 16, 15, 14, 13]) if (existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)) return `/usr/lib/postgresql/${v}/bin`;
  return null;
};

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });

export default async function setup(): Promise<(() => void) | undefined> {
  if (process.env['GATEHOUSE_TEST_PG_URL'] || process.env['GATEHOUSE_TEST_NO_PG'] === '1') return undefined;
  const bin = findBin();
  if (!bin) return undefined;
  const root = process.getuid?.() === 0;
  // PostgreSQL refuses to run as root: as root, the server runs as the postgres account.
  const owner = root ? spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }) : null;
  if (root && (owner?.status !== 0 || !existsSync('/usr/sbin/runuser'))) return undefined;
  const data = mkdtempSync(join(tmpdir(), 'gatehouse-test-pg-'));
  const sockets = mkdtempSync(join(tmpdir(), 'gatehouse-test-pgsock-'));
  const as = (args: string[]): [string, string[]] => (root ? ['runuser', ['-u', 'postgres', '--', ...args]] : [args[0]!, args.slice(1)]);
  try {
    if (root) {
      const uid = Number(owner!.stdout.trim());
      const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      chownSync(data, uid, gid);
      chownSync(sockets, uid, gid);
    }
    const port = await freePort();
    execFileSync(...as([`${bin}/initdb`, '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']), {
      stdio: 'ignore',
    });
    execFileSync(
      ...as([
        `${bin}/pg_ctl`,
        '-D',
        data,
        '-l',
        join(data, 'server.log'),
        '-o',
        `-p ${port} -k ${sockets} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off`,
        '-w',
        'start',
      ]),
      { stdio: 'ignore' },
    );
    process.env['GATEHOUSE_TEST_PG_URL'] = `postgres://postgres@127.0.0.1:${port}/postgres`;
    console.info(
      `[tests] PostgreSQL ${bin.split('/').at(-2)} started for this run on 127.0.0.1:${port} (GATEHOUSE_TEST_PG_URL gives another; GATEHOUSE_TEST_NO_PG=1 skips its suites)`,
    );
  } catch (err) {
    console.info(
      `[tests] could not start a PostgreSQL for this run (${err instanceof Error ? err.message.split('\n')[0] : String(err)}): its suites skip`,
    );
    rmSync(data, { recursive: true, force: true });
    rmSync(sockets, { recursive: true, force: true });
    return undefined;
  }
  return () => {
    spawnSync(...as([`${bin}/pg_ctl`, '-D', data, '-m', 'immediate', 'stop']), { stdio: 'ignore' });
    rmSync(data, { recursive: true, force: true });
    rmSync(sockets, { recursive: true, force: true });
  };
}
