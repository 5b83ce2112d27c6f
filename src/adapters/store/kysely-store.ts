// The Store port over Kysely: one implementation for SQLite and PostgreSQL. Rows are mapped to the
// core's types here; JSON values are TEXT. Outside a transaction, reads run as they are and writes
// each run in their own transaction; inside one, everything goes through the bound handle.
import { AsyncLocalStorage } from 'node:async_hooks';
import { Migrator, sql, type Expression, type Kysely, type Selectable, type SqlBool, type Transaction, type Updateable } from 'kysely';
import type {
  CallJournal,
  ChangeRecords,
  ChangesPatch,
  CallOutcome,
  Ledger,
  LedgerFilter,
  NewModelCall,
  OwnerRegistry,
  Store,
  SubtaskPatch,
  TaskRecord,
  TaskRecords,
  WorkflowPatch,
  WorkflowRecords,
  WorkflowSummary,
} from '../../core/ports.js';
import type { Execution, HumanDecision, ModelCall, Owner, PlanRecord, ReviewRecord, Subtask, ThreadTurn, Workflow, WorkflowChanges } from '../../core/types.js';
import { DatabaseOpenError } from './open-failure.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, migrations } from './migrations/index.js';
import type { ChangesTable, Dialect, ModelCallsTable, OwnersTable, PlansTable, SubtasksTable, Tables, TasksTable, WorkflowsTable } from './schema.js';

type Db = Kysely<Tables> | Transaction<Tables>;

/**
 * Applies the migrations this database has not seen. `schema` (PostgreSQL): the schema planexec's
 * tables live in (the connection's current_schema), where Kysely looks for its migration table (it
 * would otherwise take one in any schema of the database for its own). Throws DatabaseOpenError
 * ('migrations') when the database holds migrations this planexec does not know.
 */
export async function migrateToLatest(db: Kysely<Tables>, dialect: Dialect = 'sqlite', schema?: string): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(dialect) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/corrupted migrations/i.test(message)) {
      throw new DatabaseOpenError('migrations', `the database holds migrations this planexec does not know (${message})`, { cause: error });
    }
    throw error;
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/**
 * Store over Kysely. `dialect` selects the few statements that differ. A KyselyStore made by
 * `transaction` is bound to it; the root store refuses to be used from inside one of its own
 * transactions (on SQLite's single connection that would wait forever; on PostgreSQL it could wait
 * for a row lock its own transaction holds).
 *
 * Serialising writers. SQLite has one writer at a time (BEGIN IMMEDIATE). PostgreSQL runs
 * transactions side by side (READ COMMITTED), so a transaction locks the row of each workflow it
 * touches (SELECT ... FOR UPDATE) before its first statement on that workflow's records, and holds
 * it to its end: every check-then-write of the core (a claim re-reading its subtask, a budget check
 * before a call, the compare-and-set of the planner lock) sees what the last writer of that
 * workflow committed, and no other process can write in between. Transactions on different
 * workflows do not wait for each other. A task is locked by reading it in a transaction. Outside a
 * transaction, each write is one autocommitted statement (owners.release, which is several, is
 * always a transaction).
 */
export class KyselyStore implements Store {
  readonly workflows: WorkflowRecords;
  readonly calls: CallJournal;
  readonly owners: OwnerRegistry;
  readonly tasks: TaskRecords;
  readonly changes: ChangeRecords;
  private readonly inside: AsyncLocalStorage<KyselyStore>;
  /** PostgreSQL, bound: the workflows whose row this transaction has locked (or is locking). */
  private readonly locks = new Map<string, Promise<void>>();

  constructor(
    readonly db: Db,
    readonly dialect: Dialect,
    private readonly root: KyselyStore | null = null,
  ) {
    this.inside = root?.inside ?? new AsyncLocalStorage<KyselyStore>();
    this.workflows = new KyselyWorkflows(this);
    this.calls = new KyselyCalls(this);
    this.owners = new KyselyOwners(this);
    this.tasks = new KyselyTasks(this);
    this.changes = new KyselyChanges(this);
  }

