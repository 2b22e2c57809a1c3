/**
 * Child process for kill.test.ts: records deliveries and prints `ACK <id>` after each one
 * resolves, until it is killed. argv: <dataDir> <count> <parallel> [store|inbox]
 * `store` writes each batch to the database before answering; `inbox` is what the HTTP server
 * uses (each batch stored with its jobs in one transaction, on disk before it answers).
 */
import { openStore } from '../../src/storage/open.ts';

const [dataDir, countArg, parallelArg, path = 'store'] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: kill-child.ts <dataDir> <count> <parallel>');
const count = Number(countArg ?? 1000);
const parallel = Number(parallelArg ?? 4);
const payload = JSON.stringify({ action: 'opened', body: 'x'.repeat(4000) });

const { store, inbox } = await openStore({ dataDir });
const record = path === 'inbox' ? inbox.accept.bind(inbox) : store.recordDelivery.bind(store);
process.stdout.write('READY\n');
let next = 0;
await Promise.all(
  Array.from({ length: parallel }, async () => {
    while (next < count) {
      const id = `k-${next++}`;
      await record({ platform: 'github', deliveryId: id, eventName: 'issues', payload, receivedAt: new Date() });
      process.stdout.write(`ACK ${id}\n`);
    }
  }),
);
process.stdout.write('DONE\n');
await store.close();
