// WorkflowStore on better-sqlite3. Every write runs inside a BEGIN IMMEDIATE transaction, so two
// processes on one file queue on the write lock (busy_timeout) instead of failing with SQLITE_BUSY.
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type {
  CallOutcome,
  NewModelCall,
  SubtaskPatch,
  TaskRecord,
  WorkflowPatch,
  WorkflowStore,
  WorkflowSummary,
} from '../../core/ports.js';
import type { Execution, HumanDecision, ModelCall, Owner, PlanRecord, ReviewRecord, Subtask, Workflow } from '../../core/types.js';
import { migrate } from './migrate.js';

type Row = Record<string, unknown>;

export interface OpenOptions {
  /** How long a writer waits for another process's write lock before giving up. */
  busyTimeoutMs?: number;
}

/** Opens (creating with mode 0600, parent folders 0700) and migrates the database file. */
export function openDatabase(path: string, opts: OpenOptions = {}): Database.Database {
  if (path !== ':memory:') {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    // Create the file ourselves so it is 0600 from the first byte; SQLite gives -wal/-shm the same mode.
    closeSync(openSync(path, 'a', 0o600));
  }
  const db = new Database(path);
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 10_000}`);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

const WORKFLOW_COLUMNS: Record<keyof WorkflowPatch, string> = {
  phase: 'phase',
  planVersion: 'plan_version',
  plannerResponseId: 'planner_response_id',
  coordinationNotes: 'coordination_notes',
  budget: 'budget',
  lockOwner: 'lock_owner',
  lastError: 'last_error',
  plannerSummary: 'planner_summary',
  files: 'files',
};

const SUBTASK_COLUMNS: Record<keyof SubtaskPatch, string> = {
  status: 'status',
  attempts: 'attempts',
  role: 'role',
  model: 'model',
  feedback: 'feedback',
  output: 'output',
  leaseOwner: 'lease_owner',
  claimedFrom: 'claimed_from',
  position: 'position',
  title: 'title',
  description: 'description',
  depends_on: 'depends_on',
  complexity: 'complexity',
  output_format: 'output_format',
  relevant_files: 'relevant_files',
  removedIn: 'removed_in',
};

const TASK_COLUMNS: Record<string, string> = {
  status: 'status',
  statusMessage: 'status_message',
  result: 'result',
  owner: 'owner',
  workflowId: 'workflow_id',
};

const toDb = (value: unknown): unknown => (value !== null && typeof value === 'object' ? JSON.stringify(value) : value);

export class SqliteWorkflowStore implements WorkflowStore {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  transaction<T>(fn: () => T): T {
    // better-sqlite3 turns a nested call into a SAVEPOINT inside the outer transaction.
    return this.db.transaction(fn).immediate();
  }

  insertWorkflow(w: Workflow): void {
    this.transaction(() =>
      this.stmt(
        `INSERT INTO workflows (id, request, goal, context, phase, plan_version, planner_response_id, coordination_notes, budget,
                                lock_owner, last_error, planner_summary, files, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        w.id, w.request, w.goal, w.context, w.phase, w.planVersion, w.plannerResponseId, w.coordinationNotes, JSON.stringify(w.budget),
        w.lockOwner, w.lastError, w.plannerSummary, JSON.stringify(w.files), w.createdAt, w.updatedAt,
      ),
    );
  }

  getWorkflow(id: string): Workflow | null {
    const row = this.stmt('SELECT * FROM workflows WHERE id = ?').get(id) as Row | undefined;
    return row ? workflowFromRow(row) : null;
  }

  listWorkflows(limit: number): WorkflowSummary[] {
    const rows = this.stmt(
      `SELECT w.*, COUNT(s.id) AS subtask_count, COALESCE(SUM(s.status IN ('completed','approved')), 0) AS done_count
       FROM workflows w LEFT JOIN subtasks s ON s.workflow_id = w.id AND s.removed_in IS NULL
       GROUP BY w.id ORDER BY w.updated_at DESC, w.id LIMIT ?`,
    ).all(limit) as Row[];
    return rows.map((r) => ({ workflow: workflowFromRow(r), subtasks: Number(r.subtask_count), done: Number(r.done_count) }));
  }

  updateWorkflow(id: string, patch: WorkflowPatch, now: number): void {
    this.update('workflows', 'id = ?', [id], WORKFLOW_COLUMNS, patch, now);
  }

  casWorkflowLock(id: string, expected: string | null, next: string | null): boolean {
    return this.transaction(() => this.stmt('UPDATE workflows SET lock_owner = ? WHERE id = ? AND lock_owner IS ?').run(next, id, expected).changes === 1);
  }

  insertPlan(p: PlanRecord): void {
    this.transaction(() =>
      this.stmt(
        'INSERT INTO plans (workflow_id, version, plan, response_id, status, feedback, changes, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(p.workflowId, p.version, JSON.stringify(p.plan), p.responseId, p.status, p.feedback, p.changes ? JSON.stringify(p.changes) : null, p.createdAt),
    );
  }

  getPlan(workflowId: string, version: number): PlanRecord | null {
    const row = this.stmt('SELECT * FROM plans WHERE workflow_id = ? AND version = ?').get(workflowId, version) as Row | undefined;
    return row ? planFromRow(row) : null;
  }

  listPlans(workflowId: string): PlanRecord[] {
    return (this.stmt('SELECT * FROM plans WHERE workflow_id = ? ORDER BY version').all(workflowId) as Row[]).map(planFromRow);
  }

  setPlanStatus(workflowId: string, version: number, status: PlanRecord['status']): void {
    this.transaction(() => this.stmt('UPDATE plans SET status = ? WHERE workflow_id = ? AND version = ?').run(status, workflowId, version));
  }

  insertSubtasks(subtasks: Subtask[]): void {
    const insert = this.stmt(
      `INSERT INTO subtasks (workflow_id, id, position, title, description, depends_on, complexity, output_format, relevant_files,
                             status, attempts, role, model, feedback, output, lease_owner, claimed_from, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.transaction(() => {
      for (const s of subtasks) {
        insert.run(
          s.workflowId, s.id, s.position, s.title, s.description, JSON.stringify(s.depends_on), s.complexity, s.output_format,
          JSON.stringify(s.relevant_files), s.status, s.attempts, s.role, s.model, s.feedback, s.output, s.leaseOwner, s.claimedFrom, s.updatedAt,
        );
      }
    });
  }

  listSubtasks(workflowId: string): Subtask[] {
    const rows = this.stmt('SELECT * FROM subtasks WHERE workflow_id = ? AND removed_in IS NULL ORDER BY position').all(workflowId) as Row[];
    return rows.map(subtaskFromRow);
  }

  listAllSubtasks(workflowId: string): Array<Subtask & { removedIn: number | null }> {
    const rows = this.stmt('SELECT * FROM subtasks WHERE workflow_id = ? ORDER BY removed_in IS NOT NULL, position').all(workflowId) as Row[];
    return rows.map((r) => ({ ...subtaskFromRow(r), removedIn: r.removed_in === null ? null : Number(r.removed_in) }));
  }

  updateSubtask(workflowId: string, id: string, patch: SubtaskPatch, now: number): void {
    this.update('subtasks', 'workflow_id = ? AND id = ?', [workflowId, id], SUBTASK_COLUMNS, patch, now);
  }

  beginCall(c: NewModelCall): number {
    return this.transaction(() => {
      const info = this.stmt(
        `INSERT INTO model_calls (workflow_id, subtask_id, role, purpose, model, status, owner, started_at, reserved_tokens)
         VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)`,
      ).run(c.workflowId, c.subtaskId, c.role, c.purpose, c.model, c.owner, c.startedAt, c.reservedTokens ?? null);
      return Number(info.lastInsertRowid);
    });
  }

  finishCall(id: number, o: CallOutcome): void {
    this.transaction(() =>
      this.stmt(
        `UPDATE model_calls SET status = ?, response_id = ?, input_tokens = ?, cached_tokens = ?, output_tokens = ?, error = ?, ended_at = ?
         WHERE id = ?`,
      ).run(o.status, o.responseId ?? null, o.usage?.input_tokens ?? null, o.usage?.cached_tokens ?? null, o.usage?.output_tokens ?? null, o.error ?? null, o.endedAt, id),
    );
  }

  listCalls(workflowId: string): ModelCall[] {
    const rows = this.stmt('SELECT * FROM model_calls WHERE workflow_id = ? ORDER BY id').all(workflowId) as Row[];
    return rows.map(callFromRow);
  }

  insertExecution(e: Omit<Execution, 'id'>): number {
    return this.transaction(() => {
      const info = this.stmt(
        `INSERT INTO executions (workflow_id, subtask_id, attempt, call_id, role, model, output, context, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(e.workflowId, e.subtaskId, e.attempt, e.callId, e.role, e.model, e.output, JSON.stringify(e.context), e.createdAt);
      return Number(info.lastInsertRowid);
    });
  }

  listExecutions(workflowId: string, subtaskId: string): Execution[] {
    const rows = this.stmt('SELECT * FROM executions WHERE workflow_id = ? AND subtask_id = ? ORDER BY id').all(workflowId, subtaskId) as Row[];
    return rows.map((r) => ({
      id: Number(r.id),
      workflowId: String(r.workflow_id),
      subtaskId: String(r.subtask_id),
      attempt: Number(r.attempt),
      callId: Number(r.call_id),
      role: r.role as Execution['role'],
      model: String(r.model),
      output: String(r.output),
      context: JSON.parse(String(r.context)) as Execution['context'],
      createdAt: Number(r.created_at),
    }));
  }

  listRuns(workflowId: string): Array<Pick<Execution, 'subtaskId' | 'attempt' | 'role' | 'model'>> {
    const rows = this.stmt('SELECT subtask_id, attempt, role, model FROM executions WHERE workflow_id = ? ORDER BY id').all(workflowId) as Row[];
    return rows.map((r) => ({ subtaskId: String(r.subtask_id), attempt: Number(r.attempt), role: r.role as Execution['role'], model: String(r.model) }));
  }

  unattachedUsage(): { calls: number; input_tokens: number; cached_tokens: number; output_tokens: number } {
    const r = this.stmt(
      `SELECT COUNT(*) AS calls, COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(cached_tokens), 0) AS cached_tokens,
              COALESCE(SUM(output_tokens), 0) AS output_tokens
       FROM model_calls WHERE status = 'completed' AND workflow_id NOT IN (SELECT id FROM workflows)`,
    ).get() as Row;
    return { calls: Number(r.calls), input_tokens: Number(r.input_tokens), cached_tokens: Number(r.cached_tokens), output_tokens: Number(r.output_tokens) };
  }

  insertReviews(workflowId: string, callId: number, planVersion: number, reviews: ReviewRecord[], now: number): void {
    const insert = this.stmt(
      'INSERT INTO reviews (workflow_id, subtask_id, call_id, plan_version, verdict, feedback, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.transaction(() => {
      for (const r of reviews) insert.run(workflowId, r.subtask_id, callId, planVersion, r.verdict, r.feedback, now);
    });
  }

  insertDecision(workflowId: string, d: HumanDecision, via: 'elicitation' | 'host', now: number): void {
    this.transaction(() =>
      this.stmt('INSERT INTO decisions (workflow_id, subtask_id, verdict, feedback, via, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
        workflowId,
        d.subtask_id,
        d.verdict,
        d.feedback,
        via,
        now,
      ),
    );
  }

  upsertOwner(o: Owner): void {
    this.transaction(() =>
      this.stmt(
        `INSERT INTO owners (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at`,
      ).run(o.id, o.host, o.pid, o.startedAt, o.heartbeatAt),
    );
  }

  heartbeat(ownerId: string, now: number): boolean {
    return this.transaction(() => this.stmt('UPDATE owners SET heartbeat_at = ? WHERE id = ?').run(now, ownerId).changes === 1);
  }

  getOwner(id: string): Owner | null {
    const row = this.stmt('SELECT * FROM owners WHERE id = ?').get(id) as Row | undefined;
    return row ? ownerFromRow(row) : null;
  }

  listOwners(): Owner[] {
    return (this.stmt('SELECT * FROM owners ORDER BY started_at, id').all() as Row[]).map(ownerFromRow);
  }

  releaseOwner(owner: string, now: number): { calls: number; subtasks: number } {
    return this.transaction(() => {
      const calls = this.stmt(
        `UPDATE model_calls SET status = 'abandoned', error = 'the process stopped before the call completed', ended_at = ?
         WHERE owner = ? AND status = 'pending'`,
      ).run(now, owner).changes;
      const subtasks = this.stmt(
        `UPDATE subtasks SET status = COALESCE(claimed_from, 'pending'), lease_owner = NULL, claimed_from = NULL, updated_at = ?
         WHERE lease_owner = ? AND status = 'running'`,
      ).run(now, owner).changes;
      // Lock values are "<owner>/<operation>".
      this.stmt(`UPDATE workflows SET lock_owner = NULL WHERE lock_owner = ? OR lock_owner LIKE ? ESCAPE '\\'`).run(owner, `${escapeLike(owner)}/%`);
      this.stmt('UPDATE tasks SET owner = NULL WHERE owner = ?').run(owner);
      this.stmt('DELETE FROM owners WHERE id = ?').run(owner);
      return { calls, subtasks };
    });
  }

  insertTask(t: TaskRecord): void {
    this.transaction(() =>
      this.stmt(
        `INSERT INTO tasks (id, workflow_id, owner, status, status_message, ttl, poll_interval, request, result, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        t.id, t.workflowId, t.owner, t.status, t.statusMessage, t.ttl, t.pollInterval, JSON.stringify(t.request),
        t.result === null || t.result === undefined ? null : JSON.stringify(t.result), t.createdAt, t.updatedAt,
      ),
    );
  }

  getTask(id: string): TaskRecord | null {
    const row = this.stmt('SELECT * FROM tasks WHERE id = ?').get(id) as Row | undefined;
    return row ? taskFromRow(row) : null;
  }

  updateTask(id: string, patch: Partial<Pick<TaskRecord, 'status' | 'statusMessage' | 'result' | 'owner' | 'workflowId'>>, now: number): void {
    this.update('tasks', 'id = ?', [id], TASK_COLUMNS, patch, now);
  }

  listTasks(limit: number, afterId?: string): TaskRecord[] {
    const rows = afterId
      ? (this.stmt(
          `SELECT * FROM tasks WHERE (created_at, id) > (SELECT created_at, id FROM tasks WHERE id = ?) ORDER BY created_at, id LIMIT ?`,
        ).all(afterId, limit) as Row[])
      : (this.stmt('SELECT * FROM tasks ORDER BY created_at, id LIMIT ?').all(limit) as Row[]);
    return rows.map(taskFromRow);
  }

  deleteExpiredTasks(now: number): number {
    return this.transaction(() => this.stmt('DELETE FROM tasks WHERE ttl IS NOT NULL AND updated_at + ttl < ?').run(now).changes);
  }

  private update(table: string, where: string, keys: unknown[], columns: Record<string, string>, patch: object, now: number): void {
    const entries = Object.entries(patch).filter(([, v]) => v !== undefined);
    const sets = entries.map(([k]) => {
      const column = columns[k];
      if (!column) throw new Error(`${table}: no column for ${k}`);
      return `${column} = ?`;
    });
    const sql = `UPDATE ${table} SET ${[...sets, 'updated_at = ?'].join(', ')} WHERE ${where}`;
    this.transaction(() => this.stmt(sql).run(...entries.map(([, v]) => toDb(v)), now, ...keys));
  }
}

const str = (v: unknown) => (v === null || v === undefined ? null : String(v));

function workflowFromRow(r: Row): Workflow {
  return {
    id: String(r.id),
    request: String(r.request),
    goal: String(r.goal),
    context: str(r.context),
    phase: r.phase as Workflow['phase'],
    planVersion: Number(r.plan_version),
    plannerResponseId: str(r.planner_response_id),
    coordinationNotes: String(r.coordination_notes),
    budget: JSON.parse(String(r.budget)) as Workflow['budget'],
    lockOwner: str(r.lock_owner),
    lastError: str(r.last_error),
    plannerSummary: str(r.planner_summary),
    files: JSON.parse(String(r.files ?? '[]')) as string[],
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function subtaskFromRow(r: Row): Subtask {
  return {
    workflowId: String(r.workflow_id),
    id: String(r.id),
    position: Number(r.position),
    title: String(r.title),
    description: String(r.description),
    depends_on: JSON.parse(String(r.depends_on)) as string[],
    complexity: r.complexity as Subtask['complexity'],
    output_format: String(r.output_format),
    relevant_files: JSON.parse(String(r.relevant_files)) as string[],
    status: r.status as Subtask['status'],
    attempts: Number(r.attempts),
    role: r.role as Subtask['role'],
    model: str(r.model),
    feedback: str(r.feedback),
    output: str(r.output),
    leaseOwner: str(r.lease_owner),
    claimedFrom: (str(r.claimed_from) as Subtask['claimedFrom']) ?? null,
    updatedAt: Number(r.updated_at),
  };
}

function planFromRow(r: Row): PlanRecord {
  return {
    workflowId: String(r.workflow_id),
    version: Number(r.version),
    plan: JSON.parse(String(r.plan)) as unknown,
    responseId: str(r.response_id),
    status: r.status as PlanRecord['status'],
    feedback: str(r.feedback),
    changes: r.changes === null ? null : (JSON.parse(String(r.changes)) as PlanRecord['changes']),
    createdAt: Number(r.created_at),
  };
}

function ownerFromRow(r: Row): Owner {
  return { id: String(r.id), host: String(r.host), pid: Number(r.pid), startedAt: Number(r.started_at), heartbeatAt: Number(r.heartbeat_at) };
}

function taskFromRow(r: Row): TaskRecord {
  return {
    id: String(r.id),
    workflowId: str(r.workflow_id),
    owner: str(r.owner),
    status: r.status as TaskRecord['status'],
    statusMessage: str(r.status_message),
    ttl: r.ttl === null ? null : Number(r.ttl),
    pollInterval: Number(r.poll_interval),
    request: JSON.parse(String(r.request)) as unknown,
    result: r.result === null ? null : (JSON.parse(String(r.result)) as unknown),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function callFromRow(r: Row): ModelCall {
  const hasUsage = r.input_tokens !== null;
  return {
    id: Number(r.id),
    workflowId: String(r.workflow_id),
    subtaskId: str(r.subtask_id),
    role: r.role as ModelCall['role'],
    purpose: r.purpose as ModelCall['purpose'],
    model: String(r.model),
    status: r.status as ModelCall['status'],
    owner: String(r.owner),
    responseId: str(r.response_id),
    usage: hasUsage
      ? { input_tokens: Number(r.input_tokens), cached_tokens: Number(r.cached_tokens ?? 0), output_tokens: Number(r.output_tokens ?? 0) }
      : null,
    error: str(r.error),
    reservedTokens: r.reserved_tokens === null || r.reserved_tokens === undefined ? null : Number(r.reserved_tokens),
    startedAt: Number(r.started_at),
    endedAt: r.ended_at === null ? null : Number(r.ended_at),
  };
}