  async transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.root) return fn(this);
    this.guard();
    return (this.db as Kysely<Tables>).transaction().execute((trx) => {
      const bound = new KyselyStore(trx, this.dialect, this);
      return this.inside.run(bound, () => fn(bound));
    });
  }

  /** Bound to a transaction (made by `transaction`). */
  get bound(): boolean {
    return this.root !== null;
  }

  /** A read: on the bound handle, or on the root outside any transaction of this store. */
  read(): Db {
    if (!this.root) this.guard();
    return this.db;
  }

  /** A write: in the bound transaction, or in one of its own (SQLite), or autocommitted (PostgreSQL: one statement). */
  write<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.root) return fn(this.db);
    if (this.dialect === 'postgres') {
      this.guard();
      return fn(this.db);
    }
    return this.transaction((tx) => fn((tx as KyselyStore).db));
  }

  /**
   * Bound to a PostgreSQL transaction: locks the workflow's row (FOR UPDATE) once, before the
   * transaction's first statement on its records, until the transaction ends. Nothing elsewhere
   * (SQLite has one writer at a time; outside a transaction a statement stands alone). A workflow
   * that does not exist yet locks nothing: its id is new, no one else knows it.
   */
  lockWorkflow(workflowId: string): Promise<void> {
    if (!this.root || this.dialect !== 'postgres') return Promise.resolve();
    let lock = this.locks.get(workflowId);
    if (!lock) {
      lock = this.db
        .selectFrom('workflows')
        .select('id')
        .where('id', '=', workflowId)
        .forUpdate()
        .execute()
        .then(() => undefined);
      this.locks.set(workflowId, lock);
    }
    return lock;
  }

  /** Records that this transaction already holds the workflow's row lock (taken by a query of its own). */
  locked(workflowId: string): void {
    this.locks.set(workflowId, Promise.resolve());
  }

  /**
   * A read of the workflow's own row that takes its lock when this transaction does not hold it yet
   * (`fn(true)`: the read adds FOR UPDATE, which returns the row as last committed): one round
   * trip instead of two. Otherwise `fn(false)` after lockWorkflow.
   */
  async lockingRead<T>(workflowId: string, fn: (lock: boolean) => Promise<T>): Promise<T> {
    if (!this.root || this.dialect !== 'postgres' || this.locks.has(workflowId)) {
      await this.lockWorkflow(workflowId);
      return fn(false);
    }
    const read = fn(true);
    this.locks.set(
      workflowId,
      read.then(
        () => undefined,
        () => undefined,
      ),
    );
    return read;
  }

  /** lockWorkflow for the workflow a journaled call belongs to (one round trip: the call's workflow never changes). */
  async lockWorkflowOfCall(callId: number): Promise<void> {
    if (!this.root || this.dialect !== 'postgres') return;
    const row = await this.db
      .selectFrom('workflows')
      .select('id')
      .where('id', '=', (eb) => eb.selectFrom('model_calls').select('workflow_id').where('model_calls.id', '=', callId))
      .forUpdate()
      .executeTakeFirst();
    if (row) this.locked(row.id);
  }

  private guard(): void {
    if (this.inside.getStore()) {
      throw new Error('planexec bug: the root store was used inside one of its transactions; use the transaction handle');
    }
  }
}

const json = (value: unknown) => JSON.stringify(value);
const num = (value: unknown) => Number(value);
const numOrNull = (value: unknown) => (value === null || value === undefined ? null : Number(value));

class KyselyWorkflows implements WorkflowRecords {
  constructor(private readonly s: KyselyStore) {}

  async insert(w: Workflow): Promise<void> {
    await this.s.write((db) =>
      db
        .insertInto('workflows')
        .values({
          id: w.id,
          request: w.request,
          goal: w.goal,
          context: w.context,
          phase: w.phase,
          plan_version: w.planVersion,
          planner_response_id: w.plannerResponseId,
          coordination_notes: w.coordinationNotes,
          budget: json(w.budget),
          lock_owner: w.lockOwner,
          last_error: w.lastError,
          planner_summary: w.plannerSummary,
          files: json(w.files),
          planner_thread: w.plannerThread,
          root: w.root,
          requester: w.requester,
          created_at: w.createdAt,
          updated_at: w.updatedAt,
        })
        .execute(),
    );
  }

  async get(id: string): Promise<Workflow | null> {
    const row = await this.s.lockingRead(id, (lock) => {
      const query = this.s.read().selectFrom('workflows').selectAll().where('id', '=', id);
      return (lock ? query.forUpdate() : query).executeTakeFirst();
    });
    return row ? workflowFromRow(row) : null;
  }

  async list(limit: number, filter: LedgerFilter = {}): Promise<WorkflowSummary[]> {
    let query = this.s
      .read()
      .selectFrom('workflows as w')
      .leftJoin('subtasks as s', (join) => join.onRef('s.workflow_id', '=', 'w.id').on('s.removed_in', 'is', null))
      .selectAll('w')
      .select((eb) => [
        eb.fn.count<number>('s.id').as('subtask_count'),
        eb.fn.coalesce(eb.fn.sum<number>(eb.case().when('s.status', 'in', ['completed', 'approved']).then(1).else(0).end()), eb.lit(0)).as('done_count'),
      ])
      .groupBy('w.id');
    if (filter.requester !== undefined) query = query.where('w.requester', '=', filter.requester);
    const rows = await query.orderBy('w.updated_at', 'desc').orderBy('w.id').limit(limit).execute();
    return rows.map((r) => ({ workflow: workflowFromRow(r), subtasks: num(r.subtask_count), done: num(r.done_count) }));
  }

