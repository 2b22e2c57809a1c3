#!/usr/bin/env node
// `npx gatehouse <command>`, and `npm start` (`gatehouse start`). It runs the JavaScript that
// `npm run build` emits into dist/ (npm start builds first) while that build is newer than every
// source file; otherwise the TypeScript sources directly, through tsx. The emitted JavaScript
// spares the process tsx's loader thread and its transpiled copies of the sources (bench/memory:
// about 35 MiB resident).
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function built() {
  const stamp = `${root}dist/.built`;
  if (!existsSync(stamp)) return false;
  const at = statSync(stamp).mtimeMs;
  return readdirSync(`${root}src`, { recursive: true }).every((f) => statSync(`${root}src/${f}`).mtimeMs <= at);
}

let main;
if (built()) {
  ({ main } = await import('../dist/cli.js'));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli.ts'));
}
process.exitCode = await main(process.argv);
// `start` has shut down (or failed to start): work still hanging on a platform's API is handed
// back, not waited for, so the process ends now.
if (process.argv[2] === 'start') process.exit();
