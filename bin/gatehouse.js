#!/usr/bin/env node
// Runs the TypeScript sources directly (no build step): `npx gatehouse <command>`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
// `start` has shut down (or failed to start): work still hanging on a platform's API is handed
// back, not waited for, so the process ends now.
if (process.argv[2] === 'start') process.exit();
