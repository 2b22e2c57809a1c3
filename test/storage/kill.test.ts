/**
 * Durability: a delivery acknowledged by the inbox the HTTP server uses, with few writers (small
 * batches) or many (large ones), survives SIGKILL of the process, with its job (its row is its job).
 * The child records deliveries and prints `ACK <id>` after each resolves; we kill it mid-way,
 * reopen the data dir (PostgreSQL crash recovery replays the WAL) and look for every ACK.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/storage/open.ts';
import { freshDataDir, removeDataDir } from './fixture.ts';

const child = fileURLToPath(new URL('./kill-child.ts', import.meta.url));

async function runAndKill(
  dataDir: string,
  killAfterAcks: number,
  parallel: number,
): Promise<{ acked: string[]; exit: NodeJS.Signals | number | null }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, dataDir, '100000', String(parallel)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const acked: string[] = [];
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => proc.on('exit', (code, signal) => resolve(signal ?? code)));
  for await (const line of createInterface({ input: proc.stdout })) {
    if (line.startsWith('ACK ')) acked.push(line.slice(4));
    if (acked.length === killAfterAcks) proc.kill('SIGKILL'); // lines already written still arrive
  }
  const exit = await exited;
  if (exit !== 'SIGKILL') throw new Error(`child ended with ${String(exit)} before it was killed: ${stderr}`);
  return { acked, exit };
}

describe('delivery durability on PGlite', () => {
  it.each([
    [4, 25],
    [4, 200],
    [32, 25],
    [32, 2000],
  ] as const)(
    'every delivery acknowledged by the inbox (%i writers) before SIGKILL (after %i acks) is found after reopening',
    async (parallel, n) => {
      const dataDir = await freshDataDir();
      try {
        const { acked } = await runAndKill(dataDir, n, parallel);
        expect(acked.length).toBeGreaterThanOrEqual(n);
        const { store, queue, close } = await openStore({ dataDir });
        try {
          const missing: string[] = [];
          const jobless: string[] = [];
          for (const id of acked) {
            if (!(await store.getDelivery('github', id))) missing.push(id);
            else if (!(await queue.jobState({ platform: 'github', deliveryId: id }))) jobless.push(id);
          }
          expect(missing).toEqual([]);
          // Nothing reconciles the two after a crash: the job is there because it was written with the delivery.
          expect(jobless).toEqual([]);
          const stored = await store.countDeliveries('pending');
          console.info(`[kill] ${parallel} writers: acked ${acked.length}, stored ${stored} (kill after ${n})`);
          expect(stored).toBeGreaterThanOrEqual(acked.length);
        } finally {
          await close();
        }
      } finally {
        removeDataDir(dataDir);
      }
    },
  );
});
