import type { ContextPacket } from './context.js';

// The domain's nouns. Plain data: the store persists them, the use cases move them through states.

/**
 * A workflow's phases (PRODUCT.md: planning -> executing -> reviewing -> completed | needs_human | failed |
 * cancelled). The tools' schemas are built from this list, so it is the one spelling.
 */
export const PHASES = ['planning', 'executing', 'reviewing', 'completed', 'needs_human', 'failed', 'cancelled'] as const;
/** One of PHASES. */
export type Phase = (typeof PHASES)[number];

/** A subtask's statuses (PRODUCT.md: pending -> running -> completed -> approved; failed; needs_human). */
export const SUBTASK_STATUSES = ['pending', 'running', 'completed', 'approved', 'failed', 'needs_human'] as const;
/** One of SUBTASK_STATUSES. */
export type SubtaskStatus = (typeof SUBTASK_STATUSES)[number];

/** Which model slot does the work: the strong planner model or the cheap executor model. */
export type Role = 'planner' | 'executor';
/** The planner's call on a subtask: routine runs on the escalation ladder (src/core/routing.ts), complex on the planner model. */
export type Complexity = 'routine' | 'complex';
/** The planner's review of one subtask: approve (done), revise (another attempt with feedback), escalate (a human decides). */
export type Verdict = 'approve' | 'revise' | 'escalate';
/**
 * Why a model call was made, as the journal records it. repair: the second answer of a planner call
 * whose first one had problems (a plan, review or summary asked for again); compact: a planner thread's
 * state summary (src/core/usecases/compact.ts).
 */
export type CallPurpose = 'plan' | 'repair' | 'execute' | 'review' | 'compact';
/**
 * A journal row's state: pending (sent, no outcome yet), completed, failed, or abandoned (its process
 * died while it was pending; see OwnerRegistry.release).
 */
export type CallStatus = 'pending' | 'completed' | 'failed' | 'abandoned';

/**
 * Token budgets of one workflow, per role: input + output tokens of the calls of that role that billed
 * any, as the provider reported them (or estimated, o200k); absent: no limit. Checked, with an estimate
 * of the call, before each call is sent (src/core/budget.ts).
 */
export interface TokenBudget {
  planner_tokens?: number | undefined;
  executor_tokens?: number | undefined;
}

