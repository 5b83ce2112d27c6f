// The Store port over Kysely: the contract every backend must keep (round trips through every
// method, updates, transactions, the workflow list, releasing an owner, constraints), run here on
// SQLite and on a real PostgreSQL server; then what is SQLite's own: file creation and modes, WAL, migrations (and files left by
// planexec 0.1), the write lock waited for without freezing the event loop, storage errors.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { upgradeLegacy } from '../../src/adapters/store/legacy/index.js';
import { migrations } from '../../src/adapters/store/migrations/index.js';
import { openSqliteStore, type OpenedSqlite } from '../../src/adapters/store/sqlite.js';
import { StorageError } from '../../src/core/errors.js';
import { callGroups, type CallGroup } from '../../src/core/cost.js';
import type { CallOutcome, NewModelCall, Store } from '../../src/core/ports.js';
import type { Subtask, Workflow } from '../../src/core/types.js';
import { emptyPgStores } from '../support/postgres.js';

// ---------------------------------------------------------------------------------------------
// Helpers

let dir: string;
const opened: OpenedSqlite[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-store-'));
});

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function openDb(path: string, opts?: Parameters<typeof openSqliteStore>[1]): Promise<OpenedSqlite> {
  const o = await openSqliteStore(path, opts);
  opened.push(o);
  return o;
}

function workflow(over: Partial<Workflow> = {}): Workflow {
  return {
    id: 'wf-1',
    request: 'Add user authentication.',
    goal: 'User authentication with sessions',
    context: null,
    phase: 'planning',
    planVersion: 0,
    plannerResponseId: null,
    coordinationNotes: '',
    budget: {},
    lockOwner: null,
    lastError: null,
    plannerSummary: null,
    files: [],
    plannerThread: 0,
    root: '/workspace',
    requester: null,
    createdAt: 1_000,
    updatedAt: 1_000,
    ...over,
  };
}

function subtask(over: Partial<Subtask> = {}): Subtask {
  return {
    workflowId: 'wf-1',
    id: 's1',
    position: 0,
    title: 'User model',
    description: 'Define the User type.',
    depends_on: [],
    complexity: 'routine',
    output_format: 'TypeScript',
    relevant_files: [],
    writes: [],
    checks: [],
    status: 'pending',
    attempts: 1,
    role: 'executor',
    model: null,
    feedback: null,
    output: null,
    leaseOwner: null,
    claimedFrom: null,
    updatedAt: 1_000,
    ...over,
  };
}

function call(over: Partial<NewModelCall> = {}): NewModelCall {
  return { workflowId: 'wf-1', subtaskId: null, role: 'planner', purpose: 'plan', model: 'gpt-5.4', provider: 'responses', owner: 'owner-a', startedAt: 1_000, ...over };
}

const mode = (path: string): number => statSync(path).mode & 0o777;

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the promise to reject');
}

const UNIQUE = /unique|primary key|duplicate key/i;
const FOREIGN_KEY = /foreign key/i;
const CHECK = /check constraint/i;

// ---------------------------------------------------------------------------------------------
// The contract, per backend

const emptyPg = emptyPgStores();

const backends: Array<{ name: string; make: () => Promise<Store> }> = [
  { name: 'SQLite', make: async () => (await openDb(':memory:')).store },
  // A real PostgreSQL server (test/support/pg-global-setup.ts): a schema of this file's, emptied for each test.
  { name: 'PostgreSQL', make: async () => (await emptyPg()).store },
];

