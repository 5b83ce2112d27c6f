// The tables as Kysely sees them: one description for SQLite and PostgreSQL. Times are epoch
// milliseconds (INTEGER in SQLite, BIGINT in PostgreSQL); JSON values are stored as TEXT.
import type { Generated } from 'kysely';

/**
 * A row of `workflows`: one workflow (src/core/types.ts Workflow), keyed by `id`. `phase` is one of
 * planning, executing, reviewing, completed, needs_human, failed, cancelled (CHECK in 001-baseline);
 * `plan_version` is the active version in `plans`. Nullable: `context` (none given),
 * `planner_response_id` (no Responses-API chain to continue), `lock_owner` (owners.id of the process
 * coordinating the planner thread; null: none), `last_error` (it did not stop on an error),
 * `planner_summary` (its thread was never compacted). created_at / updated_at: epoch ms.
 */
export interface WorkflowsTable {
  id: string;
  request: string;
  goal: string;
  context: string | null;
  phase: string;
  plan_version: number;
  planner_response_id: string | null;
  coordination_notes: string;
  /** JSON TokenBudget. */
  budget: string;
  lock_owner: string | null;
  last_error: string | null;
  planner_summary: string | null;
  /** JSON string[]. */
  files: string;
  /** The current planner thread (0, then +1 at each compaction). */
  planner_thread: Generated<number>;
  /** Absolute path of the workspace root the workflow reads files from; null: none recorded. */
  root: string | null;
  /** Who asked for the workflow (Workflow.requester); null: not recorded. */
  requester: string | null;
  created_at: number;
  updated_at: number;
}

/**
 * A row of `plans`: one version of a workflow's plan, keyed by (workflow_id, version); every version
 * is kept. `status` is active, superseded, proposed (waiting for confirm_plan_version) or discarded
 * (PlanStatus); `response_id` is the planner response that wrote it (null: none recorded);
 * `feedback` the feedback it answered (null: a first plan). created_at: epoch ms.
 */
export interface PlansTable {
  workflow_id: string;
  version: number;
  /** JSON Plan. */
  plan: string;
  response_id: string | null;
  status: string;
  feedback: string | null;
  /** JSON PlanChanges. */
  changes: string | null;
  created_at: number;
}

/**
 * A row of `subtasks`: one subtask of a workflow (src/core/types.ts Subtask), keyed by (workflow_id,
 * id); `position` is its order in the plan. `complexity`: routine | complex; `status`: pending,
 * running, completed, approved, failed, needs_human; `role`: planner | executor; `attempts`: the
 * current attempt (1 for the first). Nullable: `model` (not run yet), `feedback` (no review feedback),
 * `output` (no output yet; earlier attempts' are in `executions`), `lease_owner` (owners.id of the
 * process running it; null: not running), `claimed_from` (the status it returns to if that process
 * dies), `removed_in` (the plan version that dropped it; null: still planned). updated_at: epoch ms.
 */
export interface SubtasksTable {
  workflow_id: string;
  id: string;
  position: number;
  title: string;
  description: string;
  /** JSON string[]. */
  depends_on: string;
  complexity: string;
  output_format: string;
  /** JSON string[]. */
  relevant_files: string;
  status: string;
  attempts: number;
  role: string;
  model: string | null;
  feedback: string | null;
  output: string | null;
  lease_owner: string | null;
  claimed_from: string | null;
  removed_in: number | null;
  /** JSON string[]: paths the subtask may write. */
  writes: Generated<string>;
  /** JSON string[]: checks the planner proposed for it. */
  checks: Generated<string>;
  updated_at: number;
}

/**
 * A row of `model_calls`, the call journal (src/core/types.ts ModelCall): one model call, written
 * before the request is sent and settled after; `id` is auto-numbered. No foreign key to workflows
 * (planning calls are journaled before their workflow exists). `purpose`: plan, repair, execute,
 * review, compact; `status`: pending, completed, failed, abandoned; `owner`: owners.id of the
 * process that sent it. Token columns are tokens (input includes cached); null: none reported or
 * billed. `reserved_tokens`: tokens held against the budget while pending. `subtask_id` null: a
 * workflow-level call. started_at / ended_at: epoch ms (ended_at null: still pending).
 */
export interface ModelCallsTable {
  id: Generated<number>;
  workflow_id: string;
  subtask_id: string | null;
  role: string;
  purpose: string;
  model: string;
  /** The provider kind (responses, chat, codex); 'responses' for calls journaled before it was recorded. */
  provider: Generated<string>;
  status: string;
  owner: string;
  response_id: string | null;
  input_tokens: number | null;
  cached_tokens: number | null;
  output_tokens: number | null;
  error: string | null;
  reserved_tokens: number | null;
  /** 1: the usage columns are planexec's estimate, not the provider's report. */
  usage_estimated: Generated<number>;
  /** UTF-8 bytes the request carried. */
  request_bytes: number | null;
  started_at: number;
  ended_at: number | null;
}