  async update(id: string, patch: WorkflowPatch, now: number): Promise<void> {
    await this.s.lockWorkflow(id);
    const set: Updateable<WorkflowsTable> = { updated_at: now };
    if (patch.phase !== undefined) set.phase = patch.phase;
    if (patch.planVersion !== undefined) set.plan_version = patch.planVersion;
    if (patch.plannerResponseId !== undefined) set.planner_response_id = patch.plannerResponseId;
    if (patch.coordinationNotes !== undefined) set.coordination_notes = patch.coordinationNotes;
    if (patch.budget !== undefined) set.budget = json(patch.budget);
    if (patch.lockOwner !== undefined) set.lock_owner = patch.lockOwner;
    if (patch.lastError !== undefined) set.last_error = patch.lastError;
    if (patch.plannerSummary !== undefined) set.planner_summary = patch.plannerSummary;
    if (patch.files !== undefined) set.files = json(patch.files);
    if (patch.plannerThread !== undefined) set.planner_thread = patch.plannerThread;
    await this.s.write((db) => db.updateTable('workflows').set(set).where('id', '=', id).execute());
  }

  async casLock(id: string, expected: string | null, next: string | null): Promise<boolean> {
    await this.s.lockWorkflow(id);
    const result = await this.s.write((db) =>
      db
        .updateTable('workflows')
        .set({ lock_owner: next })
        .where('id', '=', id)
        .where('lock_owner', expected === null ? 'is' : '=', expected)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  async insertPlan(p: PlanRecord): Promise<void> {
    await this.s.lockWorkflow(p.workflowId);
    await this.s.write((db) =>
      db
        .insertInto('plans')
        .values({
          workflow_id: p.workflowId,
          version: p.version,
          plan: json(p.plan),
          response_id: p.responseId,
          status: p.status,
          feedback: p.feedback,
          changes: p.changes ? json(p.changes) : null,
          created_at: p.createdAt,
        })
        .execute(),
    );
  }

  async getPlan(workflowId: string, version: number): Promise<PlanRecord | null> {
    await this.s.lockWorkflow(workflowId);
    const row = await this.s.read().selectFrom('plans').selectAll().where('workflow_id', '=', workflowId).where('version', '=', version).executeTakeFirst();
    return row ? planFromRow(row) : null;
  }

  async listPlans(workflowId: string): Promise<PlanRecord[]> {
    await this.s.lockWorkflow(workflowId);
    const rows = await this.s.read().selectFrom('plans').selectAll().where('workflow_id', '=', workflowId).orderBy('version').execute();
    return rows.map(planFromRow);
  }

  async setPlanStatus(workflowId: string, version: number, status: PlanRecord['status']): Promise<void> {
    await this.s.lockWorkflow(workflowId);
    await this.s.write((db) => db.updateTable('plans').set({ status }).where('workflow_id', '=', workflowId).where('version', '=', version).execute());
  }

  async insertSubtasks(subtasks: Subtask[]): Promise<void> {
    if (subtasks.length === 0) return;
    for (const id of [...new Set(subtasks.map((x) => x.workflowId))].sort()) await this.s.lockWorkflow(id);
    await this.s.write((db) =>
      db
        .insertInto('subtasks')
        .values(
          subtasks.map((s) => ({
            workflow_id: s.workflowId,
            id: s.id,
            position: s.position,
            title: s.title,
            description: s.description,
            depends_on: json(s.depends_on),
            complexity: s.complexity,
            output_format: s.output_format,
            relevant_files: json(s.relevant_files),
            writes: json(s.writes),
            checks: json(s.checks),
            status: s.status,
            attempts: s.attempts,
            role: s.role,
            model: s.model,
            feedback: s.feedback,
            output: s.output,
            lease_owner: s.leaseOwner,
            claimed_from: s.claimedFrom,
            removed_in: null,
            updated_at: s.updatedAt,
          })),
        )
        .execute(),
    );
  }

  async listSubtasks(workflowId: string): Promise<Subtask[]> {
    await this.s.lockWorkflow(workflowId);
    const rows = await this.s.read().selectFrom('subtasks').selectAll().where('workflow_id', '=', workflowId).where('removed_in', 'is', null).orderBy('position').execute();
    return rows.map(subtaskFromRow);
  }

  async listAllSubtasks(workflowId: string): Promise<Array<Subtask & { removedIn: number | null }>> {
    await this.s.lockWorkflow(workflowId);
    const rows = await this.s
      .read()
      .selectFrom('subtasks')
      .selectAll()
      .where('workflow_id', '=', workflowId)
      .orderBy(sql`removed_in is not null`)
      .orderBy('position')
      .execute();
    return rows.map((r) => ({ ...subtaskFromRow(r), removedIn: numOrNull(r.removed_in) }));
  }

  async updateSubtask(workflowId: string, id: string, patch: SubtaskPatch, now: number): Promise<void> {
    await this.s.lockWorkflow(workflowId);
    const set: Updateable<SubtasksTable> = { updated_at: now };
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.attempts !== undefined) set.attempts = patch.attempts;
    if (patch.role !== undefined) set.role = patch.role;
    if (patch.model !== undefined) set.model = patch.model;
    if (patch.feedback !== undefined) set.feedback = patch.feedback;
    if (patch.output !== undefined) set.output = patch.output;
    if (patch.leaseOwner !== undefined) set.lease_owner = patch.leaseOwner;
    if (patch.claimedFrom !== undefined) set.claimed_from = patch.claimedFrom;
    if (patch.position !== undefined) set.position = patch.position;
    if (patch.title !== undefined) set.title = patch.title;
    if (patch.description !== undefined) set.description = patch.description;
    if (patch.depends_on !== undefined) set.depends_on = json(patch.depends_on);
    if (patch.complexity !== undefined) set.complexity = patch.complexity;
    if (patch.output_format !== undefined) set.output_format = patch.output_format;
    if (patch.relevant_files !== undefined) set.relevant_files = json(patch.relevant_files);
    if (patch.removedIn !== undefined) set.removed_in = patch.removedIn;
    if (patch.writes !== undefined) set.writes = json(patch.writes);
    if (patch.checks !== undefined) set.checks = json(patch.checks);
    await this.s.write((db) => db.updateTable('subtasks').set(set).where('workflow_id', '=', workflowId).where('id', '=', id).execute());
  }

  async insertExecution(e: Omit<Execution, 'id'>): Promise<number> {
    await this.s.lockWorkflow(e.workflowId);
    const row = await this.s.write((db) =>
      db
        .insertInto('executions')
        .values({
          workflow_id: e.workflowId,
          subtask_id: e.subtaskId,
          attempt: e.attempt,
          call_id: e.callId,
          role: e.role,
          model: e.model,
          output: e.output,
          context: json(e.context),
          changes: e.changes ? json(e.changes) : null,
          checks: e.checks ? json(e.checks) : null,
          created_at: e.createdAt,
        })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return num(row.id);
  }

  async listExecutions(workflowId: string, subtaskId: string): Promise<Execution[]> {
    await this.s.lockWorkflow(workflowId);
    const rows = await this.s.read().selectFrom('executions').selectAll().where('workflow_id', '=', workflowId).where('subtask_id', '=', subtaskId).orderBy('id').execute();
    return rows.map((r) => ({
      id: num(r.id),
      workflowId: r.workflow_id,
      subtaskId: r.subtask_id,
      attempt: num(r.attempt),
      callId: num(r.call_id),
      role: r.role as Execution['role'],
      model: r.model,
      output: r.output,
      context: JSON.parse(r.context) as Execution['context'],
      changes: r.changes === null ? null : (JSON.parse(r.changes) as Execution['changes']),
      checks: r.checks === null ? null : (JSON.parse(r.checks) as Execution['checks']),
      createdAt: num(r.created_at),
    }));
  }

  async listRuns(workflowId: string): Promise<Array<Pick<Execution, 'subtaskId' | 'attempt' | 'role' | 'model' | 'changes' | 'checks'>>> {
    await this.s.lockWorkflow(workflowId);
    const rows = await this.s.read().selectFrom('executions').select(['subtask_id', 'attempt', 'role', 'model', 'changes', 'checks']).where('workflow_id', '=', workflowId).orderBy('id').execute();
    return rows.map((r) => ({
      subtaskId: r.subtask_id,
      attempt: num(r.attempt),
      role: r.role as Execution['role'],
      model: r.model,
      changes: r.changes === null ? null : (JSON.parse(r.changes) as Execution['changes']),
      checks: r.checks === null ? null : (JSON.parse(r.checks) as Execution['checks']),
    }));
  }

  async insertReviews(workflowId: string, callId: number, planVersion: number, reviews: ReviewRecord[], now: number): Promise<void> {
    await this.s.lockWorkflow(workflowId);
    if (reviews.length === 0) return;
    await this.s.write((db) =>
      db
        .insertInto('reviews')
        .values(reviews.map((r) => ({ workflow_id: workflowId, subtask_id: r.subtask_id, call_id: callId, plan_version: planVersion, verdict: r.verdict, feedback: r.feedback, created_at: now })))
        .execute(),
    );
  }

  async appendTurns(workflowId: string, thread: number, turns: ReadonlyArray<ThreadTurn & { callId: number }>, now: number): Promise<void> {
    await this.s.lockWorkflow(workflowId);
    if (turns.length === 0) return;
    await this.s.write((db) =>
      db
        .insertInto('planner_turns')
        .values(turns.map((t) => ({ workflow_id: workflowId, thread, call_id: t.callId, input: t.input, output: t.output, created_at: now })))
        .execute(),
    );
  }

  async listTurns(workflowId: string, thread: number): Promise<Array<ThreadTurn & { callId: number }>> {
    await this.s.lockWorkflow(workflowId);
    const rows = await this.s.read().selectFrom('planner_turns').select(['input', 'output', 'call_id']).where('workflow_id', '=', workflowId).where('thread', '=', thread).orderBy('id').execute();
    return rows.map((r) => ({ input: r.input, output: r.output, callId: num(r.call_id) }));
  }

  async insertDecision(workflowId: string, d: HumanDecision, via: 'elicitation' | 'host', now: number): Promise<void> {
    await this.s.lockWorkflow(workflowId);
    await this.s.write((db) =>
      db.insertInto('decisions').values({ workflow_id: workflowId, subtask_id: d.subtask_id, verdict: d.verdict, feedback: d.feedback, via, created_at: now }).execute(),
    );
  }
}

class KyselyCalls implements CallJournal {
  constructor(private readonly s: KyselyStore) {}

  async begin(c: NewModelCall): Promise<number> {
    await this.s.lockWorkflow(c.workflowId);
    const row = await this.s.write((db) =>
      db
        .insertInto('model_calls')
        .values({
          workflow_id: c.workflowId,
          subtask_id: c.subtaskId,
          role: c.role,
          purpose: c.purpose,
          model: c.model,
          provider: c.provider,
          status: 'pending',
          owner: c.owner,
          started_at: c.startedAt,
          reserved_tokens: c.reservedTokens ?? null,
          request_bytes: c.requestBytes ?? null,
        })
        .returning('id')
        .executeTakeFirstOrThrow(),
    );
    return num(row.id);
  }

  async finish(id: number, o: CallOutcome): Promise<void> {
    await this.s.lockWorkflowOfCall(id);
    await this.s.write((db) =>
      db
        .updateTable('model_calls')
        .set({
          status: o.status,
          response_id: o.responseId ?? null,
          input_tokens: o.usage?.input_tokens ?? null,
          cached_tokens: o.usage?.cached_tokens ?? null,
          output_tokens: o.usage?.output_tokens ?? null,
          usage_estimated: o.usage && o.usageEstimated ? 1 : 0,
          error: o.error ?? null,
          ended_at: o.endedAt,
        })
        .where('id', '=', id)
        .execute(),
    );
  }

  async list(workflowId: string): Promise<ModelCall[]> {
    await this.s.lockWorkflow(workflowId);
    const rows = await this.s.read().selectFrom('model_calls').selectAll().where('workflow_id', '=', workflowId).orderBy('id').execute();
    return rows.map(callFromRow);
  }

  async ledger(filter: LedgerFilter = {}): Promise<Ledger> {
    const db = this.s.read();
    let workflows = db.selectFrom('workflows').select((eb) => eb.fn.countAll<number>().as('n'));
    if (filter.requester !== undefined) workflows = workflows.where('requester', '=', filter.requester);
    // The same rules as callGroups (src/core/cost.ts), in SQL: a call billed tokens when it is not
    // pending and has usage; its uncached input is max(0, input - cached).
    let groups = db
      .selectFrom('model_calls as c')
      .innerJoin('workflows as w', 'w.id', 'c.workflow_id')
      .select((eb) => {
        const billed = eb.and([eb('c.status', '<>', 'pending'), eb('c.input_tokens', 'is not', null)]);
        const input = eb.fn.coalesce('c.input_tokens', eb.lit(0));
        const cached = eb.fn.coalesce('c.cached_tokens', eb.lit(0));
        const sumIf = (condition: Expression<SqlBool>, value: Expression<number>) =>
          eb.fn.coalesce(eb.fn.sum<number>(eb.case().when(condition).then(value).else(eb.lit(0)).end()), eb.lit(0));
        return [
          'c.provider',
          'c.model',
          sumIf(eb('c.status', '=', 'completed'), eb.lit(1)).as('calls'),
          sumIf(billed, eb.lit(1)).as('billed_calls'),
          sumIf(billed, input).as('input_tokens'),
          sumIf(billed, cached).as('cached_tokens'),
          sumIf(billed, eb.fn.coalesce('c.output_tokens', eb.lit(0))).as('output_tokens'),
          sumIf(eb.and([billed, eb(input, '>', cached)]), eb(input, '-', cached)).as('uncached_tokens'),
        ];
      })
      .groupBy(['c.provider', 'c.model'])
      .orderBy('c.provider')
      .orderBy('c.model');
    if (filter.requester !== undefined) groups = groups.where('w.requester', '=', filter.requester);
    const [count, rows] = await Promise.all([workflows.executeTakeFirstOrThrow(), groups.execute()]);
    return {
      workflows: num(count.n),
      groups: rows.map((r) => ({
        provider: r.provider,
        model: r.model,
        calls: num(r.calls),
        billed_calls: num(r.billed_calls),
        input_tokens: num(r.input_tokens),
        cached_tokens: num(r.cached_tokens),
        output_tokens: num(r.output_tokens),
        uncached_tokens: num(r.uncached_tokens),
      })),
    };
  }

  async unattachedUsage(): Promise<{ calls: number; input_tokens: number; cached_tokens: number; output_tokens: number }> {
    const r = await this.s
      .read()
      .selectFrom('model_calls')
      .select((eb) => [
        eb.fn.countAll<number>().as('calls'),
        eb.fn.coalesce(eb.fn.sum<number>('input_tokens'), eb.lit(0)).as('input_tokens'),
        eb.fn.coalesce(eb.fn.sum<number>('cached_tokens'), eb.lit(0)).as('cached_tokens'),
        eb.fn.coalesce(eb.fn.sum<number>('output_tokens'), eb.lit(0)).as('output_tokens'),
      ])
      .where('status', '=', 'completed')
      .where('workflow_id', 'not in', (eb) => eb.selectFrom('workflows').select('workflows.id'))
      .executeTakeFirstOrThrow();
    return { calls: num(r.calls), input_tokens: num(r.input_tokens), cached_tokens: num(r.cached_tokens), output_tokens: num(r.output_tokens) };
  }
}

class KyselyOwners implements OwnerRegistry {
  constructor(private readonly s: KyselyStore) {}

  async upsert(o: Owner): Promise<void> {
    await this.s.write((db) =>
      db
        .insertInto('owners')
        .values({ id: o.id, host: o.host, pid: o.pid, started_at: o.startedAt, heartbeat_at: o.heartbeatAt })
        .onConflict((oc) => oc.column('id').doUpdateSet((eb) => ({ heartbeat_at: eb.ref('excluded.heartbeat_at') })))
        .execute(),
    );
  }

  async heartbeat(ownerId: string, now: number): Promise<boolean> {
    const result = await this.s.write((db) => db.updateTable('owners').set({ heartbeat_at: now }).where('id', '=', ownerId).executeTakeFirst());
    return Number(result.numUpdatedRows) === 1;
  }

  async get(id: string): Promise<Owner | null> {
    const row = await this.s.read().selectFrom('owners').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? ownerFromRow(row) : null;
  }

  async list(): Promise<Owner[]> {
    const rows = await this.s.read().selectFrom('owners').selectAll().orderBy('started_at').orderBy('id').execute();
    return rows.map(ownerFromRow);
  }

  async release(owner: string, now: number): Promise<{ calls: number; subtasks: number }> {
    return this.s.transaction(async (tx) => {
      const bound = tx as KyselyStore;
      const db = bound.db;
      // PostgreSQL: lock every workflow this owner holds something of first, in id order, as
      // lockWorkflow would one at a time: a transaction on one of them never waits for this one
      // while holding a row this one waits for.
      if (bound.dialect === 'postgres') {
        const held = sql<string>`${`${escapeLike(owner)}/%`} escape '\\'`;
        const rows = await db
          .selectFrom('workflows')
          .select('id')
          .where((eb) =>
            eb.or([
              eb('lock_owner', '=', owner),
              eb('lock_owner', 'like', held),
              eb('id', 'in', eb.selectFrom('subtasks').select('workflow_id').where('lease_owner', '=', owner).where('status', '=', 'running')),
              eb('id', 'in', eb.selectFrom('model_calls').select('workflow_id').where('owner', '=', owner).where('status', '=', 'pending')),
              eb('id', 'in', eb.selectFrom('changes').select('workflow_id').where((c) => c.or([c('lock_owner', '=', owner), c('lock_owner', 'like', held)]))),
            ]),
          )
          .orderBy('id')
          .forUpdate()
          .execute();
        for (const r of rows) bound.locked(r.id);
      }
      // Sent and never settled: the provider may well have billed it. Its input is estimated from
      // the bytes sent (about 4 bytes an o200k token for English and code), its output is unknown.
      const calls = await db
        .updateTable('model_calls')
        .set((eb) => ({
          status: 'abandoned',
          error: 'the process stopped before the call completed',
          ended_at: now,
          input_tokens: eb.case().when('request_bytes', 'is not', null).then(sql<number>`(request_bytes + 3) / 4`).else(null).end(),
          cached_tokens: eb.case().when('request_bytes', 'is not', null).then(0).else(null).end(),
          output_tokens: eb.case().when('request_bytes', 'is not', null).then(0).else(null).end(),
          usage_estimated: eb.case().when('request_bytes', 'is not', null).then(1).else(0).end(),
        }))
        .where('owner', '=', owner)
        .where('status', '=', 'pending')
        .executeTakeFirst();
      const subtasks = await db
        .updateTable('subtasks')
        .set((eb) => ({ status: eb.fn.coalesce('claimed_from', eb.val('pending')), lease_owner: null, claimed_from: null, updated_at: now }))
        .where('lease_owner', '=', owner)
        .where('status', '=', 'running')
        .executeTakeFirst();
      // Lock values are "<owner>/<operation>".
      await db
        .updateTable('workflows')
        .set({ lock_owner: null })
        .where((eb) => eb.or([eb('lock_owner', '=', owner), eb('lock_owner', 'like', sql<string>`${`${escapeLike(owner)}/%`} escape '\\'`)]))
        .execute();
      await db.updateTable('tasks').set({ owner: null }).where('owner', '=', owner).execute();
      // changes.lock_owner (the apply lock) is kept: a dead holder there means its worktree may hold
      // an attempt it did not record, which the next taker resets first (withApplyLock, recoverWorktree).
      await db.deleteFrom('owners').where('id', '=', owner).execute();
      return { calls: Number(calls.numUpdatedRows), subtasks: Number(subtasks.numUpdatedRows) };
    });
  }
}

class KyselyTasks implements TaskRecords {
  constructor(private readonly s: KyselyStore) {}

  async insert(t: TaskRecord): Promise<void> {
    await this.s.write((db) =>
      db
        .insertInto('tasks')
        .values({
          id: t.id,
          workflow_id: t.workflowId,
          owner: t.owner,
          status: t.status,
          status_message: t.statusMessage,
          ttl: t.ttl,
          poll_interval: t.pollInterval,
          request: json(t.request),
          result: t.result === null || t.result === undefined ? null : json(t.result),
          created_at: t.createdAt,
          updated_at: t.updatedAt,
        })
        .execute(),
    );
  }

  /** In a PostgreSQL transaction, locks the task's row until the transaction ends (its check-then-write holds across processes). */
  async get(id: string): Promise<TaskRecord | null> {
    let query = this.s.read().selectFrom('tasks').selectAll().where('id', '=', id);
    if (this.s.bound && this.s.dialect === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    return row ? taskFromRow(row) : null;
  }

  async update(id: string, patch: Partial<Pick<TaskRecord, 'status' | 'statusMessage' | 'result' | 'owner' | 'workflowId'>>, now: number): Promise<void> {
    const set: Updateable<TasksTable> = { updated_at: now };
    if (patch.status !== undefined) set.status = patch.status;
    if (patch.statusMessage !== undefined) set.status_message = patch.statusMessage;
    if (patch.result !== undefined) set.result = patch.result === null ? null : json(patch.result);
    if (patch.owner !== undefined) set.owner = patch.owner;
    if (patch.workflowId !== undefined) set.workflow_id = patch.workflowId;
    await this.s.write((db) => db.updateTable('tasks').set(set).where('id', '=', id).execute());
  }

  async list(limit: number, afterId?: string): Promise<TaskRecord[]> {
    let query = this.s.read().selectFrom('tasks').selectAll();
    if (afterId) query = query.where(sql<boolean>`(created_at, id) > (select created_at, id from tasks where id = ${afterId})`);
    const rows = await query.orderBy('created_at').orderBy('id').limit(limit).execute();
    return rows.map(taskFromRow);
  }

  async deleteExpired(now: number): Promise<number> {
    const result = await this.s.write((db) =>
      db
        .deleteFrom('tasks')
        .where('ttl', 'is not', null)
        .where(sql<boolean>`updated_at + ttl < ${now}`)
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}

class KyselyChanges implements ChangeRecords {
  constructor(private readonly s: KyselyStore) {}

  async insert(c: WorkflowChanges): Promise<void> {
    await this.s.lockWorkflow(c.workflowId);
    await this.s.write((db) =>
      db
        .insertInto('changes')
        .values({
          workflow_id: c.workflowId,
          mode: c.mode,
          reason: c.reason,
          repo: c.repo,
          branch: c.branch,
          worktree: c.worktree,
          prefix: c.prefix,
          base: c.base,
          head: c.head,
          files: json(c.files),
          host_checks: json(c.hostChecks),
          base_checks: c.baseChecks ? json(c.baseChecks) : null,
          final_checks: c.finalChecks ? json(c.finalChecks) : null,
          merged: c.merged ? json(c.merged) : null,
          discarded: c.discarded ? 1 : 0,
          lock_owner: c.lockOwner,
          created_at: c.createdAt,
          updated_at: c.updatedAt,
        })
        .execute(),
    );
  }

  async get(workflowId: string): Promise<WorkflowChanges | null> {
    await this.s.lockWorkflow(workflowId);
    const r = await this.s.read().selectFrom('changes').selectAll().where('workflow_id', '=', workflowId).executeTakeFirst();
    if (!r) return null;
    return {
      workflowId: r.workflow_id,
      mode: r.mode as WorkflowChanges['mode'],
      reason: r.reason,
      repo: r.repo,
      branch: r.branch,
      worktree: r.worktree,
      prefix: r.prefix,
      base: r.base,
      head: r.head,
      files: JSON.parse(r.files) as WorkflowChanges['files'],
      hostChecks: JSON.parse(r.host_checks) as string[],
      baseChecks: r.base_checks === null ? null : (JSON.parse(r.base_checks) as WorkflowChanges['baseChecks']),
      finalChecks: r.final_checks === null ? null : (JSON.parse(r.final_checks) as WorkflowChanges['finalChecks']),
      merged: r.merged === null ? null : (JSON.parse(r.merged) as WorkflowChanges['merged']),
      discarded: num(r.discarded) === 1,
      lockOwner: r.lock_owner,
      createdAt: num(r.created_at),
      updatedAt: num(r.updated_at),
    };
  }

  async update(workflowId: string, patch: ChangesPatch, now: number): Promise<void> {
    await this.s.lockWorkflow(workflowId);
    const set: Updateable<ChangesTable> = { updated_at: now };
    if (patch.mode !== undefined) set.mode = patch.mode;
    if (patch.reason !== undefined) set.reason = patch.reason;
    if (patch.repo !== undefined) set.repo = patch.repo;
    if (patch.branch !== undefined) set.branch = patch.branch;
    if (patch.worktree !== undefined) set.worktree = patch.worktree;
    if (patch.prefix !== undefined) set.prefix = patch.prefix;
    if (patch.base !== undefined) set.base = patch.base;
    if (patch.head !== undefined) set.head = patch.head;
    if (patch.files !== undefined) set.files = json(patch.files);
    if (patch.hostChecks !== undefined) set.host_checks = json(patch.hostChecks);
    if (patch.baseChecks !== undefined) set.base_checks = patch.baseChecks === null ? null : json(patch.baseChecks);
    if (patch.finalChecks !== undefined) set.final_checks = patch.finalChecks === null ? null : json(patch.finalChecks);
    if (patch.merged !== undefined) set.merged = patch.merged === null ? null : json(patch.merged);
    if (patch.discarded !== undefined) set.discarded = patch.discarded ? 1 : 0;
    await this.s.write((db) => db.updateTable('changes').set(set).where('workflow_id', '=', workflowId).execute());
  }

  async casLock(workflowId: string, expected: string | null, next: string | null): Promise<boolean> {
    await this.s.lockWorkflow(workflowId);
    const result = await this.s.write((db) =>
      db
        .updateTable('changes')
        .set({ lock_owner: next })
        .where('workflow_id', '=', workflowId)
        .where('lock_owner', expected === null ? 'is' : '=', expected)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }
}

function workflowFromRow(r: Selectable<WorkflowsTable>): Workflow {
  return {
    id: r.id,
    request: r.request,
    goal: r.goal,
    context: r.context,
    phase: r.phase as Workflow['phase'],
    planVersion: num(r.plan_version),
    plannerResponseId: r.planner_response_id,
    coordinationNotes: r.coordination_notes,
    budget: JSON.parse(r.budget) as Workflow['budget'],
    lockOwner: r.lock_owner,
    lastError: r.last_error,
    plannerSummary: r.planner_summary,
    files: JSON.parse(r.files ?? '[]') as string[],
    plannerThread: num(r.planner_thread),
    root: r.root ?? null,
    requester: r.requester ?? null,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

function subtaskFromRow(r: Selectable<SubtasksTable>): Subtask {
  return {
    workflowId: r.workflow_id,
    id: r.id,
    position: num(r.position),
    title: r.title,
    description: r.description,
    depends_on: JSON.parse(r.depends_on) as string[],
    complexity: r.complexity as Subtask['complexity'],
    output_format: r.output_format,
    relevant_files: JSON.parse(r.relevant_files) as string[],
    writes: JSON.parse(r.writes ?? '[]') as string[],
    checks: JSON.parse(r.checks ?? '[]') as string[],
    status: r.status as Subtask['status'],
    attempts: num(r.attempts),
    role: r.role as Subtask['role'],
    model: r.model,
    feedback: r.feedback,
    output: r.output,
    leaseOwner: r.lease_owner,
    claimedFrom: (r.claimed_from as Subtask['claimedFrom']) ?? null,
    updatedAt: num(r.updated_at),
  };
}

function planFromRow(r: Selectable<PlansTable>): PlanRecord {
  return {
    workflowId: r.workflow_id,
    version: num(r.version),
    plan: JSON.parse(r.plan) as unknown,
    responseId: r.response_id,
    status: r.status as PlanRecord['status'],
    feedback: r.feedback,
    changes: r.changes === null ? null : (JSON.parse(r.changes) as PlanRecord['changes']),
    createdAt: num(r.created_at),
  };
}

function ownerFromRow(r: Selectable<OwnersTable>): Owner {
  return { id: r.id, host: r.host, pid: num(r.pid), startedAt: num(r.started_at), heartbeatAt: num(r.heartbeat_at) };
}

function taskFromRow(r: Selectable<TasksTable>): TaskRecord {
  return {
    id: r.id,
    workflowId: r.workflow_id,
    owner: r.owner,
    status: r.status as TaskRecord['status'],
    statusMessage: r.status_message,
    ttl: numOrNull(r.ttl),
    pollInterval: num(r.poll_interval),
    request: JSON.parse(r.request) as unknown,
    result: r.result === null ? null : (JSON.parse(r.result) as unknown),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

function callFromRow(r: Selectable<ModelCallsTable>): ModelCall {
  return {
    id: num(r.id),
    workflowId: r.workflow_id,
    subtaskId: r.subtask_id,
    role: r.role as ModelCall['role'],
    purpose: r.purpose as ModelCall['purpose'],
    model: r.model,
    provider: r.provider,
    status: r.status as ModelCall['status'],
    owner: r.owner,
    responseId: r.response_id,
    usage:
      r.input_tokens === null
        ? null
        : { input_tokens: num(r.input_tokens), cached_tokens: num(r.cached_tokens ?? 0), output_tokens: num(r.output_tokens ?? 0) },
    usageEstimated: num(r.usage_estimated) === 1,
    requestBytes: numOrNull(r.request_bytes),
    error: r.error,
    reservedTokens: numOrNull(r.reserved_tokens),
    startedAt: num(r.started_at),
    endedAt: numOrNull(r.ended_at),
  };
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
