import type { ContextPacket } from './context.js';

// The domain's nouns. Plain data: the store persists them, the use cases move them through states.

export const PHASES = ['planning', 'executing', 'reviewing', 'completed', 'needs_human', 'failed', 'cancelled'] as const;
export type Phase = (typeof PHASES)[number];

export const SUBTASK_STATUSES = ['pending', 'running', 'completed', 'approved', 'failed', 'needs_human'] as const;
export type SubtaskStatus = (typeof SUBTASK_STATUSES)[number];

/** Which model slot does the work: the strong planner model or the cheap executor model. */
export type Role = 'planner' | 'executor';
export type Complexity = 'routine' | 'complex';
export type Verdict = 'approve' | 'revise' | 'escalate';
export type CallPurpose = 'plan' | 'repair' | 'execute' | 'review' | 'compact';
export type CallStatus = 'pending' | 'completed' | 'failed' | 'abandoned';

export interface TokenBudget {
  planner_tokens?: number | undefined;
  executor_tokens?: number | undefined;
}

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
  createdAt: number;
  updatedAt: number;
}

export interface PlannedSubtask {
  id: string;
  title: string;
  description: string;
  depends_on: string[];
  complexity: Complexity;
  output_format: string;
  relevant_files: string[];
}

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

export interface ModelCall {
  id: number;
  workflowId: string;
  subtaskId: string | null;
  role: Role;
  purpose: CallPurpose;
  model: string;
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

export interface ReviewRecord {
  subtask_id: string;
  verdict: Verdict;
  feedback: string;
}

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
  createdAt: number;
}

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

export type PlanStatus = 'active' | 'superseded' | 'proposed' | 'discarded';

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
