import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-check/**', 'node_modules/**', 'dags/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    // Only the entry point may end the process: everything else throws typed errors.
    files: ['src/**/*.ts'],
    ignores: ['src/cli.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'exit', message: 'Throw a typed error; src/cli.ts maps it to an exit code.' }],
    },
  },
  {
    // Stages get everything through the context: no process, prompts or execa of their own.
    files: ['src/stages/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['execa', '@inquirer/prompts', 'ora', 'node:process'] }],
      'no-restricted-globals': ['error', 'process'],
    },
  },
  {
    // Plain-JS scripts (bench, launcher, stand-in binaries) run on Node.
    files: ['**/*.mjs', '**/*.js', 'test/support/bin/**'],
    languageOptions: {
      globals: Object.fromEntries(
        ['process', 'console', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'URL', 'Buffer', 'fetch', 'AbortController'].map((g) => [g, 'readonly']),
      ),
    },
  },
);
