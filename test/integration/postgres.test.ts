// What is PostgreSQL's own, on a real server (test/support/pg-global-setup.ts): migrations in the
// URL's schema (and several processes starting at once), several processes (each store with its own
// pool of connections, as separate processes or machines would have) claiming the same subtasks and
// taking the planner lock, leases across hosts, and connections lost: mid-transaction, while idle,
// and the network gone while a model call runs.
import { spawnSync } from 'node:child_process';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import type { KyselyStore } from '../../src/adapters/store/kysely-store.js';
import { DatabaseOpenError } from '../../src/adapters/store/open-failure.js';
import { openPostgresStore, type OpenedPostgres } from '../../src/adapters/store/postgres.js';
import { migrations } from '../../src/adapters/store/migrations/index.js';
import { hostIdentity, processProbe } from '../../src/adapters/system.js';
import type { CoreDeps } from '../../src/core/deps.js';
import { PlanexecError, StorageError } from '../../src/core/errors.js';
import type { ModelProvider, ModelRequest, ModelResponse } from '../../src/core/ports.js';
import { Runtime } from '../../src/core/runtime.js';
import { executeSubtask } from '../../src/core/usecases/execute-subtask.js';
import { planTask } from '../../src/core/usecases/plan-task.js';
import { tryLockWorkflow } from '../../src/core/workflow.js';
import { MapWorkspaceReader, MapWorkspaceWriter, SequentialIds, WordTokenCounter } from '../support/fakes.js';
import { adminQuery, dropConnections, freshPgUrl, openFreshPg, schemaOf } from '../support/postgres.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { planned } from '../unit/builders.js';
import { SETTINGS } from '../unit/core-deps.js';

const opened: OpenedPostgres[] = [];
const proxies: TcpProxy[] = [];

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close().catch(() => undefined);
  for (const p of proxies.splice(0)) await p.close();
});

async function open(url: string, opts: Parameters<typeof openPostgresStore>[1] = {}): Promise<OpenedPostgres> {
  const o = await openPostgresStore(url, opts);
  opened.push(o);
  return o;
}

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string; reason?: string; details?: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    return error as never;
  }
  throw new Error('expected the promise to reject');
}

const workflow = (id = 'wf-1') => ({
  id,
  request: 'r',
  goal: 'g',
  context: null,
  phase: 'planning' as const,
  planVersion: 0,
  plannerResponseId: null,
  coordinationNotes: '',
  budget: {},
  lockOwner: null,
  lastError: null,
  plannerSummary: null,
  files: [],
  plannerThread: 0,
  root: null,
  requester: null,
  createdAt: 1_000,
  updatedAt: 1_000,
});

/** Answers a plan of `plan` at once; an execution waits for `gate` (and fails if its signal aborts first). */
class GatedModels implements ModelProvider {
  readonly capabilities = { serverThreads: true, promptCacheControls: true, structuredOutput: true, applyPatchTool: false };
  constructor(
    private readonly plan: string,
    private readonly gate: Promise<void> = Promise.resolve(),
  ) {}
  async generate(req: ModelRequest): Promise<ModelResponse> {
    if (!req.format) {
      await new Promise<void>((resolve, reject) => {
        if (req.signal?.aborted) return reject(new Error('aborted'));
        req.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        void this.gate.then(resolve);
      });
    }
    return { responseId: null, text: req.format ? this.plan : 'DONE', usage: { input_tokens: 100, cached_tokens: 0, output_tokens: 10 } };
  }
}

/** A planexec process over `url`: its own pool, runtime and owner row. */
async function processOn(url: string, name: string, models: ModelProvider, clock = { now: () => Date.now() }): Promise<CoreDeps & { store: KyselyStore }> {
  const { store } = await open(url);
  const owner = { id: name, host: 'host', pid: 1 };
  const runtime = new Runtime({ store, clock, probe: { isRunning: () => null }, owner, leaseMs: 60_000 });
  await store.owners.upsert({ ...owner, startedAt: clock.now(), heartbeatAt: clock.now() });
  return { store, models: { planner: models, executor: models }, files: new MapWorkspaceReader({}), writer: new MapWorkspaceWriter(), git: null, tokens: new WordTokenCounter(), clock, ids: new SequentialIds(`wf-${name}-`), owner: name, runtime, settings: SETTINGS, redact: (t) => t };
}

const waitFor = async (what: string, condition: () => Promise<boolean>) => {
  for (let i = 0; i < 1_000; i++) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`${what} did not happen`);
};