describe.each(backends)('Store on $name', ({ make }) => {
  describe('round trips', () => {
    it('stores and returns a workflow with null columns as null', async () => {
      const store = await make();
      const w = workflow();
      await store.workflows.insert(w);
      expect(await store.workflows.get('wf-1')).toEqual(w);
    });

    it('stores and returns a workflow with every optional column and a JSON budget and file list', async () => {
      const store = await make();
      const w = workflow({
        context: 'Express app, Postgres.',
        phase: 'executing',
        planVersion: 2,
        plannerResponseId: 'resp_abc',
        coordinationNotes: 'Model first.',
        budget: { planner_tokens: 50_000, executor_tokens: 200_000 },
        lockOwner: 'host:1:ab/3',
        lastError: 'it broke',
        plannerSummary: 'summary',
        files: ['src/a.ts', 'docs/ü b.md'],
        requester: 'ada@team',
        createdAt: 1_795_000_000_000,
        updatedAt: 1_795_000_000_001,
      });
      await store.workflows.insert(w);
      expect(await store.workflows.get('wf-1')).toEqual(w);
    });

    it('answers null for a workflow that does not exist', async () => {
      expect(await (await make()).workflows.get('wf-nope')).toBeNull();
    });

    it('refuses a second workflow with the same id', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      expect((await rejection(store.workflows.insert(workflow({ request: 'other' })))).message).toMatch(UNIQUE);
      expect((await store.workflows.get('wf-1'))?.request).toBe('Add user authentication.');
    });

    it('stores subtasks with their JSON arrays and nulls and lists them by position', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      // Ids sort the other way round from positions, and the batch is inserted out of order.
      const s2 = subtask({
        id: 'a-second',
        position: 1,
        depends_on: ['z-first'],
        relevant_files: ['src/user.ts', 'src/a b/ü.ts'],
        complexity: 'complex',
        role: 'planner',
        status: 'completed',
        attempts: 2,
        model: 'gpt-5.4',
        feedback: 'Use scrypt.',
        output: 'export const x = 1;',
        leaseOwner: 'host:1:abc',
        claimedFrom: 'pending',
        updatedAt: 2_000,
      });
      const s1 = subtask({ id: 'z-first' });
      await store.workflows.insertSubtasks([s2, s1]);
      expect(await store.workflows.listSubtasks('wf-1')).toEqual([s1, s2]);
      expect(await store.workflows.listSubtasks('wf-other')).toEqual([]);
    });

    it('refuses subtasks of a workflow that does not exist and stores none of the batch', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      expect((await rejection(store.workflows.insertSubtasks([subtask(), subtask({ workflowId: 'wf-missing', id: 's2' })]))).message).toMatch(FOREIGN_KEY);
      expect(await store.workflows.listSubtasks('wf-1')).toEqual([]);
    });

    it('keeps subtasks a newer plan dropped out of listSubtasks, and lists them last in listAllSubtasks', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      await store.workflows.insertSubtasks([subtask({ id: 'gone', position: 0 }), subtask({ id: 'kept', position: 1 })]);
      await store.workflows.updateSubtask('wf-1', 'gone', { removedIn: 2 }, 2_000);
      expect((await store.workflows.listSubtasks('wf-1')).map((s) => s.id)).toEqual(['kept']);
      expect((await store.workflows.listAllSubtasks('wf-1')).map((s) => [s.id, s.removedIn])).toEqual([
        ['kept', null],
        ['gone', 2],
      ]);
      await store.workflows.updateSubtask('wf-1', 'gone', { removedIn: null }, 3_000);
      expect((await store.workflows.listSubtasks('wf-1')).map((s) => s.id)).toEqual(['gone', 'kept']);
    });

    it('stores each plan version with its status, feedback and changes, returns them, and refuses the same version twice', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      const plan = { subtasks: [{ id: 's1', depends_on: [] }], coordination_notes: 'n' };
      const changes = { added: ['s2'], removed: [], changed: [], kept: ['s1'], drops_work: [] };
      await store.workflows.insertPlan({ workflowId: 'wf-1', version: 1, plan, responseId: 'resp_1', status: 'active', feedback: null, changes: null, createdAt: 1_500 });
      await store.workflows.insertPlan({ workflowId: 'wf-1', version: 2, plan: { subtasks: [] }, responseId: null, status: 'proposed', feedback: 'add s2', changes, createdAt: 1_600 });
      expect(await store.workflows.getPlan('wf-1', 2)).toEqual({ workflowId: 'wf-1', version: 2, plan: { subtasks: [] }, responseId: null, status: 'proposed', feedback: 'add s2', changes, createdAt: 1_600 });
      await store.workflows.setPlanStatus('wf-1', 1, 'superseded');
      expect((await store.workflows.listPlans('wf-1')).map((p) => [p.version, p.status])).toEqual([
        [1, 'superseded'],
        [2, 'proposed'],
      ]);
      expect(await store.workflows.getPlan('wf-1', 3)).toBeNull();
      const again = { workflowId: 'wf-1', version: 1, plan, responseId: null, status: 'active' as const, feedback: null, changes: null, createdAt: 1_700 };
      expect((await rejection(store.workflows.insertPlan(again))).message).toMatch(UNIQUE);
      expect((await rejection(store.workflows.setPlanStatus('wf-1', 1, 'bogus' as never))).message).toMatch(CHECK);
    });

    it('journals a call as pending without usage, then completes it with response id and usage', async () => {
      const store = await make();
      const id = await store.calls.begin(call({ subtaskId: 's1', role: 'executor', purpose: 'execute', model: 'gpt-5.4-mini', provider: 'chat', reservedTokens: 5_000 }));
      expect(await store.calls.list('wf-1')).toEqual([
        {
          id,
          workflowId: 'wf-1',
          subtaskId: 's1',
          role: 'executor',
          purpose: 'execute',
          model: 'gpt-5.4-mini',
          provider: 'chat',
          status: 'pending',
          owner: 'owner-a',
          responseId: null,
          usage: null,
          error: null,
          reservedTokens: 5_000,
          usageEstimated: false,
          requestBytes: null,
          startedAt: 1_000,
          endedAt: null,
        },
      ]);

      await store.calls.finish(id, { status: 'completed', responseId: 'resp_9', usage: { input_tokens: 1200, cached_tokens: 1024, output_tokens: 80 }, endedAt: 1_300 });
      expect(await store.calls.list('wf-1')).toEqual([
        expect.objectContaining({ id, status: 'completed', responseId: 'resp_9', usage: { input_tokens: 1200, cached_tokens: 1024, output_tokens: 80 }, error: null, endedAt: 1_300 }),
      ]);
    });

    it('records a failed call with its error and no usage', async () => {
      const store = await make();
      const id = await store.calls.begin(call());
      await store.calls.finish(id, { status: 'failed', error: 'HTTP 500', endedAt: 1_100 });
      expect((await store.calls.list('wf-1'))[0]).toMatchObject({ status: 'failed', error: 'HTTP 500', usage: null, responseId: null, endedAt: 1_100 });
    });

    it('keeps usage of zero tokens as usage, not as null', async () => {
      const store = await make();
      const id = await store.calls.begin(call());
      await store.calls.finish(id, { status: 'completed', responseId: 'r', usage: { input_tokens: 0, cached_tokens: 0, output_tokens: 0 }, endedAt: 1_100 });
      expect((await store.calls.list('wf-1'))[0]?.usage).toEqual({ input_tokens: 0, cached_tokens: 0, output_tokens: 0 });
    });

    it('journals calls of a workflow that does not exist yet, lists calls per workflow in id order, and counts the unattached ones', async () => {
      const store = await make();
      const a = await store.calls.begin(call({ workflowId: 'wf-a' }));
      const b = await store.calls.begin(call({ workflowId: 'wf-b' }));
      const c = await store.calls.begin(call({ workflowId: 'wf-a', purpose: 'repair' }));
      expect(b).toBeGreaterThan(a);
      expect(c).toBeGreaterThan(b);
      expect((await store.calls.list('wf-a')).map((x) => [x.id, x.purpose])).toEqual([
        [a, 'plan'],
        [c, 'repair'],
      ]);
      expect((await store.calls.list('wf-b')).map((x) => x.id)).toEqual([b]);
      expect(await store.workflows.get('wf-a')).toBeNull();

      await store.calls.finish(a, { status: 'completed', responseId: 'r', usage: { input_tokens: 10, cached_tokens: 2, output_tokens: 3 }, endedAt: 1_100 });
      await store.calls.finish(b, { status: 'completed', responseId: 'r', usage: { input_tokens: 5, cached_tokens: 0, output_tokens: 1 }, endedAt: 1_100 });
      await store.workflows.insert(workflow({ id: 'wf-b' }));
      expect(await store.calls.unattachedUsage()).toEqual({ calls: 1, input_tokens: 10, cached_tokens: 2, output_tokens: 3 });
    });

    it('stores executions with their context and lists them (and the runs) oldest first', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      const callId = await store.calls.begin(call({ purpose: 'execute', subtaskId: 's1' }));
      const context = { tokens: 12, files: [], dependencies: [], notes: null };
      const first = await store.workflows.insertExecution({ workflowId: 'wf-1', subtaskId: 's1', attempt: 1, callId, role: 'executor', model: 'm', output: 'one', context, changes: null, checks: null, createdAt: 2_000 });
      const second = await store.workflows.insertExecution({ workflowId: 'wf-1', subtaskId: 's1', attempt: 2, callId, role: 'planner', model: 'p', output: 'two', context, changes: null, checks: null, createdAt: 3_000 });
      expect(second).toBeGreaterThan(first);
      expect(await store.workflows.listExecutions('wf-1', 's1')).toEqual([
        { id: first, workflowId: 'wf-1', subtaskId: 's1', attempt: 1, callId, role: 'executor', model: 'm', output: 'one', context, changes: null, checks: null, createdAt: 2_000 },
        { id: second, workflowId: 'wf-1', subtaskId: 's1', attempt: 2, callId, role: 'planner', model: 'p', output: 'two', context, changes: null, checks: null, createdAt: 3_000 },
      ]);
      expect(await store.workflows.listRuns('wf-1')).toEqual([
        { subtaskId: 's1', attempt: 1, role: 'executor', model: 'm', changes: null, checks: null },
        { subtaskId: 's1', attempt: 2, role: 'planner', model: 'p', changes: null, checks: null },
      ]);
    });

    it('refuses a review that names a call that does not exist, and one with an unknown verdict', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      expect((await rejection(store.workflows.insertReviews('wf-1', 424242, 1, [{ subtask_id: 's1', verdict: 'approve', feedback: '' }], 2_000))).message).toMatch(FOREIGN_KEY);
      const id = await store.calls.begin(call({ purpose: 'review' }));
      expect((await rejection(store.workflows.insertReviews('wf-1', id, 1, [{ subtask_id: 's1', verdict: 'shrug' as never, feedback: '' }], 2_000))).message).toMatch(CHECK);
      await store.workflows.insertReviews('wf-1', id, 1, [{ subtask_id: 's1', verdict: 'approve', feedback: '' }], 2_000);
      await store.workflows.insertDecision('wf-1', { subtask_id: 's1', verdict: 'revise', feedback: 'more' }, 'host', 2_100);
      expect((await rejection(store.workflows.insertDecision('wf-1', { subtask_id: 's1', verdict: 'maybe' as never, feedback: '' }, 'host', 2_200))).message).toMatch(CHECK);
    });

    it('stores MCP tasks, updates them, pages them after a cursor, and deletes the expired ones', async () => {
      const store = await make();
      const task = (id: string, createdAt: number, ttl: number | null) => ({
        id,
        workflowId: null,
        owner: 'owner-a',
        status: 'working' as const,
        statusMessage: null,
        ttl,
        pollInterval: 250,
        request: { method: 'tools/call', params: { name: 'run_workflow' } },
        result: null,
        createdAt,
        updatedAt: createdAt,
      });
      await store.tasks.insert(task('t1', 1_000, 100));
      await store.tasks.insert(task('t2', 2_000, null));
      await store.tasks.insert(task('t3', 3_000, 10_000));
      await store.tasks.update('t2', { status: 'completed', result: { content: [] }, workflowId: 'wf-1', statusMessage: 'done' }, 2_500);
      expect(await store.tasks.get('t2')).toMatchObject({ status: 'completed', result: { content: [] }, workflowId: 'wf-1', statusMessage: 'done', updatedAt: 2_500 });
      expect((await store.tasks.list(10, 't1')).map((t) => t.id)).toEqual(['t2', 't3']);
      expect((await store.tasks.list(1)).map((t) => t.id)).toEqual(['t1']);
      expect(await store.tasks.deleteExpired(5_000)).toBe(1);
      expect(await store.tasks.get('t1')).toBeNull();
      expect((await store.tasks.list(10)).map((t) => t.id)).toEqual(['t2', 't3']);
    });
  });

  describe('updates', () => {
    it('update changes only the given fields of a workflow and sets updated_at', async () => {
      const store = await make();
      const w = workflow({ plannerResponseId: 'resp_old', coordinationNotes: 'keep me', budget: { planner_tokens: 10 } });
      await store.workflows.insert(w);
      await store.workflows.update('wf-1', { phase: 'executing', planVersion: 1 }, 5_000);
      expect(await store.workflows.get('wf-1')).toEqual({ ...w, phase: 'executing', planVersion: 1, updatedAt: 5_000 });
    });

    it('update stores a budget object as JSON, a null as null, and skips undefined fields', async () => {
      const store = await make();
      const w = workflow({ plannerResponseId: 'resp_old', phase: 'reviewing' });
      await store.workflows.insert(w);
      await store.workflows.update('wf-1', { budget: { executor_tokens: 99 }, plannerResponseId: null, phase: undefined }, 6_000);
      expect(await store.workflows.get('wf-1')).toEqual({ ...w, budget: { executor_tokens: 99 }, plannerResponseId: null, updatedAt: 6_000 });
    });

    it('an empty patch only touches updated_at, and leaves other workflows alone', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      await store.workflows.insert(workflow({ id: 'wf-2' }));
      await store.workflows.update('wf-1', {}, 7_000);
      expect(await store.workflows.get('wf-1')).toEqual(workflow({ updatedAt: 7_000 }));
      expect(await store.workflows.get('wf-2')).toEqual(workflow({ id: 'wf-2' }));
    });

    it('updateSubtask changes only the given fields of that one subtask and sets its updated_at', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      await store.workflows.insert(workflow({ id: 'wf-2' }));
      const s1 = subtask({ feedback: 'old feedback', output: 'old output' });
      const s2 = subtask({ id: 's2', position: 1 });
      const sameIdElsewhere = subtask({ workflowId: 'wf-2' });
      await store.workflows.insertSubtasks([s1, s2]);
      await store.workflows.insertSubtasks([sameIdElsewhere]);

      await store.workflows.updateSubtask('wf-1', 's1', { status: 'running', leaseOwner: 'host:1:x', feedback: null, attempts: 2 }, 8_000);

      expect(await store.workflows.listSubtasks('wf-1')).toEqual([{ ...s1, status: 'running', leaseOwner: 'host:1:x', feedback: null, attempts: 2, updatedAt: 8_000 }, s2]);
      expect(await store.workflows.listSubtasks('wf-2')).toEqual([sameIdElsewhere]);
    });

    it('casLock sets the lock only from the expected holder, null included', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      expect(await store.workflows.casLock('wf-1', 'someone', 'me/1')).toBe(false);
      expect(await store.workflows.casLock('wf-1', null, 'me/1')).toBe(true);
      expect(await store.workflows.casLock('wf-1', null, 'you/1')).toBe(false);
      expect((await store.workflows.get('wf-1'))?.lockOwner).toBe('me/1');
      expect(await store.workflows.casLock('wf-1', 'me/1', null)).toBe(true);
      expect((await store.workflows.get('wf-1'))?.lockOwner).toBeNull();
    });

    it('rejects an unknown phase, status, complexity or role, and keeps the old values', async () => {
      const store = await make();
      expect((await rejection(store.workflows.insert(workflow({ phase: 'dreaming' as never })))).message).toMatch(CHECK);
      await store.workflows.insert(workflow());
      expect((await rejection(store.workflows.update('wf-1', { phase: 'dreaming' as never }, 2_000))).message).toMatch(CHECK);
      expect(await store.workflows.get('wf-1')).toEqual(workflow());
      for (const bad of [{ status: 'snoozing' }, { complexity: 'trivial' }, { role: 'intern' }]) {
        expect((await rejection(store.workflows.insertSubtasks([subtask(bad as never)]))).message).toMatch(CHECK);
      }
      await store.workflows.insertSubtasks([subtask()]);
      expect((await rejection(store.workflows.updateSubtask('wf-1', 's1', { status: 'snoozing' as never }, 2_000))).message).toMatch(CHECK);
      expect(await store.workflows.listSubtasks('wf-1')).toEqual([subtask()]);
      const id = await store.calls.begin(call());
      expect((await rejection(store.calls.finish(id, { status: 'vanished' as never, endedAt: 2_000 }))).message).toMatch(CHECK);
      expect((await store.calls.list('wf-1'))[0]?.status).toBe('pending');
    });
  });

  describe('transaction', () => {
    it('returns what the function returns and keeps its writes', async () => {
      const store = await make();
      const result = await store.transaction(async (tx) => {
        await tx.workflows.insert(workflow());
        await tx.workflows.insertSubtasks([subtask()]);
        return 'done';
      });
      expect(result).toBe('done');
      expect(await store.workflows.get('wf-1')).not.toBeNull();
      expect(await store.workflows.listSubtasks('wf-1')).toHaveLength(1);
    });

    it('rolls back every write when the function throws, and passes the error on', async () => {
      const store = await make();
      await store.workflows.insert(workflow());
      const boom = new Error('boom');
      const error = await rejection(
        store.transaction(async (tx) => {
          await tx.workflows.update('wf-1', { phase: 'executing' }, 2_000);
          await tx.workflows.insertSubtasks([subtask()]);
          await tx.calls.begin(call());
          throw boom;
        }),
      );
      expect(error).toBe(boom);
      expect(await store.workflows.get('wf-1')).toEqual(workflow());
      expect(await store.workflows.listSubtasks('wf-1')).toEqual([]);
      expect(await store.calls.list('wf-1')).toEqual([]);
    });

    it('a transaction on the bound handle joins the outer one: all of it rolls back when the outer one throws', async () => {
      const store = await make();
      await rejection(
        store.transaction(async (tx) => {
          await tx.workflows.insert(workflow());
          await tx.transaction(async (inner) => inner.workflows.insertSubtasks([subtask()]));
          throw new Error('outer fails');
        }),
      );
      expect(await store.workflows.get('wf-1')).toBeNull();
      expect(await store.workflows.listSubtasks('wf-1')).toEqual([]);
    });

    it('refuses the outer store inside a transaction instead of waiting on itself', async () => {
      const store = await make();
      const error = await rejection(store.transaction(async () => store.workflows.get('wf-1')));
      expect(error.message).toMatch(/inside one of its transactions/);
    });

    it('runs concurrent transactions one after the other: read-modify-write loses no update', async () => {
      const store = await make();
      await store.workflows.insert(workflow({ planVersion: 0 }));
      await Promise.all(
        Array.from({ length: 20 }, () =>
          store.transaction(async (tx) => {
            const w = (await tx.workflows.get('wf-1'))!;
            await new Promise((r) => setTimeout(r, 1));
            await tx.workflows.update('wf-1', { planVersion: w.planVersion + 1 }, 2_000);
          }),
        ),
      );
      expect((await store.workflows.get('wf-1'))?.planVersion).toBe(20);
    });
  });

  describe('the workflow list', () => {
    it('lists the most recently updated first, with subtask counts and done = completed + approved, dropped subtasks left out', async () => {
      const store = await make();
      await store.workflows.insert(workflow({ id: 'wf-old', updatedAt: 1_000 }));
      await store.workflows.insert(workflow({ id: 'wf-new', updatedAt: 3_000 }));
      await store.workflows.insert(workflow({ id: 'wf-mid', updatedAt: 2_000 }));
      await store.workflows.insertSubtasks(
        (['pending', 'running', 'completed', 'approved', 'failed', 'needs_human'] as const).map((status, i) => subtask({ workflowId: 'wf-mid', id: `s${i}`, position: i, status })),
      );
      await store.workflows.insertSubtasks([subtask({ workflowId: 'wf-old', status: 'approved' }), subtask({ workflowId: 'wf-old', id: 'dropped', position: 1, status: 'approved' })]);
      await store.workflows.updateSubtask('wf-old', 'dropped', { removedIn: 2 }, 1_000);

      const list = await store.workflows.list(10);
      expect(list.map((l) => [l.workflow.id, l.subtasks, l.done])).toEqual([
        ['wf-new', 0, 0],
        ['wf-mid', 6, 2],
        ['wf-old', 1, 1],
      ]);
      expect(list[1]?.workflow).toEqual(workflow({ id: 'wf-mid', updatedAt: 2_000 }));
    });

    it('moves a workflow to the front when it is updated and honours the limit', async () => {
      const store = await make();
      await store.workflows.insert(workflow({ id: 'wf-a', updatedAt: 1_000 }));
      await store.workflows.insert(workflow({ id: 'wf-b', updatedAt: 2_000 }));
      await store.workflows.insert(workflow({ id: 'wf-c', updatedAt: 3_000 }));
      await store.workflows.update('wf-a', { phase: 'executing' }, 4_000);
      expect((await store.workflows.list(2)).map((l) => l.workflow.id)).toEqual(['wf-a', 'wf-c']);
    });

    it('answers an empty list when there are no workflows', async () => {
      expect(await (await make()).workflows.list(5)).toEqual([]);
    });

    it("lists only the requester's workflows when given one, most recent first, within the limit", async () => {
      const store = await make();
      await store.workflows.insert(workflow({ id: 'wf-a1', requester: 'ada', updatedAt: 1_000 }));
      await store.workflows.insert(workflow({ id: 'wf-b1', requester: 'bob', updatedAt: 2_000 }));
      await store.workflows.insert(workflow({ id: 'wf-a2', requester: 'ada', updatedAt: 3_000 }));
      await store.workflows.insert(workflow({ id: 'wf-n', requester: null, updatedAt: 4_000 }));
      await store.workflows.insert(workflow({ id: 'wf-a3', requester: 'ada', updatedAt: 5_000 }));
      expect((await store.workflows.list(10, { requester: 'ada' })).map((l) => [l.workflow.id, l.workflow.requester])).toEqual([
        ['wf-a3', 'ada'],
        ['wf-a2', 'ada'],
        ['wf-a1', 'ada'],
      ]);
      expect((await store.workflows.list(2, { requester: 'ada' })).map((l) => l.workflow.id)).toEqual(['wf-a3', 'wf-a2']);
      expect((await store.workflows.list(10, { requester: 'bob' })).map((l) => l.workflow.id)).toEqual(['wf-b1']);
      expect(await store.workflows.list(10, { requester: 'nobody' })).toEqual([]);
      expect((await store.workflows.list(10, {})).map((l) => l.workflow.id)).toEqual(['wf-a3', 'wf-n', 'wf-a2', 'wf-b1', 'wf-a1']);
    });
  });

  describe('the ledger', () => {
    const done = (input_tokens: number, cached_tokens: number, output_tokens: number): CallOutcome => ({ status: 'completed', responseId: 'r', usage: { input_tokens, cached_tokens, output_tokens }, endedAt: 1_100 });
    const byKey = (a: CallGroup, b: CallGroup) => (a.provider + '\0' + a.model < b.provider + '\0' + b.model ? -1 : 1);

    /** ada: wf-a (responses planner and executor, a billed failure, a pending call, an unbilled failure) and wf-b (codex); bob: wf-c; wf-d: no requester; wf-x: never stored. */
    async function journal(store: Store): Promise<void> {
      await store.workflows.insert(workflow({ id: 'wf-a', requester: 'ada' }));
      await store.workflows.insert(workflow({ id: 'wf-b', requester: 'ada' }));
      await store.workflows.insert(workflow({ id: 'wf-c', requester: 'bob' }));
      await store.workflows.insert(workflow({ id: 'wf-d', requester: null }));
      const mini = { role: 'executor' as const, purpose: 'execute' as const, model: 'gpt-5.4-mini' };
      await store.calls.finish(await store.calls.begin(call({ workflowId: 'wf-a' })), done(1_000, 200, 100));
      await store.calls.finish(await store.calls.begin(call({ workflowId: 'wf-a', ...mini })), done(500, 0, 50));
      await store.calls.finish(await store.calls.begin(call({ workflowId: 'wf-a', ...mini })), { status: 'failed', usage: { input_tokens: 300, cached_tokens: 100, output_tokens: 0 }, usageEstimated: true, error: 'cut off', endedAt: 1_100 });
      await store.calls.finish(await store.calls.begin(call({ workflowId: 'wf-a', ...mini })), { status: 'failed', error: 'HTTP 500', endedAt: 1_100 });
      await store.calls.begin(call({ workflowId: 'wf-a', ...mini }));
      // Cached above input (a provider's rounding): no negative uncached input.
      await store.calls.finish(await store.calls.begin(call({ workflowId: 'wf-b', ...mini, provider: 'codex' })), done(400, 500, 10));
      await store.calls.finish(await store.calls.begin(call({ workflowId: 'wf-c' })), done(2_000, 0, 300));
      await store.calls.finish(await store.calls.begin(call({ workflowId: 'wf-d', ...mini, provider: 'chat', model: 'qwen' })), done(70, 7, 7));
      await store.calls.finish(await store.calls.begin(call({ workflowId: 'wf-x' })), done(999, 0, 9));
    }

    it("sums one requester's calls per provider and model: completed calls, and the tokens and count of every billed call", async () => {
      const store = await make();
      await journal(store);
      expect(await store.calls.ledger({ requester: 'ada' })).toEqual({
        workflows: 2,
        groups: [
          { provider: 'codex', model: 'gpt-5.4-mini', calls: 1, billed_calls: 1, input_tokens: 400, cached_tokens: 500, output_tokens: 10, uncached_tokens: 0 },
          { provider: 'responses', model: 'gpt-5.4', calls: 1, billed_calls: 1, input_tokens: 1_000, cached_tokens: 200, output_tokens: 100, uncached_tokens: 800 },
          { provider: 'responses', model: 'gpt-5.4-mini', calls: 1, billed_calls: 2, input_tokens: 800, cached_tokens: 100, output_tokens: 50, uncached_tokens: 700 },
        ],
      });
      expect(await store.calls.ledger({ requester: 'bob' })).toEqual({
        workflows: 1,
        groups: [{ provider: 'responses', model: 'gpt-5.4', calls: 1, billed_calls: 1, input_tokens: 2_000, cached_tokens: 0, output_tokens: 300, uncached_tokens: 2_000 }],
      });
      expect(await store.calls.ledger({ requester: 'nobody' })).toEqual({ workflows: 0, groups: [] });
    });

    it('covers every stored workflow without a filter, leaves out calls of workflows never stored, and agrees with callGroups over the journal rows', async () => {
      const store = await make();
      await journal(store);
      const ledger = await store.calls.ledger();
      expect(ledger.workflows).toBe(4);
      expect(ledger.groups.find((g) => g.provider === 'responses' && g.model === 'gpt-5.4')).toMatchObject({ calls: 2, billed_calls: 2, input_tokens: 3_000 });
      const rows = (await Promise.all(['wf-a', 'wf-b', 'wf-c', 'wf-d'].map((id) => store.calls.list(id)))).flat();
      expect(ledger.groups).toEqual(callGroups(rows).sort(byKey));
      expect(await (await make()).calls.ledger()).toEqual({ workflows: 0, groups: [] });
    });
  });

  describe('owners', () => {
    it("release abandons only that owner's pending calls, returns only its running subtasks to the status they were claimed from, and frees its locks and tasks", async () => {
      const store = await make();
      await store.workflows.insert(workflow({ lockOwner: 'owner-a/7' }));
      await store.workflows.insert(workflow({ id: 'wf-2', lockOwner: 'owner-ab/1' }));
      await store.workflows.insertSubtasks([
        subtask({ id: 'mine-running', position: 0, status: 'running', leaseOwner: 'owner-a', claimedFrom: 'completed' }),
        subtask({ id: 'mine-fresh', position: 1, status: 'running', leaseOwner: 'owner-a' }),
        subtask({ id: 'theirs-running', position: 2, status: 'running', leaseOwner: 'owner-b' }),
        subtask({ id: 'mine-completed', position: 3, status: 'completed', leaseOwner: 'owner-a' }),
      ]);
      await store.owners.upsert({ id: 'owner-a', host: 'h', pid: 1, startedAt: 1, heartbeatAt: 1 });
      const minePending = await store.calls.begin(call({ owner: 'owner-a' }));
      const mineDone = await store.calls.begin(call({ owner: 'owner-a' }));
      await store.calls.finish(mineDone, { status: 'completed', responseId: 'r', usage: { input_tokens: 1, cached_tokens: 0, output_tokens: 1 }, endedAt: 1_100 });
      const theirsPending = await store.calls.begin(call({ owner: 'owner-b' }));

      expect(await store.owners.release('owner-a', 9_000)).toEqual({ calls: 1, subtasks: 2 });

      const calls = new Map((await store.calls.list('wf-1')).map((c) => [c.id, c]));
      expect(calls.get(minePending)).toMatchObject({ status: 'abandoned', endedAt: 9_000, error: expect.stringContaining('stopped') });
      expect(calls.get(mineDone)).toMatchObject({ status: 'completed', endedAt: 1_100, error: null });
      expect(calls.get(theirsPending)).toMatchObject({ status: 'pending', endedAt: null });

      const subtasks = new Map((await store.workflows.listSubtasks('wf-1')).map((s) => [s.id, s]));
      expect(subtasks.get('mine-running')).toMatchObject({ status: 'completed', leaseOwner: null, claimedFrom: null, updatedAt: 9_000 });
      expect(subtasks.get('mine-fresh')).toMatchObject({ status: 'pending', leaseOwner: null, updatedAt: 9_000 });
      expect(subtasks.get('theirs-running')).toMatchObject({ status: 'running', leaseOwner: 'owner-b', updatedAt: 1_000 });
      expect(subtasks.get('mine-completed')).toMatchObject({ status: 'completed', leaseOwner: 'owner-a', updatedAt: 1_000 });
      expect((await store.workflows.get('wf-1'))?.lockOwner).toBeNull();
      // Another owner whose id merely starts the same keeps its lock.
      expect((await store.workflows.get('wf-2'))?.lockOwner).toBe('owner-ab/1');
      expect(await store.owners.get('owner-a')).toBeNull();
    });

    it('answers zero counts when the owner holds nothing; heartbeat answers false for an owner that is gone', async () => {
      const store = await make();
      await store.calls.begin(call({ owner: 'owner-b' }));
      expect(await store.owners.release('owner-a', 9_000)).toEqual({ calls: 0, subtasks: 0 });
      expect((await store.calls.list('wf-1'))[0]?.status).toBe('pending');
      expect(await store.owners.heartbeat('owner-a', 9_100)).toBe(false);
      await store.owners.upsert({ id: 'owner-a', host: 'h', pid: 2, startedAt: 9_200, heartbeatAt: 9_200 });
      expect(await store.owners.heartbeat('owner-a', 9_300)).toBe(true);
      expect(await store.owners.list()).toEqual([{ id: 'owner-a', host: 'h', pid: 2, startedAt: 9_200, heartbeatAt: 9_300 }]);
    });
  });
});

