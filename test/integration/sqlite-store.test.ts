// The SQLite adapter on real better-sqlite3 databases: file creation and modes, WAL, migrations in
// user_version, round trips through every WorkflowStore method, transactions, constraints, and two
// connections (one of them in a worker thread) sharing one file.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS, migrate } from '../../src/adapters/sqlite/migrate.js';
import { openDatabase, SqliteWorkflowStore } from '../../src/adapters/sqlite/sqlite-store.js';
import type { NewModelCall } from '../../src/core/ports.js';
import type { Subtask, Workflow } from '../../src/core/types.js';

// ---------------------------------------------------------------------------------------------
// Helpers

let dir: string;
const open: Database.Database[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'planexec-sqlite-'));
});

afterEach(() => {
  for (const db of open.splice(0)) if (db.open) db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** openDatabase, closed after the test. */
function openDb(path: string, opts?: Parameters<typeof openDatabase>[1]): Database.Database {
  const db = openDatabase(path, opts);
  open.push(db);
  return db;
}

function memoryStore(): SqliteWorkflowStore {
  return new SqliteWorkflowStore(openDb(':memory:'));
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
  return { workflowId: 'wf-1', subtaskId: null, role: 'planner', purpose: 'plan', model: 'gpt-5.4', owner: 'owner-a', startedAt: 1_000, ...over };
}

const mode = (path: string): number => statSync(path).mode & 0o777;

/** Runs `fn` and returns what it threw (fails the test when it does not throw). */
function thrown(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the call to throw');
}

// ---------------------------------------------------------------------------------------------

describe('openDatabase', () => {
  it('creates missing parent folders with mode 0700 and the database file with mode 0600', () => {
    const path = join(dir, 'state', 'nested', 'planexec.db');
    openDb(path);
    expect(existsSync(path)).toBe(true);
    expect(mode(path)).toBe(0o600);
    expect(mode(join(dir, 'state'))).toBe(0o700);
    expect(mode(join(dir, 'state', 'nested'))).toBe(0o700);
  });

  it('gives the WAL file the database file mode 0600 too', () => {
    const path = join(dir, 'planexec.db');
    const store = new SqliteWorkflowStore(openDb(path));
    store.insertWorkflow(workflow());
    expect(existsSync(`${path}-wal`)).toBe(true);
    expect(mode(`${path}-wal`)).toBe(0o600);
  });

  it('puts a file database in WAL mode with foreign keys on and the default 10 s busy timeout', () => {
    const db = openDb(join(dir, 'planexec.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('busy_timeout', { simple: true })).toBe(10_000);
  });

  it('uses the busy timeout it is given', () => {
    const db = openDb(join(dir, 'planexec.db'), { busyTimeoutMs: 1234 });
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
  });

  it('records the applied migrations in user_version and creates the tables', () => {
    const db = openDb(join(dir, 'planexec.db'));
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(['decisions', 'executions', 'model_calls', 'owners', 'plans', 'reviews', 'subtasks', 'tasks', 'workflows']);
  });

  it('opens ":memory:" without touching the file system', () => {
    const db = openDb(':memory:');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(existsSync(':memory:')).toBe(false);
  });

  it('reopens an existing file with its data and without migrating again', () => {
    const path = join(dir, 'planexec.db');
    const first = openDb(path);
    new SqliteWorkflowStore(first).insertWorkflow(workflow({ id: 'wf-kept' }));
    first.close();

    const again = openDb(path);
    expect(again.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(migrate(again)).toEqual([]);
    expect(new SqliteWorkflowStore(again).getWorkflow('wf-kept')?.id).toBe('wf-kept');
  });

  it('refuses a database whose user_version is newer than this planexec, saying so', () => {
    const path = join(dir, 'planexec.db');
    const raw = new Database(path);
    raw.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    raw.close();

    expect(() => openDatabase(path)).toThrow(/newer than this planexec knows/);
    expect(() => openDatabase(path)).toThrow(/PLANEXEC_DB/);
  });
});

describe('migrate', () => {
  it('applies every migration to a fresh database and nothing the second time', () => {
    const db = new Database(':memory:');
    open.push(db);
    expect(migrate(db)).toEqual(MIGRATIONS.map((m) => m.name));
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(migrate(db)).toEqual([]);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
  });

  it('applies only the migrations added after the recorded version', () => {
    const db = openDb(':memory:');
    const extra = { name: '999-extra', sql: 'CREATE TABLE extra (x INTEGER) STRICT;' };
    expect(migrate(db, [...MIGRATIONS, extra])).toEqual(['999-extra']);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length + 1);
    expect(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'extra'").get()).toEqual({ n: 1 });
  });

  it('rolls back a failing migration whole and leaves user_version where it was', () => {
    const db = openDb(':memory:');
    const broken = { name: '999-broken', sql: 'CREATE TABLE half_done (x INTEGER); CREATE TABLE (' };
    expect(() => migrate(db, [...MIGRATIONS, broken])).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'half_done'").get()).toEqual({ n: 0 });
  });

  it('upgrades a database made by an older planexec in order, keeping its rows', () => {
    const db = new Database(':memory:');
    open.push(db);
    expect(migrate(db, MIGRATIONS.slice(0, 1))).toEqual(['001-initial']);
    db.prepare(
      `INSERT INTO workflows (id, request, goal, context, phase, plan_version, planner_response_id, coordination_notes, budget, created_at, updated_at)
       VALUES ('wf-old', 'r', 'g', NULL, 'executing', 1, NULL, '', '{}', 1, 1)`,
    ).run();
    expect(migrate(db)).toEqual(MIGRATIONS.slice(1).map((m) => m.name));
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(new SqliteWorkflowStore(db).getWorkflow('wf-old')?.request).toBe('r');
  });

  it('refuses a database at a newer version than the migrations it knows', () => {
    const db = new Database(':memory:');
    open.push(db);
    const newer = MIGRATIONS.length + 1;
    db.pragma(`user_version = ${newer}`);
    expect(() => migrate(db)).toThrow(new RegExp(`schema version ${newer}, newer than this planexec knows \\(${MIGRATIONS.length}\\)`));
    expect(db.pragma('user_version', { simple: true })).toBe(newer);
  });
});

describe('SqliteWorkflowStore round trips', () => {
  it('stores and returns a workflow with null columns as null', () => {
    const store = memoryStore();
    const w = workflow();
    store.insertWorkflow(w);
    expect(store.getWorkflow('wf-1')).toEqual(w);
  });

  it('stores and returns a workflow with every optional column and a JSON budget', () => {
    const store = memoryStore();
    const w = workflow({
      context: 'Express app, Postgres.',
      phase: 'executing',
      planVersion: 2,
      plannerResponseId: 'resp_abc',
      coordinationNotes: 'Model first.',
      budget: { planner_tokens: 50_000, executor_tokens: 200_000 },
    });
    store.insertWorkflow(w);
    expect(store.getWorkflow('wf-1')).toEqual(w);
  });

  it('answers null for a workflow that does not exist', () => {
    expect(memoryStore().getWorkflow('wf-nope')).toBeNull();
  });

  it('refuses a second workflow with the same id', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    expect(() => store.insertWorkflow(workflow({ request: 'other' }))).toThrow(/UNIQUE|PRIMARY KEY/);
    expect(store.getWorkflow('wf-1')?.request).toBe('Add user authentication.');
  });

  it('stores subtasks with their JSON arrays and nulls and lists them by position', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
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
      updatedAt: 2_000,
    });
    const s1 = subtask({ id: 'z-first' });
    store.insertSubtasks([s2, s1]);
    expect(store.listSubtasks('wf-1')).toEqual([s1, s2]);
    expect(store.listSubtasks('wf-other')).toEqual([]);
  });

  it('refuses subtasks of a workflow that does not exist and stores none of the batch', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    expect(() => store.insertSubtasks([subtask(), subtask({ workflowId: 'wf-missing', id: 's2' })])).toThrow(/FOREIGN KEY/);
    expect(store.listSubtasks('wf-1')).toEqual([]);
  });

  it('stores each plan version with its status, feedback and changes, returns them, and refuses the same version twice', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    const plan = { subtasks: [{ id: 's1', depends_on: [] }], coordination_notes: 'n' };
    const changes = { added: ['s2'], removed: [], changed: [], kept: ['s1'], drops_work: [] };
    store.insertPlan({ workflowId: 'wf-1', version: 1, plan, responseId: 'resp_1', status: 'active', feedback: null, changes: null, createdAt: 1_500 });
    store.insertPlan({ workflowId: 'wf-1', version: 2, plan: { subtasks: [] }, responseId: null, status: 'proposed', feedback: 'add s2', changes, createdAt: 1_600 });
    expect(store.getPlan('wf-1', 2)).toEqual({ workflowId: 'wf-1', version: 2, plan: { subtasks: [] }, responseId: null, status: 'proposed', feedback: 'add s2', changes, createdAt: 1_600 });
    store.setPlanStatus('wf-1', 1, 'superseded');
    expect(store.listPlans('wf-1').map((p) => [p.version, p.status])).toEqual([
      [1, 'superseded'],
      [2, 'proposed'],
    ]);
    expect(store.getPlan('wf-1', 3)).toBeNull();
    expect(() => store.insertPlan({ workflowId: 'wf-1', version: 1, plan, responseId: null, status: 'active', feedback: null, changes: null, createdAt: 1_700 })).toThrow(/UNIQUE|PRIMARY KEY/);
    expect(() => store.setPlanStatus('wf-1', 1, 'bogus' as never)).toThrow(/CHECK/);
  });

  it('journals a call as pending without usage, then completes it with response id and usage', () => {
    const store = memoryStore();
    const id = store.beginCall(call({ subtaskId: 's1', role: 'executor', purpose: 'execute', model: 'gpt-5.4-mini' }));
    expect(store.listCalls('wf-1')).toEqual([
      {
        id,
        workflowId: 'wf-1',
        subtaskId: 's1',
        role: 'executor',
        purpose: 'execute',
        model: 'gpt-5.4-mini',
        status: 'pending',
        owner: 'owner-a',
        responseId: null,
        usage: null,
        error: null,
        reservedTokens: null,
        startedAt: 1_000,
        endedAt: null,
      },
    ]);

    store.finishCall(id, { status: 'completed', responseId: 'resp_9', usage: { input_tokens: 1200, cached_tokens: 1024, output_tokens: 80 }, endedAt: 1_300 });
    expect(store.listCalls('wf-1')).toEqual([
      expect.objectContaining({
        id,
        status: 'completed',
        responseId: 'resp_9',
        usage: { input_tokens: 1200, cached_tokens: 1024, output_tokens: 80 },
        error: null,
        reservedTokens: null,
        endedAt: 1_300,
      }),
    ]);
  });

  it('records a failed call with its error and no usage', () => {
    const store = memoryStore();
    const id = store.beginCall(call());
    store.finishCall(id, { status: 'failed', error: 'HTTP 500', endedAt: 1_100 });
    expect(store.listCalls('wf-1')[0]).toMatchObject({ status: 'failed', error: 'HTTP 500', usage: null, responseId: null, endedAt: 1_100 });
  });

  it('keeps usage of zero tokens as usage, not as null', () => {
    const store = memoryStore();
    const id = store.beginCall(call());
    store.finishCall(id, { status: 'completed', responseId: 'r', usage: { input_tokens: 0, cached_tokens: 0, output_tokens: 0 }, endedAt: 1_100 });
    expect(store.listCalls('wf-1')[0]?.usage).toEqual({ input_tokens: 0, cached_tokens: 0, output_tokens: 0 });
  });

  it('journals calls of a workflow that does not exist yet and lists calls per workflow in id order', () => {
    const store = memoryStore();
    const a = store.beginCall(call({ workflowId: 'wf-a' }));
    const b = store.beginCall(call({ workflowId: 'wf-b' }));
    const c = store.beginCall(call({ workflowId: 'wf-a', purpose: 'repair' }));
    expect(b).toBeGreaterThan(a);
    expect(c).toBeGreaterThan(b);
    expect(store.listCalls('wf-a').map((x) => [x.id, x.purpose])).toEqual([
      [a, 'plan'],
      [c, 'repair'],
    ]);
    expect(store.listCalls('wf-b').map((x) => x.id)).toEqual([b]);
    expect(store.getWorkflow('wf-a')).toBeNull();
  });

  it('stores reviews tied to their call and plan version', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    const callId = store.beginCall(call({ purpose: 'review' }));
    store.insertReviews(
      'wf-1',
      callId,
      1,
      [
        { subtask_id: 's1', verdict: 'approve', feedback: '' },
        { subtask_id: 's2', verdict: 'revise', feedback: 'Handle errors.' },
      ],
      2_000,
    );
    const rows = store.db.prepare('SELECT workflow_id, subtask_id, call_id, plan_version, verdict, feedback, created_at FROM reviews ORDER BY id').all();
    expect(rows).toEqual([
      { workflow_id: 'wf-1', subtask_id: 's1', call_id: callId, plan_version: 1, verdict: 'approve', feedback: '', created_at: 2_000 },
      { workflow_id: 'wf-1', subtask_id: 's2', call_id: callId, plan_version: 1, verdict: 'revise', feedback: 'Handle errors.', created_at: 2_000 },
    ]);
  });

  it('refuses a review that names a call that does not exist', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    expect(() => store.insertReviews('wf-1', 424242, 1, [{ subtask_id: 's1', verdict: 'approve', feedback: '' }], 2_000)).toThrow(/FOREIGN KEY/);
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM reviews').get()).toEqual({ n: 0 });
  });
});