describe('openPostgresStore', () => {
  it("creates planexec's tables and its migration record in the URL's schema, and a second open migrates nothing", async () => {
    const url = await freshPgUrl();
    const schema = schemaOf(url);
    const first = await open(url);
    const tables = await adminQuery<{ table_name: string }>('SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name', [schema]);
    expect(tables.map((t) => t.table_name)).toEqual(['changes', 'decisions', 'executions', 'model_calls', 'owners', 'planexec_migration_lock', 'planexec_migrations', 'planner_turns', 'plans', 'reviews', 'subtasks', 'tasks', 'workflows']);
    await first.store.workflows.insert(workflow('wf-kept'));
    await first.close();
    const applied = await adminQuery(`SELECT name, timestamp FROM ${schema}.planexec_migrations ORDER BY name`);
    expect(applied.map((m) => m.name)).toEqual(Object.keys(migrations('postgres')));

    const again = await open(url);
    expect(await adminQuery(`SELECT name, timestamp FROM ${schema}.planexec_migrations ORDER BY name`)).toEqual(applied);
    expect((await again.store.workflows.get('wf-kept'))?.id).toBe('wf-kept');
  });

  it('lets several processes start on a new database at once: one migrates, all of them work', async () => {
    const url = await freshPgUrl();
    const all = await Promise.all([open(url), open(url), open(url)]);
    await all[0]!.store.workflows.insert(workflow());
    for (const o of all) expect((await o.store.workflows.get('wf-1'))?.id).toBe('wf-1');
    expect(await adminQuery(`SELECT count(*)::int AS n FROM ${schemaOf(url)}.planexec_migrations`)).toEqual([{ n: Object.keys(migrations('postgres')).length }]);
  });

  it('refuses a database that holds migrations this planexec does not know, as a DatabaseOpenError that names no setting', async () => {
    const url = await freshPgUrl();
    await (await open(url)).close();
    await adminQuery(`INSERT INTO ${schemaOf(url)}.planexec_migrations (name, timestamp) VALUES ('999-from-the-future', '2030-01-01')`);
    const error = await rejection(openPostgresStore(url));
    expect(error).toBeInstanceOf(DatabaseOpenError);
    expect(error).toMatchObject({ problem: 'migrations', message: expect.stringMatching(/does not know/) });
    expect(error.message).not.toContain('PLANEXEC_DB');
  });

  it('answers StorageError(connection) when no server listens, without the password', async () => {
    const proxy = await startTcpProxy('127.0.0.1', 9);
    proxies.push(proxy);
    proxy.cut();
    const error = await rejection(openPostgresStore(`postgres://planexec:hunter2-secret@127.0.0.1:${proxy.port}/planexec`, { connectTimeoutMs: 2_000 }));
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'storage_unavailable', reason: 'connection' });
    expect(error.message).not.toContain('hunter2');
  });

  it('returns bigint and numeric results (sums of token counts) as numbers', async () => {
    const { store } = await openFreshPg();
    const id = await store.calls.begin({ workflowId: 'wf-x', subtaskId: null, role: 'planner', purpose: 'plan', model: 'm', provider: 'responses', owner: 'o', startedAt: 1_795_000_000_000 });
    await store.calls.finish(id, { status: 'completed', usage: { input_tokens: 3_000_000_000, cached_tokens: 1, output_tokens: 2 }, endedAt: 1_795_000_000_500 });
    expect(await store.calls.unattachedUsage()).toEqual({ calls: 1, input_tokens: 3_000_000_000, cached_tokens: 1, output_tokens: 2 });
    expect((await store.calls.list('wf-x'))[0]).toMatchObject({ id: expect.any(Number), startedAt: 1_795_000_000_000, endedAt: 1_795_000_000_500 });
  });
});