// ---------------------------------------------------------------------------------------------
// SQLite's own

describe('openSqliteStore', () => {
  it('creates missing parent folders with mode 0700 and the database file (and its WAL) with mode 0600', async () => {
    const path = join(dir, 'state', 'nested', 'planexec.db');
    const { store } = await openDb(path);
    await store.workflows.insert(workflow());
    expect(mode(path)).toBe(0o600);
    expect(mode(`${path}-wal`)).toBe(0o600);
    expect(mode(join(dir, 'state'))).toBe(0o700);
    expect(mode(join(dir, 'state', 'nested'))).toBe(0o700);
  });

  it('puts a file database in WAL mode with foreign keys on and a short blocking busy timeout', async () => {
    const { raw } = await openDb(join(dir, 'planexec.db'));
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(raw.pragma('busy_timeout', { simple: true })).toBeLessThanOrEqual(50);
  });

  it('creates the tables, records the migrations, and marks the file so planexec 0.1 refuses it', async () => {
    const { raw } = await openDb(join(dir, 'planexec.db'));
    const tables = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'planexec_%' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(['changes', 'decisions', 'executions', 'model_calls', 'owners', 'planner_turns', 'plans', 'reviews', 'subtasks', 'tasks', 'workflows']);
    expect((raw.prepare('SELECT name FROM planexec_migrations ORDER BY name').all() as { name: string }[]).map((m) => m.name)).toContain('001-baseline');
    expect(raw.pragma('user_version', { simple: true })).toBe(100);
  });

  it('opens ":memory:" without touching the file system', async () => {
    await openDb(':memory:');
    expect(existsSync(':memory:')).toBe(false);
  });

  it('reopens an existing file with its data and without migrating again', async () => {
    const path = join(dir, 'planexec.db');
    const first = await openSqliteStore(path);
    await first.store.workflows.insert(workflow({ id: 'wf-kept' }));
    const applied = first.raw.prepare('SELECT COUNT(*) AS n FROM planexec_migrations').get();
    await first.close();

    const again = await openDb(path);
    expect(again.raw.prepare('SELECT COUNT(*) AS n FROM planexec_migrations').get()).toEqual(applied);
    expect((await again.store.workflows.get('wf-kept'))?.id).toBe('wf-kept');
  });

  it('refuses a database newer than this planexec, naming PLANEXEC_DB', async () => {
    const path = join(dir, 'planexec.db');
    const raw = new Database(path);
    raw.pragma('user_version = 101');
    raw.close();
    const error = await rejection(openSqliteStore(path));
    expect(error.message).toMatch(/newer than this planexec knows/);
    expect(error.message).toMatch(/PLANEXEC_DB/);
  });

  it('refuses a database that holds migrations this planexec does not know', async () => {
    const path = join(dir, 'planexec.db');
    const first = await openSqliteStore(path);
    first.raw.prepare("INSERT INTO planexec_migrations (name, timestamp) VALUES ('999-from-the-future', '2030-01-01')").run();
    await first.close();
    expect((await rejection(openSqliteStore(path))).message).toMatch(/does not know/);
  });

  it('upgrades a file planexec 0.1 left at an older version, keeping its rows', async () => {
    const path = join(dir, 'old.db');
    const raw = new Database(path);
    // planexec 0.1's first migration, as it was.
    const { sql } = await import('../../src/adapters/store/legacy/001-initial.js');
    raw.exec(sql);
    raw.pragma('user_version = 1');
    raw.prepare(
      `INSERT INTO workflows (id, request, goal, context, phase, plan_version, planner_response_id, coordination_notes, budget, created_at, updated_at)
       VALUES ('wf-old', 'r', 'g', NULL, 'executing', 1, NULL, '', '{}', 1, 1)`,
    ).run();
    raw.prepare(
      `INSERT INTO model_calls (workflow_id, subtask_id, role, purpose, model, status, owner, response_id, input_tokens, cached_tokens, output_tokens, error, started_at, ended_at)
       VALUES ('wf-old', NULL, 'planner', 'plan', 'gpt-5.4', 'completed', 'o', 'resp_1', 10, 0, 5, NULL, 1, 2)`,
    ).run();
    raw.close();

    const { store, raw: again } = await openDb(path);
    expect(await store.workflows.get('wf-old')).toMatchObject({ request: 'r', files: [], lockOwner: null, plannerSummary: null });
    // Every call of a database from before providers were recorded was made by the Responses provider.
    expect((await store.calls.list('wf-old')).map((c) => c.provider)).toEqual(['responses']);
    const columns = (again.prepare('PRAGMA table_info(model_calls)').all() as { name: string }[]).map((c) => c.name);
    expect(columns).toContain('reserved_tokens');
    expect(again.pragma('user_version', { simple: true })).toBe(100);
  });

  it('takes a file planexec 0.1 migrated fully (version 7) as it is: the baseline adds nothing, later migrations apply', async () => {
    const path = join(dir, 'seven.db');
    const raw = new Database(path);
    const { sql } = await import('../../src/adapters/store/legacy/001-initial.js');
    raw.exec(sql);
    raw.pragma('user_version = 1');
    expect(upgradeLegacy(raw)).toHaveLength(6);
    expect(raw.pragma('user_version', { simple: true })).toBe(7);
    const objects = (db: Database.Database) => (db.prepare("SELECT name FROM sqlite_master WHERE name NOT LIKE '%planexec_%' ORDER BY name").all() as { name: string }[]).map((o) => o.name);
    const before = objects(raw);
    const workflowsSql = raw.prepare("SELECT sql FROM sqlite_master WHERE name = 'workflows'").get();
    raw.close();
    const { raw: again } = await openDb(path);
    expect(objects(again)).toEqual(expect.arrayContaining(before));
    expect(objects(again).filter((n) => !before.includes(n)).sort()).toEqual(['changes', 'planner_turns', 'planner_turns_by_thread', 'sqlite_autoindex_changes_1', 'workflows_by_requester']);
    // The baseline did not rebuild the table (0.1's own DDL is still there); the later migration added its column.
    const after = (again.prepare("SELECT sql FROM sqlite_master WHERE name = 'workflows'").get() as { sql: string }).sql;
    expect(after.startsWith((workflowsSql as { sql: string }).sql.split(',')[0]!)).toBe(true);
    expect(after).toContain('planner_thread');
    expect((again.prepare('SELECT name FROM planexec_migrations ORDER BY name').all() as { name: string }[]).map((m) => m.name)).toEqual(['001-baseline', '002-usage-and-turns', '003-workflow-root', '004-changes', '005-call-provider', '006-workflow-requester']);
  });
});

