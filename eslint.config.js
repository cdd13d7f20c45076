import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', 'test-output/', 'public/build/', 'dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // The shipped code is linted with the types (issue #19 item 8): floating promises, unsafe `any`, needless
    // assertions, async functions with nothing to await. Each file is checked with the tsconfig that owns it
    // (src/client/tsconfig.json for the browser code). test/, bench/ and scripts/ keep the rules above: with the
    // types they cost minutes more per lint on this 2-core machine (node:test's `it`/`describe` alone are ~900
    // floating-promise reports), see the s7-web report.
    files: ['src/**/*.ts'],
    extends: [...tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
  },
  {
    // Fastify's plugins (`FastifyPluginAsync`) and Kysely's migrations (`down(db): Promise<void>`) implement
    // interfaces that return a promise: an `async` function with nothing to await is how such a plugin registers
    // its routes, not a forgotten await. The rule stays on everywhere else.
    files: ['src/http/**/*.routes.ts', 'src/http/pages/*.pages.ts', 'src/store/migrations/**'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // Kysely's own advice: migrations use Kysely<any>, they must not depend on today's schema types.
    files: ['src/store/migrations/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
