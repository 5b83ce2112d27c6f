// A PLANEXEC_DB on a file system that refuses new entries (procfs): the server stops at start-up
// with exit code 2 and a message naming PLANEXEC_DB, instead of spinning forever in Node's recursive
// mkdir (/proc/1/x) or dying with a stack trace when SQLite's file cannot be made (/proc as root).
import { existsSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, spawnServer, withTimeout, type RawServer } from '../support/spawn.js';

let home: string;
let server: RawServer | null = null;

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first).');
});
afterEach(() => {
  // A server that did not stop (the bug this file guards against) is killed, not left spinning.
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  server = null;
  rmSync(home, { recursive: true, force: true });
});

async function startupFailure(db: string): Promise<{ code: number | null; stderr: string }> {
  home = realpathSync(mkdtempSync(join(tmpdir(), 'planexec-e2e-db-')));
  server = spawnServer({ PATH: process.env.PATH ?? '', HOME: home, PLANEXEC_DB: db }, { cwd: home });
  const code = await withTimeout(server.exited, 20_000, 'exit at start-up');
  expect(server.lines).toEqual([]);
  return { code, stderr: server.stderr() };
}

describe('a PLANEXEC_DB where no file can be made', () => {
  it.each([['/proc/1/x/state.db'], ['/proc/1/x/y/state.db'], ['/proc/state.db']])('%s: exits 2 naming PLANEXEC_DB and what to do, without a stack trace', async (db) => {
    const { code, stderr } = await startupFailure(db);
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`^planexec: PLANEXEC_DB ${db.replace(/\./g, '\\.')}: `));
    expect(stderr).toContain('Set PLANEXEC_DB to a file in a folder you can write');
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