describe('SqliteWorkflowStore updates', () => {
  it('updateWorkflow changes only the given fields and sets updated_at', () => {
    const store = memoryStore();
    const w = workflow({ plannerResponseId: 'resp_old', coordinationNotes: 'keep me', budget: { planner_tokens: 10 } });
    store.insertWorkflow(w);
    store.updateWorkflow('wf-1', { phase: 'executing', planVersion: 1 }, 5_000);
    expect(store.getWorkflow('wf-1')).toEqual({ ...w, phase: 'executing', planVersion: 1, updatedAt: 5_000 });
  });

  it('updateWorkflow stores a budget object as JSON, a null as null, and skips undefined fields', () => {
    const store = memoryStore();
    const w = workflow({ plannerResponseId: 'resp_old', phase: 'reviewing' });
    store.insertWorkflow(w);
    store.updateWorkflow('wf-1', { budget: { executor_tokens: 99 }, plannerResponseId: null, phase: undefined }, 6_000);
    expect(store.getWorkflow('wf-1')).toEqual({ ...w, budget: { executor_tokens: 99 }, plannerResponseId: null, updatedAt: 6_000 });
  });

  it('updateWorkflow with an empty patch only touches updated_at, and leaves other workflows alone', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    store.insertWorkflow(workflow({ id: 'wf-2' }));
    store.updateWorkflow('wf-1', {}, 7_000);
    expect(store.getWorkflow('wf-1')).toEqual(workflow({ updatedAt: 7_000 }));
    expect(store.getWorkflow('wf-2')).toEqual(workflow({ id: 'wf-2' }));
  });

  it('updateSubtask changes only the given fields of that one subtask and sets its updated_at', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    store.insertWorkflow(workflow({ id: 'wf-2' }));
    const s1 = subtask({ feedback: 'old feedback', output: 'old output' });
    const s2 = subtask({ id: 's2', position: 1 });
    const sameIdElsewhere = subtask({ workflowId: 'wf-2' });
    store.insertSubtasks([s1, s2]);
    store.insertSubtasks([sameIdElsewhere]);

    store.updateSubtask('wf-1', 's1', { status: 'running', leaseOwner: 'host:1:x', feedback: null, attempts: 2 }, 8_000);

    expect(store.listSubtasks('wf-1')).toEqual([
      { ...s1, status: 'running', leaseOwner: 'host:1:x', feedback: null, attempts: 2, updatedAt: 8_000 },
      s2,
    ]);
    expect(store.listSubtasks('wf-2')).toEqual([sameIdElsewhere]);
  });

  it('updateSubtask refuses a field it has no column for and changes nothing', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    store.insertSubtasks([subtask()]);
    expect(() => store.updateSubtask('wf-1', 's1', { status: 'running', workflowId: 'wf-2' } as never, 9_000)).toThrow(/no column for workflowId/);
    expect(store.listSubtasks('wf-1')).toEqual([subtask()]);
  });
});

