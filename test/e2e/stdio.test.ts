// The built binary (dist/cli.js, built by `npm test`) over stdio, as an MCP host runs it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
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
