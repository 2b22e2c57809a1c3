// bench/memory's Gatehouse: the JavaScript `npm run build` emits (what `npm start` runs), started
// as test/support/gatehouse-child.ts starts it, with GitHub's write spacing off
// (GATEHOUSE_CHILD_THROTTLE=0: the fake does not rate-limit). Prints `READY <url> <pid>`.
import { loadConfig } from '../dist/config/env.js';
import { startGatehouse } from '../dist/main.js';

const gatehouse = await startGatehouse({
  config: loadConfig(),
  github: process.env['GATEHOUSE_CHILD_THROTTLE'] === '0' ? { throttle: false } : {},
});
process.stdout.write(`READY ${gatehouse.url} ${process.pid}\n`);
process.once('SIGTERM', () => {
  void gatehouse.close().then(() => process.exit(0));
});
