// A database that goes away while a run_workflow has executions in flight, and comes back: what this
// live process held (the workflow lock, its subtask claims, the apply lock) is let go, and what the
// models answered meanwhile (billed) is recorded once, as soon as the database is back; a resumed run
// then finishes without running anything again. On PostgreSQL (the network cut under a running store,
// test/support/tcp-proxy.ts) and on SQLite (a full disk, over MCP, with subtasks that edit a worktree).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore, type OpenedPostgres } from '../../src/adapters/store/postgres.js';
import { openSqliteStore } from '../../src/adapters/store/sqlite.js';
import type { CoreDeps } from '../../src/core/deps.js';
import type { ModelProvider, ModelRequest, ModelResponse, Store } from '../../src/core/ports.js';
import { Runtime } from '../../src/core/runtime.js';
import { cancelWorkflow } from '../../src/core/usecases/cancel-workflow.js';
import { planTask } from '../../src/core/usecases/plan-task.js';
import { runWorkflow } from '../../src/core/usecases/run-workflow.js';
import { withWorkflowLock } from '../../src/core/workflow.js';
import { workflowStatus } from '../../src/core/usecases/workflow-status.js';
import { failingStore, MapWorkspaceReader, MapWorkspaceWriter, SequentialIds, WordTokenCounter } from '../support/fakes.js';
import { startHarness, type Harness } from '../support/harness.js';
import { freshPgUrl } from '../support/postgres.js';
import { makeRepo } from '../support/git-repo.js';
import { plan, subtaskOf, until, workflowResponder } from '../support/responders.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { planned } from '../unit/builders.js';
import { SETTINGS } from '../unit/core-deps.js';

const opened: OpenedPostgres[] = [];
const proxies: TcpProxy[] = [];
let h: Harness | undefined;
const closers: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close().catch(() => undefined);
  for (const p of proxies.splice(0)) await p.close();
  for (const c of closers.splice(0)) await c().catch(() => undefined);
  await h?.close();
  h = undefined;
});

const IDS = ['s1', 's2', 's3'];