describe('SqliteWorkflowStore.transaction', () => {
  it('returns what the function returns and keeps its writes', () => {
    const store = memoryStore();
    const result = store.transaction(() => {
      store.insertWorkflow(workflow());
      store.insertSubtasks([subtask()]);
      return 'done';
    });
    expect(result).toBe('done');
    expect(store.getWorkflow('wf-1')).not.toBeNull();
    expect(store.listSubtasks('wf-1')).toHaveLength(1);
  });

  it('rolls back every write when the function throws, and passes the error on', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    const boom = new Error('boom');
    expect(() =>
      store.transaction(() => {
        store.updateWorkflow('wf-1', { phase: 'executing' }, 2_000);
        store.insertSubtasks([subtask()]);
        store.beginCall(call());
        throw boom;
      }),
    ).toThrow(boom);
    expect(store.getWorkflow('wf-1')).toEqual(workflow());
    expect(store.listSubtasks('wf-1')).toEqual([]);
    expect(store.listCalls('wf-1')).toEqual([]);
    expect(store.db.inTransaction).toBe(false);
  });

  it('rolls back a nested transaction that succeeded when the outer one throws', () => {
    const store = memoryStore();
    expect(() =>
      store.transaction(() => {
        store.insertWorkflow(workflow());
        store.transaction(() => store.insertSubtasks([subtask()]));
        throw new Error('outer fails');
      }),
    ).toThrow('outer fails');
    expect(store.getWorkflow('wf-1')).toBeNull();
    expect(store.db.prepare('SELECT COUNT(*) AS n FROM subtasks').get()).toEqual({ n: 0 });
  });

  it('rolls back only the inner part when a nested transaction throws and the outer one catches it', () => {
    const store = memoryStore();
    store.transaction(() => {
      store.insertWorkflow(workflow());
      try {
        store.transaction(() => {
          store.insertSubtasks([subtask()]);
          store.updateWorkflow('wf-1', { phase: 'failed' }, 3_000);
          throw new Error('inner fails');
        });
      } catch {
        // the outer transaction carries on
      }
      store.updateWorkflow('wf-1', { coordinationNotes: 'outer kept' }, 4_000);
    });
    expect(store.getWorkflow('wf-1')).toEqual(workflow({ coordinationNotes: 'outer kept', updatedAt: 4_000 }));
    expect(store.listSubtasks('wf-1')).toEqual([]);
  });
});

