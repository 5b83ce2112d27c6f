// The built binary on PostgreSQL (PLANEXEC_DB=postgres://…, a real server, see
// test/support/pg-global-setup.ts): two servers on one database with one killed mid-wave, a server
// whose database connections are dropped, and a server that cannot reach its database.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIStandin, type OpenAIStandin } from '../support/openai-standin.js';
import { adminQuery, dropConnections, freshPgUrl, schemaOf } from '../support/postgres.js';
import { subtaskOf, THREE_WAVES, until, workflowResponder } from '../support/responders.js';
import { spawnServer, type RawServer } from '../support/spawn.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

let standin: OpenAIStandin;
let dir: string;
const servers: RawServer[] = [];

beforeAll(async () => {
  standin = await startOpenAIStandin();
});
afterAll(async () => {
  await standin.close();
});
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-pg-e2e-'));
  standin.reset();
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    if (s.child.exitCode === null && s.child.signalCode === null) {
      s.child.kill('SIGKILL');
      await s.exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function spawn(db: string): RawServer {
  const server = spawnServer({
    PATH: process.env.PATH ?? '',
    HOME: dir,
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: standin.baseURL,
    PLANEXEC_DB: db,
    PLANEXEC_ROOT: dir,
    PLANEXEC_LEASE_MS: '1000',
    PLANEXEC_LOG_LEVEL: 'warn',
  });
  servers.push(server);
  return server;
}

async function start(db: string): Promise<RawServer> {
  const server = spawn(db);
  await server.initialize();
  return server;
}

const executorRequests = () => standin.requests.filter((r) => r.schemaName === null);
const perSubtask = (list: Array<string | null>) => list.reduce<Record<string, number>>((acc, id) => ({ ...acc, [id!]: (acc[id!] ?? 0) + 1 }), {});
const ONCE_EACH = Object.fromEntries(THREE_WAVES.subtasks.map((s) => [s.id, 1]));

describe('planexec on PostgreSQL', () => {
  it('two servers on one database, one killed with -9 mid-wave: the other finishes, and each completed subtask was executed once', async () => {
    const db = await freshPgUrl();
    let hang = true;
    standin.setResponder(workflowResponder(THREE_WAVES, { executor: (id) => (hang && id.startsWith('b') ? { hang: true } : undefined) }));
    const a = await start(db);
    const b = await start(db);
    const started = await a.call('run_workflow', { request: 'Build it in three waves', wait: false });
    const workflow_id = started.structuredContent.workflow_id as string;
    await until(async () => executorRequests().filter((r) => subtaskOf(r)!.startsWith('b') && r.endedAt === null).length === 2, 'wave 2 in flight');
    // The second server follows the run that the first one holds.
    const following = b.call('run_workflow', { workflow_id });
    a.child.kill('SIGKILL');
    await a.exited;
    hang = false;

    const finished = await following;
    expect(finished.isError, JSON.stringify(finished.content)).toBeFalsy();
    expect(finished.structuredContent.phase).toBe('completed');

    // The stand-in's log: wave 1 once, wave 2 twice (the calls lost with the first server, then the
    // second server's), wave 3 once; and the journal: one completed execution per subtask.
    expect(perSubtask(executorRequests().map(subtaskOf))).toEqual({ a1: 1, a2: 1, a3: 1, b1: 2, b2: 2, c1: 1 });
    const calls = await adminQuery<{ subtask_id: string | null; purpose: string; status: string }>(`SELECT subtask_id, purpose, status FROM ${schemaOf(db)}.model_calls ORDER BY id`);
    const executes = calls.filter((c) => c.purpose === 'execute');
    expect(perSubtask(executes.filter((c) => c.status === 'completed').map((c) => c.subtask_id))).toEqual(ONCE_EACH);
    expect(executes.filter((c) => c.status === 'abandoned').map((c) => c.subtask_id).sort()).toEqual(['b1', 'b2']);
    expect(calls.some((c) => c.status === 'pending')).toBe(false);
    expect(b.child.exitCode).toBeNull();
  });

  it('a server whose database connections are dropped keeps serving: the next calls reconnect', async () => {
    const db = await freshPgUrl();
    standin.setResponder(workflowResponder(THREE_WAVES));
    const server = await start(db);
    const done = await server.call('run_workflow', { request: 'Build it in three waves' });
    expect(done.structuredContent.phase).toBe('completed');
    expect(await dropConnections(db)).toBeGreaterThan(0);

    const status = await server.call('workflow_status', { workflow_id: done.structuredContent.workflow_id });
    expect(status.isError, JSON.stringify(status.content)).toBeFalsy();
    expect(status.structuredContent.phase).toBe('completed');
    expect(server.child.exitCode).toBeNull();
  });

  it('a server that cannot reach its database exits 2 with an error naming PLANEXEC_DB and what to do, without the password', async () => {
    const proxy = await startTcpProxy('127.0.0.1', 9);
    proxy.cut();
    try {
      const server = spawn(`postgres://planexec:hunter2-secret@127.0.0.1:${proxy.port}/planexec`);
      expect(await server.exited).toBe(2);
      expect(server.stderr()).toMatch(/planexec: PLANEXEC_DB postgres:\/\/\S+@127\.0\.0\.1:\d+\/planexec: cannot open the database/);
      expect(server.stderr()).toMatch(/connection/);
      expect(server.stderr()).not.toContain('hunter2');
      expect(server.stderr()).toMatch(/Check that the PostgreSQL server runs/);
      expect(server.stderr()).not.toMatch(/resumed/);
      expect(server.lines).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});