/** One request and everything done for it. Times (createdAt, updatedAt) are epoch milliseconds. */
export interface Workflow {
  id: string;
  request: string;
  /** One line that tells an executor what the whole workflow is for. */
  goal: string;
  context: string | null;
  phase: Phase;
  planVersion: number;
  /** Head of the planner's Responses-API chain (`previous_response_id` for the next planner turn). */
  plannerResponseId: string | null;
  coordinationNotes: string;
  budget: TokenBudget;
  /** The operation coordinating this workflow's planner thread right now (run_workflow, a review). */
  lockOwner: string | null;
  /** Why the workflow stopped, when it stopped on an error. */
  lastError: string | null;
  /** The compact state summary the planner's current thread started from, after a compaction. */
  plannerSummary: string | null;
  /** Workspace files the request named (read again if planning is resumed). */
  files: string[];
  /** The planner's current thread in planexec's own record (0, then +1 at each compaction). */
  plannerThread: number;
  /** Absolute path of the workspace root its files are read from; null: none (no file can be read). */
  root: string | null;
  /**
   * Who asked for it, as the MCP layer names them (src/mcp/requester.ts): the HTTP token's name, else
   * PLANEXEC_REQUESTER, else the MCP client's declared name; null: not recorded (older workflows).
   */
  requester: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A subtask as the planner wrote it (src/core/plan.ts PlanSubtaskSchema; limits in PLAN_LIMITS), paths normalised. */
export interface PlannedSubtask {
  id: string;
  title: string;
  description: string;
  depends_on: string[];
  complexity: Complexity;
  output_format: string;
  relevant_files: string[];
  /** Workspace-relative paths the subtask may create, change or delete; empty: it only answers in text. */
  writes: string[];
  /** Commands the planner proposes to verify it; they run only where PLANEXEC_ALLOWED_CHECKS allows. */
  checks: string[];
}

/**
 * A planned subtask with its state in the workflow. `updatedAt` is epoch ms, and also the version a claim
 * or review compares to notice a concurrent change.
 */
export interface Subtask extends PlannedSubtask {
  workflowId: string;
  position: number;
  status: SubtaskStatus;
  /** The current attempt: 1 for the first try, +1 each time review sends it back. */
  attempts: number;
  role: Role;
  /** Model of the latest execution; null until it has run. */
  model: string | null;
  /** Latest review feedback, shown to the executor on the next attempt. */
  feedback: string | null;
  output: string | null;
  /** The process executing it (status running). */
  leaseOwner: string | null;
  /** The status it goes back to if that process dies. */
  claimedFrom: SubtaskStatus | null;
  updatedAt: number;
}

/** Tokens of one call (or a sum) as the provider reported them, or planexec's o200k estimate; input includes the cached input. */
export interface Usage {
  input_tokens: number;
  cached_tokens: number;
  output_tokens: number;
}

/** One completed exchange of the planner's thread: what was sent and what it answered. */
export interface ThreadTurn {
  input: string;
  output: string;
}

/**
 * One row of the call journal (CallJournal): written before the request is sent, settled after.
 * startedAt / endedAt are epoch ms.
 */
export interface ModelCall {
  id: number;
  workflowId: string;
  subtaskId: string | null;
  role: Role;
  purpose: CallPurpose;
  model: string;
  /** The provider kind that made the call ('responses', 'chat', 'codex': PLANEXEC_<ROLE>_PROVIDER). */
  provider: string;
  status: CallStatus;
  owner: string;
  responseId: string | null;
  /** Tokens billed: as the provider reported them, or estimated (usageEstimated); null when none were billed. */
  usage: Usage | null;
  /** The usage is planexec's estimate (o200k count of what was sent), not the provider's report. */
  usageEstimated: boolean;
  /** UTF-8 bytes the request carried (instructions, schema, thread, input). */
  requestBytes: number | null;
  error: string | null;
  /** Tokens held against the budget while the call is pending. */
  reservedTokens: number | null;
  startedAt: number;
  endedAt: number | null;
}

/** One verdict of a planner review, as stored and shown in review_results `reviews[]`. */
export interface ReviewRecord {
  subtask_id: string;
  verdict: Verdict;
  feedback: string;
}

/**
 * One attempt of a subtask, kept forever (the subtask's history): its output, what it was shown and, for
 * an edit, what it changed. createdAt is epoch ms.
 */
export interface Execution {
  id: number;
  workflowId: string;
  subtaskId: string;
  attempt: number;
  callId: number;
  role: Role;
  model: string;
  output: string;
  /** What the model was shown (files with byte ranges and sha256, dependencies, tokens). */
  context: ContextPacket;
  /** For an edit subtask: what the attempt changed; null for a subtask that answers in text. */
  changes: AttemptChanges | null;
  /** For an edit subtask: how its checks ended (empty when none ran). */
  checks: CheckResult[] | null;
  createdAt: number;
}

/** How one check command ended (PRODUCT.md, "Changes": execute_subtask out `checks[]`). */
export interface CheckResult {
  command: string;
  exit_code: number | null;
  timed_out: boolean;
  duration_ms: number;
  passed: boolean;
  /** The last ~4 KB of its output (stdout and stderr). */
  output_tail: string;
  /** Whose check it is: the host's (always run) or the subtask's own (planner-proposed, allowed). */
  source?: 'host' | 'subtask';
}

/** How a path changed between two commits (a rename is a deletion plus an addition). */
export type FileChangeStatus = 'added' | 'modified' | 'deleted';

/** A path an attempt changed, relative to the workspace root. */
export interface ChangedFile {
  path: string;
  status: FileChangeStatus;
  insertions: number;
  deletions: number;
}

/** An edit operation that was refused or failed, and why (sent back to the model). */
export interface RejectedEdit {
  path: string;
  reason: string;
}

/** What one attempt of an edit subtask changed. */
export interface AttemptChanges {
  /** The commit on the workflow's branch; null when nothing applied, or when its checks failed (rolled back). */
  commit: string | null;
  /** The attempt's commit was reverted because a check failed. */
  rolled_back: boolean;
  files: ChangedFile[];
  rejected: RejectedEdit[];
  /** The attempt's diff (bounded), for review and for its history. */
  diff: string;
  diff_truncated: boolean;
}

/** The merge of a workflow's branch into the user's branch. */
export interface MergeRecord {
  commit: string;
  mode: 'fast-forward' | 'merge-commit';
  branch: string | null;
  at: number;
}

/** The host's checks run on the head once every subtask was approved. */
export interface FinalChecks {
  head: string;
  results: CheckResult[];
  /** The planner was shown these failures once (a second failure on the same head goes to a human). */
  reviewed: boolean;
}

/**
 * A workflow's changes: the git worktree and branch its edit subtasks commit to, or why there is
 * none (mode off). `head` is the last commit planexec recorded: after a crash the worktree is
 * reset to it, so the branch and the journal agree.
 */
export interface WorkflowChanges {
  workflowId: string;
  mode: 'worktree' | 'off';
  /** Why no changes are made (mode off), in words. */
  reason: string | null;
  /** The user's repository folder the workflow's root is in. */
  repo: string | null;
  branch: string | null;
  worktree: string | null;
  /** Where the workspace root sits inside the repository ('' at its top level, else 'dir/'). */
  prefix: string;
  base: string | null;
  head: string | null;
  /** What the branch changed from base to head (paths relative to the workspace root). */
  files: ChangedFile[];
  /** The host's checks (always allowed), run after every attempt that changed files. */
  hostChecks: string[];
  /** How the host's checks ended on the base when the worktree was made. */
  baseChecks: CheckResult[] | null;
  finalChecks: FinalChecks | null;
  merged: MergeRecord | null;
  discarded: boolean;
  /** The operation applying, committing or checking in the worktree now (one at a time). */
  lockOwner: string | null;
  createdAt: number;
  updatedAt: number;
}

/**
 * A process sharing the database (OwnerRegistry): `id` as processOwner() makes it (hostname:pid:random),
 * `host` the machine, boot and PID namespace it runs in (hostIdentity() in src/adapters/system.ts),
 * startedAt and heartbeatAt in epoch ms. Dead once its heartbeat is older than the lease, or its pid is
 * gone on this host (the same host identity; src/core/runtime.ts).
 */
export interface Owner {
  id: string;
  host: string;
  pid: number;
  startedAt: number;
  heartbeatAt: number;
}

/** What a human decided about a subtask that needed one. */
export interface HumanDecision {
  subtask_id: string;
  verdict: 'approve' | 'revise' | 'cancel';
  feedback: string;
}

/** What a human is asked about a subtask that needs a decision (AskHuman; an MCP elicitation form). */
export interface HumanQuestion {
  workflowId: string;
  subtaskId: string;
  title: string;
  /** The planner's question, or the reason a human is needed. */
  question: string;
  /** The start of the subtask's latest output. */
  output: string;
}

/** Asks a human; null when there is no answer now (declined, dismissed). Its decision's subtask_id is ignored. */
export type AskHuman = (question: HumanQuestion, signal?: AbortSignal) => Promise<Omit<HumanDecision, 'subtask_id'> | null>;

/** What a plan version changed against the one before it. */
export interface PlanChanges {
  added: string[];
  removed: string[];
  /** Same id, different description: the subtask starts over (its earlier outputs stay in its history). */
  changed: string[];
  /** Same id and description: status and results carry over. */
  kept: string[];
  /** Removed or changed subtasks that had completed or approved work. */
  drops_work: string[];
}

/**
 * A plan version's state: active (the plan in force), superseded (an earlier active one), proposed (a
 * revision waiting for confirm_plan_version because it drops completed work), discarded (a proposal
 * replaced by a newer revision).
 */
export type PlanStatus = 'active' | 'superseded' | 'proposed' | 'discarded';

/**
 * One plan version of a workflow. `plan` is the Plan as validated (stored as JSON); `responseId` the
 * planner response that answered it; `feedback` what the revision was asked for (null for version 1);
 * `changes` what it changed against the version before (null for version 1). createdAt: epoch ms.
 */
export interface PlanRecord {
  workflowId: string;
  version: number;
  plan: unknown;
  responseId: string | null;
  status: PlanStatus;
  feedback: string | null;
  changes: PlanChanges | null;
  createdAt: number;
}