describe('SqliteWorkflowStore.listWorkflows', () => {
  it('lists the most recently updated first, with subtask counts and done = completed + approved', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow({ id: 'wf-old', updatedAt: 1_000 }));
    store.insertWorkflow(workflow({ id: 'wf-new', updatedAt: 3_000 }));
    store.insertWorkflow(workflow({ id: 'wf-mid', updatedAt: 2_000 }));
    store.insertSubtasks(
      (['pending', 'running', 'completed', 'approved', 'failed', 'needs_human'] as const).map((status, i) =>
        subtask({ workflowId: 'wf-mid', id: `s${i}`, position: i, status }),
      ),
    );
    store.insertSubtasks([subtask({ workflowId: 'wf-old', status: 'approved' })]);

    const list = store.listWorkflows(10);
    expect(list.map((l) => [l.workflow.id, l.subtasks, l.done])).toEqual([
      ['wf-new', 0, 0],
      ['wf-mid', 6, 2],
      ['wf-old', 1, 1],
    ]);
    expect(list[1]?.workflow).toEqual(workflow({ id: 'wf-mid', updatedAt: 2_000 }));
  });

  it('moves a workflow to the front when it is updated and honours the limit', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow({ id: 'wf-a', updatedAt: 1_000 }));
    store.insertWorkflow(workflow({ id: 'wf-b', updatedAt: 2_000 }));
    store.insertWorkflow(workflow({ id: 'wf-c', updatedAt: 3_000 }));
    store.updateWorkflow('wf-a', { phase: 'executing' }, 4_000);
    expect(store.listWorkflows(2).map((l) => l.workflow.id)).toEqual(['wf-a', 'wf-c']);
  });

  it('answers an empty list when there are no workflows', () => {
    expect(memoryStore().listWorkflows(5)).toEqual([]);
  });
});

