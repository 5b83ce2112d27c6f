// Writes planexec must not lose, kept while the database refuses them (Runtime.settle, persist): they
// land in the order they were made once it is back, a later one never before a kept one; a task's
// result is stored by its owner only; a process taken for dead learns it before its kept writes run;
// a stopping process writes what it kept before it lets its work go.
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import { withApplyLock } from '../../src/core/changes.js';
import type { CoreDeps } from '../../src/core/deps.js';
import { newWorkflow } from '../../src/core/planning.js';
import type { ModelProvider, ModelRequest, ModelResponse, Store } from '../../src/core/ports.js';
import { Runtime } from '../../src/core/runtime.js';
import type { WorkflowChanges } from '../../src/core/types.js';
import { persist } from '../../src/core/usecases/execute-subtask.js';
import { runWorkflow } from '../../src/core/usecases/run-workflow.js';
import { handOver } from '../../src/hand-over.js';
import { createLogger } from '../../src/log.js';
import { StoredTaskStore } from '../../src/mcp/task-store.js';
import { failingStore, MapWorkspaceReader, MapWorkspaceWriter, SequentialIds, WordTokenCounter } from '../support/fakes.js';
import { subtask, workflow } from '../unit/builders.js';
import { SETTINGS } from '../unit/core-deps.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

const clock = { now: () => Date.now() };

/**
 * A SQLite store that refuses (StorageError 'connection') while `down`, and, when `failTransactions`
 * is above zero, that many of the next transactions (one write refused, then the database is back).
 */
async function outage() {
  const o = await openSqliteStore(':memory:');
  closers.push(o.close);
  const state = { down: false, failTransactions: 0 };
  let failNow = false;
  const flaky = failingStore(o.store, () => {
    if (failNow) {
      failNow = false;
      return true;
    }
    return state.down;
  });
  // Only whole transactions are refused by `failTransactions`: the proxy's own check runs first.
  const store = new Proxy(flaky, {
    get(target, key, receiver) {
      if (key !== 'transaction') return Reflect.get(target, key, receiver);
      return <T>(fn: (tx: Store) => Promise<T>) => {
        if (state.failTransactions > 0) {
          state.failTransactions--;
          failNow = true;
        }
        return target.transaction(fn);
      };
    },
  });
  return { store, raw: o.store, state };
}

function runtimeOver(store: Store, id = 'A', onError?: (error: unknown, what: string) => void): Runtime {
  return new Runtime({ store, clock, probe: { isRunning: () => null }, owner: { id, host: 'host', pid: 1 }, leaseMs: 60_000, onError });
}

function depsOver(store: Store, runtime: Runtime, models: ModelProvider): CoreDeps {
  return { store, models: { planner: models, executor: models }, files: new MapWorkspaceReader({}), writer: new MapWorkspaceWriter(), git: null, tokens: new WordTokenCounter(), clock, ids: new SequentialIds('wf-'), owner: runtime.owner, runtime, settings: SETTINGS, redact: (t) => t };
}

