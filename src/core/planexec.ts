// The use cases bound to their dependencies: what the MCP layer (and the demo, and tests) call.
import type { CoreDeps } from './deps.js';
import type { CallOptions } from './journal.js';
import { cancelWorkflow, type CancelWorkflowInput } from './usecases/cancel-workflow.js';
import { executeSubtask, subtaskSnapshot, type ExecuteOptions, type ExecuteSubtaskInput } from './usecases/execute-subtask.js';
import { discardChanges, mergeChanges, type DiscardChangesInput, type MergeChangesInput } from './usecases/merge-changes.js';
import { planTask, type PlanTaskInput } from './usecases/plan-task.js';
import { reviewResults, type ReviewResultsInput } from './usecases/review-results.js';
import { checkRunInput, runWorkflow, type RunOptions, type RunWorkflowInput } from './usecases/run-workflow.js';
import { workflowStatus, type WorkflowStatusInput } from './usecases/workflow-status.js';

/**
 * The use cases bound to `deps`, one method per tool (plus the two helpers the MCP layer needs before
 * and after a detached run: checkRunInput, subtaskSnapshot). Each method has its use case's inputs,
 * result and errors (src/core/usecases/*.ts); `deps` is exposed for what the MCP server builds on them
 * (its task store over deps.store, result bounds counted with deps.tokens).
 */
export function createPlanexec(deps: CoreDeps) {
  return {
    deps,
    planTask: (input: PlanTaskInput, opts?: CallOptions) => planTask(deps, input, opts),
    executeSubtask: (input: ExecuteSubtaskInput, opts?: ExecuteOptions) => executeSubtask(deps, input, opts),
    subtaskSnapshot: (workflowId: string, subtaskId: string) => subtaskSnapshot(deps, workflowId, subtaskId),
    reviewResults: (input: ReviewResultsInput, opts?: CallOptions) => reviewResults(deps, input, opts),
    workflowStatus: (input: WorkflowStatusInput) => workflowStatus(deps, input),
    runWorkflow: (input: RunWorkflowInput, opts?: RunOptions) => runWorkflow(deps, input, opts),
    checkRunInput: (input: RunWorkflowInput) => checkRunInput(deps, input),
    cancelWorkflow: (input: CancelWorkflowInput) => cancelWorkflow(deps, input),
    mergeChanges: (input: MergeChangesInput) => mergeChanges(deps, input),
    discardChanges: (input: DiscardChangesInput) => discardChanges(deps, input),
  };
}
/** The bound use cases (createPlanexec): what src/mcp calls. */
export type Planexec = ReturnType<typeof createPlanexec>;