describe('SqliteWorkflowStore.releaseOwner', () => {
  it("abandons only that owner's pending calls and returns only that owner's running subtasks to pending", () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    store.insertSubtasks([
      subtask({ id: 'mine-running', position: 0, status: 'running', leaseOwner: 'owner-a' }),
      subtask({ id: 'theirs-running', position: 1, status: 'running', leaseOwner: 'owner-b' }),
      subtask({ id: 'mine-completed', position: 2, status: 'completed', leaseOwner: 'owner-a' }),
    ]);
    const minePending = store.beginCall(call({ owner: 'owner-a' }));
    const mineDone = store.beginCall(call({ owner: 'owner-a' }));
    store.finishCall(mineDone, { status: 'completed', responseId: 'r', usage: { input_tokens: 1, cached_tokens: 0, output_tokens: 1 }, endedAt: 1_100 });
    const theirsPending = store.beginCall(call({ owner: 'owner-b' }));

    expect(store.releaseOwner('owner-a', 9_000)).toEqual({ calls: 1, subtasks: 1 });

    const calls = new Map(store.listCalls('wf-1').map((c) => [c.id, c]));
    expect(calls.get(minePending)).toMatchObject({ status: 'abandoned', endedAt: 9_000, error: expect.stringContaining('stopped') });
    expect(calls.get(mineDone)).toMatchObject({ status: 'completed', endedAt: 1_100, error: null });
    expect(calls.get(theirsPending)).toMatchObject({ status: 'pending', endedAt: null });

    const subtasks = new Map(store.listSubtasks('wf-1').map((s) => [s.id, s]));
    expect(subtasks.get('mine-running')).toMatchObject({ status: 'pending', leaseOwner: null, updatedAt: 9_000 });
    expect(subtasks.get('theirs-running')).toMatchObject({ status: 'running', leaseOwner: 'owner-b', updatedAt: 1_000 });
    expect(subtasks.get('mine-completed')).toMatchObject({ status: 'completed', leaseOwner: 'owner-a', updatedAt: 1_000 });
  });

  it('answers zero counts when the owner holds nothing', () => {
    const store = memoryStore();
    store.beginCall(call({ owner: 'owner-b' }));
    expect(store.releaseOwner('owner-a', 9_000)).toEqual({ calls: 0, subtasks: 0 });
    expect(store.listCalls('wf-1')[0]?.status).toBe('pending');
  });
});

