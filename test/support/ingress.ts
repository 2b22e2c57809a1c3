/** For a webhook handler tested on its own: an inbox that records, and a bare server on loopback. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Inbox } from '../../src/ports/queue.ts';
import type { DeliveryInput } from '../../src/ports/deliveries.ts';

/** Records every delivery it is handed; a delivery id seen before is answered `inserted: false`. */
export function recordingInbox(): Inbox & { accepted: DeliveryInput[] } {
  const accepted: DeliveryInput[] = [];
  const seen = new Set<string>();
  return {
    accepted,
    accept: async (d) => {
      accepted.push(d);
      const inserted = !seen.has(d.deliveryId);
      seen.add(d.deliveryId);
      return { inserted };
    },
  };
}

/** Serves `handler` on 127.0.0.1 (a free port); `url` is that origin followed by `path`. */
export async function serveOnLoopback(
  handler: (req: IncomingMessage, res: ServerResponse) => unknown,
  path: string,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