/**
 * A row of `planner_turns`: one completed exchange (what was sent, what the planner answered) of a
 * workflow's planner thread number `thread`, so the thread can be sent again to any provider.
 * `id` is auto-numbered (the order of turns); `call_id` is the model_calls row. created_at: epoch ms.
 */
export interface PlannerTurnsTable {
  id: Generated<number>;
  workflow_id: string;
  thread: number;
  call_id: number;
  input: string;
  output: string;
  created_at: number;
}

/**
 * A row of `executions`: one finished attempt of a subtask, kept forever (src/core/types.ts
 * Execution); `id` is auto-numbered; `call_id` is the model_calls row; `output` what the model
 * answered. created_at: epoch ms.
 */
export interface ExecutionsTable {
  id: Generated<number>;
  workflow_id: string;
  subtask_id: string;
  attempt: number;
  call_id: number;
  role: string;
  model: string;
  output: string;
  /** JSON ContextPacket. */
  context: string;
  /** JSON AttemptChanges (edit subtasks). */
  changes: string | null;
  /** JSON CheckResult[] (edit subtasks). */
  checks: string | null;
  created_at: number;
}

/**
 * A row of `reviews`: one planner verdict (approve, revise, escalate) on a subtask, with the plan
 * version it was given under; `id` is auto-numbered; `call_id` is the model_calls row of the review.
 * created_at: epoch ms.
 */
export interface ReviewsTable {
  id: Generated<number>;
  workflow_id: string;
  subtask_id: string;
  call_id: number;
  plan_version: number;
  verdict: string;
  feedback: string;
  created_at: number;
}

/**
 * A row of `decisions`: a human's verdict (approve, revise, cancel) on a subtask, kept beside the
 * planner's reviews; `via`: elicitation (an MCP form) or host (passed to review_results). `id` is
 * auto-numbered. created_at: epoch ms.
 */
export interface DecisionsTable {
  id: Generated<number>;
  workflow_id: string;
  subtask_id: string;
  verdict: string;
  feedback: string;
  via: string;
  created_at: number;
}

/**
 * A row of `owners`: a process sharing the database (src/core/types.ts Owner), keyed by `id`
 * (host:pid:random, processOwner()). started_at / heartbeat_at: epoch ms; a heartbeat older than the
 * lease (PLANEXEC_LEASE_MS) marks it dead.
 */
export interface OwnersTable {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
}

/**
 * A row of `tasks`: one MCP task (a tool call run in the background), keyed by its task id. `status`:
 * working, input_required, completed, failed, cancelled. `ttl`: ms kept after its last update (null:
 * until deleted); `poll_interval`: ms a client should wait between polls. `request` / `result`: JSON of
 * the tools/call request and its CallToolResult (null: not ended). Nullable: `workflow_id` (no
 * workflow known for it yet), `owner` (owners.id of the process running it; null: none),
 * `status_message`. created_at / updated_at: epoch ms.
 */
export interface TasksTable {
  id: string;
  workflow_id: string | null;
  owner: string | null;
  status: string;
  status_message: string | null;
  ttl: number | null;
  poll_interval: number;
  /** JSON of the MCP request. */
  request: string;
  /** JSON of the MCP result. */
  result: string | null;
  created_at: number;
  updated_at: number;
}

/**
 * A row of `changes`: a workflow's changes (src/core/types.ts WorkflowChanges), one per workflow,
 * keyed by workflow_id. `mode`: worktree | off (then `reason` says why); `prefix`: where the workspace root sits in the repository ('' or 'dir/');
 * `base` / `head`: commits (head: the last one planexec recorded); `discarded`: 1 once the worktree
 * and branch were discarded (merge_changes), else 0; `lock_owner`: the operation applying, committing or checking now (null: none).
 * created_at / updated_at: epoch ms.
 */
export interface ChangesTable {
  workflow_id: string;
  mode: string;
  reason: string | null;
  repo: string | null;
  branch: string | null;
  worktree: string | null;
  prefix: Generated<string>;
  base: string | null;
  head: string | null;
  /** JSON ChangedFile[]: what the branch changed, base..head. */
  files: Generated<string>;
  /** JSON string[]. */
  host_checks: Generated<string>;
  /** JSON CheckResult[]. */
  base_checks: string | null;
  /** JSON FinalChecks. */
  final_checks: string | null;
  /** JSON MergeRecord. */
  merged: string | null;
  discarded: Generated<number>;
  lock_owner: string | null;
  created_at: number;
  updated_at: number;
}

/** Every table of planexec's database, by name: the Kysely database type of KyselyStore. */
export interface Tables {
  workflows: WorkflowsTable;
  plans: PlansTable;
  subtasks: SubtasksTable;
  model_calls: ModelCallsTable;
  executions: ExecutionsTable;
  reviews: ReviewsTable;
  decisions: DecisionsTable;
  owners: OwnersTable;
  tasks: TasksTable;
  planner_turns: PlannerTurnsTable;
  changes: ChangesTable;
}

/** The database a KyselyStore runs on: a SQLite file (better-sqlite3) or a PostgreSQL server (pg). */
export type Dialect = 'sqlite' | 'postgres';