describe('schema constraints', () => {
  it('rejects a workflow with an unknown phase and stores nothing', () => {
    const store = memoryStore();
    expect(() => store.insertWorkflow(workflow({ phase: 'dreaming' as never }))).toThrow(/CHECK constraint failed/);
    expect(store.getWorkflow('wf-1')).toBeNull();
  });

  it('rejects updating a workflow to an unknown phase and keeps the old one', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    expect(() => store.updateWorkflow('wf-1', { phase: 'dreaming' as never }, 2_000)).toThrow(/CHECK constraint failed/);
    expect(store.getWorkflow('wf-1')).toEqual(workflow());
  });

  it('rejects a subtask with an unknown status, complexity or role', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    expect(() => store.insertSubtasks([subtask({ status: 'snoozing' as never })])).toThrow(/CHECK constraint failed/);
    expect(() => store.insertSubtasks([subtask({ complexity: 'trivial' as never })])).toThrow(/CHECK constraint failed/);
    expect(() => store.insertSubtasks([subtask({ role: 'intern' as never })])).toThrow(/CHECK constraint failed/);
    expect(store.listSubtasks('wf-1')).toEqual([]);
  });

  it('rejects updating a subtask to an unknown status and keeps the old one', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    store.insertSubtasks([subtask()]);
    expect(() => store.updateSubtask('wf-1', 's1', { status: 'snoozing' as never }, 2_000)).toThrow(/CHECK constraint failed/);
    expect(store.listSubtasks('wf-1')).toEqual([subtask()]);
  });

  it('rejects a call finished with an unknown status and a review with an unknown verdict', () => {
    const store = memoryStore();
    store.insertWorkflow(workflow());
    const id = store.beginCall(call());
    expect(() => store.finishCall(id, { status: 'vanished' as never, endedAt: 2_000 })).toThrow(/CHECK constraint failed/);
    expect(store.listCalls('wf-1')[0]?.status).toBe('pending');
    expect(() => store.insertReviews('wf-1', id, 1, [{ subtask_id: 's1', verdict: 'shrug' as never, feedback: '' }], 2_000)).toThrow(/CHECK constraint failed/);
  });
});

