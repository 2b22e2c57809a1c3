// The layers (docs/architecture.md) are held by ESLint's no-restricted-imports in eslint.config.js:
// an import that climbs from a layer into one above it fails `npm run lint`.
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root });

async function layerErrors(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}/${path}` });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('the layer rule', () => {
  it.each([
    ['src/adapters/probe.ts', "import { x } from '../jobs/x.ts';"],
    ['src/adapters/github/probe.ts', "import { x } from '../../jobs/x.ts';"],
    ['src/adapters/github/probe.ts', "import type { Metrics } from '../../server/metrics.ts';"],
    ['src/adapters/slack/probe.ts', "import { env } from '../../config/env.ts';"],
    ['src/storage/probe.ts', "import { LeaseQueue } from '../jobs/queue.ts';"],
    ['src/jobs/probe.ts', "import { x } from '../storage/x.ts';"],
    ['src/jobs/probe.ts', "import { x } from '../adapters/slack/x.ts';"],
    ['src/jobs/probe.ts', "export { x } from '../server/x.ts';"],
    ['src/ports/probe.ts', "import type { x } from '../storage/x.ts';"],
    ['src/policy/probe.ts', "import { x } from '../jobs/x.ts';"],
    ['src/server/probe.ts', "import { x } from '../storage/x.ts';"],
    ['src/server/probe.ts', "import { x } from '../main.ts';"],
  ])('refuses %s: %s', async (path, code) => {
    const errors = await layerErrors(path, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^'[./a-z-]+(\.ts)?' import is restricted .*layers \(docs\/architecture\.md\)/);
  });

  it.each([
    [
      'src/adapters/github/probe.ts',
      "import { x } from '../../core/x.ts';\nimport type { y } from '../../ports/y.ts';\nimport { z } from '../http/z.ts';",
    ],
    ['src/storage/probe.ts', "import type { x } from '../ports/x.ts';\nimport { y } from './y.ts';"],
    [
      'src/jobs/probe.ts',
      "import type { x } from '../ports/x.ts';\nimport { y } from '../policy/y.ts';\nimport { z } from '../render/z.ts';",
    ],
    ['src/server/probe.ts', "import { x } from '../jobs/x.ts';\nimport { y } from '../adapters/http/y.ts';"],
    ['src/main.ts', "import { x } from './storage/x.ts';\nimport { y } from './jobs/y.ts';"],
  ])('lets %s import downward', async (path, code) => {
    expect(await layerErrors(path, code)).toEqual([]);
  });
});
