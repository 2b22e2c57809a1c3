#!/usr/bin/env node
// Runs the TypeScript sources directly (no build step): `npx gatehouse <command>`.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