describe('two connections to one file', () => {
  it('see each other’s writes through two stores', () => {
    const path = join(dir, 'shared.db');
    const a = new SqliteWorkflowStore(openDb(path));
    const b = new SqliteWorkflowStore(openDb(path));

    a.insertWorkflow(workflow({ id: 'wf-from-a' }));
    expect(b.getWorkflow('wf-from-a')?.id).toBe('wf-from-a');

    b.updateWorkflow('wf-from-a', { phase: 'executing' }, 2_000);
    b.insertSubtasks([subtask({ workflowId: 'wf-from-a' })]);
    expect(a.getWorkflow('wf-from-a')?.phase).toBe('executing');
    expect(a.listSubtasks('wf-from-a')).toHaveLength(1);
    expect(a.listWorkflows(10).map((l) => [l.workflow.id, l.subtasks])).toEqual([['wf-from-a', 1]]);
  });

  it('a writer with busyTimeoutMs 0 fails with SQLITE_BUSY while another connection holds the write lock, and succeeds once it is released', () => {
    const path = join(dir, 'shared.db');
    const holder = openDb(path);
    const store = new SqliteWorkflowStore(openDb(path, { busyTimeoutMs: 0 }));

    holder.prepare('BEGIN IMMEDIATE').run();
    const error = thrown(() => store.insertWorkflow(workflow()));
    expect(error.code).toBe('SQLITE_BUSY');
    expect(store.db.inTransaction).toBe(false);
    holder.prepare('ROLLBACK').run();

    store.insertWorkflow(workflow());
    expect(new SqliteWorkflowStore(holder).getWorkflow('wf-1')?.id).toBe('wf-1');
  });

  it('a writer with the default busy timeout waits for another connection’s write transaction instead of failing', async () => {
    const path = join(dir, 'shared.db');
    const store = new SqliteWorkflowStore(openDb(path));

    // The lock holder lives in a worker thread: our own write blocks this thread until it commits.
    const flag = new SharedArrayBuffer(4);
    const worker = new Worker(HOLDER_SOURCE, {
      eval: true,
      workerData: { driver: createRequire(import.meta.url).resolve('better-sqlite3'), path, flag },
    });
    const exited = new Promise<number>((resolve, reject) => {
      worker.once('exit', resolve);
      worker.once('error', reject);
    });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (m: string) => {
        messages.push(m);
        if (m === 'locked') resolve();
      });
      worker.once('error', reject);
    });

    // The worker keeps its BEGIN IMMEDIATE transaction open for a while after this signal.
    const signal = new Int32Array(flag);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
    store.insertWorkflow(workflow({ id: 'wf-waited' }));

    expect(await exited).toBe(0);
    expect(messages).toEqual(['locked', 'committed']);
    expect(store.getWorkflow('wf-waited')?.id).toBe('wf-waited');
    expect(store.getWorkflow('wf-holder')?.id).toBe('wf-holder');
  });
});

/** Worker source: takes the write lock, inserts a row, and commits ~200 ms after the main thread says it is about to write. */
const HOLDER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.pragma('busy_timeout = 0');
db.prepare('BEGIN IMMEDIATE').run();
db.prepare(
  "INSERT INTO workflows (id, request, goal, context, phase, plan_version, planner_response_id, coordination_notes, budget, created_at, updated_at) " +
  "VALUES ('wf-holder', 'r', 'g', NULL, 'planning', 0, NULL, '', '{}', 1, 1)"
).run();
parentPort.postMessage('locked');
const flag = new Int32Array(workerData.flag);
Atomics.wait(flag, 0, 0);
Atomics.wait(flag, 0, 1, 200);
db.prepare('COMMIT').run();
db.close();
parentPort.postMessage('committed');
`;
