// `npm run build`: the TypeScript sources emitted as JavaScript into dist/ (tsc, without type
// checking: `npm run typecheck` does that), the plain JavaScript modules tsc does not emit (the
// database thread and the template seeder) copied beside their importers, and dist/.built
// touched: bin/gatehouse.js runs dist/ only while that stamp is newer than every file under src/.
// `--if-available` (npm start's prestart): without TypeScript (`npm ci --omit=dev`), say so and
// build nothing; bin/gatehouse.js then runs the sources through tsx.
import { execFileSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let tsc;
try {
  tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
} catch {
  if (!process.argv.includes('--if-available')) throw new Error('npm run build needs TypeScript (a dev package): npm ci');
  console.error('gatehouse: TypeScript is not installed, so the sources run through tsx (no dist/ build)');
  process.exit(0);
}
execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--noCheck'], { cwd: root, stdio: 'inherit' });
for (const file of ['pglite-worker.mjs', 'pglite-template.mjs']) {
  copyFileSync(`${root}src/storage/${file}`, `${root}dist/storage/${file}`);
}
writeFileSync(`${root}dist/.built`, `${new Date().toISOString()}\n`);
