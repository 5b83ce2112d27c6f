// Every way the stdio transport ends goes through the same logged shutdown, which releases this
// process's work: a line over the SDK's 10 MiB limit, stdin closing mid-call. A line that is not
// JSON only costs that line. Run against the built binary (dist/cli.js).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TOOLS } from '../../src/mcp/tools/index.js';
import { startOpenAIStandin, type OpenAIStandin } from '../support/openai-standin.js';
import { CLI, spawnServer, withTimeout, type RawServer } from '../support/spawn.js';

let standin: OpenAIStandin;
let dir: string;
let server: RawServer | null = null;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first).');
  standin = await startOpenAIStandin();
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-shutdown-'));
  standin.reset();
});
afterEach(() => {
  if (server && server.child.exitCode === null) server.child.kill('SIGKILL');
  server = null;
  rmSync(dir, { recursive: true, force: true });
});

function spawn(): RawServer {
  server = spawnServer({
    PATH: process.env.PATH ?? '',
    HOME: dir,
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: standin.baseURL,
    PLANEXEC_DB: join(dir, 'state.db'),
    PLANEXEC_ROOT: dir,
    PLANEXEC_LOG_LEVEL: 'info',
  });
  return server;
}

/** A server with a model call in flight: a subtask running, its journal row pending. */
async function busy(): Promise<RawServer> {
  const p = spawn();
  await p.initialize();
  const plan = await p.request('tools/call', { name: 'plan_task', arguments: { request: 'Add a health-check endpoint' } });
  const workflow_id = plan.result.structuredContent.workflow_id;
  standin.script({ hang: true });
  void p.request('tools/call', { name: 'execute_subtask', arguments: { workflow_id } });
  await withTimeout(
    (async () => {
      while (!standin.requests.some((r) => r.schemaName === null)) await new Promise((r) => setTimeout(r, 10));
    })(),
    10_000,
    'the executor request',
  );
  return p;
}

/** Nothing of the stopped process is left running or pending in the database. */
function released(): void {
  const db = new Database(join(dir, 'state.db'), { readonly: true });
  try {
    expect((db.prepare("SELECT count(*) AS n FROM model_calls WHERE status = 'pending'").get() as { n: number }).n).toBe(0);
    expect((db.prepare("SELECT count(*) AS n FROM subtasks WHERE status = 'running'").get() as { n: number }).n).toBe(0);
  } finally {
    db.close();
  }
}

describe('the stdio transport ending', () => {
  it('a line over 10 MiB: the server says why it stops, exits non-zero, and releases its work', async () => {
    const p = await busy();
    p.child.stdin.write(`${'x'.repeat(11 * 1024 * 1024)}\n`);
    const code = await withTimeout(p.exited, 15_000, 'exit after an 11 MiB line');
    expect(code).not.toBe(0);
    expect(p.stderr()).toMatch(/"msg":"stopping"/);
    expect(p.stderr()).toMatch(/maximum size of 10485760 bytes/);
    released();
  }, 30_000);

  it('stdin closing during a model call: a logged stop, exit 0, work released', async () => {
    const p = await busy();
    p.child.stdin.end();
    expect(await withTimeout(p.exited, 15_000, 'exit after stdin closed')).toBe(0);
    expect(p.stderr()).toMatch(/"why":"stdin closed".*"msg":"stopping"/);
    released();
  }, 30_000);

  it('a line that is not JSON is logged and skipped; the server keeps answering', async () => {
    const p = spawn();
    await p.initialize();
    p.child.stdin.write('{this is not json\n');
    p.child.stdin.write('[1, 2, 3]\n');
    const list = await withTimeout(p.request('tools/list'), 10_000, 'tools/list after a bad line');
    expect(list.result.tools.map((t: any) => t.name)).toEqual(TOOLS.map((t) => t.name));
    expect(p.child.exitCode).toBeNull();
    expect(p.stderr()).toMatch(/not a JSON-RPC message/);
    p.child.stdin.end();
    expect(await withTimeout(p.exited, 15_000, 'exit after stdin closed')).toBe(0);
  }, 30_000);
});
