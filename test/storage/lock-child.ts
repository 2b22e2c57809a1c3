/**
 * Child process for data-dir-lock.test.ts: takes the data directory's lock, prints `LOCKED <pid>`
 * and holds it. argv: <dataDir> [exitDelayMs]. On SIGTERM it takes `exitDelayMs` to die (as a
 * process with work to flush does), then ends without releasing the lock (as a killed one does).
 */
import { lockDataDir } from '../../src/storage/data-dir-lock.ts';

const [dataDir, delayArg] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: lock-child.ts <dataDir> [exitDelayMs]');
const delay = Number(delayArg ?? 0);
try {
  await lockDataDir(dataDir, { waitMs: 0 });
} catch (err) {
  process.stdout.write(`REFUSED ${(err as Error).message}\n`);
  process.exit(3);
}
process.on('SIGTERM', () => setTimeout(() => process.kill(process.pid, 'SIGKILL'), delay));
process.stdout.write(`LOCKED ${process.pid}\n`);
setInterval(() => undefined, 60_000);
