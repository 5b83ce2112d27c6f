import type { CoreDeps } from '../deps.js';
import { invalidTransition } from '../errors.js';
import { loadWorkflow } from '../workflow.js';
import { workflowStatus, type WorkflowStatusResult } from './workflow-status.js';

export interface CancelWorkflowInput {
  workflow_id: string;
}

/** How long cancel_workflow waits for this process's in-flight calls to settle before answering. */
const SETTLE_MS = 3_000;

/**
 * Stops a workflow: phase cancelled, in-flight model calls aborted (here at once; in another
 * process at its next heartbeat), running subtasks back to pending. Completed work is kept and
 * run_workflow resumes it.
 */
export async function cancelWorkflow(d: CoreDeps, input: CancelWorkflowInput): Promise<WorkflowStatusResult> {
  const { workflow } = await loadWorkflow(d, input.workflow_id);
  if (workflow.phase === 'completed') {
    throw invalidTransition(`Workflow ${workflow.id} is already completed; there is nothing to cancel.`, 'Nothing to do.');
  }
  if (workflow.phase !== 'cancelled') await d.store.workflows.update(workflow.id, { phase: 'cancelled', lastError: null }, d.clock.now());
  d.runtime.abort(workflow.id, 'the workflow was cancelled');
  await d.runtime.idle(workflow.id, SETTLE_MS);
  return workflowStatus(d, { workflow_id: workflow.id });
}