describe('several processes on one PostgreSQL database', () => {
  it('four processes trying every subtask of a workflow at once execute each subtask exactly once', async () => {
    const url = await freshPgUrl();
    const ids = ['s1', 's2', 's3', 's4', 's5', 's6'];
    const plan = JSON.stringify({ subtasks: ids.map((id) => planned(id)), coordination_notes: '' });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const processes = await Promise.all(['A', 'B', 'C', 'D'].map((name) => processOn(url, name, new GatedModels(plan, gate))));
    const { workflow_id } = await planTask(processes[0]!, { request: 'Build it' });

    const attempts = processes.flatMap((d) => ids.map((subtask_id) => executeSubtask(d, { workflow_id, subtask_id })));
    const settled = Promise.allSettled(attempts);
    // Every subtask claimed by one process and every other attempt refused, while no model has answered.
    await waitFor('every claim', async () => (await processes[0]!.store.workflows.listSubtasks(workflow_id)).every((s) => s.status === 'running'));
    open();
    const outcomes = await settled;

    const done = outcomes.filter((o) => o.status === 'fulfilled');
    expect(done).toHaveLength(ids.length);
    for (const o of outcomes) if (o.status === 'rejected') expect(o.reason).toBeInstanceOf(PlanexecError);
    const calls = (await processes[0]!.store.calls.list(workflow_id)).filter((c) => c.purpose === 'execute');
    expect(calls.map((c) => c.subtaskId).sort()).toEqual(ids);
    expect(calls.every((c) => c.status === 'completed')).toBe(true);
    const executions = await Promise.all(ids.map((id) => processes[1]!.store.workflows.listExecutions(workflow_id, id)));
    expect(executions.map((e) => e.length)).toEqual(ids.map(() => 1));
    expect((await processes[2]!.store.workflows.listSubtasks(workflow_id)).map((s) => s.status)).toEqual(ids.map(() => 'completed'));
  });

  it("gives the workflow's planner lock to exactly one of several processes asking at once", async () => {
    const url = await freshPgUrl();
    const plan = JSON.stringify({ subtasks: [planned('s1')], coordination_notes: '' });
    const processes = await Promise.all(['A', 'B', 'C', 'D'].map((name) => processOn(url, name, new GatedModels(plan))));
    const { workflow_id } = await planTask(processes[0]!, { request: 'Build it' });
    const taken = await Promise.all(processes.map((d, i) => tryLockWorkflow(d, workflow_id, `${d.owner}/${i}`)));
    expect(taken.filter(Boolean)).toHaveLength(1);
    const holder = processes[taken.indexOf(true)]!;
    expect((await processes[0]!.store.workflows.get(workflow_id))?.lockOwner).toBe(`${holder.owner}/${taken.indexOf(true)}`);
  });

  it("gives a workflow's changes lock (apply, commit, check) to exactly one of several processes taking it at once", async () => {
    const url = await freshPgUrl();
    const stores = await Promise.all([1, 2, 3, 4].map(async () => (await open(url)).store));
    await stores[0]!.workflows.insert(workflow());
    await stores[0]!.changes.insert({ workflowId: 'wf-1', mode: 'off', reason: null, repo: null, branch: null, worktree: null, prefix: '', base: null, head: null, files: [], hostChecks: [], baseChecks: null, finalChecks: null, merged: null, discarded: false, lockOwner: null, createdAt: 1, updatedAt: 1 });
    // As takeDbLock (src/core/changes.ts) does: read the holder, take it if free.
    const taken = await Promise.all(
      stores.map((store, i) =>
        store.transaction(async (tx) => {
          const current = await tx.changes.get('wf-1');
          return current!.lockOwner === null && (await tx.changes.casLock('wf-1', null, `p${i}/1`));
        }),
      ),
    );
    expect(taken.filter(Boolean)).toHaveLength(1);
    expect((await stores[3]!.changes.get('wf-1'))?.lockOwner).toBe(`p${taken.indexOf(true)}/1`);
  });

  it('reaps an owner on another host only when its lease runs out (its pid is never probed), one on this host as soon as its pid is gone', async () => {
    const { store } = await openFreshPg();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const clock = { t: 1_000_000, now() { return this.t; } };
    const runtime = new Runtime({ store, clock, probe: processProbe, owner: { id: 'me', host: hostIdentity(), pid: process.pid }, leaseMs: 15_000 });
    await store.owners.upsert({ id: 'here', host: hostIdentity(), pid: dead, startedAt: clock.t, heartbeatAt: clock.t });
    await store.owners.upsert({ id: 'far', host: 'another-machine', pid: dead, startedAt: clock.t, heartbeatAt: clock.t });
    await runtime.start();
    runtime.stop();
    expect((await store.owners.list()).map((o) => o.id).sort()).toEqual(['far', 'me']);
    clock.t += 15_001;
    expect(await runtime.reap()).toEqual(['far']);
    expect((await store.owners.list()).map((o) => o.id)).toEqual(['me']);
  });
});

