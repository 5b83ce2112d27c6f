// The shapes tool results carry (snake_case, as the product contract names them).
import type { CoreDeps } from './deps.js';
import { clipPage, type Clipped } from './text.js';
import type { ChangedFile, CheckResult, Execution, MergeRecord, Subtask, WorkflowChanges } from './types.js';

/**
 * o200k tokens of one output page as sent (JSON-escaped). A result carries the page twice (in
 * structuredContent and in its text rendering), and the whole result stays under ~10,000 tokens.
 */
export const OUTPUT_PAGE_TOKENS = 3_000;

/** The page of a subtask's output a tool result shows: settings.resultBytes bytes, OUTPUT_PAGE_TOKENS tokens. */
export function outputPage(d: CoreDeps, output: string, offset = 0): Clipped {
  return clipPage(output, offset, d.settings.resultBytes, OUTPUT_PAGE_TOKENS, (text) => d.tokens.count(text));
}

/** A subtask as plan_task's `subtasks[]` shows it: the plan's fields, the role it runs on, its status. */
export interface PlannedSubtaskView {
  id: string;
  title: string;
  description: string;
  depends_on: string[];
  complexity: Subtask['complexity'];
  role: Subtask['role'];
  output_format: string;
  relevant_files: string[];
  writes: string[];
  checks: string[];
  status: Subtask['status'];
}

/** The plan_task view of a subtask (its state fields left out). */
export function plannedSubtaskView(s: Subtask): PlannedSubtaskView {
  return {
    id: s.id,
    title: s.title,
    description: s.description,
    depends_on: s.depends_on,
    complexity: s.complexity,
    role: s.role,
    output_format: s.output_format,
    relevant_files: s.relevant_files,
    writes: s.writes,
    checks: s.checks,
    status: s.status,
  };
}

/** One execution of a subtask as workflow_status `subtasks[].runs[]` shows it. */
export interface RunView {
  attempt: number;
  role: Subtask['role'];
  model: string;
  /** For an editing attempt: its commit on the branch (null: nothing applied, or rolled back). */
  commit?: string | null;
  /** For an editing attempt: the checks that failed (empty: all passed or none ran). */
  failed_checks?: string[];
}

/** One execution as workflow_status lists it; the edit fields only for an attempt that edited. */
export function runView(e: Pick<Execution, 'attempt' | 'role' | 'model' | 'changes' | 'checks'>): RunView {
  const view: RunView = { attempt: e.attempt, role: e.role, model: e.model };
  if (e.changes) {
    view.commit = e.changes.rolled_back ? null : e.changes.commit;
    view.failed_checks = (e.checks ?? []).filter((c) => !c.passed).map((c) => c.command);
  }
  return view;
}

/** A subtask as workflow_status `subtasks[]` shows it (its output and history are in `subtask`, by subtask_id). */
export interface SubtaskStatusView {
  id: string;
  title: string;
  status: Subtask['status'];
  role: Subtask['role'];
  model: string | null;
  attempts: number;
  depends_on: string[];
  /** Every execution so far: the attempt and the rung (role, model) it ran on. */
  runs: RunView[];
  /** The subtask's planner-proposed checks that PLANEXEC_ALLOWED_CHECKS does not allow (never run). */
  refused_checks?: string[];
}

/** The workflow_status view of a subtask: `runs` its executions (runView), `refused` its checks that may not run (left out when none). */
export function subtaskStatusView(s: Subtask, runs: RunView[] = [], refused: string[] = []): SubtaskStatusView {
  const view: SubtaskStatusView = { id: s.id, title: s.title, status: s.status, role: s.role, model: s.model, attempts: s.attempts, depends_on: s.depends_on, runs };
  if (refused.length) view.refused_checks = refused;
  return view;
}

/** The changes of a workflow as tool results show them (plan_task, workflow_status, run_workflow, merge/discard). */
export interface ChangesView {
  /** 'off': no worktree; `reason` says why. */
  mode: 'worktree' | 'off';
  reason: string | null;
  /** planexec/<workflow_id>. */
  branch: string | null;
  /** The worktree's folder (null once discarded). */
  worktree: string | null;
  /** The commit the branch started from (the root's HEAD when the plan was made). */
  base: string | null;
  /** The branch's last commit. */
  head: string | null;
  /** What the branch changed from base to head, relative to the workspace root. */
  files: ChangedFile[];
  /** The merge into the user's branch, once made (`at`: ISO 8601). */
  merged: (Omit<MergeRecord, 'at'> & { at: string }) | null;
  discarded: boolean;
  /** The host's checks on the base when the worktree was made (a failing one is a goal of the plan). */
  base_checks: CheckResult[];
  /** The host's checks on the finished branch, once every subtask was approved. */
  final_checks: CheckResult[] | null;
}

/** The tool-result view of a workflow's changes. */
export function changesView(c: WorkflowChanges): ChangesView {
  return {
    mode: c.mode,
    reason: c.reason,
    branch: c.branch,
    worktree: c.discarded ? null : c.worktree,
    base: c.base,
    head: c.head,
    files: c.files,
    merged: c.merged ? { ...c.merged, at: new Date(c.merged.at).toISOString() } : null,
    discarded: c.discarded,
    base_checks: c.baseChecks ?? [],
    final_checks: c.finalChecks?.results ?? null,
  };
}