describe('writes kept while the database refuses them', () => {
  it('land in the order they were made: a settle or persist once the database is back waits behind the kept write', async () => {
    const { store, state } = await outage();
    const runtime = runtimeOver(store);
    const order: string[] = [];
    const write = (name: string) => async () => {
      await store.owners.list();
      order.push(name);
      return name;
    };
    state.down = true;
    expect(await runtime.settle('first', write('first'))).toBe(false);
    state.down = false;
    expect(await runtime.settle('second', write('second'))).toBe(true);
    expect(await persist({ runtime } as CoreDeps, 'third', write('third'))).toBe('third');
    expect(order).toEqual(['first', 'second', 'third']);
    expect(runtime.deferredWrites).toEqual([]);
  });

  it('a write behind a kept one the database still refuses is kept too, and persist says so (deferred)', async () => {
    const { store, state } = await outage();
    const runtime = runtimeOver(store);
    const order: string[] = [];
    const first = async () => {
      await store.owners.list();
      order.push('first');
    };
    state.down = true;
    await runtime.settle('first', first);
    // The database still refuses the head of the queue; `second` itself would go through.
    const second = async () => void order.push('second');
    await expect(persist({ runtime } as CoreDeps, 'second', second)).rejects.toMatchObject({ code: 'storage_unavailable', details: { deferred: true } });
    expect(order).toEqual([]);
    expect(runtime.deferredWrites).toEqual(['first', 'second']);
    state.down = false;
    await runtime.flush();
    expect(order).toEqual(['first', 'second']);
  });

  it('a run whose stop record was refused keeps its failure: its lock is let go only after that record lands', async () => {
    const { store, state } = await outage();
    const runtime = runtimeOver(store);
    await store.owners.upsert({ id: 'A', host: 'host', pid: 1, startedAt: clock.now(), heartbeatAt: clock.now() });
    const models: ModelProvider = {
      capabilities: { serverThreads: true, promptCacheControls: true, structuredOutput: true, applyPatchTool: false },
      async generate(_req: ModelRequest): Promise<ModelResponse> {
        // The next transaction is the run's stop record (the journal row is settled outside one):
        // it is refused, and the database is back for everything after it.
        state.failTransactions = 1;
        throw new Error('the planner broke');
      },
    };
    let workflowId = '';
    const run = runWorkflow(depsOver(store, runtime, models), { request: 'Build it' }, { onStarted: (id) => (workflowId = id) });
    await expect(run).rejects.toMatchObject({ message: expect.stringContaining('the planner broke') });
    await runtime.flush();
    expect(runtime.deferredWrites).toEqual([]);
    const wf = await store.workflows.get(workflowId);
    expect(wf).toMatchObject({ phase: 'failed', lockOwner: null });
    expect(wf?.lastError).toContain('the planner broke');
  });

  it('the apply lock is let go only after the record of what was done under it: another attempt cannot reset the worktree under a kept record', async () => {
    const { store, state } = await outage();
    const runtime = runtimeOver(store);
    await store.owners.upsert({ id: 'A', host: 'host', pid: 1, startedAt: clock.now(), heartbeatAt: clock.now() });
    const d = depsOver(store, runtime, { capabilities: { serverThreads: true, promptCacheControls: true, structuredOutput: true, applyPatchTool: false }, generate: () => Promise.reject(new Error('unused')) });
    const now = clock.now();
    await store.workflows.insert(newWorkflow('wf-1', 'Build it', null, {}, null, now));
    const changes: WorkflowChanges = { workflowId: 'wf-1', mode: 'worktree', reason: null, repo: '/repo', branch: 'planexec/wf-1', worktree: '/worktrees/wf-1', prefix: '', base: 'P', head: 'P', files: [], hostChecks: [], baseChecks: null, finalChecks: null, merged: null, discarded: false, lockOwner: null, createdAt: now, updatedAt: now };
    await store.changes.insert(changes);
    const landed = withApplyLock(d, 'wf-1', undefined, async () => {
      // The record of the attempt (head C1) is refused, and once more when the release comes.
      state.failTransactions = 2;
      await persist(d, 'recording C1', () => store.transaction((tx) => tx.changes.update('wf-1', { head: 'C1' }, clock.now())));
    }, 'keep');
    await expect(landed).rejects.toMatchObject({ code: 'storage_unavailable', details: { deferred: true } });
    // The release waits behind the record: the lock stays held while the record is kept.
    expect(runtime.deferredWrites).toEqual(['recording C1', 'letting go of the apply lock of workflow wf-1']);
    expect(await store.changes.get('wf-1')).toMatchObject({ head: 'P', lockOwner: expect.stringMatching(/^A\//) });
    await runtime.flush();
    expect(runtime.deferredWrites).toEqual([]);
    expect(await store.changes.get('wf-1')).toMatchObject({ head: 'C1', lockOwner: null });
  });
});

describe('a process taken for dead while its writes were kept', () => {
  const hooks = { onCancel: () => undefined, onOrphan: () => undefined };
  const request = { method: 'tools/call', params: { name: 'run_workflow', arguments: {} } };

  it('does not store its kept result over the task another process adopted and runs', async () => {
    const { store, raw, state } = await outage();
    const runtime = runtimeOver(store);
    await store.owners.upsert({ id: 'A', host: 'host', pid: 1, startedAt: clock.now(), heartbeatAt: clock.now() });
    const mine = new StoredTaskStore(store, clock, 'A', (t) => t, hooks);
    const theirs = new StoredTaskStore(raw, clock, 'B', (t) => t, hooks);
    const task = await mine.createTask({ ttl: 60_000 }, 1, request);

    state.down = true;
    const kept = await runtime.settle('storing the result of the task', () => mine.storeTaskResult(task.taskId, 'failed', { content: [], isError: true }));
    expect(kept).toBe(false);
    // B takes A for dead (its work is let go), a client polls, and B adopts the task.
    await raw.owners.release('A', clock.now());
    expect(await theirs.adopt(task.taskId)).toBe(true);

    state.down = false;
    await runtime.tick();
    expect(runtime.deferredWrites).toEqual([]);
    expect(await raw.tasks.get(task.taskId)).toMatchObject({ status: 'working', owner: 'B', result: null });
    // The owner itself still stores its result.
    await theirs.storeTaskResult(task.taskId, 'completed', { content: [] });
    expect(await raw.tasks.get(task.taskId)).toMatchObject({ status: 'completed', owner: 'B' });
  });

  it('learns it was taken for dead (its work stopped) before its kept writes run, and runs them before it registers again', async () => {
    const { store, raw, state } = await outage();
    const runtime = runtimeOver(store);
    await store.owners.upsert({ id: 'A', host: 'host', pid: 1, startedAt: clock.now(), heartbeatAt: clock.now() });
    const op = runtime.track('wf-1');
    const seen: Array<{ aborted: boolean; registered: boolean }> = [];
    state.down = true;
    await runtime.settle('a kept write', async () => {
      seen.push({ aborted: op.signal.aborted, registered: (await store.owners.get('A')) !== null });
    });
    expect(seen).toEqual([]);
    await raw.owners.release('A', clock.now());
    state.down = false;
    await runtime.tick();
    expect(seen).toEqual([{ aborted: true, registered: false }]);
    expect(await raw.owners.get('A')).not.toBeNull();
    op.done();
  });
});

describe('a process stopping with writes kept', () => {
  it('writes them before it lets its work go, so a kept answer finds its claim and is recorded; what it cannot write is logged as lost', async () => {
    const { store, raw, state } = await outage();
    const runtime = runtimeOver(store);
    await store.owners.upsert({ id: 'A', host: 'host', pid: 1, startedAt: clock.now(), heartbeatAt: clock.now() });
    await raw.workflows.insert(workflow());
    await raw.workflows.insertSubtasks([subtask('s1', 'running', { leaseOwner: 'A', claimedFrom: 'pending' })]);
    // The record of a billed answer, settled only while the claim is still this process's.
    const record = () =>
      store.transaction(async (tx) => {
        const s1 = (await tx.workflows.listSubtasks('wf-1')).find((s) => s.id === 's1');
        if (s1?.status === 'running' && s1.leaseOwner === 'A') await tx.workflows.updateSubtask('wf-1', 's1', { status: 'completed', output: 'DONE', leaseOwner: null, claimedFrom: null }, clock.now());
      });
    state.down = true;
    await runtime.settle('recording the answer of s1', record);
    state.down = false;
    runtime.stop();
    const lines: string[] = [];
    const log = createLogger('info');
    const released = await handOver(runtime, store, 'A', Object.assign(Object.create(log) as typeof log, { error: (o: unknown, m?: string) => void lines.push(`${JSON.stringify(o)} ${m}`) }), 5_000, clock.now);
    expect(released.subtasks).toBe(0);
    expect((await raw.workflows.listSubtasks('wf-1'))[0]).toMatchObject({ status: 'completed', output: 'DONE', leaseOwner: null });
    expect(lines).toEqual([]);
    expect(await raw.owners.get('A')).toBeNull();
  });

  it('logs the writes the database still refuses when the time to stop is up, and releases what it holds', async () => {
    const { store, raw, state } = await outage();
    const runtime = runtimeOver(store);
    await store.owners.upsert({ id: 'A', host: 'host', pid: 1, startedAt: clock.now(), heartbeatAt: clock.now() });
    state.down = true;
    await runtime.settle('recording the answer of s1', async () => void (await store.owners.list()));
    // The database still refuses it when the process stops (handOver releases through another connection): it is lost.
    const lines: string[] = [];
    const log = createLogger('info');
    const quiet = Object.assign(Object.create(log) as typeof log, { error: (o: unknown, m?: string) => void lines.push(`${JSON.stringify(o)} ${m}`) });
    state.down = true;
    await handOver(runtime, raw, 'A', quiet, 50, clock.now);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('recording the answer of s1');
    expect(await raw.owners.get('A')).toBeNull();
  });
});