describe('connections lost', () => {
  it('a connection lost mid-transaction fails it with StorageError(connection), keeps nothing of it, and the store works on', async () => {
    const { store } = await openFreshPg();
    await store.workflows.insert(workflow());
    const error = await rejection(
      store.transaction(async (tx) => {
        await tx.workflows.update('wf-1', { phase: 'executing' }, 2_000);
        const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute((tx as KyselyStore).db);
        await adminQuery('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
        await tx.workflows.update('wf-1', { planVersion: 7 }, 2_000);
      }),
    );
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'storage_unavailable', reason: 'connection' });
    expect(await store.workflows.get('wf-1')).toEqual(workflow());
    await store.workflows.update('wf-1', { phase: 'executing' }, 3_000);
    expect((await store.workflows.get('wf-1'))?.phase).toBe('executing');
  });

  it('statements prepared before another process migrated the tables are prepared again: a transaction refused once, a read retried', async () => {
    const url = await freshPgUrl();
    // One connection, so the statements below are all prepared on it.
    const { store } = await open(url, { poolSize: 1 });
    await store.workflows.insert(workflow());
    const prepare = async () => {
      expect((await store.workflows.get('wf-1'))?.id).toBe('wf-1');
      expect(await store.transaction(async (tx) => (await tx.workflows.listSubtasks('wf-1')).length)).toBe(0);
    };
    // A newer planexec adds a column (as a later migration would).
    const migrate = (column: string) => Promise.all(['workflows', 'subtasks'].map((t) => adminQuery(`ALTER TABLE ${schemaOf(url)}.${t} ADD COLUMN ${column} text`)));

    await prepare();
    await migrate('added_later');
    const error = await rejection(store.transaction(async (tx) => void (await tx.workflows.listSubtasks('wf-1'))));
    expect(error).toMatchObject({ code: 'storage_unavailable', reason: 'connection' });
    expect(error.message).toMatch(/tables changed/);
    await prepare();

    await migrate('added_even_later');
    // The first statement on a connection: sent again on a fresh one, unseen by the caller.
    expect((await store.workflows.get('wf-1'))?.id).toBe('wf-1');
    await prepare();
  });

  it('idle connections the server drops are reported, not fatal, and replaced', async () => {
    const idle: StorageError[] = [];
    const url = await freshPgUrl();
    const { store } = await open(url, { onIdleError: (e) => idle.push(e) });
    await Promise.all([store.workflows.list(1), store.workflows.list(1), store.workflows.list(1)]);
    expect(await dropConnections(url)).toBeGreaterThan(0);
    await waitFor('the pool to hear of it', async () => idle.length > 0);
    expect(idle[0]).toMatchObject({ reason: 'connection' });
    await store.workflows.insert(workflow());
    expect((await store.workflows.get('wf-1'))?.id).toBe('wf-1');
  });

  it('an answer that arrives while the database is unreachable fails with StorageError(connection), is kept, and is written once it is back: the workflow goes on', async () => {
    const server = new URL(await freshPgUrl());
    const proxy = await startTcpProxy(server.hostname, Number(server.port));
    proxies.push(proxy);
    server.host = `127.0.0.1:${proxy.port}`;
    let answer!: () => void;
    const gate = new Promise<void>((r) => (answer = r));
    const d = await processOn(server.toString(), 'A', new GatedModels(JSON.stringify({ subtasks: [planned('s1'), planned('s2', ['s1'])], coordination_notes: '' }), gate));
    const { workflow_id } = await planTask(d, { request: 'Build it' });
    const running = executeSubtask(d, { workflow_id, subtask_id: 's1' });
    await waitFor('the claim', async () => (await d.store.workflows.listSubtasks(workflow_id))[0]!.status === 'running');

    proxy.cut();
    answer();
    const error = await rejection(running);
    expect(error).toMatchObject({ code: 'storage_unavailable', details: { reason: 'connection', deferred: true } });
    // The heartbeat fails too, and says so; nothing throws out of the process.
    await expect(d.runtime.tick()).rejects.toBeInstanceOf(StorageError);
    expect(d.runtime.deferredWrites).toHaveLength(1);

    proxy.restore();
    await d.runtime.flush();
    expect(d.runtime.deferredWrites).toEqual([]);
    expect((await d.store.workflows.listSubtasks(workflow_id)).map((s) => [s.id, s.status, s.output])).toEqual([
      ['s1', 'completed', 'DONE'],
      ['s2', 'pending', null],
    ]);
    const next = executeSubtask(d, { workflow_id, subtask_id: 's2' });
    expect((await next).output).toBe('DONE');
    expect((await d.store.calls.list(workflow_id)).filter((c) => c.purpose === 'execute').map((c) => [c.subtaskId, c.status])).toEqual([
      ['s1', 'completed'],
      ['s2', 'completed'],
    ]);
  });
});