/** Plans s1..s3 (independent), approves all three in review; an execution waits for `gate`. Counts executions per subtask. */
class OutageModels implements ModelProvider {
  readonly capabilities = { serverThreads: true, promptCacheControls: true, structuredOutput: true, applyPatchTool: false };
  readonly executions: string[] = [];
  constructor(private readonly gate: Promise<void>) {}
  async generate(req: ModelRequest): Promise<ModelResponse> {
    const usage = { input_tokens: 100, cached_tokens: 0, output_tokens: 10 };
    if (req.format?.name === 'plan') return { responseId: null, text: JSON.stringify({ subtasks: IDS.map((id) => planned(id)), coordination_notes: '' }), usage };
    if (req.format) {
      const reviews = IDS.map((subtask_id) => ({ subtask_id, verdict: 'approve', feedback: '' }));
      return { responseId: null, text: JSON.stringify({ verdict: 'approve', reviews, summary: 'done' }), usage };
    }
    this.executions.push(IDS.find((id) => req.input.includes(`subtask ${id}`) || req.input.includes(`"${id}"`) || req.input.includes(`'${id}'`)) ?? '?');
    await this.gate;
    return { responseId: null, text: 'DONE', usage };
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected the promise to reject');
}

const waitFor = async (what: string, condition: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 2_000; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${what} did not happen`);
};

/** A store that can be taken away and given back under a running process. */
interface Outage {
  store: Store;
  cut(): void;
  restore(): void;
}

const OUTAGES: Array<[string, () => Promise<Outage>]> = [
  [
    'PostgreSQL (the network to it cut)',
    async () => {
      const server = new URL(await freshPgUrl());
      const proxy = await startTcpProxy(server.hostname, Number(server.port));
      proxies.push(proxy);
      server.host = `127.0.0.1:${proxy.port}`;
      const o = await openPostgresStore(server.toString(), { connectTimeoutMs: 2_000 });
      opened.push(o);
      return { store: o.store, cut: () => proxy.cut(), restore: () => proxy.restore() };
    },
  ],
  [
    'SQLite (StorageError(connection) injected at the store)',
    async () => {
      const o = await openSqliteStore(':memory:');
      closers.push(o.close);
      let down = false;
      return { store: failingStore(o.store, () => down), cut: () => (down = true), restore: () => (down = false) };
    },
  ],
];

describe.each(OUTAGES)('the database lost during a run_workflow, then back: %s', (_name, outage) => {
  it('the run answers StorageError(connection); once the database is back its lock and claims are let go, the answers recorded once, and a resumed run finishes without executing again', async () => {
    const { store, cut, restore } = await outage();
    let answer!: () => void;
    const models = new OutageModels(new Promise<void>((r) => (answer = r)));
    const clock = { now: () => Date.now() };
    const owner = { id: 'A', host: 'host', pid: 1 };
    const runtime = new Runtime({ store, clock, probe: { isRunning: () => null }, owner, leaseMs: 60_000 });
    await store.owners.upsert({ ...owner, startedAt: clock.now(), heartbeatAt: clock.now() });
    const d: CoreDeps = { store, models: { planner: models, executor: models }, files: new MapWorkspaceReader({}), writer: new MapWorkspaceWriter(), git: null, tokens: new WordTokenCounter(), clock, ids: new SequentialIds('wf-'), owner: 'A', runtime, settings: SETTINGS, redact: (t) => t };

    let workflowId = '';
    const run = runWorkflow(d, { request: 'Build it' }, { onStarted: (id) => (workflowId = id) });
    await waitFor('three executions in flight', () => models.executions.length === 3);
    cut();
    answer();
    const error = await rejection(run);
    expect(error).toMatchObject({ code: 'storage_unavailable', details: { reason: 'connection' } });

    restore();
    await runtime.tick();
    expect(runtime.deferredWrites).toEqual([]);
    expect((await store.workflows.get(workflowId))?.lockOwner).toBeNull();
    const subtasks = await store.workflows.listSubtasks(workflowId);
    expect(subtasks.map((s) => [s.id, s.status, s.leaseOwner])).toEqual(IDS.map((id) => [id, 'completed', null]));
    for (const id of IDS) expect(await store.workflows.listExecutions(workflowId, id)).toHaveLength(1);
    const status = await workflowStatus(d, { workflow_id: workflowId });
    expect(status.active).toBe(false);
    expect(status.next).not.toMatch(/is driving this workflow/);

    const resumed = await runWorkflow(d, { workflow_id: workflowId });
    expect(resumed.phase).toBe('completed');
    expect(models.executions).toHaveLength(3);
    const calls = (await store.calls.list(workflowId)).filter((c) => c.purpose === 'execute');
    expect(calls.map((c) => c.status)).toEqual(['completed', 'completed', 'completed']);
  });

  it('a workflow lock whose release the storage refused is kept, not thrown, and let go once it is back: cancel_workflow writes it first and answers that no run drives the workflow', async () => {
    const { store, cut, restore } = await outage();
    const models = new OutageModels(Promise.resolve());
    const clock = { now: () => Date.now() };
    const owner = { id: 'A', host: 'host', pid: 1 };
    const runtime = new Runtime({ store, clock, probe: { isRunning: () => null }, owner, leaseMs: 60_000 });
    await store.owners.upsert({ ...owner, startedAt: clock.now(), heartbeatAt: clock.now() });
    const d: CoreDeps = { store, models: { planner: models, executor: models }, files: new MapWorkspaceReader({}), writer: new MapWorkspaceWriter(), git: null, tokens: new WordTokenCounter(), clock, ids: new SequentialIds('wf-'), owner: 'A', runtime, settings: SETTINGS, redact: (t) => t };
    const { workflow_id } = await planTask(d, { request: 'Build it' });

    // The storage goes away while the lock is held: its release is kept, not thrown, not lost.
    await withWorkflowLock(d, workflow_id, undefined, async () => cut());
    expect(runtime.deferredWrites).toHaveLength(1);
    restore();
    expect((await store.workflows.get(workflow_id))?.lockOwner).toMatch(/^A\//);
    const cancelled = await cancelWorkflow(d, { workflow_id });
    expect(cancelled.phase).toBe('cancelled');
    expect(cancelled.active).toBe(false);
    expect((await store.workflows.get(workflow_id))?.lockOwner).toBeNull();
  });
});

const BASE = 'export const a = 1;\n';

describe('PostgreSQL lost while a run_workflow edits a worktree, then back', () => {
  it('the edits answered meanwhile land once the database is back: the run completes, each subtask executed once, nothing left held', async () => {
    const server = new URL(await freshPgUrl());
    const proxy = await startTcpProxy(server.hostname, Number(server.port));
    proxies.push(proxy);
    server.host = `127.0.0.1:${proxy.port}`;
    let answer!: () => void;
    const gate = new Promise<void>((r) => (answer = r));
    const bump = (path: string) => ({ type: 'update_file' as const, path, diff: '@@\n-export const a = 1;\n+export const a = 2;\n' });
    const respond = workflowResponder(plan([{ id: 's1', writes: ['a.mjs'] }, { id: 's2', writes: ['b.mjs'] }]), {
      executor: (id) => ({ patchCalls: [bump(id === 's1' ? 'a.mjs' : 'b.mjs')], text: 'Bumped.' }),
    });
    h = await startHarness({
      env: { PLANEXEC_LEASE_MS: '600', PLANEXEC_DB: server.toString() },
      standin: {
        // An executor answers once the test lets it (after the database is gone).
        responder: async (req) => {
          if (subtaskOf(req) !== null) await gate;
          return respond(req);
        },
      },
    });
    const harness = h;
    makeRepo(harness.root, { 'a.mjs': BASE, 'b.mjs': BASE });
    const running = harness.call('run_workflow', { request: 'Bump both' });
    await until(async () => harness.standin.requests.filter((r) => subtaskOf(r) !== null).length === 2, 'both executor calls sent');
    proxy.cut();
    answer();
    // Both answers come back while nothing can be written: their records are kept.
    await until(async () => harness.runtime.deferredWrites.length >= 2, 'the answers kept');
    proxy.restore();

    // The client's own polling of the task may have met the outage (its tasks/get answered an error):
    // what counts is the workflow, read from the database.
    await running;
    const [summary] = await harness.store.workflows.list(1);
    const done = { workflow_id: summary!.workflow.id };
    await until(async () => (await harness.store.workflows.get(done.workflow_id))?.phase === 'completed', 'the run to complete');
    // The run writes its end, then lets go of its lock (a release kept in order behind the writes
    // kept before it, which may wait for a flush under way): the lock is let go, if not at once.
    await until(async () => (await harness.store.workflows.get(done.workflow_id))?.lockOwner === null, 'the run to let go of its lock');
    expect(harness.runtime.deferredWrites).toEqual([]);
    const subtasks = await harness.store.workflows.listSubtasks(done.workflow_id);
    expect(subtasks.map((s) => [s.id, s.status])).toEqual([
      ['s1', 'approved'],
      ['s2', 'approved'],
    ]);
    for (const id of ['s1', 's2']) {
      expect(harness.standin.requests.filter((r) => r.schemaName === null && subtaskOf(r) === id)).toHaveLength(1);
      expect(await harness.store.workflows.listExecutions(done.workflow_id, id)).toHaveLength(1);
    }
    const changes = await harness.store.changes.get(done.workflow_id);
    expect(changes?.lockOwner).toBeNull();
    expect(readFileSync(join(changes!.worktree!, 'a.mjs'), 'utf8')).toBe('export const a = 2;\n');
    expect(readFileSync(join(changes!.worktree!, 'b.mjs'), 'utf8')).toBe('export const a = 2;\n');
    const calls = (await harness.store.calls.list(done.workflow_id)).filter((c) => c.purpose === 'execute');
    expect(calls.map((c) => c.status)).toEqual(['completed', 'completed']);
  });
});
