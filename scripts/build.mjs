// Builds dist/cli.js: one ESM bundle of src/ and the pure-JS dependencies it loads at start-up.
// One file starts about twice as fast as hundreds of modules (the MCP SDK alone is ~300 ms of
// module loading on Node 20), which is what an MCP host waits for before it can list our tools.
// Left outside the bundle: the native SQLite binding, and packages loaded lazily or by path at run
// time (openai on the first model call, gpt-tokenizer on the first token count, pino's transports,
// pg when PLANEXEC_DB is a PostgreSQL URL).
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  external: ['better-sqlite3', 'openai', 'gpt-tokenizer', 'pino', 'pg'],
  // Bundled CommonJS code calls require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __planexecRequire } from 'node:module'; const require = __planexecRequire(import.meta.url);" },
  logLevel: 'warning',
});