describe('SQLite: two connections on one file', () => {
  it('several processes opening a new file at once all start, and each migration is applied once', async () => {
    const path = join(dir, 'new.db');
    const all = await Promise.all([openDb(path), openDb(path), openDb(path), openDb(path)]);
    await all[0]!.store.workflows.insert(workflow());
    for (const o of all) expect((await o.store.workflows.get('wf-1'))?.id).toBe('wf-1');
    expect(all[3]!.raw.prepare('SELECT name FROM planexec_migrations ORDER BY name').all()).toEqual(
      Object.keys(migrations('sqlite')).map((name) => ({ name })),
    );
  });

  it('see each other’s writes', async () => {
    const path = join(dir, 'shared.db');
    const a = (await openDb(path)).store;
    const b = (await openDb(path)).store;
    await a.workflows.insert(workflow({ id: 'wf-from-a' }));
    expect((await b.workflows.get('wf-from-a'))?.id).toBe('wf-from-a');
    await b.workflows.update('wf-from-a', { phase: 'executing' }, 2_000);
    await b.workflows.insertSubtasks([subtask({ workflowId: 'wf-from-a' })]);
    expect((await a.workflows.get('wf-from-a'))?.phase).toBe('executing');
    expect((await a.workflows.list(10)).map((l) => [l.workflow.id, l.subtasks])).toEqual([['wf-from-a', 1]]);
  });

  it('a writer waits for another connection’s write lock without freezing the event loop, and then succeeds', async () => {
    const path = join(dir, 'shared.db');
    const { store } = await openDb(path);
    const holder = new Database(path);
    holder.prepare('BEGIN IMMEDIATE').run();
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 5);
    const write = store.workflows.insert(workflow({ id: 'wf-waited' }));
    // While our write waits for the lock, timers keep firing: the wait is not a blocking one.
    const ticksBefore = ticks;
    await new Promise((r) => setTimeout(r, 300));
    expect(ticks).toBeGreaterThan(ticksBefore + 3);
    holder.prepare('COMMIT').run();
    holder.close();
    await write;
    clearInterval(ticker);
    expect((await store.workflows.get('wf-waited'))?.id).toBe('wf-waited');
  });

  it('a writer gives up with StorageError(busy) after its lock wait, having written nothing, and works once the lock is free', async () => {
    const path = join(dir, 'shared.db');
    const { store } = await openDb(path, { lockWaitMs: 100 });
    const holder = new Database(path);
    holder.prepare('BEGIN IMMEDIATE').run();
    const error = await rejection(store.workflows.insert(workflow()));
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'storage_unavailable', reason: 'busy' });
    holder.prepare('ROLLBACK').run();
    holder.close();
    expect(await store.workflows.get('wf-1')).toBeNull();
    await store.workflows.insert(workflow());
    expect((await store.workflows.get('wf-1'))?.id).toBe('wf-1');
  });

  it('a full database answers StorageError(full) with what to do, and the transaction leaves nothing behind', async () => {
    const { store, raw } = await openDb(join(dir, 'small.db'));
    await store.workflows.insert(workflow());
    // Cap the file at its current size: the next page it needs cannot be had.
    const pages = raw.pragma('page_count', { simple: true }) as number;
    raw.pragma(`max_page_count = ${pages}`);
    const big = 'x'.repeat(200_000);
    const error = await rejection(store.transaction(async (tx) => {
      await tx.workflows.update('wf-1', { phase: 'executing' }, 2_000);
      await tx.workflows.insertSubtasks([subtask({ output: big })]);
    }));
    expect(error).toMatchObject({ code: 'storage_unavailable', reason: 'full' });
    expect((error as StorageError).hint).toMatch(/free space/);
    expect(await store.workflows.get('wf-1')).toEqual(workflow());
    expect(await store.workflows.listSubtasks('wf-1')).toEqual([]);
  });
});
