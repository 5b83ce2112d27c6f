// The SDK's TaskStore over planexec's own store (SQLite or PostgreSQL), so MCP tasks (run_workflow called as a task)
// survive a restart. A task whose process died while it was working is resumed when a client asks
// for it (see onOrphan).
import { randomBytes } from 'node:crypto';
import type { CreateTaskOptions, TaskStore } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import type { Request, RequestId, Result, Task } from '@modelcontextprotocol/sdk/types.js';
import type { Clock, Store, TaskRecord } from '../core/ports.js';
import { redactStrings, type Redact } from './redact.js';

/**
 * The pollInterval (ms) run_workflow's tasks give clients (and the store's default): a poll reads one
 * row, so a quarter second costs little, and a result reaches the client soon after it is stored.
 */
export const TASK_POLL_MS = 250;
/** How long a task is kept after its last update when the client asks for no ttl. */
export const DEFAULT_TASK_TTL_MS = 24 * 60 * 60_000;
const PAGE = 20;
const TERMINAL = new Set(['completed', 'failed', 'cancelled']);

/** What the MCP server does when a stored task needs action (createServer wires both). */
export interface TaskHooks {
  /** A client cancelled the task (tasks/cancel). */
  onCancel(task: TaskRecord): void;
  /** A working task has no live owner (its process died): resume its work. */
  onOrphan(task: TaskRecord): void;
}

/**
 * The SDK's TaskStore (MCP tasks, spec 2025-11-25) kept in planexec's Store, so tasks outlive the process.
 * Times are epoch ms, ttl and pollInterval ms; a task past its ttl reads as gone (getTask: null). The
 * other methods throw plain Errors (the SDK turns them into JSON-RPC errors) for an unknown or expired
 * task, a result asked for before there is one, a change to a task that has ended, a result for a
 * task this process does not own (storeTaskResult), and an unknown list cursor; storage failures
 * throw StorageError.
 */
export class StoredTaskStore implements TaskStore {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly owner: string,
    /** Applied to every string of a result before it is stored (the database is a way out too). */
    private readonly redact: Redact,
    private readonly hooks: TaskHooks,
  ) {}

  async createTask(params: CreateTaskOptions, _requestId: RequestId, request: Request): Promise<Task> {
    const now = this.clock.now();
    await this.store.tasks.deleteExpired(now);
    const record: TaskRecord = {
      id: randomBytes(16).toString('hex'),
      workflowId: null,
      owner: this.owner,
      status: 'working',
      statusMessage: null,
      ttl: params.ttl ?? DEFAULT_TASK_TTL_MS,
      pollInterval: params.pollInterval ?? TASK_POLL_MS,
      request: { method: request.method, params: request.params },
      result: null,
      createdAt: now,
      updatedAt: now,
    };
    await this.store.tasks.insert(record);
    return toTask(record);
  }

  async getTask(taskId: string): Promise<Task | null> {
    const record = await this.live(taskId);
    if (!record) return null;
    if (!TERMINAL.has(record.status) && record.owner === null) this.hooks.onOrphan(record);
    return toTask(record);
  }

  async storeTaskResult(taskId: string, status: 'completed' | 'failed', result: Result): Promise<void> {
    await this.store.transaction(async (tx) => {
      // Not `live`: a run that outlasts its task's ttl still stores its outcome (which starts the
      // ttl again); a result must never be dropped because the clock ran while it was working.
      const record = await tx.tasks.get(taskId);
      if (!record) throw new Error(`Task ${taskId} not found.`);
      if (TERMINAL.has(record.status)) throw new Error(`Task ${taskId} is already ${record.status}; its result cannot change.`);
      // This process was taken for dead (its tasks were let go, and may have been adopted and
      // resumed by another): the outcome of a task it no longer owns is not its to store.
      if (record.owner !== this.owner) throw new Error(`Task ${taskId} is ${record.owner === null ? 'no longer run by any process' : `run by another process (${record.owner})`}; this process's result for it is dropped.`);
      await tx.tasks.update(taskId, { status, result: redactStrings(result, this.redact) }, this.clock.now());
    });
  }

  async getTaskResult(taskId: string): Promise<Result> {
    const record = await this.mustGet(taskId);
    if (record.result === null) throw new Error(`Task ${taskId} has no result yet (status ${record.status}).`);
    return record.result as Result;
  }

  async updateTaskStatus(taskId: string, status: Task['status'], statusMessage?: string): Promise<void> {
    const record = await this.store.transaction(async (tx) => {
      const current = await this.mustGet(taskId, tx);
      if (TERMINAL.has(current.status)) throw new Error(`Task ${taskId} is already ${current.status}.`);
      await tx.tasks.update(taskId, { status, statusMessage: statusMessage ?? current.statusMessage }, this.clock.now());
      return current;
    });
    if (status === 'cancelled') this.hooks.onCancel(record);
  }

  async listTasks(cursor?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
    await this.store.tasks.deleteExpired(this.clock.now());
    if (cursor && !(await this.store.tasks.get(cursor))) throw new Error(`Invalid cursor: ${cursor}`);
    const page = await this.store.tasks.list(PAGE + 1, cursor);
    const tasks = page.slice(0, PAGE).map(toTask);
    return page.length > PAGE ? { tasks, nextCursor: tasks.at(-1)!.taskId } : { tasks };
  }

  /** Ties a task to its workflow (once the run knows it). */
  async setWorkflow(taskId: string, workflowId: string): Promise<void> {
    await this.store.tasks.update(taskId, { workflowId }, this.clock.now());
  }

  /** Marks a task as run by this process (taking over an orphan). False if someone else took it. */
  adopt(taskId: string): Promise<boolean> {
    return this.store.transaction(async (tx) => {
      const record = await tx.tasks.get(taskId);
      if (!record || record.owner !== null || TERMINAL.has(record.status)) return false;
      await tx.tasks.update(taskId, { owner: this.owner }, this.clock.now());
      return true;
    });
  }

  /**
   * Gives a working task of this process back (owner null) when its run was handed over (this
   * process was taken for dead), so that the next poll, by any process, resumes it (onOrphan). A
   * task of another owner, or one that has ended, is left alone. Throws StorageError.
   */
  async disown(taskId: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      const record = await tx.tasks.get(taskId);
      if (!record || record.owner !== this.owner || TERMINAL.has(record.status)) return;
      await tx.tasks.update(taskId, { owner: null }, this.clock.now());
    });
  }

  async isTerminal(taskId: string): Promise<boolean> {
    const record = await this.store.tasks.get(taskId);
    return !record || TERMINAL.has(record.status);
  }

  /** The task, unless its ttl has run out (polling never writes: expired rows are purged elsewhere). */
  private async live(taskId: string, store: Store = this.store): Promise<TaskRecord | null> {
    const record = await store.tasks.get(taskId);
    if (!record || (record.ttl !== null && record.updatedAt + record.ttl < this.clock.now())) return null;
    return record;
  }

  private async mustGet(taskId: string, store: Store = this.store): Promise<TaskRecord> {
    const record = await this.live(taskId, store);
    if (!record) throw new Error(`Task ${taskId} not found.`);
    return record;
  }
}

function toTask(r: TaskRecord): Task {
  return {
    taskId: r.id,
    status: r.status,
    ttl: r.ttl,
    createdAt: new Date(r.createdAt).toISOString(),
    lastUpdatedAt: new Date(r.updatedAt).toISOString(),
    pollInterval: r.pollInterval,
    ...(r.statusMessage ? { statusMessage: r.statusMessage } : {}),
  };
}
