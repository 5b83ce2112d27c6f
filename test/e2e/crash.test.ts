// Crash safety and several processes on one database, with the built binary: kill -9 in the middle
// of a wave, two servers racing on one workflow, and an MCP task that outlives its process.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOpenAIStandin, type OpenAIStandin } from '../support/openai-standin.js';
import { reviewedIn, subtaskOf, THREE_WAVES, until, workflowResponder } from '../support/responders.js';
import { spawnServer, withTimeout, type RawServer } from '../support/spawn.js';

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
  dir = mkdtempSync(join(tmpdir(), 'planexec-crash-'));
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

async function start(): Promise<RawServer> {
  const server = spawnServer({
    PATH: process.env.PATH ?? '',
    HOME: dir,
    OPENAI_API_KEY: 'test-key',
    OPENAI_BASE_URL: standin.baseURL,
    PLANEXEC_DB: join(dir, 'state.db'),
    PLANEXEC_ROOT: dir,
    PLANEXEC_LEASE_MS: '1000',
    PLANEXEC_LOG_LEVEL: 'warn',
  });
  servers.push(server);
  await server.initialize();
  return server;
}

function journal(): Array<{ subtask_id: string | null; purpose: string; status: string }> {
  const db = new Database(join(dir, 'state.db'), { readonly: true });
  try {
    return db.prepare('SELECT subtask_id, purpose, status FROM model_calls ORDER BY id').all() as never;
  } finally {
    db.close();
  }
}

const executorRequests = () => standin.requests.filter((r) => r.schemaName === null);
const perSubtask = (list: Array<string | null>) => list.reduce<Record<string, number>>((acc, id) => ({ ...acc, [id!]: (acc[id!] ?? 0) + 1 }), {});
const ONCE_EACH = Object.fromEntries(THREE_WAVES.subtasks.map((s) => [s.id, 1]));

describe('crash-safe resume', () => {
  it('after kill -9 mid-wave, a new process resumes: nothing completed is executed or billed again, and the lost calls show as abandoned', async () => {
    let hang = true;
    standin.setResponder(workflowResponder(THREE_WAVES, { executor: (id) => (hang && id.startsWith('b') ? { hang: true } : undefined) }));
    const first = await start();
    const started = await first.call('run_workflow', { request: 'Build it in three waves', wait: false });
    const workflow_id = started.structuredContent.workflow_id as string;
    await until(async () => executorRequests().filter((r) => subtaskOf(r)!.startsWith('b') && r.endedAt === null).length === 2, 'wave 2 in flight');
    first.child.kill('SIGKILL');
    await first.exited;
    hang = false;

    const second = await start();
    const resumed = await second.call('run_workflow', { workflow_id });
    expect(resumed.isError).toBeFalsy();
    expect(resumed.structuredContent.phase).toBe('completed');

    const calls = journal();
    const executes = calls.filter((c) => c.purpose === 'execute');
    expect(perSubtask(executes.filter((c) => c.status === 'completed').map((c) => c.subtask_id))).toEqual(ONCE_EACH);
    expect(executes.filter((c) => c.status === 'abandoned').map((c) => c.subtask_id).sort()).toEqual(['b1', 'b2']);
    expect(calls.some((c) => c.status === 'pending')).toBe(false);
    // The provider saw wave 1 once, wave 2 twice (the lost calls and their retries), wave 3 once.
    expect(perSubtask(executorRequests().map(subtaskOf))).toEqual({ a1: 1, a2: 1, a3: 1, b1: 2, b2: 2, c1: 1 });
    expect(resumed.structuredContent.usage.executor.abandoned_calls).toBe(2);
  });

  it('two processes racing run_workflow on one workflow execute each subtask once, with no error', async () => {
    standin.setResponder(workflowResponder(THREE_WAVES, { executorDelayMs: 80, plannerDelayMs: 30 }));
    const a = await start();
    const b = await start();
    const plan = await a.call('plan_task', { request: 'Build it in three waves' });
    const workflow_id = plan.structuredContent.workflow_id as string;
    const [ra, rb] = await Promise.all([a.call('run_workflow', { workflow_id, concurrency: 6 }), b.call('run_workflow', { workflow_id, concurrency: 6 })]);
    for (const r of [ra, rb]) {
      expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
      expect(r.structuredContent.phase).toBe('completed');
    }
    expect(perSubtask(executorRequests().map(subtaskOf))).toEqual(ONCE_EACH);
    const reviews = standin.requests.filter((r) => r.schemaName === 'review').map((r) => reviewedIn(r).sort());
    expect(reviews).toEqual([['a1', 'a2', 'a3'], ['b1', 'b2'], ['c1']]);
    expect(journal().every((c) => c.status === 'completed')).toBe(true);
  });

  it('an MCP task whose process was killed is resumed by the next process when a client polls it', async () => {
    let hang = true;
    standin.setResponder(workflowResponder(THREE_WAVES, { executor: (id) => (hang && id.startsWith('b') ? { hang: true } : undefined) }));
    const first = await start();
    const created = await first.request('tools/call', { name: 'run_workflow', arguments: { request: 'Build it' }, task: { ttl: 600_000 } });
    const taskId = created.result.task.taskId as string;
    expect(created.result.task.status).toBe('working');
    await until(async () => executorRequests().filter((r) => subtaskOf(r)!.startsWith('b') && r.endedAt === null).length === 2, 'wave 2 in flight');
    first.child.kill('SIGKILL');
    await first.exited;
    hang = false;

    const second = await start();
    let status = 'working';
    await withTimeout(
      (async () => {
        while (status === 'working') {
          status = (await second.request('tasks/get', { taskId })).result.status;
          if (status === 'working') await new Promise((r) => setTimeout(r, 100));
        }
      })(),
      20_000,
      'the task to finish',
    );
    expect(status).toBe('completed');
    const result = (await second.request('tasks/result', { taskId })).result;
    expect(result.structuredContent.phase).toBe('completed');
    expect(perSubtask(journal().filter((c) => c.purpose === 'execute' && c.status === 'completed').map((c) => c.subtask_id))).toEqual(ONCE_EACH);
  });
});
