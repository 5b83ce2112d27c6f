// The tables as Kysely sees them: one description for SQLite and PostgreSQL. Times are epoch
// milliseconds (INTEGER in SQLite, BIGINT in PostgreSQL); JSON values are stored as TEXT.
import type { Generated } from 'kysely';

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

export interface PlannerTurnsTable {
  id: Generated<number>;
  workflow_id: string;
  thread: number;
  call_id: number;
  input: string;
  output: string;
  created_at: number;
}

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

export interface DecisionsTable {
  id: Generated<number>;
  workflow_id: string;
  subtask_id: string;
  verdict: string;
  feedback: string;
  via: string;
  created_at: number;
}

export interface OwnersTable {
  id: string;
  host: string;
  pid: number;
  started_at: number;
  heartbeat_at: number;
}

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

export type Dialect = 'sqlite' | 'postgres';
