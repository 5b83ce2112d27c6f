import type { CoreDeps } from '../deps.js';
import { checkTexts, invalidInput } from '../errors.js';
import type { CallOptions, CallUsage } from '../journal.js';
import { readySubtasks } from '../plan.js';
import { firstPlan, newWorkflow, readPlanFiles, requestPlan, rootFor, toSubtasks } from '../planning.js';
import type { Phase, PlanChanges, Subtask, TokenBudget, Workflow, WorkflowChanges } from '../types.js';
import { revisePlan } from './revise-plan.js';
import { abandonChanges, prepareChanges } from '../changes.js';
import { changesView, plannedSubtaskView, type ChangesView, type PlannedSubtaskView } from '../views.js';
import { nextStep } from '../workflow.js';

/** plan_task's input (PRODUCT.md, src/mcp/tools/plan-task.ts), plus what the MCP layer adds (`root`, `requester`). */
export interface PlanTaskInput {
  request?: string | undefined;
  context?: string | undefined;
  files?: string[] | undefined;
  budget?: TokenBudget | undefined;
  /** With feedback: revise this workflow's plan. With confirm_plan_version: apply a proposed revision. */
  workflow_id?: string | undefined;
  feedback?: string | undefined;
  confirm_plan_version?: number | undefined;
  /** The workspace root the host named for this session (MCP roots); default: the configured root. */
  root?: string | null | undefined;
  /** Who asks, recorded on a new workflow (Workflow.requester); set by the MCP layer, never by the tool's caller. */
  requester?: string | null | undefined;
  /** 'off': no worktree even in a git repository (default: PLANEXEC_CHANGES). */
  changes?: 'worktree' | 'off' | undefined;
  /** Checks the host wants run after every subtask that changed files (added to PLANEXEC_CHECKS). */
  checks?: string[] | undefined;
}

/** plan_task's answer (snake_case, as the tool sends it); a revision answers the same shape. */
export interface PlanTaskResult {
  workflow_id: string;
  phase: Phase;
  plan_version: number;
  subtasks: PlannedSubtaskView[];
  ready: string[];
  coordination_notes: string;
  /** For a revision: what it changes against the plan before it. */
  plan_changes: PlanChanges | null;
  /** The workflow's git worktree and branch, or why it has none (mode off, `reason`). */
  changes: ChangesView | null;
  /** A revision that would drop completed work waits, as plan version `proposed_version`, for confirmation. */
  requires_confirmation: boolean;
  proposed_version: number | null;
  usage: CallUsage;
  next: string;
}

/**
 * plan_task: a new workflow planned by the planner model (one plan call, one repair round if the
 * plan is invalid), stored with its subtasks in one transaction; or, with workflow_id, a revision
 * (see revise-plan.ts). In a git repository (changes on), the worktree is made and the host's checks
 * run on the base before the plan call; if planning fails, both are removed again. Throws
 * invalid_input (bad text, a check that needs a shell, a failed setup command), file_unreadable,
 * path_outside_root, budget_exceeded, git_failed, model_output_invalid (nothing stored), the
 * provider's errors (model_unavailable, without an API key before anything is sent; cancelled when
 * `opts.signal` aborts), storage_unavailable.
 */
export async function planTask(d: CoreDeps, input: PlanTaskInput, opts: CallOptions = {}): Promise<PlanTaskResult> {
  if (input.workflow_id) return revisePlan(d, { ...input, workflow_id: input.workflow_id }, opts);
  if (input.feedback !== undefined || input.confirm_plan_version !== undefined) {
    throw invalidInput('feedback and confirm_plan_version need the workflow_id whose plan they revise.', 'Pass workflow_id too.');
  }
  checkTexts(['request', input.request, true], ['context', input.context]);
  const request = input.request?.trim() ?? '';
  if (!request) throw invalidInput('request is empty.', 'Describe the feature or change to plan in `request` (or pass workflow_id and feedback to revise a plan).');
  d.models.planner.ready?.();
  const root = rootFor(d, input.root);
  const files = await readPlanFiles(d, root, input.files ?? []);

  const workflowId = d.ids.workflowId();
  const budget = { ...d.settings.defaultBudget, ...input.budget };
  // The worktree is made and the host's checks run on the base first: a check that fails there is a
  // goal of the plan. If planning fails, both go again: a refused call leaves nothing behind.
  const changes = await prepareChanges(d, workflowId, root, input, opts.signal);
  try {
    const answer = await requestPlan(d, workflowId, request, input.context ?? null, files, budget, opts, changes.baseChecks ?? []);
    const now = d.clock.now();
    const workflow: Workflow = {
      ...newWorkflow(workflowId, request, input.context ?? null, budget, root, now),
      requester: input.requester ?? null,
      phase: 'executing',
      planVersion: 1,
      plannerResponseId: answer.responseId,
      coordinationNotes: answer.value.coordination_notes,
    };
    const subtasks = toSubtasks(workflowId, answer.value, now, d.settings.ladder);
    await d.store.transaction(async (tx) => {
      await tx.workflows.insert(workflow);
      await tx.workflows.insertPlan(firstPlan(workflowId, answer.value, answer.responseId, now));
      await tx.workflows.insertSubtasks(subtasks);
      await tx.workflows.appendTurns(workflowId, workflow.plannerThread, answer.turns, now);
      await tx.changes.insert(changes);
    });
    return planned(workflow, subtasks, answer.usage, changes);
  } catch (error) {
    await abandonChanges(d, changes);
    throw error;
  }
}

function planned(workflow: Workflow, subtasks: Subtask[], usage: CallUsage, changes: WorkflowChanges): PlanTaskResult {
  return {
    workflow_id: workflow.id,
    phase: workflow.phase,
    plan_version: 1,
    subtasks: subtasks.map(plannedSubtaskView),
    ready: readySubtasks(subtasks).map((s) => s.id),
    coordination_notes: workflow.coordinationNotes,
    plan_changes: null,
    changes: changesView(changes),
    requires_confirmation: false,
    proposed_version: null,
    usage,
    next: nextStep(workflow, subtasks, undefined, changes),
  };
}
