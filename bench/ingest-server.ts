/**
 * One side of bench/ingest: a bare Probot app that does nothing, or Gatehouse (which stores and
 * enqueues every delivery before acknowledging). Prints `READY <port>` when it listens.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createNodeMiddleware, Probot } from 'probot';
import { startGatehouse } from '../src/main.ts';

const [mode, secret = 'bench-secret'] = process.argv.slice(2);
const privateKey = process.env['BENCH_PRIVATE_KEY'] ?? '';
const silent = pino({ level: 'silent' });

if (mode === 'probot') {
  const probot = new Probot({ appId: 1, privateKey, secret, log: silent });
  const middleware = await createNodeMiddleware((app) => app.onAny(async () => {}), { probot, webhooksPath: '/api/github/webhooks' });
  const server = createServer((req, res) => {
    void middleware(req, res, () => res.writeHead(404).end());
  });
  server.listen(0, '127.0.0.1', () => console.log(`READY ${(server.address() as AddressInfo).port}`));
} else if (mode === 'gatehouse') {
  const ownDir = process.env['BENCH_DATA_DIR'] === undefined;
  const dataDir = process.env['BENCH_DATA_DIR'] ?? mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  const gatehouse = await startGatehouse({
    config: {
      port: 0,
      host: '127.0.0.1',
      databaseUrl: process.env['BENCH_DATABASE_URL'],
      dataDir,
      policyPath: undefined,
      logLevel: 'silent',
      github: { appId: '1', privateKey, webhookSecret: secret, apiBaseUrl: 'http://127.0.0.1:9/api/v3' },
      gitlab: null,
      slack: null,
      off: {},
    },
    logger: silent,
    github: { botLogin: 'gatehouse[bot]' },
    // Acknowledgement path only: the worker would call the GitHub API, which this bench has not got.
    worker: false,
  });
  console.log(`READY ${new URL(gatehouse.url).port}`);
  // The client asks when every acknowledged delivery is in the database (it is before its acknowledgement: asked all the same).
  process.on('SIGUSR2', () => {
    console.log(`SETTLED ${performance.now()}`);
  });
  process.on('SIGTERM', () => {
    void gatehouse.store.countDeliveries('pending').then(async (n) => {
      console.log(`STORED ${n}`);
      await gatehouse.close();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
      process.exit(0);
    });
  });
} else {
  console.error('usage: ingest-server.ts probot|gatehouse [secret]');
  process.exit(2);
}
