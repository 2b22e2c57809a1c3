/**
 * Child process for kill.test.ts: stores deliveries through the inbox the HTTP server uses (each
 * batch stored, its rows being its jobs, in one transaction, on disk before it answers) and prints
 * `ACK <id>` after each one resolves, until it is killed. argv: <dataDir> <count> <parallel>
 */
import { openStore } from '../../src/storage/open.ts';

const [dataDir, countArg, parallelArg] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: kill-child.ts <dataDir> <count> <parallel>');
const count = Number(countArg ?? 1000);
const parallel = Number(parallelArg ?? 4);
const payload = JSON.stringify({ action: 'opened', body: 'x'.repeat(4000) });

const { store, inbox } = await openStore({ dataDir });
process.stdout.write('READY\n');
let next = 0;
await Promise.all(
  Array.from({ length: parallel }, async () => {
    while (next < count) {
      const id = `k-${next++}`;
      await inbox.accept({ platform: 'github', deliveryId: id, eventName: 'issues', payload, receivedAt: new Date() });
      process.stdout.write(`ACK ${id}\n`);
    }
  }),
);
process.stdout.write('DONE\n');
await store.close();
