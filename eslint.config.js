// Lint: typescript-eslint's recommended rules, and the architecture line: the core stays pure.
import tseslint from 'typescript-eslint';

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
              group: [
                'probot',
                '@octokit/*',
                '@gitbeaker/*',
                '@slack/*',
                'pg',
                'pg-boss',
                'kysely',
                '@electric-sql/*',
                'pino',
                'prom-client',
              ],
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
);
