// Lint: typescript-eslint's recommended rules, and the architecture line: the core stays pure and
// every other layer imports only the layers below it (docs/architecture.md draws them).
import tseslint from 'typescript-eslint';

// The layers, bottom up: core ← ports ← adapters / storage / policy / render ← jobs ← server ← main / cli.
// `config/` (the only reader of the environment) fills in the settings the adapters declare; it and
// `logger.ts` are read by main and cli alone.
// Each entry names the layers a directory must not import; a relative import that climbs into one
// of them (`../../jobs/queue.ts`, `../main.ts`) fails `npm run lint`.
const LAYERS = {
  ports: ['adapters', 'storage', 'policy', 'render', 'jobs', 'server', 'config', 'main', 'cli', 'logger'],
  adapters: ['storage', 'policy', 'render', 'jobs', 'server', 'config', 'main', 'cli', 'logger'],
  storage: ['adapters', 'policy', 'render', 'jobs', 'server', 'config', 'main', 'cli', 'logger'],
  policy: ['adapters', 'storage', 'render', 'jobs', 'server', 'config', 'main', 'cli', 'logger'],
  render: ['adapters', 'storage', 'policy', 'jobs', 'server', 'config', 'main', 'cli', 'logger'],
  jobs: ['adapters', 'storage', 'server', 'config', 'main', 'cli', 'logger'],
  server: ['storage', 'config', 'main', 'cli', 'logger'],
  config: ['storage', 'policy', 'render', 'jobs', 'server', 'main', 'cli', 'logger'],
};

function layerRule(dir, above) {
  return {
    files: [`src/${dir}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${above.join('|')})(/|\\.ts$)`,
              message: `layers (docs/architecture.md): src/${dir}/ imports only layers below it, not ${above.join(', ')}`,
            },
          ],
        },
      ],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'coverage/**', 'dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'fs', 'path', 'http', 'crypto', 'os', 'child_process'], message: 'the core is pure: no Node I/O' },
            {
              group: ['probot', '@octokit/*', '@gitbeaker/*', '@slack/*', 'pg', 'kysely', '@electric-sql/*', 'pino', 'prom-client'],
              message: 'the core is platform-neutral: adapters and storage live outside it',
            },
            {
              group: [
                '../adapters/*',
                '../../adapters/*',
                '../storage/*',
                '../../storage/*',
                '../server/*',
                '../../server/*',
                '../jobs/*',
                '../../jobs/*',
                '../config/*',
                '../../config/*',
              ],
              message: 'dependencies point inward',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'the core reads no environment' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'the core reads no clock: take `now` from the context',
        },
        { selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']", message: 'the core reads no clock' },
      ],
    },
  },
  ...Object.entries(LAYERS).map(([dir, above]) => layerRule(dir, above)),
);
