// The built binary (dist/cli.js, built by `npm test`) over stdio, as an MCP host runs it.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { TOOLS } from '../../src/mcp/tools/index.js';
import { startOpenAIStandin, type OpenAIStandin } from '../support/openai-standin.js';
import { spawnServer, withTimeout } from '../support/spawn.js';

const CLI = resolve('dist/cli.js');
let standin: OpenAIStandin;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CLI)) throw new Error('dist/cli.js is missing: run `npm run build` (npm test does it first).');
  standin = await startOpenAIStandin();
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-e2e-'));
  standin.reset();
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: standin.baseURL,
    PLANEXEC_DB: join(dir, 'state.db'),
    PLANEXEC_ROOT: dir,
    PLANEXEC_LOG_LEVEL: 'debug',
  };
  return { ...base, ...extra };
}

function spawnRaw(extraEnv: Record<string, string> = {}) {
  return spawnServer(env(extraEnv));
}

describe('planexec over stdio', () => {
  it('runs a whole workflow for a real MCP client', async () => {
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI], env: env(), stderr: 'pipe' });
    const client = new Client({ name: 'e2e', version: '1' });
    const transportErrors: unknown[] = [];
    client.onerror = (e) => transportErrors.push(e);
    await client.connect(transport);
    try {
      const call = async (name: string, args: object) => {
        const r = await client.callTool({ name, arguments: args as Record<string, unknown> });
        if (r.isError) throw new Error(JSON.stringify(r.content));
        return r.structuredContent as any;
      };
      const plan = await call('plan_task', { request: 'Add a health-check endpoint' });
      let ready: string[] = plan.ready;
      const executed: string[] = [];
      while (ready.length) {
        const r = await call('execute_subtask', { workflow_id: plan.workflow_id, subtask_id: ready[0] });
        executed.push(r.subtask_id);
        ready = r.ready;
      }
      expect(executed.sort()).toEqual(plan.subtasks.map((s: any) => s.id).sort());
      const review = await call('review_results', { workflow_id: plan.workflow_id });
      expect(review.phase).toBe('completed');
      const status = await call('workflow_status', { workflow_id: plan.workflow_id });
      expect(status.phase).toBe('completed');
      expect(status.cost.savings_pct).toBeGreaterThan(0);
      expect(transportErrors).toEqual([]);
    } finally {
      await client.close();
    }
  });

  it('writes nothing but JSON-RPC messages to stdout, and exits when stdin closes', async () => {
    const p = spawnRaw({ OPENAI_API_KEY: '' });
    const init = await p.initialize();
    expect(init.result.serverInfo.name).toBe('planexec');
    const list = await p.request('tools/list');
    expect(list.result.tools.map((t: any) => t.name)).toEqual(TOOLS.map((t) => t.name));
    const noKey = await p.request('tools/call', { name: 'plan_task', arguments: { request: 'x' } });
    expect(noKey.result.isError).toBe(true);
    await p.request('tools/call', { name: 'workflow_status', arguments: {} });
    p.child.stdin.end();
    expect(await withTimeout(p.exited, 5_000, 'exit after stdin closed')).toBe(0);
    expect(p.lines.length).toBeGreaterThanOrEqual(4);
    for (const line of p.lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    expect(p.stderr()).toMatch(/planexec ready/);
  });

  // A library that prints (a debug print, a logger defaulting to console) must not reach stdout
  // whatever the environment: here a module preloaded with NODE_OPTIONS prints on every fetch the
  // OpenAI SDK makes, with console.log and with process.stdout.write, and OPENAI_LOG=debug is on.
  it('keeps stdout MCP-only under OPENAI_LOG=debug and a library that prints, for a whole workflow', async () => {
    const noisy = join(dir, 'noisy-library.mjs');
    writeFileSync(
      noisy,
      [
        'const realFetch = globalThis.fetch;',
        'globalThis.fetch = (...args) => {',
        "  console.log('NOISY-CONSOLE-LOG fetch', String(args[0]));",
        "  console.info('NOISY-CONSOLE-INFO');",
        "  process.stdout.write('NOISY-STDOUT-WRITE\\n');",
        '  return realFetch(...args);',
        '};',
      ].join('\n'),
    );
    const child = spawn(process.execPath, [CLI], {
      env: env({ OPENAI_LOG: 'debug', NODE_OPTIONS: `--import ${pathToFileURL(noisy).href}` }),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // The SDK's stdio transport reads JSON lines from a stream and writes to another: pointed at the
    // child's stdout and stdin, it is a client transport that sees every line the server prints.
    const client = new Client({ name: 'e2e-noisy', version: '1' });
    const clientErrors: unknown[] = [];
    client.onerror = (e) => clientErrors.push(e);
    await client.connect(new StdioServerTransport(child.stdout, child.stdin));
    const status = await client.callTool({ name: 'run_workflow', arguments: { request: 'Add a health-check endpoint' } });
    expect(status.isError).toBeFalsy();
    expect((status.structuredContent as { phase: string }).phase).toBe('completed');
    child.stdin.end();
    expect(await withTimeout(exited, 5_000, 'exit after stdin closed')).toBe(0);

    expect(clientErrors).toEqual([]);
    const lines = stdout.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    expect(stdout).not.toContain('NOISY');
    // What the library printed, and the SDK's debug lines, went to stderr.
    expect(stderr).toContain('NOISY-CONSOLE-LOG fetch');
    expect(stderr).toContain('NOISY-CONSOLE-INFO');
    expect(stderr).toContain('NOISY-STDOUT-WRITE');
    expect(stderr).toMatch(/"level":20,.*"msg":"openai: \[log_[0-9a-f]+\] sending request"/);
  });

  it('on SIGTERM during a model call, exits and leaves no journal row pending and no subtask running', async () => {
    const p = spawnRaw();
    await p.initialize();
    const plan = await p.request('tools/call', { name: 'plan_task', arguments: { request: 'Add a health-check endpoint' } });
    const workflow_id = plan.result.structuredContent.workflow_id;
    standin.script({ hang: true });
    void p.request('tools/call', { name: 'execute_subtask', arguments: { workflow_id } });
    await withTimeout(
      (async () => {
        while (!standin.requests.some((r) => r.schemaName === null)) await new Promise((r) => setTimeout(r, 10));
      })(),
      5_000,
      'the executor request',
    );
    p.child.kill('SIGTERM');
    expect(await withTimeout(p.exited, 5_000, 'exit after SIGTERM')).toBe(0);

    const db = new Database(join(dir, 'state.db'), { readonly: true });
    try {
      const calls = db.prepare('SELECT status, purpose FROM model_calls ORDER BY id').all() as Array<{ status: string; purpose: string }>;
      expect(calls.map((c) => c.status)).toEqual(['completed', 'failed']);
      const statuses = db.prepare('SELECT status FROM subtasks').all() as Array<{ status: string }>;
      expect(statuses.every((s) => s.status === 'pending')).toBe(true);
    } finally {
      db.close();
    }
  });
});
