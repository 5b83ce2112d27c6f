// The use cases bound to their dependencies: what the MCP layer (and the demo, and tests) call.
import type { CoreDeps } from './deps.js';
import { executeSubtask, type ExecuteSubtaskInput } from './usecases/execute-subtask.js';
import { planTask, type PlanTaskInput } from './usecases/plan-task.js';
import { reviewResults, type ReviewResultsInput } from './usecases/review-results.js';
import { workflowStatus, type WorkflowStatusInput } from './usecases/workflow-status.js';
import type { CallOptions } from './journal.js';

export function createPlanexec(deps: CoreDeps) {
  return {
    deps,
    planTask: (input: PlanTaskInput, opts?: CallOptions) => planTask(deps, input, opts),
    executeSubtask: (input: ExecuteSubtaskInput, opts?: CallOptions) => executeSubtask(deps, input, opts),
    reviewResults: (input: ReviewResultsInput, opts?: CallOptions) => reviewResults(deps, input, opts),
    workflowStatus: (input: WorkflowStatusInput) => workflowStatus(deps, input),
  };
}
export type Planexec = ReturnType<typeof createPlanexec>;
