// Lint rules that hold the architecture in place (see ARCHITECTURE.md): the core reaches the world
// only through ports, only src/mcp speaks MCP, and nothing in src writes to stdout.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const sdk = { group: ['@modelcontextprotocol/*'], message: 'Only src/mcp imports the MCP SDK.' };

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-imports': ['error', { patterns: [sdk] }],
    },
  },
  {
    files: ['src/mcp/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['../adapters/*', '../../adapters/*'], message: 'The MCP layer calls the core, not adapters.' }] }] },
  },
  {
    files: ['src/adapters/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [sdk, { group: ['**/mcp/*'], message: 'Adapters do not know about MCP.' }] }] },
  },
  {
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['openai', 'better-sqlite3', 'pino', 'fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'child_process', 'node:child_process', 'http', 'node:http', 'https', 'node:https', 'net', 'node:net', 'pg', 'kysely'].map((name) => ({
            name,
            message: 'The core is pure: reach the outside world through a port in src/core/ports.ts.',
          })),
          patterns: [
            sdk,
            { group: ['openai/*', 'better-sqlite3/*', 'pg/*', 'kysely/*'], message: 'The core is pure: use a port.' },
            { group: ['../adapters/*', '../../adapters/*', '../mcp/*', '../../mcp/*', '../config*', '../log*', '../main*', '../../config*', '../../log*', '../../main*'], message: 'The core depends on nothing outside src/core.' },
          ],
        },
      ],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'The core gets configuration through CoreSettings, never from process.env.' }],
      'no-restricted-globals': ['error', { name: 'process', message: 'The core does not touch the process; use a port.' }],
    },
  },
  {
    files: ['scripts/**/*.{ts,mjs}', 'test/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
